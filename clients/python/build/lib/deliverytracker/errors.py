"""Errors a DeliveryTracker service answers with, as exceptions."""
from __future__ import annotations

from typing import Any, Dict, Optional


class DeliveryError(Exception):
    """An `error` reply: `code` is the protocol's error code (`invalid_query`, `unknown_entity`,
    `stale`, …), `details` its details (`field`, `index`, …)."""

    def __init__(self, code: str, message: str, details: Optional[Dict[str, Any]] = None, request_id: Any = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}
        self.request_id = request_id


class NoReply(DeliveryError):
    """No reply within the timeout after every retry: the endpoint is named."""

    def __init__(self, endpoint: str, timeout_ms: int, attempts: int):
        super().__init__("no_reply", f"no reply from {endpoint} within {timeout_ms} ms ({attempts} attempts); is the service running?")
        self.endpoint = endpoint


class FeedSilent(DeliveryError):
    """A live feed on which nothing, not even a heartbeat, arrived for several beats."""

    def __init__(self, endpoint: str, seconds: float):
        super().__init__("feed_silent", f"no heartbeat from {endpoint} for {seconds:.1f} s; is a query replica publishing there?")
        self.endpoint = endpoint
