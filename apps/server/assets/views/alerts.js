// The alerts page, and the alert table other pages show.
import { call, el, explain, notice, ui } from "../core.js";
import { fmtNum, fmtTime } from "../format.js";

export function alertTable(alerts, withActions) {
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

export function alertsView(view) {
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
