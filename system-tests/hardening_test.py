#!/usr/bin/env python3
"""Hostile requests, poisoned logs and unlucky operators, against the real executables on loopback.

One check per item of the hardening issue: a request that crashed ingest, reports that poisoned the
aggregate and the replicas, unreadable log rows, start-up failures that hung, a second ingest on one
data dir, slow stops, parked queries and snapshot floods, idle-connection floods under a small
file limit, catalog puts at size, a large CSV, a log that cannot be written, a refused CURVE key,
bad settings, CSV errors, far-off dates and colliding catalog names. Prints 'N passed, M failed'.
"""
import json, os, resource, shutil, signal, socket, sqlite3, subprocess, sys, tempfile, time
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, eventually, free_port, run_parts, start_stack  # noqa: E402

check = Tally()
CTX = zmq.Context()
SAMPLE = os.path.join(ROOT, "samples", "hima-2025-05.json")


def request(endpoint, type_, body, timeout=10_000, rid="r"):
    s = CTX.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    try:
        s.send_multipart([b"", json.dumps({"v": 1, "type": type_, "id": rid, "body": body}).encode()])
        if not s.poll(timeout):
            return None
        return json.loads(s.recv_multipart()[-1])
    finally:
        s.close()


def pong(endpoint):
    reply = request(endpoint, "ping", {}, timeout=500)
    return reply is not None and reply["type"] == "pong"


def status(endpoint):
    reply = request(endpoint, "status", {}, timeout=5000)
    return reply["body"] if reply and reply["type"] == "status.result" else {}


def units(ep, entity, period, after=None):
    body = {"entity": entity, "period": period}
    if after:
        body["after"] = after
    reply = request(ep["q"], "units", body)
    return reply["body"].get("units") if reply and reply["type"] == "units.result" else reply


def report(model="AITO M9", period="2025-05", units_=1, **extra):
    return dict({"source": "CPCA", "period": period, "model": model, "units": units_}, **extra)


def submit(ep, reports):
    return request(ep["in"], "submit", {"reports": reports})


def after_of(ack):
    out = {}
    for a in ack["body"]["accepted"]:
        out[a["stream"]] = max(out.get(a["stream"], 0), a["seq"])
    return out


class Stack:
    """ingest, aggregate and query as processes, with the sample's catalog put."""

    def __init__(self, bin_dir, name, extra=None, catalog=True):
        self.bin = bin_dir
        self.work = tempfile.mkdtemp(prefix=f"delivery-hard-{name}-")
        self.procs, self.ep = start_stack(bin_dir, self.work, name, log_level="info", extra=extra)
        ok = eventually(lambda: all(pong(self.ep[k]) for k in ["in", "agg", "q"]), 60)
        check(f"{name}: the stack starts", ok)
        if catalog:
            sample = json.load(open(SAMPLE))
            put = request(self.ep["in"], "catalog.put", sample["catalog"])
            check(f"{name}: catalog put", put and put["type"] == "catalog.ok", put)

    def log(self, service):
        return open(os.path.join(self.work, f"delivery-{service}.log"), errors="replace").read()

    def stop(self):
        codes = []
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                codes.append(p.wait(timeout=15))
            except subprocess.TimeoutExpired:
                p.kill()
                codes.append("timeout")
        check("clean exit on SIGTERM", codes == [0] * len(codes), codes)
        if not check.failed:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"logs in {self.work}", file=sys.stderr)


def start_one(bin_dir, exe, env, work, name):
    log = open(os.path.join(work, name + ".log"), "w")
    return subprocess.Popen([os.path.join(bin_dir, exe)], env=dict(os.environ, DELIVERY_INSTANCE=name, **env),
                            stdout=log, stderr=log)


def exits_nonzero(proc, within):
    try:
        return proc.wait(timeout=within) != 0
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


# 1, 2, 15, 16: what one request or one report could do

