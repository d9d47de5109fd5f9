//! `CheckConfig`: one entry of `checks:` in mon.yaml, its defaults and validation.

use crate::HealthError;
use crate::registry::CheckPolicy;
use mon_core::{HealthCheck, KindSpec, Kinds};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// One entry of `checks:` in mon.yaml.
///
/// The fields common to every kind sit here; the kind-specific ones (selected by
/// `type:`) are flattened in as a [`KindSpec`], read by the kind's factory from a
/// [`Kinds`] registry. A misspelled key is rejected by the kind's config struct,
/// which denies unknown fields.
///
/// ```
/// let check: mon_health::CheckConfig = serde_json::from_value(serde_json::json!({
///     "name": "api", "type": "http", "url": "http://127.0.0.1:9000/health", "interval": "10s"
/// })).unwrap();
/// check.validate(&mon_health::check_kinds()).unwrap();
/// assert_eq!(check.interval, std::time::Duration::from_secs(10));
/// assert_eq!(check.timeout, std::time::Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckConfig {
    /// Unique name of the check; used in URLs (`/health/checks/{name}`), metric
    /// labels and rule variables. Letters, digits, `_`, `-` and `.` only.
    pub name: String,
    /// Time between the end of one run and the start of the next (default `30s`).
    /// A small random jitter (at most 10%) is added to spread the load.
    #[serde(default = "defaults::interval", with = "mon_core::duration")]
    pub interval: Duration,
    /// Longest time one run may take before it counts as unhealthy (default `10s`).
    #[serde(default = "defaults::timeout", with = "mon_core::duration")]
    pub timeout: Duration,
    /// Whether this check failing makes the whole system unhealthy (default `true`).
    /// A non-critical check failing only makes the system degraded.
    #[serde(default = "defaults::critical")]
    pub critical: bool,
    /// Whether the check appears on the public status page (`/status`) and has
    /// badges (`/badge/{name}/...`), readable without a token (default `false`).
    #[serde(default)]
    pub public: bool,
    /// Unhealthy runs in a row before the check is reported unhealthy (default 3).
    /// Until then it keeps its previous status, marked `failing`. The first run
    /// of a check is reported as it is.
    #[serde(default = "defaults::failure_threshold")]
    pub failure_threshold: u32,
    /// Healthy (or degraded) runs in a row before an unhealthy check is reported
    /// healthy again (default 2). Until then it stays unhealthy, marked `recovering`.
    #[serde(default = "defaults::success_threshold")]
    pub success_threshold: u32,
    /// Checks this one needs (default none). While one of them is unhealthy, this
    /// check is reported unhealthy with the reason `dependency <name> down`.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Limits over a window of recent runs (default: none); breaking one makes a
    /// healthy check degraded.
    #[serde(default)]
    pub thresholds: Option<ThresholdConfig>,
    /// The check kind (`type: http`, `type: system`...) and its own settings.
    #[serde(flatten)]
    pub kind: KindSpec,
}

/// The defaults of [`CheckConfig`], in one place.
mod defaults {
    use std::time::Duration;

    pub(super) fn interval() -> Duration {
        Duration::from_secs(30)
    }

    pub(super) fn timeout() -> Duration {
        Duration::from_secs(10)
    }

    pub(super) fn critical() -> bool {
        true
    }

    pub(super) fn failure_threshold() -> u32 {
        3
    }

    pub(super) fn success_threshold() -> u32 {
        2
    }

    pub(super) fn window() -> Duration {
        Duration::from_secs(300)
    }
}

/// `thresholds:` of a check — a `HealthThreshold`, judged over the runs
/// of the last `window`. Breaking any limit makes a healthy check degraded.
///
/// ```yaml
/// thresholds: { response_time: 3s, success_rate: 90, error_rate: 10, window: 5m }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConfig {
    /// Average latency of the runs in the window above which the check is degraded.
    #[serde(default, with = "mon_core::duration::option")]
    pub response_time: Option<Duration>,
    /// Percentage of runs in the window that must be healthy (0–100).
    #[serde(default)]
    pub success_rate: Option<f64>,
    /// Percentage of runs in the window that may be unhealthy (0–100).
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// How far back the runs are judged (default `5m`).
    #[serde(default = "defaults::window", with = "mon_core::duration")]
    pub window: Duration,
}

impl Default for ThresholdConfig {
    fn default() -> Self {
        ThresholdConfig {
            response_time: None,
            success_rate: None,
            error_rate: None,
            window: defaults::window(),
        }
    }
}

