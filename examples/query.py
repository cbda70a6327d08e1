#!/usr/bin/env python3
"""HIMA's May 2025 deliveries, AITO's share, the model ranking and the month's brief, with the
deliverytracker package (pip install ./clients/python)."""
import sys

from deliverytracker import Client

with Client(query=sys.argv[1] if len(sys.argv) > 1 else None) as client:
    hima = client.units(group="HIMA", period="2025-05")
    print(f"HIMA 2025-05: {hima.units:,} ({hima.basis}, {hima.qualifier})")
    print(f"AITO's share of HIMA: {client.share(brand='AITO', period='2025-05')['share']:.2%}")
    luxeed = client.units(brand="Luxeed", period="2025-05")
    print(f"Luxeed: {luxeed.qualifier} {luxeed.units:,}; no figure for {', '.join(m.name for m in luxeed.missing)}")
    for row in client.ranking(period="2025-05", within_group="HIMA").rows:
        print(row["rank"], row["entity"]["name"], row["units"], row["qualifier"])
    print(client.brief(group="HIMA", period="2025-05").text)
