//! Alert rules: [`RuleConfig`] as written in the configuration, [`Rule`] as the
//! engine evaluates it (a CEL [`Expr`] or a closure, optionally once per check),
//! and the built-in [`default_rules`].

use crate::expr::{self, Expr, Outcome};
use crate::template::{Context, Template};
use crate::{AlertingError, Snapshot};
use mon_core::Severity;
use mon_core::snapshot::CheckSnapshot;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

/// Severity of a rule that does not say.
pub const DEFAULT_SEVERITY: Severity = Severity::Warning;

/// The variable a rule with `each: checks` sees for the current check.
pub(crate) const EACH_CHECK_VARIABLE: &str = "check";

/// The variable holding every check by name (`checks.api.status`).
pub(crate) const CHECKS_VARIABLE: &str = "checks";

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

/// The built-in rules, on unless `default_rules: false`.
pub fn default_rules() -> Vec<RuleConfig> {
    let rule =
        |name: &str, expr: &str, minutes: u64, severity, summary: &str, description: &str| {
            RuleConfig {
                for_duration: Duration::from_secs(minutes * 60),
                severity,
                annotations: BTreeMap::from([("summary".to_string(), summary.to_string())]),
                description: Some(description.to_string()),
                ..RuleConfig::new(name, expr)
            }
        };
    let each_check = |config: RuleConfig| RuleConfig {
        each: Some(Each::Checks),
        ..config
    };
    vec![
        // The check rules wait for a `for` longer than a check's usual interval: a
        // single result (the host's CPU while the server itself starts) never fires.
        rule(
            "System Unhealthy",
            // Counts derived once per publish: cheap with thousands of checks, unlike
            // `checks.exists(...)` over the whole map at every evaluation.
            "critical_unhealthy_checks > 0",
            1,
            Severity::Critical,
            "A critical component is unhealthy",
            "At least one critical check has been unhealthy for a minute, so the system as a whole is unhealthy.",
        ),
        rule(
            "System Degraded",
            "degraded_checks + unhealthy_checks > 0 && critical_unhealthy_checks == 0",
            5,
            Severity::Error,
            "The system is degraded",
            "Some checks have been degraded, or a non-critical check unhealthy, for 5 minutes.",
        ),
        each_check(rule(
            "Component Unhealthy",
            "check.status == 'unhealthy'",
            2,
            Severity::Error,
            "{{ labels.check }} is unhealthy",
            "The check {{ labels.check }} has reported unhealthy for 2 minutes.",
        )),
        each_check(rule(
            "Component Slow",
            "check.latency_ms > 5000",
            5,
            Severity::Warning,
            "{{ labels.check }} answers in {{ value }} ms",
            "The check {{ labels.check }} has taken longer than {{ threshold }} ms for 5 minutes.",
        )),
        rule(
            "High CPU",
            "cpu_percent > 80",
            5,
            Severity::Error,
            "CPU usage is {{ value }}%",
            "Host CPU usage has been above {{ threshold }}% for 5 minutes; voice latency suffers first.",
        ),
        rule(
            "Critical Memory",
            "memory_percent > 90",
            3,
            Severity::Critical,
            "Memory usage is {{ value }}%",
            "Host memory usage has been above {{ threshold }}% for 3 minutes; processes may be killed.",
        ),
        rule(
            "High Error Rate",
            "error_rate_percent > 10",
            5,
            Severity::Error,
            "{{ value }}% of API requests fail",
            "More than {{ threshold }}% of API requests have failed for 5 minutes.",
        ),
        rule(
            "Slow Responses",
            "avg_api_latency_ms > 5000",
            10,
            Severity::Warning,
            "Average response time is {{ value }} ms",
            "The average API response time has been above {{ threshold }} ms for 10 minutes.",
        ),
        rule(
            "Low Disk Space",
            "disk_percent > 85",
            5,
            Severity::Error,
            "Disk usage is {{ value }}%",
            "The watched filesystem has been more than {{ threshold }}% full for 5 minutes.",
        ),
        rule(
            "No Requests",
            "request_rate_per_min == 0",
            15,
            Severity::Critical,
            "No API requests for 15 minutes",
            "Applications reported requests to mon, but none arrived for 15 minutes. Until the first request is seen, request_rate_per_min has no value and the rule is no_data.",
        ),
    ]
}

/// What a rule written in code returns: whether its condition holds, and the
/// value to show (in the alert and in `{{ value }}`). `None` from the closure means
/// "no data".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleValue {
    /// Whether the alert condition holds.
    pub holds: bool,
    /// The value behind the decision, when there is one.
    pub value: Option<f64>,
}

