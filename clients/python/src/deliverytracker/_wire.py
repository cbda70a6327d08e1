"""One request, one reply, over a DEALER socket: never a REQ socket stuck after a lost reply."""
from __future__ import annotations

import itertools
import json
import os
from typing import Any, Dict, Optional

import zmq

from .errors import DeliveryError, NoReply

_ids = itertools.count(1)


class Requester:
    """Sends requests to one endpoint and waits for the reply with the same id. A request that
    gets no reply within `timeout_ms` is sent again on a fresh socket (`retries` times), so a
    restarted service is reached again; replies to earlier attempts are told apart by their id."""

    def __init__(self, context: zmq.Context, endpoint: str, timeout_ms: int = 10000, retries: int = 2):
        self.context = context
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self.retries = retries
        self._socket: Optional[zmq.Socket] = None

    def _open(self) -> zmq.Socket:
        if self._socket is None:
            socket = self.context.socket(zmq.DEALER)
            socket.setsockopt(zmq.LINGER, 0)
            # Several replicas, comma-separated: ZeroMQ spreads the requests between them.
            for endpoint in self.endpoint.split(","):
                socket.connect(endpoint.strip())
            self._socket = socket
        return self._socket

    def _reset(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def close(self) -> None:
        self._reset()

    def request(self, type_: str, body: Optional[Dict[str, Any]] = None, timeout_ms: Optional[int] = None) -> Dict[str, Any]:
        """The reply's envelope; an `error` reply raises `DeliveryError`."""
        request_id = f"py-{os.getpid()}-{next(_ids)}"
        payload = json.dumps({"v": 1, "type": type_, "id": request_id, "body": body or {}}).encode()
        wait = timeout_ms if timeout_ms is not None else self.timeout_ms
        attempts = self.retries + 1
        for _ in range(attempts):
            socket = self._open()
            socket.send_multipart([b"", payload])
            while socket.poll(wait, zmq.POLLIN):
                frames = socket.recv_multipart()
                try:
                    reply = json.loads(frames[-1])
                except ValueError:
                    continue
                if reply.get("id") != request_id:
                    continue  # a late reply to an earlier attempt
                if reply.get("type") == "error":
                    error = reply.get("body") or {}
                    raise DeliveryError(error.get("code", "error"), error.get("message", ""), error.get("details"), request_id)
                return reply
            self._reset()
        raise NoReply(self.endpoint, wait, attempts)