def requests_and_reports(bin_dir):
    st = Stack(bin_dir, "requests")
    ep = st.ep
    ack = submit(ep, [report(units_=10, reportedAt="2025-06-01T00:00:00.1234Z")])
    check("1: a reportedAt with 4 fraction digits is stored", ack and ack["type"] == "submit.ok", ack)
    ack = submit(ep, [report(model="AITO M8", units_=11, reportedAt="2025-06-01T00:00:00.123456789+08:00")])
    check("1: and with 9 digits and an offset", ack and ack["type"] == "submit.ok", ack)
    check("1: ingest still answers", pong(ep["in"]))
    for value in [9223372036854775807, 5 * 10 ** 18, 1_000_000_001]:
        reply = submit(ep, [report(units_=value)])
        check(f"2: units {value} is refused", reply and reply["body"].get("code") == "invalid_report"
              and reply["body"]["details"].get("field") == "units", reply)
    for text in ["0000-01-01T00:00:00Z", "9999-12-31T00:00:00Z"]:
        reply = submit(ep, [report(reportedAt=text)])
        check(f"15: reportedAt {text} is refused", reply and reply["body"].get("code") == "invalid_report"
              and "reportedAt" in reply["body"]["message"], reply)
    alias = request(ep["in"], "catalog.put", {"brands": [{"id": "copycat", "name": "Copycat", "group": "hima",
                                                          "aliases": ["AITO"]}]})
    check("16: an alias taking another brand's name is refused", alias and alias["body"].get("code") == "invalid_report"
          and "AITO" in alias["body"]["message"], alias)
    ack = submit(ep, [report(brand="AITO", model=None, units_=36625, id="aito-total")])
    check("16: reports naming AITO still resolve", ack and ack["type"] == "submit.ok", ack)
    got = units(ep, {"brand": "AITO"}, "2025-05", after=after_of(ack)) if ack and ack["type"] == "submit.ok" else None
    check("2: figures flow after the refusals", got == 36625, got)
    st.stop()


# 2, 3: a poisoned log (rows written before the limits, damaged rows) never stops a follower

def poisoned_log(bin_dir):
    st = Stack(bin_dir, "poison")
    ep = st.ep
    ack = submit(ep, [report(model="AITO M9", units_=100, id="good-1"), report(model="AITO M8", units_=200, id="good-2"),
                      report(model="AITO M7", units_=300, id="good-3")])
    check("3: three reports stored", ack and ack["type"] == "submit.ok", ack)
    # The stored reports as the ingest's JSON replay shows them (the log itself keeps a binary form).
    replayed = request(ep["in"], "replay", {"from": 1, "limit": 10})
    as_json = {e["report"]["id"]: e["report"] for e in replayed["body"]["events"] if e.get("report")}
    check("3: the JSON replay shows the stored reports", set(as_json) >= {"good-1", "good-2", "good-3"}, replayed)
    for p in st.procs:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=15)
    db = sqlite3.connect(os.path.join(st.work, "ingest", "ingest.sqlite"))
    seqs = {rid: seq for rid, seq in db.execute("SELECT reportId, seq FROM events WHERE reportId IS NOT NULL")}
    # An acknowledged report from before the units limit (as an older ingest stored it, in JSON) ...
    row = dict(as_json["good-1"])
    row["units"] = 9223372036854775807
    db.execute("UPDATE events SET payload = ?, payloadHash = NULL WHERE seq = ?", (json.dumps(row).encode(), seqs["good-1"]))
    # ... one whose bytes no longer parse, and one altered behind its hash.
    db.execute("UPDATE events SET payload = ?, payloadHash = NULL WHERE seq = ?", (b"{\"id\": \"good-2\", garbage", seqs["good-2"]))
    payload, = db.execute("SELECT payload FROM events WHERE seq = ?", (seqs["good-3"],)).fetchone()
    db.execute("UPDATE events SET payload = ? WHERE seq = ?", (payload[:-1] + bytes([payload[-1] ^ 1]), seqs["good-3"]))
    db.commit()
    db.close()
    # Same ports as before: restart each process with its old environment.
    procs = []
    for exe, variables in [("delivery-ingest", dict(DELIVERY_INGEST_BIND=ep["in"], DELIVERY_INGEST_PUBLISH=ep["inpub"],
                                                  DELIVERY_DATA_DIR=os.path.join(st.work, "ingest"))),
                           ("delivery-aggregate", dict(DELIVERY_AGGREGATE_PUBLISH=ep["aggpub"], DELIVERY_AGGREGATE_BIND=ep["agg"],
                                                       DELIVERY_INGEST_ENDPOINTS=ep["in"], DELIVERY_INGEST_FEEDS=ep["inpub"],
                                                       DELIVERY_DATA_DIR=os.path.join(st.work, "aggregate"))),
                           ("delivery-query", dict(DELIVERY_QUERY_BIND=ep["q"], DELIVERY_QUERY_PUBLISH=ep["qpub"],
                                                   DELIVERY_AGGREGATE_ENDPOINTS=ep["agg"], DELIVERY_AGGREGATE_FEEDS=ep["aggpub"]))]:
        procs.append(start_one(bin_dir, exe, variables, st.work, exe))
    st.procs, st.ep = procs, ep
    check("2/3: the stack is ready over a poisoned log", eventually(lambda: all(pong(ep[k]) for k in ["in", "agg", "q"]), 60))
    agg = status(ep["agg"])
    reasons = {e["seq"]: e["reason"] for e in agg.get("setAside", [])}
    check("2: the out-of-range report is set aside by name", seqs["good-1"] in reasons and "units" in reasons[seqs["good-1"]], agg)
    check("3: the unparsable row is set aside by name", seqs["good-2"] in reasons and "parse" in reasons[seqs["good-2"]], agg)
    check("3: the row altered behind its hash is set aside", seqs["good-3"] in reasons and "hash" in reasons[seqs["good-3"]], agg)
    check("3: status counts them", agg.get("counts", {}).get("setAside") == 3, agg.get("counts"))
    check("3: ingest counts its unreadable rows", status(ep["in"]).get("counts", {}).get("unreadable") == 2)
    check("3: the altered figure is not served", units(ep, {"model": "AITO M7"}, "2025-05") != 999)
    ack = submit(ep, [report(model="AITO M9", period="2025-04", units_=7, id="after-poison")])
    got = units(ep, {"model": "AITO M9"}, "2025-04", after=after_of(ack)) if ack and ack["type"] == "submit.ok" else ack
    check("2/3: reports acknowledged afterwards become visible", got == 7, got)
    log = st.log("aggregate")
    check("3: the aggregate log names the stream and seq", f"seq={seqs['good-2']}" in log and "set aside" in log)
    check("3: no flood of log lines", log.count("\n") < 200, log.count("\n"))
    st.stop()


