//! Where notifications go ([`Route`]) and which alerts mute others ([`Inhibition`]).

use crate::silence::{Matcher, all_match};
use mon_core::{Alert, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A route: alerts matching `matchers` and `severities` go to `channels`.
/// Routes are tried in order; the first match wins unless it says `continue: true`.
/// An alert no route matches goes to every channel.
///
/// ```yaml
/// routes:
///   - matchers: [{ name: service, value: livekit }]
///     severities: [critical]
///     channels: [pagerduty]
///   - channels: [slack]      # everything else
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Label matchers (`alertname` and `severity` work too); empty: all alerts.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
    /// Only these severities; empty: all.
    #[serde(default)]
    pub severities: Vec<Severity>,
    /// Channel names.
    pub channels: Vec<String>,
    /// Keep trying later routes after this one matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
}

impl Route {
    /// Whether `alert` takes this route.
    pub fn matches(&self, alert: &Alert) -> bool {
        (self.severities.is_empty() || self.severities.contains(&alert.severity))
            && all_match(&self.matchers, alert)
    }
}

/// An inhibition: while an alert matching `source` is firing, alerts matching
/// `target` with the same values of the `equal` labels are not notified.
///
/// The built-in examples: a critical alert of a service mutes its warnings
/// (`source: [{name: severity, value: critical}]`, `target: [{name: severity,
/// value: warning}]`, `equal: [service]`); a check's `depends_on` parent that is
/// unhealthy mutes its children (`depends_on` below).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inhibition {
    /// What the muting alert matches.
    #[serde(default)]
    pub source: Vec<Matcher>,
    /// What the muted alerts match.
    #[serde(default)]
    pub target: Vec<Matcher>,
    /// Labels that must be equal on both.
    #[serde(default)]
    pub equal: Vec<String>,
    /// Dependencies between checks, child → parents: an open alert labelled
    /// `check: <parent>` mutes alerts labelled `check: <child>`. mon-server adds
    /// one such rule from the checks' own `depends_on`.
    #[serde(default)]
    pub depends_on: BTreeMap<String, Vec<String>>,
}

impl Inhibition {
    /// The rule for dependencies between checks: `(check, its depends_on)` pairs.
    pub fn dependencies(checks: impl IntoIterator<Item = (String, Vec<String>)>) -> Inhibition {
        Inhibition {
            source: Vec::new(),
            target: Vec::new(),
            equal: Vec::new(),
            depends_on: checks.into_iter().filter(|(_, p)| !p.is_empty()).collect(),
        }
    }

    /// Whether one of the `open` alerts mutes `alert`.
    pub fn mutes(&self, alert: &Alert, open: &[&Alert]) -> bool {
        if let Some(parents) = alert
            .labels
            .get("check")
            .and_then(|child| self.depends_on.get(child))
            && open.iter().any(|a| {
                a.labels.get("check").is_some_and(|c| parents.contains(c))
                    && a.fingerprint != alert.fingerprint
            })
        {
            return true;
        }
        if self.source.is_empty() && self.target.is_empty() {
            return false;
        }
        all_match(&self.target, alert)
            && open.iter().any(|source| {
                source.fingerprint != alert.fingerprint
                    && all_match(&self.source, source)
                    && self
                        .equal
                        .iter()
                        .all(|label| source.labels.get(label) == alert.labels.get(label))
            })
    }

    /// A short description for the alert's history.
    pub fn describe(&self) -> String {
        if self.depends_on.is_empty() {
            let names: Vec<String> = self
                .source
                .iter()
                .map(|m| format!("{}={}", m.name, m.value))
                .collect();
            format!("by an alert with {}", names.join(","))
        } else {
            "a dependency is failing".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn alert(rule: &str, severity: Severity, labels: &[(&str, &str)]) -> Alert {
        labels
            .iter()
            .fold(mon_tests::alert(rule).id(rule), |a, (k, v)| a.label(k, v))
            .severity(severity)
            .build()
    }

    #[test]
    fn routes_match_labels_and_severities() {
        let route: Route = serde_yaml_ng::from_str(
            "matchers: [{ name: service, value: api }]\nseverities: [critical]\nchannels: [pd]\n",
        )
        .unwrap();
        for (a, want) in [
            (alert("r", Severity::Critical, &[("service", "api")]), true),
            (alert("r", Severity::Error, &[("service", "api")]), false),
            (alert("r", Severity::Critical, &[("service", "db")]), false),
        ] {
            assert_eq!(route.matches(&a), want, "{a:?}");
        }
    }

    #[test]
    fn critical_mutes_warnings_of_the_same_service_and_parents_mute_children() {
        let by_severity = Inhibition {
            source: vec![Matcher::eq("severity", "critical")],
            target: vec![Matcher::eq("severity", "warning")],
            equal: vec!["service".into()],
            depends_on: BTreeMap::new(),
        };
        let critical = alert("down", Severity::Critical, &[("service", "api")]);
        let warning = alert("slow", Severity::Warning, &[("service", "api")]);
        let other = alert("slow", Severity::Warning, &[("service", "db")]);
        assert!(by_severity.mutes(&warning, &[&critical, &warning]));
        assert!(!by_severity.mutes(&other, &[&critical, &other]));
        assert!(!by_severity.mutes(&critical, &[&critical, &warning]));
        assert!(!by_severity.mutes(&warning, &[&warning]));

        let deps = Inhibition::dependencies([
            ("api".to_string(), vec!["database".to_string()]),
            ("database".to_string(), vec![]),
        ]);
        let parent = alert(
            "Component Unhealthy",
            Severity::Error,
            &[("check", "database")],
        );
        let child = alert("Component Unhealthy", Severity::Error, &[("check", "api")]);
        assert!(deps.mutes(&child, &[&parent, &child]));
        assert!(!deps.mutes(&parent, &[&parent, &child]));
        assert!(!deps.mutes(&child, &[&child]));
    }
}
