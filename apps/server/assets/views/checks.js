// One check: its state now, uptime, response time and recent results.
import { call, el, rangePicker, secs, ui } from "../core.js";
import { about, annotations, chart, destroyCharts } from "../chart.js";
import { checkLatency, fmtAgo, fmtTime, hasResponseTime, pct } from "../format.js";

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
    const [c, r, notes] = await Promise.all([
      call("check", { name }),
      call("results", { name, since: ui.range, limit: 1000 }),
      annotations(),
    ]);
    const latency = checkLatency(c.kind, c.status, c.latency_ms);
    head.replaceChildren(
      el("div", { class: "big t-" + c.status }, c.status),
      el("div", {}, c.kind, c.critical ? " · critical" : "",
        latency === "–" ? "" : [" · ", el("span", { class: "value", "data-unit": "milliseconds" }, latency)],
        c.observed_at ? " · " + fmtAgo(c.observed_at) : ""),
      el("div", { class: "muted" }, c.message || ""),
      c.reason ? el("div", { class: "muted" }, "why: ", c.reason) : "");
    const u = c.uptime || {};
    up.replaceChildren(el("table", { class: "uptime" }, el("tbody", {},
      ["24h", "7d", "30d"].map((w) => el("tr", {}, el("th", {}, w),
        el("td", { class: "value", "data-unit": "percent" }, pct(u[w])))))));
    // Only runs that got an answer have a response time (a refused connection fails at once).
    const results = r.results.slice().reverse();
    const answered = results.filter((o) => checkLatency(c.kind, o.status, o.latency_ms) !== "–");
    destroyCharts();
    box.replaceChildren();
    if (!hasResponseTime(c.kind)) {
      box.append(el("p", { class: "muted empty" }, "A " + c.kind + " check reads the host or waits for pings: it has no response time."));
    } else {
      chart(box, answered.map((o) => secs(o.observed_at)),
        [{ label: "response time", values: answered.map((o) => o.latency_ms) }], "milliseconds", undefined, null, {
          ...about(notes, [], name),
          empty: results.length
            ? "No run answered in this range: failed runs have no response time (see the results below)."
            : "No results in this range yet: the check runs every interval (default 30s).",
        });
    }
    rows.replaceChildren(r.results.length ? el("table", {},
      el("thead", {}, el("tr", {}, ["Time", "Status", "Latency", "Message"].map((h) => el("th", {}, h)))),
      el("tbody", {}, r.results.slice(0, 50).map((o) => el("tr", {},
        el("td", { class: "nowrap", title: o.observed_at }, fmtTime(o.observed_at)),
        el("td", { class: "t-" + o.status }, o.status),
        el("td", { class: "nowrap value", "data-unit": "milliseconds" }, checkLatency(c.kind, o.status, o.latency_ms)),
        el("td", {}, o.message || ""))))) : el("p", { class: "muted" }, "No results in this range yet."));
  };
}