# 4, 5, 13: start-up failures exit, quickly and loudly

def start_failures(bin_dir):
    work = tempfile.mkdtemp(prefix="delivery-hard-start-")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    in_ep = f"tcp://127.0.0.1:{free_port()}"
    cases = [
        ("4: aggregate with its ROUTER port taken", "delivery-aggregate",
         dict(DELIVERY_AGGREGATE_BIND=f"tcp://127.0.0.1:{port}", DELIVERY_AGGREGATE_PUBLISH=f"tcp://127.0.0.1:{free_port()}"),
         "Address already in use"),
        ("4: query with its ROUTER port taken", "delivery-query",
         dict(DELIVERY_QUERY_BIND=f"tcp://127.0.0.1:{port}", DELIVERY_QUERY_PUBLISH=f"tcp://127.0.0.1:{free_port()}"),
         "Address already in use"),
        ("4: aggregate with a malformed upstream key", "delivery-aggregate",
         dict(DELIVERY_AGGREGATE_BIND=f"tcp://127.0.0.1:{free_port()}", DELIVERY_AGGREGATE_PUBLISH=f"tcp://127.0.0.1:{free_port()}",
              DELIVERY_INGEST_PUBLIC_KEY="not-a-key"), "DELIVERY_INGEST_PUBLIC_KEY"),
        ("13: DELIVERY_MAX_BATCH=0", "delivery-ingest", dict(DELIVERY_MAX_BATCH="0", DELIVERY_INGEST_BIND=in_ep), "DELIVERY_MAX_BATCH"),
        ("13: DELIVERY_MAX_BATCH=abc", "delivery-ingest", dict(DELIVERY_MAX_BATCH="abc", DELIVERY_INGEST_BIND=in_ep), "DELIVERY_MAX_BATCH"),
        ("13: DELIVERY_MAX_BATCH=-5", "delivery-ingest", dict(DELIVERY_MAX_BATCH="-5", DELIVERY_INGEST_BIND=in_ep), "DELIVERY_MAX_BATCH"),
        ("13: DELIVERY_PUBLISH_HWM=lots", "delivery-query", dict(DELIVERY_PUBLISH_HWM="lots"), "DELIVERY_PUBLISH_HWM"),
        ("13: endpoints and feeds of different lengths", "delivery-aggregate",
         dict(DELIVERY_INGEST_ENDPOINTS="tcp://127.0.0.1:1,tcp://127.0.0.1:2", DELIVERY_INGEST_FEEDS="tcp://127.0.0.1:3"),
         "DELIVERY_INGEST_FEEDS"),
        ("13: an endpoint with no port", "delivery-query", dict(DELIVERY_AGGREGATE_ENDPOINTS="tcp://127.0.0.1"),
         "DELIVERY_AGGREGATE_ENDPOINTS"),
        ("13: an unknown log level", "delivery-ingest", dict(DELIVERY_LOG_LEVEL="loud"), "DELIVERY_LOG_LEVEL"),
    ]
    for name, exe, env, expected in cases:
        env = dict(env, DELIVERY_DATA_DIR=os.path.join(work, "d-" + str(abs(hash(name)))))
        started = time.monotonic()
        proc = start_one(bin_dir, exe, env, work, "case")
        ok = exits_nonzero(proc, 10)
        log = open(os.path.join(work, "case.log"), errors="replace").read()
        check(f"{name}: exits non-zero within 10 s", ok, f"{time.monotonic() - started:.1f}s")
        check(f"{name}: says why", expected in log, log[-400:])
    taken.close()

    data = os.path.join(work, "shared")
    first = start_one(bin_dir, "delivery-ingest", dict(DELIVERY_DATA_DIR=data, DELIVERY_INGEST_BIND=f"tcp://127.0.0.1:{free_port()}",
                                                       DELIVERY_INGEST_PUBLISH=f"tcp://127.0.0.1:{free_port()}"), work, "first")
    first_ep = f"tcp://127.0.0.1:{free_port()}"
    check("5: the first ingest starts", eventually(lambda: os.path.exists(os.path.join(data, "ingest.sqlite")), 30))
    second = start_one(bin_dir, "delivery-ingest", dict(DELIVERY_DATA_DIR=data, DELIVERY_INGEST_BIND=first_ep,
                                                        DELIVERY_INGEST_PUBLISH=f"tcp://127.0.0.1:{free_port()}"), work, "second")
    check("5: a second ingest on the same data dir exits non-zero", exits_nonzero(second, 10))
    log = open(os.path.join(work, "second.log")).read()
    check("5: and says the data dir is in use", "in use by another ingest" in log, log[-300:])
    check("5: the first is unharmed", first.poll() is None)
    first.send_signal(signal.SIGTERM)
    check("5: the first stops cleanly", first.wait(timeout=10) == 0)
    if not check.failed:
        shutil.rmtree(work, ignore_errors=True)