/// The closure of a rule written in code.
pub type RuleFn = Arc<dyn Fn(&Snapshot) -> Option<RuleValue> + Send + Sync>;

/// What a rule tests.
#[derive(Clone)]
pub enum RuleCondition {
    /// A CEL expression from the configuration.
    Expr(Expr),
    /// A closure (rules written in code).
    Fn(RuleFn),
}

impl fmt::Debug for RuleCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleCondition::Expr(e) => f.debug_tuple("Expr").field(e).finish(),
            RuleCondition::Fn(_) => f.write_str("Fn(..)"),
        }
    }
}

/// One alert instance's outcome: the labels that set it apart (the check's name
/// for `each: checks`, else none) and the result.
pub(crate) type InstanceOutcome = (BTreeMap<String, String>, Outcome);

impl RuleCondition {
    fn threshold(&self) -> Option<f64> {
        match self {
            RuleCondition::Expr(e) => e.threshold(),
            RuleCondition::Fn(_) => None,
        }
    }
}

/// A rule ready for evaluation: condition parsed, variables and annotation templates checked.
#[derive(Debug, Clone)]
pub struct Rule {
    name: String,
    expr: String,
    condition: RuleCondition,
    each: Option<Each>,
    for_duration: Duration,
    keep_firing_for: Duration,
    severity: Severity,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, Template>,
    on_no_data: NoDataPolicy,
    repeat_interval: Duration,
    cooldown: Duration,
    max_per_hour: u32,
    enabled: bool,
}

impl Rule {
    /// Builds a rule from its configuration, parsing `expr` and checking that each
    /// variable exists in the metrics catalog, is `checks`, `check` (with
    /// `each: checks`) or one of `custom_variables`. A bad expression is
    /// [`AlertingError::InvalidExpression`] (also when its types do not fit: a
    /// number compared with a string, a condition that is not true/false); an unknown variable is
    /// [`AlertingError::UnknownVariable`] with the closest known name.
    pub fn from_config(
        config: &RuleConfig,
        custom_variables: &[String],
    ) -> Result<Rule, AlertingError> {
        let parsed = Expr::parse(&config.expr).map_err(|e| AlertingError::InvalidExpression {
            rule: config.name.clone(),
            expr: config.expr.clone(),
            column: e.column,
            message: e.message,
        })?;
        let each = config.each.map(|_| EACH_CHECK_VARIABLE);
        let known = || {
            mon_core::catalog::CATALOG
                .iter()
                .map(|v| v.name)
                .chain([CHECKS_VARIABLE])
                .chain(each)
                .chain(custom_variables.iter().map(String::as_str))
        };
        if let Some(unknown) = parsed
            .variables()
            .iter()
            .find(|v| !known().any(|k| k == v.as_str()))
        {
            return Err(AlertingError::UnknownVariable {
                rule: config.name.clone(),
                variable: unknown.clone(),
                suggestion: expr::closest(unknown, known()).map(str::to_string),
            });
        }
        parsed
            .check_types(custom_variables)
            .map_err(|e| AlertingError::InvalidExpression {
                rule: config.name.clone(),
                expr: config.expr.clone(),
                column: e.column,
                message: e.message,
            })?;
        Rule::with_condition(config, RuleCondition::Expr(parsed))
    }

    /// Builds a rule with the given condition; `config.expr` is then only the text
    /// shown for it. Lets a rule in code have a `for`, labels and annotations.
    pub fn with_condition(
        config: &RuleConfig,
        condition: RuleCondition,
    ) -> Result<Rule, AlertingError> {
        let invalid = |message: String| AlertingError::InvalidRule {
            rule: config.name.clone(),
            message,
        };
        if config.name.trim().is_empty() {
            return Err(invalid(format!(
                "the rule with expression {:?} has no name; give it one",
                config.expr
            )));
        }
        let mut texts = config.annotations.clone();
        for (key, value) in [
            ("description", &config.description),
            ("runbook_url", &config.runbook_url),
        ] {
            if let Some(value) = value {
                if texts.contains_key(key) {
                    return Err(invalid(format!(
                        "`{key}` is set both as a field and in `annotations`; keep one"
                    )));
                }
                texts.insert(key.to_string(), value.clone());
            }
        }
        let mut annotations = BTreeMap::new();
        for (key, text) in texts {
            let template =
                Template::parse(&text).map_err(|message| AlertingError::InvalidTemplate {
                    rule: config.name.clone(),
                    annotation: key.clone(),
                    message,
                })?;
            annotations.insert(key, template);
        }
        Ok(Rule {
            name: config.name.clone(),
            expr: config.expr.clone(),
            condition,
            each: config.each,
            for_duration: config.for_duration,
            keep_firing_for: config.keep_firing_for,
            severity: config.severity,
            labels: config.labels.clone(),
            annotations,
            on_no_data: config.on_no_data,
            repeat_interval: config.repeat_interval,
            cooldown: config.cooldown,
            max_per_hour: config.max_per_hour,
            enabled: config.enabled,
        })
    }

