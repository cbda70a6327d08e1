"""The live feed with the Clone pattern inside: snapshot, then sequenced updates; a gap or a
restarted replica is healed by a new snapshot, without a duplicate or a lost latest value."""
from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import zmq

from ._wire import Requester
from .errors import FeedSilent, NoReply


@dataclass
class Update:
    """One update: `kind` is `figure.changed`, `figure.removed` or `fact`; `snapshot` is true for
    the figures of a (re)load; `body` is the protocol's event body."""

    kind: str
    topic: str
    body: Dict[str, Any]
    stream: Optional[str] = None
    seq: Optional[int] = None
    snapshot: bool = False

    @property
    def key(self) -> Tuple[str, str, str]:
        entity = self.body.get("entity", {})
        return (entity.get("level", ""), entity.get("id", ""), self.body.get("period", ""))


def _same_replica(feed: str, query: str) -> "list[Tuple[str, str]]":
    """(feed, query) pairs, one per address when both endpoints name the same host and that name
    stands for several addresses; else the pair as given."""
    match_feed = re.match(r"^tcp://([^:/\[\]]+):(\d+)$", feed)
    match_query = re.match(r"^tcp://([^:/\[\]]+):(\d+)$", query)
    if not match_feed or not match_query or match_feed.group(1) != match_query.group(1):
        return [(feed, query)]
    host = match_feed.group(1)
    try:
        addresses = sorted({info[4][0] for info in socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)})
    except OSError:
        return [(feed, query)]
    if len(addresses) < 2:
        return [(feed, query)]
    return [(f"tcp://{a}:{match_feed.group(2)}", f"tcp://{a}:{match_query.group(2)}") for a in addresses]


def _key(body: Dict[str, Any]) -> Tuple[str, str, str]:
    entity = body.get("entity", {})
    return (entity.get("level", ""), entity.get("id", ""), body.get("period", ""))


