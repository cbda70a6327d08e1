#!/usr/bin/env python3
"""Ask the query service for HIMA's May 2025 deliveries, AITO's share and the model ranking."""
import json, sys, zmq

endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5554"
sock = zmq.Context().socket(zmq.REQ)
sock.setsockopt(zmq.RCVTIMEO, 5000)
sock.connect(endpoint)

def ask(type_, body):
    sock.send_json({"v": 1, "type": type_, "id": type_, "body": body})
    reply = sock.recv_json()
    if reply["type"] == "error":
        raise SystemExit(f"{reply['body']['code']}: {reply['body']['message']}")
    return reply["body"]

print("HIMA 2025-05:", ask("units", {"entity": {"group": "HIMA"}, "period": "2025-05"})["units"])
share = ask("share", {"entity": {"brand": "AITO"}, "period": "2025-05"})
print(f"AITO share of HIMA: {share['share']:.2%}")
for row in ask("ranking", {"period": "2025-05", "level": "model", "within": {"group": "HIMA"}})["rows"]:
    print(row["rank"], row["entity"]["name"], row["units"])
