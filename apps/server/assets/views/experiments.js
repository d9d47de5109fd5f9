// Experiments: the variants of each experiment (events tagged `experiment` and `variant`),
// one experiment's variants against its control, and a comparison of a metric between two
// periods. The statistics and how to read them: docs/experiments.md.
import { call, el, explain, notice, ui } from "../core.js";
import { fmtAgo, fmtNum, fmtTime, unitOf } from "../format.js";

const SINCE = "30d";
const CONFIDENCES = [0.9, 0.95, 0.99];
// The level the comparisons use; kept while the page is open.
let confidence = 0.95;

// The unit of a compared metric: rates are shares, samples name theirs.
function unitOfMetric(name) {
  if (name === "mos" || name === "rating") return name;
  return unitOf(name);
}

const label = (name) => name.replaceAll("_", " ");
// To 2 decimals, as every number on the pages (docs/experiments.md: read the interval too).
const pValue = (p) => (p === null || p === undefined ? "–" : p < 0.01 ? "< 0.01" : p.toFixed(2));
const signed = (text, v) => (v > 0 ? "+" + text : text);

// A difference in percentage points, a rate difference being a share.
function points(v) {
  return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + " pts";
}

function verdict(significant) {
  return el("span", { class: "pill " + (significant ? "sig" : "nosig") },
    significant ? "significant" : "not significant");
}

// "+12 ms [3 ms, 21 ms]": the difference and its interval.
function diffCell(d, interval, show) {
  return el("td", {}, d === null || d === undefined ? "–" : signed(show(d), d),
    interval ? el("div", { class: "muted" }, "[" + show(interval.low) + ", " + show(interval.high) + "]") : null);
}

function rateRow(name, r) {
  // To a tenth of a point: the difference is in tenths too.
  const rate = (e) => el("td", {}, e.rate === null ? "–" : (e.rate * 100).toFixed(1) + " %",
    el("div", { class: "muted" }, e.successes + " / " + e.trials));
  return [el("tr", {},
    el("th", { scope: "row" }, label(name)), rate(r.a), rate(r.b),
    diffCell(r.difference, r.difference_interval, points),
    el("td", {}, pValue(r.p_value), el("div", { class: "muted" }, "z-test")),
    el("td", {}, verdict(r.significant))),
  warningRow(r.warning)];
}

function sampleRow(name, s) {
  const unit = unitOfMetric(name);
  const show = (v) => fmtNum(v, unit);
  const side = (m, r) => el("td", {}, "mean " + show(m.mean),
    el("div", { class: "muted" }, r.percentiles
      ? "p50 " + show(r.percentiles.p50) + " · p95 " + show(r.percentiles.p95) : "no values",
    " · n " + m.n));
  return [el("tr", {},
    el("th", { scope: "row" }, label(name)), side(s.means.a, s.ranks.a), side(s.means.b, s.ranks.b),
    diffCell(s.means.difference, s.means.difference_interval, show),
    el("td", {}, pValue(s.means.p_value),
      el("div", { class: "muted" }, "t-test · ranks " + pValue(s.ranks.p_value))),
    el("td", {}, verdict(s.means.significant),
      s.ranks.significant !== s.means.significant
        ? el("div", { class: "muted" }, "ranks: " + (s.ranks.significant ? "significant" : "not significant")) : null)),
  warningRow(s.means.warning || s.ranks.warning)];
}

function warningRow(text) {
  return text ? el("tr", { class: "warn-row" }, el("td", { colspan: "6" }, el("p", { class: "warn" }, "⚠ " + text))) : null;
}

function warnings(list) {
  return list.length ? el("ul", { class: "warn" }, list.map((w) => el("li", {}, w))) : null;
}

