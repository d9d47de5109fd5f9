// Errors grouped by kind and normalised message, each beside the real message of its latest
// sample; and the drill-down of one group: its samples (as stored, masked) and their calls.
import { call, el, rangePicker, ui } from "../core.js";
import { fmtTime } from "../format.js";

// What a stored sample says, whichever way it was recorded: an ingested error keeps
// `{message, at, context}`, one of mon's own keeps its context ids beside `message`.
function sampleOf(s) {
  const ctx = s.context && typeof s.context === "object" ? s.context : s;
  const rest = Object.fromEntries(Object.entries(ctx).filter(([k]) => !["message", "at", "context"].includes(k)));
  return {
    message: s.message || "",
    at: s.at || null,
    location: ctx.location || "",
    call: ctx.call_id || null,
    session: ctx.session_id || null,
    rest,
  };
}

const latest = (g) => (g.samples && g.samples.length ? sampleOf(g.samples[g.samples.length - 1]) : null);

export function errorsView(view) {
  const list = el("div", { class: "scroll" });
  view.append(el("h1", {}, "Errors"), rangePicker(), list);
  return async () => {
    const d = await call("errors", { since: ui.range, limit: 200 });
    list.replaceChildren(d.errors.length ? el("table", { class: "errors" },
      el("thead", {}, el("tr", {}, ["Kind", "Message", "Where", "Count", "Last seen"].map((h) => el("th", {}, h)))),
      el("tbody", {}, d.errors.map((e) => {
        const s = latest(e);
        return el("tr", {},
          el("td", {}, el("a", { href: "#/errors/" + encodeURIComponent(e.fingerprint) }, e.kind)),
          el("td", {}, el("pre", { class: "group" }, e.message),
            s && s.message && s.message !== e.message ? el("pre", { class: "sample muted", title: "latest sample" }, s.message) : null),
          el("td", {}, e.location || ""),
          el("td", {}, e.count), el("td", {}, fmtTime(e.last_seen)));
      })))
      : el("p", { class: "muted" }, "No errors in this range."));
  };
}

export function errorDetail(view, fingerprint) {
  const head = el("div");
  const samples = el("div", { class: "samples", id: "error-samples" });
  view.append(el("p", {}, el("a", { href: "#/errors" }, "← Errors")), head, el("h2", {}, "Samples, newest first"), samples);
  return async () => {
    const g = await call("errorGroup", { fingerprint });
    head.replaceChildren(el("h1", {}, g.kind),
      el("pre", { class: "group", id: "error-group" }, g.message),
      el("p", { class: "muted" }, g.count + " occurrences · first " + fmtTime(g.first_seen) + " · last " + fmtTime(g.last_seen)
        + (g.location ? " · at " + g.location : "")));
    const kept = g.samples.map(sampleOf).reverse();
    samples.replaceChildren(...(kept.length ? kept.map((s) => el("div", { class: "card sample" },
      el("div", { class: "bar" }, el("strong", {}, s.at ? fmtTime(s.at) : "time not recorded"),
        s.location ? el("code", {}, s.location) : null,
        s.call ? el("a", { href: "#/logs/call/" + encodeURIComponent(s.call), class: "call" }, "call " + s.call) : null,
        s.session ? el("span", { class: "muted" }, "session " + s.session) : null),
      el("pre", { class: "message" }, s.message),
      Object.keys(s.rest).length ? el("pre", { class: "context muted" }, JSON.stringify(s.rest, null, 2)) : null))
      : [el("p", { class: "muted" }, "No samples kept for this group (errors.sample_rate decides how many are).")]));
  };
}
