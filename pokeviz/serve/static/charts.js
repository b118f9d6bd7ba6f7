/* pokeviz serve: the charts. Figures come from the server as Plotly dicts (rewards, heatmap)
   or as series (metrics, compare, positions); this file draws them, smooths the samples
   with the slider, maps steps to wall-clock time, and keeps the user's zoom on reload. */
"use strict";

const PV = {};

/* plotly.min.js (4.8 MB, seconds to evaluate on a busy machine) is loaded only once the
   run list is shown, so the list is usable first; charts wait for this promise. */
let plotlyLoad = null;
PV.loadPlotly = function () {
  if (!plotlyLoad) {
    plotlyLoad = new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = "/static/plotly.min.js";
      tag.onload = () => resolve();
      tag.onerror = () => reject(new Error("cannot load /static/plotly.min.js"));
      document.head.append(tag);
    });
  }
  return plotlyLoad;
};

PV.config = {displaylogo: false, responsive: true, showLink: false,
  modeBarButtonsToRemove: ["sendDataToCloud"],
  toImageButtonOptions: {format: "png", scale: 2}};

PV.SAMPLE_COLOR = "#b8b8b8";
PV.SMOOTH_COLOR = "#4d4d4d";
PV.FONT = {family: "DejaVu Sans, Arial, sans-serif", size: 12, color: "#262626"};

/* Centred rolling mean over `w` samples, every max(1, w/5)-th window and always the last
   (the same as pokeviz.plots.rewards.rolling_mean with its stride). */
PV.rolling = function (xs, ys, w) {
  const n = ys.length;
  if (w <= 1) return {x: xs.slice(), y: ys.slice()};
  if (n < w) return {x: [], y: []};
  const stride = Math.max(1, Math.floor(w / 5));
  const outX = [], outY = [];
  let sx = 0, sy = 0;
  for (let i = 0; i < w; i++) { sx += xs[i]; sy += ys[i]; }
  const last = n - w;
  for (let i = 0; i <= last; i++) {
    if (i > 0) { sx += xs[i + w - 1] - xs[i - 1]; sy += ys[i + w - 1] - ys[i - 1]; }
    if (i % stride === 0 || i === last) { outX.push(sx / w); outY.push(sy / w); }
  }
  return {x: outX, y: outY};
};

/* Global step -> unix milliseconds, linear between the files' (last step, name time)
   anchors and extended with the nearest segment's rate. */
PV.stepToTime = function (clock) {
  const s = clock.steps, t = clock.seconds;
  if (!s || s.length === 0) return null;
  if (s.length === 1) return () => t[0] * 1000;
  return function (step) {
    let i = 1;
    if (step >= s[s.length - 1]) i = s.length - 1;
    else if (step > s[0]) { let lo = 0, hi = s.length - 1;
      while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (s[mid] <= step) lo = mid; else hi = mid; }
      i = hi; }
    const span = s[i] - s[i - 1];
    const rate = span > 0 ? (t[i] - t[i - 1]) / span : 0;
    return (t[i - 1] + (step - s[i - 1]) * rate) * 1000;
  };
};

PV.fmt = (v) => (v === null || v === undefined) ? "–" : Number(v).toLocaleString("en-US");

/* Axis ranges computed by the server would override the user's zoom on every reload
   (Plotly keeps user zoom only while the input range is unchanged): autorange instead. */
function freeAxes(layout) {
  for (const key of Object.keys(layout)) {
    if (/^xaxis\d*$/.test(key)) { delete layout[key].range; layout[key].autorange = true; }
  }
}

/* Put a figure's x values (global steps) on the wall-clock axis. */
function toClock(fig, clock) {
  const f = PV.stepToTime(clock);
  if (!f) return false;
  for (const tr of fig.data) {
    if (!tr.x) continue;
    tr.text = tr.x.map((v) => v === null ? "" : Math.round(v).toLocaleString("en-US"));
    tr.x = tr.x.map((v) => v === null ? null : f(v));
    if (tr.hovertemplate) {
      tr.hovertemplate = tr.hovertemplate.replace(/global steps? %\{x[^}]*\}/,
        "%{x|%Y-%m-%d %H:%M:%S} · step %{text}");
    }
  }
  for (const key of Object.keys(fig.layout)) {
    if (/^xaxis\d*$/.test(key)) {
      const ax = fig.layout[key];
      ax.type = "date"; delete ax.tickformat; delete ax.hoverformat;
    }
  }
  for (const a of fig.layout.annotations || []) {
    if (a.text === "global training step (every panel)") a.text = "wall-clock time (from the log file names)";
  }
  return true;
}

