#!/usr/bin/env python3
"""An independent client of DeliveryTracker, written from docs/PROTOCOL.md alone (pyzmq).

Starts the three real services on free loopback ports, loads the sample through ingest with REQ
and DEALER sockets, checks every golden value, the error replies for bad input, and the Clone
pattern on the query service's PUB. Prints 'N passed, M failed'; exits non-zero on a failure.
"""
import argparse, json, os, shutil, signal, socket, subprocess, sys, tempfile, time
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, start_stack  # noqa: E402

check = Tally()



class Client:
    def __init__(self, ctx, endpoint, kind=zmq.REQ):
        self.ctx, self.endpoint, self.kind, self.n = ctx, endpoint, kind, 0

    def raw(self, payload, timeout=10000):
        s = self.ctx.socket(self.kind)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, timeout)
        s.connect(self.endpoint)
        try:
            s.send_multipart(([b""] if self.kind == zmq.DEALER else []) + [payload])
            frames = s.recv_multipart()
            return json.loads(frames[-1])
        finally:
            s.close()

    def __call__(self, type_, body=None, **extra):
        self.n += 1
        msg = {"v": 1, "type": type_, "id": f"py-{self.n}", "body": body or {}}
        msg.update(extra)
        reply = self.raw(json.dumps(msg).encode())
        check(f"{type_} echoes id", reply.get("id") == msg["id"], str(reply)[:200])
        return reply