impl ThresholdConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        for (field, value) in [
            ("thresholds.success_rate", self.success_rate),
            ("thresholds.error_rate", self.error_rate),
        ] {
            if let Some(value) = value
                && !(value.is_finite() && (0.0..=100.0).contains(&value))
            {
                return Err(HealthError::invalid(
                    check,
                    field,
                    format!("{value} is not a percentage; use a number from 0 to 100"),
                ));
            }
        }
        if self.window.is_zero() {
            return Err(HealthError::invalid(
                check,
                "thresholds.window",
                "must be longer than zero, such as 5m",
            ));
        }
        if self.response_time.is_some_and(|d| d.is_zero()) {
            return Err(HealthError::invalid(
                check,
                "thresholds.response_time",
                "must be longer than zero, such as 3s",
            ));
        }
        Ok(())
    }
}

impl CheckConfig {
    /// A check of `kind` named `name`, with the default interval, timeout and criticality.
    pub fn new(name: impl Into<String>, kind: KindSpec) -> CheckConfig {
        CheckConfig {
            name: name.into(),
            interval: defaults::interval(),
            timeout: defaults::timeout(),
            critical: defaults::critical(),
            public: false,
            failure_threshold: defaults::failure_threshold(),
            success_threshold: defaults::success_threshold(),
            depends_on: Vec::new(),
            thresholds: None,
            kind,
        }
    }

    /// How the registry reports this check: criticality, flap control, dependencies, thresholds.
    pub fn policy(&self) -> CheckPolicy {
        CheckPolicy {
            critical: self.critical,
            failure_threshold: self.failure_threshold,
            success_threshold: self.success_threshold,
            depends_on: self.depends_on.clone(),
            thresholds: self.thresholds.clone(),
        }
    }

    /// Checks every field, the kind's by building the check with its factory in
    /// `kinds`; the error names the field and the offending value.
    pub fn validate(&self, kinds: &Kinds) -> Result<(), HealthError> {
        self.build(kinds).map(|_| ())
    }

    /// Checks the fields every kind has; the error names the field and the offending value.
    fn validate_common(&self) -> Result<(), HealthError> {
        validate_name(&self.name)?;
        if self.interval.is_zero() {
            return Err(HealthError::invalid(
                &self.name,
                "interval",
                "must be longer than zero, such as 30s",
            ));
        }
        if self.timeout.is_zero() {
            return Err(HealthError::invalid(
                &self.name,
                "timeout",
                "must be longer than zero, such as 10s",
            ));
        }
        for (field, value) in [
            ("failure_threshold", self.failure_threshold),
            ("success_threshold", self.success_threshold),
        ] {
            if value == 0 {
                return Err(HealthError::invalid(
                    &self.name,
                    field,
                    "must be at least 1 (1 reports every change at once)",
                ));
            }
        }
        for (i, dependency) in self.depends_on.iter().enumerate() {
            if dependency == &self.name {
                return Err(HealthError::invalid(
                    &self.name,
                    format!("depends_on[{i}]"),
                    "a check cannot depend on itself",
                ));
            }
        }
        if let Some(thresholds) = &self.thresholds {
            thresholds.validate(&self.name)?;
        }
        Ok(())
    }

    /// Validates the config and builds the runnable check with its kind's factory
    /// in `kinds` ([`check_kinds`](crate::check_kinds) for the built-in ones: a
    /// `heartbeat` check built from those has its own pings; use
    /// [`Scheduler::add_config`](crate::Scheduler::add_config) to share them with a
    /// registry's ping endpoint).
    pub fn build(&self, kinds: &Kinds) -> Result<Arc<dyn HealthCheck>, HealthError> {
        self.validate_common()?;
        kinds
            .build_check(&self.kind, &self.name, self.timeout)
            .map_err(|e| match e.path {
                Some(field) => HealthError::invalid(&self.name, field, e.message),
                None => HealthError::InvalidKind {
                    check: self.name.clone(),
                    message: e.message,
                },
            })
    }
}

/// Validates a whole `checks:` list against `kinds`: every entry, that names are
/// unique, and that `depends_on` names existing checks without a cycle.
pub fn validate_checks(checks: &[CheckConfig], kinds: &Kinds) -> Result<(), HealthError> {
    let mut seen = BTreeSet::new();
    for check in checks {
        check.validate(kinds)?;
        if !seen.insert(check.name.as_str()) {
            return Err(HealthError::DuplicateCheck {
                check: check.name.clone(),
            });
        }
    }
    validate_dependencies(checks)
}