    /// A rule written in code: fires at once while `condition`
    /// returns a value that holds. Use [`Rule::with_condition`] for `for`, labels
    /// and annotations.
    pub fn from_fn(
        name: impl Into<String>,
        severity: Severity,
        condition: impl Fn(&Snapshot) -> Option<RuleValue> + Send + Sync + 'static,
    ) -> Rule {
        let mut config = RuleConfig::new(name, "(code)");
        config.severity = severity;
        Rule {
            name: config.name,
            expr: config.expr,
            condition: RuleCondition::Fn(Arc::new(condition)),
            each: None,
            for_duration: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
            severity,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            on_no_data: NoDataPolicy::NoData,
            repeat_interval: Duration::ZERO,
            cooldown: Duration::ZERO,
            max_per_hour: 0,
            enabled: true,
        }
    }

    /// The rule's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression as written (`(code)` for a closure rule).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// What the rule tests.
    pub fn condition(&self) -> &RuleCondition {
        &self.condition
    }

    /// What the rule is evaluated once per, if anything.
    pub fn each(&self) -> Option<Each> {
        self.each
    }

    /// How long the condition must hold before the alert fires.
    pub fn for_duration(&self) -> Duration {
        self.for_duration
    }

    /// How long a firing alert stays firing after the condition stops holding.
    pub fn keep_firing_for(&self) -> Duration {
        self.keep_firing_for
    }

    /// The severity of its alerts.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The labels put on its alerts.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// What it does without data.
    pub fn on_no_data(&self) -> NoDataPolicy {
        self.on_no_data
    }

    /// How often a firing, unacknowledged alert is notified again (zero: never).
    pub fn repeat_interval(&self) -> Duration {
        self.repeat_interval
    }

    /// How long after a firing notification a new one for the same alert is held back.
    pub fn cooldown(&self) -> Duration {
        self.cooldown
    }

    /// The most firing notifications per hour (zero: no limit).
    pub fn max_per_hour(&self) -> u32 {
        self.max_per_hour
    }

    /// Whether it is evaluated.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Evaluates the rule: one outcome per instance (one per check with
    /// `each: checks`; no checks is a single no-data outcome).
    pub(crate) fn evaluate(
        &self,
        snapshot: &Snapshot,
        context: &cel::Context<'_, '_>,
        memo: &mut EachMemo,
    ) -> Vec<InstanceOutcome> {
        match (&self.condition, self.each) {
            (RuleCondition::Expr(e), Some(Each::Checks)) if !snapshot.checks.is_empty() => {
                let inputs = memo_inputs(e, snapshot);
                if inputs.is_none() || inputs != memo.inputs {
                    memo.items.clear();
                }
                memo.inputs = inputs;
                let mut outcomes = Vec::with_capacity(snapshot.checks.len());
                for (name, check) in &snapshot.checks {
                    let outcome = match memo.items.get(name.as_str()) {
                        // Not run since the start: nothing known about it yet.
                        _ if check.status == mon_core::Status::Unknown
                            && check.latency_ms.is_none() =>
                        {
                            Outcome::NoData
                        }
                        Some((seen, outcome)) if seen == check => outcome.clone(),
                        _ => {
                            let mut scope = context.new_inner_scope();
                            scope.add_variable_from_value(
                                EACH_CHECK_VARIABLE,
                                expr::check_value(name, check),
                            );
                            let outcome = e.evaluate(&scope);
                            if inputs.is_some() {
                                memo.items
                                    .insert(name.clone(), (check.clone(), outcome.clone()));
                            }
                            outcome
                        }
                    };
                    let labels = BTreeMap::from([(EACH_CHECK_VARIABLE.to_string(), name.clone())]);
                    outcomes.push((labels, outcome));
                }
                if memo.items.len() > snapshot.checks.len() {
                    memo.items
                        .retain(|name, _| snapshot.checks.contains_key(name));
                }
                outcomes
            }
            (RuleCondition::Expr(_), Some(Each::Checks)) => {
                vec![(BTreeMap::new(), Outcome::NoData)]
            }
            (RuleCondition::Expr(e), None) => vec![(BTreeMap::new(), e.evaluate(context))],
            // A panicking closure must not take the engine down with it.
            (RuleCondition::Fn(f), _) => {
                let outcome = match catch_unwind(AssertUnwindSafe(|| f(snapshot))) {
                    Ok(None) => Outcome::NoData,
                    Ok(Some(RuleValue { holds, value })) => Outcome::Value { holds, value },
                    Err(_) => Outcome::Error("the rule's condition panicked".to_string()),
                };
                vec![(BTreeMap::new(), outcome)]
            }
        }
    }

