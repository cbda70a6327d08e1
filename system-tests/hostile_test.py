#!/usr/bin/env python3
"""Hostile input, third round, against real executables on loopback: a forged checkpoint that
passes its hash, long request lines and headers on the HTTP edges, unknown request types against
the metrics, peers that answer `status`, `report.batch` and `snapshot` with what the services do
not accept, an idle stack watched for a minute by the page, and the CLI given directories, FIFOs,
huge files and a flooding feed. Each part names the item of the issue it shows. Prints
'N passed, M failed'.

    hostile_test.py [--bin DIR] [part ...]"""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import ROOT, Tally, eventually, free_port, http_get, run_parts, start_stack  # noqa: E402

import zmq  # noqa: E402

CTX = zmq.Context()
SAMPLE = os.path.join(ROOT, "samples", "hima-2025-05.json")
check = Tally()


def request(endpoint, type_, body=None, timeout=5000):
    """One request on a fresh DEALER; the parsed reply, or None after `timeout` ms."""
    return support.request(CTX, endpoint, type_, body, timeout)


def units(endpoint, entity, period):
    reply = request(endpoint, "units", {"entity": entity, "period": period})
    return reply["body"].get("units") if reply and reply["type"] == "units.result" else None


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def lines(path):
    with open(path, errors="replace") as f:
        return f.read().count("\n")


def stop(procs, name):
    """SIGTERM each process; each must exit 0 within 10 s."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=10))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append("timeout")
    check(f"{name}: clean exit on SIGTERM", all(c == 0 for c in codes), codes)


def finish(work, procs, name, *peers):
    """Stops the services (each must exit 0), closes the fake peers, and removes the work folder
    of a run that passed (a failed one keeps its logs)."""
    stop(procs, name)
    for peer in peers:
        peer.close()
    if not check.failed:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"logs in {work}", file=sys.stderr)


def service(bin_dir, exe, env, work, name):
    log = open(os.path.join(work, name + ".log"), "a")
    return subprocess.Popen([os.path.join(bin_dir, exe)], env=dict(os.environ, DELIVERY_LOG_LEVEL="info", **env), stdout=log, stderr=log)


def loaded_stack(bin_dir, work, name, extra=None):
    """ingest, aggregate and query with the sample submitted and visible; (procs, endpoints)."""
    procs, ep = start_stack(bin_dir, work, name, log_level="info", extra=extra)
    check(f"{name}: the stack starts", eventually(lambda: all(request(ep[k], "ping", timeout=500) for k in ["in", "agg", "q"]), 60))
    sample = json.load(open(SAMPLE))
    put = request(ep["in"], "catalog.put", sample["catalog"])
    ack = request(ep["in"], "submit", {"reports": sample["reports"]})
    check(f"{name}: sample stored", put and ack and ack["type"] == "submit.ok", ack)
    check(f"{name}: sample visible", eventually(lambda: units(ep["q"], {"group": "HIMA"}, "2025-05") == 44454, 30))
    return procs, ep


# 1: a checkpoint that passes its hash, with a count past what an Int holds

def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data, offset):
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7


def fnv1a(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def forge(path, skipped):
    """Rewrites the checkpoint's `skipped` count and seals it again (header, FNV-1a trailer)."""
    data = open(path, "rb").read()
    header, body = data[:5], data[5:-8]
    offset = 0
    groups, offset = read_varint(body, offset)
    for _ in range(groups):
        length, offset = read_varint(body, offset)
        offset += length
    positions, offset = read_varint(body, offset)
    for _ in range(positions):
        length, offset = read_varint(body, offset)
        offset += length
        _, offset = read_varint(body, offset)
    _, end = read_varint(body, offset)
    body = body[:offset] + varint(skipped) + body[end:]
    with open(path, "wb") as f:
        f.write(header + body + fnv1a(body).to_bytes(8, "little"))


