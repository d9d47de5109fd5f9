//! Error tracking: [`ErrorTracker`] turns ERROR records into [`ErrorOccurrence`]s grouped
//! by [`fingerprint`] (kind + normalised message + location), applying the sampling rate
//! and the ignored kinds of [`ErrorTrackingConfig`].

use crate::context::new_id;
use crate::layer::{FieldValue, LogRecord};
use crate::{ErrorTrackingConfig, LoggingError};
use chrono::{DateTime, Utc};
use tracing::Level;

/// One occurrence of an error, ready to be grouped by its fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorOccurrence {
    /// 16 hex digits identifying the group.
    pub fingerprint: String,
    /// The error's kind: its `error_kind` field, else its `error_code`, else its logger.
    pub kind: String,
    /// The normalised message (numbers, ids and quoted text replaced).
    pub message: String,
    /// Where it happened: a `location` field (`file:line`) or `module:line`.
    pub location: String,
    /// When.
    pub timestamp: DateTime<Utc>,
    /// The context kept as a sample (message as logged, `at`, fields, context ids), when
    /// this occurrence was sampled.
    pub sample: Option<serde_json::Value>,
}

/// Groups and samples errors as configured.
#[derive(Debug, Clone)]
pub struct ErrorTracker {
    config: ErrorTrackingConfig,
}

impl ErrorTracker {
    /// A tracker with `config`.
    ///
    /// # Errors
    /// [`LoggingError::InvalidConfig`] for a sample rate outside 0–1.
    pub fn new(config: ErrorTrackingConfig) -> Result<Self, LoggingError> {
        if !(0.0..=1.0).contains(&config.sample_rate) {
            return Err(LoggingError::InvalidConfig {
                key: "errors.sample_rate".into(),
                reason: format!("{} is not between 0 and 1", config.sample_rate),
            });
        }
        Ok(ErrorTracker { config })
    }

    /// Sample contexts kept per fingerprint at most.
    pub fn max_samples(&self) -> usize {
        self.config.max_samples
    }

    /// The occurrence for an ERROR record; `None` below ERROR or for an ignored kind.
    pub fn from_record(&self, record: &LogRecord<'_>) -> Option<ErrorOccurrence> {
        if record.level != Level::ERROR {
            return None;
        }
        let text = |name| match record.field(name) {
            Some(FieldValue::Str(s)) => Some(s.clone()),
            _ => None,
        };
        let kind = text("error_kind")
            .or_else(|| record.error_code.clone())
            .unwrap_or_else(|| record.logger.to_string());
        let location = text("location").unwrap_or_else(|| {
            format!(
                "{}:{}",
                record.module.unwrap_or(record.logger),
                record.line.unwrap_or(0)
            )
        });
        let mut context = serde_json::Map::new();
        context.insert("message".into(), record.message.clone().into());
        context.insert("at".into(), record.timestamp.to_rfc3339().into());
        for (k, v) in record.context.pairs() {
            context.insert(k.into(), v.into());
        }
        if let Some(code) = &record.error_code {
            context.insert("error_code".into(), code.clone().into());
        }
        context.insert("fields".into(), record.fields_json().into());
        self.occurrence(
            &kind,
            &record.message,
            &location,
            record.timestamp,
            serde_json::Value::Object(context),
        )
    }

    /// The occurrence for an error reported by other means (an ingested `error` event).
    pub fn occurrence(
        &self,
        kind: &str,
        message: &str,
        location: &str,
        timestamp: DateTime<Utc>,
        context: serde_json::Value,
    ) -> Option<ErrorOccurrence> {
        if self.config.ignored_kinds.iter().any(|k| k == kind) {
            return None;
        }
        let normalised = normalize_message(message);
        Some(ErrorOccurrence {
            fingerprint: fingerprint(kind, &normalised, location),
            kind: kind.to_string(),
            message: normalised,
            location: location.to_string(),
            timestamp,
            sample: sampled(self.config.sample_rate).then_some(context),
        })
    }
}

/// Whether this occurrence is sampled at `rate` (0–1).
fn sampled(rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    let id = new_id();
    let n = u64::from_str_radix(&id, 16).unwrap_or(0);
    (n as f64 / u64::MAX as f64) < rate
}

