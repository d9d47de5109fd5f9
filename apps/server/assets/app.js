// mon web UI: hand-written, no build step. Hash routes, polling every 5 s, uPlot charts.
// Every API path the page calls is in API below (the server's tests call each of them).
"use strict";

const API = {
  whoami: ["GET", "/api/v1/auth/whoami"],
  checks: ["GET", "/api/v1/checks"],
  check: ["GET", "/api/v1/checks/{name}"],
  results: ["GET", "/api/v1/checks/{name}/results"],
  alerts: ["GET", "/api/v1/alerts"],
  ack: ["POST", "/api/v1/alerts/{id}/ack"],
  resolve: ["POST", "/api/v1/alerts/{id}/resolve"],
  silence: ["POST", "/api/v1/silences"],
  series: ["GET", "/api/v1/metrics/query"],
  anomaly: ["GET", "/api/v1/anomaly/{variable}"],
  dashboards: ["GET", "/api/v1/dashboards"],
  dashboard: ["GET", "/api/v1/dashboards/{id}"],
  errors: ["GET", "/api/v1/errors"],
  logs: ["GET", "/api/v1/logs"],
};

const POLL_MS = 5000;
const RANGES = ["1h", "24h", "7d"];
const ui = {
  token: sessionStorage.getItem("mon.token") || "",
  role: null,
  range: RANGES.includes(sessionStorage.getItem("mon.range")) ? sessionStorage.getItem("mon.range") : "1h",
  refresh: null, // the current view's refresh function
  charts: [], // uPlot instances of the current view
  seq: 0, // bumps on every navigation: stale answers are dropped
  inflight: null, // the seq of the refresh under way
};

// ---- helpers ------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(key, params, body) {
  const [method, template] = API[key];
  const query = new URLSearchParams();
  let path = template.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(params[k]));
  for (const [k, v] of Object.entries(params || {})) {
    if (!template.includes("{" + k + "}") && v !== "" && v !== null && v !== undefined) query.set(k, v);
  }
  if ([...query].length) path += "?" + query;
  const headers = { Accept: "application/json" };
  if (ui.token) headers.Authorization = "Bearer " + ui.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const msg = (data && data.error && data.error.message) || res.statusText;
    throw new HttpError(res.status, msg);
  }
  return data;
}

function notice(text, isError) {
  const n = document.getElementById("notice");
  n.hidden = !text;
  n.className = "notice" + (isError ? " error" : "");
  n.textContent = text || "";
}

function explain(err) {
  if (err.status === 401) {
    return ui.token
      ? "The server does not know this token (" + err.message + "). Enter a read token above."
      : "This server needs a token to show data: enter a read token above.";
  }
  if (err.status === 403) return "Not allowed with this token: " + err.message;
  return "Request failed: " + err.message;
}

function fmtNum(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const abs = Math.abs(v);
  let text = abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : v.toFixed(2);
  if (unit === "bytes") {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toFixed(i ? 1 : 0) + " " + units[i];
  }
  if (unit === "percent") return text + " %";
  if (unit === "milliseconds" || unit === "ms") return text + " ms";
  if (unit === "per_minute") return text + " /min";
  if (unit) return text + " " + unit;
  return text;
}

function fmtTime(t) {
  if (!t) return "–";
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
}

function pct(v) {
  return v === null || v === undefined ? "–" : v.toFixed(2) + " %";
}

function secs(t) {
  return Date.parse(t) / 1000;
}

function rangePicker() {
  return el("span", { class: "bar" }, "Range:",
    RANGES.map((r) => el("button", {
      type: "button", "aria-pressed": r === ui.range ? "true" : "false",
      class: r === ui.range ? "active" : "",
      onclick: () => { ui.range = r; sessionStorage.setItem("mon.range", r); route(); },
    }, r)));
}

function destroyCharts() {
  for (const c of ui.charts) c.destroy();
  ui.charts = [];
}

// A line chart: xs in seconds, lines = [{label, values}]; band (optional) = {label, lower,
// upper} aligned with xs, drawn as a shaded area behind the lines (the anomaly band).
function chart(box, xs, lines, unit, height, band) {
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
}

// The anomaly answer of `variable` over the view's range, or null when it cannot be read
// (the chart then has no band).
function anomalyOf(variable) {
  return call("anomaly", { variable, from: ui.range }).catch(() => null);
}