def forged_checkpoint(bin_dir):
    work = tempfile.mkdtemp(prefix="delivery-hostile-ckpt-")
    procs, ep = loaded_stack(bin_dir, work, "forge")
    aggregate = procs[1]
    aggregate.send_signal(signal.SIGTERM)
    check("1: the aggregate stops and saves its checkpoint", aggregate.wait(timeout=15) == 0)
    path = os.path.join(work, "aggregate", "aggregate-forge.checkpoint")
    check("1: the checkpoint exists", os.path.exists(path))
    forge(path, 1 << 63)
    env = dict(DELIVERY_INSTANCE="forge", DELIVERY_AGGREGATE_PUBLISH=ep["aggpub"], DELIVERY_AGGREGATE_BIND=ep["agg"],
               DELIVERY_INGEST_ENDPOINTS=ep["in"], DELIVERY_INGEST_FEEDS=ep["inpub"], DELIVERY_DATA_DIR=os.path.join(work, "aggregate"))
    again = service(bin_dir, "delivery-aggregate", env, work, "delivery-aggregate")
    procs[1] = again
    check("1: the aggregate starts over a forged checkpoint", eventually(lambda: request(ep["agg"], "ping", timeout=500) is not None, 30))
    check("1: the figures come back from the logs", eventually(lambda: units(ep["q"], {"group": "HIMA"}, "2025-05") == 44454, 30))
    check("1: it is still running (no crash loop)", again.poll() is None)
    log = open(os.path.join(work, "delivery-aggregate.log"), errors="replace").read()
    check("1: the log says the checkpoint is ignored and why", "checkpoint cannot be used" in log and "past the largest" in log, log[-600:])
    finish(work, procs, "forge")


# 2: long request lines and headers on the page and on /metrics

def raw_http(port, payload, timeout=10):
    """Sends `payload` on one connection (from a thread, as a client still sending would) and
    reads until the server closes; (seconds to the first byte of the reply, the reply)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    started = time.monotonic()

    def send():
        try:
            s.sendall(payload)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    reply, first = b"", None
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            if first is None:
                first = time.monotonic() - started
            reply += chunk
    except OSError:
        pass
    s.close()
    sender.join(timeout=5)
    return (first if first is not None else time.monotonic() - started), reply


def status_of(reply):
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def long_requests(bin_dir):
    work = tempfile.mkdtemp(prefix="delivery-hostile-http-")
    metrics = free_port()
    web = free_port()
    procs, ep = loaded_stack(bin_dir, work, "longline", extra={"aggregate": {"DELIVERY_METRICS_BIND": f"127.0.0.1:{metrics}"}})
    page = service(bin_dir, "delivery-web", dict(DELIVERY_WEB_BIND=f"127.0.0.1:{web}", DELIVERY_ENDPOINT=ep["q"], DELIVERY_FEED=ep["qpub"]),
                   work, "delivery-web")
    check("2: the page and /metrics answer", eventually(lambda: http_get(web, "/healthz")[0] == 200 and http_get(metrics, "/healthz")[0] == 200, 30))
    hostile = {
        "a 64 KB request line": b"GET /api/units?group=" + b"A" * (64 << 10) + b"&period=2025-05 HTTP/1.1\r\nHost: x\r\n\r\n",
        "a 1 MB request line": b"GET /api/units?group=" + b"A" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "a 1 MB header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"B" * (1 << 20) + b"\r\n\r\n",
        "10,000 headers": b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(10000)) + b"\r\n",
    }
    for port, where in [(web, "the page"), (metrics, "/metrics")]:
        for what, payload in hostile.items():
            took, reply = raw_http(port, payload)
            check(f"2: {what} to {where} is refused with 431 at once", status_of(reply) == 431 and took < 2, f"{status_of(reply)} after {took:.2f}s")
        busy = [threading.Thread(target=raw_http, args=(port, hostile["a 1 MB request line"]), daemon=True) for _ in range(8)]
        for t in busy:
            t.start()
        started = time.monotonic()
        code, _ = http_get(port, "/healthz", timeout=5)
        check(f"2: {where} answers /healthz while long lines arrive", code == 200 and time.monotonic() - started < 2, code)
        for t in busy:
            t.join(timeout=10)
    check("2: the page still answers a query", json.loads(http_get(web, "/api/units?group=HIMA&period=2025-05")[1] or b"{}").get("units") == 44454)
    # SIGTERM with connections half-way through their headers and pages listening: out at once.
    held = []
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", web))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        held.append(s)
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", web))
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        held.append(s)
    time.sleep(0.2)  # let the connections be accepted; the check below has its own deadline
    started = time.monotonic()
    page.send_signal(signal.SIGTERM)
    try:
        code = page.wait(timeout=10)
    except subprocess.TimeoutExpired:
        page.kill()
        code = "timeout"
    took = time.monotonic() - started
    check("2: delivery-web stops on SIGTERM within 2 s whatever its connections do", code == 0 and took < 2, f"{code} after {took:.2f}s")
    for s in held:
        s.close()
    finish(work, procs, "longline")


def event_listeners(bin_dir):
    """Held from earlier rounds, on the new HTTP edge: 1,500 `/events` listeners get the cap (the
    rest `busy`), and health still answers at once."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    work = tempfile.mkdtemp(prefix="delivery-hostile-events-")
    web = free_port()
    page = service(bin_dir, "delivery-web", dict(DELIVERY_WEB_BIND=f"127.0.0.1:{web}", DELIVERY_ENDPOINT=f"tcp://127.0.0.1:{free_port()}",
                                                 DELIVERY_FEED=f"tcp://127.0.0.1:{free_port()}"), work, "delivery-web")
    check("2: the page starts", eventually(lambda: http_get(web, "/healthz")[0] == 200, 30))
    held, streams, busy = [], 0, 0
    for _ in range(1500):
        s = socket.create_connection(("127.0.0.1", web))
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        held.append(s)
    for s in held:
        s.settimeout(5)
        try:
            head = s.recv(200)
        except OSError:
            head = b""
        streams += b" 200 " in head
        busy += b" 503 " in head
    check("2: 1,500 listeners: the cap streams, the rest are told busy", streams == 1000 and busy == 500, (streams, busy))
    started = time.monotonic()
    check("2: health answers at once beside them", http_get(web, "/healthz")[0] == 200 and time.monotonic() - started < 1)
    for s in held:
        s.close()
    finish(work, [page], "events")


