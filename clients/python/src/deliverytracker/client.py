"""`Client`: every query of docs/PROTOCOL.md as a method, submissions and the live feed."""
from __future__ import annotations

import csv
import copy
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import zmq

from ._wire import Curve, Requester
from .facts import FactFeed, facts_since
from .feed import Subscription
from .results import Answer, Brief, Panel, Ranking, Series, Units, answer


def entity(group: Optional[str] = None, brand: Optional[str] = None, model: Optional[str] = None,
           market: bool = False, segment: Optional[str] = None) -> Dict[str, Any]:
    """An entity as a request names it: the deepest level and, where needed, its parents."""
    if segment is not None:
        return {"segment": segment}
    named = {k: v for k, v in (("group", group), ("brand", brand), ("model", model)) if v is not None}
    if not named and not market:
        raise ValueError("name an entity: group=, brand=, model=, market=True or segment=")
    return named or {"market": True}


@dataclass
class Submitted:
    """What `submit` stored: each report's ack, and `after`, the read-your-writes token every
    query method takes."""

    accepted: List[Dict[str, Any]] = field(default_factory=list)
    after: Dict[str, int] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return sum(1 for a in self.accepted if a.get("duplicate"))


class Client:
    """Queries go to `query` (default `DELIVERY_QUERY`, else tcp://127.0.0.1:5554), submissions to
    `ingest` (`DELIVERY_INGEST`, else tcp://127.0.0.1:5550), the live feed comes from `feed`
    (`DELIVERY_FEED`, else tcp://127.0.0.1:5555)."""

    def __init__(self, query: Optional[str] = None, ingest: Optional[str] = None, feed: Optional[str] = None,
                 timeout_ms: int = 10000, retries: int = 2, context: Optional[zmq.Context] = None,
                 server_key: Optional[str] = None, key_file: Optional[str] = None):
        self.context = context or zmq.Context.instance()
        # CURVE as `deliveries` takes it (DELIVERY_SERVER_KEY, DELIVERY_CURVE_KEY_FILE).
        self.curve = Curve(server_key, key_file)
        self.query_endpoint = query or os.environ.get("DELIVERY_QUERY") or os.environ.get("DELIVERY_ENDPOINT") or "tcp://127.0.0.1:5554"
        self.ingest_endpoint = ingest or os.environ.get("DELIVERY_INGEST") or "tcp://127.0.0.1:5550"
        self.feed_endpoint = feed or os.environ.get("DELIVERY_FEED") or "tcp://127.0.0.1:5555"
        self._query = Requester(self.context, self.query_endpoint, timeout_ms, retries, self.curve)
        self._ingest = Requester(self.context, self.ingest_endpoint, timeout_ms, retries, self.curve)
        # The measure and powertrain every query of this client asks for (None: deliveries, the
        # whole figure); see `measured`.
        self.measure: Optional[str] = None
        self.powertrain: Optional[str] = None
        # The moment every query of this client is answered as of (None: now); see `known_at`.
        self.moment: Optional[str] = None

    def known_at(self, moment: str) -> "Client":
        """The same connections, answering every query as of a past moment (RFC 3339,
        `2025-06-02T00:00:00Z`): from the reports known then, as if later ones had never come.
        Answers then carry `knownAt`."""
        other = copy.copy(self)
        other.moment = moment
        return other

    def measured(self, measure: Optional[str] = None, powertrain: Optional[str] = None) -> "Client":
        """The same connections, asking every query of another measure's figures (`retail`,
        `wholesale`, `registrations`, `production`, `exports`) and/or one powertrain's (`BEV`,
        `PHEV`, `EREV`, `FCEV`, `HEV`, `ICE`, or the groups `NEV` and `plug-in`):
        `client.measured("retail").units(...)`, `client.measured(powertrain="BEV").share(...)`.
        Answers then carry `measure` and `powertrain`, and a brief words them as what they are.
        A ranking ranks by that powertrain's figures (`byPowertrain`)."""
        other = copy.copy(self)
        other.measure = measure if measure is not None else self.measure
        other.powertrain = powertrain if powertrain is not None else self.powertrain
        return other

    def close(self) -> None:
        self._query.close()
        self._ingest.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # Any query

    def query(self, kind: str, body: Optional[Dict[str, Any]] = None, after: Optional[Dict[str, int]] = None,
              timeout_ms: Optional[int] = None) -> Answer:
        """Any query kind with its body as docs/PROTOCOL.md gives it; `after` (a `Submitted.after`)
        makes the replica answer once it reflects those writes."""
        body = dict(body or {})
        if after:
            body["after"] = dict(after)
        if self.measure and "measure" not in body:
            body["measure"] = self.measure
        if self.moment and "knownAt" not in body:
            body["knownAt"] = self.moment
        if self.powertrain and "powertrain" not in body:
            body["powertrain"] = self.powertrain
            if kind == "ranking":
                # A ranking's own `powertrain` filters models by catalog; this one ranks by figures.
                body["byPowertrain"] = True
        return answer(self._query.request(kind, body, timeout_ms))

    # One method per kind

    def units(self, period: str, source: Optional[str] = None, after: Optional[Dict[str, int]] = None,
              compare: Optional[str] = None, **names: Any) -> Units:
        """`compare`: another measure's figure of the same entity and period beside it
        (`answer["compared"]`: its units, the difference and the ratio)."""
        body: Dict[str, Any] = {"entity": entity(**names), "period": period}
        if source:
            body["source"] = source
        if compare:
            body["compare"] = compare
        return self.query("units", body, after)  # type: ignore[return-value]

    def share(self, period: str, of: Optional[Dict[str, Any]] = None, after: Optional[Dict[str, int]] = None,
              of_powertrain: Optional[str] = None, **names: Any) -> Answer:
        """With a powertrain (`measured(powertrain=...)`), `of_powertrain` names the whole's:
        `NEV`, `plug-in`, or `all` (the default without `of`: the entity's whole figure)."""
        body: Dict[str, Any] = {"entity": entity(**names), "period": period}
        if of:
            body["of"] = entity(**of)
        if of_powertrain:
            body["ofPowertrain"] = of_powertrain
        return self.query("share", body, after)

    def growth(self, period: str, vs: str = "mom", after: Optional[Dict[str, int]] = None, **names: Any) -> Answer:
        return self.query("growth", {"entity": entity(**names), "period": period, "vs": vs}, after)

    def revisions(self, period: str, source: Optional[str] = None, after: Optional[Dict[str, int]] = None, **names: Any) -> Answer:
        """Every value a figure has had, per source: `reports` (each with `change` from its source's
        value before), `first`, `latest` and `largest`."""
        body: Dict[str, Any] = {"entity": entity(**names), "period": period}
        if source:
            body["source"] = source
        return self.query("revisions", body, after)

    def ytd(self, period: str, after: Optional[Dict[str, int]] = None, **names: Any) -> Answer:
        return self.query("ytd", {"entity": entity(**names), "period": period}, after)

    def ranking(self, period: str, level: str = "model", within_group: Optional[str] = None, within_brand: Optional[str] = None,
                segment: Optional[str] = None, powertrain: Optional[str] = None, top: Optional[int] = None,
                after: Optional[Dict[str, int]] = None) -> Ranking:
        body: Dict[str, Any] = {"period": period, "level": level}
        if within_brand or within_group:
            body["within"] = entity(group=within_group if not within_brand else None, brand=within_brand)
        for key, value in (("segment", segment), ("powertrain", powertrain), ("top", top)):
            if value is not None:
                body[key] = value
        return self.query("ranking", body, after)  # type: ignore[return-value]

    def streak(self, period: str, segment: Optional[str] = None, at_least: Optional[int] = None, at_most: Optional[int] = None,
               growth: Optional[str] = None, direction: Optional[str] = None, after: Optional[Dict[str, int]] = None,
               **names: Any) -> Answer:
        body: Dict[str, Any] = {"period": period}
        if segment is not None:
            body["segment"] = segment
        if names:
            body["entity"] = entity(**names)
        condition = {k: v for k, v in (("atLeast", at_least), ("atMost", at_most), ("growth", growth), ("direction", direction)) if v is not None}
        if condition:
            body["condition"] = condition
        return self.query("streak", body, after)

    def series(self, start: str, end: str, granularity: Optional[str] = None, after: Optional[Dict[str, int]] = None,
               **names: Any) -> Series:
        body: Dict[str, Any] = {"entity": entity(**names), "from": start, "to": end}
        if granularity:
            body["granularity"] = granularity
        return self.query("series", body, after)  # type: ignore[return-value]

    def panel(self, entities: Iterable[Union[Dict[str, Any], str]], start: str, end: str, granularity: Optional[str] = None,
              after: Optional[Dict[str, int]] = None) -> Panel:
        """Many entities over `start`…`end` in one round trip. An entity is a dict of names
        (`{"brand": "AITO"}`) or a `level:name` string (`"brand:AITO"`)."""
        selectors = []
        for item in entities:
            if isinstance(item, str):
                level, _, name = item.partition(":")
                selectors.append(entity(market=True) if level == "market" else entity(**{level: name}))
            else:
                selectors.append(entity(**item))
        body: Dict[str, Any] = {"entities": selectors, "from": start, "to": end}
        if granularity:
            body["granularity"] = granularity
        return self.query("panel", body, after)  # type: ignore[return-value]

    def reconcile(self, period: str, after: Optional[Dict[str, int]] = None, **names: Any) -> Answer:
        return self.query("reconcile", {"entity": entity(**names), "period": period}, after)

    def record(self, period: str, after: Optional[Dict[str, int]] = None, **names: Any) -> Answer:
        return self.query("record", {"entity": entity(**names), "period": period}, after)

    def cumulative(self, period: str, milestone: Optional[int] = None, after: Optional[Dict[str, int]] = None, **names: Any) -> Answer:
        body: Dict[str, Any] = {"entity": entity(**names), "period": period}
        if milestone is not None:
            body["milestone"] = milestone
        return self.query("cumulative", body, after)

    def brief(self, period: str, after: Optional[Dict[str, int]] = None, **names: Any) -> Brief:
        return self.query("brief", {"entity": entity(**names), "period": period}, after)  # type: ignore[return-value]

    def convert(self, amount: float, from_: str, to: str) -> Answer:
        return self.query("convert", {"amount": amount, "from": from_, "to": to})

    def catalog(self) -> Answer:
        return self.query("catalog", {})

    def status(self) -> Answer:
        return self.query("status", {})

    # Writing

    def submit(self, reports: Union[Iterable[Dict[str, Any]], str, "os.PathLike[str]", Any], batch: int = 1000) -> Submitted:
        """Stores reports (a list of dicts, a CSV file's path with a header row, or a pandas
        DataFrame) in batches of `batch`; each batch is atomic. Returns the acks and `after`."""
        rows = _rows(reports)
        result = Submitted()
        for start in range(0, len(rows), batch):
            reply = self._ingest.request("submit", {"reports": rows[start:start + batch]})
            for ack in reply["body"]["accepted"]:
                ack = dict(ack)
                ack["index"] = ack.get("index", 0) + start
                result.accepted.append(ack)
                result.after[ack["stream"]] = max(result.after.get(ack["stream"], 0), ack["seq"])
        return result

    def put_catalog(self, catalog: Dict[str, Any]) -> Dict[str, Any]:
        """`catalog.put`: merges a catalog document (groups, brands, models, segments, fx)."""
        return self._ingest.request("catalog.put", catalog)["body"]

    # Facts with a history

    def facts(self, since: Optional[str] = None, limit: Optional[int] = None, prefix: Optional[str] = None) -> Dict[str, Any]:
        """`facts`: the facts stated after the token `since` (at most `limit`, under `prefix` such
        as `fact.hima.`), as the reply's body: `facts`, `token` (ask `since` it next), `more`,
        `histories`. Without `since`: the latest facts kept and the current token."""
        body: Dict[str, Any] = {}
        if since is not None:
            body["since"] = since
        if limit is not None:
            body["limit"] = limit
        if prefix is not None:
            body["prefix"] = prefix
        return self._query.request("facts", body)["body"]

    def facts_since(self, token: str, prefix: Optional[str] = None) -> Tuple[List[Dict[str, Any]], str]:
        """Every fact after `token` (the empty token: every fact kept), answer by answer, and the
        token after them."""
        return facts_since(self._query, token, prefix)

    def follow_facts(self, token: Optional[str] = None, prefix: str = "fact.", heartbeat_timeout: float = 5.0) -> FactFeed:
        """The facts after `token`, then the live ones, each once, across replica restarts
        (`FactFeed`); its `token` stands after the last fact yielded. Without `token`: from now."""
        if token is None:
            token = self.facts(limit=1, prefix=prefix)["token"]
        return FactFeed(self.context, self.feed_endpoint, self._query, token, prefix, heartbeat_timeout)

    # The live feed

    def subscribe(self, prefix: str = "figure.", snapshot: bool = True, heartbeat_timeout: float = 5.0, hwm: int = 100000) -> Subscription:
        """Live updates under a topic prefix (`figure.hima.`, `fact.`), Clone pattern inside: the
        snapshot first (yielded when `snapshot`), then each update once, in order; a gap (past
        `hwm` queued messages the replica drops) or a restarted replica is healed by a new
        snapshot; a replica silent for `heartbeat_timeout` s raises `FeedSilent` (or, with several,
        the next one is followed)."""
        return Subscription(self.context, self.feed_endpoint, self._query, prefix, snapshot, heartbeat_timeout, hwm)


_NUMBERS = ("units", "segmentRank", "low", "high")


def _rows(reports: Any) -> List[Dict[str, Any]]:
    if isinstance(reports, (str, os.PathLike)):
        with open(reports, newline="", encoding="utf-8-sig") as handle:
            return [_typed({k: v for k, v in row.items() if v not in (None, "")}) for row in csv.DictReader(handle)]
    if hasattr(reports, "to_dict") and hasattr(reports, "columns"):
        records = reports.to_dict("records")
        return [_typed({k: v for k, v in row.items() if v is not None and v == v}) for row in records]
    return [dict(r) for r in reports]


def _typed(row: Dict[str, Any]) -> Dict[str, Any]:
    if "period" in row and not isinstance(row["period"], str):
        row["period"] = str(row["period"])  # a pandas Period: 2025-05
    if "reportedAt" in row and hasattr(row["reportedAt"], "isoformat"):
        row["reportedAt"] = row["reportedAt"].isoformat()
    for key in _NUMBERS:
        value = row.get(key)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            row[key] = int(value)
        elif isinstance(value, float) and value.is_integer():
            row[key] = int(value)
        elif hasattr(value, "item"):  # a numpy number
            row[key] = value.item()
    return row
