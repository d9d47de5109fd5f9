//! [`AlertingConfig`]: the `alerting` section of mon's configuration, and how it
//! becomes an [`AlertEngine`].

use crate::channels::{ChannelConfig, Links, channel_kinds};
use crate::delivery::RetryPolicy;
use crate::engine::EngineOptions;
use crate::expr::closest;
use crate::routing::{Inhibition, Route};
use crate::rule::{Rule, RuleConfig, default_rules};
use crate::silence::MaintenanceWindow;
use crate::{AlertEngine, AlertingError};
use mon_core::Kinds;
use mon_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// The `alerting` section.
///
/// ```yaml
/// alerting:
///   evaluation_interval: 15s
///   default_rules: true
///   rules:
///     - name: High API Latency
///       expr: avg_api_latency_ms > 5000
///       for: 1m
///   channels:
///     - { name: log, type: log }
///   routes:
///     - { severities: [critical], channels: [log] }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertingConfig {
    /// How often rules are evaluated (they are also evaluated right after new data arrives).
    #[serde(with = "mon_core::duration")]
    pub evaluation_interval: Duration,
    /// Whether the built-in rules (system/component health, host resources, error
    /// rate, response time, no requests) are added. A rule in `rules` with the same
    /// name replaces the built-in one.
    pub default_rules: bool,
    /// Your rules.
    pub rules: Vec<RuleConfig>,
    /// Names of variables applications push themselves (custom gauges and
    /// counters, e.g. `room_creation_failures`), so rules may use them.
    pub custom_variables: Vec<String>,
    /// Where notifications go. Absent: one `log` channel named `log`; `[]`: nowhere.
    pub channels: Vec<ChannelConfig>,
    /// Which alerts go to which channels, in order; an alert no route matches
    /// goes to every channel.
    pub routes: Vec<Route>,
    /// Alerts that mute others while open.
    pub inhibit_rules: Vec<Inhibition>,
    /// Recurring windows in which matching alerts are not notified.
    pub maintenance_windows: Vec<MaintenanceWindow>,
    /// How failed deliveries are retried.
    pub retry: RetryPolicy,
    /// How long resolved alerts (with their history), finished notifications and
    /// ended silences are kept in the store (`0s`: forever).
    #[serde(with = "mon_core::duration")]
    pub history_retention: Duration,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            evaluation_interval: Duration::from_secs(15),
            default_rules: true,
            rules: Vec::new(),
            custom_variables: Vec::new(),
            channels: vec![ChannelConfig::log("log")],
            routes: Vec::new(),
            inhibit_rules: Vec::new(),
            maintenance_windows: Vec::new(),
            retry: RetryPolicy::default(),
            history_retention: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

impl AlertingConfig {
    /// The rules in effect: the built-in ones (unless `default_rules: false`, and
    /// minus those replaced by a rule of the same name), then `rules`.
    pub fn effective_rules(&self) -> Vec<RuleConfig> {
        let mut rules: Vec<RuleConfig> = if self.default_rules {
            default_rules()
                .into_iter()
                .filter(|d| !self.rules.iter().any(|r| r.name == d.name))
                .collect()
        } else {
            Vec::new()
        };
        rules.extend(self.rules.iter().cloned());
        rules
    }

    /// Checks everything and builds an engine that keeps its state in memory, with
    /// the built-in channel kinds.
    pub fn build(&self) -> Result<AlertEngine, AlertingError> {
        self.build_with(None, &Links::default(), &channel_kinds())
    }

    /// Checks everything and builds an engine that persists alerts, silences and
    /// its outbox in `store`, restoring them from it, with the built-in channel kinds.
    pub fn build_with_store(&self, store: Store) -> Result<AlertEngine, AlertingError> {
        self.build_with(Some(store), &Links::default(), &channel_kinds())
    }

    /// Every problem of the section at once (each rule, channel and route on its
    /// own), channels built with their kind's factory in `kinds`, for `mon config
    /// check`; empty when [`AlertingConfig::build_with`] would succeed.
    pub fn validate(&self, kinds: &Kinds) -> Vec<AlertingError> {
        self.parts(&Links::default(), kinds).2
    }