def unwritable_data_dir(bin_dir):
    """A data dir the service's user cannot write (a fresh root-owned volume): the start fails
    with the real reason and who owns the folder, not the fallback's 'no such file'."""
    if os.geteuid() != 0:
        print("unwritable_data_dir: skipped (needs root, to run the service as another user)")
        return
    work = tempfile.mkdtemp(prefix="delivery-hostile-lock-")
    os.chmod(work, 0o755)
    data = os.path.join(work, "data")
    os.mkdir(data, 0o755)  # root's, as Docker makes an empty volume's folder when the image has none
    env = dict(os.environ, DELIVERY_DATA_DIR=data, DELIVERY_INGEST_BIND=f"tcp://127.0.0.1:{free_port()}",
               DELIVERY_INGEST_PUBLISH=f"tcp://127.0.0.1:{free_port()}")
    try:
        proc = subprocess.run([os.path.join(bin_dir, "delivery-ingest")], env=env, user="nobody", capture_output=True, text=True, timeout=30)
    except (PermissionError, KeyError, OSError) as e:
        print(f"unwritable_data_dir: skipped ({e})")
        return
    out = proc.stdout + proc.stderr
    check("5: an unwritable data dir stops the start", proc.returncode != 0, proc.returncode)
    check("5: with the real reason and the folder's owner", "Permission denied" in out and "uid 0" in out and "No such file" not in out, out[-400:])
    shutil.rmtree(work, ignore_errors=True)


# 3: unknown types cannot grow the metrics

