"""Typed answers, with the protocol's fields, and `to_frame()` for those with rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


def _frame(rows: List[Dict[str, Any]], periods: tuple = ("period",), counts: tuple = ()) -> Any:
    """A pandas DataFrame of rows: periods as `pandas.Period`, units and bounds as nullable
    integers (absent: <NA>)."""
    try:
        import pandas as pd
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("to_frame() needs pandas: pip install 'deliverytracker[pandas]'") from error
    frame = pd.DataFrame(rows)
    for column in periods:
        if column in frame:
            frame[column] = frame[column].map(lambda text: pd.Period(text) if isinstance(text, str) and text else pd.NaT)
    for column in counts:
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


@dataclass
class EntityRef:
    level: str
    id: str
    name: str
    path: List[str]

    @staticmethod
    def of(value: Dict[str, Any]) -> "EntityRef":
        return EntityRef(value.get("level", ""), value.get("id", ""), value.get("name", ""), list(value.get("path", [])))


@dataclass
class Answer:
    """Any query's answer: its type and body (`raw`), and `as_of`, the stream positions it reflects."""

    type: str
    raw: Dict[str, Any]
    as_of: Dict[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


@dataclass
class Units(Answer):
    entity: Optional[EntityRef] = None
    period: str = ""
    units: int = 0
    basis: str = ""
    qualifier: str = "exact"
    low: Optional[int] = None
    high: Optional[int] = None
    sources: List[str] = field(default_factory=list)
    coverage: Optional[str] = None
    missing: List[EntityRef] = field(default_factory=list)
    missing_count: int = 0

    def to_frame(self) -> Any:
        return _frame([{
            "entity": self.entity.id if self.entity else None, "period": self.period, "units": self.units, "basis": self.basis,
            "qualifier": self.qualifier, "low": self.low, "high": self.high, "coverage": self.coverage,
        }], counts=("units", "low", "high"))


@dataclass
class Series(Answer):
    entity: Optional[EntityRef] = None
    points: List[Dict[str, Any]] = field(default_factory=list)

    def to_frame(self) -> Any:
        return _frame([{
            "period": p.get("period"), "units": p.get("units"), "basis": p.get("basis"), "qualifier": p.get("qualifier"),
            "low": p.get("low"), "high": p.get("high"), "complete": p.get("complete"),
        } for p in self.points], counts=("units", "low", "high"))


@dataclass
class Ranking(Answer):
    period: str = ""
    rows: List[Dict[str, Any]] = field(default_factory=list)
    coverage: Optional[str] = None

    def to_frame(self) -> Any:
        return _frame([{
            "rank": r.get("rank"), "id": r["entity"]["id"], "name": r["entity"]["name"], "period": self.period, "units": r.get("units"),
            "share": r.get("share"), "basis": r.get("basis"), "qualifier": r.get("qualifier"), "low": r.get("low"), "high": r.get("high"),
            "segment_rank": r.get("segmentRank"),
        } for r in self.rows], counts=("rank", "units", "low", "high", "segment_rank"))


@dataclass
class Brief(Answer):
    entity: Optional[EntityRef] = None
    period: str = ""
    facts: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(f["text"] for f in self.facts)

    def to_frame(self) -> Any:
        return _frame([{
            "kind": f.get("kind"), "text": f.get("text"), "period": self.period,
            "entity": (f.get("entity") or {}).get("id") or (self.entity.id if self.entity else None),
            "basis": (f.get("basis") or {}).get("kind"),
        } for f in self.facts])


@dataclass
class Panel(Answer):
    """Many entities over a range of periods (the `panel` query): one series per entity."""

    series: List[Dict[str, Any]] = field(default_factory=list)

    def to_frame(self, wide: bool = True, by: str = "name") -> Any:
        """Wide (default): periods as the index, one column of units per entity (named by `by`:
        `name` or `id`), nullable integers with <NA> where a period has no figure, and each cell's
        qualifier in `frame.attrs["qualifier"]` (a lower bound is "atLeast"). Long: a row per
        entity and period with units, basis, qualifier, low, high and complete."""
        rows = []
        for one in self.series:
            for p in one.get("points", []):
                present = p.get("complete") or p.get("units", 0) > 0 or p.get("basis") == "reported"
                rows.append({
                    "entity": one["entity"][by], "level": one["entity"]["level"], "period": p.get("period"),
                    "units": p.get("units") if present else None, "basis": p.get("basis"), "qualifier": p.get("qualifier"),
                    "low": p.get("low"), "high": p.get("high"), "complete": p.get("complete"),
                })
        frame = _frame(rows, counts=("units", "low", "high"))
        if not wide:
            return frame
        order = [one["entity"][by] for one in self.series]
        table = frame.pivot(index="period", columns="entity", values="units")[order].astype("Int64")
        table.columns.name = None
        # A bound is not a plain number: each cell's qualifier rides along (exact, atLeast, …).
        qualifiers = frame.pivot(index="period", columns="entity", values="qualifier")[order]
        qualifiers.columns.name = None
        table.attrs["qualifier"] = qualifiers
        return table


def answer(reply: Dict[str, Any]) -> Answer:
    """The typed answer of a reply envelope."""
    body = reply.get("body") or {}
    kind = reply.get("type", "")
    as_of = body.get("asOf", {})
    entity = EntityRef.of(body["entity"]) if isinstance(body.get("entity"), dict) else None
    if kind == "units.result":
        return Units(
            kind, body, as_of, entity, body.get("period", ""), body.get("units", 0), body.get("basis", ""), body.get("qualifier", "exact"),
            body.get("low"), body.get("high"), list(body.get("sources", [])), body.get("coverage"),
            [EntityRef.of(m) for m in body.get("missing", [])], body.get("missingCount", 0),
        )
    if kind == "series.result":
        return Series(kind, body, as_of, entity, list(body.get("points", [])))
    if kind == "ranking.result":
        return Ranking(kind, body, as_of, body.get("period", ""), list(body.get("rows", [])), body.get("coverage"))
    if kind == "panel.result":
        return Panel(kind, body, as_of, list(body.get("series", [])))
    if kind == "brief.result":
        return Brief(kind, body, as_of, entity, body.get("period", ""), list(body.get("facts", [])))
    return Answer(kind, body, as_of)
