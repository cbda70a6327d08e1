#!/usr/bin/env python3
"""What was known when (docs/PROTOCOL.md, "What was known when"): a month revised twice, the same
query as of two moments, and the figure's history. With the deliverytracker package
(pip install ./clients/python) and a stack with the sample loaded (scripts/run-demo or make run).

The revisions are illustrative (HIMA, November 2023); replace them with a month you follow."""
import sys

from deliverytracker import Client

with Client(query=sys.argv[1] if len(sys.argv) > 1 else None, ingest=sys.argv[2] if len(sys.argv) > 2 else None) as client:
    done = client.submit([
        {"source": "CPCA", "period": "2023-11", "group": "HIMA", "units": 40_000, "reportedAt": "2023-12-01T00:00:00Z", "note": "preliminary"},
        {"source": "CPCA", "period": "2023-11", "group": "HIMA", "units": 41_000, "reportedAt": "2023-12-10T00:00:00Z", "note": "final"},
        {"source": "CPCA", "period": "2023-11", "group": "HIMA", "units": 40_500, "reportedAt": "2023-12-20T00:00:00Z", "note": "corrected"},
    ])
    now = client.units(group="HIMA", period="2023-11", after=done.after)
    print(f"HIMA 2023-11 now: {now.units:,}")
    for moment in ("2023-12-05T00:00:00Z", "2023-12-15T00:00:00Z"):
        then = client.known_at(moment).units(group="HIMA", period="2023-11")
        print(f"HIMA 2023-11 as known at {moment}: {then.units:,}")
    history = client.revisions(group="HIMA", period="2023-11")
    for report in history["reports"]:
        change = "first release" if report.get("change") is None else f"{report['change']:+,}"
        print(f"  {report['reportedAt']}  {report['source']}  {report['units']:,}  ({change}){'  current' if report['current'] else ''}")
    print(f"largest revision: {history['largest']['change']:+,} on {history['largest']['reportedAt']}")
