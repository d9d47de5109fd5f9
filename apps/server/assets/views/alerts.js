// The alerts page, the alert detail page, the silence dialog, and the alert table other
// pages show. Actions send no name: the server records the token's name as who acted.
import { call, el, explain, notice, secs, ui } from "../core.js";
import { chart, destroyCharts } from "../chart.js";
import { fmtNum, fmtTime } from "../format.js";

// The shortest prefix (at least 8 characters) that tells each id of `ids` apart, as the
// CLI prints them.
function shortIds(ids) {
  const short = new Map();
  for (const id of ids) {
    let n = Math.min(8, id.length);
    while (n < id.length && ids.some((o) => o !== id && o.startsWith(id.slice(0, n)))) n++;
    short.set(id, id.slice(0, n));
  }
  return short;
}

const labelText = (labels) => Object.entries(labels || {}).map(([k, v]) => k + "=" + v).join(", ");

export function alertTable(alerts, withActions) {
  if (!alerts.length) return el("p", { class: "muted" }, "No alerts.");
  const admin = withActions && ui.role === "admin";
  const short = shortIds(alerts.map((a) => a.id));
  return el("div", { class: "scroll" }, el("table", { class: "alerts" },
    el("thead", {}, el("tr", {}, ["Severity", "Alert", "State", "Value", "Since", "Labels"].map((h) => el("th", {}, h)),
      admin ? el("th", {}, "Actions") : null)),
    el("tbody", {}, alerts.map((a) => el("tr", {},
      el("td", { class: "t-" + a.severity }, a.severity),
      el("td", {}, el("a", { href: "#/alerts/" + encodeURIComponent(a.id), title: a.id }, a.rule),
        el("div", { class: "muted" }, short.get(a.id)),
        a.annotations && a.annotations.summary ? el("div", { class: "muted" }, a.annotations.summary) : null),
      el("td", {}, a.state, a.silenced ? " (silenced)" : "", a.acknowledged_by ? " by " + a.acknowledged_by : ""),
      el("td", {}, fmtNum(a.value)),
      el("td", {}, fmtTime(a.started_at)),
      el("td", { class: "labels" }, labelText(a.labels)),
      admin ? el("td", { class: "actions" }, alertActions(a)) : null)))));
}

// The buttons for what an admin may do to `a` now.
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
    a.state === "firing" ? act("Acknowledge", () => call("ack", { id: a.id })) : null,
    active ? act("Resolve", () => call("resolve", { id: a.id })) : null,
    a.state === "resolved" ? null
      : el("button", { type: "button", class: "silence-open", onclick: () => silenceDialog(a) }, "Silence…"),
  ];
}

// The matchers that silence exactly `a`: its name and every label, each an equality.
export function matchersOf(a) {
  return [{ name: "alertname", value: a.rule }]
    .concat(Object.entries(a.labels || {}).map(([name, value]) => ({ name, value })));
}

