#!/usr/bin/env python3
"""The compose and swarm stacks under a real Docker engine, as a user runs them: images built
offline (scripts/images), `docker-compose up` of deploy/docker-compose.yml with every service
healthy through its own healthcheck, the sample submitted and answered through ports published on
127.0.0.1, the page, state kept across down/up, `--scale query=3`, the PostgreSQL and CURVE
overrides, faults between containers under concurrent writers (kill -9 of each service, pause,
network partitions, restart policy) with every acknowledged report counted once and the replicas
converging, and `docker stack deploy` of deploy/docker-stack.yml on a one-node swarm (scheduling,
answers, a rolling update of the query service under load, scaling).

Starts dockerd itself when no engine answers and it can (root, dockerd installed), and stops it
after; leaves no container, network, volume or swarm behind. When no engine can be had it says so
and exits 0 (`make test` goes on); DELIVERY_DOCKER_REQUIRED=1 (CI) makes that a failure.

    docker_test.py [--bin DIR] [part ...]      parts: compose scale postgres curve faults swarm"""
import argparse, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
from support import ROOT, Tally, eventually, free_port, http_get  # noqa: E402

import zmq  # noqa: E402

CTX = zmq.Context()
SAMPLE = os.path.join(ROOT, "samples", "hima-2025-05.json")
check = Tally()
DOCKER = os.environ.get("DOCKER", "docker")
COMPOSE = os.environ.get("DOCKER_COMPOSE", "docker-compose")
timings = {}


