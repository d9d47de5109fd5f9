// The overview page: checks, active alerts, host CPU and memory.
import { call, el, rangePicker, secs, ui } from "../core.js";
import { annotations, anomalyOf, bandAt, chart, destroyCharts } from "../chart.js";
import { alertTable } from "./alerts.js";

export function checkTile(c) {
  const up = c.uptime && c.uptime["24h"];
  return el("a", { class: "check s-" + c.status, href: "#/checks/" + encodeURIComponent(c.name) },
    el("div", { class: "name" }, c.name),
    el("div", { class: "meta" },
      el("span", { class: "t-" + c.status }, c.status), " · ",
      c.latency_ms === null || c.latency_ms === undefined ? "–" : Math.round(c.latency_ms) + " ms",
      up === null || up === undefined ? "" : " · " + up.toFixed(2) + " % 24h"));
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
    const [c, a, sc, sm, ac, am, notes] = await Promise.all([
      call("checks", {}),
      call("alerts", {}),
      call("series", { name: "cpu_percent", from: ui.range }),
      call("series", { name: "memory_percent", from: ui.range }),
      anomalyOf("cpu_percent"),
      anomalyOf("memory_percent"),
      annotations(),
    ]);
    checks.replaceChildren(...(c.checks.length ? c.checks.map(checkTile) : [noChecks()]));
    alerts.replaceChildren(alertTable(a.alerts, false));
    destroyCharts();
    for (const [box, data, anomaly] of [[cpu, sc, ac], [mem, sm, am]]) {
      box.replaceChildren();
      const s = data.series[0];
      const pts = s ? s.points : [];
      const xs = pts.map((p) => secs(p.ts));
      chart(box, xs, [{ label: data.name, values: pts.map((p) => p.avg) }], "percent", undefined, bandAt(anomaly, xs), {
        ...notes,
        empty: "No host samples in this range yet: mon collects them itself every metrics.interval (default 10s); the first points appear after a few intervals.",
      });
    }
  };
}