// The band of an anomaly answer aligned with xs (seconds): each x takes the nearest band
// point. null when there is no band yet (no sample learned).
function bandAt(a, xs) {
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

function checkTile(c) {
  const up = c.uptime && c.uptime["24h"];
  return el("a", { class: "check s-" + c.status, href: "#/checks/" + encodeURIComponent(c.name) },
    el("div", { class: "name" }, c.name),
    el("div", { class: "meta" },
      el("span", { class: "t-" + c.status }, c.status), " · ",
      c.latency_ms === null || c.latency_ms === undefined ? "–" : Math.round(c.latency_ms) + " ms",
      up === null || up === undefined ? "" : " · " + up.toFixed(2) + " % 24h"));
}

function alertTable(alerts, withActions) {
  if (!alerts.length) return el("p", { class: "muted" }, "No alerts.");
  const admin = withActions && ui.role === "admin";
  return el("div", { class: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, ["Severity", "Rule", "State", "Value", "Since", "Labels"].map((h) => el("th", {}, h)),
      admin ? el("th", {}, "Actions") : null)),
    el("tbody", {}, alerts.map((a) => el("tr", {},
      el("td", { class: "t-" + a.severity }, a.severity),
      el("td", {}, a.rule, a.annotations && a.annotations.summary ? el("div", { class: "muted" }, a.annotations.summary) : null),
      el("td", {}, a.state, a.silenced ? " (silenced)" : "", a.acknowledged_by ? " by " + a.acknowledged_by : ""),
      el("td", {}, fmtNum(a.value)),
      el("td", {}, fmtTime(a.started_at)),
      el("td", {}, Object.entries(a.labels || {}).map(([k, v]) => k + "=" + v).join(", ")),
      admin ? el("td", {}, alertActions(a)) : null)))));
}

function alertActions(a) {
  const act = (label, fn) => el("button", {
    type: "button",
    onclick: async (e) => {
      e.target.disabled = true;
      try { await fn(); notice(label + ": done"); } catch (err) { notice(explain(err), true); }
      if (ui.refresh) ui.refresh();
    },
  }, label);
  // As the API allows: acknowledge a firing alert; resolve a firing or acknowledged one.
  const active = a.state === "firing" || a.state === "acknowledged";
  return [
    a.state === "firing" ? act("Acknowledge", () => call("ack", { id: a.id }, { by: "web-ui" })) : null,
    active ? act("Resolve", () => call("resolve", { id: a.id }, { by: "web-ui" })) : null,
    a.state === "resolved" ? null : act("Silence 1h", () => call("silence", {}, {
      matchers: [{ name: "alertname", value: a.rule }], duration: "1h",
      created_by: "web-ui", comment: "silenced from the web UI",
    })),
  ];
}

// ---- views: each builds its frame and returns a refresh function ----------------------------

function overview(view) {
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
    const [c, a, sc, sm, ac, am] = await Promise.all([
      call("checks", {}),
      call("alerts", {}),
      call("series", { name: "cpu_percent", from: ui.range }),
      call("series", { name: "memory_percent", from: ui.range }),
      anomalyOf("cpu_percent"),
      anomalyOf("memory_percent"),
    ]);
    checks.replaceChildren(...(c.checks.length ? c.checks.map(checkTile) : [el("p", { class: "muted" }, "No checks configured.")]));
    alerts.replaceChildren(alertTable(a.alerts, false));
    destroyCharts();
    for (const [box, data, anomaly] of [[cpu, sc, ac], [mem, sm, am]]) {
      box.replaceChildren();
      const s = data.series[0];
      const pts = s ? s.points : [];
      const xs = pts.map((p) => secs(p.ts));
      chart(box, xs, [{ label: data.name, values: pts.map((p) => p.avg) }], "percent", undefined, bandAt(anomaly, xs));
    }
  };
}

