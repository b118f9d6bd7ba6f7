/* pokeviz serve: the page. Run list with a regex filter and badges, tabs that fetch their
   JSON on demand, live updates through Server-Sent Events (zoom kept), state in the URL hash. */
"use strict";

const state = {info: null, runs: [], run: null, tab: "rewards", window: 50, clock: false,
  column: "health", compareMetric: "reward_total", loaded: {}, payloads: {}};
const $ = (id) => document.getElementById(id);
const key = (r) => r ? `${r.variant}/${r.run}` : "";
const base = (r) => `/api/runs/${encodeURIComponent(r.variant)}/${encodeURIComponent(r.run)}`;

async function getJSON(url) {
  const r = await fetch(url, {cache: "no-store"});
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function readHash() {
  const [variant, run, tab] = decodeURIComponent(location.hash.slice(1)).split("/");
  if (variant && run) state.run = {variant, run};
  if (tab && document.querySelector(`#tabs button[data-tab="${tab}"]`)) state.tab = tab;
}

function writeHash() {
  const h = state.run ? `#${encodeURIComponent(state.run.variant)}/${encodeURIComponent(state.run.run)}/${state.tab}` : "";
  if (location.hash !== h) history.replaceState(null, "", h || location.pathname);
}

/* ---- run list ---------------------------------------------------------------------- */

function filterRegex() {
  const text = $("filter").value.trim();
  $("filter-error").hidden = true;
  if (!text) return null;
  try { return new RegExp(text, "i"); } catch (e) {
    $("filter-error").textContent = "not a regular expression: " + e.message;
    $("filter-error").hidden = false;
    return null;
  }
}

function renderRuns() {
  const el = Panels.el, re = filterRegex(), list = $("runs");
  const shown = state.runs.filter((r) => !re || re.test(key(r)));
  list.replaceChildren(...shown.map((r) => {
    const badges = [];
    if (r.problems.length) {
      badges.push(el("span", {class: "badge problems", title: r.problems.map((p) => `${p.file}: ${p.status}${p.error ? ": " + p.error : ""}`).join("\n")},
        `${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}`));
    }
    for (const a of r.alerts) badges.push(el("span", {class: `badge ${a.kind}`, title: a.reason}, a.kind));
    const meta = r.cached
      ? `${PV.fmt(r.entries)} entries · step ${PV.fmt(r.last_global_step)} · ${r.files} files`
      : "not cached yet";
    const li = el("li", {"data-key": key(r), "data-entries": r.entries ?? 0},
      el("div", {}, el("span", {class: "name"}, `${r.variant} / ${r.run}`), ...badges),
      el("div", {class: "meta"}, meta));
    li.style.borderLeftColor = r.color || "transparent";
    if (key(r) === key(state.run)) li.classList.add("selected");
    li.addEventListener("click", () => selectRun(r));
    return li;
  }));
  $("runs-note").textContent = `${shown.length} of ${state.runs.length} runs` + (re ? ` match /${re.source}/` : "");
}

function renderHead() {
  const r = state.runs.find((x) => key(x) === key(state.run));
  const el = Panels.el;
  $("run-title").textContent = r ? `${r.variant} / ${r.run}` : "no run selected";
  $("run-stats").textContent = !r ? "" : !r.cached ? (r.note || "not cached yet") :
    `${PV.fmt(r.entries)} entries · ${PV.fmt(r.files)} files · global steps ${PV.fmt(r.first_global_step)}–${PV.fmt(r.last_global_step)}` +
    (r.updated ? ` · last log file written ${r.updated.replace("T", " ").replace("Z", " UTC")}` : "");
  $("run-stats").dataset.entries = r && r.entries ? r.entries : 0;
  $("run-alerts").replaceChildren(...(r ? r.alerts : []).map((a) =>
    el("div", {class: "alert"}, el("span", {class: `badge ${a.kind}`}, a.kind), " ", a.reason)));
}

async function loadRuns() {
  state.runs = await getJSON("/api/runs");
  if (!state.run || !state.runs.some((r) => key(r) === key(state.run))) {
    const pick = state.runs.filter((r) => r.cached && r.entries).pop() || state.runs[state.runs.length - 1];
    state.run = pick ? {variant: pick.variant, run: pick.run} : null;
  }
  renderRuns();
  renderHead();
}

function selectRun(r) {
  state.run = {variant: r.variant, run: r.run};
  state.loaded = {};
  writeHash();
  renderRuns();
  renderHead();
  loadTab();
}

/* ---- tabs ---------------------------------------------------------------------------- */

function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === tab);
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.id !== "tab-" + tab;
  writeHash();
  loadTab();
}

function notice(container, message) {
  const target = $(container);
  if (target.data && window.Plotly) Plotly.purge(target);
  target.replaceChildren(Panels.el("p", {class: "muted", style: "padding:12px"}, message));
}

