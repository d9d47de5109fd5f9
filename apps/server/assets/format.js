// mon web UI: how numbers, units and times read. One module for every view, with the rules of
// the CLI (apps/cli/src/format.rs): a number in its unit ("86 %", "1.5 MB", "230 ms", "4.2",
// "$3.20"), other numbers to 2 decimals at most, times in local time to the second.
//
// Units are the catalog's names, as the API answers carry them (`unit` of a dashboard panel):
// percent, ratio, bytes, bytes_per_second, milliseconds, seconds, per_minute, count, load, usd,
// mos, rating. A series without a unit gets the one its name's suffix names (unitOf).

const DASH = "–";

function missing(v) {
  return v === null || v === undefined || typeof v !== "number" || !Number.isFinite(v);
}

// A number without a unit: whole numbers without decimals, others to 2 ("17.13").
export function number(v) {
  if (missing(v)) return DASH;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

// "86 %"; one decimal below 10 ("2.5 %") and just under 100, where it is never rounded up:
// 99.96 reads "99.9 %", not "100 %".
export function percent(v) {
  if (missing(v)) return DASH;
  if (v > 99 && v < 100) return (Math.floor(v * 10) / 10).toFixed(1) + " %";
  if (Math.abs(v) < 10 && Math.abs(v % 1) >= 0.05) return v.toFixed(1) + " %";
  return v.toFixed(0) + " %";
}

// "512 B", "1.5 KB", "12.3 MB", "2.0 GB" (powers of 1024).
export function bytes(v) {
  if (missing(v)) return DASH;
  const units = ["KB", "MB", "GB", "TB", "PB"];
  if (Math.abs(v) < 1024) return v.toFixed(0) + " B";
  let scaled = v / 1024;
  let i = 0;
  while (Math.abs(scaled) >= 1024 && i < units.length - 1) { scaled /= 1024; i++; }
  return scaled.toFixed(1) + " " + units[i];
}

// A duration given in milliseconds: "0.4 ms", "230 ms", "1.2 s", "4.5 min", "2.0 h".
export function duration(ms) {
  if (missing(ms)) return DASH;
  const a = Math.abs(ms);
  if (a < 10 && ms % 1 !== 0) return ms.toFixed(1) + " ms";
  if (a < 1000) return ms.toFixed(0) + " ms";
  if (a < 60000) return (ms / 1000).toFixed(1) + " s";
  if (a < 3600000) return (ms / 60000).toFixed(1) + " min";
  return (ms / 3600000).toFixed(1) + " h";
}

// `v` as a person reads it in `unit` (a catalog unit name; "ms" is accepted for milliseconds).
export function fmtNum(v, unit) {
  if (missing(v)) return DASH;
  switch (unit) {
    case "percent": return percent(v);
    case "ratio": return percent(v * 100);
    case "bytes": return bytes(v);
    case "bytes_per_second": return bytes(v) + "/s";
    case "milliseconds": case "ms": return duration(v);
    case "seconds": return duration(v * 1000);
    case "per_minute": return number(v) + "/min";
    case "count": return v.toFixed(0);
    case "mos": case "rating": return v.toFixed(1);
    case "usd": return (v < 0 ? "-$" : "$") + Math.abs(v).toFixed(2);
    default: return number(v);
  }
}

// The unit a series name's suffix names (`_ms`, `_seconds`, `_bytes`, `_percent`...), as the CLI
// does for names outside the catalog; "" when it names none.
export function unitOf(name) {
  const suffixes = [
    ["_bytes_per_second", "bytes_per_second"], ["_bytes", "bytes"], ["_ms", "milliseconds"],
    ["_seconds", "seconds"], ["_percent", "percent"], ["_ratio", "ratio"],
    ["_usd", "usd"], ["_mos", "mos"], ["_per_min", "per_minute"], ["_per_minute", "per_minute"],
  ];
  const hit = suffixes.find(([s]) => String(name || "").endsWith(s));
  return hit ? hit[1] : "";
}

// Labels for an axis's ticks: each in its unit, and when two neighbours would read the same
// (ticks closer than the unit's usual precision), every tick at one scale with the decimals
// the step needs.
export function axisLabels(vals, unit) {
  const plain = vals.map((v) => fmtNum(v, unit));
  if (new Set(plain).size === plain.length || vals.length < 2) return plain;
  const top = Math.max(...vals.map((v) => Math.abs(v)));
  let [scale, suffix] = [1, ""];
  const ms = unit === "seconds" ? 1000 : 1;
  if (unit === "percent") suffix = " %";
  else if (unit === "ratio") [scale, suffix] = [0.01, " %"];
  else if (unit === "bytes" || unit === "bytes_per_second") {
    const names = ["B", "KB", "MB", "GB", "TB", "PB"];
    let i = 0;
    while (top / 1024 ** i >= 1024 && i < names.length - 1) i++;
    [scale, suffix] = [1024 ** i, " " + names[i] + (unit === "bytes_per_second" ? "/s" : "")];
  } else if (unit === "milliseconds" || unit === "ms" || unit === "seconds") {
    const t = top * ms;
    const [f, n] = t < 1000 ? [1, " ms"] : t < 60000 ? [1000, " s"] : t < 3600000 ? [60000, " min"] : [3600000, " h"];
    [scale, suffix] = [f / ms, n];
  } else if (unit === "per_minute") suffix = "/min";
  else if (unit === "usd") suffix = " $";
  const step = Math.min(...vals.slice(1).map((v, i) => Math.abs(v - vals[i])).filter((d) => d > 0)) / scale;
  const digits = Math.min(6, Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)));
  return vals.map((v) => (v / scale).toFixed(digits) + suffix);
}

