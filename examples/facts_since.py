#!/usr/bin/env python3
"""News a script can catch up on (docs/PROTOCOL.md, "Facts with a history"): every fact (record,
streak, milestone) stated since the last run, each once, then the live ones. The token is kept in
the file beside each fact printed, so that a run killed at any point resumes where it stopped.
With the deliverytracker package (pip install ./clients/python) and a running stack.

    python3 examples/facts_since.py facts.jsonl            # Ctrl-C to stop, run again to resume
"""
import json
import os
import sys

from deliverytracker import Client
from deliverytracker.facts import format_token

path = sys.argv[1] if len(sys.argv) > 1 else "facts.jsonl"
# The token is what the file holds: the highest number of each history printed so far.
seen = {}
if os.path.exists(path):
    with open(path) as kept:
        for line in kept:
            if line.endswith("\n"):
                fact = json.loads(line)
                seen[fact["history"]] = max(seen.get(fact["history"], 0), fact["number"])

with Client() as client, open(path, "a") as out:
    token = format_token(seen) if seen else None  # None: from now on
    with client.follow_facts(token, heartbeat_timeout=10) as feed:
        print(f"following facts after {feed.token or 'the oldest kept'}", file=sys.stderr)
        try:
            for fact in feed:
                out.write(json.dumps(fact) + "\n")
                out.flush()
                print(f"{fact['period']}  {fact['entity']['name']}  {fact['fact']['text']}")
        except KeyboardInterrupt:
            print(f"stopped at {feed.token}", file=sys.stderr)