def run(argv, timeout=600, env=None, input_=None):
    """(exit status, stdout, stderr) of a command; a time-out is status 124."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, input=input_)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        return 124, e.stdout or "", (e.stderr or "") if isinstance(e.stderr, str) else ""


def request(endpoint, type_, body=None, timeout=5000):
    """One request on a fresh DEALER; the parsed reply, or None after `timeout` ms."""
    return support.request(CTX, endpoint, type_, body, timeout)


def units(endpoint, entity, period, timeout=3000):
    reply = request(endpoint, "units", {"entity": entity, "period": period}, timeout)
    return reply["body"].get("units") if reply and reply["type"] == "units.result" else None


# The engine: the one that answers, or one started here and stopped at the end.

class Engine:
    def __init__(self):
        self.started = None
        self.work = tempfile.mkdtemp(prefix="delivery-dockerd-")

    def answers(self):
        return run([DOCKER, "info", "--format", "{{.ServerVersion}}"], timeout=20)[0] == 0

    def start(self):
        """True when an engine answers (found or started); otherwise prints why not."""
        if shutil.which(DOCKER) is None:
            return self.cannot("no docker command (apt-get install docker.io)")
        if self.answers():
            return True
        if os.geteuid() != 0 or shutil.which("dockerd") is None:
            return self.cannot("no engine answers, and dockerd cannot be started here (needs root and docker.io)")
        log = open(os.path.join(self.work, "dockerd.log"), "w")
        self.started = subprocess.Popen(["dockerd"], stdout=log, stderr=log, start_new_session=True)
        if not eventually(self.answers, 60, 0.5):
            self.stop()
            return self.cannot("dockerd did not come up: " + open(os.path.join(self.work, "dockerd.log")).read()[-400:])
        return True

    def cannot(self, why):
        print(f"docker_test: SKIPPED: {why}", flush=True)
        return False

    def stop(self):
        if self.started and self.started.poll() is None:
            self.started.send_signal(signal.SIGTERM)
            try:
                self.started.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.started.kill()
                self.started.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def free_range(count):
    """`count` consecutive free loopback ports (for a scaled service's host-port range)."""
    while True:
        base = random.randrange(20000, 30000)
        ok = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base


class Compose:
    """One compose project of the repository's files, with host ports of its own on 127.0.0.1."""

    def __init__(self, name, files, extra_env=None):
        self.project = f"dt{name}{os.getpid()}"
        self.files = files
        self.query_base, self.feed_base, self.web_base = free_range(10), free_range(10), free_range(10)
        self.ingest_port = free_port()
        self.env = dict(os.environ, INGEST_PORT=str(self.ingest_port), INGEST_B_PORT=str(free_port()),
                        QUERY_PORTS=f"{self.query_base}-{self.query_base + 9}", FEED_PORTS=f"{self.feed_base}-{self.feed_base + 9}",
                        WEB_PORTS=f"{self.web_base}-{self.web_base + 9}", DELIVERY_PUBLISH_ADDRESS="127.0.0.1", **(extra_env or {}))

    def __call__(self, *args, timeout=600):
        argv = [COMPOSE, "-p", self.project]
        for f in self.files:
            argv += ["-f", os.path.join(ROOT, "deploy", f)]
        return run(argv + list(args), timeout=timeout, env=self.env)

    def containers(self, service=None):
        argv = [DOCKER, "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"]
        if service:
            argv += ["--filter", f"label=com.docker.compose.service={service}"]
        return run(argv)[1].split()

    def health(self, container):
        return run([DOCKER, "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}", container])[1].strip()

    def all_healthy(self, services):
        for service in services:
            found = self.containers(service)
            if not found or any(self.health(c) != "healthy" for c in found):
                return False
        return True

    def port(self, service, target, index=1):
        out = self("port", "--index", str(index), service, str(target))[1].strip()
        return int(out.rsplit(":", 1)[1]) if ":" in out else None

    def endpoint(self, service, target, index=1):
        port = self.port(service, target, index)
        return f"tcp://127.0.0.1:{port}" if port else None

    def down(self):
        self("down", "-v", "--remove-orphans", "-t", "15")
        leftover = self.containers()
        if leftover:
            run([DOCKER, "rm", "-f", *leftover])
        networks = run([DOCKER, "network", "ls", "-q", "--filter", f"label=com.docker.compose.project={self.project}"])[1].split()
        if networks:
            run([DOCKER, "network", "rm", *networks])
        volumes = run([DOCKER, "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={self.project}"])[1].split()
        if volumes:
            run([DOCKER, "volume", "rm", "-f", *volumes])

    def logs(self):
        return self("logs", "--no-color", "--tail", "60")[1]


SERVICES = ["ingest", "aggregate", "query", "web"]


def up_and_healthy(stack, what, scale=None, services=SERVICES, within=180):
    started = time.monotonic()
    args = ["up", "-d"] + (["--scale", scale] if scale else [])
    code, out, err = stack(*args)
    check(f"{what}: docker-compose up", code == 0, (out + err)[-800:])
    healthy = eventually(lambda: stack.all_healthy(services), within, 1)
    took = time.monotonic() - started
    check(f"{what}: every service healthy through its own healthcheck", healthy,
          {s: [stack.health(c) for c in stack.containers(s)] for s in services})
    if not healthy:
        print(stack.logs()[-3000:], file=sys.stderr)
    return took


def submit_sample(stack):
    sample = json.load(open(SAMPLE))
    ingest = f"tcp://127.0.0.1:{stack.ingest_port}"
    put = request(ingest, "catalog.put", sample["catalog"], 15000)
    ack = request(ingest, "submit", {"reports": sample["reports"]}, 15000)
    return bool(put and put["type"] == "catalog.ok" and ack and ack["type"] == "submit.ok")


# Parts

def compose(bin_dir):
    stack = Compose("c", ["docker-compose.yml"])
    try:
        took = up_and_healthy(stack, "compose")
        timings["compose up to healthy (s)"] = round(took, 1)
        check("compose: the sample is submitted through 127.0.0.1", submit_sample(stack))
        query = stack.endpoint("query", 5554)
        check("compose: HIMA 2025-05 = 44,454 through the published query port",
              eventually(lambda: units(query, {"group": "HIMA"}, "2025-05") == 44454, 30))
        web = stack.port("web", 8080)
        check("compose: the page answers", http_get(web, "/readyz")[0] == 200 and b"<html" in http_get(web, "/")[1].lower())
        check("compose: and its API", eventually(lambda: json.loads(http_get(web, "/api/units?group=HIMA&period=2025-05")[1]).get("units") == 44454, 30))
        # The CLI inside the network, as the compose file's comment says.
        code, out, err = stack("run", "--rm", "cli", "deliveries", "query", "units", "--group", "HIMA", "--period", "2025-05")
        check("compose: the cli service answers inside the network", code == 0 and "44,454" in out, out + err)
        for service in ["ingest", "aggregate", "query"]:
            user = run([DOCKER, "exec", stack.containers(service)[0], "id", "-un"])[1].strip()
            check(f"compose: {service} runs as the unprivileged user", user == "delivery", user)
        # State in named volumes: down (without -v) and up again, nothing submitted again.
        code, _, err = stack("down", "-t", "15")
        check("compose: down", code == 0, err[-300:])
        took = up_and_healthy(stack, "compose again")
        timings["compose up again (state on volumes) to healthy (s)"] = round(took, 1)
        query = stack.endpoint("query", 5554)
        check("compose: the figures survive down and up (named volumes)", eventually(lambda: units(query, {"group": "HIMA"}, "2025-05") == 44454, 60))
    finally:
        stack.down()


def scale(bin_dir):
    stack = Compose("s", ["docker-compose.yml"])
    try:
        up_and_healthy(stack, "scale", scale="query=3")
        check("scale: three query replicas", len(stack.containers("query")) == 3)
        check("scale: sample", submit_sample(stack))
        endpoints = [stack.endpoint("query", 5554, i) for i in (1, 2, 3)]
        feeds = [stack.endpoint("query", 5555, i) for i in (1, 2, 3)]
        check("scale: each replica has its own host ports", len(set(endpoints)) == 3 and None not in endpoints and len(set(feeds)) == 3, endpoints + feeds)
        for i, endpoint in enumerate(endpoints):
            check(f"scale: replica {i + 1} answers 44,454", eventually(lambda: units(endpoint, {"group": "HIMA"}, "2025-05") == 44454, 60))
        # One client given every replica: ZeroMQ spreads its requests over them.
        s = CTX.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        for endpoint in endpoints:
            s.connect(endpoint)
        time.sleep(0.5)  # let the three connections complete before the round-robin is counted
        instances = set()
        for i in range(30):
            s.send_multipart([b"", json.dumps({"v": 1, "type": "status", "id": str(i), "body": {}}).encode()])
        for _ in range(30):
            if s.poll(5000):
                instances.add(json.loads(s.recv_multipart()[-1])["body"].get("instance"))
        s.close()
        check("scale: a client with every endpoint is answered by all three", len(instances) == 3, instances)
        # A live subscriber inside the network on the scaled name: its snapshot and its feed must
        # come from the same replica, or it resyncs forever.
        sub = subprocess.Popen(
            [COMPOSE, "-p", stack.project, "-f", os.path.join(ROOT, "deploy", "docker-compose.yml"), "run", "--rm", "-T", "cli",
             "deliveries", "subscribe", "figure.", "--count", "1", "--timeout", "5000"],
            env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ingest = f"tcp://127.0.0.1:{stack.ingest_port}"
        report = {"id": "scale-sub", "source": "CPCA", "period": "2025-05", "model": "AITO M9", "units": 15482,
                  "reportedAt": "2025-06-02T00:00:00Z"}
        got_update = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sub.poll() is None:
            report["units"] += 1
            report["id"] = f"scale-sub-{report['units']}"
            request(ingest, "submit", {"reports": [report]})
            time.sleep(1)  # one update a second until the subscriber has printed one
        try:
            out, err = sub.communicate(timeout=30)
            got_update = sub.returncode == 0 and "(was " in out
        except subprocess.TimeoutExpired:
            sub.kill()
            out, err = sub.communicate()
        check("scale: subscribe on the scaled name gets an update", got_update, (out + err)[-500:])
        check("scale: without resyncing in a loop", err.count("resynced") <= 1, err[-500:])
        up_and_healthy(stack, "scale down", scale="query=1")
        check("scale: down to one replica", len(stack.containers("query")) == 1)
    finally:
        stack.down()


def postgres(bin_dir):
    stack = Compose("p", ["docker-compose.yml", "docker-compose.postgres.yml"], {"POSTGRES_IMAGE": "deliverytracker-postgres:15"})
    try:
        up_and_healthy(stack, "postgres", services=["postgres"] + SERVICES)
        check("postgres: sample", submit_sample(stack))
        query = stack.endpoint("query", 5554)
        check("postgres: HIMA 2025-05 = 44,454 with the log in PostgreSQL",
              eventually(lambda: units(query, {"group": "HIMA"}, "2025-05") == 44454, 60))
        pg = stack.containers("postgres")[0]
        code, out, _ = run([DOCKER, "exec", pg, "psql", "-U", "delivery", "-d", "delivery", "-tAc", "SELECT COUNT(*) FROM delivery_events"])
        check("postgres: the events are rows in PostgreSQL", code == 0 and int(out.strip() or 0) > 0, out)
        ingest_volumes = run([DOCKER, "inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", stack.containers("ingest")[0]])[1]
        check("postgres: ingest still has its volume (lock file, nothing else)", "ingest-data" in ingest_volumes, ingest_volumes)
    finally:
        stack.down()


def curve(bin_dir):
    keys = os.path.join(ROOT, "deploy", "keys")
    made = not os.path.exists(keys)
    os.makedirs(keys, exist_ok=True)
    deliveries = os.path.join(bin_dir, "deliveries")
    public = {}
    for name in ["ingest", "aggregate", "writer", "health"]:
        path = os.path.join(keys, f"{name}.key")
        if not os.path.exists(path):
            run([deliveries, "keygen", path])
        os.chmod(path, 0o644)  # read by the container's own user (the folder is the test's)
        public[name] = next(line.split("=", 1)[1].strip() for line in open(path + ".pub") if line.startswith("public-key"))
    with open(os.path.join(keys, "ingest-clients"), "w") as f:
        f.write("\n".join([public["writer"], public["aggregate"], public["health"]]) + "\n")
    stack = Compose("k", ["docker-compose.yml", "docker-compose.curve.yml"],
                    {"INGEST_PUBLIC_KEY": public["ingest"], "AGGREGATE_PUBLIC_KEY": public["aggregate"]})
    try:
        up_and_healthy(stack, "curve")
        ingest = f"tcp://127.0.0.1:{stack.ingest_port}"
        check("curve: a plain-text client gets nothing from the keyed ingest", request(ingest, "ping", timeout=2000) is None)
        env = dict(os.environ, DELIVERY_INGEST=ingest, DELIVERY_ENDPOINT=stack.endpoint("query", 5554))
        code, out, err = run([deliveries, "submit", SAMPLE, "--server-key", public["ingest"],
                              "--curve-key-file", os.path.join(keys, "writer.key")], env=env, timeout=60)
        check("curve: the writer's key submits the sample", code == 0, (out + err)[-400:])
        query = stack.endpoint("query", 5554)
        check("curve: figures flow through the keyed links", eventually(lambda: units(query, {"group": "HIMA"}, "2025-05") == 44454, 60))
    finally:
        stack.down()
        if made:
            shutil.rmtree(keys, ignore_errors=True)


class Writers:
    """Threads submitting reports (one per month of Luxeed S7 from 2030 on, each its own id) through
    the published ingest port, each retried with the same id until acknowledged."""

    def __init__(self, endpoint, count=4):
        self.endpoint = endpoint
        self.acked, self.sent = {}, {}
        self.lock = threading.Lock()
        self.running = True
        self.next = 0
        self.failures = 0
        self.refused = []
        self.threads = [threading.Thread(target=self.write, daemon=True) for _ in range(count)]
        for t in self.threads:
            t.start()

    def take(self):
        with self.lock:
            n = self.next
            self.next += 1
            return n

    def write(self):
        while self.running:
            n = self.take()
            if n >= 970 * 12:  # every month of 2030–2999 taken: the writers are done
                return
            year, month = 2030 + n // 12, n % 12 + 1
            report = {"id": f"fault-{n}", "source": "fault-test", "period": f"{year}-{month:02d}", "model": "Luxeed S7",
                      "units": 1000 + n, "reportedAt": "2025-06-01T00:00:00Z"}
            with self.lock:
                self.sent[report["id"]] = report
            while self.running:
                reply = request(self.endpoint, "submit", {"reports": [report]}, 3000)
                if reply and reply["type"] == "submit.ok":
                    with self.lock:
                        self.acked[report["id"]] = report
                    break
                if reply and reply["body"].get("code") not in ("unavailable", "busy"):
                    with self.lock:
                        self.refused.append(reply)
                    self.running = False
                    return
                with self.lock:
                    self.failures += 1
                time.sleep(0.2)  # the ingest is down or cut off: try the same report again
            time.sleep(0.2)  # a steady stream (about 20 reports a second in all), not a flood

    def stop(self):
        self.running = False
        for t in self.threads:
            t.join(timeout=10)


def faults(bin_dir):
    stack = Compose("f", ["docker-compose.yml"])
    heal = {}
    try:
        up_and_healthy(stack, "faults", scale="query=2")
        check("faults: sample", submit_sample(stack))
        ingest = f"tcp://127.0.0.1:{stack.ingest_port}"
        writers = Writers(ingest)

        def replicas():
            # Read again each time: a restarted container may take another port of its range.
            return [stack.endpoint("query", 5554, i) for i in (1, 2)]

        def answering(endpoint):
            return units(endpoint, {"group": "HIMA"}, "2025-05", 1500) == 44454

        def healed(services):
            return stack.all_healthy(services) and all(answering(q) for q in replicas())

        def kill(service, crash):
            """`docker kill -s KILL` (the engine counts it as a manual stop: the restart policy leaves
            it down and an operator starts it), or a crash: the service's process killed with
            SIGKILL from outside, which the restart policy (unless-stopped) restarts."""
            container = stack.containers(service)[0]
            started = time.monotonic()
            if crash:
                pid = run([DOCKER, "inspect", "-f", "{{.State.Pid}}", container])[1].strip()
                os.kill(int(pid), signal.SIGKILL)
                what = f"crash (kill -9 of the process) {service}"
            else:
                run([DOCKER, "kill", "-s", "KILL", container])
                eventually(lambda: run([DOCKER, "inspect", "-f", "{{.State.Running}}", container])[1].strip() == "false", 30, 0.1)
                run([DOCKER, "start", container])
                what = f"docker kill -s KILL, then docker start: {service}"
            ok = eventually(lambda: healed(SERVICES), 90, 0.5)
            heal[what] = round(time.monotonic() - started, 1)
            if crash:
                restarts = run([DOCKER, "inspect", "-f", "{{.RestartCount}}", container])[1].strip()
                check(f"faults: {service} crashed with SIGKILL is restarted by its restart policy", ok and restarts not in ("", "0"), restarts)
            else:
                check(f"faults: {service} killed with docker kill -s KILL is back after docker start", ok)

        time.sleep(2)  # let the writers get going before the first fault
        for service in ["ingest", "aggregate", "query", "web"]:
            kill(service, crash=False)
        for service in ["ingest", "aggregate", "query"]:
            kill(service, crash=True)

        # The aggregate paused: replicas keep answering what they hold; a read-your-writes query
        # for a newer report says stale with asOf.
        aggregate = stack.containers("aggregate")[0]
        run([DOCKER, "pause", aggregate])
        started = time.monotonic()
        ack = request(ingest, "submit", {"reports": [{"id": "during-pause", "source": "fault-test", "period": "2029-12", "model": "Luxeed S7",
                                                      "units": 7, "reportedAt": "2025-06-01T00:00:00Z"}]}, 5000)
        after = {a["stream"]: a["seq"] for a in ack["body"]["accepted"]} if ack and ack["type"] == "submit.ok" else None
        check("faults: ingest acknowledges while the aggregate is paused", after is not None, ack)
        queries = replicas()
        old = units(queries[0], {"group": "HIMA"}, "2025-05")
        waited = request(queries[0], "units", {"entity": {"model": "Luxeed S7"}, "period": "2029-12", "after": after, "timeoutMs": 1000}, 5000)
        check("faults: while the aggregate is paused, replicas answer what they hold", old == 44454, old)
        check("faults: and a read-your-writes query says stale with asOf", waited and waited["type"] == "error"
              and waited["body"]["code"] == "stale" and "asOf" in waited["body"].get("details", {}), waited)
        time.sleep(15)  # paused for longer than every heartbeat and time-out
        run([DOCKER, "unpause", aggregate])
        ok = eventually(lambda: units(replicas()[0], {"model": "Luxeed S7"}, "2029-12", 1500) == 7 and healed(SERVICES), 120, 0.5)
        heal["pause aggregate 15 s"] = round(time.monotonic() - started - 15, 1)
        check("faults: after unpause the report submitted meanwhile is visible", ok)

        # Partitions: a replica, then the aggregate, cut from the network for longer than every
        # heartbeat and time-out, then joined again under their names.
        network = f"{stack.project}_default"
        for service, alias in [("query", "query"), ("aggregate", "aggregate")]:
            container = stack.containers(service)[0]
            run([DOCKER, "network", "disconnect", network, container])
            started = time.monotonic()
            time.sleep(20)  # the partition's length
            code, _, err = run([DOCKER, "network", "connect", "--alias", alias, network, container])
            check(f"faults: {service} joined again", code == 0, err)
            ok = eventually(lambda: healed(SERVICES), 120, 0.5)
            heal[f"partition {service} 20 s"] = round(time.monotonic() - started - 20, 1)
            check(f"faults: the stack heals after a partition of {service}", ok)

        writers.stop()
        acked = dict(writers.acked)
        check("faults: the writers kept being acknowledged", len(acked) > 50, len(acked))
        # Every acknowledged report counted once, and every replica with the same figures.
        check("faults: no report was refused", not writers.refused, writers.refused[:2])
        expected = {("model", "luxeed-s7", r["period"]): r["units"] for r in acked.values()}

        queries = replicas()

        def converged():
            views = [support.snapshot_figures(CTX, q, 30000) for q in queries]
            if not all(all(view.get(k, {}).get("units") == v for k, v in expected.items()) for view in views):
                return False
            return views[0] == views[1]

        check("faults: every acknowledged report is in every replica exactly as sent, and the replicas agree", eventually(converged, 120, 1))
        view = support.snapshot_figures(CTX, queries[0], 30000)
        for year in sorted({int(p.split("-")[0]) for (_, _, p) in expected}):
            months = [view.get(("model", "luxeed-s7", f"{year}-{m:02d}"), {}).get("units", 0) for m in range(1, 13)]
            total = view.get(("model", "luxeed-s7", str(year)), {}).get("units")
            if total is not None and total != sum(months):
                check(f"faults: {year} is the sum of its months (nothing counted twice)", False, (total, months))
        agg_status = run([DOCKER, "exec", aggregate, "deliveries", "status", "--endpoint", "tcp://127.0.0.1:5553"])[1]
        try:
            counted = json.loads(agg_status)["counts"]["reports"]
        except (ValueError, KeyError):
            counted = None
        stored = len(json.load(open(SAMPLE))["reports"]) + 1 + len(writers.sent)
        check("faults: the aggregate counts each stored report once", counted is not None and len(acked) <= counted <= stored,
              (counted, len(acked), stored))
        timings.update({f"heal: {k} (s)": v for k, v in heal.items()})
        timings["fault writers: acknowledged / retried"] = f"{len(acked)} / {writers.failures}"
    finally:
        stack.down()


# Swarm

def swarm(bin_dir):
    state = run([DOCKER, "info", "--format", "{{.Swarm.LocalNodeState}}"])[1].strip()
    if state != "inactive":
        print(f"docker_test: swarm part skipped: this engine is already in a swarm ({state}); the test leaves swarms alone", flush=True)
        return
    had_gwbridge = run([DOCKER, "network", "inspect", "docker_gwbridge"])[0] == 0
    code, _, err = run([DOCKER, "swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377"])
    check("swarm: init on 127.0.0.1", code == 0, err)
    if code != 0:
        return
    stack_name = f"dts{os.getpid()}"
    try:
        node = run([DOCKER, "node", "ls", "-q"])[1].split()[0]
        run([DOCKER, "node", "update", "--label-add", "delivery.ingest=true", "--label-add", "delivery.aggregate=true", node])
        # A VIP needs IPVS in the kernel; without it every service's VIP answers nothing, so the
        # stack is deployed with DNS round robin instead (the file takes both).
        ipvs = os.path.exists("/proc/net/ip_vs") or run(["modprobe", "-n", "ip_vs"])[0] == 0 and run(["modprobe", "ip_vs"])[0] == 0
        mode = "vip" if ipvs and os.path.exists("/proc/net/ip_vs") else "dnsrr"
        print(f"docker_test: swarm endpoint mode: {mode} ({'IPVS present' if mode == 'vip' else 'no IPVS in this kernel'})", flush=True)
        timings["swarm endpoint mode"] = mode
        # Ports: none published from the swarm here (a swarm publishes on every address, and
        # host-mode ports allow one task per node); the test talks from a container on the
        # stack's attachable network.
        import yaml
        spec = yaml.safe_load(open(os.path.join(ROOT, "deploy", "docker-stack.yml")))
        for service in spec["services"].values():
            service.pop("ports", None)
        work = tempfile.mkdtemp(prefix="delivery-swarm-")
        path = os.path.join(work, "stack.yml")
        with open(path, "w") as f:
            yaml.safe_dump(spec, f)
        env = dict(os.environ, DELIVERY_IMAGE="deliverytracker:latest", DELIVERY_ENDPOINT_MODE=mode, DELIVERY_PORT_MODE="host")
        started = time.monotonic()
        code, out, err = run([DOCKER, "stack", "deploy", "-c", path, stack_name], env=env)
        check("swarm: stack deploy", code == 0, (out + err)[-600:])

        def replicas():
            out = run([DOCKER, "service", "ls", "--filter", f"label=com.docker.stack.namespace={stack_name}", "--format", "{{.Name}} {{.Replicas}}"])[1]
            return dict(line.split(" ", 1) for line in out.splitlines() if line)

        def all_running():
            found = replicas()
            return len(found) == 4 and all(v.split("/")[0] == v.split("/")[1].split(" ")[0] for v in found.values())

        check("swarm: every service scheduled and running", eventually(all_running, 240, 2), replicas())
        timings["swarm deploy to all running (s)"] = round(time.monotonic() - started, 1)
        network = f"{stack_name}_default"

        def cli(*argv, timeout=60):
            return run([DOCKER, "run", "--rm", "--network", network, "-e", "DELIVERY_ENDPOINT=tcp://query:5554",
                        "-e", "DELIVERY_INGEST=tcp://ingest:5550", "-e", "DELIVERY_FEED=tcp://query:5555",
                        "deliverytracker:latest", *argv], timeout=timeout)

        check("swarm: ingest answers", eventually(lambda: cli("deliveries", "ping", "--endpoint", "tcp://ingest:5550")[0] == 0, 120, 2))
        code, out, err = cli("deliveries", "submit", "/usr/share/delivery/samples/hima-2025-05.json")
        check("swarm: the sample is submitted", code == 0, (out + err)[-400:])
        check("swarm: HIMA 2025-05 = 44,454", eventually(
            lambda: "44,454" in cli("deliveries", "query", "units", "--group", "HIMA", "--period", "2025-05")[1], 120, 2))

        # A rolling update of the query service (start-first) while a client asks all along.
        loop = ("ok=0; bad=0; end=$(( $(date +%s) + 60 )); while [ $(date +%s) -lt $end ]; do "
                "if deliveries query units --group HIMA --period 2025-05 --timeout 5000 | grep -q 44,454; then ok=$((ok+1)); "
                "else bad=$((bad+1)); fi; [ -e /tmp/stop ] && break; done; echo \"$ok $bad\"")
        client = subprocess.Popen([DOCKER, "run", "--rm", "--network", network, "-e", "DELIVERY_ENDPOINT=tcp://query:5554",
                                   "--entrypoint", "sh", "deliverytracker:latest", "-c", loop], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)  # the client's loop is asking before the update starts
        started = time.monotonic()
        code, out, err = run([DOCKER, "service", "update", "--force", "--detach=false", f"{stack_name}_query"], timeout=400)
        timings["swarm rolling update of 3 query replicas (s)"] = round(time.monotonic() - started, 1)
        check("swarm: rolling update of the query service", code == 0, (out + err)[-400:])
        out, err = client.communicate(timeout=120)
        counts = out.split()
        ok, bad = (int(counts[-2]), int(counts[-1])) if len(counts) >= 2 else (0, -1)
        check("swarm: no request failed during the update", ok > 0 and bad == 0, f"{ok} answered, {bad} failed {err[-300:]}")
        timings["swarm requests during the update: answered / failed"] = f"{ok} / {bad}"
        for count in (5, 2):
            code, _, err = run([DOCKER, "service", "scale", "--detach=false", f"{stack_name}_query={count}"], timeout=300)
            check(f"swarm: query scaled to {count}", code == 0 and eventually(lambda: replicas().get(f"{stack_name}_query", "").startswith(f"{count}/{count}"), 120, 2),
                  err[-300:])
        check("swarm: still answering after scaling", "44,454" in cli("deliveries", "query", "units", "--group", "HIMA", "--period", "2025-05")[1])
        shutil.rmtree(work, ignore_errors=True)
    finally:
        run([DOCKER, "stack", "rm", stack_name])
        # The stack's tasks go before its network and volumes can.
        eventually(lambda: not run([DOCKER, "ps", "-aq", "--filter", f"label=com.docker.stack.namespace={stack_name}"])[1].strip(), 60, 1)
        run([DOCKER, "swarm", "leave", "--force"])
        if not had_gwbridge:
            run([DOCKER, "network", "rm", "docker_gwbridge"])  # made by swarm init
        for kind in ["network", "volume"]:
            ids = run([DOCKER, kind, "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack_name}"])[1].split()
            if ids:
                eventually(lambda: run([DOCKER, kind, "rm", *ids])[0] == 0, 30, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "debug"))
    parser.add_argument("--no-build", action="store_true", help="use the images already built")
    parser.add_argument("only", nargs="*")
    args = parser.parse_args()
    engine = Engine()
    if not engine.start():
        return 1 if os.environ.get("DELIVERY_DOCKER_REQUIRED") == "1" else 0
    try:
        if not args.no_build:
            started = time.monotonic()
            code, out, err = run([os.path.join(ROOT, "scripts", "images"), "--postgres"], timeout=1800)
            check("images build offline (scripts/images --postgres)", code == 0, (out + err)[-1500:])
            timings["scripts/images --postgres (s)"] = round(time.monotonic() - started, 1)
            print(err.strip(), flush=True)
            if code != 0:
                print(check.summary())
                return 1
        size = run([DOCKER, "image", "inspect", "-f", "{{.Size}}", "deliverytracker:latest"])[1].strip()
        timings["image size (MB)"] = round(int(size or 0) / 1e6)
        parts = [compose, scale, postgres, curve, faults, swarm]
        for part in parts:
            if args.only and part.__name__ not in args.only:
                continue
            before = check.failed
            started = time.monotonic()
            part(args.bin)
            print(f"{part.__name__}: {'ok' if check.failed == before else 'FAILED'} ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        CTX.destroy(linger=0)
        engine.stop()
    for name, value in timings.items():
        print(f"  {name}: {value}")
    print(check.summary())
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