PV.react = async function (el, fig, key) {
  await PV.loadPlotly();
  el.dataset.key = key;  // which run (and view) the chart shows
  fig.layout.uirevision = key;
  freeAxes(fig.layout);
  return Plotly.react(el, fig.data, fig.layout, PV.config);
};

/* The reward chart: the server's figure, its smoothed layer recomputed with `window`. */
PV.drawRewards = function (el, payload, opts) {
  const fig = JSON.parse(JSON.stringify(payload.figure));
  const extra = [];
  for (const tr of fig.data) {
    const meta = tr.meta || {};
    const s = payload.samples[meta.metric];
    if (meta.layer === "smoothed" && s) {
      // Smoothed in rollout order (as the PNG): env-major entries would saw-tooth by step.
      const r = opts.window <= 1 ? PV.rolling(s.x, s.y, 1)
        : PV.rolling(s.rollout_x || s.x, s.rollout_y || s.y, opts.window);
      tr.x = r.x; tr.y = r.y;
      tr.name = opts.window <= 1 ? "samples (no smoothing)" : `samples, rolling mean (window ${opts.window})`;
      tr.hovertemplate = tr.hovertemplate.replace(/rolling mean of \d+/, `rolling mean of ${opts.window}`);
    }
  }
  // The raw samples faint behind the smoothed line in every panel (the total has them).
  const withSamples = new Set(fig.data.filter((t) => (t.meta || {}).layer === "samples").map((t) => t.xaxis));
  for (const tr of fig.data) {
    const meta = tr.meta || {};
    if (meta.layer !== "smoothed" || withSamples.has(tr.xaxis)) continue;
    const s = payload.samples[meta.metric];
    extra.push({type: "scatter", mode: "markers", x: s.x, y: s.y, xaxis: tr.xaxis, yaxis: tr.yaxis,
      marker: {size: 2, color: PV.SAMPLE_COLOR, opacity: 0.6}, showlegend: false,
      legendgroup: "samples", hoverinfo: "skip", name: "reservoir samples",
      meta: {metric: meta.metric, layer: "samples"}});
  }
  fig.data = extra.concat(fig.data);
  if (opts.clock && !toClock(fig, payload.clock)) opts.onNoClock && opts.onNoClock();
  return PV.react(el, fig, opts.key);
};

PV.drawHeatmap = async function (el, payload, key) {
  await PV.loadPlotly();
  const fig = JSON.parse(JSON.stringify(payload.figure));
  el.dataset.key = key;
  fig.layout.uirevision = key;  // axis ranges of a map are fixed: keep them
  return Plotly.react(el, fig.data, fig.layout, PV.config);
};

function baseLayout(extra) {
  return Object.assign({font: PV.FONT, template: "none", plot_bgcolor: "white",
    paper_bgcolor: "white", hovermode: "closest", margin: {l: 70, r: 20, t: 40, b: 50},
    legend: {orientation: "h", y: 1.02, yanchor: "bottom", x: 0}}, extra);
}

function axis(extra) {
  return Object.assign({showgrid: true, gridcolor: "#dddddd", linecolor: "#cccccc",
    showline: true, mirror: true, zeroline: false, automargin: true}, extra);
}

