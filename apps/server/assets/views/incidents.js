// Incidents: open one (by hand or from an open alert), post updates, see them as the
// public status page (/status) shows them.
import { call, el, explain, notice, ui } from "../core.js";
import { fmtTime } from "../format.js";

const STATUSES = ["investigating", "identified", "monitoring", "resolved"];
const SEVERITIES = ["info", "warning", "error", "critical"];

function statusSelect(label, value) {
  return el("select", { "aria-label": label, name: "status" },
    STATUSES.map((s) => el("option", { value: s, selected: s === value }, s)));
}

// Runs `action`, tells the user how it went, and refreshes the page.
async function act(action, done) {
  try {
    await action();
    notice(done);
    await ui.route();
  } catch (err) {
    notice(explain(err), true);
  }
}

function updateForm(incident) {
  const status = statusSelect("new status of " + incident.title, incident.status);
  const message = el("input", { type: "text", name: "message", placeholder: "What changed?", required: true,
    "aria-label": "update message for " + incident.title });
  return el("form", { class: "bar incident-update", onsubmit: (e) => {
    e.preventDefault();
    act(() => call("incidentUpdate", { id: incident.id }, { status: status.value, message: message.value }),
      "Update posted to “" + incident.title + "”.");
  } }, status, message, el("button", { type: "submit" }, "Post update"));
}

function incidentCard(incident, admin) {
  return el("article", { class: "card incident-card" + (incident.resolved_at ? "" : " open"), "data-id": incident.id },
    el("div", { class: "bar" },
      el("h2", {}, incident.title),
      el("span", { class: "pill t-" + incident.severity }, incident.severity),
      el("span", { class: "pill" }, incident.status),
      incident.alert_id ? el("a", { href: "#/alerts/" + encodeURIComponent(incident.alert_id) }, "alert") : null),
    el("ol", { class: "updates" }, [...incident.updates].reverse().map((u) => el("li", {},
      el("b", {}, u.status), " ", u.message,
      el("div", { class: "muted" }, fmtTime(u.at) + " · " + u.author)))),
    admin ? updateForm(incident) : null);
}

export function incidentsView(view) {
  const admin = ui.role === "admin";
  const list = el("div", { class: "incidents" });
  const alertPick = el("select", { "aria-label": "from alert", name: "alert_id" }, el("option", { value: "" }, "written by hand"));
  const title = el("input", { type: "text", name: "title", placeholder: "Title (from the alert when empty)", "aria-label": "title" });
  const severity = el("select", { "aria-label": "severity", name: "severity" },
    el("option", { value: "" }, "severity (the alert's, or warning)"), SEVERITIES.map((s) => el("option", { value: s }, s)));
  const status = statusSelect("status", "investigating");
  const message = el("input", { type: "text", name: "message", placeholder: "What users should know", "aria-label": "message", required: true });
  const form = el("form", { class: "card incident-form", onsubmit: (e) => {
    e.preventDefault();
    const body = { message: message.value, status: status.value };
    if (title.value.trim()) body.title = title.value;
    if (severity.value) body.severity = severity.value;
    if (alertPick.value) body.alert_id = alertPick.value;
    act(() => call("openIncident", {}, body), "Incident opened: it shows on the public status page.");
  } },
  el("h2", {}, "Open an incident"),
  el("div", { class: "bar" }, alertPick, title),
  el("div", { class: "bar" }, severity, status, message, el("button", { type: "submit" }, "Open incident")));
  view.append(el("h1", {}, "Incidents"),
    el("p", { class: "muted" }, "Open incidents and those resolved in the last 7 days show on the ",
      el("a", { href: "/status" }, "public status page"), " (title, status and updates)."),
    admin ? form : el("p", { class: "muted" }, "An admin token opens incidents and posts updates."),
    list);
  let shown = "";
  let alertsShown = "";
  return async () => {
    const [d, a] = await Promise.all([call("incidents", { limit: 100 }), admin ? call("alerts", {}) : null]);
    const text = JSON.stringify(d.incidents);
    // Re-render only on change: a form being typed in is not wiped by the poll.
    if (text !== shown) {
      shown = text;
      list.replaceChildren(...(d.incidents.length ? d.incidents.map((i) => incidentCard(i, admin))
        : [el("p", { class: "muted" }, "No incidents. Open one when users are affected; the status page shows it.")]));
    }
    if (a && JSON.stringify(a.alerts.map((x) => x.id)) !== alertsShown) {
      alertsShown = JSON.stringify(a.alerts.map((x) => x.id));
      const keep = alertPick.value;
      alertPick.replaceChildren(el("option", { value: "" }, "written by hand"),
        a.alerts.map((x) => el("option", { value: x.id, selected: x.id === keep },
          "from alert: " + x.rule + " (" + x.severity + ")")));
    }
  };
}
