// linkdiff dashboard: reads the Ahrefs v2 API of this server (and /ui/api for watched links and
// runs) and draws charts and tables. No build step; state lives in the URL hash
// (#target=…&mode=…&token=…&q=…) so a view can be bookmarked.
"use strict";

const params = () => new URLSearchParams(location.hash.slice(1));

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
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

// A line chart of `series` ([{name, cls, values}]) over `labels`, one circle per point.
function chart(box, labels, series) {
  box.replaceChildren();
  if (labels.length === 0) {
    box.append(el("p", { class: "empty" }, "No events for this target yet."));
    return;
  }
  const W = 900, H = 220, L = 40, B = 30, T = 10, R = 10;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i) => L + (labels.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (labels.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  s.append(svg("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  s.append(svg("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  const maxLabel = svg("text", { x: 4, y: T + 10 });
  maxLabel.textContent = String(max);
  s.append(maxLabel);
  const step = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((d, i) => {
    if (i % step === 0 || i === labels.length - 1) {
      const t = svg("text", { x: x(i) - 28, y: H - 10 });
      t.textContent = d;
      s.append(t);
    }
  });
  for (const ser of series) {
    s.append(svg("polyline", { class: ser.cls, points: ser.values.map((v, i) => `${x(i)},${y(v)}`).join(" ") }));
    ser.values.forEach((v, i) => {
      const c = svg("circle", { class: `pt ${ser.cls}`, cx: x(i), cy: y(v), r: 3, "data-date": labels[i], "data-value": v });
      const title = svg("title", {});
      title.textContent = `${labels[i]}: ${v} ${ser.name}`;
      c.append(title);
      s.append(c);
    });
  }
  box.append(s, el("div", { class: "legend" }, ...series.map((ser) => el("span", { class: ser.cls }, "● " + ser.name))));
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
function table(section, name, cols, rows, q) {
  for (const old of section.querySelectorAll(".tools, table, .empty, .error")) old.remove();
  const filter = el("input", { type: "search", class: "filter", placeholder: "filter rows", "data-table": name });
  filter.value = q || "";
  const link = el("a", { class: "csv", download: `${name}.csv` }, "CSV");
  const count = el("span", { class: "count" });
  const tbl = el("table", { "data-table": name });
  const draw = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = needle ? rows.filter((r) => cols.some((c) => String(r[c] ?? "").toLowerCase().includes(needle))) : rows;
    tbl.replaceChildren(
      el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {}, c)))),
      el("tbody", {}, ...shown.map((r) => el("tr", {}, ...cols.map((c) => el("td", {}, r[c] ?? ""))))),
    );
    link.href = "data:text/csv;charset=utf-8," + encodeURIComponent(csvOf(cols, shown));
    count.textContent = `${shown.length} of ${rows.length} rows`;
    section.setAttribute("data-rows", shown.length);
  };
  filter.addEventListener("input", draw);
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
  jobs.push(uiApi("runs").then((r) => table(sec("runs"), "runs", ["id", "kind", "as_of", "finished", "fetched", "new_pages", "errors"], r.runs, "")).catch((e) => failed(sec("runs"), e)));
  if (target) {
    const base = { target, mode };
    jobs.push(v2({ ...base, from: "backlinks_new_lost_counters", select: "date,new,lost", limit: 1000, order_by: "date:asc" }).then((r) => {
      const rows = r.counts || [];
      chart(sec("chart-backlinks").querySelector(".chart"), rows.map((x) => x.date), [
        { name: "new", cls: "new", values: rows.map((x) => x.new) },
        { name: "lost", cls: "lost", values: rows.map((x) => x.lost) },
      ]);
    }).catch((e) => failed(sec("chart-backlinks"), e)));
    jobs.push(v2({ ...base, from: "refdomains_new_lost_counters", select: "date,new,lost", limit: 1000, order_by: "date:asc" }).then((r) => {
      const rows = r.counts || [];
      chart(sec("chart-refdomains").querySelector(".chart"), rows.map((x) => x.date), [
        { name: "new", cls: "new", values: rows.map((x) => x.new) },
        { name: "lost", cls: "lost", values: rows.map((x) => x.lost) },
      ]);
    }).catch((e) => failed(sec("chart-refdomains"), e)));
    jobs.push(v2({ ...base, from: "anchors", limit: 20, order_by: "backlinks:desc" }).then((r) => table(sec("anchors"), "anchors", ["anchor", "backlinks", "refpages", "refdomains"], r.anchors || [], "")).catch((e) => failed(sec("anchors"), e)));
    const blCols = ["url_from", "url_to", "anchor", "link_type", "nofollow", "domain_rating", "first_seen", "last_visited"];
    jobs.push(v2({ ...base, from: "backlinks", limit: 1000, select: blCols.join(",") }).then((r) => table(sec("backlinks"), "backlinks", blCols, r.refpages || [], q)).catch((e) => failed(sec("backlinks"), e)));
    const evCols = ["date", "type", "reason", "url_from", "url_to", "anchor", "link_type"];
    jobs.push(v2({ ...base, from: "backlinks_new_lost", limit: 1000, select: evCols.join(","), order_by: "date:desc" }).then((r) => table(sec("events"), "events", evCols, r.refpages || [], q)).catch((e) => failed(sec("events"), e)));
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