def metric_labels(bin_dir):
    work = tempfile.mkdtemp(prefix="delivery-hostile-metrics-")
    ports = {s: free_port() for s in ["ingest", "aggregate", "query"]}
    extra = {s: {"DELIVERY_METRICS_BIND": f"127.0.0.1:{p}"} for s, p in ports.items()}
    procs, ep = loaded_stack(bin_dir, work, "labels", extra=extra)
    targets = {"ingest": ep["in"], "aggregate": ep["agg"], "query": ep["q"]}
    for name, endpoint in targets.items():
        before = http_get(ports[name], "/metrics")[1].decode()
        s = CTX.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(endpoint)
        sent = 3000
        for i in range(sent):
            kind = f"zz-unknown-{i}" if i % 3 == 0 else "ping"
            s.send_multipart([b"", json.dumps({"v": 1, "type": kind, "id": str(i), "body": {}}).encode()])
        got = 0
        while got < sent and s.poll(10000):
            s.recv_multipart()
            got += 1
        s.close()
        after = http_get(ports[name], "/metrics")[1].decode()
        check(f"3: {name} answered every request", got == sent, got)
        check(f"3: {name}'s /metrics names no client's type", "zz-unknown" not in after)
        check(f"3: {name}'s /metrics stays the same size (series fixed by the code)",
              after.count("\n") <= before.count("\n") + 60, f"{before.count(chr(10))} → {after.count(chr(10))} lines")
        check(f"3: {name} counts them as type=\"unknown\"", 'type="unknown"' in after)
    finish(work, procs, "labels")


# 4 and 7: an ingest that answers with what an ingest does not send

class FakeIngest:
    """A ROUTER that answers `status` (with `status_body`) and everything else with `other`, and a
    PUB on which the test sends what it likes."""

    def __init__(self, status_body, other=None):
        self.router = CTX.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.port = self.router.bind_to_random_port("tcp://127.0.0.1", min_port=10000, max_port=30000)
        self.pub = CTX.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub_port = self.pub.bind_to_random_port("tcp://127.0.0.1", min_port=10000, max_port=30000)
        self.status_body = status_body
        self.other = other
        self.asked = {}
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            if not self.router.poll(100):
                continue
            frames = self.router.recv_multipart()
            try:
                message = json.loads(frames[-1])
            except ValueError:
                continue
            kind = message.get("type")
            self.asked[kind] = self.asked.get(kind, 0) + 1
            if kind == "status":
                reply = {"v": 1, "type": "status.result", "id": message.get("id"), "body": self.status_body}
                self.router.send_multipart(frames[:-1] + [json.dumps(reply).encode()])
            elif self.other is not None:
                reply = {"v": 1, "type": self.other[0], "id": message.get("id"), "body": self.other[1]}
                self.router.send_multipart(frames[:-1] + [json.dumps(reply).encode()] + list(self.other[2:]))

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.router.close()
        self.pub.close()


def aggregate_env(work, name, fake, agg, aggpub):
    return dict(DELIVERY_INSTANCE=name, DELIVERY_AGGREGATE_BIND=agg, DELIVERY_AGGREGATE_PUBLISH=aggpub,
                DELIVERY_INGEST_ENDPOINTS=f"tcp://127.0.0.1:{fake.port}", DELIVERY_INGEST_FEEDS=f"tcp://127.0.0.1:{fake.pub_port}",
                DELIVERY_DATA_DIR=os.path.join(work, "aggregate"))


def spinning_follower(bin_dir):
    work = tempfile.mkdtemp(prefix="delivery-hostile-status-")
    fake = FakeIngest({"nonsense": True, "streams": 7})
    agg = f"tcp://127.0.0.1:{free_port()}"
    proc = service(bin_dir, "delivery-aggregate", aggregate_env(work, "spin", fake, agg, f"tcp://127.0.0.1:{free_port()}"), work, "aggregate")
    check("4: the aggregate answers ping beside a wrong ingest", eventually(lambda: request(agg, "ping", timeout=500) is not None, 30))
    log = os.path.join(work, "aggregate.log")
    lines_before, cpu_before, asked_before = lines(log), cpu_seconds(proc.pid), fake.asked.get("status", 0)
    watched = 10.0
    time.sleep(watched)  # what is measured is what happens over this window
    cpu = (cpu_seconds(proc.pid) - cpu_before) / watched
    check("4: a handful of log lines in 10 s, not thousands", lines(log) - lines_before < 30, lines(log) - lines_before)
    check("4: it does not spin", cpu < 0.2, f"{cpu:.0%} CPU")
    asked = fake.asked.get("status", 0) - asked_before
    check("4: status is asked again after pauses (a few times a second at most)", 1 <= asked <= 40, asked)
    status = request(agg, "status")
    problem = (status or {}).get("body", {}).get("problem") or ""
    check("4: status.problem names the wrong ingest", f"{fake.port}" in problem and "status" in problem, problem)
    finish(work, [proc], "spin", fake)