# 6, 7: slow stops, parked queries, snapshot floods

def floods(bin_dir):
    st = Stack(bin_dir, "floods", extra={"query": dict(DELIVERY_MAX_WAITING_BYTES=str(2 << 20))})
    ep = st.ep
    sample = json.load(open(SAMPLE))
    ack = submit(ep, sample["reports"])
    check("7: sample stored", ack and ack["type"] == "submit.ok")
    units(ep, {"group": "HIMA"}, "2025-05", after=after_of(ack))
    # Parked queries of 256 KiB each, waiting for a position that never comes.
    s = CTX.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(ep["q"])
    pad = "x" * (256 << 10)
    for i in range(20):
        s.send_multipart([b"", json.dumps({"v": 1, "type": "units", "id": f"p{i}", "body": {
            "entity": {"group": "HIMA"}, "period": "2025-05", "after": {"nowhere": 1}, "timeoutMs": 30000, "pad": pad}}).encode()])
    replies = []
    while s.poll(3000):
        replies.append(json.loads(s.recv_multipart()[-1]))
    busy = [r for r in replies if r["body"].get("code") == "busy"]
    check("7: parked queries past the byte limit are refused with busy", len(busy) >= 10, [r["body"].get("code") for r in replies])
    check("7: busy says when to ask again", busy and busy[0]["body"]["details"].get("retryAfterMs", 0) > 0)
    check("7: the replica still answers others", units(ep, {"group": "HIMA"}, "2025-05") == 44454)
    check("7: status shows the bytes held", 0 < status(ep["q"])["counts"]["waitingBytes"] <= 2 << 20)
    s.close()
    # One client asking for snapshot after snapshot without reading.
    s = CTX.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(ep["q"])
    for i in range(50):
        s.send_multipart([b"", json.dumps({"v": 1, "type": "snapshot", "id": f"s{i}", "body": {}}).encode()])
    replies = []
    while s.poll(3000):
        replies.append(json.loads(s.recv_multipart()[-1]))
    kinds = [r["type"] if r["type"] != "error" else r["body"]["code"] for r in replies]
    check("7: a snapshot flood from one client gets a burst of snapshots, the rest busy",
          1 <= kinds.count("snapshot.result") <= 6 and kinds.count("busy") >= 44 and len(kinds) == 50, kinds)
    s.close()
    # Snapshot requests queued at the aggregate, then SIGTERM: stops within a second or two.
    s = CTX.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(ep["agg"])
    for i in range(300):
        s.send_multipart([b"", json.dumps({"v": 1, "type": "snapshot", "id": f"a{i}", "body": {}}).encode()])
    agg = st.procs[1]
    # The first replies show the requests have arrived and are being served one a turn.
    check("6: snapshots are being answered", s.poll(10000))
    started = time.monotonic()
    agg.send_signal(signal.SIGTERM)
    try:
        code = agg.wait(timeout=5)
    except subprocess.TimeoutExpired:
        code = "timeout"
    took = time.monotonic() - started
    check("6: the aggregate stops within 5 s (compose waits 10) with snapshots queued", code == 0 and took < 5, f"{code} after {took:.2f}s")
    s.close()
    for p in [st.procs[0], st.procs[2]]:
        p.send_signal(signal.SIGTERM)
        check("6: clean exit", p.wait(timeout=10) == 0)
    shutil.rmtree(st.work, ignore_errors=True)