    /// The top-level variables its expression reads (none for a closure, which reads
    /// the snapshot itself): only these are put in the evaluation context.
    pub(crate) fn variables(&self) -> &[String] {
        match &self.condition {
            RuleCondition::Expr(e) => e.variables(),
            RuleCondition::Fn(_) => &[],
        }
    }

    /// The annotations for an alert with `value` and `labels`, templates rendered.
    pub(crate) fn render_annotations(
        &self,
        value: Option<f64>,
        labels: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let context = Context {
            value,
            threshold: self.condition.threshold(),
            labels,
        };
        self.annotations
            .iter()
            .map(|(k, t)| (k.clone(), t.render(&context)))
            .collect()
    }
}

/// What an `each: checks` rule computed last time, per check, with the inputs it was
/// computed from. A check whose state is unchanged, in a snapshot whose other variables
/// the expression reads are unchanged, keeps its outcome without being evaluated again:
/// with 1,000 checks, an evaluation re-runs the expression only for the few checks that
/// reported since the last one.
#[derive(Debug, Default)]
pub(crate) struct EachMemo {
    /// A hash of the values of the expression's variables other than `check`; `None`
    /// when the expression reads the `checks` map (then nothing is remembered).
    inputs: Option<u64>,
    items: HashMap<String, (CheckSnapshot, Outcome)>,
}

