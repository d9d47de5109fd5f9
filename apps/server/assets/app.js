// mon web UI: hand-written ES modules, no build step. Hash routes, polling every 5 s, uPlot
// charts. This module routes, polls and signs in; each page is a module under views/.
import { call, el, explain, notice, ui } from "./core.js";
import { destroyCharts } from "./chart.js";
import { fmtTime } from "./format.js";
import { alertDetail, alertsView } from "./views/alerts.js";
import { checkDetail } from "./views/checks.js";
import { dashboard, dashboards } from "./views/dashboards.js";
import { errorDetail, errorsView } from "./views/errors.js";
import { experimentDetail, experimentsView } from "./views/experiments.js";
import { incidentsView } from "./views/incidents.js";
import { logsView } from "./views/logs.js";
import { overview } from "./views/overview.js";
import { reportsView } from "./views/reports.js";

const POLL_MS = 5000;

const ROUTES = [
  [/^#?\/?$/, overview],
  [/^#\/dashboards$/, dashboards],
  [/^#\/dashboards\/(.+)$/, dashboard],
  [/^#\/checks\/(.+)$/, checkDetail],
  [/^#\/alerts$/, alertsView],
  [/^#\/alerts\/(.+)$/, alertDetail],
  [/^#\/errors$/, errorsView],
  [/^#\/errors\/(.+)$/, errorDetail],
  [/^#\/logs$/, logsView],
  [/^#\/incidents$/, incidentsView],
  [/^#\/experiments$/, experimentsView],
  [/^#\/experiments\/(.+)$/, experimentDetail],
  [/^#\/reports$/, reportsView],
  [/^#\/logs\/call\/(.+)$/, logsView],
];

async function run(seq) {
  // One refresh at a time per page: a slow answer is not overtaken by the next poll.
  if (!ui.refresh || ui.inflight === seq) return;
  ui.inflight = seq;
  try {
    await ui.refresh();
    if (seq !== ui.seq) return;
    document.getElementById("updated").textContent = "updated " + fmtTime(Date.now());
    // The page on screen has its data (the browser test waits for it).
    document.getElementById("view").dataset.ready = location.hash || "#/";
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
  delete view.dataset.ready;
  // A notice and a zoom belong to the page they were made on.
  notice("");
  ui.zoom = null;
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
ui.route = route;
whoami().then(route);