/// Checks the `depends_on` lists of a whole `checks:` list: every name exists,
/// and no check depends on itself through others. Does not validate the checks themselves.
pub fn validate_dependencies(checks: &[CheckConfig]) -> Result<(), HealthError> {
    let graph: BTreeMap<&str, &[String]> = checks
        .iter()
        .map(|c| (c.name.as_str(), c.depends_on.as_slice()))
        .collect();
    for check in checks {
        for (i, dependency) in check.depends_on.iter().enumerate() {
            if !graph.contains_key(dependency.as_str()) {
                return Err(HealthError::invalid(
                    &check.name,
                    format!("depends_on[{i}]"),
                    format!(
                        "there is no check named {dependency:?}; depend on one of the configured checks"
                    ),
                ));
            }
        }
    }
    // Depth-first search; a check met again on the current path closes a cycle.
    fn visit<'a>(
        name: &'a str,
        graph: &BTreeMap<&'a str, &'a [String]>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Result<(), Vec<&'a str>> {
        if done.contains(name) {
            return Ok(());
        }
        if let Some(start) = path.iter().position(|n| *n == name) {
            let mut cycle = path[start..].to_vec();
            cycle.push(name);
            return Err(cycle);
        }
        path.push(name);
        // A check naming itself is reported by its own validation.
        for dependency in graph.get(name).copied().unwrap_or_default() {
            if dependency != name {
                visit(dependency, graph, path, done)?;
            }
        }
        path.pop();
        done.insert(name);
        Ok(())
    }
    let mut done = BTreeSet::new();
    for check in checks {
        if let Err(cycle) = visit(&check.name, &graph, &mut Vec::new(), &mut done) {
            return Err(HealthError::invalid(
                cycle[0],
                "depends_on",
                format!(
                    "dependency cycle {}; remove one of these depends_on entries",
                    cycle.join(" -> ")
                ),
            ));
        }
    }
    Ok(())
}

