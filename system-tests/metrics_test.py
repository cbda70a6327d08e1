#!/usr/bin/env python3
"""Metrics and health for operators, for real: the three services with DELIVERY_METRICS_BIND on
loopback, `promtool check metrics` on each /metrics, Debian's `prometheus` scraping them, and the
series read back through its HTTP API; /readyz and /healthz as probes use them."""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, urllib.request
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, eventually, finish, free_port, pong, request, start_one, start_stack  # noqa: E402

check = Tally()


def http(url, timeout=5):
    """(status, body) of a GET; (0, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except Exception as error:  # refused, reset, timed out
        return 0, str(error)


def series(text, name):
    """The values of a metric's samples in a /metrics text, by their label text."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            head, _, value = line.rpartition(" ")
            out[head[len(name):]] = float(value)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            print(f"{tool} is not installed (Debian's prometheus package); .ci/run installs it", file=sys.stderr)
            return 1
    work = tempfile.mkdtemp(prefix="delivery-metrics-")
    ctx = zmq.Context()
    ports = {name: free_port() for name in ("ingest", "aggregate", "query")}
    extra = {name: {"DELIVERY_METRICS_BIND": f"127.0.0.1:{port}"} for name, port in ports.items()}
    procs, ep = start_stack(args.bin, work, "metrics", extra=extra)
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    prometheus = None
    try:
        for name in ports:
            check(f"{name}: /readyz says ready", eventually(lambda: http(base[name] + "/readyz")[0] == 200, 60), http(base[name] + "/readyz"))
            check(f"{name}: /healthz says ok", http(base[name] + "/healthz")[0] == 200)
        sample = json.load(open(os.path.join(ROOT, "samples", "hima-2025-05.json")))
        request(ctx, ep["in"], "catalog.put", sample["catalog"])
        ack = request(ctx, ep["in"], "submit", {"reports": sample["reports"]})
        after = {a["stream"]: a["seq"] for a in ack["body"]["accepted"]}
        units = request(ctx, ep["q"], "units", {"entity": {"group": "HIMA"}, "period": "2025-05", "after": after})
        check("the sample goes through", units and units["body"].get("units") == 44454, units)
        request(ctx, ep["q"], "units", {"entity": {"group": "Nobody"}, "period": "2025-05"})
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(ep["qpub"])

        texts = {}
        for name in ports:
            status, text = http(base[name] + "/metrics")
            texts[name] = text
            check(f"{name}: /metrics answers", status == 200 and "# HELP" in text, status)
            lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
            check(f"{name}: promtool check metrics passes", lint.returncode == 0, lint.stdout + lint.stderr)
            check(f"{name}: resident memory", series(text, "delivery_process_resident_bytes").get("", 0) > 1e6)
        stored = series(texts["ingest"], "delivery_reports_stored_total").get("", 0)
        check("ingest: reports stored", stored == len(sample["reports"]), stored)
        check("ingest: submit ack latency histogram", any('type="submit"' in k for k in series(texts["ingest"], "delivery_request_seconds_bucket")))
        check("ingest: requests by type and outcome", any('type="submit"' in k and 'outcome="ok"' in k
                                                          for k in series(texts["ingest"], "delivery_requests_total")))
        check("aggregate: figures published", series(texts["aggregate"], "delivery_figures_published_total").get("", 0) > 0)
        check("aggregate: how far behind each ingest stream (seq), caught up", eventually(
            lambda: list(series(http(base["aggregate"] + "/metrics")[1], "delivery_follower_behind_seq").values()) == [0], 10))
        check("aggregate: behind in seconds", eventually(
            lambda: list(series(http(base["aggregate"] + "/metrics")[1], "delivery_follower_behind_seconds").values()) == [0], 10))
        check("aggregate: its PUB has a subscriber (the replica)", eventually(
            lambda: series(http(base["aggregate"] + "/metrics")[1], "delivery_pub_connections").get("", 0) >= 1, 10))
        check("query: replica staleness per aggregate", eventually(
            lambda: 0 <= min(series(http(base["query"] + "/metrics")[1], "delivery_replica_staleness_seconds").values() or [-1]) < 5, 10))
        check("query: snapshot load time", series(texts["query"], "delivery_snapshot_seconds_count").get("", 0) >= 1)
        check("query: an unknown entity counts as its error code", any('outcome="unknown_entity"' in k
                                                                       for k in series(texts["query"], "delivery_requests_total")))
        check("query: a live subscriber is counted", eventually(
            lambda: series(http(base["query"] + "/metrics")[1], "delivery_pub_connections").get("", 0) >= 1, 10))

        # Debian's prometheus scrapes all three; the series come back through its HTTP API.
        prom_port = free_port()
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: delivery\n    static_configs:\n")
            f.write("      - targets: [" + ", ".join(f"'127.0.0.1:{p}'" for p in ports.values()) + "]\n")
        prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=open(os.path.join(work, "prometheus.log"), "w"), stderr=subprocess.STDOUT)

        def query(expr):
            status, body = http(f"http://127.0.0.1:{prom_port}/api/v1/query?query={urllib.request.quote(expr)}")
            return json.loads(body)["data"]["result"] if status == 200 else []
        check("prometheus scrapes all three services", eventually(
            lambda: len([r for r in query("up") if r["value"][1] == "1"]) == 3, 60), query("up"))
        check("prometheus has the ingest's stored reports", eventually(
            lambda: any(float(r["value"][1]) == stored for r in query("delivery_reports_stored_total")), 30))
        check("prometheus has every service ready", eventually(lambda: len([r for r in query("delivery_ready") if r["value"][1] == "1"]) == 3, 30))

        # Readiness means serving full answers: a replica with no aggregate to load from is
        # alive (/healthz) and not ready (/readyz says why).
        lonely_port = free_port()
        lonely = start_one(args.bin, work, "delivery-query", dict(
            DELIVERY_QUERY_BIND=f"tcp://127.0.0.1:{free_port()}", DELIVERY_QUERY_PUBLISH=f"tcp://127.0.0.1:{free_port()}",
            DELIVERY_AGGREGATE_ENDPOINTS=f"tcp://127.0.0.1:{free_port()}", DELIVERY_AGGREGATE_FEEDS=f"tcp://127.0.0.1:{free_port()}",
            DELIVERY_METRICS_BIND=f"127.0.0.1:{lonely_port}", DELIVERY_INSTANCE="lonely"), "lonely")
        check("a replica with nothing to load is alive", eventually(lambda: http(f"http://127.0.0.1:{lonely_port}/healthz")[0] == 200, 30))
        check("and not ready, saying why", eventually(lambda: http(f"http://127.0.0.1:{lonely_port}/readyz") == (503, "not ready: loading the first snapshot\n"), 10),
              http(f"http://127.0.0.1:{lonely_port}/readyz"))
        lonely.send_signal(signal.SIGTERM)
        check("it stops cleanly with its HTTP port open", lonely.wait(15) == 0)
        bad = start_one(args.bin, work, "delivery-query", dict(DELIVERY_METRICS_BIND="localhost:http", DELIVERY_INSTANCE="bad"), "bad")
        check("a bad DELIVERY_METRICS_BIND stops the service", bad.wait(15) != 0)
        check("naming the setting", "DELIVERY_METRICS_BIND" in open(os.path.join(work, "bad.log")).read())
        # DELIVERY_LOG_FORMAT=json: one JSON object per line, for log shippers.
        jlog = start_one(args.bin, work, "delivery-ingest", dict(
            DELIVERY_LOG_FORMAT="json", DELIVERY_INGEST_BIND=f"tcp://127.0.0.1:{free_port()}",
            DELIVERY_INGEST_PUBLISH=f"tcp://127.0.0.1:{free_port()}", DELIVERY_DATA_DIR=os.path.join(work, "jsonlog"),
            DELIVERY_INSTANCE="jsonlog"), "jsonlog")
        eventually(lambda: "ingest ready" in open(os.path.join(work, "jsonlog.log")).read(), 30)
        jlog.send_signal(signal.SIGTERM)
        check("json logs: the ingest stops cleanly", jlog.wait(15) == 0)
        lines = [line for line in open(os.path.join(work, "jsonlog.log")).read().splitlines() if line.strip()]
        parsed = []
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append(None)
        check("json logs: every line is one JSON object", lines and all(isinstance(p, dict) for p in parsed), lines[:3])
        check("json logs: time, level, service, instance, message, metadata", any(
            p and {"time", "level", "service", "instance", "message", "metadata"} <= set(p) and p["instance"] == "jsonlog"
            and p["message"] == "ingest ready" and "stream" in p["metadata"] for p in parsed), parsed[:2])
        bad = start_one(args.bin, work, "delivery-ingest", dict(DELIVERY_LOG_FORMAT="xml", DELIVERY_DATA_DIR=os.path.join(work, "x")), "badformat")
        check("an unknown DELIVERY_LOG_FORMAT stops the service, naming it", bad.wait(15) != 0
              and "DELIVERY_LOG_FORMAT" in open(os.path.join(work, "badformat.log")).read())
        sub.close()
    finally:
        if prometheus:
            prometheus.terminate()
            prometheus.wait(15)
        code = finish(procs, ctx, work, check)
    return code


if __name__ == "__main__":
    sys.exit(main())
