// mon web UI: line charts (uPlot, loaded as a classic script before the modules), the anomaly
// band drawn behind them, deployment markers and alert periods on the time axis, and zoom by
// dragging across a chart (double-click or "Reset zoom" restores the range).
//
// Axes are sized to their labels (measured), tick counts follow the width (a time label never
// meets its neighbour), colours come from the style sheet's variables (light and dark). What a
// chart drew is readable from the page: `data-points` (points drawn) and `data-ticks` (the tick
// labels and their boxes in CSS pixels relative to the viewport) on its container.
import { call, el, secs, ui } from "./core.js";
import { axisLabels, fmtNum, fmtTime } from "./format.js";

const FONT_PX = 12;
const FONT = FONT_PX + "px system-ui, -apple-system, \"Segoe UI\", Roboto, sans-serif";
const TICK = 6; // tick length
const GAP = 4; // between a tick and its label
const SERIES = 6; // --series-1 .. --series-6 in app.css

let measurer = null;
function textWidth(text) {
  if (!measurer) measurer = document.createElement("canvas").getContext("2d");
  measurer.font = FONT;
  return measurer.measureText(text).width;
}

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function destroyCharts() {
  for (const c of ui.charts) {
    c.monResize.disconnect();
    c.destroy();
  }
  ui.charts = [];
}

// The zoomed x range of every chart of the page (seconds), or the whole range when `z` is null.
function setZoom(z) {
  ui.zoom = z;
  for (const c of ui.charts) c.setScale("x", z || c.monFull);
  for (const b of document.querySelectorAll("#view .reset-zoom")) b.hidden = !z;
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

const DAY = 86400;

// Time tick labels in local time, as precise as the step between ticks needs, with the date
// when the axis spans more than a day (so that no two ticks read the same).
function timeLabels(splits, incr, span) {
  return splits.map((s) => {
    if (s === null) return "";
    const d = new Date(s * 1000);
    const date = d.toLocaleDateString([], { month: "short", day: "numeric" });
    if (incr >= DAY) return date;
    const hm = pad2(d.getHours()) + ":" + pad2(d.getMinutes());
    if (span > DAY) return date + " " + hm;
    return incr < 60 ? hm + ":" + pad2(d.getSeconds()) : hm;
  });
}

// The widest time label of an axis spanning `span` seconds, for the room between ticks.
// The time axis's tick steps in seconds: never below a second, since labels read to the
// second (a finer step would write the same label twice).
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY, 365 * DAY];

function widestTimeLabel(span) {
  return textWidth(span > DAY ? "Dec 30 00:00" : "00:00:00");
}

// The x range of a chart: its data widened to its markers (a deployment just before the first
// point or after the last one still shows; the markers are of the view's range), and to a
// minute at least around its middle (a few seconds of data still get readable time ticks).
function xRange(markers, min, max) {
  for (const m of markers) {
    min = Math.min(min, m.ts);
    max = Math.max(max, m.ts);
  }
  return spread(min, max, 60);
}

// [min, max], widened to `least` seconds around its middle when it is shorter.
function spread(min, max, least) {
  if (max - min >= least) return [min, max];
  const mid = (min + max) / 2;
  return [mid - least / 2, mid + least / 2];
}

// A zoom never goes below two seconds: the time ticks are whole seconds.
const MIN_ZOOM = 2;

// The boxes of the labels an axis drew, in CSS pixels from the top left of the chart's container.
function tickBoxes(u, drawn, box) {
  // Relative to the chart's container: a later layout shift that moves the chart without
  // resizing it (no redraw) leaves them true.
  const at = u.over.getBoundingClientRect();
  const origin = box.getBoundingClientRect();
  const plot = { left: at.left - origin.left, top: at.top - origin.top, bottom: at.bottom - origin.top };
  const boxes = [];
  const x = drawn[0];
  if (x) {
    x.splits.forEach((v, i) => {
      const text = x.labels[i];
      if (text === null || text === undefined || text === "") return;
      const cx = plot.left + u.valToPos(v, "x");
      const w = textWidth(text);
      const top = plot.bottom + TICK + GAP;
      boxes.push({ axis: "x", text, left: cx - w / 2, top, right: cx + w / 2, bottom: top + FONT_PX + 2 });
    });
  }
  const y = drawn[1];
  if (y) {
    y.splits.forEach((v, i) => {
      const text = y.labels[i];
      if (text === null || text === undefined || text === "") return;
      const cy = plot.top + u.valToPos(v, "y");
      if (cy < plot.top - 1 || cy > plot.bottom + 1) return; // uPlot draws no tick outside the plot
      const right = plot.left - TICK - GAP;
      const h = FONT_PX + 2;
      boxes.push({ axis: "y", text, left: right - textWidth(text), top: cy - h / 2, right, bottom: cy + h / 2 });
    });
  }
  const round = (n) => Math.round(n * 10) / 10;
  return boxes.map((b) => ({ ...b, left: round(b.left), top: round(b.top), right: round(b.right), bottom: round(b.bottom) }));
}

