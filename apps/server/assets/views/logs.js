// Log search.
import { call, el, explain, notice } from "../core.js";
import { fmtTime } from "../format.js";

export function logsView(view) {
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
