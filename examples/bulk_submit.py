#!/usr/bin/env python3
"""Submit a JSON file shaped like samples/hima-2025-05.json in batches; print each batch's positions."""
import json, sys, zmq

path = sys.argv[1] if len(sys.argv) > 1 else "samples/hima-2025-05.json"
endpoint = sys.argv[2] if len(sys.argv) > 2 else "tcp://127.0.0.1:5550"
data = json.load(open(path))
sock = zmq.Context().socket(zmq.DEALER)
sock.setsockopt(zmq.RCVTIMEO, 10000)
sock.connect(endpoint)

def send(type_, body, id_):
    sock.send_multipart([b"", json.dumps({"v": 1, "type": type_, "id": id_, "body": body}).encode()])
    reply = json.loads(sock.recv_multipart()[-1])
    if reply["type"] == "error":
        raise SystemExit(f"{id_}: {reply['body']['code']}: {reply['body']['message']}")
    return reply["body"]

if "catalog" in data:
    send("catalog.put", data["catalog"], "catalog")
reports = data["reports"] if isinstance(data, dict) else data
for start in range(0, len(reports), 1000):
    acks = send("submit", {"reports": reports[start:start + 1000]}, f"batch-{start}")["accepted"]
    print(f"reports {start}..{start + len(acks) - 1}: up to {acks[-1]['stream']} seq {max(a['seq'] for a in acks)}")
