//! Alerts: [`Severity`], [`AlertState`] and the [`Alert`] record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// How bad an alert is. Ordered: `Info < Warning < Error < Critical`.
///
/// Config also accepts the other common scale: `low` → info, `medium` → warning,
/// `high` → error. It always serializes to the first scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record; nobody needs to act.
    Info,
    /// Needs attention soon.
    Warning,
    /// Something is broken for some users.
    Error,
    /// An outage: act now.
    Critical,
}

impl Severity {
    /// Every severity, mildest first.
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// Parses either scale, case-insensitively.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "info" | "low" => Severity::Info,
            "warning" | "medium" => Severity::Warning,
            "error" | "high" => Severity::Error,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Severity::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown severity {text:?}, expected one of info, warning, error, critical (or low, medium, high)"
            ))
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an alert is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds but not yet for the rule's `for` duration.
    Pending,
    /// The condition has held long enough; notifications go out.
    Firing,
    /// A person has taken it; reminders stop.
    Acknowledged,
    /// The condition no longer holds, or a person resolved it.
    Resolved,
}

impl AlertState {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    /// Whether the alert still needs someone (firing or acknowledged).
    pub fn is_active(self) -> bool {
        matches!(self, AlertState::Firing | AlertState::Acknowledged)
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert instance: a rule firing for one set of labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique id of this instance (a new one each time the condition starts again).
    pub id: String,
    /// Stable hash of rule + labels; deduplicates instances.
    pub fingerprint: String,
    /// The rule's name.
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// Where it is in its lifecycle.
    pub state: AlertState,
    /// Identifying labels (rule labels plus per-item labels such as `check`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Descriptive text: `summary`, `description`, `runbook_url`...
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The value that crossed the threshold, when there is one.
    pub value: Option<f64>,
    /// When the condition was first seen.
    pub started_at: DateTime<Utc>,
    /// When the alert last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Whether a silence currently mutes its notifications.
    #[serde(default)]
    pub silenced: bool,
}

impl Alert {
    /// A stable fingerprint of a rule name and labels (FNV-1a 64, hex).
    ///
    /// Stable across processes and versions: it is stored and used to
    /// deduplicate after a restart, so it must not use `std`'s randomised hasher.
    pub fn fingerprint_of(rule: &str, labels: &BTreeMap<String, String>) -> String {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut hash = OFFSET;
        let mut feed = |bytes: &[u8]| {
            for b in bytes {
                hash ^= u64::from(*b);
                hash = hash.wrapping_mul(PRIME);
            }
            // A separator that cannot appear in UTF-8 text keeps ("ab","c") and ("a","bc") apart.
            hash ^= 0xff;
            hash = hash.wrapping_mul(PRIME);
        };
        feed(rule.as_bytes());
        for (k, v) in labels {
            feed(k.as_bytes());
            feed(v.as_bytes());
        }
        format!("{hash:016x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_accepts_both_scales() {
        for (text, want) in [
            ("info", Severity::Info),
            ("low", Severity::Info),
            ("warning", Severity::Warning),
            ("medium", Severity::Warning),
            ("error", Severity::Error),
            ("high", Severity::Error),
            ("critical", Severity::Critical),
            ("CRITICAL", Severity::Critical),
        ] {
            let got: Severity = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(serde_json::to_value(got).unwrap(), want.as_str());
        }
        let err = serde_json::from_value::<Severity>(serde_json::json!("urgent")).unwrap_err();
        assert!(
            err.to_string().contains("unknown severity \"urgent\""),
            "{err}"
        );
        assert!(Severity::Info < Severity::Warning && Severity::Error < Severity::Critical);
    }

    #[test]
    fn fingerprint_is_stable_and_separates_fields() {
        let labels = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let a = Alert::fingerprint_of("r", &labels(&[("ab", "c")]));
        let b = Alert::fingerprint_of("r", &labels(&[("a", "bc")]));
        assert_ne!(a, b);
        assert_eq!(a, Alert::fingerprint_of("r", &labels(&[("ab", "c")])));
        // Pinned (FNV-1a 64 computed independently): stored fingerprints must survive upgrades.
        assert_eq!(
            Alert::fingerprint_of("cpu", &BTreeMap::new()),
            "21352e90944b57c2"
        );
    }

    #[test]
    fn alert_round_trips_through_json() {
        let now = Utc::now();
        let alert = Alert {
            id: "a1".into(),
            fingerprint: "f".into(),
            rule: "High CPU".into(),
            severity: Severity::Error,
            state: AlertState::Firing,
            labels: [("service".to_string(), "api".to_string())].into(),
            annotations: BTreeMap::new(),
            value: Some(93.5),
            started_at: now,
            updated_at: now,
            resolved_at: None,
            acknowledged_by: None,
            silenced: false,
        };
        let json = serde_json::to_string(&alert).unwrap();
        assert!(json.contains("\"state\":\"firing\""));
        assert_eq!(serde_json::from_str::<Alert>(&json).unwrap(), alert);
    }
}