/* Any numeric column over time: exact per-file mean with its band, samples, rolling mean. */
PV.drawMetric = function (el, payload, opts) {
  const color = "#0173b2", data = [];
  const ex = payload.exact;
  if (ex) {
    const low = ex.mean.map((m, i) => m === null ? null : Math.max(m - (ex.std[i] || 0), ex.min[i]));
    const high = ex.mean.map((m, i) => m === null ? null : Math.min(m + (ex.std[i] || 0), ex.max[i]));
    data.push({type: "scatter", mode: "lines", x: ex.x, y: low, line: {width: 0, color},
      hoverinfo: "skip", showlegend: false, legendgroup: "band"});
    data.push({type: "scatter", mode: "lines", x: ex.x, y: high, line: {width: 0, color},
      fill: "tonexty", fillcolor: "rgba(1,115,178,0.22)", hoverinfo: "skip",
      legendgroup: "band", name: "per-file mean ± 1 std, within min–max (all entries)"});
  }
  const s = payload.samples;
  data.push({type: "scatter", mode: "markers", x: s.x, y: s.y, name: "reservoir samples",
    marker: {size: 2.5, color: PV.SAMPLE_COLOR},
    hovertemplate: "global step %{x:,}<br>%{y:.4g}<extra>sample</extra>"});
  const w = Math.max(1, Math.min(opts.window, Math.floor(s.y.length / 5)));
  const r = PV.rolling(s.x, s.y, w);
  data.push({type: "scatter", mode: "lines", x: r.x, y: r.y, line: {color: PV.SMOOTH_COLOR, width: 1.1},
    name: `samples, rolling mean (window ${w})`,
    hovertemplate: "global step %{x:,.0f}<br>%{y:.4g}<extra>rolling mean</extra>"});
  if (ex) {
    data.push({type: "scatter", mode: "lines+markers", x: ex.x, y: ex.mean, name: "per-file mean (all entries)",
      line: {color, width: 2.4}, marker: {size: 4, color},
      customdata: ex.x.map((_, i) => [ex.first[i], ex.last[i], ex.n[i], ex.min[i], ex.max[i]]),
      hovertemplate: "global steps %{customdata[0]:,}–%{customdata[1]:,}<br>mean %{y:.6g} " +
        "(min %{customdata[3]:.4g}, max %{customdata[4]:.4g})<br>%{customdata[2]:,} values<extra>file</extra>"});
  }
  const fig = {data, layout: baseLayout({height: 480, margin: {l: 70, r: 20, t: 90, b: 50},
    title: {text: payload.column + (ex ? "" : "  <span style='font-size:12px;color:#6b6b6b'>(no exact per-file statistics for this column: samples only)</span>"),
      x: 0.01, y: 0.97, yref: "container", yanchor: "top"},
    xaxis: axis({title: {text: "global training step"}, tickformat: "~s", hoverformat: ",.0f"}),
    yaxis: axis({title: {text: payload.column}})})};
  if (opts.clock) {
    toClock(fig, payload.clock);
    fig.layout.xaxis.title.text = "wall-clock time (from the log file names)";
  }
  return PV.react(el, fig, opts.key);
};

function rgba(hex, a) {
  const r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16), b = parseInt(hex.slice(5, 7), 16);
  return `rgba(${r},${g},${b},${a})`;
}

/* Compare: one panel per compare panel, each variant's mean ± 95 % band in its colour. */
PV.drawCompare = function (el, payload, key) {
  const panels = payload.panels, data = [], layout = baseLayout({
    title: {text: payload.title, x: 0.01}, annotations: []});
  const n = Math.max(1, panels.length), gap = 0.08, width = (1 - gap * (n - 1)) / n;
  panels.forEach((p, i) => {
    const ax = i === 0 ? "" : String(i + 1);
    const x0 = i * (width + gap);
    layout["xaxis" + ax] = axis({domain: [x0, x0 + width], anchor: "y" + ax, tickformat: "~s",
      hoverformat: ",.0f", title: {text: "global training step"}});
    layout["yaxis" + ax] = axis({anchor: "x" + ax, title: {text: p.ylabel},
      rangemode: payload.floor === 0 ? "tozero" : "normal"});
    layout.annotations.push({text: p.title, x: x0, y: 1.0, xref: "paper", yref: "paper",
      xanchor: "left", yanchor: "bottom", showarrow: false, font: {size: 12}});
    for (const v of p.variants) {
      const group = v.variant, first = i === 0;
      for (const r of v.run_series) {
        data.push({type: "scatter", mode: "lines", x: r.x, y: r.y, xaxis: "x" + ax, yaxis: "y" + ax,
          line: {color: rgba(v.color, 0.45), width: 0.8}, legendgroup: group, showlegend: false,
          hovertemplate: `${group} / ${r.run}<br>step %{x:,.0f}<br>%{y:.4g}<extra></extra>`});
      }
      if (v.low) {
        data.push({type: "scatter", mode: "lines", x: v.x, y: v.low, xaxis: "x" + ax, yaxis: "y" + ax,
          line: {width: 0, color: v.color}, hoverinfo: "skip", showlegend: false, legendgroup: group});
        data.push({type: "scatter", mode: "lines", x: v.x, y: v.high, xaxis: "x" + ax, yaxis: "y" + ax,
          line: {width: 0, color: v.color}, fill: "tonexty", fillcolor: rgba(v.color, 0.2),
          hoverinfo: "skip", showlegend: false, legendgroup: group});
      }
      data.push({type: "scatter", mode: "lines", x: v.x, y: v.mean, xaxis: "x" + ax, yaxis: "y" + ax,
        line: {color: v.color, width: 2.4}, name: v.label, legendgroup: group, showlegend: first,
        hovertemplate: `${group} mean<br>step %{x:,.0f}<br>%{y:.4g}<extra></extra>`});
    }
  });
  layout.height = 480;
  layout.margin.t = 90;
  return PV.react(el, {data, layout}, key);
};

