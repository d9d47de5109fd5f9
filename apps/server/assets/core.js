// mon web UI: the shared state, the API table and the small helpers every view uses.
// Every API path the page calls is in API below (the server's tests call each of them).

export const API = {
  whoami: ["GET", "/api/v1/auth/whoami"],
  checks: ["GET", "/api/v1/checks"],
  check: ["GET", "/api/v1/checks/{name}"],
  results: ["GET", "/api/v1/checks/{name}/results"],
  history: ["GET", "/api/v1/check-history"],
  alerts: ["GET", "/api/v1/alerts"],
  alert: ["GET", "/api/v1/alerts/{id}"],
  rules: ["GET", "/api/v1/rules"],
  ack: ["POST", "/api/v1/alerts/{id}/ack"],
  resolve: ["POST", "/api/v1/alerts/{id}/resolve"],
  silence: ["POST", "/api/v1/silences"],
  series: ["GET", "/api/v1/metrics/query"],
  anomaly: ["GET", "/api/v1/anomaly/{variable}"],
  dashboards: ["GET", "/api/v1/dashboards"],
  dashboard: ["GET", "/api/v1/dashboards/{id}"],
  errors: ["GET", "/api/v1/errors"],
  errorGroup: ["GET", "/api/v1/errors/{fingerprint}"],
  logs: ["GET", "/api/v1/logs"],
  deployments: ["GET", "/api/v1/deployments"],
  incidents: ["GET", "/api/v1/incidents"],
  openIncident: ["POST", "/api/v1/incidents"],
  incidentUpdate: ["POST", "/api/v1/incidents/{id}/updates"],
  experiments: ["GET", "/api/v1/experiments"],
  experiment: ["GET", "/api/v1/experiments/{name}"],
  compare: ["GET", "/api/v1/compare"],
  report: ["GET", "/api/v1/reports"],
  reportLatest: ["GET", "/api/v1/reports/latest"],
};

export const RANGES = ["1h", "24h", "7d"];
export const ui = {
  token: sessionStorage.getItem("mon.token") || "",
  role: null,
  range: RANGES.includes(sessionStorage.getItem("mon.range")) ? sessionStorage.getItem("mon.range") : "1h",
  refresh: null, // the current view's refresh function
  charts: [], // uPlot instances of the current view
  seq: 0, // bumps on every navigation: stale answers are dropped
  inflight: null, // the seq of the refresh under way
  route: null, // re-renders the current page (set by app.js)
  zoom: null, // the x range dragged on a chart, {min, max} in seconds; null: the whole range
};

export function el(tag, attrs, ...children) {
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

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function call(key, params, body) {
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

const NOTICE_MS = 6000;
let noticeTimer = null;

// A message above the page: an error stays until cleared (the next successful update or a
// navigation clears it), anything else goes after a few seconds.
export function notice(text, isError) {
  const n = document.getElementById("notice");
  clearTimeout(noticeTimer);
  n.hidden = !text;
  n.className = "notice" + (isError ? " error" : "");
  n.textContent = text || "";
  if (text && !isError) noticeTimer = setTimeout(() => notice(""), NOTICE_MS);
}

export function explain(err) {
  if (err.status === 401) {
    return ui.token
      ? "The server does not know this token (" + err.message + "). Enter a read token above."
      : "This server needs a token to show data: enter a read token above.";
  }
  if (err.status === 403) return "Not allowed with this token: " + err.message;
  return "Request failed: " + err.message;
}

export function secs(t) {
  return Date.parse(t) / 1000;
}

export function rangePicker() {
  return el("span", { class: "bar" }, "Range:",
    RANGES.map((r) => el("button", {
      type: "button", "aria-pressed": r === ui.range ? "true" : "false",
      class: r === ui.range ? "active" : "",
      onclick: () => { ui.range = r; sessionStorage.setItem("mon.range", r); ui.route(); },
    }, r)));
}
