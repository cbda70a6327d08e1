#!/usr/bin/env python3
"""Two true numbers for one maker and month, kept apart: the deliveries a maker announces and the
retail sales CPCA counts (docs/PROTOCOL.md, "Figures by measure"). Each is its own figure, and a
query names the measure it asks of. With the deliverytracker package (pip install ./clients/python).

The figures are illustrative, for AITO in June 2025; replace them with a month you follow."""
import sys

from deliverytracker import Client

with Client(query=sys.argv[1] if len(sys.argv) > 1 else None, ingest=sys.argv[2] if len(sys.argv) > 2 else None) as client:
    done = client.submit([
        {"source": "AITO", "period": "2025-06", "brand": "AITO", "units": 46_000, "reportedAt": "2025-07-01T00:00:00Z"},
        {"source": "CPCA", "period": "2025-06", "brand": "AITO", "units": 44_500, "measure": "retail",
         "reportedAt": "2025-07-08T00:00:00Z"},
    ])
    delivered = client.units(brand="AITO", period="2025-06", after=done.after)
    retail = client.measured("retail").units(brand="AITO", period="2025-06", after=done.after)
    print(f"AITO 2025-06 deliveries: {delivered.units:,} according to {', '.join(delivered.sources)}")
    print(f"AITO 2025-06 retail:     {retail.units:,} according to {', '.join(retail.sources)}")
    print(f"deliveries exceed retail by {delivered.units - retail.units:,}")