/// A check name must be usable in a URL path, a Prometheus label and a rule variable.
pub(crate) fn validate_name(name: &str) -> Result<(), HealthError> {
    if name.is_empty() {
        return Err(HealthError::invalid(
            name,
            "name",
            "must not be empty; give the check a short unique name such as `api`",
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(HealthError::invalid(
            name,
            "name",
            format!("{name:?} contains {bad:?}; use only letters, digits, `_`, `-` and `.`"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_kinds;
    use crate::checks::{HttpCheckConfig, SystemCheckConfig};
    use crate::test_support::kind;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<CheckConfig, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// Deserializes and validates; `Err` holds the message of whichever step failed.
    fn load(value: serde_json::Value) -> Result<CheckConfig, String> {
        let config = parse(value)?;
        config.validate(&check_kinds()).map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn defaults_are_applied() {
        let config = load(json!({"name": "api", "type": "http", "url": "http://127.0.0.1:1/"}))
            .expect("valid");
        assert_eq!(config.interval, Duration::from_secs(30));
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert!(config.critical);
        assert_eq!((config.failure_threshold, config.success_threshold), (3, 2));
        assert!(config.depends_on.is_empty() && config.thresholds.is_none());
        let http: HttpCheckConfig = config.kind.parse().expect("an http check");
        assert_eq!(http.method, "GET");
        assert!(http.headers.is_empty());
        assert_eq!(http.body, None);
        assert!(http.expected_status.is_empty());
        assert_eq!(http.max_latency, None);
        assert!(http.verify_tls);
        assert!(http.follow_redirects);

        let config = load(json!({"name": "host", "type": "system", "critical": false})).unwrap();
        assert!(!config.critical);
        let system: SystemCheckConfig = config.kind.parse().expect("a system check");
        assert_eq!(system, SystemCheckConfig::default());
        assert_eq!(
            (system.cpu_warning, system.cpu_critical),
            (80.0, 95.0),
            "the documented defaults"
        );
        assert_eq!(
            (system.memory_warning, system.memory_critical),
            (85.0, 95.0)
        );
        assert_eq!((system.disk_warning, system.disk_critical), (85.0, 95.0));
        assert_eq!(system.disk_path, None);
    }

    #[test]
    fn explicit_values_are_read() {
        let config = load(json!({
            "name": "api", "type": "http", "url": "https://example.invalid/health",
            "interval": "10s", "timeout": "2s", "critical": false, "method": "POST",
            "headers": {"X-Probe": "mon"}, "body": "{}", "expected_status": [200, 204],
            "max_latency": "750ms", "verify_tls": false, "follow_redirects": false
        }))
        .unwrap();
        assert_eq!(config.interval, Duration::from_secs(10));
        assert_eq!(config.timeout, Duration::from_secs(2));
        let http: HttpCheckConfig = config.kind.parse().expect("an http check");
        assert_eq!(http.expected_status, vec![200.into(), 204.into()]);
        assert_eq!(http.max_latency, Some(Duration::from_millis(750)));
        assert_eq!(http.headers.get("X-Probe").map(String::as_str), Some("mon"));
        assert!(!http.verify_tls && !http.follow_redirects);
    }

    #[test]
    fn config_errors() {
        // (input, text the error must contain)
        let cases = [
            (
                json!({"name": "api", "type": "http", "url": "http://127.0.0.1/", "timout": "2s"}),
                "unknown field `timout`",
            ),
            (
                json!({"name": "host", "type": "system", "cpu_warnign": 50.0}),
                "unknown field `cpu_warnign`",
            ),
            (
                json!({"name": "x", "type": "nope"}),
                "invalid `type`: unknown check type `nope`, expected one of `command`, `dns`",
            ),
            (json!({"name": "x"}), "missing field `type`"),
            (json!({"type": "system"}), "missing field `name`"),
            (
                json!({"name": "api", "type": "http", "url": "http://127.0.0.1/", "interval": "30"}),
                "expected a number with a unit",
            ),
            (
                json!({"name": "api", "type": "http", "url": "http://127.0.0.1/", "max_latency": "fast"}),
                "invalid duration \"fast\"",
            ),
            (
                json!({"name": "api", "type": "http", "url": "not a url"}),
                "relative URL without a base",
            ),
            (
                json!({"name": "api", "type": "http", "url": "ftp://127.0.0.1/file"}),
                "invalid `url`: unsupported scheme \"ftp\"",
            ),
            (
                json!({"name": "api", "type": "http", "url": "http://127.0.0.1/", "interval": "0s"}),
                "invalid `interval`",
            ),
            (
                json!({"name": "api", "type": "http", "url": "http://127.0.0.1/", "timeout": "0s"}),
                "invalid `timeout`",
            ),
            (
                json!({"name": "my api", "type": "system"}),
                "invalid `name`: \"my api\" contains ' '",
            ),
            (json!({"name": "", "type": "system"}), "invalid `name`"),
            (
                json!({"name": "api", "type": "http", "url": "http://127.0.0.1/", "method": "GE T"}),
                "invalid `method`: \"GE T\"",
            ),
            (
                json!({"name": "api", "type": "http", "url": "http://127.0.0.1/", "expected_status": [200, 999]}),
                "invalid `expected_status`: 999",
            ),
            (
                json!({"name": "api", "type": "http", "url": "http://127.0.0.1/", "headers": {"Bad Header": "x"}}),
                "invalid `headers`: \"Bad Header\"",
            ),
            (
                json!({"name": "api", "type": "http", "url": "http://127.0.0.1/", "headers": {"X-Token": "a\nb"}}),
                "invalid `headers.X-Token`",
            ),
            (
                json!({"name": "host", "type": "system", "cpu_warning": 96.0}),
                "invalid `cpu_warning`: 96 is above cpu_critical 95",
            ),
            (
                json!({"name": "host", "type": "system", "disk_critical": -1.0}),
                "invalid `disk_critical`: -1",
            ),
            (
                json!({"name": "host", "type": "system", "disk_path": "relative/dir"}),
                "invalid `disk_path`: \"relative/dir\"",
            ),
            (
                json!({"name": "a", "type": "system", "depends_on": ["b", "a"]}),
                "invalid `depends_on[1]`: a check cannot depend on itself",
            ),
            (
                json!({"name": "a", "type": "system", "success_threshold": 0}),
                "invalid `success_threshold`",
            ),
            (
                json!({"name": "a", "type": "system", "thresholds": {"success_rate": 120}}),
                "invalid `thresholds.success_rate`: 120 is not a percentage",
            ),
            (
                json!({"name": "a", "type": "system", "thresholds": {"response_tim": "1s"}}),
                "unknown field `response_tim`",
            ),
            (
                json!({"name": "a", "type": "tcp", "address": "localhost"}),
                "invalid `address`: \"localhost\" is not host:port",
            ),
            (
                json!({"name": "a", "type": "redis", "url": "http://127.0.0.1/"}),
                "invalid `url`: unsupported scheme \"http\"",
            ),
            (
                json!({"name": "a", "type": "mysql", "url": "postgres://127.0.0.1/"}),
                "invalid `url`: unsupported scheme \"postgres\"",
            ),
            (
                json!({"name": "a", "type": "command", "command": " "}),
                "invalid `command`",
            ),
            (
                json!({"name": "a", "type": "heartbeat", "period": "0s"}),
                "invalid `period`",
            ),
            (
                json!({"name": "a", "type": "tls_certificate", "address": "x:443", "warning_days": 3}),
                "invalid `critical_days`: 7 is above warning_days 3",
            ),
            (
                json!({"name": "a", "type": "http", "url": "http://x/", "body_regex": "(unclosed"}),
                "invalid `body_regex`: not a valid regular expression",
            ),
            (
                json!({"name": "a", "type": "http", "url": "http://x/", "json": {"status": "ok"}}),
                "invalid `json.status`: \"status\" is not a JSONPath expression",
            ),
        ];
        for (input, want) in cases {
            match load(input.clone()) {
                Ok(config) => panic!("{input} was accepted: {config:?}"),
                Err(got) => assert!(got.contains(want), "{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn url_errors_never_show_the_password() {
        let err =
            load(json!({"name": "api", "type": "http", "url": "ftp://bob:hunter2@127.0.0.1/"}))
                .unwrap_err();
        assert!(err.contains("unsupported scheme"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut http =
            HttpCheckConfig::new("http://bob:hunter2@127.0.0.1/?token=abc".parse().unwrap());
        http.headers
            .insert("Authorization".into(), "Bearer s3cret".into());
        let text = format!("{:?}", CheckConfig::new("api", kind("http", &http)));
        for secret in ["hunter2", "s3cret", "abc"] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
        assert!(text.contains("headers"), "{text}");
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let checks = [
            CheckConfig::new("host", kind("system", &SystemCheckConfig::default())),
            CheckConfig::new("host", kind("system", &SystemCheckConfig::default())),
        ];
        let err = validate_checks(&checks, &check_kinds()).unwrap_err();
        assert!(
            matches!(err, HealthError::DuplicateCheck { ref check } if check == "host"),
            "{err}"
        );
        validate_checks(&checks[..1], &check_kinds()).unwrap();
    }

    #[test]
    fn dependency_cycles_and_unknown_names_are_rejected() {
        let check = |name: &str, deps: &[&str]| {
            let mut c = CheckConfig::new(name, kind("system", &SystemCheckConfig::default()));
            c.depends_on = deps.iter().map(|d| (*d).to_owned()).collect();
            c
        };
        // (checks as (name, depends_on), expected error or "ok")
        type Checks<'a> = &'a [(&'a str, &'a [&'a str])];
        let cases: &[(Checks<'_>, &str)] = &[
            (&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])], "ok"),
            (
                &[("a", &["b"]), ("b", &["a"])],
                "check \"a\": invalid `depends_on`: dependency cycle a -> b -> a",
            ),
            (
                &[("a", &["b"]), ("b", &["c"]), ("c", &["b"])],
                "dependency cycle b -> c -> b",
            ),
            (
                &[("a", &["redis"])],
                "check \"a\": invalid `depends_on[0]`: there is no check named \"redis\"",
            ),
        ];
        for (checks, want) in cases {
            let list: Vec<CheckConfig> = checks.iter().map(|(n, d)| check(n, d)).collect();
            let got = validate_checks(&list, &check_kinds())
                .map_or_else(|e| e.to_string(), |()| "ok".to_owned());
            assert!(
                got.starts_with(want) || got.contains(want),
                "{checks:?}: {got}"
            );
        }
    }

    #[test]
    fn round_trips_through_json() {
        let config = load(json!({
            "name": "api", "type": "http", "url": "http://127.0.0.1:8080/health",
            "interval": "15s", "max_latency": "1s", "expected_status": [200]
        }))
        .unwrap();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["type"], "http");
        assert_eq!(json["interval"], "15s");
        assert_eq!(parse(json).unwrap(), config);
    }

    #[test]
    fn build_makes_a_check_of_the_right_kind() {
        for (input, kind) in [
            (
                json!({"name": "a", "type": "http", "url": "http://127.0.0.1:1/"}),
                "http",
            ),
            (json!({"name": "b", "type": "system"}), "system"),
        ] {
            let check = parse(input).unwrap().build(&check_kinds()).unwrap();
            assert_eq!(check.kind(), kind);
        }
        let bad = parse(json!({"name": "a", "type": "http", "url": "ftp://127.0.0.1/"})).unwrap();
        assert!(bad.build(&check_kinds()).is_err());
    }
}
