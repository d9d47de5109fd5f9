//! Human-readable durations (`500ms`, `30s`, `5m`, `1h`, `7d`) for config files and APIs.
//!
//! Use as `#[serde(with = "mon_core::duration")]` on a `Duration` field, or
//! `mon_core::duration::option` on an `Option<Duration>`. Numbers without a unit
//! are rejected: a bare `30` is ambiguous between seconds and milliseconds.

use serde::{Deserialize, Deserializer, Serializer, de};
use std::time::Duration;

/// Parses `500ms`, `30s`, `5m`, `1h`, `1h30m`, `7d`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "invalid duration {text:?}: expected a number with a unit, such as 500ms, 30s, 5m or 1h"
        ));
    }
    humantime::parse_duration(trimmed).map_err(|e| {
        format!("invalid duration {text:?}: {e}; expected a number with a unit, such as 500ms, 30s, 5m or 1h")
    })
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
