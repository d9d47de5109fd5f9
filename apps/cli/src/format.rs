//! How the CLI writes values for people, in every subcommand: a number in its unit
//! (`86 %`, `1.5 MB`, `230 ms`, `4.2 MOS`, `$3.20`), other numbers to 2 decimals, times
//! to the second (RFC 3339, UTC) and ids shortened to their shortest unique prefix.
//!
//! Units come from the catalog of snapshot variables ([`mon_core::catalog`]); a name the
//! catalog does not list (a stored series such as `request_latency_ms`) gets the unit its
//! suffix names. JSON output is the server's answer, unchanged.

use chrono::{DateTime, SecondsFormat, Utc};
use mon_core::catalog::Unit;
use std::fmt::Display;

/// A value for a table cell, `-` when there is none.
pub(crate) fn or_dash<T: Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// A time to the second, UTC, RFC 3339: `2026-12-01T14:03:05Z` (what `--since` accepts).
pub(crate) fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A number without a unit: whole numbers without decimals, others to 2 (`17.13`).
pub(crate) fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// An optional number in `unit` (see [`value`]), `-` when there is none.
pub(crate) fn maybe(v: Option<f64>, unit: Option<Unit>) -> String {
    v.map_or_else(|| "-".to_string(), |v| value(v, unit))
}

/// `v` as a person reads it in `unit`; without a unit, [`number`].
pub(crate) fn value(v: f64, unit: Option<Unit>) -> String {
    let Some(unit) = unit else {
        return number(v);
    };
    if !v.is_finite() {
        return v.to_string();
    }
    match unit {
        Unit::Percent => percent(v),
        Unit::Ratio => percent(v * 100.0),
        Unit::Bytes => bytes(v),
        Unit::BytesPerSecond => format!("{}/s", bytes(v)),
        Unit::Milliseconds => duration_ms(v),
        Unit::Seconds => duration_ms(v * 1000.0),
        Unit::PerMinute => format!("{}/min", number(v)),
        Unit::Count => format!("{v:.0}"),
        Unit::Mos => format!("{v:.1}"),
        Unit::Usd => {
            let sign = if v < 0.0 { "-" } else { "" };
            format!("{sign}${:.2}", v.abs())
        }
        // Load averages and units added later: plain numbers.
        _ => number(v),
    }
}

/// `86 %`; one decimal below 10 (`2.5 %`) and just under 100 (`99.9 %`, not `100 %`),
/// where the decimal is news.
fn percent(v: f64) -> String {
    if v > 99.0 && v < 100.0 {
        // Cut, not rounded: 99.96 is not 100.
        return format!("{:.1} %", (v * 10.0).floor() / 10.0);
    }
    if v.abs() < 10.0 && v.fract().abs() >= 0.05 {
        format!("{v:.1} %")
    } else {
        format!("{v:.0} %")
    }
}

/// `512 B`, `1.5 KB`, `12.3 MB`, `2.0 GB` (powers of 1024).
pub(crate) fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if v.abs() < 1024.0 {
        return format!("{v:.0} B");
    }
    let mut scaled = v / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if scaled.abs() < 1024.0 {
            break;
        }
        scaled /= 1024.0;
        unit = next;
    }
    format!("{scaled:.1} {unit}")
}

/// A duration given in milliseconds: `0.4 ms`, `230 ms`, `1.2 s`, `4.5 min`, `2.0 h`.
pub(crate) fn duration_ms(ms: f64) -> String {
    let a = ms.abs();
    if a < 10.0 && ms.fract() != 0.0 {
        format!("{ms:.1} ms")
    } else if a < 1000.0 {
        format!("{ms:.0} ms")
    } else if a < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if a < 3_600_000.0 {
        format!("{:.1} min", ms / 60_000.0)
    } else {
        format!("{:.1} h", ms / 3_600_000.0)
    }
}

/// A latency in milliseconds, `-` when there is none.
pub(crate) fn latency(ms: Option<f64>) -> String {
    maybe(ms, Some(Unit::Milliseconds))
}

/// The unit of a variable or series `name`: the catalog's, else the one its suffix
/// names (`_ms`, `_seconds`, `_bytes`, `_percent`, `_usd`, `_mos`, `_ratio`).
pub(crate) fn unit_of(name: &str) -> Option<Unit> {
    if let Some(info) = mon_core::catalog::lookup(name) {
        return Some(info.unit);
    }
    const SUFFIXES: [(&str, Unit); 10] = [
        ("_bytes_per_second", Unit::BytesPerSecond),
        ("_bytes", Unit::Bytes),
        ("_ms", Unit::Milliseconds),
        ("_seconds", Unit::Seconds),
        ("_percent", Unit::Percent),
        ("_ratio", Unit::Ratio),
        ("_usd", Unit::Usd),
        ("_mos", Unit::Mos),
        ("_per_min", Unit::PerMinute),
        ("_per_minute", Unit::PerMinute),
    ];
    SUFFIXES
        .iter()
        .find(|(suffix, _)| name.ends_with(suffix))
        .map(|(_, unit)| *unit)
}

