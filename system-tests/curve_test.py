#!/usr/bin/env python3
"""CURVE end to end: keys from `deliveries keygen`, an ingest that takes writes only from
allow-listed keys (ZAP), an aggregate that talks to it with its own key and serves keyed, and an
open (plain-text) query replica in front.

Checks that a known writer key can submit, an unknown one cannot (and the ingest logs the refusal),
a plain-text client gets nothing from a CURVE socket, and the figures flow through the keyed links.
Prints 'N passed, M failed'.
"""
import argparse, json, os, subprocess, sys, tempfile, time
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, finish, start_stack  # noqa: E402

check = Tally()


def public_key(path):
    for line in open(path):
        if line.startswith("public-key"):
            return line.split("=", 1)[1].strip()
    raise SystemExit(f"no public key in {path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "debug"))
    args = parser.parse_args()
    cli = os.path.join(args.bin, "deliveries")
    work = tempfile.mkdtemp(prefix="delivery-curve-")
    keys = {}
    for name in ["ingest", "aggregate", "writer", "stranger"]:
        path = os.path.join(work, name + ".key")
        out = subprocess.run([cli, "keygen", path], capture_output=True, text=True)
        check(f"keygen {name}", out.returncode == 0 and os.path.exists(path + ".pub"), out.stderr)
        check(f"keygen {name}: the secret file is private", (os.stat(path).st_mode & 0o077) == 0)
        keys[name] = path
    clients = os.path.join(work, "clients")
    with open(clients, "w") as f:
        f.write("# who may talk to ingest\n")
        f.write(open(keys["writer"] + ".pub").read())
        f.write(public_key(keys["aggregate"]) + "  # the aggregate follows the log\n")

    procs, ep = start_stack(args.bin, work, "curve", log_level="info", extra={
        "ingest": dict(DELIVERY_CURVE_KEY_FILE=keys["ingest"], DELIVERY_CURVE_CLIENTS=clients),
        "aggregate": dict(DELIVERY_CURVE_KEY_FILE=keys["aggregate"], DELIVERY_INGEST_PUBLIC_KEY=public_key(keys["ingest"])),
        "query": dict(DELIVERY_AGGREGATE_PUBLIC_KEY=public_key(keys["aggregate"])),
    })
    ctx = zmq.Context()
    try:
        def run(*argv, timeout=60):
            return subprocess.run([cli, *argv], capture_output=True, text=True, timeout=timeout)

        # The open replica answers once it has loaded a snapshot through the keyed links.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run("ping", "--endpoint", ep["q"], "--wait", "1000").returncode != 0:
            pass
        check("the open query replica is ready (keyed links to ingest and aggregate work)",
              run("ping", "--endpoint", ep["q"], "--wait", "2000").returncode == 0)

        ingest_key = public_key(keys["ingest"])
        sample = os.path.join(ROOT, "samples", "hima-2025-05.json")
        stranger = run("submit", sample, "--ingest", ep["in"], "--server-key", ingest_key,
                       "--curve-key-file", keys["stranger"], "--timeout", "3000")
        check("an unknown key cannot submit", stranger.returncode != 0, stranger.stdout + stranger.stderr)
        deadline = time.monotonic() + 10
        refused = False
        while time.monotonic() < deadline and not refused:
            refused = "refused a client" in open(os.path.join(work, "delivery-ingest.log")).read()
        check("the ingest logs the refused key", refused)
        check("the log names the key", public_key(keys["stranger"]) in open(os.path.join(work, "delivery-ingest.log")).read())

        plain = run("ping", "--endpoint", ep["in"], "--wait", "2000")
        check("a plain-text client gets nothing from the CURVE ingest", plain.returncode != 0, plain.stdout)
        raw = ctx.socket(zmq.DEALER)
        raw.setsockopt(zmq.LINGER, 0)
        raw.setsockopt(zmq.RCVTIMEO, 1500)
        raw.connect(ep["agg"])
        raw.send_multipart([b"", b'{"v":1,"type":"ping","id":1}'])
        try:
            raw.recv_multipart()
            check("a plain-text pyzmq client gets nothing from the keyed aggregate", False)
        except zmq.Again:
            check("a plain-text pyzmq client gets nothing from the keyed aggregate", True)
        raw.close()
        # A pyzmq CURVE client with a key of its own making: the aggregate is keyed, not allow-listed.
        c = ctx.socket(zmq.DEALER)
        c.setsockopt(zmq.LINGER, 0)
        c.setsockopt(zmq.RCVTIMEO, 5000)
        pub, sec = zmq.curve_keypair()
        c.curve_publickey, c.curve_secretkey = pub, sec
        c.curve_serverkey = public_key(keys["aggregate"]).encode()
        c.connect(ep["agg"])
        c.send_multipart([b"", b'{"v":1,"type":"ping","id":1}'])
        try:
            check("a CURVE client of the keyed aggregate is answered", json.loads(c.recv_multipart()[-1])["type"] == "pong")
        except zmq.Again:
            check("a CURVE client of the keyed aggregate is answered", False)
        c.close()

        writer = run("submit", sample, "--ingest", ep["in"], "--server-key", ingest_key,
                     "--curve-key-file", keys["writer"], "--json")
        check("an allow-listed key submits", writer.returncode == 0, writer.stderr)
        acks = json.loads(writer.stdout)["accepted"] if writer.returncode == 0 else []
        last = max((a["seq"] for a in acks), default=0)
        stream = acks[0]["stream"] if acks else "ingest-curve"
        answer = run("query", "units", "--group", "HIMA", "--period", "2025-05", "--endpoint", ep["q"],
                     "--after", f"{stream}:{last}", "--json")
        check("the figures came through the keyed links", answer.returncode == 0 and json.loads(answer.stdout).get("units") == 44454,
              answer.stdout + answer.stderr)
    finally:
        status = finish(procs, ctx, work, check)
    return status

if __name__ == "__main__":
    sys.exit(main())
