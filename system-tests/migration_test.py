#!/usr/bin/env python3
"""The SQLite log's versioned migrations, against the real delivery-ingest and a real file.

A log is written by this build, then turned back into the form logs had before schema versions
(JSON report rows, no payload hashes, no slots, user_version 0). The ingest brings it to the
current version on start and serves every event as before; duplicates are still recognized. A log
that says it comes from a newer build is refused at start, with the version named.

Usage: migration_test.py --bin <swift build --show-bin-path>
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, eventually, free_port, request, summarize  # noqa: E402

CTX = zmq.Context()
check = Tally()


def start(bin_dir, data):
    port = free_port()
    env = dict(os.environ, DELIVERY_DATA_DIR=data, DELIVERY_INGEST_BIND=f"tcp://127.0.0.1:{port}",
               DELIVERY_INGEST_PUBLISH=f"tcp://127.0.0.1:{free_port()}", DELIVERY_INSTANCE="migrate", DELIVERY_LOG_LEVEL="info")
    log = open(os.path.join(data, "..", "ingest.log"), "a")
    proc = subprocess.Popen([os.path.join(bin_dir, "delivery-ingest")], env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"tcp://127.0.0.1:{port}"


def refused_start(bin_dir, data, work):
    """Starts an ingest that is expected to stop by itself; its exit code (None: still running
    after 30 s, then killed) and the log so far."""
    proc, _ = start(bin_dir, data)
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = None
    return code, open(os.path.join(work, "ingest.log")).read()


def stop(proc):
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def replay(endpoint):
    reply = request(CTX, endpoint, "replay", {"from": 1, "limit": 1000})
    return reply["body"]["events"] if reply and reply["type"] == "replay.result" else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    bin_dir = parser.parse_args().bin
    sample = json.load(open(os.path.join(ROOT, "samples", "hima-2025-05.json")))
    work = tempfile.mkdtemp(prefix="delivery-migrate-")
    data = os.path.join(work, "data")
    os.mkdir(data)
    path = os.path.join(data, "ingest.sqlite")
    proc = None
    try:
        proc, ep = start(bin_dir, data)
        check("the ingest starts on an empty folder", eventually(lambda: request(CTX, ep, "ping", timeout=500), 30))
        check("catalog stored", request(CTX, ep, "catalog.put", sample["catalog"])["type"] == "catalog.ok")
        reply = request(CTX, ep, "submit", {"reports": sample["reports"]})
        check("sample stored", reply["type"] == "submit.ok", reply)
        before = replay(ep)
        stop(proc)
        db = sqlite3.connect(path)
        check("a new log is at the latest schema version", db.execute("PRAGMA user_version").fetchone()[0] == 3)

        # The form logs had before versions: JSON report rows, no hashes or slots, version 0, and no
        # record of GRDB's migrator.
        for event in before:
            if event.get("report"):
                db.execute("UPDATE events SET payload = ? WHERE seq = ?", (json.dumps(event["report"]).encode(), event["seq"]))
        for column in ["payloadHash", "slot", "reportedAtMillis"]:
            db.execute(f"ALTER TABLE events DROP COLUMN {column}")
        db.execute("PRAGMA user_version = 0")
        db.execute("DROP TABLE grdb_migrations")
        db.commit()
        db.close()

        proc, ep = start(bin_dir, data)
        check("an unversioned log starts", eventually(lambda: request(CTX, ep, "ping", timeout=500), 30))
        after = replay(ep)
        check("every event reads back as before", after == before, (len(after or []), len(before)))
        status = request(CTX, ep, "status")["body"]
        check("no row unreadable", not status.get("setAside") and status.get("problem") is None, status.get("problem"))
        again = request(CTX, ep, "submit", {"reports": sample["reports"][:1]})
        first = again["body"]["accepted"][0]
        check("a report stored before the migration is still a duplicate", first.get("duplicate") is True and first["seq"] == before[1]["seq"], first)
        new = dict(sample["reports"][0], id="after-migration", units=1)
        stored = request(CTX, ep, "submit", {"reports": [new]})
        check("a new report is stored after the migration", stored["type"] == "submit.ok" and stored["body"]["accepted"][0]["seq"] == len(before) + 1, stored)
        stop(proc)
        db = sqlite3.connect(path)
        columns = [row[1] for row in db.execute("PRAGMA table_info(events)")]
        check("the migration brought the file to the latest version", db.execute("PRAGMA user_version").fetchone()[0] == 3)
        check("with every column", all(c in columns for c in ["payloadHash", "slot", "reportedAtMillis"]), columns)
        steps = [row[0] for row in db.execute("SELECT identifier FROM grdb_migrations ORDER BY identifier")]
        check("GRDB's migrator recorded every step", steps == ["v1-the-events-and-meta-tables", "v2-payload-hashes", "v3-report-slots"], steps)

        # A log of the builds before the migrator: version 3 in user_version, no grdb_migrations.
        db.execute("DROP TABLE grdb_migrations")
        db.commit()
        db.close()
        proc, ep = start(bin_dir, data)
        check("a log versioned by user_version alone starts", eventually(lambda: request(CTX, ep, "ping", timeout=500), 30))
        check("and reads back as before", replay(ep)[: len(before)] == before)
        stop(proc)
        db = sqlite3.connect(path)
        steps = [row[0] for row in db.execute("SELECT identifier FROM grdb_migrations")]
        check("its steps are recorded, the file unchanged otherwise", len(steps) == 3 and db.execute("PRAGMA user_version").fetchone()[0] == 3, steps)

        # A step this build does not know: a newer build's, refused at start.
        db.execute("INSERT INTO grdb_migrations VALUES ('v4-from-a-newer-build')")
        db.commit()
        db.close()
        code, log = refused_start(bin_dir, data, work)
        check("a log with a newer build's step stops the start", code not in (0, None) and "v4-from-a-newer-build), from a newer build" in log, log[-400:])
        db = sqlite3.connect(path)
        db.execute("DELETE FROM grdb_migrations WHERE identifier = 'v4-from-a-newer-build'")

        # A log from a newer build: refused at start, by version, and left as it was.
        db.execute("PRAGMA user_version = 99")
        db.commit()
        db.close()
        started = time.monotonic()
        code, log = refused_start(bin_dir, data, work)
        check("a log from a newer build stops the start", code not in (0, None), code)
        check("naming both versions", "schema version 99" in log and "this build's 3" in log, log[-400:])
        check("at once", time.monotonic() - started < 30)
        db = sqlite3.connect(path)
        check("the file is left as it was", db.execute("PRAGMA user_version").fetchone()[0] == 99)
        db.close()
    finally:
        if proc and proc.poll() is None:
            stop(proc)
    return summarize(work, check)


if __name__ == "__main__":
    sys.exit(main())
