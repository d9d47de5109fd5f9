//! Human-readable durations (`500ms`, `30s`, `5m`, `1h`, `7d`) for config files and APIs.
//!
//! Use as `#[serde(with = "mon_core::duration")]` on a `Duration` field, or
//! `mon_core::duration::option` on an `Option<Duration>`. Numbers without a unit
//! are rejected: a bare `30` is ambiguous between seconds and milliseconds.
//!
//! Every duration a user gives (config file, API parameter, CLI flag) goes through
//! [`parse`], which refuses anything longer than [`MAX`] (100 years), and every point
//! in time through [`parse_time`]; [`ago`] and [`after`] do the date arithmetic
//! without overflow. So a duration that parses can always be added to or taken
//! from a present-day time.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serializer, de};
use std::time::Duration;

/// The longest duration accepted anywhere: 100 years (`100y`, 36,525 days).
pub const MAX: Duration = Duration::from_secs(100 * 31_557_600);

/// Parses `500ms`, `30s`, `5m`, `1h`, `1h30m`, `7d`, at most [`MAX`].
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "invalid duration {text:?}: expected a number with a unit, such as 500ms, 30s, 5m or 1h"
        ));
    }
    let d = humantime::parse_duration(trimmed).map_err(|e| {
        format!("invalid duration {text:?}: {e}; expected a number with a unit, such as 500ms, 30s, 5m or 1h")
    })?;
    if d > MAX {
        return Err(format!(
            "duration {text:?} is too long: at most 100 years (100y)"
        ));
    }
    Ok(d)
}

/// Parses a point in time: an RFC 3339 time (`2026-01-01T00:00:00Z`) or a duration
/// before `now` (`30m`, `24h`, at most [`MAX`]).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = parse(text).map_err(|e| {
        if e.contains("too long") {
            e
        } else {
            format!(
                "{text:?} is neither an RFC 3339 time (2026-01-01T00:00:00Z) nor a duration ago (30m, 24h)"
            )
        }
    })?;
    ago(now, d)
}

/// `t` when it lies in the years RFC 3339 can write (0000 to 9999), the range of
/// every time mon accepts or computes from user input.
pub fn check_time(t: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    use chrono::Datelike;
    if (0..=9999).contains(&t.year()) {
        Ok(t)
    } else {
        Err(format!(
            "{t} is out of range: times lie between the years 0000 and 9999"
        ))
    }
}

/// `t - d`, or an error when that leaves the range of [`check_time`].
pub fn ago(t: DateTime<Utc>, d: Duration) -> Result<DateTime<Utc>, String> {
    shift(t, d, "before", DateTime::checked_sub_signed)
}

/// `t + d`, or an error when that leaves the range of [`check_time`].
pub fn after(t: DateTime<Utc>, d: Duration) -> Result<DateTime<Utc>, String> {
    shift(t, d, "after", DateTime::checked_add_signed)
}

/// `t` moved by `d` with `op`, checked against the range of [`check_time`].
fn shift(
    t: DateTime<Utc>,
    d: Duration,
    direction: &str,
    op: fn(DateTime<Utc>, TimeDelta) -> Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>, String> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|delta| op(t, delta))
        .ok_or_else(|| format!("{} {direction} {t} is out of range", format(d)))
        .and_then(check_time)
}

/// Formats a duration the way [`parse`] reads it (`30s`, `5m`, `1h 30m`).
pub fn format(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Serializes a `Duration` as its human-readable text.
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

/// Deserializes a `Duration` from human-readable text.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(de::Error::custom)
}

/// The same for `Option<Duration>`.
pub mod option {
    use super::*;

    /// Serializes `Some(d)` as text and `None` as null.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    /// Deserializes text or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => parse(&text).map(Some).map_err(de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<Duration, &str>) {
        match (parse(input), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{input}: {got}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn parses_units() {
        check("500ms", Ok(Duration::from_millis(500)));
        check("30s", Ok(Duration::from_secs(30)));
        check("5m", Ok(Duration::from_secs(300)));
        check("1h", Ok(Duration::from_secs(3600)));
        check("1h30m", Ok(Duration::from_secs(5400)));
        check("7d", Ok(Duration::from_secs(7 * 86400)));
        check("30", Err("expected a number with a unit"));
        check("", Err("expected a number with a unit"));
        check("5x", Err("invalid duration \"5x\""));
        check("fast", Err("invalid duration \"fast\""));
        check("100y", Ok(MAX));
        check("36525d", Ok(MAX));
        check("36526d", Err("too long"));
        check("101y", Err("too long"));
        check("300000y", Err("too long"));
        check("100000000000d", Err("too long"));
        check("99999999999999999999999s", Err("invalid duration"));
    }

    #[test]
    fn times_stay_in_range() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = |text: &str| parse_time(text, now);
        assert_eq!(t("1h").unwrap(), now - TimeDelta::hours(1));
        assert_eq!(t("2025-12-31T00:00:00Z").unwrap(), now - TimeDelta::days(1));
        assert!(t("100000000000d").unwrap_err().contains("too long"));
        assert!(t("yesterday").unwrap_err().contains("neither an RFC 3339"));
        assert!(t("36500d").is_ok());
        assert!(ago(DateTime::<Utc>::MIN_UTC, Duration::from_secs(1)).is_err());
        assert!(after(DateTime::<Utc>::MAX_UTC, Duration::from_secs(1)).is_err());
        assert!(after(now, MAX).is_ok());
        let end = t("9999-12-31T00:00:00Z").unwrap();
        assert!(after(end, Duration::from_secs(86_400)).is_err());
        assert!(ago(t("0000-01-01T00:00:00Z").unwrap(), Duration::from_secs(1)).is_err());
    }

    #[test]
    fn format_round_trips() {
        for d in [
            Duration::from_millis(250),
            Duration::from_secs(90),
            Duration::from_secs(86400),
        ] {
            assert_eq!(parse(&format(d)).unwrap(), d);
        }
    }
}
