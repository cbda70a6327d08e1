"""One request, one reply, over a DEALER socket: never a REQ socket stuck after a lost reply."""
from __future__ import annotations

import itertools
import json
import os
from typing import Any, Dict, Optional

import zmq

from .errors import DeliveryError, NoReply

_ids = itertools.count(1)


class Curve:
    """CURVE as `deliveries` takes it: the service's public key (`DELIVERY_SERVER_KEY`) turns it on;
    this client's own key pair comes from a key file (`DELIVERY_CURVE_KEY_FILE`, as `deliveries
    keygen` writes it: a `secret-key = …` line or the key alone), else a new pair is made."""

    def __init__(self, server_key: Optional[str] = None, key_file: Optional[str] = None):
        self.server_key = server_key if server_key is not None else os.environ.get("DELIVERY_SERVER_KEY")
        key_file = key_file if key_file is not None else os.environ.get("DELIVERY_CURVE_KEY_FILE")
        self.public_key = self.secret_key = None
        if not self.server_key:
            return
        if len(self.server_key) != 40:
            raise ValueError("the server key must be 40 characters of Z85")
        if key_file:
            secret = self.read_secret(key_file)
            self.public_key, self.secret_key = zmq.curve_public(secret.encode()), secret.encode()
        else:
            self.public_key, self.secret_key = zmq.curve_keypair()

    @staticmethod
    def read_secret(path: str) -> str:
        for line in open(path, encoding="utf-8"):
            text = line.strip()
            if text.startswith("secret-key"):
                text = text.split("=", 1)[-1].strip()
            if len(text) == 40 and not text.startswith("#"):
                return text
        raise ValueError(f"{path} holds no CURVE secret key (write one with deliveries keygen)")

    def secure(self, socket: zmq.Socket) -> None:
        if self.server_key:
            socket.curve_serverkey = self.server_key.encode()
            socket.curve_publickey = self.public_key
            socket.curve_secretkey = self.secret_key


class Requester:
    """Sends requests to one endpoint and waits for the reply with the same id. A request that
    gets no reply within `timeout_ms` is sent again on a fresh socket (`retries` times), so a
    restarted service is reached again; replies to earlier attempts are told apart by their id."""

    def __init__(self, context: zmq.Context, endpoint: str, timeout_ms: int = 10000, retries: int = 2, curve: Optional[Curve] = None):
        self.context = context
        self.curve = curve or Curve("")
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self.retries = retries
        self._socket: Optional[zmq.Socket] = None

    def _open(self) -> zmq.Socket:
        if self._socket is None:
            socket = self.context.socket(zmq.DEALER)
            socket.setsockopt(zmq.LINGER, 0)
            self.curve.secure(socket)
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