/// The hash of the values `e` reads besides `check`, or `None` when it reads `checks`.
fn memo_inputs(e: &Expr, snapshot: &Snapshot) -> Option<u64> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for variable in e.variables() {
        match variable.as_str() {
            EACH_CHECK_VARIABLE => {}
            CHECKS_VARIABLE => return None,
            name => snapshot.get(name).map(f64::to_bits).hash(&mut hasher),
        }
    }
    Some(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mon_core::Status;

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
    fn building_a_rule_reports_what_is_wrong() {
        let build = |config: RuleConfig| {
            Rule::from_config(&config, &["room_creation_failures".to_string()])
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        for (config, want) in [
            (
                RuleConfig::new("High CPU", "cpu_percent >> 80"),
                "rule \"High CPU\": invalid expression \"cpu_percent >> 80\" at column 14",
            ),
            (
                RuleConfig::new("r", "cpu_precent > 80"),
                "rule \"r\": unknown variable `cpu_precent`; did you mean `cpu_percent`?",
            ),
            (
                RuleConfig::new("r", "room_creation_failure > 5"),
                "did you mean `room_creation_failures`?",
            ),
            (
                RuleConfig::new("r", "check.status == 'unhealthy'"),
                "unknown variable `check`; did you mean `checks`?",
            ),
            (
                RuleConfig::new("r", "zzz > 1"),
                "unknown variable `zzz`; use a variable of the metrics catalog",
            ),
            (
                RuleConfig {
                    annotations: BTreeMap::from([("summary".into(), "at {{ vlaue }}".into())]),
                    ..RuleConfig::new("r", "cpu_percent > 1")
                },
                "rule \"r\": annotation \"summary\": unknown placeholder `{{ vlaue }}`",
            ),
            (
                RuleConfig {
                    description: Some("a".into()),
                    annotations: BTreeMap::from([("description".into(), "b".into())]),
                    ..RuleConfig::new("r", "cpu_percent > 1")
                },
                "`description` is set both as a field and in `annotations`",
            ),
            (RuleConfig::new(" ", "cpu_percent > 1"), "has no name"),
        ] {
            let err = build(config.clone()).unwrap_err();
            assert!(err.contains(want), "{config:?}: {err}");
        }
        match Rule::from_config(&RuleConfig::new("High CPU", "cpu_percent >> 80"), &[]) {
            Err(AlertingError::InvalidExpression { column: 14, .. }) => {}
            other => panic!("{other:?}"),
        }
        // The usual voice-agent rules build as written.
        for expr in [
            "avg_api_latency_ms > 5000",
            "connection_success_rate < 0.8",
            "room_creation_failures > 5",
            "active_rooms > 100",
        ] {
            build(RuleConfig::new("seed", expr)).unwrap();
        }
    }

    #[test]
    fn default_rules_are_valid() {
        let rules: Vec<Rule> = default_rules()
            .iter()
            .map(|c| Rule::from_config(c, &[]).unwrap())
            .collect();
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
            ]
        );
        let annotations = rules[4].render_annotations(Some(91.25), &BTreeMap::new());
        assert_eq!(annotations["summary"], "CPU usage is 91.25%");
        assert!(
            annotations["description"].contains("above 80%"),
            "{annotations:?}"
        );
    }

    #[test]
    fn each_checks_gives_one_outcome_per_check() {
        let rule = Rule::from_config(
            &RuleConfig {
                each: Some(Each::Checks),
                ..RuleConfig::new("down", "check.status == 'unhealthy'")
            },
            &[],
        )
        .unwrap();
        let mut snapshot = Snapshot::default();
        let context = expr::context(&snapshot, None);
        assert_eq!(
            rule.evaluate(&snapshot, &context, &mut EachMemo::default()),
            vec![(BTreeMap::new(), Outcome::NoData)]
        );
        for (name, status) in [("api", Status::Unhealthy), ("cache", Status::Healthy)] {
            snapshot.checks.insert(
                name.into(),
                CheckSnapshot {
                    status,
                    latency_ms: None,
                    critical: false,
                },
            );
        }
        let context = expr::context(&snapshot, None);
        let label = |n: &str| BTreeMap::from([("check".to_string(), n.to_string())]);
        assert_eq!(
            rule.evaluate(&snapshot, &context, &mut EachMemo::default()),
            vec![
                (
                    label("api"),
                    Outcome::Value {
                        holds: true,
                        value: None
                    }
                ),
                (
                    label("cache"),
                    Outcome::Value {
                        holds: false,
                        value: None
                    }
                ),
            ]
        );
    }

    #[test]
    fn remembered_outcomes_follow_the_check_and_the_other_variables() {
        let rule = Rule::from_config(
            &RuleConfig {
                each: Some(Each::Checks),
                ..RuleConfig::new("slow", "check.latency_ms > slow_ms")
            },
            &["slow_ms".to_string()],
        )
        .unwrap();
        let check = |latency: f64| CheckSnapshot {
            status: Status::Healthy,
            latency_ms: Some(latency),
            critical: false,
        };
        let mut snapshot = Snapshot::default();
        snapshot.set("slow_ms", 100.0);
        snapshot.checks.insert("a".into(), check(50.0));
        snapshot.checks.insert("b".into(), check(150.0));
        let mut memo = EachMemo::default();
        let holds = |memo: &mut EachMemo, snapshot: &Snapshot| -> Vec<bool> {
            rule.evaluate(snapshot, &expr::context(snapshot, None), memo)
                .into_iter()
                .map(|(_, o)| matches!(o, Outcome::Value { holds: true, .. }))
                .collect()
        };
        assert_eq!(holds(&mut memo, &snapshot), [false, true]);
        assert_eq!(memo.items.len(), 2);
        // One check changes: its outcome follows, the other's is kept.
        snapshot.checks.insert("a".into(), check(120.0));
        assert_eq!(holds(&mut memo, &snapshot), [true, true]);
        // Another variable the expression reads changes: every check is evaluated again.
        snapshot.set("slow_ms", 130.0);
        assert_eq!(holds(&mut memo, &snapshot), [false, true]);
        // A check that went away is forgotten.
        snapshot.checks.remove("b");
        assert_eq!(holds(&mut memo, &snapshot), [false]);
        assert_eq!(memo.items.len(), 1);
    }

    #[test]
    fn closures_evaluate_and_panics_are_errors() {
        let mut snapshot = Snapshot::default();
        snapshot.set("cpu_percent", 85.0);
        let context = expr::context(&snapshot, None);
        let closure = Rule::from_fn("queue", Severity::Warning, |s| {
            s.get("cpu_percent").map(|v| RuleValue {
                holds: v > 50.0,
                value: Some(v),
            })
        });
        assert_eq!(
            closure.evaluate(&snapshot, &context, &mut EachMemo::default())[0].1,
            Outcome::Value {
                holds: true,
                value: Some(85.0)
            }
        );
        let empty = Snapshot::default();
        assert_eq!(
            closure.evaluate(
                &empty,
                &expr::context(&empty, None),
                &mut EachMemo::default()
            )[0]
            .1,
            Outcome::NoData
        );
        let panicking = Rule::from_fn("bad", Severity::Warning, |_| panic!("bug in a rule"));
        assert_eq!(
            panicking.evaluate(&snapshot, &context, &mut EachMemo::default())[0].1,
            Outcome::Error("the rule's condition panicked".into())
        );
    }
}