def malformed_batches(bin_dir):
    work = tempfile.mkdtemp(prefix="delivery-hostile-batch-")
    stream = "ingest-fake-1"
    status_body = {"service": "ingest", "version": "test", "instance": "fake", "streams": [stream], "positions": {stream: 0},
                   "counts": {}, "uptimeSeconds": 1.0, "ready": True, "endpoints": {}}
    # Replays are answered with an attachment that does not read either.
    fake = FakeIngest(status_body, other=("replay.result", {"stream": stream, "encoding": "binary", "last": 5}, b"\xe1\x01\xff\xff\xff"))
    agg = f"tcp://127.0.0.1:{free_port()}"
    proc = service(bin_dir, "delivery-aggregate", aggregate_env(work, "batch", fake, agg, f"tcp://127.0.0.1:{free_port()}"), work, "aggregate")
    check("7: the aggregate follows the fake ingest", eventually(lambda: (request(agg, "ping", timeout=500) or {}).get("type") == "pong", 30))
    bad = [
        b"\xe1\x01" + b"\xff" * 64,                      # a varint that never ends
        b"\xe1\x01" + varint(1 << 40),                   # 2^40 events in a few bytes
        b"\xe1\x01\x01\x01\x00" + varint(1 << 30) + b"x",  # a length past the end
        b"\xe1\x01\x01\x01\x00\x05\xe2\x01\x7f\x7f\x7f",  # a string index out of range
        b"\xe1\x09",                                     # another version
        b"",
    ]
    log = os.path.join(work, "aggregate.log")
    lines_before = lines(log)
    sent = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for attachment in bad:
            sent += 1
            head = {"v": 1, "type": "report.batch", "id": f"{stream}:1", "stream": stream, "seq": 1, "body": {"reports": 1, "first": 1}}
            fake.pub.send_multipart([b"report.", json.dumps(head).encode(), attachment])
        time.sleep(0.01)  # a steady flood, not a busy loop in the test itself
    check("7: the aggregate still answers", (request(agg, "ping", timeout=2000) or {}).get("type") in ("pong", "error"))
    status = (request(agg, "status") or {}).get("body", {})
    check("7: the bad batches are counted", status.get("counts", {}).get("unreadableFeed", 0) > 0, status.get("counts"))
    check("7: and replayed from the log instead (asked, with pauses)", 1 <= fake.asked.get("replay", 0) <= 200, fake.asked)
    added = lines(log) - lines_before
    check(f"7: {sent} bad batches cost a few dozen log lines", added < 60, added)
    check("7: the log names what does not read", "does not read" in open(log, errors="replace").read())
    finish(work, [proc], "batch", fake)


def bad_snapshot_parts(bin_dir):
    """A replica fed `snapshot.part` replies whose figures do not read."""
    work = tempfile.mkdtemp(prefix="delivery-hostile-part-")
    part = {"part": 0, "last": True, "figures": 3, "positions": {"aggregate-fake": 1}, "upstream": {}}
    fake = FakeIngest({"service": "aggregate"}, other=("snapshot.part", part, b"\xd1\x01" + varint(1 << 40)))
    q = f"tcp://127.0.0.1:{free_port()}"
    env = dict(DELIVERY_INSTANCE="part", DELIVERY_QUERY_BIND=q, DELIVERY_QUERY_PUBLISH=f"tcp://127.0.0.1:{free_port()}",
               DELIVERY_AGGREGATE_ENDPOINTS=f"tcp://127.0.0.1:{fake.port}", DELIVERY_AGGREGATE_FEEDS=f"tcp://127.0.0.1:{fake.pub_port}")
    proc = service(bin_dir, "delivery-query", env, work, "query")
    check("7: the replica answers beside a wrong aggregate", eventually(lambda: request(q, "ping", timeout=500) is not None, 30))
    log = os.path.join(work, "query.log")
    lines_before, cpu_before, asked_before = lines(log), cpu_seconds(proc.pid), fake.asked.get("snapshot", 0)
    watched = 8.0
    time.sleep(watched)  # the window measured
    cpu = (cpu_seconds(proc.pid) - cpu_before) / watched
    asked = fake.asked.get("snapshot", 0) - asked_before
    check("7: snapshots asked again after pauses, not in a loop", 1 <= asked <= 40, asked)
    check("7: the replica does not spin", cpu < 0.2, f"{cpu:.0%} CPU")
    check("7: a few log lines", lines(log) - lines_before < 20, lines(log) - lines_before)
    reply = request(q, "units", {"entity": {"group": "HIMA"}, "period": "2025-05"})
    check("7: queries are refused as unavailable, not hung", reply and reply["body"].get("code") == "unavailable", reply)
    finish(work, [proc], "part", fake)