    /// The rules and channels (linking to mon at `links`), and every error met building them.
    fn parts(
        &self,
        links: &Links,
        kinds: &Kinds,
    ) -> (Vec<Rule>, Vec<crate::Channel>, Vec<AlertingError>) {
        let mut errors = Vec::new();
        if self.evaluation_interval.is_zero() {
            errors.push(AlertingError::ZeroEvaluationInterval);
        }
        let mut names = BTreeSet::new();
        for rule in &self.rules {
            if !names.insert(rule.name.as_str()) {
                errors.push(AlertingError::DuplicateRule {
                    name: rule.name.clone(),
                });
            }
        }
        let mut rules = Vec::new();
        for config in self.effective_rules() {
            match Rule::from_config_every_error(&config, &self.custom_variables) {
                Ok(rule) => rules.push(rule),
                Err(e) => errors.extend(e),
            }
        }
        let mut names = BTreeSet::new();
        let mut channels = Vec::with_capacity(self.channels.len());
        for config in &self.channels {
            if !names.insert(config.name()) {
                errors.push(AlertingError::DuplicateChannel {
                    name: config.name().to_string(),
                });
            }
            match config.build(kinds, links) {
                Ok(channel) => channels.push(channel),
                Err(e) => errors.extend(every_error(config, e, kinds, links)),
            }
        }
        for (index, route) in self.routes.iter().enumerate() {
            for unknown in route
                .channels
                .iter()
                .filter(|c| !names.contains(c.as_str()))
            {
                errors.push(AlertingError::UnknownChannel {
                    route: index,
                    channel: unknown.clone(),
                    suggestion: closest(unknown, names.iter().copied()).map(str::to_string),
                });
            }
        }
        (rules, channels, errors)
    }

    /// Checks everything and builds an engine, persisting to `store` when given,
    /// whose channels (built with their kind's factory in `kinds`) link to mon at
    /// `links` (`server.external_url`).
    pub fn build_with(
        &self,
        store: Option<Store>,
        links: &Links,
        kinds: &Kinds,
    ) -> Result<AlertEngine, AlertingError> {
        let (rules, channels, errors) = self.parts(links, kinds);
        if let Some(first) = errors.into_iter().next() {
            return Err(first);
        }
        Ok(AlertEngine::with_options(
            rules,
            channels,
            EngineOptions {
                routes: self.routes.clone(),
                inhibitions: self.inhibit_rules.clone(),
                maintenance_windows: self.maintenance_windows.clone(),
                retry: self.retry.clone(),
                history_retention: self.history_retention,
                store,
                ..EngineOptions::default()
            },
        ))
    }
}

