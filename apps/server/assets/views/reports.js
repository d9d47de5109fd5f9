// Reports: the stakeholder report — the last scheduled one (reports.schedule), or one made
// now over the last day, week or month — section by section: figures, the chart the server
// drew (SVG, the same as in the mail), and the detail table. docs/reports.md.
import { call, el } from "../core.js";
import { fmtTime } from "../format.js";

const CHOICES = [["latest", "Last scheduled"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"]];
// The choices, kept while the page is open: the period, and whose events (the service's
// own, or `mon demo`'s, labelled source=demo).
let choice = "7d";
let source = "";

// The server's SVG as a node: parsed as XML, never as HTML.
function chart(svg) {
  const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
  const root = doc.documentElement;
  return root && root.nodeName === "svg" ? document.importNode(root, true) : el("p", { class: "muted" }, "No chart.");
}

function section(s) {
  return el("section", { class: "card", id: "report-" + s.id },
    el("h2", {}, s.title),
    el("div", { class: "figures" }, s.figures.map((f) =>
      el("div", { class: "figure" }, el("div", { class: "value" }, f.text), el("div", { class: "muted" }, f.label)))),
    s.note ? el("p", { class: "muted" }, s.note) : null,
    el("div", { class: "report-chart" }, chart(s.chart_svg)),
    s.table.rows.length ? el("div", { class: "scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, s.table.columns.map((c) => el("th", {}, c)))),
      el("tbody", {}, s.table.rows.map((r) => el("tr", {}, r.map((v) => el("td", {}, v))))))) : null);
}

export function reportsView(view) {
  const body = el("div", { id: "report" });
  const picker = el("select", { "aria-label": "Report period", onchange: (e) => { choice = e.target.value; shown = ""; body.replaceChildren(); } },
    CHOICES.map(([v, text]) => el("option", { value: v, selected: v === choice }, text)));
  const sources = el("select", { "aria-label": "Whose events", onchange: (e) => { source = e.target.value; shown = ""; body.replaceChildren(); } },
    [["", "the service's events"], ["demo", "mon demo's events"]].map(([v, text]) => el("option", { value: v, selected: v === source }, text)));
  view.append(el("h1", {}, "Reports"),
    el("p", { class: "muted" }, "Uptime, incidents, calls, voice quality, satisfaction, AI cost, errors, experiments and deployments over a period. ", picker, " ", sources),
    body);
  let shown = "";
  return async () => {
    let d;
    try {
      d = choice === "latest" ? await call("reportLatest", {}) : await call("report", { since: choice, source });
    } catch (err) {
      if (err.status !== 404) throw err;
      body.replaceChildren(el("p", { class: "muted" }, err.message));
      shown = "";
      return;
    }
    // A report made now changes with every poll only in its generation time.
    const text = JSON.stringify(d.sections);
    if (text === shown) return;
    shown = text;
    body.replaceChildren(el("div", {},
      el("h2", {}, d.title),
      el("p", { class: "muted" }, fmtTime(d.from) + " to " + fmtTime(d.to) + " · made " + fmtTime(d.generated_at)),
      d.sections.map(section)));
  };
}
