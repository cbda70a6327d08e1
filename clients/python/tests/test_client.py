"""The package against the real executables and the sample (values as docs/PROTOCOL.md shows them)."""
from __future__ import annotations

import pytest

from deliverytracker import DeliveryError, FeedSilent
from conftest import eventually, until_units


def test_every_query_kind_answers_the_sample(client, stack):
    after = stack.loaded.after
    hima = client.units(group="HIMA", period="2025-05", after=after)
    assert (hima.units, hima.basis, hima.qualifier, hima.sources) == (44454, "reported", "exact", ["CPCA"])
    assert all(hima.as_of.get(s, 0) >= n for s, n in after.items())
    luxeed = client.units(brand="Luxeed", period="2025-05")
    assert (luxeed.qualifier, luxeed.coverage, [m.id for m in luxeed.missing], luxeed.missing_count) == ("atLeast", "partial", ["luxeed-s7"], 1)
    assert abs(client.share(brand="AITO", period="2025-05")["share"] - 0.8239) < 1e-4
    assert abs(client.growth(group="HIMA", period="2025-05", vs="mom")["growth"] - 0.6133) < 1e-4
    assert client.ytd(group="HIMA", period="2025-05")["complete"] is False
    ranking = client.ranking(period="2025-05", within_group="HIMA")
    assert [r["entity"]["id"] for r in ranking.rows] == ["aito-m9", "aito-m8", "luxeed-r7", "stelato-s9"]
    lead = client.streak(segment="above-500k", period="2025-05")
    assert (lead["leader"]["id"], lead["basis"], lead["source"]) == ("aito-m9", "reported", "CPCA")
    assert client.streak(group="HIMA", period="2025-05", growth="mom", direction="up")["months"] == 1
    assert client.series(model="AITO M9", start="2025-01", end="2025-05").points[-1]["units"] == 15481
    assert client.reconcile(brand="AITO", period="2025-05")["unattributed"] == 9028
    assert client.record(group="HIMA", period="2025-05")["isHighest"] is True
    assert client.cumulative(group="HIMA", period="2025-05", milestone=50000)["crossedIn"] == "2025-05"
    brief = client.brief(group="HIMA", period="2025-05")
    assert "Luxeed delivered at least 5,124 of them (at least 11.5%)." in brief.text
    assert abs(client.convert(500000, "CNY", "USD")["amount"] - 69587) <= 1
    assert {m["id"] for m in client.catalog()["models"]} >= {"aito-m9", "luxeed-s7"}
    assert client.status()["service"] == "query"
    assert client.query("units", {"entity": {"market": True}, "period": "2025-05"})["coverage"] == "tracked"


def test_frames_have_proper_dtypes(client):
    pd = pytest.importorskip("pandas")
    series = client.series(group="HIMA", start="2025-03", end="2025-05").to_frame()
    assert list(series["period"]) == [pd.Period("2025-03"), pd.Period("2025-04"), pd.Period("2025-05")]
    assert str(series["units"].dtype) == "Int64" and list(series["units"]) == [0, 27555, 44454]
    ranking = client.ranking(period="2025-05", within_group="HIMA").to_frame()
    assert str(ranking["units"].dtype) == "Int64" and ranking["qualifier"].tolist()[-1] == "atLeast"
    assert ranking["low"].isna().all()
    facts = client.brief(group="HIMA", period="2025-05").to_frame()
    assert set(facts["basis"]) <= {"reported", "complete", "lowerBound", "tracked"}


def test_a_dataframe_submitted_is_read_back_at_once(client):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([
        {"source": "CPCA", "period": pd.Period("2025-06"), "model": "AITO M9", "units": 16000.0, "reportedAt": "2025-07-01T00:00:00Z"},
        {"source": "CPCA", "period": "2025-06", "model": "Luxeed S7", "units": 1200, "reportedAt": "2025-07-01T00:00:00Z"},
    ])
    stored = client.submit(frame)
    assert len(stored.accepted) == 2 and stored.duplicates == 0 and stored.after
    assert client.units(model="AITO M9", period="2025-06", after=stored.after).units == 16000
    again = client.submit(frame)
    assert again.duplicates == 2


