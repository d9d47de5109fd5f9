// Log search, coloured by level; `#/logs/call/{id}` shows the records of one call. On a
// phone each record stacks time, level and message (no sideways scrolling).
import { call, el, explain, notice } from "../core.js";
import { fmtTime } from "../format.js";

export function logsView(view, callId) {
  const q = el("input", { type: "search", placeholder: "words, prefix*", "aria-label": "search" });
  const level = el("select", { "aria-label": "level" },
    ["", "debug", "info", "warn", "error"].map((v) => el("option", { value: v }, v || "any level")));
  const list = el("div");
  const refresh = async () => {
    const d = await call("logs", { q: q.value.trim(), level: level.value, call_id: callId, limit: 200 });
    list.replaceChildren(d.logs.length ? el("table", { class: "logs" },
      el("thead", {}, el("tr", {}, ["Time", "Level", "Source", "Message"].map((h) => el("th", {}, h)))),
      el("tbody", {}, d.logs.map((l) => el("tr", { class: "lvl-" + l.level },
        el("td", { class: "time" }, fmtTime(l.timestamp)), el("td", { class: "level" }, l.level),
        el("td", { class: "source" }, l.source || l.logger || ""), el("td", { class: "message" }, el("pre", {}, l.message))))))
      : el("p", { class: "muted" }, "No matching log lines."));
  };
  const form = el("form", { class: "bar", onsubmit: (e) => { e.preventDefault(); refresh().catch((err) => notice(explain(err), true)); } },
    q, level, el("button", { type: "submit" }, "Search"));
  view.append(el("h1", {}, callId ? "Logs of call " + callId : "Logs"),
    callId ? el("p", {}, el("a", { href: "#/logs" }, "All logs")) : null, form, list);
  return refresh;
}