/// `first`, the error building `config`, and, while it is about an unknown field
/// (serde stops at the first), the next one of the entry read again without it: every
/// unknown field of a channel entry, each at its own key.
fn every_error(
    config: &ChannelConfig,
    first: AlertingError,
    kinds: &Kinds,
    links: &Links,
) -> Vec<AlertingError> {
    let mut errors = Vec::new();
    let mut entry = std::borrow::Cow::Borrowed(config);
    let mut error = first;
    loop {
        let unknown = match &error {
            AlertingError::InvalidChannelField { field, message, .. }
                if message.starts_with("unknown field") =>
            {
                Some(field.clone())
            }
            _ => None,
        };
        errors.push(error);
        let Some(field) = unknown else { break };
        if entry.to_mut().kind.fields.remove(&field).is_none() {
            break;
        }
        match entry.build(kinds, links) {
            Ok(_) => break,
            Err(e) => error = e,
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> AlertingConfig {
        serde_yaml_ng::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
    }

    fn channel_names(engine: &AlertEngine) -> Vec<String> {
        engine
            .channels()
            .iter()
            .map(|c| c.name().to_string())
            .collect()
    }

    #[test]
    fn empty_section_gives_default_rules_and_a_log_channel() {
        let config = parse("{}");
        assert_eq!(config, AlertingConfig::default());
        let engine = config.build().unwrap();
        let names: Vec<String> = engine.rules_status().into_iter().map(|r| r.name).collect();
        let defaults: Vec<String> = default_rules().into_iter().map(|r| r.name).collect();
        assert_eq!(names, defaults);
        assert_eq!(channel_names(&engine), ["log"]);
    }

    #[test]
    fn the_design_example_builds() {
        let config = parse(
            "evaluation_interval: 30s
custom_variables: [room_creation_failures]
rules:
  - name: High API Latency
    expr: avg_api_latency_ms > 5000
    for: 1m
    severity: warning
    labels: { service: api }
  - name: Low Success Rate
    expr: connection_success_rate < 0.8
    severity: high
  - name: Room Creation Failures
    expr: room_creation_failures > 5
  - name: High CPU
    expr: cpu_percent > 95
    severity: critical
channels:
  - { name: ops_log, type: log, severities: [critical] }
routes:
  - { matchers: [{ name: service, value: api }], channels: [ops_log] }
inhibit_rules:
  - source: [{ name: severity, value: critical }]
    target: [{ name: severity, value: warning }]
    equal: [service]
maintenance_windows:
  - { name: deploys, start: '02:00', end: '02:30' }
retry: { initial_backoff: 2s, max_attempts: 10 }
",
        );
        assert_eq!(config.evaluation_interval, Duration::from_secs(30));
        let status = config.build().unwrap().rules_status();
        let mine: Vec<(&str, &str)> = status
            .iter()
            .rev()
            .take(4)
            .map(|r| (r.name.as_str(), r.expr.as_str()))
            .collect();
        assert_eq!(
            mine,
            [
                ("High CPU", "cpu_percent > 95"),
                ("Room Creation Failures", "room_creation_failures > 5"),
                ("Low Success Rate", "connection_success_rate < 0.8"),
                ("High API Latency", "avg_api_latency_ms > 5000"),
            ]
        );
        // The user's "High CPU" replaces the built-in one.
        assert_eq!(status.iter().filter(|r| r.name == "High CPU").count(), 1);
        let no_defaults = parse(
            "default_rules: false\nrules: [{ name: r, expr: cpu_percent > 1 }]\nchannels: []\n",
        );
        let engine = no_defaults.build().unwrap();
        assert_eq!(engine.rules_status().len(), 1);
        assert!(engine.channels().is_empty());
    }

    #[test]
    fn build_errors_name_the_culprit() {
        for (yaml, want) in [
            (
                "rules: [{ name: Slow, expr: latency >> 5 }]",
                "rule \"Slow\": invalid expression \"latency >> 5\" at column 10",
            ),
            (
                "rules: [{ name: Slow, expr: avg_api_latency > 5 }]",
                "rule \"Slow\": unknown variable `avg_api_latency`; did you mean `avg_api_latency_ms`?",
            ),
            (
                "rules: [{ name: A, expr: cpu_percent > 1 }, { name: A, expr: cpu_percent > 2 }]",
                "rule name \"A\" is used more than once",
            ),
            (
                "channels: [{ name: ops, type: log }, { name: ops, type: log }]",
                "channel name \"ops\" is used more than once",
            ),
            (
                "channels: [{ name: ops, type: log }]\nroutes: [{ channels: [opz] }]",
                "routes[0]: no channel named \"opz\"; did you mean \"ops\"?",
            ),
            (
                "evaluation_interval: 0s",
                "evaluation_interval must be longer than zero",
            ),
            (
                "rules: [{ name: A, expr: cpu_percent > 1, description: 'at {{ value' }]",
                "annotation \"description\"",
            ),
        ] {
            let err = parse(yaml).build().unwrap_err().to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
        for (yaml, want) in [
            (
                "evaluation_intervall: 15s",
                "unknown field `evaluation_intervall`",
            ),
            ("evaluation_interval: 15", "expected a number with a unit"),
            ("retry: { backoff: 1s }", "unknown field `backoff`"),
        ] {
            let err = serde_yaml_ng::from_str::<AlertingConfig>(yaml)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }
}
