/* pokeviz serve: the table panels (files, config, SQL) and small DOM helpers. */
"use strict";

const Panels = {};

Panels.el = function (tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "title") node.title = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};

function cellText(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-US") : String(+v.toPrecision(8));
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/* A table of `columns` × `rows` (arrays); `rowClass(row)` may mark rows. */
Panels.table = function (columns, rows, rowClass) {
  const el = Panels.el;
  const head = el("tr", {}, ...columns.map((c) => el("th", {}, c)));
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr", rowClass ? {class: rowClass(row) || ""} : {});
    row.forEach((v) => tr.append(el("td", {class: typeof v === "number" ? "num" : ""}, cellText(v))));
    body.append(tr);
  }
  return el("table", {}, el("thead", {}, head), body);
};

Panels.files = function (container, payload) {
  const status = payload.columns.indexOf("status");
  const shown = ["file", "status", "format", "entries", "bad_values", "first_global_step",
    "last_global_step", "size_bytes", "seconds", "error", "warning", "parser"];
  const idx = shown.map((c) => payload.columns.indexOf(c));
  const rows = payload.rows.map((r) => idx.map((i) => r[i]));
  const seconds = shown.indexOf("seconds");
  for (const r of rows) {
    if (r[seconds] !== null) r[seconds] = new Date(r[seconds] * 1000).toISOString().replace(".000Z", "Z");
  }
  shown[seconds] = "written (name)";
  container.replaceChildren(Panels.table(shown, rows, (r) => r[1] !== "ok" ? "bad" : ""));
  return status;
};

Panels.config = function (container, payload) {
  const el = Panels.el;
  if (!payload.files.length) {
    container.replaceChildren(el("p", {class: "muted"},
      "No *.yaml, *.yml or *.json configuration file beside json_logs/ in this run folder."));
    return;
  }
  container.replaceChildren(...payload.files.flatMap((f) => [
    el("h3", {}, `${f.name} `, el("span", {class: "muted small"},
      `${f.size_bytes.toLocaleString("en-US")} bytes${f.truncated ? " (cut: too long)" : ""}`)),
    el("pre", {}, f.text)]));
};

/* The SQL box: run the query on the selected run, show the table, download CSV. */
Panels.sql = function (getRun) {
  const q = document.getElementById("sql-query");
  const err = document.getElementById("sql-error");
  const note = document.getElementById("sql-note");
  const out = document.getElementById("sql-table");
  const body = () => {
    const run = getRun();
    return run && JSON.stringify({variant: run.variant, run: run.run, query: q.value});
  };
  async function run() {
    const payload = body();
    if (!payload) return;
    err.hidden = true; note.textContent = "running…";
    const t0 = performance.now();
    const r = await fetch("/api/sql", {method: "POST", headers: {"Content-Type": "application/json"}, body: payload});
    const j = await r.json();
    if (!r.ok) { err.textContent = j.error; err.hidden = false; note.textContent = ""; out.replaceChildren(); return; }
    note.textContent = `${j.rows.length.toLocaleString("en-US")} rows${j.truncated ? " (truncated: more rows exist; add a LIMIT or download the CSV)" : ""} · ${((performance.now() - t0) / 1000).toFixed(2)} s`;
    out.replaceChildren(Panels.table(j.columns, j.rows));
  }
  async function csv() {
    const payload = body();
    if (!payload) return;
    err.hidden = true;
    const r = await fetch("/api/sql.csv", {method: "POST", headers: {"Content-Type": "application/json"}, body: payload});
    if (!r.ok) { err.textContent = (await r.json()).error; err.hidden = false; return; }
    const blob = await r.blob();
    const a = Panels.el("a", {href: URL.createObjectURL(blob), download: "query.csv"});
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
  document.getElementById("sql-run").addEventListener("click", run);
  document.getElementById("sql-csv").addEventListener("click", csv);
  q.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
  return run;
};

window.Panels = Panels;