def test_bad_input_raises_the_protocols_error(client):
    with pytest.raises(DeliveryError) as unknown:
        client.units(group="Nope", period="2025-05")
    assert unknown.value.code == "unknown_entity"
    with pytest.raises(DeliveryError) as kind:
        client.query("nonsense", {})
    assert kind.value.code == "unknown_type"
    with pytest.raises(DeliveryError) as wrong:
        client.query("units", {"entity": {"group": "HIMA"}, "period": 202505})
    assert wrong.value.code == "invalid_query"
    with pytest.raises(DeliveryError) as bad:
        client.submit([{"source": "X", "period": "2025-05", "model": "AITO M9", "units": -1}])
    assert bad.value.code == "invalid_report" and bad.value.details["index"] == 0


def test_a_subscriber_stays_right_through_a_replica_kill(client, stack):
    with client.subscribe("figure.hima.aito.", heartbeat_timeout=10) as feed:
        first = [feed.next(timeout=10) for _ in range(3)]
        assert all(u.snapshot for u in first)
        client.submit([{"source": "CPCA", "period": "2025-07", "model": "AITO M8", "units": 11000, "reportedAt": "2025-08-01T00:00:00Z"}])
        until_units(feed, ("model", "aito-m8", "2025-07"), 11000)
        # The replica dies and comes back (a new stream): the feed resyncs and still gets the latest.
        stack.kill9("query")
        stack.start("query")
        stored = client.submit([{"source": "CPCA", "period": "2025-07", "model": "AITO M8", "units": 11500, "reportedAt": "2025-08-02T00:00:00Z"}])
        until_units(feed, ("model", "aito-m8", "2025-07"), 11500)
        assert feed.resyncs >= 1
        assert client.units(model="AITO M8", period="2025-07", after=stored.after).units == 11500


def test_a_silent_feed_is_a_fault_naming_the_endpoint(client):
    from deliverytracker import Client

    with Client(query=client.query_endpoint, feed="tcp://127.0.0.1:9", timeout_ms=3000) as wrong:
        with wrong.subscribe("figure.", snapshot=False, heartbeat_timeout=2) as feed:
            with pytest.raises(FeedSilent) as silent:
                feed.next()
    assert "tcp://127.0.0.1:9" in str(silent.value)


def test_a_panel_is_the_same_figures_as_one_request_per_cell(client):
    pd = pytest.importorskip("pandas")
    entities = [{"group": "HIMA"}, {"brand": "AITO"}, "brand:Luxeed", "model:AITO M9", "brand:Maextro"]
    panel = client.panel(entities, "2025-03", "2025-05")
    assert len(panel.series) == 5
    for one, asked in zip(panel.series, entities):
        names = asked if isinstance(asked, dict) else {asked.split(":")[0]: asked.split(":")[1]}
        for point in one["points"]:
            cell = client.units(period=point["period"], **names)
            assert (point["units"], point["qualifier"]) == (cell.units, cell.qualifier)
    wide = panel.to_frame()
    assert list(wide.columns) == ["HIMA", "AITO", "Luxeed", "AITO M9", "Maextro"]
    assert wide.loc[pd.Period("2025-05"), "HIMA"] == 44454 and pd.isna(wide.loc[pd.Period("2025-03"), "HIMA"])
    assert str(wide["AITO"].dtype) == "Int64" and wide["Maextro"].isna().all()
    assert wide.attrs["qualifier"].loc[pd.Period("2025-05"), "Luxeed"] == "atLeast"
    long = panel.to_frame(wide=False)
    assert set(long.columns) >= {"entity", "period", "units", "qualifier", "basis"} and len(long) == 15
    with pytest.raises(DeliveryError) as bad:
        client.panel(["brand:Nope"], "2025-03", "2025-05")
    assert bad.value.code == "unknown_entity" and bad.value.details.get("field") == "entities[0]"


