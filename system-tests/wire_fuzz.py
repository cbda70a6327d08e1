#!/usr/bin/env python3
"""Wire fuzzing: random and truncated frames, wrong frame counts, huge frames and raw TCP garbage
sent to every ROUTER (ingest, aggregate, query) of a running stack that holds the sample.

Afterwards every service still answers ping, every well-framed message got a reply, the ingest
log did not move and every figure is what it was. Prints 'N passed, M failed'.
"""
import argparse, json, os, random, socket, sys, tempfile, time
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, finish, start_stack  # noqa: E402

check = Tally()



def request(ctx, endpoint, type_, body=None, timeout=10000):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, timeout)
    s.connect(endpoint)
    try:
        s.send_multipart([b"", json.dumps({"v": 1, "type": type_, "id": "w", "body": body or {}}).encode()])
        return json.loads(s.recv_multipart()[-1])
    finally:
        s.close()


def wait_pong(ctx, endpoint, deadline=30):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if request(ctx, endpoint, "ping", timeout=500)["type"] == "pong":
                return True
        except zmq.Again:
            pass
    return False


def payloads(rng, valid):
    """Messages that must all be refused with an error reply: garbage, truncations of valid
    requests (never valid JSON), random JSON of the wrong shape, deep nesting, bad UTF-8."""
    out = []
    for _ in range(120):
        out.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))))
    for _ in range(120):
        v = rng.choice(valid)
        out.append(v[: rng.randint(0, len(v) - 1)])
    shapes = [None, True, 1, -1.5, "x", [], {}, {"v": 1}, {"v": 1, "type": ""}, {"v": "1", "type": "units"},
              {"v": 1, "type": 7}, {"v": 1, "type": "units", "id": [1]}, {"v": 2, "type": "ping"}]
    for shape in shapes:
        out.append(json.dumps(shape).encode())
    for type_ in ["submit", "units", "share", "growth", "ytd", "ranking", "streak", "series", "reconcile", "convert",
                  "snapshot", "replay", "catalog.put", "frobnicate"]:
        for body in [None, 5, "x", [], {"entity": 5}, {"reports": "x"}, {"reports": [None, 1, []]}, {"period": [1]},
                     {"from": -1, "limit": "x"}, {"prefix": 7}, {"groups": 5}, {"entity": {"model": "nope"}, "period": "2025-05"}]:
            msg = {"v": 1, "type": type_, "id": rng.randint(0, 1 << 30)}
            if body is not None:
                msg["body"] = body
            out.append(json.dumps(msg).encode())
    out.append(b'{"v":1,"type":"units","body":' + b"[" * 5000 + b"]" * 5000 + b"}")
    out.append(b'{"v":1,"type":"units","id":"\xff\xfe","body":{}}')
    out.append(b'{"v":1,"type":"submit","body":{"reports":[{"source":"' + b"x" * 5000 + b'","period":"2025-05","model":"AITO M9","units":1}]}}')
    return out


