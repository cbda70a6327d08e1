#!/usr/bin/env python3
"""The internal links at work, against the real executables on loopback: batched feeds, chunked
snapshots under concurrent writes, and aggregate checkpoints (used, and refused when damaged).

Every answer is compared with an oracle that cannot share the bug: an aggregate started fresh
with checkpoints off, which replays every ingest log from the start."""
import argparse, json, os, random, signal, subprocess, sys, tempfile, threading, time
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, eventually, finish, free_port, pong, request, snapshot_figures as figures, start_one, start_stack  # noqa: E402

check = Tally()


def models(sample):
    return [m["id"] for m in sample["catalog"]["models"]]


class Writer:
    """Submits random reports (new months and revisions) until stopped; remembers the last ack."""

    def __init__(self, ctx, endpoint, names, seed):
        self.ctx, self.endpoint, self.names = ctx, endpoint, names
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.acked, self.last, self.stream = 0, 0, None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def batch(self, size):
        r = self.random
        return [{"source": r.choice(["CPCA", "Maker"]), "model": r.choice(self.names),
                 "period": f"{r.randint(2019, 2024)}-{r.randint(1, 12):02d}", "units": r.randint(0, 30000),
                 "reportedAt": f"2025-0{r.randint(1, 9)}-1{r.randint(0, 9)}T00:00:00Z"} for _ in range(size)]

    def submit(self, size):
        reply = request(self.ctx, self.endpoint, "submit", {"reports": self.batch(size)}, timeout=10000)
        if reply and reply["type"] == "submit.ok":
            acks = reply["body"]["accepted"]
            self.acked += len(acks)
            self.last = max(self.last, max(a["seq"] for a in acks))
            self.stream = acks[0]["stream"]
        return reply

    def run(self):
        while not self.stop.is_set():
            self.submit(self.random.randint(1, 40))

    def start(self):
        self.thread.start()

    def finish(self):
        self.stop.set()
        self.thread.join(30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="delivery-link-")
    ctx = zmq.Context()
    sample = json.load(open(os.path.join(ROOT, "samples", "hima-2025-05.json")))
    procs, ep = start_stack(args.bin, work, "link", extra={
        "aggregate": {"DELIVERY_CHECKPOINT_SECONDS": "1"},
        "query": {"DELIVERY_SNAPSHOT_CHUNK": "100"},
    })
    agg_env = dict(DELIVERY_AGGREGATE_PUBLISH=ep["aggpub"], DELIVERY_AGGREGATE_BIND=ep["agg"], DELIVERY_INGEST_ENDPOINTS=ep["in"],
                   DELIVERY_INGEST_FEEDS=ep["inpub"], DELIVERY_DATA_DIR=os.path.join(work, "aggregate"), DELIVERY_INSTANCE="link",
                   DELIVERY_CHECKPOINT_SECONDS="1", DELIVERY_LOG_LEVEL="info")
    query_env = dict(DELIVERY_QUERY_BIND=ep["q"], DELIVERY_QUERY_PUBLISH=ep["qpub"], DELIVERY_AGGREGATE_ENDPOINTS=ep["agg"],
                     DELIVERY_AGGREGATE_FEEDS=ep["aggpub"], DELIVERY_INSTANCE="link", DELIVERY_SNAPSHOT_CHUNK="100")
    oracle_procs = []
    try:
        for name in ["in", "agg", "q"]:
            check(f"{name} answers ping", eventually(lambda: pong(ctx, ep[name])))
        put = request(ctx, ep["in"], "catalog.put", sample["catalog"])
        check("catalog stored", put and put["type"] == "catalog.ok", put)
        writer = Writer(ctx, ep["in"], models(sample), 11)
        for _ in range(30):
            writer.submit(40)

        # 1. A chunked snapshot taken while writes go on: the replica is killed and starts again
        # (100 figures per part, so its snapshot comes in many parts) while a writer writes.
        writer.start()
        check("writes flow before the replica restarts", eventually(lambda: writer.acked > 1500))
        procs[2].send_signal(signal.SIGKILL)
        procs[2].wait()
        procs[2] = start_one(args.bin, work, "delivery-query", query_env, "delivery-query")
        check("the restarted replica answers ping while writes go on", eventually(lambda: pong(ctx, ep["q"]), 60))
        status = request(ctx, ep["q"], "status")
        check("its snapshot came in parts", status and status["body"]["counts"]["figures"] > 300, status)
        writer.finish()
        last = writer.last
        check("the replica reaches the last ack", eventually(lambda: (request(ctx, ep["q"], "status") or {}).get("body", {})
                                                             .get("positions", {}).get(writer.stream, 0) >= last))

        # The oracle: a second aggregate with checkpoints off, replaying every log from the start.
        oracle_ep = {k: f"tcp://127.0.0.1:{free_port()}" for k in ["agg", "aggpub"]}
        oracle_procs.append(start_one(args.bin, work, "delivery-aggregate", dict(
            agg_env, DELIVERY_AGGREGATE_PUBLISH=oracle_ep["aggpub"], DELIVERY_AGGREGATE_BIND=oracle_ep["agg"],
            DELIVERY_CHECKPOINT_SECONDS="0", DELIVERY_INSTANCE="oracle"), "oracle"))
        check("the oracle aggregate catches up", eventually(lambda: pong(ctx, oracle_ep["agg"]), 120))
        expected = figures(ctx, oracle_ep["agg"])
        check("the oracle has figures", len(expected) > 300, len(expected))

        def as_summed(figures_by_key):
            # A query replica gives a computed figure with its coverage (docs/PROTOCOL.md,
            # "Coverage"): a sum short of an expected part is a lower bound there, while the
            # aggregates' links carry the sum as summed (its computedQualifier, on both).
            out = {}
            for key, f in figures_by_key.items():
                f = dict(f)
                if f.get("basis") == "computed":
                    for field in ("qualifier", "low", "high"):
                        f.pop(field, None)
                out[key] = f
            return out

        def same_as_oracle(endpoint):
            got, want = as_summed(figures(ctx, endpoint)), as_summed(expected)
            differing = [k for k in set(got) | set(want) if got.get(k) != want.get(k)]
            return not differing, f"{len(got)} figures vs {len(want)}; differing: " + "; ".join(
                f"{k}: {got.get(k)} vs {want.get(k)}" for k in differing[:2])

        ok, detail = same_as_oracle(ep["q"])
        check("1: a replica restarted under writes (chunked snapshot) converges to the oracle", ok, detail)
        ok, detail = same_as_oracle(ep["agg"])
        check("1: the live aggregate (batched feed) equals the oracle", ok, detail)

        # 2. A checkpoint is used: kill -9 the aggregate after a checkpoint, write while it is down,
        # start it again: it loads the checkpoint and replays only the tail.
        check("2: a checkpoint is saved", eventually(
            lambda: (request(ctx, ep["agg"], "status") or {}).get("body", {}).get("counts", {}).get("checkpointAgeSeconds", -1) >= 0))
        procs[1].send_signal(signal.SIGKILL)
        procs[1].wait()
        for _ in range(10):
            writer.submit(30)
        procs[1] = start_one(args.bin, work, "delivery-aggregate", agg_env, "aggregate-2")
        check("2: the restarted aggregate catches up", eventually(lambda: pong(ctx, ep["agg"]), 120))
        log = open(os.path.join(work, "aggregate-2.log"), errors="replace").read()
        check("2: it loaded the checkpoint", "checkpoint loaded" in log, log[-600:])
        check("2: the oracle catches up with the tail", eventually(
            lambda: (request(ctx, oracle_ep["agg"], "status") or {}).get("body", {}).get("positions", {}).get(writer.stream, 0) >= writer.last))
        expected = figures(ctx, oracle_ep["agg"])
        ok, detail = same_as_oracle(ep["agg"])
        check("2: checkpoint plus tail equals a full replay", ok, detail)
        check("2: the replica follows the restarted aggregate", eventually(lambda: same_as_oracle(ep["q"])[0], 60),
              same_as_oracle(ep["q"])[1])

        # 3. Damaged checkpoints are never trusted: cut short, then of another version.
        path = os.path.join(work, "aggregate", "aggregate-link.checkpoint")
        for case, damage in [("cut short", lambda b: b[: len(b) // 2]), ("of another version", lambda b: b[:4] + bytes([9]) + b[5:])]:
            procs[1].send_signal(signal.SIGTERM)
            check(f"3: the aggregate stops on SIGTERM ({case})", procs[1].wait(15) == 0)
            data = open(path, "rb").read()
            open(path, "wb").write(damage(data))
            name = "aggregate-" + case.replace(" ", "-")
            procs[1] = start_one(args.bin, work, "delivery-aggregate", agg_env, name)
            check(f"3: an aggregate with a checkpoint {case} catches up", eventually(lambda: pong(ctx, ep["agg"]), 120))
            log = open(os.path.join(work, name + ".log"), errors="replace").read()
            check(f"3: the checkpoint {case} is refused, loudly", "the checkpoint cannot be used" in log, log[-600:])
            ok, detail = same_as_oracle(ep["agg"])
            check(f"3: after a checkpoint {case}, a full replay gives the oracle's figures", ok, detail)
    finally:
        for proc in oracle_procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
        code = finish(procs, ctx, work, check)
    return code


if __name__ == "__main__":
    sys.exit(main())