// Each significant difference of a variant, in a sentence (rates by the z-test, samples by
// their means).
function findingsOf(c) {
  const rates = Object.entries(c.rates).filter(([, r]) => r.significant && r.difference !== null)
    .map(([name, r]) => label(name) + ": " + c.variant + " " + signed(points(r.difference), r.difference) + " against " + c.control
      + " (p " + pValue(r.p_value) + ")");
  const samples = Object.entries(c.samples).filter(([, s]) => s.means.significant && s.means.difference !== null)
    .map(([name, s]) => label(name) + ": " + c.variant + " mean " + signed(fmtNum(s.means.difference, unitOfMetric(name)), s.means.difference)
      + " against " + c.control + " (p " + pValue(s.means.p_value) + ")");
  return [...rates, ...samples];
}

function findingsList(list, none) {
  return list.length ? el("ul", { class: "findings" }, list.map((f) => el("li", {}, f))) : el("p", { class: "muted" }, none);
}

function comparisonCard(c) {
  // A row per metric, each with its warning's row.
  const rows = [
    ...Object.entries(c.rates).map(([name, r]) => rateRow(name, r)),
    ...Object.entries(c.samples).map(([name, s]) => sampleRow(name, s)),
  ].flat();
  return el("section", { class: "card experiment-variant", "data-variant": c.variant },
    el("h2", {}, c.variant + " against " + c.control),
    rows.length ? el("div", { class: "scroll" }, el("table", { class: "comparison" },
      el("caption", {}, c.variant + " (variant) against " + c.control + " (control)"),
      el("thead", {}, el("tr", {}, ["Metric", c.control + " (control)", c.variant, "Difference [interval]", "p-value", "Result"]
        .map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)))
      : el("p", { class: "muted" }, "No metric to compare: the events carry no calls, sessions, feedback or AI usage."),
    warnings(c.warnings));
}

function confidencePicker() {
  const select = el("select", { id: "confidence", name: "confidence", onchange: () => {
    confidence = Number(select.value);
    ui.route();
  } }, CONFIDENCES.map((c) => el("option", { value: String(c), selected: c === confidence }, Math.round(c * 100) + " %")));
  return el("span", { class: "bar" }, el("label", { for: "confidence" }, "Confidence"), select);
}

const HOW = "Tag the events of an experiment with \"experiment\" (its name) and \"variant\" (\"control\", \"b\", …) "
  + "when you POST them to /api/v1/events, e.g. ";
const EXAMPLE = '{"type":"call_ended","call_id":"c1","duration_seconds":42,"success":true,"experiment":"prompt-v2","variant":"b"}';

function experimentsTable(list) {
  if (!list.length) {
    return el("div", { class: "card help" },
      el("p", {}, "No experiments in the last " + SINCE + ". " + HOW),
      el("pre", { class: "copy" }, EXAMPLE),
      el("p", { class: "muted" }, "Every kind of event may carry them (calls, sessions, feedback, AI usage); "
        + "the variant named control is the baseline. How the variants are compared: docs/experiments.md."));
  }
  return el("table", { class: "experiments" },
    el("thead", {}, el("tr", {}, ["Experiment", "Variants (events)", "Last seen"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, list.map((x) => {
      const last = x.variants.map((v) => v.last_seen).sort().at(-1);
      return el("tr", {},
        el("td", {}, el("a", { href: "#/experiments/" + encodeURIComponent(x.name) }, x.name)),
        el("td", {}, x.variants.map((v) => v.variant + " (" + v.events + ")").join(", ")),
        el("td", {}, fmtTime(last), el("span", { class: "muted" }, " · " + fmtAgo(last))));
    })));
}

// Both periods' figures and their difference, as GET /api/v1/compare answers.
function compareResult(d) {
  const unit = unitOf(d.metric);
  const show = (v) => fmtNum(v, unit);
  const period = (name, p, m) => el("tr", {},
    el("th", { scope: "row" }, name), el("td", {}, fmtTime(p.from) + " – " + fmtTime(p.to)),
    el("td", {}, p.points), el("td", {}, show(m.mean)),
    ["p50", "p95", "p99"].map((k) => el("td", {}, p.percentiles ? show(p.percentiles[k]) : "–")));
  const m = d.means;
  return el("div", { id: "compare-result" },
    d.deployment ? el("p", { class: "muted" }, "Around the deployment of " + d.deployment.service
      + (d.deployment.version ? " " + d.deployment.version : "") + ".") : null,
    el("div", { class: "scroll" }, el("table", {},
      el("caption", {}, d.metric),
      el("thead", {}, el("tr", {}, ["Period", "From – to", "Points", "Mean", "p50", "p95", "p99"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, period("a (before)", d.a, m.a), period("b (after)", d.b, m.b)))),
    el("p", {}, "Difference of the means (b − a): ",
      el("strong", {}, m.difference === null ? "–" : signed(show(m.difference), m.difference)),
      m.difference_interval ? " [" + show(m.difference_interval.low) + ", " + show(m.difference_interval.high) + "]" : "",
      " · p-value " + pValue(m.p_value) + " (t-test), " + pValue(d.ranks.p_value) + " (ranks) · ", verdict(m.significant)),
    warnings([m.warning, d.ranks.warning].filter(Boolean)));
}

function compareForm() {
  const metric = el("input", { id: "compare-metric", name: "metric", required: true, placeholder: "e.g. voice_latency_ms" });
  const mode = el("select", { id: "compare-mode", name: "mode" },
    el("option", { value: "week" }, "this week against last week"),
    el("option", { value: "deployment" }, "before and after a deployment"));
  const deployment = el("input", { id: "compare-deployment", name: "deployment", placeholder: "service@version" });
  const result = el("div", { "aria-live": "polite" });
  const form = el("form", { class: "card compare-form", onsubmit: async (e) => {
    e.preventDefault();
    const params = { metric: metric.value.trim(), confidence };
    if (mode.value === "week") Object.assign(params, { a: "14d/7d", b: "7d/now" });
    else params.deployment = deployment.value.trim();
    try {
      result.replaceChildren(compareResult(await call("compare", params)));
    } catch (err) {
      result.replaceChildren();
      notice(explain(err), true);
    }
  } },
  el("h2", {}, "Compare periods"),
  el("div", { class: "bar" },
    el("label", { class: "field" }, "Metric", metric),
    el("label", { class: "field" }, "Periods", mode),
    el("label", { class: "field" }, "Deployment", deployment),
    el("button", { type: "submit" }, "Compare")),
  el("p", { class: "muted" }, "A deployment compares the hour before it with the hour after; "
    + "leave the version out for the service's latest deployment."),
  result);
  return form;
}

export function experimentsView(view) {
  const list = el("div", { class: "scroll", id: "experiments" });
  view.append(el("h1", {}, "Experiments"),
    el("p", { class: "muted" }, "Variants seen in the last " + SINCE + "; select one to compare its variants with the control."),
    list, compareForm());
  let shown = "";
  return async () => {
    const d = await call("experiments", { since: SINCE });
    const text = JSON.stringify(d.experiments);
    if (text !== shown) {
      shown = text;
      list.replaceChildren(experimentsTable(d.experiments));
    }
  };
}

export function experimentDetail(view, name) {
  const body = el("div", { id: "experiment" });
  view.append(el("p", {}, el("a", { href: "#/experiments" }, "← Experiments")),
    el("h1", {}, name), confidencePicker(), body);
  return async () => {
    const d = await call("experiment", { name, since: SINCE, confidence });
    // el() drops what is absent and flattens lists, which replaceChildren does not.
    body.replaceChildren(el("div", {},
      el("section", { class: "card findings-card" }, el("h2", {}, "Findings"),
        findingsList(d.comparisons.flatMap(findingsOf),
          "No variant differs significantly from " + d.control + " at " + Math.round(d.confidence * 100) + " %.")),
      warnings(d.warnings),
      el("p", { class: "muted" }, "Control: " + d.control + " · since " + fmtTime(d.since) + " · "
        + d.variants.map((v) => v.variant + " " + v.events + " events").join(", ")
        + ". Differences are variant − control; not significant means these data cannot tell (docs/experiments.md)."),
      d.comparisons.length ? d.comparisons.map(comparisonCard)
        : el("p", { class: "muted" }, "Only one variant so far: nothing to compare it with.")));
  };
}