# 8: idle connections under a small file limit

def connection_flood(bin_dir):
    def small_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    work = tempfile.mkdtemp(prefix="delivery-hard-fd-")
    q = f"tcp://127.0.0.1:{free_port()}"
    port = int(q.rsplit(":", 1)[1])
    log = open(os.path.join(work, "query.log"), "w")
    proc = subprocess.Popen([os.path.join(bin_dir, "delivery-query")], preexec_fn=small_limit, stdout=log, stderr=log,
                            env=dict(os.environ, DELIVERY_QUERY_BIND=q, DELIVERY_QUERY_PUBLISH=f"tcp://127.0.0.1:{free_port()}",
                                     DELIVERY_AGGREGATE_ENDPOINTS=f"tcp://127.0.0.1:{free_port()}",
                                     DELIVERY_AGGREGATE_FEEDS=f"tcp://127.0.0.1:{free_port()}", DELIVERY_INSTANCE="fd"))
    check("8: the replica answers (unavailable: no aggregate)", eventually(lambda: request(q, "ping", {}, 500) is not None, 30))
    idle = []
    for _ in range(400):
        try:
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            break
    reply = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and reply is None:
        reply = request(q, "status", {}, timeout=1000)
    check("8: with 400 idle connections open, a new client is still answered", reply is not None)
    counts = reply["body"]["counts"] if reply else {}
    check("8: status counts the connections closed at the cap", counts.get("refusedConnections", 0) > 0, counts)
    t0 = time.monotonic()
    stat0 = open(f"/proc/{proc.pid}/stat").read().split()
    time.sleep(1.0)  # a measurement window, not a synchronisation
    stat1 = open(f"/proc/{proc.pid}/stat").read().split()
    ticks = (int(stat1[13]) + int(stat1[14])) - (int(stat0[13]) + int(stat0[14]))
    busy = ticks / os.sysconf("SC_CLK_TCK") / (time.monotonic() - t0)
    check("8: the replica does not spin", busy < 0.5, f"{busy:.0%} CPU")
    for c in idle:
        c.close()
    proc.send_signal(signal.SIGTERM)
    check("8: clean exit", proc.wait(timeout=10) == 0)
    text = open(os.path.join(work, "query.log")).read()
    check("8: the cap is logged", "connection limit reached" in text, text[-300:])
    if not check.failed:
        shutil.rmtree(work, ignore_errors=True)


# 9, 10, 14: catalogs at size, a large CSV, CSV errors

