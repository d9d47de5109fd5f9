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
///
/// Built with [`Alert::new`] (then the `with_*` methods, or by setting the public
/// fields); new fields may be added, so it cannot be built as a struct literal
/// outside this crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Who raised it from outside the rules (`api:<token name>` for `POST /api/v1/alerts`,
    /// `alertmanager:<token name>` for `POST /api/v2/alerts`); `None` for a rule's alert,
    /// whose [`rule`](Alert::rule) then names the rule (else it is the alert's title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Alert {
    /// A new pending alert of `rule` for `labels`, started (and last changed) at
    /// `started_at`: its fingerprint is [`Alert::fingerprint_of`] the rule and labels,
    /// its id the fingerprint and the start in milliseconds (a new id each time the
    /// condition starts again). No annotations, no value, not silenced.
    pub fn new(
        rule: impl Into<String>,
        severity: Severity,
        labels: BTreeMap<String, String>,
        started_at: DateTime<Utc>,
    ) -> Alert {
        let rule = rule.into();
        let fingerprint = Alert::fingerprint_of(&rule, &labels);
        Alert {
            id: format!("{fingerprint}-{}", started_at.timestamp_millis()),
            fingerprint,
            rule,
            severity,
            state: AlertState::Pending,
            labels,
            annotations: BTreeMap::new(),
            value: None,
            started_at,
            updated_at: started_at,
            resolved_at: None,
            acknowledged_by: None,
            silenced: false,
            source: None,
        }
    }

    /// The alert raised from outside the rules by `source` (see [`Alert::source`]).
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> Alert {
        self.source = Some(source.into());
        self
    }

    /// The alert in `state`.
    #[must_use]
    pub fn with_state(mut self, state: AlertState) -> Alert {
        self.state = state;
        self
    }

    /// The alert with `value` as the value that crossed the threshold.
    #[must_use]
    pub fn with_value(mut self, value: Option<f64>) -> Alert {
        self.value = value;
        self
    }

    /// The alert with the annotation `key` (`summary`, `description`...) set to `text`.
    #[must_use]
    pub fn with_annotation(mut self, key: impl Into<String>, text: impl Into<String>) -> Alert {
        self.annotations.insert(key.into(), text.into());
        self
    }

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
        let alert = Alert::new(
            "High CPU",
            Severity::Error,
            [("service".to_string(), "api".to_string())].into(),
            now,
        )
        .with_state(AlertState::Firing)
        .with_value(Some(93.5))
        .with_annotation("summary", "CPU is high");
        let json = serde_json::to_string(&alert).unwrap();
        assert!(json.contains("\"state\":\"firing\""));
        assert_eq!(serde_json::from_str::<Alert>(&json).unwrap(), alert);
    }

    #[test]
    fn a_new_alert_is_pending_with_an_id_from_fingerprint_and_start() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let labels: BTreeMap<String, String> = [("check".to_string(), "db".to_string())].into();
        let alert = Alert::new(
            "Component Unhealthy",
            Severity::Error,
            labels.clone(),
            start,
        );
        let fingerprint = Alert::fingerprint_of("Component Unhealthy", &labels);
        assert_eq!(alert.fingerprint, fingerprint);
        assert_eq!(alert.id, format!("{fingerprint}-1700000000000"));
        assert_eq!(alert.state, AlertState::Pending);
        assert_eq!((alert.started_at, alert.updated_at), (start, start));
        assert!(alert.annotations.is_empty() && alert.value.is_none() && !alert.silenced);
        assert!(alert.resolved_at.is_none() && alert.acknowledged_by.is_none());
    }
}
