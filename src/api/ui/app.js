// linkdiff dashboard: reads the Ahrefs v2 API of this server (and /ui/api for watched links and
// runs) and draws charts (uPlot, vendored as /ui/uplot.js) and tables. No build step; state
// lives in the URL hash (#target=…&mode=…&token=…&q=…&from=…&to=…) so a view can be bookmarked.
"use strict";

const params = () => new URLSearchParams(location.hash.slice(1));

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

async function v2(query) {
  const p = params();
  const q = new URLSearchParams(query);
  q.set("output", "json");
  if (p.get("token")) q.set("token", p.get("token"));
  const r = await fetch("/?" + q.toString());
  const body = await r.json();
  if (body.error) throw new Error(body.error);
  return body;
}

async function uiApi(path) {
  const p = params();
  const q = new URLSearchParams();
  if (p.get("token")) q.set("token", p.get("token"));
  const r = await fetch("/ui/api/" + path + "?" + q.toString());
  const body = await r.json();
  if (body.error) throw new Error(body.error);
  return body;
}

const DAY = 86400;
const isoDay = (t) => new Date(t * 1000).toISOString().slice(0, 10);
const dayOf = (iso) => Date.parse(iso.slice(0, 10) + "T00:00:00Z") / 1000;

// The charts drawn (by section id), for zoom sync and for tests.
const charts = {};
window.linkdiffCharts = charts;
// The date range picked by drag-to-zoom ({from, to} as YYYY-MM-DD, or null), and the tables'
// redraws it filters.
let range = null;
const redraws = [];

function readRange() {
  const p = params();
  range = p.get("from") && p.get("to") ? { from: p.get("from"), to: p.get("to") } : null;
}

// A zoom on any chart: every chart shows the range, the tables below keep only its rows,
// and the address remembers it (without reloading).
// Each chart keeps the range it shows in `_ldRange` (null: every day), which its scale's
// `range` returns whenever uPlot re-ranges (resizes, data); `_ldDrag` marks a drag's own change.
function zoomed(min, max, full) {
  const p = params();
  if (full) {
    range = null;
    p.delete("from");
    p.delete("to");
  } else {
    range = { from: isoDay(Math.ceil(min / DAY) * DAY), to: isoDay(Math.floor(max / DAY) * DAY) };
    p.set("from", range.from);
    p.set("to", range.to);
  }
  history.replaceState(null, "", "#" + p.toString());
  for (const u of Object.values(charts)) {
    u._ldRange = full ? null : [min, max];
    const [lo, hi] = u._ldRange || u._ldFull;
    if (u.scales.x.min !== lo || u.scales.x.max !== hi) u.setScale("x", { min: lo, max: hi });
  }
  for (const r of redraws) r();
}

const inRange = (iso) => !range || (iso && iso.slice(0, 10) >= range.from && iso.slice(0, 10) <= range.to);

