#!/usr/bin/env python3
"""The ingest log in PostgreSQL, against a real server (initdb and pg_ctl on a loopback port, see
pg.py): two ingest instances writing their own streams to one database, one aggregate, one query
replica. Concurrent writers with retries while each service is killed with SIGKILL in turn and
PostgreSQL is stopped with `pg_ctl stop -m immediate` and started again: every report acknowledged
is stored once and counted once. The same id through both instances is stored once; the catalog is
shared; the instances keep nothing on disk; a read-only database is refused loudly and writes
resume by themselves. Prints 'N passed, M failed'."""
import argparse, json, os, signal, subprocess, sys, tempfile, threading, time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pg import PostgresServer  # noqa: E402
from support import ROOT, Tally, eventually, free_port, pong, request, stop_named, summarize  # noqa: E402

check = Tally()
WRITERS = 3
BATCHES = 30
PER_BATCH = 10


class Writer:
    """Sends its batches in order to one ingest; a batch not acknowledged (an error, no reply) is
    sent again, unchanged, until it is: its report ids make a retry a duplicate."""

    def __init__(self, ctx, endpoint, number):
        self.ctx, self.endpoint, self.number = ctx, endpoint, number
        self.acked, self.retries, self.unavailable = {}, 0, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def batch(self, b):
        reports = []
        for i in range(PER_BATCH):
            n = b * PER_BATCH + i
            year, month = 2001 + n // 12, n % 12 + 1
            reports.append({"id": f"pg-w{self.number}-{n}", "source": "PGTest", "period": f"{year}-{month:02d}",
                            "group": "PGT", "brand": "PGB", "model": f"PG Model {self.number}", "units": 1,
                            "reportedAt": "2025-01-01T00:00:00Z"})
        return reports

    def run(self):
        deadline = time.monotonic() + 240
        for b in range(BATCHES):
            body = {"reports": self.batch(b)}
            while time.monotonic() < deadline:
                reply = request(self.ctx, self.endpoint, "submit", body, timeout=4000)
                if reply and reply["type"] == "submit.ok":
                    for ack in reply["body"]["accepted"]:
                        self.acked[ack["id"]] = (ack["stream"], ack["seq"])
                    break
                self.retries += 1
                if reply and reply["body"].get("code") == "unavailable":
                    self.unavailable += 1
                time.sleep(0.05)
            time.sleep(0.02)
        self.done.set()

    def start(self):
        self.thread.start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    pg = PostgresServer()
    work = tempfile.mkdtemp(prefix="delivery-pgtest-")
    ctx = zmq.Context()
    procs = {}
    try:
        pg.start()
        ep = {k: f"tcp://127.0.0.1:{free_port()}" for k in ["a", "apub", "b", "bpub", "agg", "aggpub", "q", "qpub"]}
        env = {
            "ingest-a": ("delivery-ingest", dict(DELIVERY_INGEST_BIND=ep["a"], DELIVERY_INGEST_PUBLISH=ep["apub"], DELIVERY_INSTANCE="a",
                                                 DELIVERY_DATABASE_URL=pg.url, DELIVERY_DATA_DIR=os.path.join(work, "a-nothing"))),
            "ingest-b": ("delivery-ingest", dict(DELIVERY_INGEST_BIND=ep["b"], DELIVERY_INGEST_PUBLISH=ep["bpub"], DELIVERY_INSTANCE="b",
                                                 DELIVERY_DATABASE_URL=pg.url, DELIVERY_DATA_DIR=os.path.join(work, "b-nothing"))),
            "aggregate": ("delivery-aggregate", dict(DELIVERY_AGGREGATE_BIND=ep["agg"], DELIVERY_AGGREGATE_PUBLISH=ep["aggpub"],
                                                     DELIVERY_INGEST_ENDPOINTS=f"{ep['a']},{ep['b']}", DELIVERY_INGEST_FEEDS=f"{ep['apub']},{ep['bpub']}",
                                                     DELIVERY_DATA_DIR=os.path.join(work, "aggregate"), DELIVERY_INSTANCE="agg")),
            "query": ("delivery-query", dict(DELIVERY_QUERY_BIND=ep["q"], DELIVERY_QUERY_PUBLISH=ep["qpub"], DELIVERY_AGGREGATE_ENDPOINTS=ep["agg"],
                                             DELIVERY_AGGREGATE_FEEDS=ep["aggpub"], DELIVERY_INSTANCE="q")),
        }

        def start(name):
            exe, variables = env[name]
            log = open(os.path.join(work, name + ".log"), "a")
            procs[name] = subprocess.Popen([os.path.join(args.bin, exe)], env=dict(os.environ, DELIVERY_LOG_LEVEL="info", **variables),
                                           stdout=log, stderr=log)

        def kill(name):
            procs[name].send_signal(signal.SIGKILL)
            procs[name].wait()

        for name in env:
            start(name)
        check("every service answers", eventually(lambda: all(pong(ctx, ep[k]) for k in ["a", "b", "agg", "q"]), 60))
        status = request(ctx, ep["a"], "status")["body"]
        check("status says the log is in PostgreSQL", status["endpoints"].get("log") == "postgresql", str(status)[:300])
        stream_a = status["streams"][0]
        stream_b = request(ctx, ep["b"], "status")["body"]["streams"][0]
        check("each instance writes its own stream", stream_a != stream_b and stream_a.startswith("ingest-a-") and stream_b.startswith("ingest-b-"))

        sample = json.load(open(os.path.join(ROOT, "samples", "hima-2025-05.json")))
        catalog = dict(sample["catalog"])
        catalog["groups"] = catalog["groups"] + [{"id": "pgt", "name": "PGT"}]
        catalog["brands"] = catalog["brands"] + [{"id": "pgb", "name": "PGB", "group": "pgt"}]
        catalog["models"] = catalog["models"] + [{"id": f"pg-model-{w}", "name": f"PG Model {w}", "brand": "pgb"} for w in range(WRITERS)]
        check("catalog put through a", request(ctx, ep["a"], "catalog.put", catalog)["type"] == "catalog.ok")
        first = request(ctx, ep["a"], "submit", {"reports": sample["reports"]})
        check("sample stored through a", first["type"] == "submit.ok")
        # The catalog is shared: b validates a report against the entities a put.
        late = {"id": "pg-shared-catalog", "source": "PGTest", "period": "2000-01", "model": "PG Model 0", "units": 1,
                "reportedAt": "2025-01-01T00:00:00Z"}
        via_b = request(ctx, ep["b"], "submit", {"reports": [late]})
        check("b takes a report for a model a put", via_b["type"] == "submit.ok" and via_b["body"]["accepted"][0]["stream"] == stream_b, str(via_b)[:300])
        # Report ids are unique across instances: the same id through b is a's.
        again = request(ctx, ep["b"], "submit", {"reports": sample["reports"][:1]})
        ack = again["body"]["accepted"][0] if again["type"] == "submit.ok" else {}
        check("a repeat through b is acknowledged with a's stream and seq", ack.get("duplicate") is True and ack.get("stream") == stream_a
              and ack.get("seq") == first["body"]["accepted"][0]["seq"], str(again)[:300])
        check("stored once", pg.sql(f"SELECT COUNT(*) FROM delivery_events WHERE report_id = '{sample['reports'][0]['id']}'") == [["1"]])
        # Two writers started on one database: the schema is made once and its version kept.
        check("the schema version is recorded once", pg.sql("SELECT version, name FROM delivery_schema") == [["1", "streams and events"]],
              pg.sql("SELECT version, name FROM delivery_schema"))
        check("the instances keep nothing on disk", not os.path.exists(os.path.join(work, "a-nothing")) and not os.path.exists(os.path.join(work, "b-nothing")))
        check("the query sees both streams", eventually(lambda: (request(ctx, ep["q"], "units", {"entity": {"model": "PG Model 0"}, "period": "2000-01"}) or {})
                                                        .get("body", {}).get("units") == 1, 30))

        # Load with every kind of failure in the middle.
        writers = [Writer(ctx, ep["a"] if w % 2 == 0 else ep["b"], w) for w in range(WRITERS)]
        for w in writers:
            w.start()
        progress = lambda n: eventually(lambda: sum(len(w.acked) for w in writers) >= n, 120)  # noqa: E731
        check("writing", progress(40))
        kill("ingest-a")
        start("ingest-a")
        check("ingest a back on its stream", eventually(lambda: pong(ctx, ep["a"]), 60)
              and request(ctx, ep["a"], "status")["body"]["streams"][0] == stream_a)
        check("writing after ingest kill -9", progress(100))
        pg.stop("immediate")
        def says_why():
            reply = request(ctx, ep["a"], "ping", timeout=2000)
            return reply and reply["type"] == "error" and reply["body"]["code"] == "unavailable" and "PostgreSQL" in reply["body"]["message"]
        check("ping says PostgreSQL is down", eventually(says_why, 20))
        st = request(ctx, ep["b"], "status", timeout=3000)
        check("status answers and names the problem", st and "PostgreSQL" in (st["body"].get("problem") or ""), str(st)[:300])
        time.sleep(1)  # writers retry against the outage
        pg.start()
        check("writes resume by themselves", eventually(lambda: pong(ctx, ep["a"]) and pong(ctx, ep["b"]), 30))
        check("writing after PostgreSQL restart", progress(180))
        kill("aggregate")
        start("aggregate")
        check("writing after aggregate kill -9", progress(220))
        kill("query")
        start("query")
        for w in writers:
            w.done.wait(300)
        check("every writer finished", all(w.done.is_set() for w in writers))
        acked = {}
        for w in writers:
            acked.update(w.acked)
        total = WRITERS * BATCHES * PER_BATCH
        check("every report acknowledged", len(acked) == total, f"{len(acked)} of {total}")
        check("retries happened (the failures were real)", sum(w.retries for w in writers) > 0 and sum(w.unavailable for w in writers) > 0,
              str([(w.retries, w.unavailable) for w in writers]))
        doubled = pg.sql("SELECT report_id FROM delivery_events WHERE report_id LIKE 'pg-w%' GROUP BY report_id HAVING COUNT(*) > 1")
        check("nothing doubled in PostgreSQL", doubled == [], str(doubled[:5]))
        stored = {row[0]: (row[1], int(row[2])) for row in pg.sql("SELECT report_id, stream, seq FROM delivery_events WHERE report_id LIKE 'pg-w%'")}
        check("nothing lost: every acknowledged report stored where its ack says", all(stored.get(i) == pos for i, pos in acked.items()),
              str([i for i, pos in acked.items() if stored.get(i) != pos][:5]))
        gaps = pg.sql("SELECT stream FROM delivery_events GROUP BY stream HAVING MAX(seq) <> COUNT(*)")
        check("each stream's seqs are gapless", gaps == [], str(gaps))
        after = {}
        for stream, seq in acked.values():
            after[stream] = max(after.get(stream, 0), seq)
        def counted():
            reply = request(ctx, ep["q"], "cumulative", {"entity": {"group": "PGT"}, "period": "2030-12", "after": after, "timeoutMs": 5000}, timeout=8000)
            return reply and reply["type"] == "cumulative.result" and reply["body"]["units"] == total + 1
        check("counted once: the group's total is every report", eventually(counted, 90))

        # A read-only database: refused loudly, then writes resume by themselves.
        pg.sql("ALTER SYSTEM SET default_transaction_read_only = on")
        pg.sql("SELECT pg_reload_conf()")
        ro = {"id": "pg-read-only", "source": "PGTest", "period": "1999-01", "model": "PG Model 1", "units": 1, "reportedAt": "2025-01-01T00:00:00Z"}
        def refused():
            reply = request(ctx, ep["a"], "submit", {"reports": [ro]}, timeout=5000)
            return reply and reply["type"] == "error" and reply["body"]["code"] == "unavailable" and "read-only" in reply["body"]["message"]
        check("a read-only database is refused as unavailable", eventually(refused, 20))
        check("nothing stored while read-only", pg.sql("SELECT COUNT(*) FROM delivery_events WHERE report_id = 'pg-read-only'") == [["0"]])
        pg.sql("ALTER SYSTEM RESET default_transaction_read_only")
        pg.sql("SELECT pg_reload_conf()")
        def accepted():
            reply = request(ctx, ep["a"], "submit", {"reports": [ro]}, timeout=5000)
            return reply and reply["type"] == "submit.ok"
        check("writes resume when it is writable again", eventually(accepted, 20))
    finally:
        stop_named(procs, check)
        ctx.term()
        pg.remove()
    return summarize(work, check)

if __name__ == "__main__":
    sys.exit(main())