def test_a_slow_subscriber_that_loses_messages_resyncs_to_the_latest(client, stack):
    # A replica that queues at most 20 messages per subscriber, and a reader that waits while 150
    # figures change: the replica drops what does not fit, the gap shows, and a snapshot brings the
    # latest values.
    import time
    from deliverytracker import Client
    query, feed_endpoint = stack.replica("small", DELIVERY_PUBLISH_HWM="20")
    try:
        with Client(query=query, ingest=stack.ingest, feed=feed_endpoint, timeout_ms=3000) as slow:
            eventually(lambda: slow.status()["ready"], 30)
            with slow.subscribe("figure.hima.aito.aito-m7.", snapshot=False, hwm=20, heartbeat_timeout=10) as feed:
                try:
                    feed.next(timeout=1.5)  # the first load, then nothing yet
                except TimeoutError:
                    pass
                reports = [{"source": "Slow", "period": f"20{10 + m // 12:02d}-{m % 12 + 1:02d}", "model": "AITO M7", "units": 1000 + m,
                            "reportedAt": "2025-09-01T00:00:00Z"} for m in range(150)]
                for start in range(0, 150, 5):
                    client.submit(reports[start:start + 5])
                time.sleep(1.0)  # the reader is slow on purpose: messages pile up past the queues
                until_units(feed, ("model", "aito-m7", "2022-06"), 1149)
                assert feed.resyncs >= 1
    finally:
        stack.kill9("small")


def test_two_replicas_one_falls_silent_and_the_other_is_followed(stack):
    from deliverytracker import Client

    # A second replica of the same aggregate; the subscriber follows the first, which then dies.
    query2, feed2 = stack.replica("query2")
    both = Client(query=f"{stack.query},{query2}", ingest=stack.ingest, feed=f"{stack.feed},{feed2}", timeout_ms=3000)
    with both:
        eventually(lambda: Client(query=query2, timeout_ms=1000).status()["ready"], 30)
        with both.subscribe("figure.hima.luxeed.", heartbeat_timeout=3) as feed:
            assert feed.next(timeout=10).snapshot
            stack.kill9("query")
            both.submit([{"source": "CPCA", "period": "2025-08", "model": "Luxeed R7", "units": 7777, "reportedAt": "2025-09-02T00:00:00Z"}])
            until_units(feed, ("model", "luxeed-r7", "2025-08"), 7777, 40)
            assert feed.switches >= 1
        stack.start("query")
        stack.kill9("query2")


def test_curve_as_the_cli_takes_it(stack, tmp_path):
    import subprocess
    from deliverytracker import Client, NoReply
    # A replica with a CURVE key pair written by `deliveries keygen`; clients give its public key.
    subprocess.run([str(stack.bin / "deliveries"), "keygen", str(tmp_path / "query.key")], check=True, capture_output=True)
    public = next(line.split("=", 1)[1].strip() for line in open(tmp_path / "query.key.pub") if "public-key" in line)
    query, feed = stack.replica("secure", DELIVERY_CURVE_KEY_FILE=str(tmp_path / "query.key"))
    try:
        subprocess.run([str(stack.bin / "deliveries"), "keygen", str(tmp_path / "me.key")], check=True, capture_output=True)
        with Client(query=query, feed=feed, server_key=public, key_file=str(tmp_path / "me.key"), timeout_ms=3000) as secure:
            eventually(lambda: secure.status()["ready"], 30)
            assert secure.units(group="HIMA", period="2025-05").units == 44454
            with secure.subscribe("figure.hima.", heartbeat_timeout=5) as live:
                assert live.next(timeout=10).snapshot
        with Client(query=query, timeout_ms=500, retries=0) as plain:
            with pytest.raises(NoReply):
                plain.status()
    finally:
        stack.kill9("secure")


def test_the_feed_carries_coverage(client):
    # Luxeed's sum misses the S7: a lower bound in the snapshot and in each live update.
    with client.subscribe("figure.hima.luxeed.", heartbeat_timeout=10) as feed:
        held = {}

        def luxeed_may(units):
            def check():
                update = feed.next(timeout=10)
                held[update.key] = update.body
                body = held.get(("brand", "luxeed", "2025-05"))
                return body is not None and body["units"] == units and body
            return check
        snapshot = eventually(luxeed_may(5124), 20)
        assert snapshot["qualifier"] == "atLeast" and "high" not in snapshot
        client.submit([{"source": "CPCA", "period": "2025-05", "model": "Luxeed R7", "units": 5200, "reportedAt": "2025-06-05T00:00:00Z"}])
        live = eventually(luxeed_may(5200), 20)
        assert live["qualifier"] == "atLeast"


