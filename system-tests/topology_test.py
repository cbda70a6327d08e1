#!/usr/bin/env python3
"""A multi-instance topology, started as a user would with scripts/stack: 2 ingest instances,
2 aggregate shards that split the groups, 2 query replicas. Written against docs/PROTOCOL.md with
pyzmq, plus the `deliveries` client for failover.

Checks that both replicas give identical, complete answers, market-wide totals and cross-group
rankings included; that a revision sent to the other ingest reaches both; and that the client
fails over when a replica is killed. Prints 'N passed, M failed'; exits non-zero on a failure.
"""
import argparse, json, os, signal, socket, subprocess, sys, tempfile, time
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, free_port  # noqa: E402

check = Tally()


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_base():
    """A base port whose every port of the 2 x 2 x 2 layout (see scripts/stack) is free."""
    # Below the ephemeral range (32768 on), where outgoing connections could take a port first.
    for base in range(10000, 29500, 500):
        offsets = [0, 1, 2, 3, 4, 5, 70, 71, 170, 171, 270, 271, 2530, 2531]
        if all(port_free(base + o) for o in offsets):
            return base
    raise SystemExit("no free port range for the topology")


class Client:
    def __init__(self, ctx, endpoint):
        self.ctx, self.endpoint, self.n = ctx, endpoint, 0

    def __call__(self, type_, body=None, timeout=15000):
        self.n += 1
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, timeout)
        s.connect(self.endpoint)
        try:
            msg = {"v": 1, "type": type_, "id": f"topo-{self.n}", "body": body or {}}
            s.send_multipart([b"", json.dumps(msg).encode()])
            reply = json.loads(s.recv_multipart()[-1])
            check(f"{type_} echoes id", reply.get("id") == msg["id"], str(reply)[:200])
            return reply
        finally:
            s.close()


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "debug"))
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="delivery-topo-")
    base = pick_base()
    started = subprocess.run(
        [os.path.join(ROOT, "scripts", "stack"), "--ingest", "2", "--aggregate-shards", "market,hima|nw,solo",
         "--query", "2", "--web", "2", "--base-port", str(base), "--data", data, "--bin", args.bin, "--detach"],
        capture_output=True, text=True, timeout=120)
    pids = []
    run = os.path.join(data, "run")
    for name in os.listdir(run) if os.path.isdir(run) else []:
        if name.endswith(".pid"):
            pids.append(int(open(os.path.join(run, name)).read()))
    try:
        check("scripts/stack starts 2 x 2 x 2 and every service answers ping", started.returncode == 0,
              started.stdout[-500:] + started.stderr[-1000:])
        if started.returncode != 0:
            return
        check("scripts/stack started 8 processes (2 pages among them)", len(pids) == 8, str(pids))
        import urllib.request
        urls = open(os.path.join(run, "web-urls")).read().split()
        check("a page per replica, each answering", len(urls) == 2 and all(
            urllib.request.urlopen(u + "healthz", timeout=5).status == 200 for u in urls), str(urls))
        ingest = open(os.path.join(run, "ingest-endpoints")).read().strip().split(",")
        queries = open(os.path.join(run, "query-endpoints")).read().strip().split(",")
        body_of(ingest, queries, args.bin, data)
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 20
        for pid in pids:
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)  # polling for exit with a deadline, not a fixed wait
        print(check.summary())
        if check.failed:
            print(f"logs in {data}/run", file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", data])


def body_of(ingest, queries, bin_dir, data):
    ctx = zmq.Context()
    sample = load(os.path.join(ROOT, "samples", "hima-2025-05.json"))
    more = load(os.path.join(ROOT, "system-tests", "data", "northwind-solo.json"))
    i1, i2 = Client(ctx, ingest[0]), Client(ctx, ingest[1])

    # Every ingest instance validates against its own catalog: both get both catalogs.
    for client in (i1, i2):
        for doc in (sample["catalog"], more["catalog"]):
            check("catalog.put", client("catalog.put", doc)["type"] == "catalog.ok")
    after = {}
    for client, reports in ((i1, sample["reports"]), (i2, more["reports"])):
        ack = client("submit", {"reports": reports})
        check("submit.ok", ack["type"] == "submit.ok", str(ack)[:300])
        for item in ack["body"]["accepted"]:
            after[item["stream"]] = max(after.get(item["stream"], 0), item["seq"])
    check("two ingest streams", len(after) == 2, str(after))

    # Expected values, from the data files.
    nw_may = sum(r["units"] for r in more["reports"] if r["period"] == "2025-05" and r["id"].startswith("nw-"))
    solo_may = sum(r["units"] for r in more["reports"] if r["period"] == "2025-05" and r["id"].startswith("solo-"))
    hima_may = 44_454
    market_apr = next(r["units"] for r in more["reports"] if r["id"] == "market-2025-04")

    questions = [
        ("units", {"entity": {"market": True}, "period": "2025-05"}),
        ("units", {"entity": {"market": True}, "period": "2025-04"}),
        ("units", {"entity": {"market": True}, "period": "2025-Q2"}),
        ("units", {"entity": {"group": "Northwind"}, "period": "2025-05"}),
        ("share", {"entity": {"group": "HIMA"}, "period": "2025-05"}),
        ("ytd", {"entity": {"market": True}, "period": "2025-05"}),
        ("ranking", {"period": "2025-05", "level": "group"}),
        ("ranking", {"period": "2025-05", "level": "model", "segment": "above-500k"}),
        ("ranking", {"period": "2025-05", "level": "model", "top": 3}),
        ("streak", {"segment": "400k-500k", "period": "2025-05"}),
        ("series", {"entity": {"market": True}, "from": "2025-01", "to": "2025-06", "granularity": "month"}),
        ("reconcile", {"entity": {"market": True}, "period": "2025-04"}),
    ]

    def ask_all(after):
        answers = []
        for endpoint in queries:
            client = Client(ctx, endpoint)
            replies = []
            for kind, body in questions:
                reply = client(kind, dict(body, after=after, timeoutMs=20000), timeout=30000)
                check(f"{kind} answered by {endpoint}", reply["type"] == f"{kind}.result", str(reply)[:300])
                result = dict(reply.get("body", {}))
                for stream, seq in after.items():
                    check(f"{kind} asOf covers {stream}", result.get("asOf", {}).get(stream, 0) >= seq, str(result.get("asOf")))
                result.pop("asOf", None)
                replies.append(result)
            answers.append(replies)
        for (kind, body), x, y in zip(questions, answers[0], answers[1]):
            check(f"both replicas give the same {kind} {json.dumps(body)}", x == y,
                  json.dumps(x, sort_keys=True) + " vs " + json.dumps(y, sort_keys=True))
        return answers[0]

    a = ask_all(after)
    market_may = hima_may + nw_may + solo_may
    check("market May is the sum over both shards", a[0].get("units") == market_may, str(a[0]))
    check("market May is computed", a[0].get("basis") == "computed", str(a[0]))
    check("market April is the market-wide report", a[1].get("units") == market_apr and a[1].get("basis") == "reported", str(a[1]))
    check("market April keeps its qualifier", a[1].get("qualifier") == "approximate", str(a[1]))
    check("market Q2 = April reported + May summed", a[2].get("units") == market_apr + market_may, str(a[2]))
    check("market Q2 is incomplete (no June)", a[2].get("complete") is False, str(a[2]))
    check("Northwind May", a[3].get("units") == nw_may, str(a[3]))
    check("HIMA share of the market", abs(a[4].get("share", 0) - hima_may / market_may) < 1e-6
          and a[4].get("ofUnits") == market_may, str(a[4]))
    check("market ytd", a[5].get("units") == market_apr + market_may, str(a[5]))
    groups = [(row["entity"]["id"], row["units"]) for row in a[6].get("rows", [])]
    check("group ranking across shards", groups == sorted([("hima", hima_may), ("nw", nw_may), ("solo", solo_may)],
          key=lambda x: (-x[1], x[0])), str(groups))
    seg = [row["entity"]["id"] for row in a[7].get("rows", [])]
    check("segment ranking across shards", seg == ["nw-a-1", "aito-m9"], str(seg))
    top = [row["entity"]["id"] for row in a[8].get("rows", [])]
    check("top 3 models across shards", top == ["nw-b-1", "nw-a-1", "aito-m9"], str(top))
    check("a tie in the segment lead goes to the smaller id", (a[9].get("leader") or {}).get("id") == "aito-m8", str(a[9]))
    points = {p["period"]: p["units"] for p in a[10].get("points", [])}
    check("market series", points.get("2025-04") == market_apr and points.get("2025-05") == market_may, str(points))
    check("market reconcile: reported against the groups' sum",
          a[11].get("reported") == market_apr and a[11].get("childrenSum") == 27_555 + 14_900 + 9_050 + 19_400 + 11_000,
          str(a[11]))

    # A revision through the other ingest instance reaches both replicas and the market.
    revision = {"id": "nw-b-1-2025-05-rev", "source": "CPCA", "period": "2025-05", "model": "Breeze S",
                "units": 21_800, "reportedAt": "2025-06-20T00:00:00Z"}
    ack = i1("submit", {"reports": [revision]})
    check("revision acknowledged", ack["type"] == "submit.ok", str(ack)[:300])
    for item in ack["body"].get("accepted", []):
        after[item["stream"]] = max(after.get(item["stream"], 0), item["seq"])
    b = ask_all(after)
    check("the revision moves the market", b[0].get("units") == market_may + 25, str(b[0]))

    # Failover: one replica killed, the client with both endpoints still answers, every time.
    pid_file = os.path.join(data, "run", "query-1.pid")
    os.kill(int(open(pid_file).read()), signal.SIGKILL)
    ok = 0
    for _ in range(6):
        out = subprocess.run([os.path.join(bin_dir, "deliveries"), "query", "units", "--market", "--period", "2025-05",
                              "--json", "--endpoint", ",".join(queries), "--timeout", "4000"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode == 0 and json.loads(out.stdout).get("units") == market_may + 25:
            ok += 1
        else:
            print(out.stdout[-300:], out.stderr[-300:], file=sys.stderr)
    check("deliveries --endpoint a,b fails over to the live replica", ok == 6, f"{ok} of 6")
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
    sys.exit(1 if check.failed else 0)
