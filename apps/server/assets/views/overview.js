// The overview page: checks, active alerts, host CPU and memory.
import { call, el, rangePicker, secs, ui } from "../core.js";
import { about, annotations, anomalyOf, bandAt, chart, destroyCharts } from "../chart.js";
import { checkLatency, fmtTime, pct, percent } from "../format.js";
import { alertTable } from "./alerts.js";

// `history`: the check's entry of GET /api/v1/check-history (coloured bars, oldest first).
export function checkTile(c, history) {
  const up = c.uptime && c.uptime["24h"];
  const buckets = history && Array.isArray(history.buckets) ? history.buckets : null;
  const width = buckets && buckets.length > 1 ? (Date.parse(buckets[1].start) - Date.parse(buckets[0].start)) : 0;
  const bars = buckets ? el("div", { class: "hbars", role: "img", "aria-label": c.name + ": last 24 h" },
    buckets.map((b) => el("span", {
      class: "hb hb-" + b.state,
      title: fmtTime(b.start) + " – " + fmtTime(Date.parse(b.start) + width) + ": " +
        (b.runs ? b.state + ", " + percent(b.uptime_percent) + " up (" + b.runs + " runs)" : "no data"),
    }))) : null;
  return el("a", { class: "check s-" + c.status, href: "#/checks/" + encodeURIComponent(c.name) },
    el("div", { class: "name" }, c.name),
    el("div", { class: "meta" },
      el("span", { class: "t-" + c.status }, c.status), " · ",
      el("span", { class: "nowrap" }, checkLatency(c.kind, c.status, c.latency_ms)),
      up === null || up === undefined ? "" : el("span", { class: "nowrap" }, " · " + pct(up) + " 24h")),
    bars);
}

// What to do when no check is configured: the lines to copy into mon.yaml.
function noChecks() {
  return el("div", { class: "empty" },
    el("p", { class: "muted" }, "No checks configured. Add some under checks: in mon.yaml and restart mon-server, for example:"),
    el("pre", { class: "copy" }, [
      "checks:",
      "  - { name: api, type: tcp, address: 'api.example.com:443', interval: 30s }",
      "  - { name: api-certificate, type: tls_certificate, address: 'api.example.com:443' }",
    ].join("\n")),
    el("p", { class: "muted" }, "Every kind and key: docs/checks.md."));
}

export function overview(view) {
  const checks = el("div", { class: "checks" });
  const alerts = el("div");
  const cpu = el("div", { class: "chart" });
  const mem = el("div", { class: "chart" });
  view.append(
    el("h1", {}, "Overview"),
    el("section", { class: "grid" },
      el("div", { class: "card span-12" }, el("h2", {}, "Checks"), checks),
      el("div", { class: "card span-12" }, el("h2", {}, "Active alerts"), alerts),
      el("div", { class: "card span-12" }, rangePicker()),
      el("div", { class: "card span-6" }, el("h2", {}, "CPU %"), cpu),
      el("div", { class: "card span-6" }, el("h2", {}, "Memory %"), mem)));
  return async () => {
    const [c, a, sc, sm, ac, am, notes, h] = await Promise.all([
      call("checks", {}),
      call("alerts", {}),
      call("series", { name: "cpu_percent", from: ui.range }),
      call("series", { name: "memory_percent", from: ui.range }),
      anomalyOf("cpu_percent"),
      anomalyOf("memory_percent"),
      annotations(),
      call("history", { window: "24h", buckets: 48 }),
    ]);
    const hist = new Map(h.checks.map((x) => [x.name, x]));
    checks.replaceChildren(...(c.checks.length ? c.checks.map((x) => checkTile(x, hist.get(x.name))) : [noChecks()]));
    alerts.replaceChildren(alertTable(a.alerts, false));
    destroyCharts();
    for (const [box, data, anomaly] of [[cpu, sc, ac], [mem, sm, am]]) {
      box.replaceChildren();
      const s = data.series[0];
      const pts = s ? s.points : [];
      const xs = pts.map((p) => secs(p.ts));
      chart(box, xs, [{ label: data.name, values: pts.map((p) => p.avg) }], "percent", undefined, bandAt(anomaly, xs), {
        ...about(notes, [data.name]),
        empty: "No host samples in this range yet: mon collects them itself every metrics.interval (default 10s); the first points appear after a few intervals.",
      });
    }
  };
}