def test_a_name_behind_several_replicas_is_followed_one_address_at_a_time(monkeypatch):
    import socket
    from deliverytracker import feed

    def resolve(host, port, family=0, kind=0):
        if host != "query":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (host, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in ("10.0.0.7", "10.0.0.5", "10.0.0.7")]
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    # Feed and snapshot reach the same replica: one pair per address, in a stable order.
    assert feed._same_replica("tcp://query:5555", "tcp://query:5554") == [
        ("tcp://10.0.0.5:5555", "tcp://10.0.0.5:5554"), ("tcp://10.0.0.7:5555", "tcp://10.0.0.7:5554")]
    assert feed._same_replica("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5554") == [("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5554")]


def test_a_retail_figure_lives_beside_the_delivery_figure(client):
    # A maker's deliveries and CPCA's retail for one month (2024: this test runs last, and nothing
    # here reads 2024 figures).
    done = client.submit([
        {"source": "Maker", "period": "2024-03", "model": "AITO M9", "units": 11000},
        {"source": "CPCA", "period": "2024-03", "model": "AITO M9", "units": 9500, "measure": "retail"},
    ])
    delivered = client.units(model="AITO M9", period="2024-03", after=done.after)
    retail = client.measured("retail").units(model="AITO M9", period="2024-03", after=done.after)
    assert (delivered.units, delivered.sources, delivered.get("measure")) == (11000, ["Maker"], None)
    assert (retail.units, retail.sources, retail["measure"]) == (9500, ["CPCA"], "retail")
    assert client.measure is None  # the measured client is another object
    both = client.units(model="AITO M9", period="2024-03", compare="retail")
    assert (both.units, both["compared"]["units"], both["compared"]["difference"]) == (11000, 9500, -1500)
    brief = client.measured("retail").brief(model="AITO M9", period="2024-03")
    assert brief.text.startswith("AITO M9 sold 9,500 vehicles at retail in March 2024, according to CPCA.")
    with pytest.raises(DeliveryError) as bad:
        client.submit([{"source": "CPCA", "period": "2024-03", "model": "AITO M9", "units": 1, "measure": "retail "}])
    assert bad.value.code == "invalid_report" and bad.value.details["field"] == "measure"


def test_a_month_by_powertrain_adds_up_to_its_whole(client):
    # A maker's month by powertrain (2023: nothing else here reads 2023 figures): the M9 is listed
    # with BEV and EREV, so its two parts are its whole, and the whole says so.
    done = client.submit([
        {"source": "Maker", "period": "2023-09", "model": "AITO M9", "units": 8000, "powertrain": "EREV"},
        {"source": "Maker", "period": "2023-09", "model": "AITO M9", "units": 2000, "powertrain": "BEV"},
    ])
    whole = client.units(model="AITO M9", period="2023-09", after=done.after)
    assert (whole.units, whole.basis, whole.qualifier, whole["computedFrom"], whole.coverage) == (10000, "computed", "exact", "powertrains", "complete")
    bev = client.measured(powertrain="BEV")
    assert (bev.units(model="AITO M9", period="2023-09").units, bev.powertrain, client.powertrain) == (2000, "BEV", None)
    share = bev.share(model="AITO M9", period="2023-09", of_powertrain="NEV")
    assert (share["share"], share["ofUnits"], share["powertrain"], share["ofPowertrain"]) == (0.2, 10000, "BEV", "NEV")
    ranked = client.measured(powertrain="EREV").ranking(period="2023-09", within_group="HIMA")
    assert [(r["entity"]["id"], r["units"]) for r in ranked.rows] == [("aito-m9", 8000)]
    brief = client.brief(model="AITO M9", period="2023-09")
    assert "By powertrain: EREV 8,000 (80.0%), BEV 2,000 (20.0%)." in brief.text
    with pytest.raises(DeliveryError) as bad:
        client.submit([{"source": "Maker", "period": "2023-09", "model": "AITO M9", "units": 1, "powertrain": "bev"}])
    assert bad.value.code == "invalid_report" and bad.value.details["field"] == "powertrain"