// A uPlot chart in `box` over `days` (Unix seconds, UTC midnights): `bars` series as bars
// (values already signed: lost drawn down), or one stepped line. A tooltip near the cursor
// names the day and each series' value.
function plot(box, key, days, series, empty) {
  box.replaceChildren();
  if (charts[key]) {
    charts[key].destroy();
    delete charts[key];
  }
  if (days.length === 0) {
    box.append(el("p", { class: "empty" }, empty));
    return;
  }
  // Every day with a day's margin, and at least a week (fewer days would tick in hours).
  const pad = Math.max(DAY, (7 * DAY - (days[days.length - 1] - days[0])) / 2);
  const full = [days[0] - pad, days[days.length - 1] + pad];
  const tip = el("div", { class: "tip" });
  const opts = {
    width: Math.max(320, box.clientWidth || 800),
    height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    // Auto-ranging (first draw, resizes, double-click) shows every day with a day's margin; a
    // zoom (a drag, or one applied to every chart) keeps the range it asked for.
    scales: { x: { time: true, range: (u, min, max) => (u._ldDrag ? [min, max] : u._ldRange || full) } },
    // Ticks on days (uPlot's own day, month = 28-day and year increments), never on hours.
    axes: [
      { incrs: [1, 2, 3, 4, 5, 7, 10, 14, 15, 28, 56, 84, 112, 168, 365, 730, 1825].map((n) => n * DAY) },
      { values: (u, vals) => vals.map((v) => Math.abs(v)) },
    ],
    series: [
      { label: "Day", value: (u, v) => (v == null ? "" : isoDay(v)) },
      ...series.map((s) => ({
        label: s.name,
        stroke: s.color,
        fill: s.bars ? s.color : undefined,
        width: s.bars ? 0 : 2,
        paths: s.bars ? uPlot.paths.bars({ size: [0.6, 48] }) : uPlot.paths.stepped({ align: 1 }),
        points: { show: !s.bars },
        value: (u, v) => (v == null ? "" : String(Math.abs(v))),
      })),
    ],
    cursor: { drag: { x: true, y: false, setScale: true } },
    legend: { live: true },
    hooks: {
      // A drag ends with a selection, then the scale it selects.
      setSelect: [
        (u) => {
          if (u.select.width > 0) u._ldDrag = true;
        },
      ],
      setScale: [
        (u, k) => {
          if (k !== "x" || !u._ldDrag) return;
          u._ldDrag = false;
          zoomed(u.scales.x.min, u.scales.x.max, false);
        },
      ],
      setCursor: [
        (u) => {
          const i = u.cursor.idx;
          if (i == null || u.cursor.left < 0) {
            tip.style.display = "none";
            return;
          }
          tip.textContent = isoDay(u.data[0][i]) + ": " + series.map((s, j) => `${Math.abs(u.data[j + 1][i])} ${s.name}`).join(", ");
          tip.style.display = "block";
          tip.style.left = Math.round(u.valToPos(u.data[0][i], "x")) + 60 + "px";
        },
      ],
    },
  };
  const u = new uPlot(opts, [days, ...series.map((s) => s.values)], box);
  u._ldFull = full;
  u.over.append(tip);
  u.over.addEventListener("dblclick", () => zoomed(0, 0, true));
  charts[key] = u;
  if (range) {
    u._ldRange = [dayOf(range.from) - DAY / 2, dayOf(range.to) + DAY / 2];
    u.setScale("x", { min: u._ldRange[0], max: u._ldRange[1] });
  }
  box.setAttribute("data-days", days.length);
}

// Charts follow the page's width.
new ResizeObserver(() => {
  for (const [key, u] of Object.entries(charts)) {
    const w = document.getElementById(key).querySelector(".chart").clientWidth;
    if (w > 0 && Math.abs(w - u.width) > 4) u.setSize({ width: Math.max(320, w), height: 220 });
  }
}).observe(document.querySelector("main"));

// New/lost counters per day → bars (new up, lost down); `live` adds the running total.
function counters(sectionId, rows, empty, liveId) {
  const days = rows.map((x) => dayOf(x.date));
  plot(document.getElementById(sectionId).querySelector(".chart"), sectionId, days, [
    { name: "new", color: "#2a8f3c", bars: true, values: rows.map((x) => x.new) },
    { name: "lost", color: "#c0392b", bars: true, values: rows.map((x) => -x.lost) },
  ], empty);
  if (liveId) {
    let live = 0;
    const values = rows.map((x) => (live += x.new - x.lost));
    plot(document.getElementById(liveId).querySelector(".chart"), liveId, days, [
      { name: "live backlinks", color: "#1f3b57", bars: false, values },
    ], empty);
  }
}

function csvOf(cols, rows) {
  const cell = (v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  return [cols.map(cell).join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

// A table with a filter box (rows containing the text, any column) and a CSV link of the
// rows shown.
function table(section, name, cols, rows, q, dateCol) {
  for (const old of section.querySelectorAll(".tools, table, .empty, .error")) old.remove();
  const filter = el("input", { type: "search", class: "filter", placeholder: "filter rows", "data-table": name });
  filter.value = q || "";
  const link = el("a", { class: "csv", download: `${name}.csv` }, "CSV");
  const count = el("span", { class: "count" });
  const tbl = el("table", { "data-table": name });
  const draw = () => {
    const needle = filter.value.trim().toLowerCase();
    const dated = dateCol ? rows.filter((r) => inRange(r[dateCol])) : rows;
    const shown = needle ? dated.filter((r) => cols.some((c) => String(r[c] ?? "").toLowerCase().includes(needle))) : dated;
    tbl.replaceChildren(
      el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {}, c)))),
      el("tbody", {}, ...shown.map((r) => el("tr", {}, ...cols.map((c) => el("td", {}, r[c] ?? ""))))),
    );
    link.href = "data:text/csv;charset=utf-8," + encodeURIComponent(csvOf(cols, shown));
    count.textContent = `${shown.length} of ${rows.length} rows`;
    section.setAttribute("data-rows", shown.length);
  };
  filter.addEventListener("input", draw);
  if (dateCol) redraws.push(draw);
  section.append(el("div", { class: "tools" }, filter, link, count), tbl);
  if (rows.length === 0) section.append(el("p", { class: "empty" }, "Nothing yet."));
  draw();
}

