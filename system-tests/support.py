"""What the Python tests share: a tally of checks, and a free loopback port."""
import os, socket, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Tally:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def __call__(self, name, condition, detail=""):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}", file=sys.stderr)

    def summary(self):
        return f"{self.passed} passed, {self.failed} failed"


_given_ports = set()


def free_port():
    """A loopback port nobody is bound to, below the kernel's ephemeral range: a port from that range
    can be taken by an outgoing connection (a follower reconnecting to a service not bound yet can
    even connect to itself) before the service binds it. Never the same port twice."""
    import random
    try:
        low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    while True:
        port = random.randrange(10000, max(low, 10001))
        if port in _given_ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given_ports.add(port)
        return port


def finish(procs, ctx, work, check):
    """Stops the services with SIGTERM (each must exit 0), closes the context, keeps the logs of a
    failed run and removes those of a passed one; returns the exit status for the test."""
    import shutil, signal, subprocess
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            check("clean exit on SIGTERM", proc.wait(timeout=10) == 0)
        except subprocess.TimeoutExpired:
            proc.kill()
            check("clean exit on SIGTERM", False, "timed out")
    ctx.destroy(linger=0)
    if check.failed:
        print(f"logs in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(check.summary())
    return 1 if check.failed else 0


def stop_named(procs, check, timeout=15):
    """Stops each still-running process of `procs` (name: process) with SIGTERM and checks it exits
    cleanly (status 0, or -9 for one the test killed itself)."""
    import signal, subprocess
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for name, proc in procs.items():
        try:
            code = proc.wait(timeout=timeout)
            check(f"{name} exits cleanly", code in (0, -9), f"exit {code}")
        except subprocess.TimeoutExpired:
            proc.kill()
            check(f"{name} exits cleanly", False, "timed out")


def summarize(work, check):
    """Keeps the logs of a failed run and removes those of a passed one; prints the tally and
    returns the test's exit status."""
    import shutil
    if check.failed:
        print(f"logs kept in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(check.summary())
    return 1 if check.failed else 0


def start_stack(bin_dir, work, instance, log_level="warning", extra=None):
    """Starts ingest, aggregate and query on free loopback ports with state under `work`; `extra`
    adds environment variables per service ("ingest", "aggregate", "query"). Returns the processes
    and the endpoints: in, inpub (ingest), agg, aggpub (aggregate), q, qpub (query)."""
    import subprocess
    extra = extra or {}
    ep = {k: f"tcp://127.0.0.1:{free_port()}" for k in ["in", "inpub", "aggpub", "agg", "q", "qpub"]}
    env = dict(os.environ, DELIVERY_INSTANCE=instance, DELIVERY_LOG_LEVEL=log_level)
    settings = {
        "ingest": dict(DELIVERY_INGEST_BIND=ep["in"], DELIVERY_INGEST_PUBLISH=ep["inpub"],
                       DELIVERY_DATA_DIR=os.path.join(work, "ingest")),
        "aggregate": dict(DELIVERY_AGGREGATE_PUBLISH=ep["aggpub"], DELIVERY_AGGREGATE_BIND=ep["agg"],
                          DELIVERY_INGEST_ENDPOINTS=ep["in"], DELIVERY_INGEST_FEEDS=ep["inpub"],
                          DELIVERY_DATA_DIR=os.path.join(work, "aggregate")),
        "query": dict(DELIVERY_QUERY_BIND=ep["q"], DELIVERY_QUERY_PUBLISH=ep["qpub"],
                      DELIVERY_AGGREGATE_ENDPOINTS=ep["agg"], DELIVERY_AGGREGATE_FEEDS=ep["aggpub"]),
    }
    procs = []
    for service, variables in settings.items():
        exe = "delivery-" + service
        log = open(os.path.join(work, exe + ".log"), "w")
        procs.append(subprocess.Popen([os.path.join(bin_dir, exe)], env=dict(env, **variables, **extra.get(service, {})),
                                      stdout=log, stderr=log))
    return procs, ep


def request(ctx, endpoint, type_, body=None, timeout=15000):
    """One request on a fresh DEALER; the parsed reply, or None after `timeout` ms."""
    import json, zmq
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    try:
        s.send_multipart([b"", json.dumps({"v": 1, "type": type_, "id": "t", "body": body or {}}).encode()])
        if not s.poll(timeout):
            return None
        return json.loads(s.recv_multipart()[-1])
    finally:
        s.close()


def eventually(condition, within=60.0, every=0.05):
    """Whether `condition` holds before the deadline (polled every `every` s); a condition that
    raises (a service not up yet) counts as not holding."""
    import time
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except Exception:
            pass
        time.sleep(every)
    return False


def http_get(port, path, timeout=5):
    """(status, body) of a GET to 127.0.0.1:port; (None, b"") when nothing answers."""
    import urllib.error, urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return None, b""


def run_parts(parts, check, ctx, *args):
    """The command line of a test made of parts: `--bin DIR` and the names of the parts to run
    (all when none); each part gets the bin dir, and its line says whether it passed. Returns
    the exit status."""
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "debug"))
    parser.add_argument("only", nargs="*")
    options = parser.parse_args(*args)
    for part in parts:
        if options.only and part.__name__ not in options.only:
            continue
        before = check.failed
        part(options.bin)
        print(f"{part.__name__}: {'ok' if check.failed == before else 'FAILED'}", flush=True)
    ctx.destroy(linger=0)
    print(check.summary())
    return 1 if check.failed else 0


def pong(ctx, endpoint):
    reply = request(ctx, endpoint, "ping", timeout=1000)
    return bool(reply) and reply["type"] == "pong"


def start_one(bin_dir, work, exe, env, name):
    """One service process with `env` added, its output appended to work/name.log."""
    import subprocess
    log = open(os.path.join(work, name + ".log"), "a")
    return subprocess.Popen([os.path.join(bin_dir, exe)], env=dict(os.environ, **env), stdout=log, stderr=log)


def snapshot_figures(ctx, endpoint, timeout=60000):
    """Every figure of a JSON `snapshot` from a ROUTER, keyed by (level, id, period), without
    `previous` (which depends on what the answering service held before)."""
    reply = request(ctx, endpoint, "snapshot", {"prefix": ""}, timeout=timeout)
    out = {}
    for f in (reply or {}).get("body", {}).get("figures", []):
        f = dict(f)
        f.pop("previous", None)
        out[(f["entity"]["level"], f["entity"]["id"], f["period"])] = f
    return out
