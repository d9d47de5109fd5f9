//! Rules as written in the configuration ([`RuleConfig`]) and the built-in
//! [`default_rules`]: data in `default_rules.yaml`, parsed like users' rules.

use mon_core::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Severity of a rule that does not say.
pub const DEFAULT_SEVERITY: Severity = Severity::Warning;

/// One alert rule as written in the configuration.
///
/// ```yaml
/// - name: High API Latency
///   expr: avg_api_latency_ms > 5000
///   for: 1m
///   severity: warning
///   labels: { service: api }
///   description: "Average API latency is {{ value }} ms (limit {{ threshold }} ms)"
/// - name: Component Unhealthy
///   each: checks
///   expr: check.status == "unhealthy"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique name; also the alert's name in notifications.
    pub name: String,
    /// The condition, in CEL: e.g. `connection_success_rate < 0.8`,
    /// `error_rate_percent > 10 && request_rate_per_min > 1`,
    /// `checks.api.status == "unhealthy"`. Variables come from the metrics catalog,
    /// `checks`, `check` (with `each: checks`) and `alerting.custom_variables`.
    pub expr: String,
    /// `checks`: one alert instance per check, the check bound as `check`
    /// (`name`, `status`, `latency_ms`, `critical`) and its name as the label `check`.
    /// `offenders`: one instance per security offender, bound as `offender` (`kind`
    /// `ip` or `principal`, `name`, `failed_logins`, `denied`, `rate_limited`,
    /// `distinct_ips`, `new_ips`), labelled `ip` or `principal` with its name.
    #[serde(default)]
    pub each: Option<Each>,
    /// How long the condition must hold before the alert fires (`0s`: at once).
    #[serde(rename = "for", default, with = "mon_core::duration")]
    pub for_duration: Duration,
    /// How long a firing alert keeps firing after the condition stops holding
    /// (smooths flapping).
    #[serde(default, with = "mon_core::duration")]
    pub keep_firing_for: Duration,
    /// How bad it is: info, warning, error, critical (low, medium, high accepted).
    #[serde(default = "default_severity")]
    pub severity: Severity,
    /// Labels put on the alert; they identify it and route it.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Descriptive text put on the alert (`summary`...); may use `{{ value }}`,
    /// `{{ threshold }}` and `{{ labels.NAME }}`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Shorthand for the `description` annotation (templated the same way).
    #[serde(default)]
    pub description: Option<String>,
    /// Shorthand for the `runbook_url` annotation: where on-call finds what to do.
    #[serde(default)]
    pub runbook_url: Option<String>,
    /// What a rule without data does: `no_data` (a visible state, nothing fires) or
    /// `alerting` (missing data is itself the problem: the condition counts as holding).
    #[serde(default)]
    pub on_no_data: NoDataPolicy,
    /// While firing and not acknowledged, notify again this often (`0s`: never).
    #[serde(default, with = "mon_core::duration")]
    pub repeat_interval: Duration,
    /// After an alert of this rule was notified as firing, a new firing of the same
    /// alert within this time is recorded but not notified (`0s`: no cooldown).
    #[serde(default, with = "mon_core::duration")]
    pub cooldown: Duration,
    /// At most this many firing notifications per rule in any hour (`0`: no limit).
    #[serde(default)]
    pub max_per_hour: u32,
    /// Set to `false` to keep a rule in the file without evaluating it.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

/// What a rule is evaluated once per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Each {
    /// Every check in the snapshot.
    Checks,
    /// Every security offender in the snapshot (the top client addresses and principals
    /// by failed logins, refusals and addresses per principal): one alert per address
    /// (label `ip`) or principal (label `principal`).
    Offenders,
}

/// What a rule whose variables have no value does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDataPolicy {
    /// Show the rule as `no_data`; pending alerts clear, firing ones resolve.
    #[default]
    NoData,
    /// Treat missing data as the condition holding.
    Alerting,
}

fn default_severity() -> Severity {
    DEFAULT_SEVERITY
}

fn default_enabled() -> bool {
    true
}