def files_and_catalogs(bin_dir):
    st = Stack(bin_dir, "files")
    ep = st.ep
    cli = os.path.join(bin_dir, "deliveries")
    models = [{"id": f"m{i:05d}", "name": f"Model {i:05d}", "brand": "aito"} for i in range(20000)]
    put = request(ep["in"], "catalog.put", {"models": models}, timeout=60000)
    check("9: a catalog of 20,000 models is taken", put and put["type"] == "catalog.ok", put)
    sub = CTX.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"catalog.")
    sub.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
    sub.connect(ep["qpub"])
    check("9: subscribed", eventually(lambda: sub.poll(100) and sub.recv_multipart() is not None, 10))
    put = request(ep["in"], "catalog.put", {"models": [{"id": "one-more", "name": "One More", "brand": "aito"}]})
    check("9: a one-model put is taken", put and put["type"] == "catalog.ok", put)
    event = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and event is None:
        if sub.poll(200):
            topic, payload = sub.recv_multipart()
            if topic.startswith(b"catalog.") and b"one-more" in payload:
                event = payload
    check("9: its catalog.accepted carries the change only", event is not None and len(event) < 2000
          and b"one-more" in event, len(event) if event else None)
    sub.close()
    ack = submit(ep, [report(model="One More", units_=5, id="one-more-5")])
    check("9: the new model resolves", ack and ack["type"] == "submit.ok", ack)

    work = st.work
    big = os.path.join(work, "big.csv")
    rows = 60000
    with open(big, "w") as f:
        f.write("source,period,model,units,note\n")
        for i in range(rows):
            f.write(f"CPCA,{2000 + i // 12 % 25}-{i % 12 + 1:02d},Model {i // 300:05d},{i % 997},{'n' * 300}\n")
    size = os.path.getsize(big)
    def peak_kib(*argv):
        # A fresh interpreter whose only child is the CLI: its children's peak is the CLI's.
        code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(r.returncode); print(r.stdout); "
                "print(r.stderr, file=sys.stderr)")
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=600)
        lines = out.stdout.split("\n")
        return int(lines[0]), int(lines[1]), "\n".join(lines[2:]), out.stderr

    small = os.path.join(work, "small.csv")
    with open(small, "w") as f:
        f.write("source,period,model,units\nCPCA,2001-01,Model 00001,1\n")
    base_kib, _, _, _ = peak_kib(cli, "submit", small, "--ingest", ep["in"])
    peak, code, stdout, stderr = peak_kib(cli, "submit", big, "--ingest", ep["in"], "--batch", "1000")
    check("10: a large CSV is submitted", code == 0 and f"submitted {rows} reports" in stdout, stderr[-300:])
    check("10: in a fraction of the file's size", (peak - base_kib) * 1024 < size // 2,
          f"peak {peak} KiB (a one-line file: {base_kib} KiB) for a {size >> 20} MiB file")

    def submit_file(name, text, mode="w"):
        path = os.path.join(work, name)
        with open(path, mode) as f:
            f.write(text)
        return subprocess.run([cli, "submit", path, "--ingest", ep["in"]], capture_output=True, text=True, timeout=60)

    out = submit_file("open.csv", "source,period,model,units\nCPCA,2025-03,AITO M9,1\nCPCA,2025-03,\"AITO M9,2\nCPCA,2025-02,AITO M9,3\n")
    check("14: an unclosed quote fails with its line", out.returncode != 0 and "line 3" in out.stderr and "never closed" in out.stderr,
          out.stderr)
    out = submit_file("latin1.csv", b"source,period,model,units\nCPCA,2025-03,AITO M9,1\nCPCA,2025-03,Mod\xe8le,2\n", "wb")
    check("14: bytes that are not UTF-8 fail with their line", out.returncode != 0 and "line 3" in out.stderr and "UTF-8" in out.stderr,
          out.stderr)
    out = submit_file("decimal.csv", "\ufeffsource,period,model,units\r\nCPCA,2025-01,AITO M9,15481.0\r\n")
    check("14: 15481.0 is taken as in JSON (with a BOM and CRLF)", out.returncode == 0, out.stderr)
    out = submit_file("fraction.csv", "source,period,model,units\nCPCA,2025-01,AITO M9,15481.5\n")
    check("14: 15481.5 is refused with its line", out.returncode != 0 and "line 2" in out.stderr, out.stderr)
    out = submit_file("ts.csv", "source,period,model,units,reportedAt\nX,2024-12,AITO M9,3,2025-01-01T00:00:00.1234Z\n")
    check("1: a CSV reportedAt with 4 fraction digits is taken", out.returncode == 0, out.stderr)
    check("1: ingest still answers", pong(ep["in"]))
    st.stop()


# 11: a log that cannot be written