const loaders = {
  async rewards(r) {
    const p = await getJSON(base(r) + "/rewards");
    state.payloads.rewards = p;
    const n = Math.max(...Object.values(p.samples).map((s) => s.y.length), 1);
    $("smooth").max = String(Math.max(2, Math.floor(n / 2)));
    await drawRewards();
  },
  async map(r) {
    const p = await getJSON(base(r) + "/heatmap");
    $("map-note").textContent = `${PV.fmt(p.total_visits)} visits on ${PV.fmt(p.unique_tiles)} tiles (every entry) · ` +
      (p.map_table ? `map table ${p.map_table}` : "no map table: every map in its own local coordinates (see --map-data)");
    await PV.drawHeatmap($("map-plot"), p, key(r));
  },
  async positions(r) {
    const p = await getJSON(base(r) + "/positions");
    if (!p.file) { notice("positions-plot", "No entries yet."); return; }
    $("positions-note").textContent = `Where the agents are now: newest log file ${p.file} (global steps ${PV.fmt(p.first_global_step)}–${PV.fmt(p.last_global_step)}, ${PV.fmt(p.entries)} entries). Dots: its samples, spread evenly over every environment's block; squares: tiles first visited during it.`;
    await PV.drawPositions($("positions-plot"), p, key(r));
  },
  async metrics(r) {
    const columns = await getJSON(base(r) + "/columns");
    const select = $("column");
    const names = columns.map((c) => c.name);
    if (!names.includes(state.column)) state.column = names.includes("health") ? "health" : names[0];
    select.replaceChildren(...columns.map((c) => Panels.el("option", {value: c.name}, c.name + (c.exact ? "" : " (samples only)"))));
    select.value = state.column;
    const p = await getJSON(base(r) + "/metrics/" + encodeURIComponent(state.column));
    state.payloads.metric = p;
    $("metric-note").replaceChildren(Panels.el("a", {href: base(r) + "/metrics/" + encodeURIComponent(state.column) + ".csv", download: ""}, "samples as CSV"));
    await drawMetric();
  },
  async compare() {
    const p = await getJSON("/api/compare?metric=" + encodeURIComponent(state.compareMetric));
    if (!p.panels.length || !p.panels.some((x) => x.variants.length)) { notice("compare-plot", "No cached run with entries yet."); return; }
    await PV.drawCompare($("compare-plot"), p, "compare/" + state.compareMetric);
    $("compare-notes").replaceChildren(...p.notes.concat(p.skipped.map((s) => "not drawn: " + s)).map((n) => Panels.el("li", {}, n)));
  },
  async files(r) {
    Panels.files($("files-table"), await getJSON(base(r) + "/files"));
    $("files-csv").href = base(r) + "/files.csv";
  },
  async config(r) { Panels.config($("config"), await getJSON(base(r) + "/config")); },
  async sql() { /* runs on demand */ },
};

function drawRewards() {
  const p = state.payloads.rewards;
  if (!p || !state.run) return;
  $("smooth-label").textContent = state.window <= 1 ? "off (raw samples)" : `rolling mean over ${state.window} samples`;
  return PV.drawRewards($("rewards-plot"), p, {window: state.window, clock: state.clock, key: key(state.run),
    onNoClock: () => { $("smooth-label").textContent += " · no times in the file names: step axis"; }});
}

function drawMetric() {
  const p = state.payloads.metric;
  if (!p || !state.run) return;
  return PV.drawMetric($("metric-plot"), p, {window: state.window, clock: state.clock, key: key(state.run) + "/" + p.column});
}

let loading = null;
async function loadTab() {
  const r = state.run, tab = state.tab;
  if (!r && tab !== "compare") return;
  const mine = {};
  loading = mine;
  try {
    await loaders[tab](r);
    state.loaded[tab] = true;
    document.body.dataset.ready = "1";
  } catch (e) {
    if (loading !== mine) return;
    const target = {rewards: "rewards-plot", map: "map-plot", positions: "positions-plot", metrics: "metric-plot",
      compare: "compare-plot", files: "files-table", config: "config"}[tab];
    if (target) notice(target, e.message);
  }
}

/* ---- live ------------------------------------------------------------------------------ */

let refreshing = false, again = false;
async function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    await loadRuns();
    await loadTab();
  } catch (e) {
    $("runs-note").textContent = "cannot reach the server: " + e.message;
  } finally {
    refreshing = false;
    if (again) { again = false; refresh(); }
  }
}

function connect() {
  const live = $("live");
  const source = new EventSource("/api/events");
  let first = true;
  source.addEventListener("change", () => {
    live.className = state.info.watch ? "live on" : "live off";
    live.textContent = (state.info.watch ? "live" : "not watching (--no-watch)") + " · updated " + new Date().toLocaleTimeString();
    if (first) { first = false; return; }
    refresh();
  });
  source.onerror = () => { live.className = "live lost"; live.textContent = "reconnecting…"; };
}

async function main() {
  readHash();
  state.info = await getJSON("/api/info");
  $("root").textContent = state.info.experiments_dir;
  $("live").title = state.info.watch ? `watching: caches follow new log files (debounce ${state.info.debounce_seconds} s)` : "serving the caches as they are";
  $("sql-cap").textContent = state.info.max_rows.toLocaleString("en-US");
  $("compare-metric").replaceChildren(...state.info.compare_metrics.map((m) => Panels.el("option", {value: m}, m)));
  $("filter").addEventListener("input", renderRuns);
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("smooth").addEventListener("input", () => {
    state.window = Number($("smooth").value);
    if (state.tab === "rewards") drawRewards(); else if (state.tab === "metrics") drawMetric();
  });
  $("clock").addEventListener("change", () => { state.clock = $("clock").checked; drawRewards(); drawMetric(); });
  $("column").addEventListener("change", () => { state.column = $("column").value; loadTab(); });
  $("compare-metric").addEventListener("change", () => { state.compareMetric = $("compare-metric").value; loadTab(); });
  Panels.sql(() => state.run);
  await loadRuns();
  document.body.dataset.listed = "1";  // the run list is usable (charts follow)
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));  // paint it
  PV.loadPlotly();
  showTab(state.tab);
  connect();
  // Alerts depend on the time (stalled): look again now and then even without changes.
  setInterval(() => { if (!document.hidden) loadRuns().catch(() => {}); }, 60000);
}

main();
