// The dashboards list and one dashboard's panels. A panel without data says where its data
// comes from (the variable's source), so an empty dashboard tells how to fill it.
import { call, el, rangePicker, secs, ui } from "../core.js";
import { about, annotations, chart, destroyCharts } from "../chart.js";
import { fmtNum, unitOf } from "../format.js";
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
    el("div", { class: "muted" }, fmtNum(b.panels, "count") + (b.panels === 1 ? " panel" : " panels")))));
  };
}

const EVENTS = "your application sends to POST /api/v1/events (ingest token, docs/metrics.md)";
const WEBHOOKS = "LiveKit's webhooks to POST /api/v1/webhooks/livekit (livekit.webhook in mon.yaml, docs/livekit.md)";

// Where a variable's data comes from, by name (the catalog's sources: the host, the checks,
// ingested events, LiveKit).
const SOURCES = [
  [/^(cpu|memory|swap|disk|load_average|network|process)_/, "mon collects it from this host every metrics.interval (default 10s)."],
  [/(^health_percentage$|_checks$)/, "the checks under checks: in mon.yaml."],
  [/^(active_rooms|active_participants)$/, "a livekit check (type: livekit in mon.yaml), which asks the LiveKit server for its rooms."],
  [/^room_creation_failures$/, "error events with kind LK1301 that " + EVENTS + "."],
  [/^(rooms_|participants_|connection_success_rate|egress_failures|avg_room_duration)/, WEBHOOKS + "."],
  [/(session|rating|csat|feedback|feature)/, "session, feedback and feature events that " + EVENTS + " (docs/metrics.md, User experience)."],
  [/(api_latency|^request_rate|^error_rate|^slow_requests|^endpoint_)/, "request events (type request) that " + EVENTS + "."],
  [/(call|_calls)/, "call_started and call_ended events that " + EVENTS + "."],
  [/^(avg_mos|avg_voice_latency_ms|avg_packet_loss|avg_jitter_ms|avg_audio_level|avg_noise_level)$/, "voice_quality events that " + EVENTS + ", or a prometheus check on LiveKit's metrics."],
  [/^(avg_response_time_ms|ai_cost_usd)$/, "ai_usage events that " + EVENTS + "."],
  [/error/, "error events that " + EVENTS + ", and mon's own ERROR logs."],
  [/(login|principal|denied_ip|rate_limited|security_events)/, "auth and security events: mon's own token checks and those " + EVENTS + "."],
];

function emptyText(metric) {
  const hit = SOURCES.find(([re]) => re.test(metric || ""));
  const from = hit ? hit[1] : "the series " + metric + ", once something records it.";
  return "No data in this range yet. " + (metric ? metric + " comes from " : "It comes from ") + from;
}

// The LiveKit dashboard's first card: what feeds it, with the lines to copy into mon.yaml.
function livekitHelp() {
  return el("div", { class: "card help" },
    el("h2", {}, "Where this data comes from"),
    el("p", { class: "muted" }, "Rooms and participants come from a livekit check; connections, room durations and egress failures from LiveKit's webhooks. In mon.yaml:"),
    el("pre", { class: "copy" }, [
      "checks:",
      "  - name: livekit",
      "    type: livekit",
      "    url: wss://livekit.example.com",
      "    api_key: ${LIVEKIT_API_KEY}",
      "    api_secret: ${LIVEKIT_API_SECRET}",
      "livekit:",
      "  webhook:",
      "    api_key: ${LIVEKIT_API_KEY}",
      "    api_secret: ${LIVEKIT_API_SECRET}",
    ].join("\n")),
    el("p", { class: "muted" }, "and in LiveKit's livekit.yaml:"),
    el("pre", { class: "copy" }, [
      "webhook:",
      "  api_key: APIxxxxxxxx",
      "  urls:",
      `    - ${location.origin}/api/v1/webhooks/livekit`,
    ].join("\n")),
    el("p", { class: "muted" }, "Room-creation failures are error events with kind LK1301. Details: docs/livekit.md."));
}

function labelText(m) {
  return Object.entries(m.labels || {}).map(([k, v]) => k + "=" + v).join(", ");
}

function panelBody(p, box, notes) {
  const metrics = p.metrics || [];
  const metric = (metrics[0] && metrics[0].name) || "";
  const unitFor = (m) => m.unit || p.unit || unitOf(m.name);
  const hasValue = metrics.some((m) => m.value !== null && m.value !== undefined);
  switch (p.panel_type) {
    case "stat":
    case "gauge": {
      if (!hasValue) {
        box.append(el("p", { class: "muted empty" }, emptyText(metric)));
        break;
      }
      for (const m of metrics) {
        box.append(el("div", { class: "big value t-" + (m.color || "grey"), "data-unit": unitFor(m) }, fmtNum(m.value, unitFor(m))));
        const labels = labelText(m);
        if (labels) box.append(el("div", { class: "muted" }, labels));
      }
      break;
    }
    case "timeseries": {
      const xs = [...new Set(metrics.flatMap((m) => m.series.map((pt) => pt.ts)))].sort();
      const lines = metrics.map((m) => {
        const byTs = new Map(m.series.map((pt) => [pt.ts, pt.value]));
        return { label: labelText(m) || m.name, values: xs.map((t) => (byTs.has(t) ? byTs.get(t) : null)) };
      });
      const chartBox = el("div", { class: "chart" });
      box.append(chartBox);
      chart(chartBox, xs.map(secs), lines, p.unit || unitOf(metric), Math.max(120, (p.layout.height || 6) * 30 - 60), null,
        { ...about(notes, metrics.map((m) => m.name)), empty: emptyText(metric) });
      break;
    }
    case "table": {
      if (!hasValue) {
        box.append(el("p", { class: "muted empty" }, emptyText(metric)));
        break;
      }
      box.append(el("div", { class: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "Series"), el("th", {}, "Value"))),
        // Largest first: the busiest feature, the slowest endpoint.
        el("tbody", {}, [...metrics].sort((a, b) => (b.value ?? -Infinity) - (a.value ?? -Infinity)).map((m) => el("tr", {},
          el("td", {}, labelText(m) || m.name),
          el("td", { class: "nowrap value t-" + (m.color || "grey"), "data-unit": unitFor(m) }, fmtNum(m.value, unitFor(m)))))))));
      break;
    }
    case "status_grid":
      box.append((p.checks || []).length
        ? el("div", { class: "checks" }, p.checks.map(checkTile))
        : el("p", { class: "muted empty" }, "No checks configured: add them under checks: in mon.yaml (docs/checks.md)."));
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
    const [d, notes] = await Promise.all([call("dashboard", { id, range: ui.range }), annotations()]);
    title.textContent = d.title;
    destroyCharts();
    grid.replaceChildren();
    const empty = d.panels.every((p) => !(p.metrics || []).some((m) => m.value !== null && m.value !== undefined));
    if (d.id === "livekit" && empty) {
      const help = livekitHelp();
      help.style.gridColumn = "1 / -1";
      grid.append(help);
    }
    // Every panel's card first, then their contents: a chart measures its card once the page
    // has its full height (and its scrollbar, which narrows every card).
    const boxes = d.panels.map((p) => {
      const box = el("div", { class: "card panel", "data-panel": p.id },
        el("h2", { title: p.description || null }, p.title));
      box.style.gridColumn = "span " + Math.min(24, Math.max(1, p.layout.width || 12));
      box.style.minHeight = (p.layout.height || 4) * 30 + "px";
      grid.append(box);
      return box;
    });
    d.panels.forEach((p, i) => panelBody(p, boxes[i], notes));
  };
}
