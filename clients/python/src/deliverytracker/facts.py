"""Facts with a history: every fact (record, streak, milestone) since a token, each once, then the
live ones; a script that stops keeps `token` and resumes from it (docs/PROTOCOL.md, "Facts with a
history")."""
from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, Deque, Dict, Iterator, List, Optional, Tuple

import zmq

from ._wire import Requester
from .errors import DeliveryError, FeedSilent


def parse_token(token: str) -> Dict[str, int]:
    """A token as {history: number}; the empty token is {}."""
    out: Dict[str, int] = {}
    for part in filter(None, token.split(",")):
        history, _, number = part.partition(":")
        out[history] = int(number)
    return out


def format_token(positions: Dict[str, int]) -> str:
    return ",".join(f"{h}:{n}" for h, n in sorted(positions.items()))


def facts_since(query: Requester, token: str, prefix: Optional[str] = None, limit: int = 1000) -> Tuple[List[Dict[str, Any]], str]:
    """Every fact after `token` (answer by answer while `more`), and the token after them."""
    facts: List[Dict[str, Any]] = []
    while True:
        body: Dict[str, Any] = {"since": token, "limit": limit}
        if prefix:
            body["prefix"] = prefix
        reply = query.request("facts", body)["body"]
        facts += reply["facts"]
        token = reply["token"]
        if not reply["more"]:
            return facts, token


class FactFeed:
    """An iterator of fact bodies after a token: first those stated since (from the `facts`
    request), then the live `fact` events of one replica's feed, each once. A gap in a history's
    numbers, a restarted replica (a new stream) or a feed back after silence is caught up from the
    token. `token` always stands after the last fact yielded: keep it with what you keep of the
    facts, and resume with `Client.follow_facts(token)`."""

    def __init__(self, context: zmq.Context, feed: str, query: Requester, token: str, prefix: str, heartbeat_timeout: float):
        self.prefix = prefix
        self.heartbeat_timeout = heartbeat_timeout
        self._positions = parse_token(token)
        self._query = query
        self._socket = context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        self._socket.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
        query.curve.secure(self._socket)
        self._feed = feed.split(",")[0].strip()
        self._socket.connect(self._feed)
        self._pending: Deque[Dict[str, Any]] = deque()
        self._after_pending: Optional[str] = None
        self._stream: Optional[str] = None
        self._silent = False
        self.catch_ups = 0

    @property
    def token(self) -> str:
        return format_token(self._positions)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def __enter__(self) -> "FactFeed":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        while True:
            yield self.next()

    def _covers(self, fact: Dict[str, Any]) -> bool:
        return fact["number"] <= self._positions.get(fact["history"], 0)

    def _saw(self, fact: Dict[str, Any]) -> Dict[str, Any]:
        self._positions[fact["history"]] = max(self._positions.get(fact["history"], 0), fact["number"])
        return fact

    def _catch_up(self) -> None:
        self.catch_ups += 1
        facts, token = facts_since(self._query, self.token, self.prefix)
        self._pending.extend(f for f in facts if not self._covers(f))
        # The answer's token also moves past facts the prefix left out: taken once they are yielded.
        self._after_pending = token

    def _from_pending(self) -> Optional[Dict[str, Any]]:
        while self._pending:
            fact = self._pending.popleft()
            if not self._covers(fact):
                return self._saw(fact)
        if self._after_pending is not None:
            for history, number in parse_token(self._after_pending).items():
                self._positions[history] = max(self._positions.get(history, 0), number)
            self._after_pending = None
        return None

    def next(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """The next fact (its body, with `history` and `number`); `TimeoutError` after `timeout` s
        without one, `FeedSilent` when the replica says nothing (not even a heartbeat) for
        `heartbeat_timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            fact = self._from_pending()
            if fact is not None:
                return fact
            wait = self.heartbeat_timeout if deadline is None else min(self.heartbeat_timeout, max(deadline - time.monotonic(), 0))
            if not self._socket.poll(int(wait * 1000), zmq.POLLIN):
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"no fact under {self.prefix!r} within {timeout} s")
                self._silent = True
                raise FeedSilent(self._feed, self.heartbeat_timeout)
            topic, payload = self._socket.recv_multipart()[:2]
            event = json.loads(payload)
            if event.get("stream") != self._stream or self._silent:
                # The subscription is live (first message), the replica restarted, or the feed is
                # back: what was stated meanwhile comes from the history.
                self._stream, self._silent = event.get("stream"), False
                self._catch_up()
                continue
            if event.get("type") != "fact" or not topic.decode("utf-8", "replace").startswith(self.prefix):
                continue
            fact = event["body"]
            if self._covers(fact):
                continue
            if fact["number"] > self._positions.get(fact["history"], 0) + 1:
                self._catch_up()  # a fact went missing on the way: the history has it
                continue
            return self._saw(fact)


__all__ = ["FactFeed", "DeliveryError", "facts_since", "format_token", "parse_token"]
