#!/usr/bin/env python3
"""Facts with a history, against the real executables on loopback: an ingest, an aggregate with
checkpoints, two query replicas, and the real `deliveries subscribe fact. --since` as the
subscriber. Monthly figures of three brands arrive in small submits; at random points the
subscriber is killed -9 and resumed from the token its own output holds (the highest number of
each history it printed), the replica it follows is killed -9 and restarted, and once the
aggregate is too. In the end the subscriber has printed every fact the aggregate stated exactly
once, in the order of their numbers, each the same as both replicas' `facts` answer it; bad
tokens get clear errors."""
import argparse, json, os, random, signal, subprocess, sys, tempfile, time
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import Tally, eventually, free_port, pong, request, start_one, stop_named, summarize  # noqa: E402

check = Tally()
# Small, so that the journal is compacted during the run and the history drops its oldest facts.
HISTORY = 150


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"seed {seed}", flush=True)
    work = tempfile.mkdtemp(prefix="delivery-facts-")
    ctx = zmq.Context()
    ep = {k: f"tcp://127.0.0.1:{free_port()}" for k in ["in", "inpub", "agg", "aggpub", "q1", "q1pub", "q2", "q2pub"]}
    base = dict(DELIVERY_LOG_LEVEL="info")
    ingest_env = dict(base, DELIVERY_INGEST_BIND=ep["in"], DELIVERY_INGEST_PUBLISH=ep["inpub"], DELIVERY_DATA_DIR=os.path.join(work, "ingest"),
                      DELIVERY_INSTANCE="i")
    agg_env = dict(base, DELIVERY_AGGREGATE_BIND=ep["agg"], DELIVERY_AGGREGATE_PUBLISH=ep["aggpub"], DELIVERY_INGEST_ENDPOINTS=ep["in"],
                   DELIVERY_INGEST_FEEDS=ep["inpub"], DELIVERY_DATA_DIR=os.path.join(work, "aggregate"), DELIVERY_INSTANCE="a",
                   DELIVERY_CHECKPOINT_SECONDS="1", DELIVERY_FACT_HISTORY=str(HISTORY))

    def query_env(name):
        return dict(base, DELIVERY_QUERY_BIND=ep[name], DELIVERY_QUERY_PUBLISH=ep[name + "pub"], DELIVERY_AGGREGATE_ENDPOINTS=ep["agg"],
                    DELIVERY_AGGREGATE_FEEDS=ep["aggpub"], DELIVERY_INSTANCE=name, DELIVERY_FACT_HISTORY=str(HISTORY))

    procs = {"ingest": start_one(args.bin, work, "delivery-ingest", ingest_env, "ingest"),
             "aggregate": start_one(args.bin, work, "delivery-aggregate", agg_env, "aggregate"),
             "q1": start_one(args.bin, work, "delivery-query", query_env("q1"), "q1"),
             "q2": start_one(args.bin, work, "delivery-query", query_env("q2"), "q2")}
    runs = []
    try:
        check("stack up", all(eventually(lambda e=e: pong(ctx, ep[e]), within=90) for e in ["in", "agg", "q1", "q2"]))
        scenario(ctx, ep, args.bin, work, procs, runs, rng, query_env, agg_env)
    finally:
        for run in runs:
            if run["proc"].poll() is None:
                run["proc"].kill()
                run["proc"].wait()
        stop_named(procs, check)
        ctx.destroy(linger=0)
    if check.failed:
        print(f"seed {seed}", file=sys.stderr)
    return summarize(work, check)


def printed(runs):
    """Every fact the subscriber's runs printed (its --json lines), in order."""
    facts = []
    for run in runs:
        with open(run["out"]) as f:
            for line in f:
                if line.endswith("\n"):
                    facts.append(json.loads(line))
    return facts


def token_of(facts):
    """The token a script holds after these facts: the highest number of each history."""
    top = {}
    for fact in facts:
        top[fact["history"]] = max(top.get(fact["history"], 0), fact["number"])
    return ",".join(f"{h}:{n}" for h, n in sorted(top.items()))


