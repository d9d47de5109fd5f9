// mon web UI: line charts (uPlot, loaded as a classic script before the modules) and the
// anomaly band drawn behind them.
import { call, el, secs, ui } from "./core.js";
import { fmtNum } from "./format.js";

export function destroyCharts() {
  for (const c of ui.charts) c.destroy();
  ui.charts = [];
}

// A line chart: xs in seconds, lines = [{label, values}]; band (optional) = {label, lower,
// upper} aligned with xs, drawn as a shaded area behind the lines (the anomaly band).
export function chart(box, xs, lines, unit, height, band) {
  if (!xs.length) {
    box.append(el("p", { class: "muted" }, "No data in this range yet."));
    return;
  }
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
  const series = lines.map((l, i) => ({
    label: l.label, stroke: palette[i % palette.length], width: 1.5,
    value: (u, v) => fmtNum(v, unit),
  }));
  const data = [xs].concat(lines.map((l) => l.values));
  const opts = {
    width: Math.max(box.clientWidth || 300, 200),
    height: height || 180,
    series: [{}].concat(series),
    axes: [{}, { values: (u, vals) => vals.map((v) => fmtNum(v, unit)), size: 70 }],
  };
  if (band) {
    const edge = (label) => ({ label, stroke: "rgba(127,127,127,0.35)", width: 1, value: (u, v) => fmtNum(v, unit) });
    opts.series.push(edge(band.label + " high"), edge(band.label + " low"));
    data.push(band.upper, band.lower);
    opts.bands = [{ series: [data.length - 2, data.length - 1], fill: "rgba(127,127,127,0.15)" }];
  }
  ui.charts.push(new uPlot(opts, data, box));
  // What the chart drew, readable from the page (the browser test reads it).
  box.dataset.points = lines.reduce((n, l) => n + l.values.filter((v) => v !== null && v !== undefined).length, 0);
}

// The anomaly answer of `variable` over the view's range, or null when it cannot be read
// (the chart then has no band).
export function anomalyOf(variable) {
  return call("anomaly", { variable, from: ui.range }).catch(() => null);
}

// The band of an anomaly answer aligned with xs (seconds): each x takes the nearest band
// point. null when there is no band yet (no sample learned).
export function bandAt(a, xs) {
  const pts = (a && a.band) || [];
  if (!pts.length || !xs.length) return null;
  const ts = pts.map((p) => secs(p.ts));
  let i = 0;
  const at = xs.map((x) => {
    while (i + 1 < ts.length && Math.abs(ts[i + 1] - x) <= Math.abs(ts[i] - x)) i++;
    return pts[i];
  });
  return {
    label: "expected ± " + a.k + " dev",
    lower: at.map((p) => p.lower),
    upper: at.map((p) => p.upper),
  };
}
