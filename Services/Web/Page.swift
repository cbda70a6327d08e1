/// The page: plain HTML, CSS and JavaScript served as they are (no build step, nothing fetched
/// from elsewhere). It asks the JSON endpoints for figures, draws them as SVG with a table
/// beside each chart for screen readers, and listens on `/events` to update as reports land.
enum Page {
    static let files: [(path: String, type: String, body: String)] = [
        ("/", "text/html; charset=utf-8", html),
        ("/index.html", "text/html; charset=utf-8", html),
        ("/style.css", "text/css; charset=utf-8", css),
        ("/app.js", "text/javascript; charset=utf-8", script),
    ]

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>DeliveryTracker</title>
        <link rel="stylesheet" href="/style.css">
        </head>
        <body>
        <a class="skip" href="#main">Skip to the figures</a>
        <header>
          <h1>DeliveryTracker</h1>
          <p id="status" role="status" aria-live="polite" data-state="starting">Connecting to the replica…</p>
        </header>
        <main id="main">
          <form id="pick" aria-label="What to show">
            <div class="field"><label for="level">Level</label>
              <select id="level"><option value="group">Group</option><option value="brand">Brand</option><option value="model">Model</option></select></div>
            <div class="field"><label for="entity">Name</label><select id="entity"></select></div>
            <div class="field"><label for="month">Month</label><input id="month" type="month" required></div>
            <div class="field"><label for="measure">Measure</label>
              <select id="measure"><option value="deliveries">Deliveries</option><option value="retail">Retail sales</option><option value="wholesale">Wholesale</option><option value="registrations">Registrations</option><option value="production">Production</option><option value="exports">Exports</option></select></div>
          </form>
          <section aria-labelledby="figure-h">
            <h2 id="figure-h">Deliveries</h2>
            <p class="big"><span id="units">–</span> <span id="qualifier" class="muted"></span></p>
            <p id="figure-note" class="muted"></p>
            <p id="asof" class="muted"></p>
            <button type="button" id="history-button" aria-expanded="false" aria-controls="history">History of this figure</button>
            <div id="history" hidden></div>
          </section>
          <section aria-labelledby="children-h" id="children-section">
            <h2 id="children-h">Breakdown</h2>
            <div id="children"></div>
          </section>
          <section aria-labelledby="months-h">
            <h2 id="months-h">Month by month</h2>
            <div id="months"></div>
          </section>
          <section aria-labelledby="segment-h">
            <h2 id="segment-h">Segment ranking and streaks</h2>
            <div id="segment"></div>
          </section>
          <section aria-labelledby="reconcile-h">
            <h2 id="reconcile-h">Reported total against its parts</h2>
            <div id="reconcile"></div>
          </section>
          <section aria-labelledby="facts-h">
            <h2 id="facts-h">Live facts</h2>
            <ul id="facts" aria-live="polite"><li class="muted" id="no-facts">Records, streaks and milestones appear here as new figures make them true.</li></ul>
          </section>
        </main>
        <footer class="muted">Figures from the replica's JSON endpoints (<code>/api/&lt;query&gt;</code>); live updates from <code>/events</code>.</footer>
        <script src="/app.js"></script>
        </body>
        </html>
        """#

    static let css = #"""
        :root { --ink: #1a1a1a; --muted: #4d4d4d; --bar: #1f5f99; --bar2: #7a4a00; --bg: #ffffff; --line: #c8c8c8; }
        * { box-sizing: border-box; }
        body { margin: 0 auto; max-width: 64rem; padding: 0 1rem 2rem; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem; border-bottom: 1px solid var(--line); }
        h1 { font-size: 1.5rem; margin: .75rem 0; }
        h2 { font-size: 1.15rem; margin: 1.25rem 0 .5rem; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .25rem .5rem; border: 2px solid var(--ink); }
        #status { margin: 0; padding: .25rem .6rem; border-radius: 1rem; font-weight: 600; border: 2px solid currentColor; }
        #status[data-state="live"] { color: #135e1b; }
        #status[data-state="stale"] { color: #8a4b00; }
        #status[data-state="lost"], #status[data-state="starting"] { color: #a3141b; }
        form { display: flex; flex-wrap: wrap; gap: 1rem; margin: 1rem 0; }
        .field { display: flex; flex-direction: column; }
        label { font-weight: 600; }
        select, input { font: inherit; padding: .35rem; min-width: 10rem; border: 1px solid var(--muted); border-radius: .25rem; }
        :focus-visible { outline: 3px solid #1f5f99; outline-offset: 2px; }
        .big { font-size: 2rem; font-weight: 700; margin: .25rem 0; }
        .big .muted { font-size: 1rem; font-weight: 400; }
        .muted { color: var(--muted); }
        .error { color: #a3141b; font-weight: 600; }
        svg { max-width: 100%; height: auto; display: block; }
        svg text { font: 13px system-ui, sans-serif; fill: var(--ink); }
        table { border-collapse: collapse; margin: .5rem 0; }
        th, td { text-align: left; padding: .2rem .6rem; border-bottom: 1px solid var(--line); }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        .legend { display: flex; gap: 1rem; flex-wrap: wrap; font-size: .9rem; }
        #facts li { margin: .25rem 0; }
        @media (max-width: 40rem) { .big { font-size: 1.6rem; } select, input { min-width: 8rem; } }
        """#

    static let script = #"""
        "use strict";
        const $ = (id) => document.getElementById(id);
        const fmt = (n) => Number(n).toLocaleString("en-US");
        const pct = (x) => x == null ? "n/a" : (x * 100).toFixed(1) + "%";
        const words = { exact: "", atLeast: "at least", atMost: "at most", approximate: "about" };
        const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
        let catalog = null;
        let refreshTimer = null;

        // Another measure's figures are their own: every query of the page names the measure chosen.
        async function api(kind, params) {
          const measure = $("measure").value;
          if (measure !== "deliveries" && kind !== "catalog") params = { ...params, measure };
          const response = await fetch("/api/" + kind + "?" + new URLSearchParams(params));
          const body = await response.json();
          if (!response.ok) { const e = new Error(body.message || response.statusText); e.code = body.code; throw e; }
          return body;
        }

        function selection() {
          const level = $("level").value, id = $("entity").value, period = $("month").value;
          const params = { period }; params[level] = id;
          return { level, id, period, params };
        }

        function shiftMonth(period, by) {
          const [y, m] = period.split("-").map(Number);
          const d = new Date(Date.UTC(y, m - 1 + by, 1));
          return d.getUTCFullYear() + "-" + String(d.getUTCMonth() + 1).padStart(2, "0");
        }

        function fillEntities(keep) {
          const level = $("level").value;
          const list = catalog ? catalog[level + "s"] : [];
          $("entity").innerHTML = list.map((e) => `<option value="${esc(e.id)}">${esc(e.name)}</option>`).join("");
          if (keep && list.some((e) => e.id === keep)) $("entity").value = keep;
        }

        function failed(target, error) {
          $(target).innerHTML = `<p class="error">${esc(error.code ? error.code + ": " : "")}${esc(error.message)}</p>`;
        }

        function bars(rows, title) {
          const width = 640, row = 30, left = 150, right = 150, top = max(rows.map((r) => r.units), 1);
          const height = rows.length * row + 10;
          let svg = `<svg role="img" aria-labelledby="bars-t" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><title id="bars-t">${esc(title)}</title>`;
          rows.forEach((r, i) => {
            const w = Math.max(1, (width - left - right) * r.units / top), y = i * row + 5;
            svg += `<g data-id="${esc(r.id)}"><text x="${left - 8}" y="${y + 18}" text-anchor="end">${esc(r.name)}</text>` +
              `<rect x="${left}" y="${y + 4}" width="${w}" height="${row - 10}" fill="var(--bar)"></rect>` +
              `<text class="value" x="${left + w + 6}" y="${y + 18}">${esc(r.label)}</text></g>`;
          });
          svg += "</svg>";
          const table = `<div class="sr-only"><table><caption>${esc(title)}</caption><tr><th>Name</th><th class="num">Units</th><th class="num">Share</th></tr>` +
            rows.map((r) => `<tr><td>${esc(r.name)}</td><td class="num">${esc(r.units_text)}</td><td class="num">${esc(r.share_text)}</td></tr>`).join("") + "</table></div>";
          return svg + table;
        }
        function max(list, floor) { return Math.max(floor, ...list); }

        function line(points, title) {
          const width = 640, height = 220, pad = 40, top = max(points.map((p) => p.units), 1);
          const x = (i) => pad + i * (width - 2 * pad) / Math.max(points.length - 1, 1);
          const y = (u) => height - pad - (height - 2 * pad) * u / top;
          let svg = `<svg role="img" aria-labelledby="line-t" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><title id="line-t">${esc(title)}</title>`;
          svg += `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="var(--line)"></line>`;
          let path = "", open = false;
          points.forEach((p, i) => {
            if (!p.complete) { open = false; return; }
            path += (open ? " L" : " M") + x(i) + " " + y(p.units); open = true;
          });
          svg += `<path d="${path}" fill="none" stroke="var(--bar)" stroke-width="2"></path>`;
          points.forEach((p, i) => {
            if (p.complete) {
              const reported = p.basis === "reported", approx = p.qualifier !== "exact";
              svg += `<circle cx="${x(i)}" cy="${y(p.units)}" r="5" fill="${reported ? "var(--bar)" : "#fff"}" stroke="var(--bar)" stroke-width="2"${approx ? ' stroke-dasharray="2 2"' : ""}><title>${esc(p.period)}: ${esc(words[p.qualifier])} ${fmt(p.units)} (${p.basis})</title></circle>`;
              if (approx) svg += `<text x="${x(i) + 7}" y="${y(p.units) - 7}">≈</text>`;
            }
            const step = Math.ceil(points.length / 6);
            if ((i % step === 0 && points.length - 1 - i >= step / 2) || i === points.length - 1) svg += `<text x="${x(i)}" y="${height - pad + 18}" text-anchor="middle">${esc(p.period)}</text>`;
          });
          svg += "</svg>";
          const legend = `<p class="legend"><span>● reported</span><span>○ computed from its parts</span><span>≈ approximate or a bound</span><span>gap: no figure</span></p>`;
          const table = `<div class="sr-only"><table><caption>${esc(title)}</caption><tr><th>Month</th><th class="num">Units</th><th>Basis</th><th>Qualifier</th></tr>` +
            points.map((p) => `<tr><td>${esc(p.period)}</td><td class="num">${p.complete ? fmt(p.units) : "no figure"}</td><td>${esc(p.basis)}</td><td>${esc(p.qualifier)}</td></tr>`).join("") + "</table></div>";
          return svg + legend + table;
        }

        // A figure's history on click: every report of it, in the order of reports, with how each
        // moved its source's value (the revisions query).
        async function showHistory() {
          const open = $("history-button").getAttribute("aria-expanded") !== "true";
          $("history-button").setAttribute("aria-expanded", String(open));
          $("history").hidden = !open;
          if (open) await loadHistory();
        }

        // The figure whose history the panel is for: another figure closes it; a new render of the
        // same one (a live update) refreshes it, open.
        let historyKey = "";
        async function loadHistory() {
          const s = selection();
          try {
            const r = await api("revisions", s.params);
            $("history").innerHTML = !r.reports.length ? `<p class="muted">No report of this figure: it is the sum of its parts.</p>`
              : `<table><caption>Every report of this figure</caption><tr><th>Reported at</th><th>Source</th><th class="num">Units</th><th class="num">Change</th><th>Now</th></tr>` +
                r.reports.map((x) => `<tr><td>${esc(x.reportedAt)}</td><td>${esc(x.source)}</td><td class="num">${(words[x.qualifier] ? words[x.qualifier] + " " : "") + fmt(x.units)}</td>` +
                  `<td class="num">${x.change == null ? "first" : (x.change > 0 ? "+" : "") + fmt(x.change)}</td><td>${x.current ? "current" : ""}</td></tr>`).join("") + "</table>" +
                (r.largest ? `<p class="muted">Largest revision: ${esc(r.largest.source)} ${(r.largest.change > 0 ? "+" : "") + fmt(r.largest.change)} on ${esc(r.largest.reportedAt)}.</p>` : "");
          } catch (e) { failed("history", e); }
        }

        async function render() {
          const s = selection();
          if (!s.id || !s.period) return;
          const measure = $("measure").value;
          const shown = [s.level, s.id, s.period, measure].join("/");
          if (shown !== historyKey) {
            historyKey = shown;
            $("history-button").setAttribute("aria-expanded", "false");
            $("history").hidden = true;
          } else if ($("history-button").getAttribute("aria-expanded") === "true") {
            loadHistory();
          }
          history.replaceState(null, "", "?" + new URLSearchParams({ level: s.level, name: s.id, period: s.period, ...(measure === "deliveries" ? {} : { measure }) }));
          $("figure-h").textContent = $("measure").selectedOptions[0].textContent;
          const name = $("entity").selectedOptions[0]?.textContent || s.id;
          try {
            const u = await api("units", s.params);
            $("units").textContent = fmt(u.units);
            $("qualifier").textContent = (words[u.qualifier] ? "(" + words[u.qualifier] + ") " : "") + (u.basis === "reported" ? "reported" : "computed from its parts")
              + (u.coverage === "partial" ? "; no figure for " + u.missing.map((m) => m.name).join(", ") + (u.missingCount > u.missing.length ? " and " + (u.missingCount - u.missing.length) + " more" : "")
                : u.coverage === "tracked" ? "; the sum of the tracked groups" : "");
            $("figure-note").textContent = `${name}, ${s.period}` + (u.complete ? "" : " — no figure on record");
            $("asof").textContent = "As of " + Object.entries(u.asOf).map(([k, v]) => k + " " + v).join(", ");
          } catch (e) { failed("figure-note", e); $("units").textContent = "–"; }
          const child = { group: "brand", brand: "model", model: null }[s.level];
          $("children-section").hidden = !child;
          if (child) {
            try {
              const within = s.level === "group" ? { withinGroup: s.id } : { withinBrand: s.id };
              const [r, whole] = await Promise.all([api("ranking", { period: s.period, level: child, ...within }), api("units", s.params)]);
              const rows = r.rows.map((row) => ({
                id: row.entity.id, name: row.entity.name, units: row.units,
                units_text: (words[row.qualifier] ? words[row.qualifier] + " " : "") + fmt(row.units),
                share_text: whole.units ? pct(row.units / whole.units) : "n/a",
              }));
              rows.forEach((row) => row.label = row.units_text + " · " + row.share_text);
              $("children").innerHTML = rows.length ? bars(rows, `${name}'s ${child}s in ${s.period}, share of ${fmt(whole.units)}`) : `<p class="muted">No ${child} has a figure for ${esc(s.period)}.</p>`;
            } catch (e) { failed("children", e); }
          }
          try {
            const { period: _, ...entity } = s.params;
            const series = await api("series", { ...entity, from: shiftMonth(s.period, -11), to: s.period });
            delete series.period;
            $("months").innerHTML = line(series.points, `${name}, ${series.from} to ${series.to}`);
          } catch (e) { failed("months", e); }
          try { await renderSegment(s, name); } catch (e) { failed("segment", e); }
          try {
            const r = await api("reconcile", s.params);
            $("reconcile").innerHTML = r.reported == null
              ? `<p class="muted">${esc(name)} has no reported total for ${esc(s.period)}; its figure is the sum of its parts.</p>`
              : `<table><tr><th>Reported</th><td class="num">${fmt(r.reported)}</td></tr><tr><th>Sum of its parts</th><td class="num">${fmt(r.childrenSum)}</td></tr>` +
                `<tr><th>Not attributed</th><td class="num" id="unattributed">${r.unattributed == null ? "n/a" : (words[r.childrenQualifier] === "at least" ? "at most " : "") + fmt(r.unattributed)}</td></tr></table>`;
          } catch (e) { failed("reconcile", e); }
        }

        async function renderSegment(s, name) {
          const models = s.level === "model" ? catalog.models.filter((m) => m.id === s.id)
            : catalog.models.filter((m) => s.level === "brand" ? m.brand === s.id : catalog.brands.some((b) => b.id === m.brand && b.group === s.id));
          const segments = [...new Set(models.map((m) => m.segment).filter(Boolean))];
          if (!segments.length) { $("segment").innerHTML = `<p class="muted">No segment in the catalog for ${esc(name)}.</p>`; return; }
          let out = "";
          for (const seg of segments) {
            const [ranking, streak] = await Promise.all([api("ranking", { period: s.period, level: "model", segment: seg }), api("streak", { segment: seg, period: s.period })]);
            const info = catalog.segments.find((x) => x.id === seg);
            out += `<h3>${esc(info ? info.name : seg)}</h3>`;
            // A segment is market-wide: only a reported rank names its leader; the rest ranks the tracked models.
            out += !streak.leader ? `<p class="muted">No figures in this segment.</p>`
              : streak.basis === "reported" ? `<p class="lead">Leader, according to ${esc(streak.source)}: <strong>${esc(streak.leader.name)}</strong>, ${streak.months} month${streak.months === 1 ? "" : "s"} in a row${streak.complete ? "" : " on record"}.</p>`
              : `<p class="lead muted">No source states this segment's leader for ${esc(s.period)}; ${streak.withFigures} of its ${streak.trackedModels} tracked models have figures.</p>`;
            out += `<table><caption>Ranking among tracked models, ${esc(s.period)}</caption><tr><th class="num">Rank</th><th>Model</th><th class="num">Units</th></tr>` +
              ranking.rows.map((r) => `<tr><td class="num">${r.rank}</td><td>${esc(r.entity.name)}</td><td class="num">${(words[r.qualifier] ? words[r.qualifier] + " " : "") + fmt(r.units)}</td></tr>`).join("") + "</table>";
          }
          $("segment").innerHTML = out;
        }

        function setState(state, text) {
          $("status").dataset.state = state;
          $("status").textContent = text;
        }

        function showLink(data) {
          const label = { live: "Live", stale: "Stale", lost: "Connection lost", starting: "Connecting" }[data.state] || data.state;
          setState(data.state, label + (data.state === "live" ? "" : ": " + data.reason));
        }

        function scheduleRefresh() {
          clearTimeout(refreshTimer);
          refreshTimer = setTimeout(render, 150);
        }

        function listen() {
          const events = new EventSource("/events");
          events.addEventListener("state", (e) => { const d = JSON.parse(e.data); showLink(d); if (d.state === "live") scheduleRefresh(); });
          events.addEventListener("resync", () => scheduleRefresh());
          events.addEventListener("figure", (e) => {
            const d = JSON.parse(e.data), s = selection();
            if ((d.measure || "deliveries") === $("measure").value && (d.path.includes(s.id) || d.level === "market")) scheduleRefresh();
          });
          events.addEventListener("fact", (e) => {
            $("no-facts")?.remove();
            const d = JSON.parse(e.data), li = document.createElement("li");
            li.textContent = `${d.period}: ${d.text}`;
            $("facts").prepend(li);
            while ($("facts").children.length > 20) $("facts").lastChild.remove();
          });
          events.onerror = () => setState("lost", "Connection lost: the page's link to the web service is down; retrying");
        }

        async function start() {
          const params = new URLSearchParams(location.search);
          const now = new Date();
          $("month").value = params.get("period") || shiftMonth(now.getUTCFullYear() + "-" + String(now.getUTCMonth() + 1).padStart(2, "0"), -1);
          if (params.get("level")) $("level").value = params.get("level");
          if (params.get("measure")) $("measure").value = params.get("measure");
          for (;;) {
            try { catalog = await api("catalog", {}); break; }
            catch (e) { setState("lost", "Waiting for the replica: " + e.message); await new Promise((r) => setTimeout(r, 1000)); }
          }
          fillEntities(params.get("name"));
          $("level").addEventListener("change", () => { fillEntities(); render(); });
          $("entity").addEventListener("change", render);
          $("month").addEventListener("change", render);
          $("measure").addEventListener("change", render);
          $("history-button").addEventListener("click", showHistory);
          listen();
          await render();
        }
        start();
        """#
}
