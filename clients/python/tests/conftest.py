"""Starts the real executables on free loopback ports for the package's tests: DELIVERY_BIN names
the folder of the built executables (default: the repository's .build/release, else .build/debug)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "samples" / "hima-2025-05.json"


def executables() -> Path:
    if os.environ.get("DELIVERY_BIN"):
        return Path(os.environ["DELIVERY_BIN"])
    for config in ("release", "debug"):
        folder = ROOT / ".build" / config
        if (folder / "delivery-query").exists():
            return folder
    raise RuntimeError("build the services first (swift build), or set DELIVERY_BIN")


def free_ports(count: int) -> List[int]:
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def eventually(condition, seconds: float = 20.0, step: float = 0.05):
    """Waits for `condition()` to be true, up to a deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not true within {seconds} s: {condition}")


class Stack:
    """One ingest, one aggregate and one query replica as local processes."""

    def __init__(self, data: Path):
        self.bin = executables()
        self.data = data
        p = free_ports(6)
        self.ingest = f"tcp://127.0.0.1:{p[0]}"
        self.ingest_pub = f"tcp://127.0.0.1:{p[1]}"
        self.aggregate_pub = f"tcp://127.0.0.1:{p[2]}"
        self.aggregate = f"tcp://127.0.0.1:{p[3]}"
        self.query = f"tcp://127.0.0.1:{p[4]}"
        self.feed = f"tcp://127.0.0.1:{p[5]}"
        self.processes: Dict[str, subprocess.Popen] = {}
        self.env = {
            "ingest": {"DELIVERY_INGEST_BIND": self.ingest, "DELIVERY_INGEST_PUBLISH": self.ingest_pub,
                       "DELIVERY_DATA_DIR": str(data / "ingest"), "DELIVERY_INSTANCE": "py"},
            "aggregate": {"DELIVERY_AGGREGATE_PUBLISH": self.aggregate_pub, "DELIVERY_AGGREGATE_BIND": self.aggregate,
                          "DELIVERY_INGEST_ENDPOINTS": self.ingest, "DELIVERY_INGEST_FEEDS": self.ingest_pub,
                          "DELIVERY_DATA_DIR": str(data / "aggregate"), "DELIVERY_INSTANCE": "py"},
            "query": {"DELIVERY_QUERY_BIND": self.query, "DELIVERY_QUERY_PUBLISH": self.feed,
                      "DELIVERY_AGGREGATE_ENDPOINTS": self.aggregate, "DELIVERY_AGGREGATE_FEEDS": self.aggregate_pub,
                      "DELIVERY_INSTANCE": "py"},
        }

    def start(self, name: str, program: str = "") -> None:
        """Starts `delivery-<program>` (default: the name) with the settings kept under `name`."""
        (self.data / name).mkdir(parents=True, exist_ok=True)
        with open(self.data / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                [str(self.bin / f"delivery-{program or name}")], env={**os.environ, **self.env[name]}, stdout=log, stderr=subprocess.STDOUT
            )

    def replica(self, name: str, **settings: str) -> "tuple[str, str]":
        """Starts another query replica of the same aggregate on free ports; its query and feed endpoints."""
        query, feed = (f"tcp://127.0.0.1:{p}" for p in free_ports(2))
        self.env[name] = dict(self.env["query"], DELIVERY_QUERY_BIND=query, DELIVERY_QUERY_PUBLISH=feed, DELIVERY_INSTANCE=name, **settings)
        self.start(name, "query")
        return query, feed

    def kill9(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()


def until_units(feed, key, units, seconds: float = 30.0) -> None:
    """Reads the feed until the figure `key` (level, id, period) has `units`, up to a deadline."""
    seen = {}

    def reached():
        update = feed.next(timeout=seconds)
        seen[update.key] = update.body["units"]
        return seen.get(key) == units
    eventually(reached, seconds)


@pytest.fixture(scope="module")
def stack():
    from deliverytracker import Client, DeliveryError

    with tempfile.TemporaryDirectory() as folder:
        running = Stack(Path(folder))
        try:
            for name in ("ingest", "aggregate", "query"):
                running.start(name)
            client = Client(query=running.query, ingest=running.ingest, feed=running.feed, timeout_ms=2000)

            def ready():
                try:
                    client.status()
                    client.put_catalog(json.loads(SAMPLE.read_text())["catalog"])
                    return True
                except DeliveryError:
                    return False
            eventually(ready, 30)
            sample = json.loads(SAMPLE.read_text())
            running.loaded = client.submit(sample["reports"])
            client.close()
            yield running
        finally:
            running.stop()


@pytest.fixture()
def client(stack):
    from deliverytracker import Client

    with Client(query=stack.query, ingest=stack.ingest, feed=stack.feed, timeout_ms=3000) as c:
        yield c