// Deployment markers (vertical lines, the version on hover) and alert periods (shaded spans),
// laid over the plot; placed again after each draw (zoom moves them).
function placeOverlays(u, layer, markers, periods) {
  layer.replaceChildren();
  const [min, max] = [u.scales.x.min, u.scales.x.max];
  const width = u.over.clientWidth;
  const at = (t) => Math.min(width, Math.max(0, u.valToPos(t, "x")));
  for (const p of periods) {
    const to = p.to === null || p.to === undefined ? Date.now() / 1000 : p.to;
    if (to < min || p.from > max) continue;
    const left = at(p.from);
    const span = el("div", {
      class: "period sev-bg-" + p.severity,
      "data-label": p.label + " (" + p.severity + ") " + fmtTime(p.from * 1000) + " – " + (p.to ? fmtTime(p.to * 1000) : "now"),
    });
    span.style.left = left + "px";
    span.style.width = Math.max(2, at(to) - left) + "px";
    layer.append(span);
  }
  for (const m of markers) {
    if (m.ts < min || m.ts > max) continue;
    const line = el("div", { class: "marker", title: m.label, "aria-label": m.label, tabindex: "0" });
    line.style.left = u.valToPos(m.ts, "x") + "px";
    layer.append(line);
  }
}

// A line chart: xs in seconds, lines = [{label, values}], values in `unit` (a catalog unit
// name). band (optional) = {label, lower, upper} aligned with xs, shaded behind the lines (the
// anomaly band). opts (optional) = {markers: [{ts, label}], periods: [{from, to, label,
// severity}], empty: "what to do to get data"}; times in seconds, `to` null while open.
export function chart(box, xs, lines, unit, height, band, opts) {
  const o = opts || {};
  if (!xs.length) {
    box.append(el("p", { class: "muted empty" }, o.empty || "No data in this range yet."));
    return;
  }
  const axisColour = cssVar("--muted", "#667");
  const gridColour = cssVar("--line", "#dde1e6");
  const series = lines.map((l, i) => ({
    label: l.label, stroke: cssVar("--series-" + ((i % SERIES) + 1), "#1f77b4"), width: 1.5,
    value: (u, v) => fmtNum(v, unit),
  }));
  const data = [xs].concat(lines.map((l) => l.values));
  const drawn = [];
  const xLabelWidth = widestTimeLabel(xs[xs.length - 1] - xs[0]);
  const yAxis = {
    font: FONT, stroke: axisColour, gap: GAP, space: FONT_PX * 2,
    grid: { stroke: gridColour, width: 1 }, ticks: { stroke: gridColour, width: 1, size: TICK },
    values: (u, splits) => {
      const labels = axisLabels(splits, unit);
      drawn[1] = { splits, labels };
      return labels;
    },
    // As wide as its labels, and at least half a time label: the first time tick's label is
    // centred on the axis and must not stick out of the canvas.
    size: (u, values) => Math.max(
      Math.ceil(Math.max(24, ...(values || []).map((v) => textWidth(v || "")))) + TICK + GAP + 6,
      Math.ceil(xLabelWidth / 2) + 4),
  };
  // Whole steps for counts; powers of two for bytes (1 KB, 2 KB, 512 KB, 1 MB...).
  if (unit === "count") yAxis.incrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
  if (unit === "bytes" || unit === "bytes_per_second") {
    yAxis.incrs = [];
    for (let p = 0; p <= 50; p++) yAxis.incrs.push(2 ** p);
  }
  const layer = el("div", { class: "overlays" });
  const markers = o.markers || [];
  const periods = o.periods || [];
  const options = {
    width: Math.max(box.clientWidth || 300, 200),
    height: height || 180,
    padding: [FONT_PX, Math.ceil(xLabelWidth / 2) + 4, 0, 0],
    scales: { x: { time: true, range: (u, min, max) => spread(min, max, MIN_ZOOM) } },
    series: [{ value: (u, v) => (v === null || v === undefined ? "–" : fmtTime(v * 1000)) }].concat(series),
    axes: [{
      font: FONT, stroke: axisColour, gap: GAP,
      space: (u, axis, min, max) => Math.ceil(widestTimeLabel(max - min)) + 16,
      incrs: TIME_INCRS,
      // Over a range shorter than the smallest step, a step can fall outside it: no tick there.
      filter: (u, splits) => splits.map((v) => (v >= u.scales.x.min && v <= u.scales.x.max ? v : null)),
      size: FONT_PX + TICK + GAP + 8,
      grid: { stroke: gridColour, width: 1 }, ticks: { stroke: gridColour, width: 1, size: TICK },
      values: (u, splits, axis, space, incr) => {
        const labels = timeLabels(splits, incr, u.scales.x.max - u.scales.x.min);
        drawn[0] = { splits, labels };
        return labels;
      },
    }, yAxis],
    cursor: {
      drag: { x: true, y: false, setScale: false },
      bind: { dblclick: () => () => { setZoom(null); return null; } },
    },
    hooks: {
      ready: [(u) => u.over.append(layer)],
      draw: [(u) => {
        placeOverlays(u, layer, markers, periods);
        box.dataset.ticks = JSON.stringify(tickBoxes(u, drawn, box));
        box.dataset.x = JSON.stringify([u.scales.x.min, u.scales.x.max]);
      }],
      setSelect: [(u) => {
        if (u.select.width < 3) return;
        const [min, max] = spread(u.posToVal(u.select.left, "x"),
          u.posToVal(u.select.left + u.select.width, "x"), MIN_ZOOM);
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        setZoom({ min, max });
      }],
    },
  };
  if (band) {
    const edge = (label) => ({ label, stroke: cssVar("--band-edge", "rgba(127,127,127,0.35)"), width: 1, value: (u, v) => fmtNum(v, unit) });
    options.series.push(edge(band.label + " high"), edge(band.label + " low"));
    data.push(band.upper, band.lower);
    options.bands = [{ series: [data.length - 2, data.length - 1], fill: cssVar("--band", "rgba(127,127,127,0.15)") }];
  }
  const reset = el("button", { type: "button", class: "reset-zoom", onclick: () => setZoom(null) }, "Reset zoom");
  reset.hidden = !ui.zoom;
  box.append(reset);
  const u = new uPlot(options, data, box);
  // The chart follows its card's width (a scrollbar that comes with later content narrows it).
  u.monResize = new ResizeObserver(() => {
    const width = Math.max(box.clientWidth || 300, 200);
    if (width !== u.width) u.setSize({ width, height: u.height });
  });
  u.monResize.observe(box);
  const [min, max] = xRange(markers, xs[0], xs[xs.length - 1]);
  u.monFull = { min, max };
  ui.charts.push(u);
  // Explicitly: uPlot's own range around a single instant spans years.
  u.setScale("x", ui.zoom || u.monFull);
  box.dataset.points = lines.reduce((n, l) => n + l.values.filter((v) => v !== null && v !== undefined).length, 0);
}