def test_a_revised_figure_as_of_two_dates_and_its_history(client):
    # A month CPCA revised twice (2023-11: nothing else here reads it).
    done = client.submit([
        {"source": "CPCA", "period": "2023-11", "group": "HIMA", "units": 40000, "reportedAt": "2023-12-01T00:00:00Z"},
        {"source": "CPCA", "period": "2023-11", "group": "HIMA", "units": 41000, "reportedAt": "2023-12-10T00:00:00Z"},
        {"source": "CPCA", "period": "2023-11", "group": "HIMA", "units": 40500, "reportedAt": "2023-12-20T00:00:00Z"},
    ])
    assert client.units(group="HIMA", period="2023-11", after=done.after).units == 40500
    then = client.known_at("2023-12-05T00:00:00Z").units(group="HIMA", period="2023-11")
    assert (then.units, then["knownAt"]) == (40000, "2023-12-05T00:00:00Z")
    assert client.known_at("2023-12-15T00:00:00Z").units(group="HIMA", period="2023-11").units == 41000
    history = client.revisions(group="HIMA", period="2023-11")
    assert [(r["units"], r.get("change")) for r in history["reports"]] == [(40000, None), (41000, 1000), (40500, -500)]
    assert (history["first"]["units"], history["latest"]["units"], history["largest"]["change"]) == (40000, 40500, 1000)
    with pytest.raises(DeliveryError) as bad:
        client.known_at("last week").units(group="HIMA", period="2023-11")
    assert bad.value.code == "invalid_query" and bad.value.details["field"] == "knownAt"


def test_facts_resume_from_a_token_across_a_replica_kill(client, stack):
    # HIMA's 2021 (nothing else here reads it): a rising year states records, streaks, milestones.
    def month(m, units):
        return client.submit([{"source": "CPCA", "period": f"2021-{m:02d}", "group": "HIMA", "units": units,
                               "reportedAt": f"2021-{m:02d}-28T00:00:00Z"}])

    start = client.facts(limit=1)["token"]
    with client.follow_facts(start, heartbeat_timeout=10) as feed:
        for m in range(1, 5):
            done = month(m, 1000 * m)
        client.units(group="HIMA", period="2021-04", after=done.after)
        expected, end = client.facts_since(start)
        assert expected and all(f["history"] and f["number"] for f in expected)
        assert [feed.next(timeout=20) for _ in expected] == expected
        assert feed.token == end
        # The replica dies; facts are stated while it is down; the feed catches up from its token.
        stack.kill9("query")
        for m in range(5, 8):
            done = month(m, 1000 * m)
        stack.start("query")
        eventually(lambda: _answers(client, done.after), 30)
        more, later = client.facts_since(end)
        assert more
        assert [feed.next(timeout=30) for _ in more] == more
        assert feed.token == later and feed.catch_ups >= 2
    # A script that stopped half-way resumes from the token it kept: the rest, once.
    halfway = expected[len(expected) // 2]
    with client.follow_facts(f"{halfway['history']}:{halfway['number']}", heartbeat_timeout=10) as again:
        rest = [f for f in expected + more if f["number"] > halfway["number"]]
        assert [again.next(timeout=20) for _ in rest] == rest
    with pytest.raises(DeliveryError) as bad:
        client.facts(since="nonsense")
    assert bad.value.code == "invalid_query" and bad.value.details["field"] == "since"
    with pytest.raises(DeliveryError) as unknown:
        client.facts(since="f000000000000:1")
    assert "unknown token" in str(unknown.value)


def _answers(client, after):
    try:
        return client.units(group="HIMA", period="2021-07", after=after).units == 7000
    except DeliveryError:
        return False