impl RuleConfig {
    /// A rule with every optional field at its default.
    pub fn new(name: impl Into<String>, expr: impl Into<String>) -> RuleConfig {
        RuleConfig {
            name: name.into(),
            expr: expr.into(),
            each: None,
            for_duration: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
            severity: default_severity(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            description: None,
            runbook_url: None,
            on_no_data: NoDataPolicy::NoData,
            repeat_interval: Duration::ZERO,
            cooldown: Duration::ZERO,
            max_per_hour: 0,
            enabled: default_enabled(),
        }
    }
}

/// The built-in rules as written: the same YAML as `alerting.rules`, part of the build.
const DEFAULT_RULES_YAML: &str = include_str!("default_rules.yaml");

/// The built-in rules, on unless `default_rules: false`: `default_rules.yaml`,
/// parsed with the [`RuleConfig`] that users' rules go through.
pub fn default_rules() -> Vec<RuleConfig> {
    // Fixed text of the build; `default_rules_are_valid` parses and builds every rule.
    serde_yaml_ng::from_str(DEFAULT_RULES_YAML).expect("default_rules.yaml is a list of rules")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Rule;

    #[test]
    fn rule_config_reads_yaml_with_defaults() {
        let config: RuleConfig = serde_yaml_ng::from_str(
            "name: High API Latency\nexpr: avg_api_latency_ms > 5000\nfor: 1m\nlabels: { service: api }\n",
        )
        .unwrap();
        assert_eq!(config.for_duration, Duration::from_secs(60));
        assert_eq!(config.severity, Severity::Warning);
        assert!(config.enabled);
        assert_eq!(config.labels["service"], "api");
        assert_eq!(config.on_no_data, NoDataPolicy::NoData);

        let config: RuleConfig = serde_yaml_ng::from_str(
            "name: r\nexpr: check.status == 'unhealthy'\neach: checks\nseverity: high\n\
             enabled: false\non_no_data: alerting\nkeep_firing_for: 2m\nrepeat_interval: 1h\n\
             cooldown: 10m\nmax_per_hour: 4\n",
        )
        .unwrap();
        assert_eq!(
            (
                config.severity,
                config.enabled,
                config.each,
                config.on_no_data
            ),
            (
                Severity::Error,
                false,
                Some(Each::Checks),
                NoDataPolicy::Alerting
            )
        );
        assert_eq!(
            (
                config.keep_firing_for,
                config.repeat_interval,
                config.cooldown,
                config.max_per_hour
            ),
            (
                Duration::from_secs(120),
                Duration::from_secs(3600),
                Duration::from_secs(600),
                4
            )
        );
    }

    #[test]
    fn rule_config_errors() {
        for (yaml, want) in [
            (
                "name: r\nexpr: x > 1\nthreshold: 5\n",
                "unknown field `threshold`",
            ),
            ("name: r\n", "missing field `expr`"),
            (
                "name: r\nexpr: x > 1\nfor: 5\n",
                "expected a number with a unit",
            ),
            (
                "name: r\nexpr: x > 1\nseverity: urgent\n",
                "unknown severity \"urgent\"",
            ),
            (
                "name: r\nexpr: x > 1\neach: rooms\n",
                "unknown variant `rooms`",
            ),
        ] {
            let err = serde_yaml_ng::from_str::<RuleConfig>(yaml)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }

    #[test]
    fn default_rules_are_valid() {
        // The YAML parses, and each expression builds against the variable catalog
        // (names known, types fitting, a true/false condition).
        let configs = default_rules();
        let rules: Vec<Rule> = configs
            .iter()
            .map(|c| Rule::from_config(c, &[]).unwrap_or_else(|e| panic!("{}: {e}", c.name)))
            .collect();
        for config in &configs {
            assert!(
                config.annotations.contains_key("summary") && config.description.is_some(),
                "{} says what is wrong and why it matters",
                config.name
            );
        }
        // Cooldowns as the seeds give their default rules (5 to 15 minutes).
        let cooldown = |name: &str| {
            configs
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.cooldown.as_secs() / 60)
        };
        assert_eq!(cooldown("System Unhealthy"), Some(5));
        assert_eq!(cooldown("System Degraded"), Some(10));
        assert_eq!(cooldown("Component Unhealthy"), Some(5));
        assert_eq!(cooldown("Component Slow"), Some(15));
        assert_eq!(cooldown("Slow Responses"), Some(15));
        for config in &configs {
            let minutes = config.cooldown.as_secs() / 60;
            assert!((5..=15).contains(&minutes), "{}: {minutes}m", config.name);
        }
        let per_check: Vec<&str> = configs
            .iter()
            .filter(|c| c.each == Some(Each::Checks))
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(per_check, ["Component Unhealthy", "Component Slow"]);
        let per_offender: Vec<&str> = configs
            .iter()
            .filter(|c| c.each == Some(Each::Offenders))
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            per_offender,
            ["Brute Force Suspected", "Principal From Many IPs"]
        );
        let summary: Vec<(&str, u64, Severity)> = rules
            .iter()
            .map(|r| (r.name(), r.for_duration().as_secs(), r.severity()))
            .collect();
        assert_eq!(
            summary,
            [
                ("System Unhealthy", 60, Severity::Critical),
                ("System Degraded", 300, Severity::Error),
                ("Component Unhealthy", 120, Severity::Error),
                ("Component Slow", 300, Severity::Warning),
                ("High CPU", 300, Severity::Error),
                ("Critical Memory", 180, Severity::Critical),
                ("High Error Rate", 300, Severity::Error),
                ("Slow Responses", 600, Severity::Warning),
                ("Low Disk Space", 300, Severity::Error),
                ("No Requests", 900, Severity::Critical),
                ("Brute Force Suspected", 0, Severity::Error),
                ("Denied IP Burst", 0, Severity::Warning),
                ("Principal From Many IPs", 0, Severity::Warning),
                ("Request Rate Anomaly", 300, Severity::Warning),
            ]
        );
        let annotations = rules[4].render_annotations(Some(91.25), &BTreeMap::new());
        assert_eq!(annotations["summary"], "CPU usage is 91.25%");
        assert!(
            annotations["description"].contains("above 80%"),
            "{annotations:?}"
        );
    }
}
