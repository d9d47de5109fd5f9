// Errors grouped by kind and normalised message.
import { call, el, rangePicker, ui } from "../core.js";
import { fmtTime } from "../format.js";

export function errorsView(view) {
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