function asDate(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

// A time in local time to the second: the time alone today, with the date otherwise
// ("14:03:05", "Nov 30, 14:03:05"); never nanoseconds.
export function fmtTime(t) {
  if (!t) return DASH;
  const d = asDate(t);
  if (!d) return String(t);
  const now = new Date();
  const clock = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], clock);
  const date = { month: "short", day: "numeric" };
  if (d.getFullYear() !== now.getFullYear()) date.year = "numeric";
  return d.toLocaleString([], { ...date, ...clock });
}

// How long ago `t` was: "12 s ago", "3 min ago", "5 h ago", "2 d ago" ("in 3 min" ahead).
export function fmtAgo(t, now) {
  const d = asDate(t);
  if (!d) return DASH;
  const s = Math.round(((now === undefined ? Date.now() : now) - d.getTime()) / 1000);
  const a = Math.abs(s);
  const text = a < 60 ? a + " s" : a < 3600 ? Math.floor(a / 60) + " min"
    : a < 86400 ? Math.floor(a / 3600) + " h" : Math.floor(a / 86400) + " d";
  return s < -1 ? "in " + text : text + " ago";
}

// An uptime share (0–100) to 2 decimals, never rounded up: "99.95 %", "100 %".
export function pct(v) {
  if (missing(v)) return DASH;
  if (v >= 100) return "100 %";
  return (Math.floor(v * 100) / 100).toFixed(2) + " %";
}

// Check kinds whose run time is not a response time (they read the host, not a service).
const NO_LATENCY_KINDS = ["system", "heartbeat"];

// Whether runs of a check kind have a response time.
export function hasResponseTime(kind) {
  return !NO_LATENCY_KINDS.includes(kind);
}

// A check run's latency where it means something: a service that answered. Host checks and
// failed runs (a refused connection fails in no time) show "–".
export function checkLatency(kind, status, ms) {
  if (missing(ms) || !hasResponseTime(kind)) return DASH;
  if (status !== "healthy" && status !== "degraded") return DASH;
  return duration(ms);
}
