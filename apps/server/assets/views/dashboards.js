// The dashboards list and one dashboard's panels.
import { call, el, rangePicker, secs, ui } from "../core.js";
import { chart, destroyCharts } from "../chart.js";
import { fmtNum } from "../format.js";
import { alertTable } from "./alerts.js";
import { checkTile } from "./overview.js";

export function dashboards(view) {
  const list = el("div", { class: "grid" });
  view.append(el("h1", {}, "Dashboards"), list);
  return async () => {
    const d = await call("dashboards", {});
    list.replaceChildren(...d.dashboards.map((b) => el("a", {
      class: "card span-4", href: "#/dashboards/" + encodeURIComponent(b.id),
    }, el("h2", {}, b.title), el("div", { class: "muted" }, b.description || ""),
    el("div", { class: "muted" }, (b.panels && b.panels.length !== undefined ? b.panels.length : b.panels) + " panels"))));
  };
}

function panelBody(p, box) {
  const metrics = p.metrics || [];
  switch (p.panel_type) {
    case "stat":
    case "gauge": {
      for (const m of metrics) {
        box.append(el("div", { class: "big t-" + (m.color || "grey") }, fmtNum(m.value, m.unit)));
        const labels = Object.entries(m.labels || {}).map(([k, v]) => k + "=" + v).join(", ");
        if (labels) box.append(el("div", { class: "muted" }, labels));
      }
      break;
    }
    case "timeseries": {
      const xs = [...new Set(metrics.flatMap((m) => m.series.map((pt) => pt.ts)))].sort();
      const lines = metrics.map((m) => {
        const byTs = new Map(m.series.map((pt) => [pt.ts, pt.value]));
        const labels = Object.entries(m.labels || {}).map(([k, v]) => k + "=" + v).join(", ");
        return { label: labels || m.name, values: xs.map((t) => (byTs.has(t) ? byTs.get(t) : null)) };
      });
      const chartBox = el("div", { class: "chart" });
      box.append(chartBox);
      chart(chartBox, xs.map(secs), lines, p.unit, Math.max(120, (p.layout.height || 6) * 30 - 60));
      break;
    }
    case "table": {
      box.append(el("div", { class: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "Series"), el("th", {}, "Value"))),
        el("tbody", {}, metrics.map((m) => el("tr", {},
          el("td", {}, Object.entries(m.labels || {}).map(([k, v]) => k + "=" + v).join(", ") || m.name),
          el("td", { class: "t-" + (m.color || "grey") }, fmtNum(m.value, m.unit))))))));
      break;
    }
    case "status_grid":
      box.append(el("div", { class: "checks" }, (p.checks || []).map(checkTile)));
      break;
    case "alert_list":
      box.append(alertTable(p.alerts || [], false));
      break;
    default:
      box.append(el("p", { class: "muted" }, "Unknown panel kind " + p.panel_type));
  }
}

export function dashboard(view, id) {
  const title = el("h1", {}, id);
  const grid = el("section", { class: "grid dash" });
  view.append(title, rangePicker(), grid);
  return async () => {
    const d = await call("dashboard", { id, range: ui.range });
    title.textContent = d.title;
    destroyCharts();
    grid.replaceChildren();
    for (const p of d.panels) {
      const box = el("div", { class: "card" }, el("h2", {}, p.title));
      box.style.gridColumn = "span " + Math.min(24, Math.max(1, p.layout.width || 12));
      box.style.minHeight = (p.layout.height || 4) * 30 + "px";
      grid.append(box);
      panelBody(p, box);
    }
  };
}
