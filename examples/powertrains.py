#!/usr/bin/env python3
"""A real maker's months by powertrain, and the market's NEV sales by powertrain (docs/PROTOCOL.md,
"Figures by powertrain"). With the deliverytracker package (pip install ./clients/python).

BYD's figures as BYD announced them: April 2025, 380,089 new-energy vehicles, of which passenger
BEVs 195,740 and PHEVs 176,875; May 2025, 382,476, of which passenger BEVs 204,369 and PHEVs
172,561 (the rest of each total is commercial vehicles, which BYD does not split by powertrain).
The market's figures are CAAM's 2023 and 2024 NEV sales by powertrain (samples/caam-2024-powertrains.json)."""
import json
import pathlib
import sys

from deliverytracker import Client

BYD = [
    ("2025-04", 380_089, 195_740, 176_875, "2025-05-01T00:00:00Z"),
    ("2025-05", 382_476, 204_369, 172_561, "2025-06-01T00:00:00Z"),
]

with Client(query=sys.argv[1] if len(sys.argv) > 1 else None, ingest=sys.argv[2] if len(sys.argv) > 2 else None) as client:
    client.put_catalog({"groups": [{"id": "byd", "name": "BYD"}], "brands": [{"id": "byd", "name": "BYD", "group": "byd"}]})
    reports = []
    for period, total, bev, phev, at in BYD:
        reports += [
            {"source": "BYD", "period": period, "brand": "BYD", "units": total, "reportedAt": at},
            {"source": "BYD", "period": period, "brand": "BYD", "units": bev, "powertrain": "BEV", "reportedAt": at},
            {"source": "BYD", "period": period, "brand": "BYD", "units": phev, "powertrain": "PHEV", "reportedAt": at},
        ]
    sample = pathlib.Path(__file__).resolve().parent.parent / "samples" / "caam-2024-powertrains.json"
    done = client.submit(reports + json.loads(sample.read_text())["reports"])

    # Each part is a figure of its own; the reported whole stands beside them.
    whole = client.units(brand="BYD", period="2025-05", after=done.after)
    bev = client.measured(powertrain="BEV")
    print(f"BYD 2025-05: {whole.units:,} ({whole.basis}); BEV {bev.units(brand='BYD', period='2025-05').units:,}, "
          f"PHEV {client.measured(powertrain='PHEV').units(brand='BYD', period='2025-05').units:,}")
    growth = bev.growth(brand="BYD", period="2025-05", vs="mom")
    print(f"BYD BEV 2025-05 vs 2025-04: {growth['growth']:+.1%} ({growth['previousUnits']:,} -> {growth['units']:,})")
    share = bev.share(brand="BYD", period="2025-05")
    print(f"BEV share of BYD's whole: {share['share']:.1%}, {share['previous']['changePoints']:+.1f} points since April")
    print(client.brief(brand="BYD", period="2025-05").text.splitlines()[1])

    # CAAM: BEV's share of NEV fell 10.4 points while BEV sales grew 15.5 %.
    market = client.measured("wholesale", "BEV")
    share = market.share(market=True, period="2024", of_powertrain="NEV")
    growth = market.growth(market=True, period="2024", vs="yoy")
    print(f"BEV share of NEV sales 2024 (CAAM): {share['share']:.1%}, "
          f"{share['previousYear']['changePoints']:+.1f} points from {share['previousYear']['share']:.1%} in 2023")
    print(f"BEV sales 2024 (CAAM): {growth['units']:,}, {growth['growth']:+.1%} on 2023")
    plug_in = client.measured("wholesale", "plug-in").share(market=True, period="2024", of_powertrain="NEV")
    print(f"plug-in share of NEV sales 2024 (CAAM): {plug_in['share']:.1%}, {plug_in['previousYear']['changePoints']:+.1f} points")