/* Latest positions: the newest file's sampled agent positions and the tiles first found in
   it, on the global map (with a map table) or per map side by side (local coordinates). */
PV.drawPositions = function (el, p, key) {
  const data = [], layout = baseLayout({height: 640, annotations: [], shapes: []});
  layout.margin.t = 60;
  for (const r of p.regions) {
    layout.shapes.push({type: "rect", xref: "x", yref: "y", x0: r.x0 - 0.5, y0: r.y0 - 0.5,
      x1: r.x0 + r.width - 0.5, y1: r.y0 + r.height - 0.5, line: {color: "#8c8c8c", width: 1},
      fillcolor: "rgba(255,255,255,0.7)", layer: "below"});
    layout.annotations.push({text: r.name, x: r.x0, y: r.y0 - 0.5, xref: "x", yref: "y",
      xanchor: "left", yanchor: "bottom", showarrow: false, font: {size: 11, color: "#595959"}});
  }
  const name = (m) => (p.map_names[String(m)] || "map " + m);
  const place = (cols, i, offsets) => {
    if (cols.global_x && cols.global_x[i] !== null) return [cols.global_x[i], cols.global_y[i]];
    const o = offsets[cols.map[i]];
    return [cols.x[i] + o, cols.y[i]];
  };
  // Maps without global coordinates go side by side, 4 tiles apart, never merged.
  const offsets = {}, widths = {};
  const loose = (cols, i) => !(cols.global_x && cols.global_x[i] !== null);
  for (const cols of [p.new_tiles, p.samples]) {
    cols.map.forEach((m, i) => { if (loose(cols, i)) widths[m] = Math.max(widths[m] || 0, cols.x[i] + 1); });
  }
  let left = 0;
  for (const m of Object.keys(widths).map(Number).sort((a, b) => a - b)) {
    offsets[m] = left;
    layout.annotations.push({text: name(m) + (p.map_table ? " (not in table)" : ""), x: left, y: -1,
      xref: "x", yref: "y", xanchor: "left", yanchor: "bottom", showarrow: false, font: {size: 11}});
    left += widths[m] + 4;
  }
  const tiles = p.new_tiles, sx = [], sy = [], st = [];
  tiles.map.forEach((m, i) => { const [x, y] = place(tiles, i, offsets); sx.push(x); sy.push(y);
    st.push(`${name(m)}, local (${tiles.x[i]}, ${tiles.y[i]})<br>first visited at step ${PV.fmt(tiles.first_global_step[i])}`); });
  data.push({type: "scatter", mode: "markers", x: sx, y: sy, text: st, name: `tiles first visited in this file (${sx.length}, exact)`,
    marker: {symbol: "square", size: 7, color: "#de8f05", opacity: 0.55}, hovertemplate: "%{text}<extra>new tile</extra>"});
  const s = p.samples, ax = [], ay = [], at = [];
  s.map.forEach((m, i) => { const [x, y] = place(s, i, offsets); ax.push(x); ay.push(y);
    at.push(`${name(m)}, local (${s.x[i]}, ${s.y[i]})<br>global step ${PV.fmt(s.global_step[i])}`); });
  data.push({type: "scatter", mode: "markers", x: ax, y: ay, text: at, name: `sampled agent positions (${ax.length} of ${PV.fmt(p.entries)} entries)`,
    marker: {size: 8, color: s.global_step, colorscale: "Blues", cmin: p.first_global_step,
      cmax: p.last_global_step, line: {width: 0.6, color: "#262626"},
      colorbar: {title: {text: "global step", side: "right"}, thickness: 12, len: 0.7, tickformat: "~s"}},
    hovertemplate: "%{text}<extra>agent</extra>"});
  layout.xaxis = axis({title: {text: p.map_table ? "global x (tile)" : "local x, maps side by side"}, showgrid: false});
  layout.yaxis = axis({title: {text: "y (tile, downward)"}, autorange: "reversed", scaleanchor: "x", showgrid: false});
  layout.plot_bgcolor = "#eef0f2";
  return PV.react(el, {data, layout}, key);
};

window.PV = PV;