/// The unit of a rule's value: that of the variables its expression names, when they
/// all have the same one (`cpu_percent > 90` → percent); none for a mix or none known.
pub(crate) fn expr_unit(expr: &str) -> Option<Unit> {
    let mut units = expr
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
        .filter_map(|word| mon_core::catalog::lookup(word).map(|info| info.unit));
    let first = units.next()?;
    units.all(|u| u == first).then_some(first)
}

/// The shortest id prefix (at least 8 characters, like git) that tells each of `ids`
/// apart from the others; ids shorter than that stay whole.
pub(crate) fn id_prefix_len<S: AsRef<str>>(ids: &[S]) -> usize {
    let mut len = 8;
    loop {
        let mut seen = std::collections::BTreeSet::new();
        let unique = ids.iter().all(|id| seen.insert(prefix(id.as_ref(), len)));
        let longest = ids.iter().map(|id| id.as_ref().chars().count()).max();
        if unique || longest.is_none_or(|l| len >= l) {
            return len;
        }
        len += 1;
    }
}

/// The first `len` characters of `id`.
pub(crate) fn prefix(id: &str, len: usize) -> &str {
    id.char_indices().nth(len).map_or(id, |(i, _)| &id[..i])
}

/// The one of `ids` that `given` names: itself, or the only id it is a prefix of. An
/// ambiguous prefix is an error listing the candidates; no match is `Ok(given)`, for
/// the server to answer.
pub(crate) fn resolve_id<'a>(given: &'a str, ids: &'a [String]) -> Result<&'a str, String> {
    if ids.iter().any(|id| id == given) {
        return Ok(given);
    }
    let matches: Vec<&String> = ids.iter().filter(|id| id.starts_with(given)).collect();
    match matches.as_slice() {
        [] => Ok(given),
        [one] => Ok(one.as_str()),
        many => Err(format!(
            "id prefix {given:?} is ambiguous: it starts {} ids ({}); give more characters",
            many.len(),
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_shorten_to_their_shortest_unique_prefix() {
        let ids = ["3f9c2a1b7e4d-1764597785000", "3f9c2a1b9e4d-1764597785000"];
        assert_eq!(id_prefix_len(&ids), 9);
        assert_eq!(id_prefix_len(&["abcdefghijk", "zz"]), 8);
        assert_eq!(id_prefix_len(&["same", "same"]), 8);
        assert_eq!(prefix("abc", 8), "abc");
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        assert_eq!(resolve_id("3f9c2a1b9", &ids), Ok(ids[1].as_str()));
        assert_eq!(resolve_id("nope", &ids), Ok("nope"));
        let err = resolve_id("3f9c", &ids).expect_err("ambiguous");
        assert!(err.contains("ambiguous") && err.contains(&ids[0]), "{err}");
    }

    /// Every unit at the sizes people meet, against `tests/golden/format_units.txt`
    /// (`UPDATE_GOLDEN=1` rewrites it).
    #[test]
    fn values_read_as_people_write_them() {
        let cases: &[(f64, &str)] = &[
            (0.86, "call_success_rate"),
            (0.999, "call_success_rate"),
            (0.99999, "call_success_rate"),
            (0.025, "avg_packet_loss"),
            (86.4, "cpu_percent"),
            (3.46, "cpu_percent"),
            (100.0, "health_percentage"),
            (3.0, "active_calls"),
            (1234.0, "total_calls"),
            (512.0, "memory_used_bytes"),
            (1536.0, "memory_used_bytes"),
            (8_589_934_592.0, "memory_total_bytes"),
            (12_800_000.0, "network_rx_bytes_per_second"),
            (0.42, "p95_api_latency_ms"),
            (230.4, "p95_api_latency_ms"),
            (1234.0, "p95_api_latency_ms"),
            (270_000.0, "p95_api_latency_ms"),
            (7_200_000.0, "p95_api_latency_ms"),
            (95.5, "avg_call_duration_seconds"),
            (4.26, "avg_mos"),
            (3.2, "ai_cost_usd"),
            (12.5, "calls_per_minute"),
            (0.42, "load_average_1m"),
            (17.128463745117188, "queue_depth"),
            (17.0, "queue_depth"),
            (812.0, "request_latency_ms"),
        ];
        let mut text = String::new();
        for (v, name) in cases {
            let unit = unit_of(name).map_or("-", Unit::as_str);
            text.push_str(&format!(
                "{v} {name} ({unit}) => {}\n",
                value(*v, unit_of(name))
            ));
        }
        let t = DateTime::parse_from_rfc3339("2026-12-01T14:03:05.123456789Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("a time");
        text.push_str(&format!("2026-12-01T14:03:05.123456789Z => {}\n", time(&t)));
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/format_units.txt");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).expect("write golden");
        }
        let want = std::fs::read_to_string(&path).expect("golden file");
        assert_eq!(text, want);
    }

    #[test]
    fn units_come_from_the_catalog_then_the_suffix() {
        assert_eq!(unit_of("call_success_rate"), Some(Unit::Ratio));
        assert_eq!(unit_of("request_latency_ms"), Some(Unit::Milliseconds));
        assert_eq!(unit_of("queue_depth"), None);
        assert_eq!(expr_unit("cpu_percent > 90"), Some(Unit::Percent));
        assert_eq!(expr_unit("cpu_percent > 90 && avg_mos < 3"), None);
        assert_eq!(expr_unit("1 > 0"), None);
    }
}