def scenario(ctx, ep, bin_dir, work, procs, runs, rng, query_env, agg_env):
    put = {"groups": [{"id": "g", "name": "G"}],
           "brands": [{"id": f"b{n}", "name": f"Brand {n}", "group": "g"} for n in range(1, 4)]}
    reply = request(ctx, ep["in"], "catalog.put", put)
    check("catalog put", reply and reply["type"] == "catalog.ok", reply)

    def subscribe():
        """A new run of the subscriber, from the token its output so far holds."""
        out = os.path.join(work, f"subscriber-{len(runs)}.out")
        err = open(os.path.join(work, f"subscriber-{len(runs)}.err"), "w")
        since = token_of(printed(runs))
        proc = subprocess.Popen([os.path.join(bin_dir, "deliveries"), "subscribe", "fact.", "--json", "--since", since,
                                 "--feed", ep["q1pub"], "--endpoint", f"{ep['q1']},{ep['q2']}", "--silence-seconds", "1",
                                 "--timeout", "3000"], stdout=open(out, "w"), stderr=err)
        runs.append({"proc": proc, "out": out, "started": time.monotonic()})

    subscribe()
    # Three brands' months, each a random walk: records, streaks and milestones come and go.
    months = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)]
    level = {f"b{n}": rng.randrange(5000, 20000) for n in range(1, 4)}
    reports = []
    for month in months:
        for brand in level:
            level[brand] = max(1000, int(level[brand] * rng.uniform(0.8, 1.3)))
            reports.append({"id": f"{brand}-{month}", "source": "CPCA", "period": month, "group": "g", "brand": brand,
                            "units": level[brand], "qualifier": "exact", "reportedAt": f"{month}-28T00:00:00Z"})
    def stated():
        reply = request(ctx, ep["agg"], "status", timeout=3000)
        return reply["body"]["counts"]["facts"] if reply and reply["type"] == "status.result" else 0

    aggregate_killed = False
    replica_kills = 0
    position = 0
    while position < len(reports):
        chunk = reports[position:position + rng.randint(1, 3)]
        position += len(chunk)
        reply = request(ctx, ep["in"], "submit", {"reports": chunk})
        check("submit", reply and reply["type"] == "submit.ok", reply)
        # Paced by the replica that stays up (read your writes), so that the facts go out live
        # while the subscriber, the replica and the aggregate die and come back.
        if reply and reply["type"] == "submit.ok":
            after = {a["stream"]: a["seq"] for a in reply["body"]["accepted"]}
            request(ctx, ep["q2"], "units", {"entity": {"group": "G"}, "period": chunk[0]["period"], "after": after, "timeoutMs": 20000},
                    timeout=30000)
        # The subscriber must not fall further behind than the history keeps (a script that
        # does gets "older than the facts kept"): the writer waits for it to be within half.
        check("the subscriber keeps up", eventually(lambda: stated() - len(printed(runs)) < HISTORY // 2, within=60),
              f"{stated()} stated, {len(printed(runs))} printed")
        roll = rng.random()
        # At random, and at least once by a third of the way (however fast the machine runs it).
        if (roll < 0.08 and time.monotonic() - runs[-1]["started"] > 0.3) or (len(runs) == 1 and position > len(reports) // 3):
            # The subscriber dies and a new run resumes from what the last one printed.
            runs[-1]["proc"].send_signal(signal.SIGKILL)
            runs[-1]["proc"].wait()
            subscribe()
        elif roll < 0.10 or (replica_kills == 0 and position > len(reports) // 4):
            # The replica the subscriber follows dies and comes back (a new stream, its history
            # from the aggregate's snapshot).
            procs["q1"].send_signal(signal.SIGKILL)
            procs["q1"].wait()
            replica_kills += 1
            procs["q1"] = start_one(bin_dir, work, "delivery-query", query_env("q1"), "q1")
        elif not aggregate_killed and position > len(reports) // 2:
            aggregate_killed = True
            if rng.random() < 0.5:
                # Sometimes once a checkpoint holds everything so far (the replay is empty),
                # sometimes at once (the replay states nothing again for what the journal has).
                check("a checkpoint of the reports so far", eventually(
                    lambda: request(ctx, ep["agg"], "status", timeout=3000)["body"]["counts"]["checkpointReports"] >= position, within=30),
                    position)
            procs["aggregate"].send_signal(signal.SIGKILL)
            procs["aggregate"].wait()
            procs["aggregate"] = start_one(bin_dir, work, "delivery-aggregate", agg_env, "aggregate")
            check("aggregate back", eventually(lambda: pong(ctx, ep["agg"]), within=60))
    check("the aggregate was killed once", aggregate_killed)
    check("the replica was killed", replica_kills >= 1, replica_kills)

    # Every report applied, then every fact printed.
    check("the aggregate applied everything", eventually(
        lambda: (request(ctx, ep["agg"], "status", timeout=3000)["body"]["positions"] or {}) and
        max(request(ctx, ep["agg"], "status", timeout=3000)["body"]["positions"].values()) >= len(reports) + 1, within=60))
    total = stated()
    check("facts were stated", total and total > 20, total)
    check("the subscriber printed every fact", eventually(lambda: len(printed(runs)) >= total, within=60),
          f"{len(printed(runs))} of {total}")
    facts = printed(runs)
    numbers = [f["number"] for f in facts]
    histories = {f["history"] for f in facts}
    check("one history", len(histories) == 1, histories)
    check("each fact once, none missing, in order", numbers == list(range(1, total + 1)),
          f"{len(runs)} runs; duplicates {sorted(n for n in set(numbers) if numbers.count(n) > 1)[:10]}, "
          f"missing {sorted(set(range(1, total + 1)) - set(numbers))[:10]}")
    check("the subscriber was resumed", len(runs) >= 2, len(runs))
    # Stated once: no report's fact twice under two numbers (a restart that stated again).
    said = [(f["entity"]["id"], f["period"], f["fact"]["kind"], f["fact"]["text"], f["cause"]["stream"], f["cause"]["seq"]) for f in facts]
    check("no fact stated twice", len(set(said)) == len(said), [x for x in said if said.count(x) > 1][:3])
    print(f"{total} facts; the subscriber ran {len(runs)} times, printing {[sum(1 for _ in open(r['out'])) for r in runs]}; "
          f"the replica it follows was killed {replica_kills} times, the aggregate once", flush=True)

    def everything(endpoint):
        out, token = [], ""
        while True:
            reply = request(ctx, endpoint, "facts", {"since": token, "limit": 7}, timeout=10000)
            if not reply or reply["type"] != "facts.result":
                return reply
            out += reply["body"]["facts"]
            token = reply["body"]["token"]
            if not reply["body"]["more"]:
                return out

    def same(a, b):
        keys = ("history", "number", "entity", "period", "fact", "statedAt", "cause")
        return [{k: f.get(k) for k in keys} for f in a] == [{k: f.get(k) for k in keys} for f in b]

    # The replicas keep the last HISTORY facts (from a snapshot) to a quarter more (from batches).
    kept = everything(ep["q2"])
    check("q2 keeps the newest facts, bounded", isinstance(kept, list) and HISTORY <= len(kept) <= HISTORY + HISTORY // 4
          and same(kept, facts[-len(kept):]), len(kept) if isinstance(kept, list) else kept)
    check("q1 (restarted) answers the same facts",
          eventually(lambda: (lambda k: isinstance(k, list) and len(k) >= HISTORY and same(k, facts[-len(k):]))(everything(ep["q1"])), within=30))
    old = request(ctx, ep["q2"], "facts", {"since": f"{facts[0]['history']}:1"})
    check("a token older than the facts kept", old and old["type"] == "error" and "older than the facts kept" in old["body"]["message"]
          and old["body"]["details"]["first"] > 2, old)
    journal = os.path.join(work, "aggregate", "aggregate-a.facts")
    lines = sum(1 for _ in open(journal))
    check("the fact journal stays bounded (compacted)", 1 <= lines <= 2 * HISTORY + 1, lines)
    check("every fact has words, an entity and its cause",
          all(f["fact"]["text"] and f["entity"]["id"] in set(level) | {"g"} and f["cause"]["reportId"] for f in facts))

    # Bad tokens and limits.
    for body, words in [({"since": "nope"}, "not a fact token"), ({"since": "f000000000000:3"}, "unknown token"),
                        ({"limit": 0}, "limit"), ({"prefix": "figure."}, "prefix"), ({"since": 5}, "since")]:
        reply = request(ctx, ep["q2"], "facts", body)
        check(f"facts {body} refused", reply and reply["type"] == "error" and reply["body"]["code"] == "invalid_query"
              and words in reply["body"]["message"], reply)
    # A token ahead of a replica answers nothing and keeps its place; no token gives the latest.
    ahead = request(ctx, ep["q2"], "facts", {"since": f"{facts[0]['history']}:{total + 5}"})
    check("a token ahead", ahead["body"]["facts"] == [] and ahead["body"]["token"] == f"{facts[0]['history']}:{total + 5}", ahead)
    largest = request(ctx, ep["q2"], "facts", {"since": f"{facts[0]['history']}:18446744073709551615"})
    check("the largest number is answered, not a crash", largest and largest["type"] == "facts.result" and largest["body"]["facts"] == []
          and pong(ctx, ep["q2"]), largest)
    latest = request(ctx, ep["q2"], "facts", {"limit": 3})
    check("the latest three", [f["number"] for f in latest["body"]["facts"]] == [total - 2, total - 1, total]
          and latest["body"]["token"] == f"{facts[0]['history']}:{total}", latest)
    runs[-1]["proc"].send_signal(signal.SIGTERM)
    runs[-1]["proc"].wait()


if __name__ == "__main__":
    sys.exit(main())