def fuzz_router(ctx, name, endpoint, valid, rng):
    # Well framed (DEALER: empty delimiter + one frame): each one gets an error reply.
    d = ctx.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.setsockopt(zmq.RCVTIMEO, 10000)
    d.connect(endpoint)
    messages = payloads(rng, valid)
    replies, others = 0, []
    for payload in messages:
        d.send_multipart([b"", payload])
        try:
            reply = json.loads(d.recv_multipart()[-1])
            replies += 1
            if reply.get("type") != "error":
                others.append((payload[:120], reply.get("type"), reply.get("body", {}).get("duplicate")))
        except zmq.Again:
            break
    check(f"{name}: every malformed message gets a reply", replies == len(messages), f"{replies} of {len(messages)}")
    # The only requests in the mix that are well formed: snapshots (a body's unknown fields are
    # ignored, so any object asks for every figure) and a catalog.put of an empty document
    # (acknowledged as changing nothing). Everything else must be an error.
    harmless = all(t == "snapshot.result" or (t == "catalog.ok" and dup) for _, t, dup in others)
    check(f"{name}: every other reply is an error", harmless, str(others))
    # Wrong frame counts: more frames after the delimiter, or no delimiter and several frames.
    for frames in ([b"", b"a", b"b"], [b"", b"{}", b"{}", b"{}"], [b"x", b"y"], [b"", b""]):
        d.send_multipart(frames)
        try:
            reply = json.loads(d.recv_multipart()[-1])
            check(f"{name}: {len(frames)} frames refused", reply.get("type") == "error", str(reply)[:200])
        except zmq.Again:
            check(f"{name}: {len(frames)} frames answered", False)
    # Over DELIVERY_MAX_REQUEST_BYTES: too_large.
    d.send_multipart([b"", b" " * (5 * 1024 * 1024)])
    try:
        reply = json.loads(d.recv_multipart()[-1])
        check(f"{name}: 5 MiB is too_large", reply.get("body", {}).get("code") == "too_large", str(reply)[:200])
    except zmq.Again:
        check(f"{name}: 5 MiB answered", False)
    d.close()
    # Over ZMQ_MAXMSGSIZE (16 MiB): the socket drops the peer; nothing to answer.
    big = ctx.socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 0)
    big.connect(endpoint)
    big.send_multipart([b"", b"x" * (17 * 1024 * 1024)])
    big.close()
    # REQ with garbage, and raw bytes that are not ZMTP at all.
    host, port = endpoint.replace("tcp://", "").split(":")
    for _ in range(20):
        with socket.create_connection((host, int(port)), timeout=2) as raw:
            try:
                raw.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2000))))
            except OSError:
                pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "debug"))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"seed {args.seed}")
    work = tempfile.mkdtemp(prefix="delivery-wirefuzz-")
    procs, ep = start_stack(args.bin, work, "fuzz", log_level="error")
    ctx = zmq.Context()
    try:
        for name, e in [("ingest", ep["in"]), ("aggregate", ep["agg"]), ("query", ep["q"])]:
            check(f"{name} answers ping", wait_pong(ctx, e))
        sample = json.load(open(os.path.join(ROOT, "samples", "hima-2025-05.json")))
        request(ctx, ep["in"], "catalog.put", sample["catalog"])
        ack = request(ctx, ep["in"], "submit", {"reports": sample["reports"]})
        last = max(a["seq"] for a in ack["body"]["accepted"])
        stream = ack["body"]["accepted"][0]["stream"]
        reply = request(ctx, ep["q"], "units", {"entity": {"group": "HIMA"}, "period": "2025-05", "after": {stream: last}})
        check("sample loaded", reply["body"].get("units") == 44454, str(reply)[:200])
        before = request(ctx, ep["q"], "snapshot", {"prefix": "figure."})["body"]["figures"]
        valid = [json.dumps({"v": 1, "type": "submit", "id": "t", "body": {"reports": sample["reports"]}}).encode(),
                 json.dumps({"v": 1, "type": "units", "id": "t", "body": {"entity": {"group": "HIMA"}, "period": "2025-05"}}).encode(),
                 json.dumps({"v": 1, "type": "catalog.put", "id": "t", "body": sample["catalog"]}).encode()]

        for name, e in [("ingest", ep["in"]), ("aggregate", ep["agg"]), ("query", ep["q"])]:
            fuzz_router(ctx, name, e, valid, rng)

        for name, e in [("ingest", ep["in"]), ("aggregate", ep["agg"]), ("query", ep["q"])]:
            check(f"{name} still answers ping", wait_pong(ctx, e, deadline=10))
        status = request(ctx, ep["in"], "status")
        check("the ingest log did not move", status["body"]["positions"].get(stream) == last, str(status)[:300])
        after = request(ctx, ep["q"], "snapshot", {"prefix": "figure."})["body"]["figures"]
        key = lambda f: (f["entity"]["id"], f["period"])
        check("every figure is what it was", {key(f): (f["units"], f["basis"], f["qualifier"]) for f in before}
              == {key(f): (f["units"], f["basis"], f["qualifier"]) for f in after})
        check("every service still running", all(p.poll() is None for p in procs),
              str([p.poll() for p in procs]))
    finally:
        status = finish(procs, ctx, work, check)
    return status

if __name__ == "__main__":
    sys.exit(main())
