#!/usr/bin/env python3
"""The deployment manifests, checked offline (no cluster or Docker engine here): the Kustomize base
and overlay render with `kubectl kustomize` and pass `kubernetes-validate --strict`; every endpoint
in every service's environment names a Service (or a StatefulSet pod under its headless Service)
and a port that exist; every container is probed over HTTP on /healthz and /readyz; the Swarm stack
file passes `docker stack config`, and the compose files' endpoints name their services."""
import os, re, shutil, subprocess, sys
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally  # noqa: E402

check = Tally()
ENDPOINT_VARS = ("DELIVERY_INGEST_ENDPOINTS", "DELIVERY_INGEST_FEEDS", "DELIVERY_AGGREGATE_ENDPOINTS", "DELIVERY_AGGREGATE_FEEDS",
                 "DELIVERY_ENDPOINT", "DELIVERY_FEED")


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def check_kubernetes(name, path):
    rendered = run("kubectl", "kustomize", path)
    check(f"{name}: kubectl kustomize renders", rendered.returncode == 0, rendered.stderr)
    if rendered.returncode != 0:
        return
    out = os.path.join(ROOT, ".build", f"k8s-{name}.yaml")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    open(out, "w").write(rendered.stdout)
    valid = run("kubernetes-validate", "--strict", out)
    check(f"{name}: kubernetes-validate --strict passes", valid.returncode == 0, valid.stdout[-2000:] + valid.stderr[-2000:])
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    kinds = {d["kind"] for d in docs}
    for kind in ("StatefulSet", "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget"):
        check(f"{name}: has a {kind}", kind in kinds)
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    sets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "StatefulSet"}
    workloads = [d for d in docs if d["kind"] in ("StatefulSet", "Deployment")]

    def labels_match(selector, labels):
        return all(labels.get(k) == v for k, v in selector.items())

    def container_ports(service):
        ports = set()
        for w in workloads:
            if labels_match(service["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"]):
                for c in w["spec"]["template"]["spec"]["containers"]:
                    ports |= {p["containerPort"] for p in c.get("ports", [])}
        return ports

    for w in workloads:
        wname = w["metadata"]["name"]
        for c in w["spec"]["template"]["spec"]["containers"]:
            if not (c.get("command") or [""])[0].startswith("delivery-"):
                continue  # not one of ours (the PostgreSQL of the postgres overlay)
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            secret_env = {e["name"] for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
            # The page serves its health on its own HTTP port; the other services on the metrics port.
            web = c.get("command") == ["delivery-web"]
            if web:
                check(f"{name}: {wname} serves the page on 8080", env.get("DELIVERY_WEB_BIND") == "0.0.0.0:8080")
            else:
                check(f"{name}: {wname} serves metrics on 9100", env.get("DELIVERY_METRICS_BIND") == "0.0.0.0:9100")
            health_port = "http" if web else "metrics"
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                get = c.get(probe, {}).get("httpGet", {})
                check(f"{name}: {wname} {probe} is GET {path} on the {health_port} port", get.get("path") == path and get.get("port") == health_port, get)
            instance = [e for e in c.get("env", []) if e["name"] == "DELIVERY_INSTANCE"]
            if "DELIVERY_DATABASE_URL" in env or "DELIVERY_DATABASE_URL" in secret_env:
                # With PostgreSQL the instance name is the writer's, fixed: its stream continues across pods.
                check(f"{name}: {wname} has a fixed writer name and one pod at a time", instance and instance[0].get("value")
                      and w["kind"] == "Deployment" and w["spec"].get("replicas") == 1 and w["spec"].get("strategy", {}).get("type") == "Recreate")
                check(f"{name}: {wname} reads the database URL from a Secret", "DELIVERY_DATABASE_URL" in secret_env)
                secrets = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
                ref = [e for e in c["env"] if e["name"] == "DELIVERY_DATABASE_URL"][0]["valueFrom"]["secretKeyRef"]["name"]
                check(f"{name}: {wname}'s Secret {ref} is in the render", ref in secrets, str(secrets))
                check(f"{name}: {wname} keeps nothing on disk", not c.get("volumeMounts"))
            else:
                check(f"{name}: {wname} takes its instance name from its pod", instance and
                      instance[0].get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name")
            lists = {var: (env.get(var) or "").split(",") for var in ENDPOINT_VARS if var in env}
            if "DELIVERY_INGEST_ENDPOINTS" in lists:
                check(f"{name}: {wname} lists as many ingest endpoints as feeds",
                      len(lists["DELIVERY_INGEST_ENDPOINTS"]) == len(lists["DELIVERY_INGEST_FEEDS"]))
            for var, endpoints in lists.items():
                for endpoint in endpoints:
                    m = re.fullmatch(r"tcp://([a-z0-9.-]+):(\d+)", endpoint)
                    check(f"{name}: {wname} {var} '{endpoint}' is tcp://host:port", m is not None)
                    if not m:
                        continue
                    host, port = m.group(1), int(m.group(2))
                    parts = host.split(".")
                    service = services.get(parts[-1])
                    check(f"{name}: {wname} {var} '{endpoint}' names a Service", service is not None, sorted(services))
                    if not service:
                        continue
                    check(f"{name}: {wname} {var} '{endpoint}': the Service has port {port}",
                          port in {p["port"] for p in service["spec"]["ports"]} and port in container_ports(service))
                    if len(parts) == 2:
                        pod = re.fullmatch(r"(.+)-(\d+)", parts[0])
                        owner = sets.get(pod.group(1)) if pod else None
                        check(f"{name}: {wname} {var} '{endpoint}' names a pod of a StatefulSet under that headless Service",
                              owner is not None and owner["spec"]["serviceName"] == parts[1]
                              and int(pod.group(2)) < owner["spec"].get("replicas", 1)
                              and service["spec"].get("clusterIP") == "None")


def check_compose():
    for files in (["deploy/docker-compose.yml"], ["deploy/docker-compose.yml", "deploy/docker-compose.scaled.yml"],
                  ["deploy/docker-compose.yml", "deploy/docker-compose.postgres.yml"]):
        args = ["docker-compose"] + sum((["-f", os.path.join(ROOT, f)] for f in files), []) + ["config"]
        out = run(*args)
        check(f"compose {' + '.join(files)} is valid", out.returncode == 0, out.stderr)
        if out.returncode != 0:
            continue
        doc = yaml.safe_load(out.stdout)
        names = set(doc["services"])
        for sname, svc in doc["services"].items():
            env = svc.get("environment") or {}
            for var in ENDPOINT_VARS:
                for endpoint in (env.get(var) or "").split(","):
                    if endpoint:
                        host = re.fullmatch(r"tcp://([a-z0-9.-]+):\d+", endpoint)
                        check(f"compose: {sname} {var} '{endpoint}' names a service", host and host.group(1) in names)
            url = env.get("DELIVERY_DATABASE_URL")
            if url:
                host = re.fullmatch(r"postgres(?:ql)?://[^@]+@([a-z0-9.-]+):\d+/\w+", url)
                check(f"compose: {sname} DELIVERY_DATABASE_URL names a service", host and host.group(1) in names, url)
    stack = run("docker", "stack", "config", "-c", os.path.join(ROOT, "deploy", "docker-stack.yml"))
    check("docker stack config accepts deploy/docker-stack.yml", stack.returncode == 0, stack.stderr)
    if stack.returncode == 0:
        doc = yaml.safe_load(stack.stdout)
        for sname, svc in doc["services"].items():
            check(f"swarm: {sname} has a restart policy and replicas", "restart_policy" in svc.get("deploy", {}) and "replicas" in svc.get("deploy", {}))
            check(f"swarm: {sname} is probed on /readyz", "/readyz" in " ".join(svc.get("healthcheck", {}).get("test", [])))
        for sname in ("ingest", "aggregate"):
            check(f"swarm: {sname} is placed where its volume is", doc["services"][sname]["deploy"].get("placement", {}).get("constraints"))


def main():
    missing = [tool for tool in ("kubectl", "kubernetes-validate", "docker", "docker-compose") if not shutil.which(tool)]
    if missing:
        print(f"missing: {', '.join(missing)} (kubectl is on the image; pip install kubernetes-validate; "
              "Debian's docker-compose; the docker client)", file=sys.stderr)
        return 1
    check_kubernetes("base", os.path.join(ROOT, "deploy", "k8s", "base"))
    check_kubernetes("scaled", os.path.join(ROOT, "deploy", "k8s", "overlays", "scaled"))
    check_kubernetes("postgres", os.path.join(ROOT, "deploy", "k8s", "overlays", "postgres"))
    check_compose()
    print(check.summary())
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
