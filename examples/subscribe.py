#!/usr/bin/env python3
"""Follow live figures under a topic prefix (default figure.hima.): the snapshot first, then each
update once; the package resyncs by itself after a gap or a replica restart and says when the
feed falls silent. Prefix fact. follows only the news (records, streaks, milestones)."""
import sys

from deliverytracker import Client, FeedSilent

prefix = sys.argv[1] if len(sys.argv) > 1 else "figure.hima."
with Client() as client, client.subscribe(prefix) as feed:
    print(f"following {prefix} on {feed.feed}", file=sys.stderr)
    while True:
        try:
            update = feed.next()
        except FeedSilent as silent:
            print(silent, file=sys.stderr)
            continue
        body = update.body
        if update.kind == "fact":
            print(body["period"], body["entity"]["name"], body["fact"]["text"])
        else:
            mark = "snapshot" if update.snapshot else f"was {body.get('previous', 0):,}"
            print(body["period"], body["entity"]["name"], body["qualifier"], f"{body['units']:,}", f"({mark})")