// A confirmation dialog showing the matchers (each removable), the duration and a comment;
// confirming posts the silence.
function silenceDialog(a) {
  let matchers = matchersOf(a);
  const list = el("ul", { class: "matchers" });
  const draw = () => list.replaceChildren(...matchers.map((m, i) => el("li", {},
    el("code", {}, m.name + "=" + m.value), " ",
    el("button", {
      type: "button", class: "link", "aria-label": "remove " + m.name,
      onclick: () => { matchers = matchers.filter((_, j) => j !== i); draw(); },
    }, "remove"))));
  draw();
  const duration = el("select", { name: "duration", "aria-label": "duration" },
    ["1h", "2h", "4h", "12h", "24h", "7d"].map((d) => el("option", { value: d }, d)));
  const comment = el("input", { name: "comment", type: "text", placeholder: "why (optional)", "aria-label": "comment" });
  const dialog = el("dialog", { class: "silence-dialog" });
  const close = () => { dialog.close(); dialog.remove(); };
  const form = el("form", {
    method: "dialog",
    onsubmit: async (e) => {
      e.preventDefault();
      if (!matchers.length) { notice("A silence needs at least one matcher.", true); return; }
      try {
        await call("silence", {}, {
          matchers: matchers.map((m) => ({ name: m.name, value: m.value })),
          duration: duration.value,
          comment: comment.value.trim() || "silenced from the web UI",
        });
        notice("Silenced for " + duration.value + ": " + matchers.map((m) => m.name + "=" + m.value).join(", "));
        close();
        if (ui.refresh) ui.refresh();
      } catch (err) {
        notice(explain(err), true);
      }
    },
  },
  el("h2", {}, "Silence " + a.rule),
  el("p", { class: "muted" }, "Notifications stop for alerts matching every one of:"),
  list,
  el("label", {}, "For ", duration),
  el("label", {}, "Comment ", comment),
  el("div", { class: "bar" },
    el("button", { type: "submit", class: "primary" }, "Silence"),
    el("button", { type: "button", onclick: close }, "Cancel")));
  dialog.append(form);
  dialog.addEventListener("cancel", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
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

const iso = (s) => new Date(s * 1000).toISOString();

// The page of one alert: what it is, its timeline, who acted, its notifications and a
// chart of the rule's variable from 30 min before it started to 5 min after it ended.
export function alertDetail(view, id) {
  const head = el("div");
  const facts = el("div", { class: "card span-6" });
  const labels = el("div", { class: "card span-6" });
  const timeline = el("div", { class: "card span-6" });
  const sent = el("div", { class: "card span-6" });
  const plot = el("div", { class: "chart", id: "alert-chart" });
  view.append(el("p", {}, el("a", { href: "#/alerts" }, "← Alerts")), head,
    el("div", { class: "grid alert-detail" }, facts, labels, timeline, sent,
      el("div", { class: "card span-12" }, el("h2", { id: "chart-title" }, "Around the alert"), plot)));
  return async () => {
    const a = await call("alert", { id });
    const unit = a.unit || undefined;
    head.replaceChildren(el("h1", {}, el("span", { class: "t-" + a.severity }, a.severity), " ", a.rule),
      el("div", { class: "bar" },
        el("span", { class: "pill state-" + a.state, id: "alert-state" }, a.state + (a.silenced ? " · silenced" : "")),
        el("code", { title: a.id }, a.id.slice(0, 12)),
        ui.role === "admin" ? alertActions(a) : null));
    const runbook = a.annotations.runbook_url || a.annotations.runbook;
    facts.replaceChildren(el("h2", {}, "Condition"), el("dl", { class: "facts" },
      a.expr ? [el("dt", {}, "Expression"), el("dd", {}, el("code", { id: "alert-expr" }, a.expr))]
        : [el("dt", {}, "Source"), el("dd", { id: "alert-source" }, a.source === "rule" ? "rule (no longer configured)" : a.source)],
      el("dt", {}, "Value"), el("dd", { id: "alert-value" }, fmtNum(a.value, unit)),
      el("dt", {}, "Started"), el("dd", {}, fmtTime(a.started_at)),
      el("dt", {}, "Resolved"), el("dd", {}, a.resolved_at ? fmtTime(a.resolved_at) : "not yet"),
      el("dt", {}, "Acknowledged by"), el("dd", { id: "alert-acked-by" }, a.acknowledged_by || "nobody"),
      runbook ? [el("dt", {}, "Runbook"), el("dd", {}, el("a", { href: runbook, rel: "noopener noreferrer", target: "_blank" }, runbook))] : null));
    const pairs = (o, idName) => Object.keys(o || {}).length
      ? el("dl", { class: "facts", id: idName }, Object.entries(o).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]))
      : el("p", { class: "muted" }, "None.");
    const notes = Object.fromEntries(Object.entries(a.annotations).filter(([k]) => k !== "runbook_url" && k !== "runbook"));
    labels.replaceChildren(el("h2", {}, "Labels"), pairs(a.labels, "alert-labels"), el("h2", {}, "Annotations"), pairs(notes, "alert-annotations"));
    timeline.replaceChildren(el("h2", {}, "Timeline"), a.history.length
      ? el("ol", { class: "timeline", id: "alert-timeline" }, a.history.map((e) => el("li", { class: "ev-" + e.kind },
        el("span", { class: "when" }, fmtTime(e.at)), " ", el("strong", {}, e.kind), e.detail ? el("span", { class: "muted" }, " · " + e.detail) : null)))
      : el("p", { class: "muted" }, "No transitions recorded."));
    sent.replaceChildren(el("h2", {}, "Notifications"), a.notifications.length
      ? el("div", { class: "scroll" }, el("table", { id: "alert-notifications" },
        el("thead", {}, el("tr", {}, ["Channel", "Why", "Result", "Tries", "When"].map((h) => el("th", {}, h)))),
        el("tbody", {}, a.notifications.map((n) => el("tr", {},
          el("td", {}, n.channel), el("td", {}, n.transition),
          el("td", { class: n.state === "delivered" ? "t-green" : n.state === "failed" ? "t-red" : "t-yellow" },
            n.state, n.last_error ? el("div", { class: "muted" }, n.last_error) : null),
          el("td", {}, n.attempts), el("td", {}, fmtTime(n.updated_at)))))))
      : el("p", { class: "muted" }, a.silenced ? "None: the alert is silenced." : "None sent."));
    destroyCharts();
    plot.replaceChildren();
    if (!a.variable) {
      plot.append(el("p", { class: "muted" }, a.expr ? "The rule reads no catalog variable to chart." : "Raised from outside the rules: nothing to chart."));
      return;
    }
    document.getElementById("chart-title").textContent = a.variable + " around the alert";
    const from = secs(a.started_at) - 30 * 60;
    const to = (a.resolved_at ? secs(a.resolved_at) : Date.now() / 1000) + 5 * 60;
    const data = await call("series", { name: a.variable, from: iso(from), to: iso(Math.min(to, Date.now() / 1000)) });
    const s = data.series[0];
    const pts = s ? s.points : [];
    chart(plot, pts.map((p) => secs(p.ts)), [{ label: a.variable, values: pts.map((p) => p.avg) }], unit, 200);
  };
}