// The deployments and alert periods of the view's range, for chart()'s markers and periods
// ({markers: [], periods: []} when they cannot be read: the chart is still worth drawing).
// Each period knows what it is about: its rule's variables, its `check` label, its `metric`
// annotation (an application's alert); `about()` keeps those of one chart.
export async function annotations() {
  const [d, a, r] = await Promise.all([
    call("deployments", { from: ui.range, limit: 200 }).catch(() => null),
    call("alerts", { state: "all", limit: 500 }).catch(() => null),
    call("rules", {}).catch(() => null),
  ]);
  const markers = ((d && d.deployments) || []).map((x) => ({
    ts: secs(x.timestamp),
    label: "deployed " + x.service + " " + x.version + (x.environment ? " to " + x.environment : "") + " at " + fmtTime(x.timestamp),
  }));
  const variables = new Map(((r && r.rules) || []).map((x) => [x.name, x.variables || []]));
  const periods = ((a && a.alerts) || []).map((x) => ({
    from: secs(x.started_at),
    to: x.resolved_at ? secs(x.resolved_at) : null,
    label: x.rule,
    severity: x.severity,
    variables: x.source === "rule" ? variables.get(x.rule) || [] : [],
    check: (x.labels || {}).check,
    metric: (x.annotations || {}).metric,
  }));
  return { markers, periods };
}

// `notes` (from annotations()) with only the alert periods about one chart: those of rules
// reading one of `metrics`, of applications' alerts naming one as their `metric`, or, with
// `check`, of alerts labelled with that check. Deployment markers stay on every chart.
export function about(notes, metrics, check) {
  return {
    ...notes,
    periods: notes.periods.filter((p) =>
      metrics.some((m) => p.variables.includes(m) || p.metric === m) || (check !== undefined && p.check === check)),
  };
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
