//! [`AlertBuilder`]: a [`mon_core::Alert`] with sensible defaults (firing, warning,
//! started and updated now, id and fingerprint derived from the rule), changed field by
//! field, for channel, routing, silence and store tests. The one place in the tests
//! that builds an `Alert` step by step.

use chrono::{DateTime, Utc};
use mon_core::{Alert, AlertState, Severity};
use std::collections::BTreeMap;

/// Starts an alert of `rule`; see [`AlertBuilder`].
pub fn alert(rule: &str) -> AlertBuilder {
    AlertBuilder::new(rule)
}

/// Builds a [`mon_core::Alert`]; every setter replaces one field.
#[derive(Debug, Clone)]
pub struct AlertBuilder {
    alert: Alert,
    id: Option<String>,
    fingerprint: Option<String>,
}

impl AlertBuilder {
    /// A firing `warning` alert of `rule`, no labels, no value, started now. Unless
    /// set, its fingerprint is [`Alert::fingerprint_of`] its rule and labels and its
    /// id `<fingerprint>-1`.
    pub fn new(rule: &str) -> AlertBuilder {
        let now = Utc::now();
        AlertBuilder {
            alert: Alert::new(rule, Severity::Warning, BTreeMap::new(), now)
                .with_state(AlertState::Firing),
            id: None,
            fingerprint: None,
        }
    }

    /// The id.
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.to_string());
        self
    }

    /// The severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.alert.severity = severity;
        self
    }

    /// The state.
    pub fn state(mut self, state: AlertState) -> Self {
        self.alert.state = state;
        self
    }

    /// The fingerprint, instead of the one derived from rule and labels.
    pub fn fingerprint(mut self, fingerprint: &str) -> Self {
        self.fingerprint = Some(fingerprint.to_string());
        self
    }

    /// One more label.
    pub fn label(mut self, name: &str, value: &str) -> Self {
        self.alert
            .labels
            .insert(name.to_string(), value.to_string());
        self
    }

    /// One more annotation.
    pub fn annotation(mut self, name: &str, value: &str) -> Self {
        self.alert
            .annotations
            .insert(name.to_string(), value.to_string());
        self
    }

    /// The value that crossed the threshold (`93.5`, or an `Option`).
    pub fn value(mut self, value: impl Into<Option<f64>>) -> Self {
        self.alert.value = value.into();
        self
    }

    /// When it started (and, unless set after, last changed).
    pub fn started_at(mut self, at: DateTime<Utc>) -> Self {
        self.alert.started_at = at;
        self.alert.updated_at = at;
        self
    }

    /// When it last changed.
    pub fn updated_at(mut self, at: DateTime<Utc>) -> Self {
        self.alert.updated_at = at;
        self
    }

    /// When it was resolved.
    pub fn resolved_at(mut self, at: Option<DateTime<Utc>>) -> Self {
        self.alert.resolved_at = at;
        self
    }

    /// Who acknowledged it.
    pub fn acknowledged_by(mut self, who: Option<&str>) -> Self {
        self.alert.acknowledged_by = who.map(str::to_string);
        self
    }

    /// Whether a silence mutes it.
    pub fn silenced(mut self, silenced: bool) -> Self {
        self.alert.silenced = silenced;
        self
    }

    /// The alert.
    pub fn build(self) -> Alert {
        let mut alert = self.alert;
        alert.fingerprint = self
            .fingerprint
            .unwrap_or_else(|| Alert::fingerprint_of(&alert.rule, &alert.labels));
        alert.id = self
            .id
            .unwrap_or_else(|| format!("{}-1", alert.fingerprint));
        alert
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_setters() {
        let plain = alert("High CPU").build();
        assert_eq!(plain.state, AlertState::Firing);
        assert_eq!(plain.severity, Severity::Warning);
        assert_eq!(
            plain.fingerprint,
            Alert::fingerprint_of("High CPU", &BTreeMap::new())
        );
        assert_eq!(plain.id, format!("{}-1", plain.fingerprint));

        let at = Utc::now() - chrono::TimeDelta::minutes(5);
        let built = alert("High CPU")
            .id("a1")
            .severity(Severity::Critical)
            .label("service", "api")
            .annotation("summary", "hot")
            .value(93.5)
            .started_at(at)
            .state(AlertState::Resolved)
            .resolved_at(Some(at))
            .acknowledged_by(Some("ops"))
            .build();
        assert_eq!(built.id, "a1");
        assert_ne!(built.fingerprint, plain.fingerprint, "labels change it");
        assert_eq!(built.labels["service"], "api");
        assert_eq!(built.annotations["summary"], "hot");
        assert_eq!(built.value, Some(93.5));
        assert_eq!((built.started_at, built.resolved_at), (at, Some(at)));
        assert_eq!(built.acknowledged_by.as_deref(), Some("ops"));
        assert_eq!(alert("r").fingerprint("fp-1").build().fingerprint, "fp-1");
    }
}
