// One check: its state now, uptime, response time and recent results.
import { call, el, rangePicker, secs, ui } from "../core.js";
import { chart, destroyCharts } from "../chart.js";
import { fmtNum, fmtTime, pct } from "../format.js";

export function checkDetail(view, name) {
  const head = el("div");
  const up = el("div");
  const box = el("div", { class: "chart" });
  const rows = el("div", { class: "scroll" });
  view.append(el("h1", {}, "Check ", name), rangePicker(),
    el("section", { class: "grid" },
      el("div", { class: "card span-6" }, el("h2", {}, "Now"), head),
      el("div", { class: "card span-6" }, el("h2", {}, "Uptime"), up),
      el("div", { class: "card span-12" }, el("h2", {}, "Response time"), box),
      el("div", { class: "card span-12" }, el("h2", {}, "Recent results"), rows)));
  return async () => {
    const [c, r] = await Promise.all([
      call("check", { name }),
      call("results", { name, since: ui.range, limit: 1000 }),
    ]);
    head.replaceChildren(
      el("div", { class: "big t-" + c.status }, c.status),
      el("div", {}, c.kind, c.critical ? " · critical" : "", " · ",
        c.latency_ms === null || c.latency_ms === undefined ? "–" : Math.round(c.latency_ms) + " ms"),
      el("div", { class: "muted" }, c.message || ""),
      c.reason ? el("div", { class: "muted" }, "why: ", c.reason) : "");
    const u = c.uptime || {};
    up.replaceChildren(el("table", {}, el("tbody", {},
      ["24h", "7d", "30d"].map((w) => el("tr", {}, el("th", {}, w), el("td", {}, pct(u[w])))))));
    const results = r.results.slice().reverse();
    destroyCharts();
    box.replaceChildren();
    chart(box, results.map((o) => secs(o.observed_at)), [{ label: "latency", values: results.map((o) => o.latency_ms) }], "ms");
    rows.replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, ["Time", "Status", "Latency", "Message"].map((h) => el("th", {}, h)))),
      el("tbody", {}, r.results.slice(0, 50).map((o) => el("tr", {},
        el("td", {}, fmtTime(o.observed_at)),
        el("td", { class: "t-" + o.status }, o.status),
        el("td", {}, fmtNum(o.latency_ms, "ms")),
        el("td", {}, o.message || ""))))));
  };
}
