#!/usr/bin/env python3
"""delivery-web in a real browser: Playwright (PyPI) driving Debian's chromium against a stack of
real executables on loopback with the sample loaded. Checks the JSON endpoints with plain HTTP,
then the page: the HIMA bars and numbers, an update landing without a reload, the stale state when
the replica is killed and the recovery when it comes back, the keyboard and a phone's width.
Needs no pyzmq: reports go in through `deliveries submit`. Prints 'N passed, M failed'."""
import argparse, json, os, signal, subprocess, sys, tempfile, time, urllib.error, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally, eventually, free_port, stop_named, summarize  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def http(port, path, body=None):
    """(status, parsed JSON or text) of one request to the web service."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            raw, status, kind = r.read(), r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        raw, status, kind = e.read(), e.code, e.headers.get("Content-Type", "")
    return status, json.loads(raw) if kind.startswith("application/json") else raw.decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    check = Tally()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is not installed for this python (pip install playwright)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="delivery-web-")
    ports = {k: free_port() for k in ["in", "inpub", "agg", "aggpub", "q", "qpub", "web"]}
    ep = {k: f"tcp://127.0.0.1:{v}" for k, v in ports.items()}
    settings = {
        "ingest": dict(DELIVERY_INGEST_BIND=ep["in"], DELIVERY_INGEST_PUBLISH=ep["inpub"], DELIVERY_DATA_DIR=os.path.join(work, "ingest")),
        "aggregate": dict(DELIVERY_AGGREGATE_PUBLISH=ep["aggpub"], DELIVERY_AGGREGATE_BIND=ep["agg"], DELIVERY_INGEST_ENDPOINTS=ep["in"],
                          DELIVERY_INGEST_FEEDS=ep["inpub"], DELIVERY_DATA_DIR=os.path.join(work, "aggregate")),
        "query": dict(DELIVERY_QUERY_BIND=ep["q"], DELIVERY_QUERY_PUBLISH=ep["qpub"], DELIVERY_AGGREGATE_ENDPOINTS=ep["agg"],
                      DELIVERY_AGGREGATE_FEEDS=ep["aggpub"]),
        "web": dict(DELIVERY_WEB_BIND=f"127.0.0.1:{ports['web']}", DELIVERY_ENDPOINT=ep["q"], DELIVERY_FEED=ep["qpub"]),
    }
    procs = {}

    def start(service):
        log = open(os.path.join(work, service + ".log"), "a")
        env = dict(os.environ, DELIVERY_INSTANCE="web-test", DELIVERY_LOG_LEVEL="info", **settings[service])
        procs[service] = subprocess.Popen([os.path.join(args.bin, "delivery-" + service)], env=env, stdout=log, stderr=log)

    client_env = dict(os.environ, DELIVERY_ENDPOINT=ep["q"], DELIVERY_INGEST=ep["in"])

    def deliveries(*argv):
        return subprocess.run([os.path.join(args.bin, "deliveries"), *argv], env=client_env, capture_output=True, text=True, timeout=60)

    def submit(reports):
        path = os.path.join(work, f"reports-{time.monotonic_ns()}.json")
        with open(path, "w") as f:
            json.dump({"reports": reports}, f)
        return deliveries("submit", path)

    web = ports["web"]
    try:
        for service in ["ingest", "aggregate", "query", "web"]:
            start(service)
        check("stack answers ping", eventually(lambda: deliveries("ping", "--wait", "500").returncode == 0, 60))
        loaded = deliveries("submit", os.path.join(ROOT, "samples", "hima-2025-05.json"))
        check("sample loaded", loaded.returncode == 0, loaded.stderr)
        check("web follows the replica", eventually(lambda: http(web, "/api/state")[1]["state"] == "live", 30), str(http(web, "/api/state")))

        # The JSON endpoints mirror the queries, with the protocol's errors.
        check("units", eventually(lambda: http(web, "/api/units?group=HIMA&period=2025-05")[1]["units"] == 44454, 20))
        status, share = http(web, "/api/share?brand=AITO&period=2025-05")
        check("share", status == 200 and abs(share["share"] - 0.8239) < 1e-4 and "asOf" in share, str(share))
        status, growth = http(web, "/api/growth?group=HIMA&period=2025-05&vs=mom")
        check("growth", status == 200 and abs(growth["growth"] - 0.6133) < 1e-4, str(growth))
        # Parameters are read by the query's request type: numbers as numbers, nested objects by
        # their prefixed names, and anything the query does not take or cannot read is named.
        status, ranking = http(web, "/api/ranking?period=2025-05&level=brand&withinGroup=HIMA&top=2")
        check("ranking: withinGroup and a numeric top", status == 200 and len(ranking["rows"]) == 2 and ranking["within"]["id"] == "hima", str(ranking)[:200])
        status, streak = http(web, "/api/streak?model=AITO%20M8&period=2025-05&atLeast=1000")
        check("streak: a condition from atLeast", status == 200 and "months" in streak, str(streak)[:200])
        status, wrong = http(web, "/api/ranking?period=2025-05&level=brand&top=two")
        check("a mistyped number is 400 naming it", status == 400 and wrong["code"] == "invalid_query" and "'top'" in wrong["message"], str(wrong))
        status, extra = http(web, "/api/units?group=HIMA&period=2025-05&perod=2025-04")
        check("an unknown parameter is 400 naming it", status == 400 and "'perod'" in extra["message"], str(extra))
        status, missing = http(web, "/api/units?group=HIMA")
        check("a missing one is 400 naming it", status == 400 and "'period'" in missing["message"], str(missing))
        status, ranking = http(web, "/api/ranking?period=2025-05&level=model&withinGroup=HIMA&top=2")
        check("ranking with a number parameter", status == 200 and [r["entity"]["id"] for r in ranking["rows"]] == ["aito-m9", "aito-m8"], str(ranking))
        status, streak = http(web, "/api/streak?group=HIMA&period=2025-05&growth=mom&direction=up")
        check("streak with a condition", status == 200 and streak["months"] == 1 and streak["endedBy"] == "missing", str(streak))
        status, posted = http(web, "/api/units", {"entity": {"brand": "AITO"}, "period": "2025-05"})
        check("POST a protocol body", status == 200 and posted["units"] == 36625, str(posted))
        status, error = http(web, "/api/units?group=Nope&period=2025-05")
        check("unknown entity is 400 with the protocol's error", status == 400 and error["code"] == "unknown_entity" and error["details"]["field"] == "entity", str(error))
        status, error = http(web, "/api/units?group=HIMA&period=2025-13")
        check("invalid query is 400", status == 400 and error["code"] == "invalid_query", str(error))
        status, total = http(web, "/api/units?segmentTotal=above-500k&period=2025-05")
        check("a segment's total is an entity of its own", status == 200 and total["entity"]["level"] == "segment"
              and total["entity"]["path"] == ["segment:above-500k"], str(total))
        status, error = http(web, "/api/nonsense")
        check("unknown query is 404", status == 404 and error["code"] == "unknown_type", str(error))
        status, error = http(web, "/api/units", b"{not json")
        check("bad JSON is 400", status == 400 and error["code"] == "bad_json", str(error))
        check("health", http(web, "/healthz")[0] == 200 and http(web, "/readyz")[0] == 200)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{web}/?level=group&name=hima&period=2025-05")
            page.wait_for_function("document.getElementById('units').textContent === '44,454'", timeout=20000)
            check("HIMA total", page.text_content("#units") == "44,454")
            page.wait_for_selector("#children g[data-id=aito] .value", timeout=10000)
            check("AITO bar with its share", page.text_content("#children g[data-id=aito] .value") == "36,625 · 82.4%",
                  page.text_content("#children g[data-id=aito] .value"))
            check("Stelato's bound said in words", "at least 2,000" in page.text_content("#children g[data-id=stelato] .value"))
            check("live state shown", page.get_attribute("#status", "data-state") == "live")
            check("asOf shown", page.text_content("#asof").startswith("As of "))
            check("reconcile remainder", page.text_content("#unattributed") == "at most 705", page.text_content("#unattributed"))
            segment = page.text_content("#segment")
            check("segment leader stated by its source", "Leader, according to CPCA: AITO M9" in segment, segment)
            check("a lead only among tracked models is not called one", "No source states this segment's leader for 2025-05; 1 of its 3 tracked models have figures." in segment
                  and "Leader, according to CPCA: Luxeed R7" not in segment and "Ranking among tracked models" in segment, segment)
            check("Luxeed's sum is a lower bound", "at least 5,124" in page.text_content("#children g[data-id=luxeed] .value"),
                  page.text_content("#children g[data-id=luxeed] .value"))
            check("line chart has a text equivalent", page.locator("#months svg[role=img] > title").count() == 1
                  and page.locator("#months table tr").count() == 13)

            # A brand whose sum misses a model says "at least" and names it.
            luxeed = browser.new_page()
            luxeed.goto(f"http://127.0.0.1:{web}/?level=brand&name=luxeed&period=2025-05")
            luxeed.wait_for_function("document.getElementById('units').textContent === '5,124'", timeout=20000)
            check("Luxeed says at least and what is missing", eventually(lambda: "(at least) computed from its parts; no figure for Luxeed S7" in luxeed.text_content("#qualifier"), 10),
                  luxeed.text_content("#qualifier"))
            luxeed.close()

            # A new report lands: the bar and the total change without a reload.
            page.evaluate("window.__sameDocument = true")
            sent = submit([
                {"id": "hima-2025-05-rev", "source": "CPCA", "period": "2025-05", "group": "HIMA", "units": 45000,
                 "reportedAt": "2025-06-02T00:00:00Z"},
                {"id": "luxeed-2025-05", "source": "CPCA", "period": "2025-05", "group": "HIMA", "brand": "Luxeed", "units": 6000,
                 "reportedAt": "2025-06-02T00:00:00Z"},
            ])
            check("revision submitted", sent.returncode == 0, sent.stderr)
            check("total updates live", eventually(lambda: page.text_content("#units") == "45,000", 15), page.text_content("#units"))
            check("bar updates live", eventually(lambda: page.text_content("#children g[data-id=luxeed] .value") == "6,000 · 13.3%", 15),
                  page.text_content("#children g[data-id=luxeed] .value"))
            check("no reload", page.evaluate("window.__sameDocument === true"))

            # The replica dies: the page says its data is stale; it comes back: the page recovers.
            procs["query"].send_signal(signal.SIGKILL)
            procs["query"].wait()
            check("stale shown", eventually(lambda: page.get_attribute("#status", "data-state") in ("stale", "lost"), 20),
                  page.get_attribute("#status", "data-state"))
            check("the reason is said", "replica" in page.text_content("#status"), page.text_content("#status"))
            start("query")
            check("recovers", eventually(lambda: page.get_attribute("#status", "data-state") == "live", 30), page.text_content("#status"))
            check("figures right after recovery", eventually(lambda: page.text_content("#units") == "45,000", 15))
            check("still no reload", page.evaluate("window.__sameDocument === true"))

            # A figure's history on click: the reports behind it, with how each moved its value.
            page.click("#history-button")
            check("the history opens", eventually(lambda: page.locator("#history table tr").count() >= 3, 10), page.inner_html("#history")[:300])
            history = page.text_content("#history")
            check("every value it has had", "44,454" in history and "45,000" in history and "current" in history, history[:300])
            check("the button says it is open", page.get_attribute("#history-button", "aria-expanded") == "true",
                  page.get_attribute("#history-button", "aria-expanded"))
            # A revision lands while it is open: it stays open and lists the new report.
            sent = submit([{"id": "hima-2025-05-rev2", "source": "CPCA", "period": "2025-05", "group": "HIMA", "units": 45500,
                            "reportedAt": "2025-06-03T00:00:00Z"}])
            check("second revision submitted", sent.returncode == 0, sent.stderr)
            check("the open history takes the new report", eventually(lambda: "45,500" in page.text_content("#history")
                                                                       and "+500" in page.text_content("#history"), 15), page.text_content("#history")[:400])
            check("and stays open", page.get_attribute("#history-button", "aria-expanded") == "true" and page.is_visible("#history"))
            # CPCA goes back to 45,000 (what the rest of this test reads).
            sent = submit([{"id": "hima-2025-05-rev3", "source": "CPCA", "period": "2025-05", "group": "HIMA", "units": 45000,
                            "reportedAt": "2025-06-04T00:00:00Z"}])
            check("third revision submitted", sent.returncode == 0, sent.stderr)
            check("back to 45,000", eventually(lambda: page.text_content("#units") == "45,000" and "-500" in page.text_content("#history"), 15),
                  page.text_content("#units"))

            # Keyboard: every control is reachable and labelled.
            page.focus("#level")
            page.keyboard.press("ArrowDown")  # Group → Brand
            check("keyboard changes the level", eventually(lambda: page.input_value("#level") == "brand", 5))
            page.keyboard.press("Tab")
            check("tab reaches the name", page.evaluate("document.activeElement.id") == "entity")
            check("controls labelled", all(page.get_by_label(name, exact=True).count() == 1 for name in ["Level", "Name", "Month"]),
                  str([page.get_by_label(name, exact=True).count() for name in ["Level", "Name", "Month"]]))
            page.select_option("#entity", "aito")
            check("brand view", eventually(lambda: page.text_content("#units") == "36,625", 15), page.text_content("#units"))
            check("brand's models as bars", eventually(lambda: page.locator("#children g[data-id=aito-m9]").count() == 1, 10))

            # Another measure's figures: chosen on the page, answered apart, said in the heading.
            path = os.path.join(work, "retail.json")
            with open(path, "w") as f:
                json.dump({"reports": [{"id": "aito-retail-2025-05", "source": "CPCA", "period": "2025-05", "brand": "AITO",
                                        "units": 30000, "measure": "retail", "reportedAt": "2025-06-03T00:00:00Z"}]}, f)
            sent = deliveries("submit", path)
            check("a retail figure submitted", sent.returncode == 0, sent.stderr)
            check("the measure is labelled", page.get_by_label("Measure", exact=True).count() == 1)
            page.select_option("#measure", "retail")
            check("retail shown apart", eventually(lambda: page.text_content("#units") == "30,000", 15), page.text_content("#units"))
            check("the heading says the measure", page.text_content("#figure-h") == "Retail sales", page.text_content("#figure-h"))
            check("the address keeps it", "measure=retail" in page.url, page.url)
            page.select_option("#measure", "deliveries")
            check("deliveries as before", eventually(lambda: page.text_content("#units") == "36,625", 15), page.text_content("#units"))

            # A phone's width: nothing wider than the screen.
            phone = browser.new_page(viewport={"width": 375, "height": 800})
            phone.goto(f"http://127.0.0.1:{web}/?level=group&name=hima&period=2025-05")
            phone.wait_for_function("document.getElementById('units').textContent === '45,000'", timeout=20000)
            # Measured once every panel is drawn (the month table is the last to come).
            phone.wait_for_selector("#months table", state="attached", timeout=20000)
            check("fits a phone", phone.evaluate("document.documentElement.scrollWidth") <= 376,
                  str(phone.evaluate("document.documentElement.scrollWidth")))
            # Names are text, never markup: a brand named like a script tag and one closing the
            # title render as their characters, in the bars and in the picker, and run nothing.
            hostile = {"xss-script": "<script>alert(1)</script>", "xss-title": "</title><b>bold</b>"}
            path = os.path.join(work, "hostile-catalog.json")
            with open(path, "w") as f:
                json.dump({"catalog": {"brands": [{"id": k, "name": v, "group": "hima"} for k, v in hostile.items()]},
                           "reports": [{"id": f"{k}-2025-05", "source": "CPCA", "period": "2025-05", "group": "HIMA", "brand": v, "units": 10,
                                        "reportedAt": "2025-06-02T00:00:00Z"} for k, v in hostile.items()]}, f)
            sent = deliveries("submit", path)
            check("hostile names submitted", sent.returncode == 0, sent.stderr)
            dialogs = []
            xss = browser.new_page()
            xss.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            xss.goto(f"http://127.0.0.1:{web}/?level=group&name=hima&period=2025-05")
            xss.wait_for_selector("#children g[data-id=xss-script]", timeout=20000)
            bars = xss.text_content("#children")
            check("a script-tag name shows as text in the bars", "<script>alert(1)</script>" in bars, bars[:300])
            check("a </title> name shows as text in the bars", "</title><b>bold</b>" in bars, bars[:300])
            check("no script of a name ran", not dialogs and xss.locator("#children script, #children b").count() == 0, dialogs)
            xss.select_option("#level", "brand")
            xss.wait_for_function("[...document.querySelectorAll('#entity option')].some(o => o.value === 'xss-title')", timeout=10000)
            check("the picker lists them as text", xss.locator("#entity option[value=xss-script]").text_content() == hostile["xss-script"])
            browser.close()
    finally:
        stop_named(procs, check, timeout=10)
    return summarize(work, check)

if __name__ == "__main__":
    sys.exit(main())