/// The fingerprint of a group: 16 hex digits of a stable hash (FNV-1a) of kind,
/// normalised message and location. Stable across runs and versions of mon.
pub fn fingerprint(kind: &str, normalised_message: &str, location: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [kind, normalised_message, location] {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Replaces what varies between occurrences of the same error: quoted text becomes
/// `<str>`, words holding digits (numbers, ids, hex, addresses) become `<n>`.
pub fn normalize_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let mut closed = false;
            let mut inner = String::new();
            for d in chars.by_ref() {
                if d == c {
                    closed = true;
                    break;
                }
                inner.push(d);
            }
            if closed {
                out.push_str("<str>");
            } else {
                out.push(c);
                out.push_str(&normalize_message(&inner));
            }
        } else if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' || c == ':' {
            let mut word = String::from(c);
            while let Some(&d) = chars.peek() {
                if d.is_alphanumeric() || d == '_' || d == '-' || d == '.' || d == ':' {
                    word.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            let trailing = word.len() - word.trim_end_matches(['.', ':']).len();
            let (core, tail) = word.split_at(word.len() - trailing);
            if core.chars().any(|d| d.is_ascii_digit()) {
                out.push_str("<n>");
            } else {
                out.push_str(core);
            }
            out.push_str(tail);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_table() {
        for (input, want) in [
            ("timeout after 30s", "timeout after <n>"),
            ("room 'sip-call-42' not found", "room <str> not found"),
            ("user 12345 failed", "user <n> failed"),
            ("connect 10.0.0.1:5432 refused", "connect <n> refused"),
            (
                "id 550e8400-e29b-41d4-a716-446655440000 gone",
                "id <n> gone",
            ),
            ("plain message.", "plain message."),
            ("unclosed \"quote 12", "unclosed \"quote <n>"),
            ("LK1301: room creation failed", "<n>: room creation failed"),
        ] {
            assert_eq!(normalize_message(input), want, "{input}");
        }
    }

    #[test]
    fn grouping_table() {
        let tracker = ErrorTracker::new(ErrorTrackingConfig {
            ignored_kinds: vec!["NotFoundError".into()],
            ..ErrorTrackingConfig::default()
        })
        .unwrap();
        let fp = |kind: &str, message: &str, location: &str| {
            tracker
                .occurrence(kind, message, location, Utc::now(), serde_json::json!({}))
                .map(|o| o.fingerprint)
        };
        let base = fp(
            "TimeoutError",
            "timeout after 30s for call 'a'",
            "agent.rs:10",
        );
        // (kind, message, location, same group as base?)
        for (kind, message, location, same) in [
            (
                "TimeoutError",
                "timeout after 45s for call 'b'",
                "agent.rs:10",
                true,
            ),
            (
                "TimeoutError",
                "timeout after 45s for call 'b'",
                "agent.rs:11",
                false,
            ),
            (
                "IoError",
                "timeout after 30s for call 'a'",
                "agent.rs:10",
                false,
            ),
            (
                "TimeoutError",
                "refused after 30s for call 'a'",
                "agent.rs:10",
                false,
            ),
        ] {
            assert_eq!(
                fp(kind, message, location) == base,
                same,
                "{kind} {message} {location}"
            );
        }
        assert_eq!(fp("NotFoundError", "x", "y"), None);
        assert_eq!(fingerprint("a", "b", "c"), fingerprint("a", "b", "c"));
        assert_ne!(fingerprint("ab", "", "c"), fingerprint("a", "b", "c"));
        assert_eq!(fingerprint("a", "b", "c").len(), 16);
    }

    #[test]
    fn sampling_and_rate_validation() {
        let never = ErrorTracker::new(ErrorTrackingConfig {
            sample_rate: 0.0,
            ..ErrorTrackingConfig::default()
        })
        .unwrap();
        let o = never
            .occurrence("K", "m", "l", Utc::now(), serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(o.sample, None);
        let always = ErrorTracker::new(ErrorTrackingConfig::default()).unwrap();
        let o = always
            .occurrence("K", "m", "l", Utc::now(), serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(o.sample, Some(serde_json::json!({"a": 1})));
        let half = ErrorTracker::new(ErrorTrackingConfig {
            sample_rate: 0.5,
            ..ErrorTrackingConfig::default()
        })
        .unwrap();
        let kept = (0..2000)
            .filter(|_| {
                half.occurrence("K", "m", "l", Utc::now(), serde_json::json!({}))
                    .unwrap()
                    .sample
                    .is_some()
            })
            .count();
        assert!((700..1300).contains(&kept), "{kept} of 2000 sampled at 0.5");
        assert!(
            ErrorTracker::new(ErrorTrackingConfig {
                sample_rate: 1.5,
                ..ErrorTrackingConfig::default()
            })
            .is_err()
        );
    }
}