def wait_pong(client, deadline=30):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if client("ping")["type"] == "pong":
                return True
        except zmq.Again:
            pass
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "debug"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="delivery-py-")
    procs, ep = start_stack(args.bin, work, "py")
    ctx = zmq.Context()
    try:
        ingest, query = Client(ctx, ep["in"]), Client(ctx, ep["q"])
        dealer = Client(ctx, ep["q"], zmq.DEALER)
        for name, c in [("ingest", ingest), ("aggregate", Client(ctx, ep["agg"])), ("query", query)]:
            check(f"{name} answers ping", wait_pong(c))

        # Clone pattern against the query replica: subscribe first, then snapshot.
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVTIMEO, 5000)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(ep["qpub"])
        hb = sub.recv_multipart()
        check("query PUB heartbeats", hb[0] == b"heartbeat", str(hb))
        snap = query("snapshot", {"prefix": "figure.hima."})
        (stream, position), = snap["body"]["positions"].items()

        sample = json.load(open(os.path.join(ROOT, "samples", "hima-2025-05.json")))
        check("catalog.put ok", ingest("catalog.put", sample["catalog"])["type"] == "catalog.ok")
        ack = ingest("submit", {"reports": sample["reports"]})
        check("submit ok", ack["type"] == "submit.ok", str(ack)[:300])
        after = {}
        for a in ack["body"]["accepted"]:
            after[a["stream"]] = max(after.get(a["stream"], 0), a["seq"])
        again = ingest("submit", {"reports": sample["reports"][:2]})
        check("retry is a duplicate", all(a["duplicate"] for a in again["body"]["accepted"]))

        def q(type_, body):
            r = dealer(type_, dict(body, after=after))
            check(f"{type_} result", r["type"] == f"{type_}.result", str(r)[:300])
            return r["body"]

        hima = q("units", {"entity": {"group": "HIMA"}, "period": "2025-05"})
        check("units of HIMA", hima["units"] == 44454 and hima["basis"] == "reported", str(hima))
        check("asOf covers the ack", all(hima["asOf"].get(s, 0) >= n for s, n in after.items()))
        check("growth", abs(q("growth", {"entity": {"group": "HIMA"}, "period": "2025-05", "vs": "mom"})["growth"] - 0.6133) < 1e-4)
        check("units of AITO", q("units", {"entity": {"brand": "AITO"}, "period": "2025-05"})["units"] == 36625)
        share = q("share", {"entity": {"brand": "AITO"}, "period": "2025-05", "of": {"group": "HIMA"}})
        check("share", abs(share["share"] - 0.8239) < 1e-4 and share["ofUnits"] - share["units"] == 7829)
        check("unattributed", q("reconcile", {"entity": {"brand": "AITO"}, "period": "2025-05"})["unattributed"] == 9028)
        rows = q("ranking", {"period": "2025-05", "level": "model", "within": {"group": "HIMA"}})["rows"]
        check("ranking", [r["entity"]["id"] for r in rows] == ["aito-m9", "aito-m8", "luxeed-r7", "stelato-s9"])
        check("leader above-500k", q("streak", {"segment": "above-500k", "period": "2025-05"})["leader"]["id"] == "aito-m9")
        check("leader 400k-500k", q("streak", {"segment": "400k-500k", "period": "2025-05"})["leader"]["id"] == "aito-m8")
        check("atLeast", q("units", {"entity": {"model": "Stelato S9"}, "period": "2025-05"})["qualifier"] == "atLeast")
        check("convert", abs(q("convert", {"amount": 500000, "from": "CNY", "to": "USD"})["amount"] - 69587) <= 1)

        # What the news says: streaks with a condition, records, totals, the brief.
        run = q("streak", {"entity": {"group": "HIMA"}, "period": "2025-05", "condition": {"growth": "mom", "direction": "up"}})
        check("growth streak", run["months"] == 1 and run["since"] == "2025-05" and run["endedBy"] == "missing" and not run["complete"], str(run))
        run = q("streak", {"entity": {"model": "Stelato S9"}, "period": "2025-05", "condition": {"atLeast": 2001}})
        check("an atLeast figure is judged by its floor", run["months"] == 0 and run["endedBy"] == "uncertain", str(run))
        lead = q("streak", {"segment": "above-500k", "period": "2025-05"})
        check("leadership run says where it stops", lead["months"] == 1 and lead["endedBy"] == "missing", str(lead))
        bad_condition = dealer("streak", {"entity": {"group": "HIMA"}, "period": "2025-05", "condition": {"growth": "qoq", "direction": "up"}})
        check("bad condition", bad_condition["body"].get("code") == "invalid_query"
              and bad_condition["body"]["details"]["field"] == "condition.growth", str(bad_condition))
        rec = q("record", {"entity": {"group": "HIMA"}, "period": "2025-05"})
        check("record", rec["isHighest"] and rec["previousHigh"]["units"] == 27555 and rec["monthsBefore"] == 1
              and "highestSince" not in rec and rec["lowestSince"]["period"] == "2025-04", str(rec))
        total = q("cumulative", {"entity": {"group": "HIMA"}, "period": "2025-05", "milestone": 50000})
        check("cumulative", total["units"] == 72009 and total["from"] == "2025-04" and total["crossedIn"] == "2025-05" and total["complete"], str(total))
        ytd = q("ytd", {"entity": {"group": "HIMA"}, "period": "2025-05"})
        check("ytd without a previous year", ytd["complete"] is False and "previousYear" not in ytd and "exceedsPreviousYear" not in ytd, str(ytd))
        brief = q("brief", {"entity": {"group": "HIMA"}, "period": "2025-05"})
        texts = [f["text"] for f in brief["facts"]]
        check("brief: units", "HIMA delivered 44,454 vehicles in May 2025." in texts, str(texts))
        check("brief: growth", "HIMA deliveries were up 61.3% from April 2025 (27,555)." in texts, str(texts))
        check("brief: AITO's share", "AITO delivered 36,625 of them (82.4%)." in texts, str(texts))
        check("brief: leaders stated by their source", any(t.startswith("The AITO M9 was the best-selling model of the above 500,000 yuan segment") and "according to CPCA" in t for t in texts)
              and any(t.startswith("The AITO M8 was the best-selling model of the 400,000-500,000 yuan segment") and "according to CPCA" in t for t in texts), str(texts))
        check("brief: no lead claimed from one tracked model", not any("200,000-300,000" in t or "300,000-400,000" in t for t in texts), str(texts))
        check("brief: Luxeed is a lower bound", "Luxeed delivered at least 5,124 of them (at least 11.5%)." in texts, str(texts))
        check("brief: every fact has its basis", all(f.get("basis", {}).get("kind") in ("reported", "complete", "lowerBound", "tracked") for f in brief["facts"]))

        # Coverage (docs/PROTOCOL.md): a computed figure is short when a model the catalog expects
        # (between deliveriesBegan and deliveriesEnded) has no figure; the missing ones are named.
        catalog = q("catalog", {})
        def expected(model, month):
            began, ended = model.get("deliveriesBegan"), model.get("deliveriesEnded")
            return (began is None or began[:7] <= month) and (ended is None or month <= ended[:7])
        for brand in catalog["brands"]:
            answer = q("units", {"entity": {"brand": brand["id"]}, "period": "2025-05"})
            if answer["basis"] != "computed" or answer["units"] == 0 and not answer.get("sources"):
                continue
            models = [m for m in catalog["models"] if m["brand"] == brand["id"]]
            missing = sorted(m["id"] for m in models if expected(m, "2025-05")
                             and not q("units", {"entity": {"model": m["id"]}, "period": "2025-05"}).get("sources"))
            got = sorted(m["id"] for m in answer.get("missing", []))
            check(f"coverage of {brand['id']}", got == missing and answer.get("missingCount", 0) == len(missing)
                  and (answer["coverage"] == "partial") == bool(missing)
                  and (not missing or (answer["qualifier"] in ("atLeast", "approximate") and "high" not in answer)), str(answer))
        check("Luxeed names the S7", [m["id"] for m in q("units", {"entity": {"brand": "Luxeed"}, "period": "2025-05"})["missing"]] == ["luxeed-s7"])
        panel = q("panel", {"entities": [{"group": "HIMA"}, {"brand": "Luxeed"}], "from": "2025-04", "to": "2025-05"})
        cells = [(s["entity"]["id"], p["period"], p["units"], p["qualifier"]) for s in panel["series"] for p in s["points"]]
        check("panel: one request, the same cells", cells == [
            (e, m, u["units"], u["qualifier"]) for e, sel in (("hima", {"group": "HIMA"}), ("luxeed", {"brand": "Luxeed"}))
            for m in ("2025-04", "2025-05") for u in [q("units", {"entity": sel, "period": m})]], str(cells))
        lead = q("streak", {"segment": "above-500k", "period": "2025-05"})
        check("a stated lead", lead["basis"] == "reported" and lead["source"] == "CPCA" and lead["coverage"] == "tracked", str(lead))
        lead = q("streak", {"segment": "200k-300k", "period": "2025-05"})
        check("a lead among tracked models is not a run", lead["basis"] == "tracked" and lead["months"] == 0
              and lead["endedBy"] == "tracked" and lead["withFigures"] == 1 and lead["trackedModels"] == 3, str(lead))
        ranking = q("ranking", {"period": "2025-05", "level": "model", "segment": "above-500k"})
        check("a segment ranking is among tracked models", ranking["coverage"] == "tracked" and ranking["segmentLeader"]["id"] == "aito-m9"
              and ranking["leaderSource"] == "CPCA" and ranking["rows"][0]["segmentRank"] == 1, str(ranking))
        check("brief: just over", any("Stelato S9 just over 2,000" in t for t in texts), str(texts))
        check("brief: facts carry data", all({"kind", "text", "data"} <= set(f) for f in brief["facts"]))

        # Live updates after the snapshot position, gapless on the replica's own stream.
        seen, last, gap = [], position, False
        end = time.monotonic() + 10
        while time.monotonic() < end and not any(t.startswith(b"figure.hima.aito.") for t in seen):
            topic, payload = sub.recv_multipart()
            ev = json.loads(payload)
            if ev["stream"] != stream or ev["seq"] <= last:
                continue
            if topic != b"heartbeat":
                gap |= ev["seq"] != last + 1
                last = ev["seq"]
                seen.append(topic)
        check("live figure.changed after the snapshot", any(t.startswith(b"figure.hima.aito.") for t in seen))
        check("no gap in seq", not gap)

        # A June above April and May is a record: a fact event on fact.hima.
        facts = ctx.socket(zmq.SUB)
        facts.setsockopt(zmq.LINGER, 0)
        facts.setsockopt(zmq.RCVTIMEO, 1000)
        facts.setsockopt(zmq.SUBSCRIBE, b"fact.")
        facts.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
        facts.connect(ep["qpub"])
        june = {"id": "hima-2025-06-test", "source": "Test", "period": "2025-06", "group": "HIMA", "units": 50000,
                "reportedAt": "2025-07-01T00:00:00Z"}
        got, sent, end = None, False, time.monotonic() + 20
        while got is None and time.monotonic() < end:
            try:
                topic, payload = facts.recv_multipart()
            except zmq.Again:
                continue
            if topic == b"heartbeat":
                # A heartbeat shows the subscription is in place: the fact cannot be missed now.
                if not sent:
                    check("june stored", ingest("submit", {"reports": [june]})["type"] == "submit.ok")
                    sent = True
                continue
            ev = json.loads(payload)
            if ev["type"] == "fact" and ev["body"]["fact"]["kind"] == "record.high" and ev["body"]["entity"]["id"] == "hima":
                got = (topic, ev)
        check("fact event for the record", got is not None and got[0] == b"fact.hima." and got[1]["body"]["period"] == "2025-06", str(got)[:300])
        facts.close()

        # Approximate figures judged by interval (PROTOCOL.md, "Approximate figures"): a year of
        # Luxeed R7 in which May 2024 is known only as "about 6,800" (6,732 to 6,868).
        def story(units_2024_05, **extra):
            year_before = [("2023-11", 5000), ("2023-12", 6000), ("2024-01", 6000), ("2024-02", 6000), ("2024-03", 6000), ("2024-04", 6000)]
            this_year = [("2024-11", 6000), ("2024-12", 5900), ("2025-01", 5000), ("2025-02", 4000), ("2025-03", 5000), ("2025-04", 5000)]
            reports = [{"source": "News", "period": p, "model": "Luxeed R7", "units": u, "reportedAt": "2025-06-02T00:00:00Z"}
                       for p, u in year_before + this_year]
            reports.append(dict({"source": "News", "period": "2024-05", "model": "Luxeed R7", "units": units_2024_05,
                                 "qualifier": "approximate", "reportedAt": "2025-06-0%dT00:00:00Z" % (2 + len(after_story))}, **extra))
            ack = ingest("submit", {"reports": reports})
            check("story stored", ack["type"] == "submit.ok", str(ack)[:300])
            for a in ack["body"]["accepted"]:
                after[a["stream"]] = max(after.get(a["stream"], 0), a["seq"])
            after_story.append(1)
        after_story = []
        down = {"entity": {"model": "Luxeed R7"}, "period": "2025-05", "condition": {"growth": "yoy", "direction": "down"}}
        story(6800)
        run = q("streak", down)
        check("a streak through an approximate month", run["months"] == 6 and run["since"] == "2024-12"
              and run["endedBy"] == "condition" and run["complete"] and run.get("approximate") is True, str(run))
        g = q("growth", {"entity": {"model": "Luxeed R7"}, "period": "2025-05", "vs": "yoy"})
        check("growth against an approximate month", g["direction"] == "down" and g["qualifier"] == "approximate"
              and g["previousLow"] == 6732 and g["previousHigh"] == 6868
              and abs(g["growthLow"] - (5124 / 6868 - 1)) < 1e-9 and abs(g["growthHigh"] - (5124 / 6732 - 1)) < 1e-9, str(g))
        may = q("units", {"entity": {"model": "Luxeed R7"}, "period": "2024-05"})
        check("an approximate figure's interval", may["qualifier"] == "approximate" and (may["low"], may["high"]) == (6732, 6868), str(may))
        facts = [f["text"] for f in q("brief", {"entity": {"model": "Luxeed R7"}, "period": "2025-05"})["facts"]]
        check("brief words it", "Luxeed R7 deliveries were down about 24.6% year on year (May 2024: about 6,800)." in facts, str(facts))
        story(5130)  # "about 5,130" (5,078 to 5,182) against 5,124: a near miss
        run = q("streak", down)
        check("a near miss is uncertain", run["months"] == 0 and run["endedBy"] == "uncertain", str(run))
        story(5130, tolerance=3)  # 5,127 to 5,133: certainly above 5,124
        run = q("streak", down)
        check("a stated tolerance decides it", run["months"] == 6 and run["endedBy"] == "condition", str(run))
        check("the tolerance as low/high", q("units", {"entity": {"model": "Luxeed R7"}, "period": "2024-05"}).get("low") == 5127)
        wrong = ingest("submit", {"reports": [{"source": "News", "period": "2024-05", "model": "Luxeed R7", "units": 5130, "tolerance": 3}]})
        check("a tolerance needs approximate", wrong["body"].get("code") == "invalid_report"
              and wrong["body"]["details"]["field"] == "tolerance", str(wrong)[:300])

        # A segment's reported total (a report naming the segment) that the tracked models make up
        # whole: the lead is the segment's ("complete"); one they do not: only among the tracked.
        def segment_total(units, when):
            ack = ingest("submit", {"reports": [{"source": "CPCA", "period": "2025-05", "segment": "300k-400k", "units": units,
                                                 "reportedAt": when}]})
            check("segment total stored", ack["type"] == "submit.ok", str(ack)[:300])
            for a in ack["body"]["accepted"]:
                after[a["stream"]] = max(after.get(a["stream"], 0), a["seq"])
        segment_total(2600, "2025-06-03T00:00:00Z")
        lead = q("streak", {"segment": "300k-400k", "period": "2025-05"})
        check("a total the tracked models do not make up", lead["basis"] == "tracked" and lead["months"] == 0, str(lead))
        total = q("units", {"entity": {"segment": "300k-400k"}, "period": "2025-05"})
        check("a segment's total as an entity", total["units"] == 2600 and total["entity"]["level"] == "segment" and total["basis"] == "reported", str(total))
        segment_total(2000, "2025-06-04T00:00:00Z")  # the S9's "just over 2,000" reaches it: nothing left for others
        lead = q("streak", {"segment": "300k-400k", "period": "2025-05"})
        check("a total the tracked models make up", lead["basis"] == "complete" and lead["source"] == "CPCA" and lead["months"] == 1, str(lead))
        facts = [f for f in q("brief", {"entity": {"model": "Stelato S9"}, "period": "2025-05"})["facts"] if f["kind"] == "leader"]
        check("brief: a complete segment's lead", len(facts) == 1 and facts[0]["basis"]["kind"] == "complete"
              and "of the segment's 2,000 deliveries according to CPCA" in facts[0]["text"], str(facts))
        wrong = ingest("submit", {"reports": [{"source": "CPCA", "period": "2025-05", "segment": "300k-400k", "model": "Stelato S9", "units": 1}]})
        check("a segment total names no model", wrong["body"].get("code") == "invalid_report", str(wrong)[:300])
        wrong = ingest("submit", {"reports": [{"source": "CPCA", "period": "2025-05", "brand": "AITO", "units": 1, "segmentRank": 1}]})
        check("a rank needs a model", wrong["body"].get("code") == "invalid_report" and wrong["body"]["details"]["field"] == "segmentRank", str(wrong)[:300])

        # Bad input: an error reply each, and the services keep serving.
        def code(reply):
            return reply.get("body", {}).get("code")
        raw = Client(ctx, ep["in"])
        check("bad json", code(raw.raw(b"{not json")) == "bad_json")
        check("bad envelope", code(raw.raw(b"[1,2,3]")) == "bad_envelope")
        r = raw.raw(json.dumps({"v": 2, "type": "ping", "id": "keep"}).encode())
        check("unsupported version echoes id", code(r) == "unsupported_version" and r["id"] == "keep")
        check("unknown type", code(ingest("nope")) == "unknown_type")
        bad = ingest("submit", {"reports": [{"source": "X", "period": "2025-05", "model": "AITO M9", "units": -1},
                                             {"source": "X", "period": "May", "model": "AITO M9", "units": 1},
                                             {"source": "X", "period": "2025-05", "model": "Model Q", "units": 1}]})
        check("invalid batch", code(bad) == "invalid_report" and bad["body"]["details"]["index"] == 0, str(bad)[:300])
        check("every bad report listed", [e["index"] for e in bad["body"]["details"]["errors"]] == [0, 1, 2])
        check("unknown entity", code(ingest("submit", {"reports": [{"source": "X", "period": "2025-05", "model": "Model Q", "units": 1}]})) == "unknown_entity")
        # A share's change is in percentage points, and only against a month with both figures.
        share = q("share", {"entity": {"brand": "AITO"}, "period": "2025-05"})
        check("no earlier share where the part had no figure", "previous" not in share and "previousYear" not in share, str(share)[:300])
        # A retail figure lives beside the delivery figure of its month; a measure or a powertrain
        # that is not one of the protocol's words is refused by name.
        before = q("units", {"entity": {"brand": "AITO"}, "period": "2025-05"})["units"]
        for extra, field in [({"measure": "retail "}, "measure"), ({"measure": "Retail"}, "measure"), ({"powertrain": "bev"}, "powertrain"),
                             ({"powertrain": "electric"}, "powertrain")]:
            r = ingest("submit", {"reports": [dict({"source": "CPCA", "period": "2025-05", "brand": "AITO", "units": 30000}, **extra)]})
            check(f"{extra} refused by name", code(r) == "invalid_report" and r["body"]["details"]["field"] == field, str(r)[:300])
        r = ingest("submit", {"reports": [{"source": "CPCA", "period": "2025-05", "brand": "AITO", "units": 30000, "measure": "retail"}]})
        check("a retail figure is taken", r["type"] == "submit.ok", str(r)[:300])
        after = {r["body"]["accepted"][0]["stream"]: r["body"]["accepted"][0]["seq"]}
        retail = q("units", {"entity": {"brand": "AITO"}, "period": "2025-05", "measure": "retail", "after": after})
        check("retail answered apart, and says so", retail["units"] == 30000 and retail.get("measure") == "retail" and retail["sources"] == ["CPCA"], str(retail)[:300])
        delivered = q("units", {"entity": {"brand": "AITO"}, "period": "2025-05", "after": after})
        check("the delivery figure stands beside it", delivered["units"] == before and "measure" not in delivered, str(delivered)[:300])
        both = q("units", {"entity": {"brand": "AITO"}, "period": "2025-05", "compare": "retail", "after": after})
        check("two measures in one answer", both["units"] == before and both["compared"]["measure"] == "retail"
              and both["compared"]["units"] == 30000 and both["compared"]["difference"] == 30000 - before, str(both)[:400])
        said = q("brief", {"entity": {"brand": "AITO"}, "period": "2025-05", "measure": "retail"})
        check("a brief of retail says retail, and whose", said["facts"][0]["text"] == "AITO sold 30,000 vehicles at retail in May 2025, according to CPCA."
              and "deliver" not in json.dumps(said), str(said)[:400])
        check("an unknown measure in a query", code(query("units", {"entity": {"brand": "AITO"}, "period": "2025-05", "measure": "sales"})) == "invalid_query")
        # A month by powertrain: each part its own figure, the whole nobody reports their sum, and
        # a part never taken for the whole (February 2024: nothing else here reads it).
        r = ingest("submit", {"reports": [{"source": "AITO", "period": "2024-02", "brand": "AITO", "units": 4000, "powertrain": "EREV"},
                                          {"source": "AITO", "period": "2024-02", "brand": "AITO", "units": 1000, "powertrain": "BEV"}]})
        check("powertrain parts are taken", r["type"] == "submit.ok", str(r)[:300])
        after = {a["stream"]: a["seq"] for a in r["body"]["accepted"]}
        whole = q("units", {"entity": {"brand": "AITO"}, "period": "2024-02", "after": after})
        check("the whole is the sum of its parts, and says so", whole["units"] == 5000 and whole["basis"] == "computed"
              and whole.get("computedFrom") == "powertrains" and "powertrain" not in whole, str(whole)[:400])
        erev = q("units", {"entity": {"brand": "AITO"}, "period": "2024-02", "powertrain": "EREV"})
        check("a part answered apart, and says so", erev["units"] == 4000 and erev.get("powertrain") == "EREV" and erev["basis"] == "reported", str(erev)[:300])
        nev = q("share", {"entity": {"brand": "AITO"}, "period": "2024-02", "powertrain": "BEV", "ofPowertrain": "NEV"})
        check("a share within NEV", nev["units"] == 1000 and nev["ofUnits"] == 5000 and nev.get("ofPowertrain") == "NEV", str(nev)[:300])
        check("a segment's total has no powertrain", code(ingest("submit", {"reports": [
            {"source": "CPCA", "period": "2024-02", "segment": "above-500k", "units": 1, "powertrain": "BEV"}]})) == "invalid_report")
        check("an unknown powertrain in a query", code(query("units", {"entity": {"brand": "AITO"}, "period": "2024-02", "powertrain": "EV"})) == "invalid_query")
        # What was known when: a revised figure as of two moments, and its history.
        r = ingest("submit", {"reports": [
            {"source": "CPCA", "period": "2024-01", "brand": "AITO", "units": 30000, "reportedAt": "2024-02-01T00:00:00Z"},
            {"source": "CPCA", "period": "2024-01", "brand": "AITO", "units": 31000, "reportedAt": "2024-02-10T00:00:00Z"}]})
        after = {a["stream"]: a["seq"] for a in r["body"]["accepted"]}
        now = q("units", {"entity": {"brand": "AITO"}, "period": "2024-01", "after": after})
        then = q("units", {"entity": {"brand": "AITO"}, "period": "2024-01", "knownAt": "2024-02-05T00:00:00Z"})
        check("as of a moment before the revision", now["units"] == 31000 and then["units"] == 30000 and then.get("knownAt") == "2024-02-05T00:00:00Z"
              and "knownAt" not in now, f"{now} {then}"[:400])
        before = q("units", {"entity": {"brand": "AITO"}, "period": "2024-01", "knownAt": "2024-01-01T00:00:00Z"})
        check("as of a moment before any report: nothing", before["units"] == 0 and before["sources"] == [], str(before)[:300])
        history = q("revisions", {"entity": {"brand": "AITO"}, "period": "2024-01"})
        check("a figure's revisions", [(x["units"], x.get("change"), x["current"]) for x in history["reports"]] == [(30000, None, False), (31000, 1000, True)]
              and history["largest"]["change"] == 1000, str(history)[:400])
        check("knownAt that is not a time", code(query("units", {"entity": {"brand": "AITO"}, "period": "2024-01", "knownAt": "yesterday"})) == "invalid_query")
        ranked = q("ranking", {"period": "2024-02", "level": "brand", "powertrain": "EREV", "byPowertrain": True})
        check("a ranking by a powertrain's figures", [(r["entity"]["id"], r["units"]) for r in ranked["rows"]] == [("aito", 4000)], str(ranked)[:300])
        big = json.dumps({"v": 1, "type": "submit", "id": "big", "body": {"reports": [], "pad": "x" * (5 << 20)}}).encode()
        check("too large", code(raw.raw(big)) == "too_large")
        check("invalid query", code(query("units", {"entity": {"group": "HIMA"}, "period": "2025-13"})) == "invalid_query")
        check("unknown entity in query", code(query("units", {"entity": {"brand": "Nope"}, "period": "2025-05"})) == "unknown_entity")
        check("stale", code(query("units", {"entity": {"group": "HIMA"}, "period": "2025-05", "after": {"nobody": 5}, "timeoutMs": 100})) == "stale")
        d = ctx.socket(zmq.DEALER)
        d.setsockopt(zmq.LINGER, 0)
        d.setsockopt(zmq.RCVTIMEO, 5000)
        d.connect(ep["q"])
        d.send_multipart([b"", b"one", b"two"])
        check("wrong frame count", code(json.loads(d.recv_multipart()[-1])) == "bad_envelope")
        d.close()
        check("still serving", q("units", {"entity": {"group": "HIMA"}, "period": "2025-05"})["units"] == 44454)
        sub.close()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                code_ = proc.wait(timeout=10)
                check("clean exit on SIGTERM", code_ == 0, f"exit {code_}")
            except subprocess.TimeoutExpired:
                proc.kill()
                check("clean exit on SIGTERM", False, "timed out")
        ctx.term()
        shutil.rmtree(work, ignore_errors=True)
    print(check.summary())
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
