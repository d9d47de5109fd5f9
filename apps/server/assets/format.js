// mon web UI: how numbers, units and times read. One module for every view.

export function fmtNum(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const abs = Math.abs(v);
  let text = abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : v.toFixed(2);
  if (unit === "bytes") {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toFixed(i ? 1 : 0) + " " + units[i];
  }
  if (unit === "percent") return text + " %";
  if (unit === "milliseconds" || unit === "ms") return text + " ms";
  if (unit === "per_minute") return text + " /min";
  if (unit) return text + " " + unit;
  return text;
}

export function fmtTime(t) {
  if (!t) return "–";
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
}

export function pct(v) {
  return v === null || v === undefined ? "–" : v.toFixed(2) + " %";
}
