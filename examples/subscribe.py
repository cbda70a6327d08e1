#!/usr/bin/env python3
"""Follow live figures with the Clone pattern: subscribe, snapshot, then only newer updates."""
import json, sys, zmq

prefix = sys.argv[1] if len(sys.argv) > 1 else "figure.hima."
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"")          # everything, so a lost message shows as a gap in seq
sub.connect("tcp://127.0.0.1:5555")
req = ctx.socket(zmq.REQ)
req.connect("tcp://127.0.0.1:5554")

def snapshot():
    req.send_json({"v": 1, "type": "snapshot", "id": "snap", "body": {"prefix": prefix}})
    body = req.recv_json()["body"]
    (stream, seq), = body["positions"].items()
    print(f"snapshot: {len(body['figures'])} figures at {stream} seq {seq}")
    return stream, seq

stream, last = snapshot()
while True:
    topic, payload = sub.recv_multipart()
    event = json.loads(payload)
    if event["stream"] != stream or (topic != b"heartbeat" and event["seq"] > last + 1) \
            or (topic == b"heartbeat" and event["seq"] > last):
        stream, last = snapshot()           # restarted replica or lost messages: resync
        continue
    if topic == b"heartbeat" or event["seq"] <= last:
        continue
    last = event["seq"]
    if topic.decode().startswith(prefix):
        body = event["body"]
        print(body["period"], body["entity"]["name"], body["units"], body["basis"], body["qualifier"])