function dashboards(view) {
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

function dashboard(view, id) {
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

function checkDetail(view, name) {
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

function alertsView(view) {
  const state = el("select", { "aria-label": "state" },
    [["", "open"], ["firing", "firing"], ["acknowledged", "acknowledged"], ["pending", "pending"], ["resolved", "resolved"], ["all", "all"]]
      .map(([v, t]) => el("option", { value: v }, t)));
  const severity = el("select", { "aria-label": "severity" },
    ["", "info", "warning", "error", "critical"].map((v) => el("option", { value: v }, v || "any severity")));
  const list = el("div");
  view.append(el("h1", {}, "Alerts"), el("div", { class: "bar" }, state, severity,
    ui.role === "admin" ? null : el("span", { class: "muted" }, "Enter an admin token to acknowledge, resolve or silence.")), list);
  const refresh = async () => {
    const a = await call("alerts", { state: state.value, severity: severity.value });
    list.replaceChildren(alertTable(a.alerts, true));
  };
  state.addEventListener("change", () => refresh().catch((e) => notice(explain(e), true)));
  severity.addEventListener("change", () => refresh().catch((e) => notice(explain(e), true)));
  return refresh;
}

function errorsView(view) {
  const list = el("div", { class: "scroll" });
  view.append(el("h1", {}, "Errors"), rangePicker(), list);
  return async () => {
    const d = await call("errors", { since: ui.range, limit: 200 });
    list.replaceChildren(d.errors.length ? el("table", {},
      el("thead", {}, el("tr", {}, ["Kind", "Message", "Where", "Count", "Last seen"].map((h) => el("th", {}, h)))),
      el("tbody", {}, d.errors.map((e) => el("tr", {},
        el("td", {}, e.kind), el("td", {}, el("pre", {}, e.message)), el("td", {}, e.location || ""),
        el("td", {}, e.count), el("td", {}, fmtTime(e.last_seen))))))
      : el("p", { class: "muted" }, "No errors in this range."));
  };
}

function logsView(view) {
  const q = el("input", { type: "search", placeholder: "words, prefix*", "aria-label": "search" });
  const level = el("select", { "aria-label": "level" },
    ["", "debug", "info", "warn", "error"].map((v) => el("option", { value: v }, v || "any level")));
  const list = el("div", { class: "scroll" });
  const refresh = async () => {
    const d = await call("logs", { q: q.value.trim(), level: level.value, limit: 200 });
    list.replaceChildren(d.logs.length ? el("table", {},
      el("thead", {}, el("tr", {}, ["Time", "Level", "Source", "Message"].map((h) => el("th", {}, h)))),
      el("tbody", {}, d.logs.map((l) => el("tr", {},
        el("td", {}, fmtTime(l.timestamp)), el("td", { class: "t-" + l.level }, l.level),
        el("td", {}, l.source || l.logger || ""), el("td", {}, el("pre", {}, l.message))))))
      : el("p", { class: "muted" }, "No matching log lines."));
  };
  const form = el("form", { class: "bar", onsubmit: (e) => { e.preventDefault(); refresh().catch((err) => notice(explain(err), true)); } },
    q, level, el("button", { type: "submit" }, "Search"));
  view.append(el("h1", {}, "Logs"), form, list);
  return refresh;
}

// ---- routing, polling, auth ----------------------------------------------------------------

const ROUTES = [
  [/^#?\/?$/, overview],
  [/^#\/dashboards$/, dashboards],
  [/^#\/dashboards\/(.+)$/, dashboard],
  [/^#\/checks\/(.+)$/, checkDetail],
  [/^#\/alerts$/, alertsView],
  [/^#\/errors$/, errorsView],
  [/^#\/logs$/, logsView],
];

async function run(seq) {
  // One refresh at a time per page: a slow answer is not overtaken by the next poll.
  if (!ui.refresh || ui.inflight === seq) return;
  ui.inflight = seq;
  try {
    await ui.refresh();
    if (seq !== ui.seq) return;
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    const n = document.getElementById("notice");
    if (n.classList.contains("error")) notice("");
  } catch (err) {
    if (seq === ui.seq) notice(explain(err), true);
  } finally {
    if (ui.inflight === seq) ui.inflight = null;
  }
}

function route() {
  const seq = ++ui.seq;
  const view = document.getElementById("view");
  destroyCharts();
  view.replaceChildren();
  const hash = location.hash || "#/";
  for (const a of document.querySelectorAll("nav a")) {
    const target = a.getAttribute("href");
    a.classList.toggle("active", target === "#/" ? hash === "#/" : hash.startsWith(target));
  }
  const match = ROUTES.find(([re]) => re.test(hash));
  if (!match) {
    ui.refresh = null;
    view.append(el("p", {}, "No such page. ", el("a", { href: "#/" }, "Back to the overview")));
    return;
  }
  const arg = hash.match(match[0])[1];
  ui.refresh = match[1](view, arg === undefined ? undefined : decodeURIComponent(arg));
  run(seq);
}

async function whoami() {
  const roleEl = document.getElementById("role");
  try {
    const w = await call("whoami", {});
    ui.role = w.role;
    roleEl.textContent = w.role ? "role: " + w.role : w.reads_open ? "no token (read-only)" : "no token";
  } catch (err) {
    ui.role = null;
    roleEl.textContent = "";
    notice(explain(err), true);
  }
}

document.getElementById("token").value = ui.token;
document.getElementById("token-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  ui.token = document.getElementById("token").value.trim();
  if (ui.token) sessionStorage.setItem("mon.token", ui.token);
  else sessionStorage.removeItem("mon.token");
  notice("");
  await whoami();
  route();
});
window.addEventListener("hashchange", route);
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => run(ui.seq), 300);
});
setInterval(() => {
  if (!document.hidden) run(ui.seq);
}, POLL_MS);
whoami().then(route);