def unwritable(bin_dir):
    st = Stack(bin_dir, "full", extra={"ingest": dict()})
    ep = st.ep
    ack = submit(ep, [report(units_=1, id="before")])
    check("11: a write before", ack and ack["type"] == "submit.ok")
    ingest = st.procs[0]
    ingest.send_signal(signal.SIGTERM)
    ingest.wait(timeout=10)

    def small_files():
        # Files may grow to 48 KiB: enough to open the log (its shared-memory index is 32 KiB) and
        # take a few writes, then every write fails as on a full disk.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (48 << 10, 48 << 10))

    # Its log goes to a pipe: a log file could not grow either.
    st.procs[0] = subprocess.Popen([os.path.join(bin_dir, "delivery-ingest")], preexec_fn=small_files, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE,
                                   env=dict(os.environ, DELIVERY_INSTANCE="full", DELIVERY_INGEST_BIND=ep["in"],
                                            DELIVERY_INGEST_PUBLISH=ep["inpub"], DELIVERY_DATA_DIR=os.path.join(st.work, "ingest")))
    check("11: ingest answers", eventually(lambda: request(ep["in"], "ping", {}, 500) is not None, 30))
    refused = None
    stored = 0
    for i in range(200):
        reply = submit(ep, [report(units_=2, id=f"during-{i}", period="2024-01", note="n" * 2000)])
        if reply and reply["type"] == "submit.ok":
            stored += 1
            continue
        refused = reply
        break
    check("11: a write that cannot be stored is unavailable, not internal", refused and refused["body"].get("code") == "unavailable"
          and "internal" not in refused["body"]["message"], (stored, refused))
    body = status(ep["in"])
    check("11: status says it cannot write, and why", body.get("ready") is False and "cannot write" in (body.get("problem") or ""),
          body.get("problem"))
    ping = request(ep["in"], "ping", {})
    check("11: ping says it is not ready", ping and ping["body"].get("code") == "unavailable", ping)
    got = units(ep, {"model": "AITO M9"}, "2024-01", after={body["streams"][0]: body["positions"][body["streams"][0]]}) if body else None
    check("11: what was acknowledged is counted, the refused write is not", got == 2 * stored if stored else got is not None, (got, stored))
    st.procs[0].send_signal(signal.SIGTERM)
    check("11: clean exit", st.procs[0].wait(timeout=10) == 0)
    err = st.procs[0].stderr.read().decode(errors="replace")
    check("11: the ingest log says why", "cannot be written" in err, err[-400:])
    del st.procs[0]
    st.stop()


# 12: a refused CURVE key is logged and shown

def refused_key(bin_dir):
    work = tempfile.mkdtemp(prefix="delivery-hard-curve-")
    cli = os.path.join(bin_dir, "deliveries")
    keys = {}
    for name in ["ingest", "aggregate", "other"]:
        path = os.path.join(work, name + ".key")
        subprocess.run([cli, "keygen", path], check=True, capture_output=True)
        keys[name] = path

    def public(path):
        return next(l.split("=", 1)[1].strip() for l in open(path + ".pub") if l.startswith("public-key"))

    clients = os.path.join(work, "clients")
    open(clients, "w").write(public(keys["other"]) + "\n")  # the aggregate is not on the list
    procs, ep = start_stack(bin_dir, work, "curve", log_level="info", extra={
        "ingest": dict(DELIVERY_CURVE_KEY_FILE=keys["ingest"], DELIVERY_CURVE_CLIENTS=clients),
        "aggregate": dict(DELIVERY_INGEST_PUBLIC_KEY=public(keys["ingest"])),
    })
    ok = eventually(lambda: any(v.startswith("handshake failed") for v in (status(ep["agg"]).get("links") or {}).values()), 30)
    body = status(ep["agg"])
    check("12: status shows the refused upstream link", ok, body.get("links"))
    check("12: status says what is wrong", "handshake failed" in (body.get("problem") or ""), body.get("problem"))
    log = open(os.path.join(work, "delivery-aggregate.log")).read()
    check("12: the aggregate logs the refused handshake", "refused the handshake" in log, log[-500:])
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        check("12: clean exit", p.wait(timeout=10) == 0)
    if not check.failed:
        shutil.rmtree(work, ignore_errors=True)


def main():
    return run_parts([requests_and_reports, poisoned_log, start_failures, floods, connection_flood, files_and_catalogs, unwritable,
                      refused_key], check, CTX)


if __name__ == "__main__":
    sys.exit(main())
