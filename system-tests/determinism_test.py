#!/usr/bin/env python3
"""One answer whatever the order, against the real executables on loopback: two ingests with one
instance name, a revision through another ingest, a tie between sources, aggregate restarts (full
replays in new interleavings), a data dir replaced behind an endpoint, and a log restored from a
backup behind an endpoint while a replica stays up."""
import argparse, json, os, shutil, signal, sys, tempfile
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, eventually, free_port, pong, request, snapshot_figures, start_one  # noqa: E402

check = Tally()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="delivery-determinism-")
    ctx = zmq.Context()
    sample = json.load(open(os.path.join(ROOT, "samples", "hima-2025-05.json")))
    ep = {k: f"tcp://127.0.0.1:{free_port()}" for k in ["in1", "pub1", "in2", "pub2", "agg", "aggpub", "q", "qpub", "q2", "q2pub"]}
    base = dict(DELIVERY_LOG_LEVEL="info")

    def ingest_env(n):
        # The same instance name for both: their streams must still differ.
        return dict(base, DELIVERY_INGEST_BIND=ep[f"in{n}"], DELIVERY_INGEST_PUBLISH=ep[f"pub{n}"],
                    DELIVERY_DATA_DIR=os.path.join(work, f"ingest-{n}"), DELIVERY_INSTANCE="dup")

    agg_env = dict(base, DELIVERY_AGGREGATE_BIND=ep["agg"], DELIVERY_AGGREGATE_PUBLISH=ep["aggpub"],
                   DELIVERY_INGEST_ENDPOINTS=f"{ep['in1']},{ep['in2']}", DELIVERY_INGEST_FEEDS=f"{ep['pub1']},{ep['pub2']}",
                   DELIVERY_DATA_DIR=os.path.join(work, "aggregate"), DELIVERY_INSTANCE="a", DELIVERY_CHECKPOINT_SECONDS="0")

    def query_env(name):
        return dict(base, DELIVERY_QUERY_BIND=ep[name], DELIVERY_QUERY_PUBLISH=ep[name + "pub"], DELIVERY_AGGREGATE_ENDPOINTS=ep["agg"],
                    DELIVERY_AGGREGATE_FEEDS=ep["aggpub"], DELIVERY_INSTANCE=name)

    procs = {"ingest-1": start_one(args.bin, work, "delivery-ingest", ingest_env(1), "ingest-1"),
             "ingest-2": start_one(args.bin, work, "delivery-ingest", ingest_env(2), "ingest-2"),
             "aggregate": start_one(args.bin, work, "delivery-aggregate", agg_env, "aggregate"),
             "query": start_one(args.bin, work, "delivery-query", query_env("q"), "query")}

    def units(endpoint, model, period, after=None):
        body = {"entity": {"model": model}, "period": period}
        if after:
            body.update(after=after, timeoutMs=20000)
        reply = request(ctx, endpoint, "units", body, timeout=30000)
        return reply["body"].get("units") if reply and reply["type"] == "units.result" else reply

    def submit(n, reports):
        reply = request(ctx, ep[f"in{n}"], "submit", {"reports": reports})
        ok = reply and reply["type"] == "submit.ok"
        check(f"submit through ingest {n}", ok, reply)
        return {a["stream"]: a["seq"] for a in reply["body"]["accepted"]} if ok else {}

    def report(model, units_, source, day, period="2025-06"):
        return {"source": source, "period": period, "model": model, "units": units_, "reportedAt": f"2025-07-{day}T00:00:00Z"}

    def snapshot(endpoint):
        return snapshot_figures(ctx, endpoint, timeout=30000)

    def restart(name, exe, env):
        procs[name].send_signal(signal.SIGKILL)
        procs[name].wait()
        procs[name] = start_one(args.bin, work, exe, env, name)

    code = 1
    try:
        for name in ["in1", "in2", "agg", "q"]:
            check(f"{name} answers ping", eventually(lambda: pong(ctx, ep[name]), 60))
        for n in (1, 2):
            put = request(ctx, ep[f"in{n}"], "catalog.put", sample["catalog"])
            check(f"catalog on ingest {n}", put and put["type"] == "catalog.ok", put)

        # 2. Two ingests given one instance name: two streams, both counted.
        a1 = submit(1, [report("AITO M8", 10, "Maker", "01", "2025-04")])
        a2 = submit(2, [report("AITO M7", 20, "Maker", "01", "2025-04")])
        check("2: one instance name, two streams", a1 and a2 and set(a1) != set(a2), (a1, a2))
        after = {**a1, **a2}
        hima = request(ctx, ep["q"], "units", {"entity": {"brand": "AITO"}, "period": "2025-04", "after": after, "timeoutMs": 20000})
        check("2: reports through both are counted", hima and hima["body"].get("units") == 30, hima)

        # 1. A revision from the same source through the other ingest (a writer failing over),
        # and a tie between two sources on two ingests.
        after.update(submit(2, [report("AITO M9", 100, "CPCA", "01")]))
        after.update(submit(1, [report("AITO M9", 200, "CPCA", "02")]))
        after.update(submit(1, [report("Luxeed R7", 111, "CAAM", "05")]))
        after.update(submit(2, [report("Luxeed R7", 222, "CPCA", "05")]))
        first = (units(ep["q"], "AITO M9", "2025-06", after), units(ep["q"], "Luxeed R7", "2025-06", after))
        check("1: the later reportedAt wins across ingests, live", first[0] == 200, first)
        check("1: a tie between sources is decided", first[1] in (111, 222), first)
        answers = []
        for _ in range(4):
            # No checkpoint: each restart replays both logs, in whatever interleaving comes.
            restart("aggregate", "delivery-aggregate", agg_env)
            eventually(lambda: pong(ctx, ep["agg"]), 60)
            eventually(lambda: all((request(ctx, ep["q"], "status") or {}).get("body", {}).get("positions", {}).get(s, 0) >= n
                                   for s, n in after.items()) and pong(ctx, ep["q"]), 60)
            answers.append((units(ep["q"], "AITO M9", "2025-06", after), units(ep["q"], "Luxeed R7", "2025-06", after)))
        check("1: every aggregate restart gives the live answers", all(a == first for a in answers), (first, answers))

        # 4. Catalog puts from two ingests that put one brand under different groups: the same
        # group wins after every restart, and the conflict is in the aggregate's status.
        for n, group in ((1, "north-motors"), (2, "south-motors")):
            doc = {"groups": [{"id": group, "name": group.replace("-", " ").title()}],
                   "brands": [{"id": "contested", "name": "Contested", "group": group}],
                   "models": [{"id": "contested-one", "name": "Contested One", "brand": "contested"}]}
            put = request(ctx, ep[f"in{n}"], "catalog.put", doc)
            check(f"4: ingest {n} takes its own catalog", put and put["type"] == "catalog.ok", put)
            after[put["body"]["stream"]] = put["body"]["seq"]
        after.update(submit(1, [{"source": "Maker", "period": "2025-02", "model": "Contested One", "units": 7}]))

        def owner():
            found = []
            for group in ("north-motors", "south-motors"):
                reply = request(ctx, ep["q"], "units", {"entity": {"group": group}, "period": "2025-02", "after": after, "timeoutMs": 20000})
                found.append(reply["body"].get("units") if reply and reply["type"] == "units.result" else None)
            return found
        # Settled once the aggregate has seen both puts (it may rebuild once on the way).
        eventually(lambda: sorted(x or 0 for x in owner()) == [0, 7], 30)
        decided = owner()
        check("4: the contested model counts in exactly one group", sorted(x or 0 for x in decided) == [0, 7], decided)
        check("4: and both groups exist (the losing put's other entries still apply)", None not in decided, decided)
        owners = []
        for _ in range(3):
            restart("aggregate", "delivery-aggregate", agg_env)
            eventually(lambda: pong(ctx, ep["agg"]), 60)
            eventually(lambda: owner() == decided, 30)
            owners.append(owner())
        check("4: the same group after every aggregate restart", all(o == decided for o in owners), (decided, owners))
        status = request(ctx, ep["agg"], "status")
        conflicts = (status or {}).get("body", {}).get("conflicts") or []
        check("4: the conflict is in the aggregate's status, naming both puts", any("contested" in c and "wins" in c for c in conflicts), status)

        # 2. A data dir replaced behind an endpoint: a new log, a new stream, followed; the old
        # stream's reports stay counted and the old stream is named in the aggregate's status.
        old_stream = next(iter(a2))
        procs["ingest-2"].send_signal(signal.SIGTERM)
        check("2: ingest 2 stops", procs["ingest-2"].wait(15) == 0)
        shutil.move(os.path.join(work, "ingest-2"), os.path.join(work, "ingest-2-old"))
        procs["ingest-2"] = start_one(args.bin, work, "delivery-ingest", ingest_env(2), "ingest-2b")
        check("2: a new ingest on the same endpoint answers", eventually(lambda: pong(ctx, ep["in2"]), 60))
        request(ctx, ep["in2"], "catalog.put", sample["catalog"])
        fresh = submit(2, [report("AITO M8", 5, "Maker", "03", "2025-03")])
        check("2: the new log has a new stream", fresh and old_stream not in fresh, (fresh, old_stream))
        got = units(ep["q"], "AITO M8", "2025-03", fresh)
        check("2: the new log's reports are counted, not skipped", got == 5, got)
        check("2: the old stream's reports stay counted", units(ep["q"], "AITO M7", "2025-04") == 20)
        status = request(ctx, ep["agg"], "status")
        retired = (status or {}).get("body", {}).get("retired") or {}
        check("2: the aggregate's status says what happened to the old stream", old_stream in retired, status and status["body"])

        # 3. A log restored from a backup behind an endpoint, while a replica stays up: the
        # aggregate rebuilds under a new epoch, and the replica answers like a fresh one.
        procs["ingest-1"].send_signal(signal.SIGTERM)
        procs["ingest-1"].wait(15)
        shutil.copytree(os.path.join(work, "ingest-1"), os.path.join(work, "ingest-1-backup"))
        procs["ingest-1"] = start_one(args.bin, work, "delivery-ingest", ingest_env(1), "ingest-1b")
        eventually(lambda: pong(ctx, ep["in1"]), 60)
        later = submit(1, [report("Stelato S9", 1000, "Maker", "04", "2024-02")])
        check("3: a figure made after the backup is there", units(ep["q"], "Stelato S9", "2024-02", later) == 1000)
        procs["ingest-1"].send_signal(signal.SIGTERM)
        procs["ingest-1"].wait(15)
        shutil.rmtree(os.path.join(work, "ingest-1"))
        shutil.copytree(os.path.join(work, "ingest-1-backup"), os.path.join(work, "ingest-1"))
        procs["ingest-1"] = start_one(args.bin, work, "delivery-ingest", ingest_env(1), "ingest-1c")
        check("3: the restored ingest answers", eventually(lambda: pong(ctx, ep["in1"]), 60))
        check("3: the aggregate rebuilds", eventually(
            lambda: (request(ctx, ep["agg"], "status") or {}).get("body", {}).get("counts", {}).get("rebuilds", 0) >= 1, 60))
        procs["query2"] = start_one(args.bin, work, "delivery-query", query_env("q2"), "query2")
        check("3: a fresh replica answers", eventually(lambda: pong(ctx, ep["q2"]), 60))

        def same():
            a, b = snapshot(ep["q"]), snapshot(ep["q2"])
            return a == b and len(a) > 0 and ("model", "stelato-s9", "2024-02") not in a
        check("3: the replica that stayed up answers like a fresh one (no ghost figures)", eventually(same, 60),
              [k for k in set(snapshot(ep["q"])) ^ set(snapshot(ep["q2"]))][:4])
        check("3: market 2024 equals the fresh replica's", request(ctx, ep["q"], "units", {"entity": {"market": True}, "period": "2024"})
              == request(ctx, ep["q2"], "units", {"entity": {"market": True}, "period": "2024"}))
        # 5. A, B, then A again (no id, no reportedAt): the third is a duplicate of the first, and
        # the ack (and the CLI) say that the first no longer stands; a later reportedAt restates it.
        a_report = {"source": "Solo", "period": "2023-01", "model": "AITO M8", "units": 300}
        first = request(ctx, ep["in2"], "submit", {"reports": [a_report]})["body"]["accepted"][0]
        second = request(ctx, ep["in2"], "submit", {"reports": [dict(a_report, units=350)]})["body"]["accepted"][0]
        third = request(ctx, ep["in2"], "submit", {"reports": [a_report]})["body"]["accepted"][0]
        check("5: A again is a duplicate of the first A", third["duplicate"] and third["seq"] == first["seq"], third)
        check("5: its ack says the first A no longer stands", (third.get("supersededBy") or {}).get("seq") == second["seq"], third)
        check("5: the figure stays B", units(ep["q"], "AITO M8", "2023-01", {second["stream"]: second["seq"]}) == 350)
        path = os.path.join(work, "again.json")
        json.dump({"reports": [a_report]}, open(path, "w"))
        import subprocess
        cli = subprocess.run([os.path.join(args.bin, "deliveries"), "submit", path, "--ingest", ep["in2"]], capture_output=True, text=True, timeout=60)
        check("5: the CLI says so", cli.returncode == 0 and "no longer stands" in cli.stderr and "later reportedAt" in cli.stderr, cli.stderr)
        import datetime
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        again = request(ctx, ep["in2"], "submit", {"reports": [dict(a_report, reportedAt=now)]})["body"]["accepted"][0]
        check("5: A with a later reportedAt is stored and stands", not again["duplicate"]
              and units(ep["q"], "AITO M8", "2023-01", {again["stream"]: again["seq"]}) == 300)
        code = 0
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                check(f"{name} exits cleanly on SIGTERM", proc.wait(15) == 0)
            except Exception:
                proc.kill()
                check(f"{name} exits cleanly on SIGTERM", False)
        ctx.destroy(linger=0)
        if check.failed or code:
            print(f"logs in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
        print(check.summary())
    return 1 if check.failed or code else 0


if __name__ == "__main__":
    sys.exit(main())
