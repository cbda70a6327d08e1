#!/usr/bin/env python3
"""Submit a JSON file shaped like samples/hima-2025-05.json (its catalog, then its reports in
batches), or a CSV file with a header row; print what was stored and the read-your-writes token."""
import json
import sys

from deliverytracker import Client

path = sys.argv[1] if len(sys.argv) > 1 else "samples/hima-2025-05.json"
with Client(ingest=sys.argv[2] if len(sys.argv) > 2 else None) as client:
    if path.endswith(".csv"):
        stored = client.submit(path)
    else:
        data = json.load(open(path))
        if "catalog" in data:
            print("catalog:", client.put_catalog(data["catalog"]))
        stored = client.submit(data["reports"])
    print(f"{len(stored.accepted)} reports, {stored.duplicates} duplicates; after={stored.after}")