class Subscription:
    """An iterator of `Update`s under a topic prefix. It listens to every topic of one replica's
    PUB (so that its sequence numbers are gapless and a lost message shows), keeps the prefix's,
    and holds the latest value of each figure so that a resync yields only what changed. With
    several replicas (feeds and query endpoints comma-separated, in the same order) it follows one
    and moves to the next when the one it follows falls silent."""

    def __init__(self, context: zmq.Context, feed: str, query: Requester, prefix: str, snapshot: bool, heartbeat_timeout: float,
                 hwm: int = 100000):
        feeds = [f.strip() for f in feed.split(",") if f.strip()]
        queries = [q.strip() for q in query.endpoint.split(",") if q.strip()]
        # The snapshot must come from the replica whose PUB is followed: its numbering is that
        # replica's. A name behind which several replicas stand (a scaled compose service) is
        # resolved here, so that feed and snapshot reach the same one, and each is a replica to
        # move on to.
        self._replicas = []
        for i, f in enumerate(feeds):
            self._replicas += _same_replica(f, queries[i] if i < len(queries) else queries[0])
        self._context = context
        self._curve = query.curve
        self._timeout_ms = query.timeout_ms
        self._hwm = hwm
        self._current = -1
        self.prefix = prefix
        self.heartbeat_timeout = heartbeat_timeout
        self.resyncs = 0
        self.switches = 0
        self._want_snapshot = snapshot
        self._socket: Optional[zmq.Socket] = None
        self._query: Optional[Requester] = None
        self._follow_next()
        self._held: Dict[Tuple[str, str, str], Dict[str, Any]] = {}
        self._stream: Optional[str] = None
        self._seq = 0
        self._pending: list = []
        self._early: list = []
        self._loaded = False

    @property
    def feed(self) -> str:
        return self._replicas[self._current][0]

    def _follow_next(self) -> None:
        """Follows the next replica (the first at the start)."""
        self.close()
        self._current = (self._current + 1) % len(self._replicas)
        feed, query = self._replicas[self._current]
        sub = self._context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, self._hwm)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._curve.secure(sub)
        sub.connect(feed)
        self._socket = sub
        self._query = Requester(self._context, query, self._timeout_ms, retries=0, curve=self._curve)

    def close(self) -> None:
        if getattr(self, "_socket", None) is not None:
            self._socket.close(linger=0)
            self._socket = None
        if getattr(self, "_query", None) is not None:
            self._query.close()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Update]:
        while True:
            yield self.next()

    def on_update(self, callback: Callable[[Update], Any], until: Optional[Callable[[], bool]] = None) -> None:
        """Calls `callback` for each update until `until()` is true (default: forever)."""
        while until is None or not until():
            callback(self.next())

    def next(self, timeout: Optional[float] = None) -> Update:
        """The next update; raises `FeedSilent` when nothing (not even a heartbeat) arrives for
        `heartbeat_timeout` seconds, and `TimeoutError` after `timeout` seconds of no update."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._pending:
                return self._pending.pop(0)
            if self._early:
                self._take(*self._early.pop(0))
                continue
            if not self._loaded:
                try:
                    self._load(first=True)
                except (NoReply, FeedSilent):
                    if len(self._replicas) == 1:
                        raise
                    self._switch()
                continue
            wait = self.heartbeat_timeout
            capped = False
            if deadline is not None and deadline - time.monotonic() < wait:
                wait, capped = max(0.0, deadline - time.monotonic()), True
            if not self._socket.poll(int(wait * 1000) + 1, zmq.POLLIN):
                if capped:
                    raise TimeoutError(f"no update under {self.prefix!r} within {timeout} s")
                if len(self._replicas) == 1 or self._silent_round():
                    raise FeedSilent(self.feed, self.heartbeat_timeout)
                continue
            self._silent_in_a_row = 0
            topic, payload = self._socket.recv_multipart()[:2]
            self._take(topic.decode("utf-8", "replace"), json.loads(payload))

    def _switch(self) -> None:
        """Moves to the next replica; the next turn loads its snapshot (a resync)."""
        self.switches += 1
        self._follow_next()
        self._stream, self._seq = None, 0
        self._early = []
        self._loaded = False
        self._want_snapshot = True  # what differs from what is held is yielded, as in any resync

    def _silent_round(self) -> bool:
        """The followed replica fell silent: moves on; true when every replica was tried in a row."""
        self._silent_in_a_row = getattr(self, "_silent_in_a_row", 0) + 1
        if self._silent_in_a_row >= len(self._replicas):
            self._silent_in_a_row = 0
            return True
        self._switch()
        return False

    # The Clone pattern

    def _heard(self) -> None:
        """Waits for the first message on the feed, so that the subscription is live before the
        snapshot is taken (a message sent between the two is then never missed); what arrives is
        kept and read after the snapshot, which skips what it already reflects."""
        if self._early or not self._socket.poll(int(self.heartbeat_timeout * 1000), zmq.POLLIN):
            if not self._early:
                raise FeedSilent(self.feed, self.heartbeat_timeout)
            return
        topic, payload = self._socket.recv_multipart()[:2]
        self._early.append((topic.decode("utf-8", "replace"), json.loads(payload)))

    def _load(self, first: bool) -> None:
        """Takes a snapshot of the prefix: yields (as pending updates) every figure that differs from
        what is held and a removal for every held figure the snapshot lacks."""
        if first:
            self._heard()
        reply = self._query.request("snapshot", {"prefix": self.prefix if self.prefix.startswith("figure.") else "figure.!none"})
        body = reply["body"]
        positions: Dict[str, int] = body.get("positions", {})
        fresh = {_key(f): f for f in body.get("figures", [])}
        if not first or self._want_snapshot:
            for key, figure in fresh.items():
                if self._held.get(key) != figure:
                    self._pending.append(Update("figure.changed", "", figure, snapshot=True))
            for key, figure in self._held.items():
                if key not in fresh:
                    gone = dict(figure, units=0, previous=figure.get("units", 0), sources=[])
                    self._pending.append(Update("figure.removed", "", gone, snapshot=True))
        self._held = fresh
        # The replica's own stream: updates after its position are new to us.
        if len(positions) == 1:
            ((self._stream, self._seq),) = positions.items()
        else:
            self._stream, self._seq = None, 0
            for stream, seq in positions.items():
                if stream.startswith("query-"):
                    self._stream, self._seq = stream, seq
        self._loaded = True

    def _resync(self) -> None:
        self.resyncs += 1
        self._load(first=False)

    def _take(self, topic: str, event: Dict[str, Any]) -> None:
        stream, seq = event.get("stream"), event.get("seq")
        if topic == "heartbeat":
            body = event.get("body", {})
            stream, seq = body.get("stream", stream), body.get("seq", seq)
            if self._stream is not None and stream != self._stream:
                self._resync()  # another replica epoch: a restart
            elif isinstance(seq, int) and seq > self._seq:
                self._resync()  # the replica sent what we did not get
            return
        if not isinstance(seq, int) or stream is None:
            return
        if self._stream is not None and stream != self._stream:
            self._resync()
            return
        if seq <= self._seq:
            return  # in the snapshot already
        if seq != self._seq + 1:
            self._resync()  # a gap: a message was dropped
            return
        self._seq = seq
        if not topic.startswith(self.prefix):
            return
        kind = event.get("type", "")
        body = event.get("body", {})
        if kind == "figure.changed":
            self._held[_key(body)] = body
        elif kind == "figure.removed":
            self._held.pop(_key(body), None)
        elif kind != "fact":
            return
        self._pending.append(Update(kind, topic, body, stream, seq))