function failed(section, e) {
  for (const old of section.querySelectorAll(".tools, table, .empty, .error, .chart > *")) old.remove();
  section.append(el("p", { class: "error" }, e.message));
}

async function render() {
  const p = params();
  readRange();
  redraws.length = 0;
  const target = p.get("target") || "";
  const mode = p.get("mode") || "domain";
  const q = p.get("q") || "";
  document.getElementById("target").value = target;
  document.getElementById("mode").value = mode;
  document.getElementById("token").value = p.get("token") || "";
  document.body.removeAttribute("data-ready");
  const status = document.getElementById("status");
  const jobs = [];
  const sec = (id) => document.getElementById(id);
  jobs.push(uiApi("watch").then((r) => table(sec("watched"), "watched", ["url_from", "url_to", "state", "since", "last_checked", "detail", "note"], r.watched, "")).catch((e) => failed(sec("watched"), e)));
  const runsDone = uiApi("runs").then((r) => {
    table(sec("runs"), "runs", ["id", "kind", "as_of", "finished", "fetched", "new_pages", "errors"], r.runs, "");
    if (r.runs.length === 0) {
      for (const id of ["chart-backlinks", "chart-refdomains", "chart-live"]) {
        plot(sec(id).querySelector(".chart"), id, [], [], "No runs yet: run `linkdiff crawl` or `linkdiff import` to fill the index.");
      }
    }
    return r.runs.length;
  }).catch((e) => {
    failed(sec("runs"), e);
    return -1;
  });
  jobs.push(runsDone);
  if (target) {
    const base = { target, mode };
    const noEvents = "No new or lost backlinks for this target yet.";
    jobs.push(runsDone.then((n) => (n === 0 ? null : v2({ ...base, from: "backlinks_new_lost_counters", select: "date,new,lost", limit: 100000, order_by: "date:asc" }))).then((r) => {
      if (r) counters("chart-backlinks", r.counts || [], noEvents, "chart-live");
    }).catch((e) => failed(sec("chart-backlinks"), e)));
    jobs.push(runsDone.then((n) => (n === 0 ? null : v2({ ...base, from: "refdomains_new_lost_counters", select: "date,new,lost", limit: 100000, order_by: "date:asc" }))).then((r) => {
      if (r) counters("chart-refdomains", r.counts || [], "No referring domains gained or lost for this target yet.");
    }).catch((e) => failed(sec("chart-refdomains"), e)));
    jobs.push(v2({ ...base, from: "anchors", limit: 20, order_by: "backlinks:desc" }).then((r) => table(sec("anchors"), "anchors", ["anchor", "backlinks", "refpages", "refdomains"], r.anchors || [], "")).catch((e) => failed(sec("anchors"), e)));
    const blCols = ["url_from", "url_to", "anchor", "link_type", "nofollow", "domain_rating", "first_seen", "last_visited"];
    jobs.push(v2({ ...base, from: "backlinks", limit: 1000, select: blCols.join(",") }).then((r) => table(sec("backlinks"), "backlinks", blCols, r.refpages || [], q, "first_seen")).catch((e) => failed(sec("backlinks"), e)));
    const evCols = ["date", "type", "reason", "url_from", "url_to", "anchor", "link_type"];
    jobs.push(v2({ ...base, from: "backlinks_new_lost", limit: 1000, select: evCols.join(","), order_by: "date:desc" }).then((r) => table(sec("events"), "events", evCols, r.refpages || [], q, "date")).catch((e) => failed(sec("events"), e)));
  }
  status.textContent = target ? `Loading ${target}…` : "Pick a target to see its backlinks.";
  await Promise.allSettled(jobs);
  if (target) status.textContent = `${target} (${mode})`;
  document.body.setAttribute("data-ready", "1");
}

document.getElementById("pick").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const p = params();
  p.set("target", document.getElementById("target").value.trim());
  p.set("mode", document.getElementById("mode").value);
  const t = document.getElementById("token").value.trim();
  if (t) p.set("token", t); else p.delete("token");
  location.hash = p.toString();
});
window.addEventListener("hashchange", render);
render();