# 5: an idle stack, watched by the page for a minute

def idle_page(bin_dir, seconds=60):
    work = tempfile.mkdtemp(prefix="delivery-hostile-idle-")
    procs, ep = loaded_stack(bin_dir, work, "idle")
    web = free_port()
    page = service(bin_dir, "delivery-web", dict(DELIVERY_WEB_BIND=f"127.0.0.1:{web}", DELIVERY_ENDPOINT=ep["q"], DELIVERY_FEED=ep["qpub"]),
                   work, "delivery-web")

    def state():
        code, body = http_get(web, "/api/state")
        return json.loads(body).get("state") if code == 200 else None

    check("5: the page is live", eventually(lambda: state() == "live", 30))
    seen, not_ready = set(), 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.add(state())
        if http_get(web, "/readyz")[0] != 200:
            not_ready += 1
        time.sleep(0.25)  # a page's polling pace; the loop's length is the deadline
    check(f"5: live for {seconds} s on an idle stack, never stale or lost", seen == {"live"}, seen)
    check("5: /readyz never flaps", not_ready == 0, not_ready)
    finish(work, procs + [page], "idle")


# 6: the CLI given what is not a file of reports

def cli(bin_dir):
    work = tempfile.mkdtemp(prefix="delivery-hostile-cli-")
    deliveries = os.path.join(bin_dir, "deliveries")
    # An ingest nobody runs: every case here must fail (or be refused) before a request is sent.
    env = dict(os.environ, DELIVERY_INGEST=f"tcp://127.0.0.1:{free_port()}", DELIVERY_ENDPOINT=f"tcp://127.0.0.1:{free_port()}")

    def submit(path, timeout=60):
        proc = subprocess.Popen([deliveries, "submit", path, "--timeout", "1000"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        peak = 0
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < timeout:
            try:
                peak = max(peak, rss_kib(proc.pid))
            except OSError:
                pass
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate()
        return proc.returncode, err.decode(errors="replace"), peak, time.monotonic() - started

    code, err, _, _ = submit(work)
    check("6: a directory: 'is a directory'", code != 0 and "is a directory" in err and "NSCocoa" not in err, err)
    fifo = os.path.join(work, "reports.fifo")
    os.mkfifo(fifo)
    code, err, _, took = submit(fifo)
    check("6: a FIFO with no writer fails in seconds, saying so", code != 0 and took < 15 and "pipe" in err, f"{code} {took:.1f}s {err}")
    # A FIFO with a writer (as `<(…)` gives) is read as a file.
    writer = threading.Thread(target=lambda: open(fifo, "w").write("source,period,model,units\nCPCA,2025-05,AITO M9,1\n"), daemon=True)
    writer.start()
    code, err, _, _ = submit(fifo)
    writer.join(timeout=5)
    check("6: a FIFO that is written is read (and the missing ingest reported)", code != 0 and "pipe" not in err and "line" not in err, err)
    huge = os.path.join(work, "huge.json")
    with open(huge, "wb") as f:
        f.write(b"[")
        f.truncate(2 << 30)  # 2 GB, sparse
    code, err, peak, took = submit(huge)
    check("6: a 2 GB JSON file is refused above the stated size", code != 0 and "MiB of JSON" in err and "CSV" in err, err[-300:])
    check("6: without reading it all", peak < 400 * 1024 and took < 30, f"{peak // 1024} MiB peak, {took:.1f}s")
    nul = os.path.join(work, "nul.csv")
    with open(nul, "wb") as f:
        f.truncate(100 << 20)
    code, err, peak, _ = submit(nul)
    check("6: 100 MB of NUL bytes fails with a short message", code != 0 and len(err) < 400 and "line 1" in err, f"{len(err)} bytes: {err[:200]}")
    check("6: and a small memory", peak < 200 * 1024, f"{peak // 1024} MiB")
    column = os.path.join(work, "column.csv")
    with open(column, "wb") as f:
        f.write(b"source,period,model,units," + b"\x00" * 40000 + b"\nCPCA,2025-05,AITO M9,1,x\n")
    code, err, _, _ = submit(column)
    check("6: an unknown column is echoed cut short", code != 0 and "unknown column" in err and len(err) < 400 and "\x00" not in err,
          f"{len(err)} bytes")
    check("6: and its control characters shown escaped", "\\u{0}" in err, err[:200])

    # A publisher that floods: messages of 2 MB, and small ones whose numbering jumps (each asks a resync).
    snap = CTX.socket(zmq.ROUTER)
    snap.setsockopt(zmq.LINGER, 0)
    snap_port = snap.bind_to_random_port("tcp://127.0.0.1", min_port=10000, max_port=30000)
    pub = CTX.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.setsockopt(zmq.SNDHWM, 1000)
    pub_port = pub.bind_to_random_port("tcp://127.0.0.1", min_port=10000, max_port=30000)
    snapshots = [0]
    running = [True]

    def answer():
        while running[0]:
            if snap.poll(50):
                frames = snap.recv_multipart()
                message = json.loads(frames[-1])
                snapshots[0] += 1
                body = {"figures": [], "positions": {"query-flood": 1}}
                snap.send_multipart(frames[:-1] + [json.dumps({"v": 1, "type": "snapshot.result", "id": message["id"], "body": body}).encode()])

    answering = threading.Thread(target=answer, daemon=True)
    answering.start()
    sub_env = dict(os.environ, DELIVERY_ENDPOINT=f"tcp://127.0.0.1:{snap_port}", DELIVERY_FEED=f"tcp://127.0.0.1:{pub_port}")
    err_path = os.path.join(work, "subscribe.err")
    subscriber = subprocess.Popen([deliveries, "subscribe", "figure."], env=sub_env, stdout=subprocess.DEVNULL, stderr=open(err_path, "w"))
    big = b"x" * (2 << 20)
    peak, seq = 0, 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and subscriber.poll() is None:
        seq += 7
        head = {"v": 1, "type": "figure.changed", "id": str(seq), "stream": "query-flood", "seq": seq, "body": {}}
        pub.send_multipart([b"figure.x", json.dumps(head).encode()])
        pub.send_multipart([b"figure.y", big])
        peak = max(peak, rss_kib(subscriber.pid))
        time.sleep(0.002)  # a flood, paced only so the test itself does not take a core
    check("6: subscribe survives a flooding feed", subscriber.poll() is None)
    check("6: in bounded memory", peak < 300 * 1024, f"{peak // 1024} MiB")
    check("6: asking at most one snapshot a second", snapshots[0] <= 13, snapshots[0])
    check("6: and saying so in a few lines", 1 <= lines(err_path) <= 15, lines(err_path))
    subscriber.kill()
    subscriber.wait()
    running[0] = False
    answering.join(timeout=5)
    snap.close()
    pub.close()
    if not check.failed:
        shutil.rmtree(work, ignore_errors=True)


def main():
    return run_parts([forged_checkpoint, long_requests, event_listeners, unwritable_data_dir, metric_labels, spinning_follower,
                      malformed_batches, bad_snapshot_parts, cli, idle_page], check, CTX)


if __name__ == "__main__":
    sys.exit(main())
