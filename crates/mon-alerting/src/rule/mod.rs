//! Alert rules: [`Rule`] as the engine evaluates it (a CEL [`Expr`] or a
//! closure, optionally once per check), built from a [`RuleConfig`] (`config`: the
//! rule as written, and the built-in [`default_rules`]).

mod config;

pub use config::{DEFAULT_SEVERITY, Each, NoDataPolicy, RuleConfig, default_rules};

use crate::expr::{self, Expr, Outcome};
use crate::template::{Context, Template};
use crate::{AlertingError, Snapshot};
use mon_core::Severity;
use mon_core::snapshot::CheckSnapshot;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

/// The variable a rule with `each: checks` sees for the current check.
pub(crate) const EACH_CHECK_VARIABLE: &str = "check";

/// The variable a rule with `each: offenders` sees for the current offender.
pub(crate) const EACH_OFFENDER_VARIABLE: &str = "offender";

/// The variable holding every check by name (`checks.api.status`).
pub(crate) const CHECKS_VARIABLE: &str = "checks";

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
    /// [`AlertingError::UnknownVariable`] with the closest known name (the first one;
    /// [`Rule::from_config_every_error`] names them all).
    pub fn from_config(
        config: &RuleConfig,
        custom_variables: &[String],
    ) -> Result<Rule, AlertingError> {
        Rule::from_config_every_error(config, custom_variables)
            .map_err(|mut errors| errors.remove(0))
    }

    /// [`Rule::from_config`], with every unknown variable of the expression reported (one
    /// [`AlertingError::UnknownVariable`] each, in name order, each with its closest
    /// known name), as `mon config check` shows them. Never an empty list.
    pub fn from_config_every_error(
        config: &RuleConfig,
        custom_variables: &[String],
    ) -> Result<Rule, Vec<AlertingError>> {
        let invalid = |column, message| {
            vec![AlertingError::InvalidExpression {
                rule: config.name.clone(),
                expr: config.expr.clone(),
                column,
                message,
            }]
        };
        let parsed = Expr::parse(&config.expr).map_err(|e| invalid(e.column, e.message))?;
        let each = config.each.map(|each| match each {
            Each::Checks => EACH_CHECK_VARIABLE,
            Each::Offenders => EACH_OFFENDER_VARIABLE,
        });
        let known = || {
            mon_core::catalog::CATALOG
                .iter()
                .map(|v| v.name)
                .chain([CHECKS_VARIABLE])
                .chain(each)
                .chain(custom_variables.iter().map(String::as_str))
        };
        let unknown: Vec<AlertingError> = parsed
            .variables()
            .iter()
            .filter(|v| !known().any(|k| k == v.as_str()))
            .map(|unknown| AlertingError::UnknownVariable {
                rule: config.name.clone(),
                variable: unknown.clone(),
                suggestion: expr::closest(unknown, known()).map(str::to_string),
            })
            .collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
        parsed
            .check_types(custom_variables)
            .map_err(|e| invalid(e.column, e.message))?;
        Rule::with_condition(config, RuleCondition::Expr(parsed)).map_err(|e| vec![e])
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
    /// `each: checks`, one per offender with `each: offenders`; none of them is a
    /// single no-data outcome).
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
            // Bounded (`security.top_offenders` per ranking): evaluated whole each time.
            (RuleCondition::Expr(e), Some(Each::Offenders)) if !snapshot.offenders.is_empty() => {
                snapshot
                    .offenders
                    .iter()
                    .map(|offender| {
                        let mut scope = context.new_inner_scope();
                        scope.add_variable_from_value(
                            EACH_OFFENDER_VARIABLE,
                            expr::offender_value(offender),
                        );
                        let labels = BTreeMap::from([(
                            offender.kind.as_str().to_string(),
                            offender.name.clone(),
                        )]);
                        (labels, e.evaluate(&scope))
                    })
                    .collect()
            }
            (RuleCondition::Expr(_), Some(Each::Offenders)) => {
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

    /// The variables its condition reads through `anomaly("…")`.
    pub(crate) fn anomaly_variables(&self) -> &[String] {
        match &self.condition {
            RuleCondition::Expr(e) => e.anomaly_variables(),
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
    fn each_offenders_gives_one_outcome_per_address_or_principal() {
        use mon_core::snapshot::{Offender, OffenderKind};
        let brute = default_rules()
            .into_iter()
            .find(|c| c.name == "Brute Force Suspected")
            .expect("a built-in rule");
        let rule = Rule::from_config(&brute, &[]).unwrap();
        let offender = |kind, name: &str, failed_logins, distinct_ips| Offender {
            kind,
            name: name.to_string(),
            failed_logins,
            denied: 0.0,
            rate_limited: 0.0,
            distinct_ips,
            new_ips: 0.0,
        };
        let run = |snapshot: &Snapshot| {
            rule.evaluate(
                snapshot,
                &expr::context(snapshot, None),
                &mut EachMemo::default(),
            )
        };
        // No security data: no offenders, no threshold — no data, never an alert.
        let mut snapshot = Snapshot::default();
        assert_eq!(run(&snapshot), vec![(BTreeMap::new(), Outcome::NoData)]);
        snapshot.set("max_failed_logins", 5.0);
        snapshot.offenders = vec![
            offender(OffenderKind::Ip, "203.0.113.7", 6.0, 0.0),
            offender(OffenderKind::Ip, "203.0.113.8", 5.0, 0.0),
            offender(OffenderKind::Principal, "svc-1", 11.0, 2.0),
        ];
        let label = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        let value = |holds, v| Outcome::Value {
            holds,
            value: Some(v),
        };
        assert_eq!(
            run(&snapshot),
            vec![
                (label("ip", "203.0.113.7"), value(true, 6.0)),
                (label("ip", "203.0.113.8"), value(false, 5.0)),
                (label("principal", "svc-1"), value(true, 11.0)),
            ]
        );
        let annotations = rule.render_annotations(Some(6.0), &label("ip", "203.0.113.7"));
        assert_eq!(annotations["summary"], "6 failed logins for 203.0.113.7");

        let many = default_rules()
            .into_iter()
            .find(|c| c.name == "Principal From Many IPs")
            .expect("a built-in rule");
        let many = Rule::from_config(&many, &[]).unwrap();
        snapshot.set("max_principal_ips", 1.0);
        let holds: Vec<bool> = many
            .evaluate(
                &snapshot,
                &expr::context(&snapshot, None),
                &mut EachMemo::default(),
            )
            .into_iter()
            .map(|(_, o)| matches!(o, Outcome::Value { holds: true, .. }))
            .collect();
        assert_eq!(holds, [false, false, true]);
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
