//! Data-driven rule and lifecycle tests: a rule (expression and options) and a
//! sequence of snapshots → the expected rule states and alert transitions; then
//! acknowledgements, manual resolution, silences, cooldown, max_per_hour,
//! reminders, keep_firing_for, `each: checks`, `on_no_data` and statistics.

use chrono::{DateTime, Utc};
use mon_alerting::{
    AlertEngine, ChangeKind, Matcher, Rule, RuleConfig, RuleState, RuleValue, Silence, Snapshot,
};
use mon_alerting::{CheckSnapshot, Each, NoDataPolicy};
use mon_core::{AlertState, Severity, Status};
use std::time::Duration;

use ChangeKind as C;
use RuleState as S;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

fn snapshot(values: &[(&str, f64)]) -> Snapshot {
    let mut s = Snapshot::default();
    for (k, v) in values {
        s.set(*k, *v);
    }
    s
}

/// One evaluation: seconds from start, the variable's value (None: absent), the
/// rule state after it, the changes it produced (kind, notified?).
type Step = (i64, Option<f64>, RuleState, &'static [(ChangeKind, bool)]);

fn engine_for(config: RuleConfig) -> AlertEngine {
    AlertEngine::new(
        vec![Rule::from_config(&config, &["x".to_string()]).unwrap()],
        vec![],
    )
}

/// Runs `config` through `steps` with variable `x`.
fn check(config: RuleConfig, steps: &[Step]) {
    let engine = engine_for(config.clone());
    for (i, &(secs, value, state, want)) in steps.iter().enumerate() {
        let snap = value.map_or_else(Snapshot::default, |v| snapshot(&[("x", v)]));
        let changes = engine.evaluate(&snap, at(secs));
        let context = format!("{} step {i} (t={secs}s, x={value:?})", config.expr);
        assert_eq!(engine.rules_status()[0].state, state, "{context}");
        let got: Vec<(ChangeKind, bool)> = changes
            .iter()
            .map(|c| (c.kind, c.held_back.is_none()))
            .collect();
        assert_eq!(got, want, "{context}: {changes:?}");
    }
}

fn rule(expr: &str) -> RuleConfig {
    RuleConfig::new("r", expr)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn transitions_table() {
    let cases: Vec<(RuleConfig, Vec<Step>)> = vec![
        // Fires at once without `for`, resolves, fires again.
        (
            rule("x > 10"),
            vec![
                (0, Some(5.0), S::Ok, &[]),
                (15, Some(11.0), S::Firing, &[(C::Firing, true)]),
                (30, Some(12.0), S::Firing, &[]),
                (45, Some(10.0), S::Ok, &[(C::Resolved, true)]),
                (60, Some(11.0), S::Firing, &[(C::Firing, true)]),
            ],
        ),
        // Waits for `for`.
        (
            RuleConfig {
                for_duration: secs(60),
                ..rule("x > 5000")
            },
            vec![
                (0, Some(5001.0), S::Pending, &[(C::Pending, true)]),
                (59, Some(6000.0), S::Pending, &[]),
                (60, Some(7000.0), S::Firing, &[(C::Firing, true)]),
                (90, Some(100.0), S::Ok, &[(C::Resolved, true)]),
            ],
        ),
        // A pending alert that stops holding restarts the clock.
        (
            RuleConfig {
                for_duration: secs(60),
                ..rule("x < 0.8")
            },
            vec![
                (0, Some(0.5), S::Pending, &[(C::Pending, true)]),
                (30, Some(0.9), S::Ok, &[(C::Cleared, true)]),
                (45, Some(0.7), S::Pending, &[(C::Pending, true)]),
                (104, Some(0.7), S::Pending, &[]),
                (105, Some(0.7), S::Firing, &[(C::Firing, true)]),
            ],
        ),
        // Missing data is no_data and ends alerts.
        (
            rule("x > 10"),
            vec![
                (0, None, S::NoData, &[]),
                (15, Some(11.0), S::Firing, &[(C::Firing, true)]),
                (30, None, S::NoData, &[(C::Resolved, true)]),
                (60, Some(1.0), S::Ok, &[]),
            ],
        ),
        // on_no_data: alerting — missing data is the problem.
        (
            RuleConfig {
                on_no_data: NoDataPolicy::Alerting,
                ..rule("x > 10")
            },
            vec![
                (0, None, S::Firing, &[(C::Firing, true)]),
                (15, Some(1.0), S::Ok, &[(C::Resolved, true)]),
            ],
        ),
        // keep_firing_for smooths a flap.
        (
            RuleConfig {
                keep_firing_for: secs(60),
                ..rule("x > 10")
            },
            vec![
                (0, Some(11.0), S::Firing, &[(C::Firing, true)]),
                (30, Some(1.0), S::Firing, &[]),
                (45, Some(12.0), S::Firing, &[]),
                (100, Some(1.0), S::Firing, &[]),
                (105, Some(1.0), S::Ok, &[(C::Resolved, true)]),
            ],
        ),
        // Reminders every repeat_interval while firing.
        (
            RuleConfig {
                repeat_interval: secs(60),
                ..rule("x > 10")
            },
            vec![
                (0, Some(11.0), S::Firing, &[(C::Firing, true)]),
                (59, Some(11.0), S::Firing, &[]),
                (60, Some(11.0), S::Firing, &[(C::Reminder, true)]),
                (100, Some(11.0), S::Firing, &[]),
                (120, Some(11.0), S::Firing, &[(C::Reminder, true)]),
            ],
        ),
        // Cooldown: a new firing soon after the last notified one is not notified,
        // and neither is its resolution.
        (
            RuleConfig {
                cooldown: secs(300),
                ..rule("x > 10")
            },
            vec![
                (0, Some(11.0), S::Firing, &[(C::Firing, true)]),
                (15, Some(1.0), S::Ok, &[(C::Resolved, true)]),
                (30, Some(11.0), S::Firing, &[(C::Firing, false)]),
                (45, Some(1.0), S::Ok, &[(C::Resolved, false)]),
                (300, Some(11.0), S::Firing, &[(C::Firing, true)]),
            ],
        ),
        // max_per_hour.
        (
            RuleConfig {
                max_per_hour: 2,
                ..rule("x > 10")
            },
            vec![
                (0, Some(11.0), S::Firing, &[(C::Firing, true)]),
                (1, Some(1.0), S::Ok, &[(C::Resolved, true)]),
                (2, Some(11.0), S::Firing, &[(C::Firing, true)]),
                (3, Some(1.0), S::Ok, &[(C::Resolved, true)]),
                (4, Some(11.0), S::Firing, &[(C::Firing, false)]),
                (5, Some(1.0), S::Ok, &[(C::Resolved, false)]),
                (3601, Some(11.0), S::Firing, &[(C::Firing, true)]),
            ],
        ),
        // CEL beyond thresholds.
        (
            rule("x > 10 && x < 20"),
            vec![
                (0, Some(15.0), S::Firing, &[(C::Firing, true)]),
                (1, Some(25.0), S::Ok, &[(C::Resolved, true)]),
            ],
        ),
        (
            rule("x == 0"),
            vec![
                (0, Some(0.0), S::Firing, &[(C::Firing, true)]),
                (1, Some(1.0), S::Ok, &[(C::Resolved, true)]),
            ],
        ),
    ];
    for (config, steps) in cases {
        check(config, &steps);
    }
}

#[test]
fn the_alert_record_follows_the_lifecycle() {
    let config = RuleConfig {
        for_duration: secs(60),
        severity: Severity::Error,
        labels: [("service".to_string(), "api".to_string())].into(),
        annotations: [(
            "summary".to_string(),
            "{{ labels.service }} at {{ value }} ms (> {{ threshold }})".to_string(),
        )]
        .into(),
        ..RuleConfig::new("High API Latency", "avg_api_latency_ms > 5000")
    };
    let engine = engine_for(config.clone());
    let snap = |v| snapshot(&[("avg_api_latency_ms", v)]);
    let pending = engine.evaluate(&snap(5500.0), at(0)).remove(0).alert;
    assert_eq!(pending.state, AlertState::Pending);
    assert!(engine.active_alerts().is_empty());
    let firing = engine.evaluate(&snap(6200.0), at(60)).remove(0);
    assert_eq!(firing.alert.id, pending.id);
    assert_eq!(firing.alert.state, AlertState::Firing);
    assert_eq!(
        firing.alert.annotations["summary"],
        "api at 6200 ms (> 5000)"
    );
    assert_eq!(
        firing.alert.fingerprint,
        mon_core::Alert::fingerprint_of("High API Latency", &config.labels)
    );
    let resolved = engine.evaluate(&snap(300.0), at(90)).remove(0);
    assert_eq!(resolved.alert.resolved_at, Some(at(90)));
    assert_ne!(resolved.idempotency_key(), firing.idempotency_key());
    assert!(engine.alerts().is_empty());
}

#[tokio::test]
async fn acknowledge_resolve_and_statistics() {
    let engine = engine_for(RuleConfig {
        repeat_interval: secs(1),
        ..rule("x > 10")
    });
    let now = Utc::now();
    let firing = engine
        .evaluate(&snapshot(&[("x", 11.0)]), now)
        .remove(0)
        .alert;
    let err = engine.acknowledge("nope", "ops", None).await.unwrap_err();
    assert_eq!(err.to_string(), "no open alert with id \"nope\"");
    let acked = engine
        .acknowledge(&firing.id, "ops", Some("looking into it"))
        .await
        .unwrap();
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("ops"));
    let again = engine
        .acknowledge(&firing.id, "ops", Some("looking into it"))
        .await
        .unwrap_err();
    assert!(
        again
            .to_string()
            .contains("is acknowledged; only a firing alert"),
        "{again}"
    );
    // No reminders once acknowledged.
    let later = now + chrono::TimeDelta::seconds(10);
    assert!(engine.evaluate(&snapshot(&[("x", 11.0)]), later).is_empty());
    let stats = engine.stats(now).await;
    assert_eq!(stats.by_state["acknowledged"], 1);
    assert_eq!(stats.by_severity["warning"], 1);
    assert_eq!(
        stats.response.mean_time_to_acknowledge_seconds, None,
        "no store"
    );
    let resolved = engine.resolve(&firing.id, "ops", None).await.unwrap();
    assert_eq!(resolved.state, AlertState::Resolved);
    assert!(engine.alerts().is_empty());
    assert!(engine.stats(now).await.by_state.is_empty());
    // Still holding: the next evaluation opens a new alert.
    let reopened = engine.evaluate(&snapshot(&[("x", 11.0)]), later).remove(0);
    assert_eq!(reopened.kind, ChangeKind::Firing);
    assert_ne!(reopened.alert.id, firing.id);
}

#[tokio::test]
async fn silences_hold_back_notifications_but_not_state() {
    let engine = engine_for(RuleConfig {
        labels: [("service".to_string(), "api".to_string())].into(),
        ..rule("x > 10")
    });
    let now = Utc::now();
    engine
        .add_silence(Silence {
            id: "s1".into(),
            matchers: vec![Matcher::eq("service", "api")],
            starts_at: now - chrono::TimeDelta::minutes(1),
            ends_at: now + chrono::TimeDelta::hours(1),
            created_by: "ops".into(),
            comment: "deploy".into(),
        })
        .await
        .unwrap();
    let change = engine.evaluate(&snapshot(&[("x", 11.0)]), now).remove(0);
    assert_eq!(change.kind, ChangeKind::Firing);
    assert_eq!(change.held_back.as_deref(), Some("silenced by s1"));
    assert!(change.alert.silenced);
    assert_eq!(engine.active_alerts().len(), 1);
    assert!(engine.active_alerts()[0].silenced, "the API shows it muted");
    let expired = engine.expire_silence("s1").await.unwrap().unwrap();
    assert!(!engine.active_alerts()[0].silenced, "no longer muted");
    assert!(!expired.active(Utc::now() + chrono::TimeDelta::seconds(1)));
    assert!(engine.expire_silence("nope").await.unwrap().is_none());
}

#[test]
fn each_check_is_its_own_alert() {
    let engine = AlertEngine::new(
        vec![
            Rule::from_config(
                &RuleConfig {
                    each: Some(Each::Checks),
                    annotations: [("summary".to_string(), "{{ labels.check }} down".to_string())]
                        .into(),
                    ..RuleConfig::new("Component Unhealthy", "check.status == 'unhealthy'")
                },
                &[],
            )
            .unwrap(),
        ],
        vec![],
    );
    let checks = |statuses: &[(&str, Status)]| {
        let mut s = Snapshot::default();
        for (name, status) in statuses {
            s.checks.insert(
                name.to_string(),
                CheckSnapshot {
                    status: *status,
                    latency_ms: Some(3.0),
                    critical: false,
                },
            );
        }
        s
    };
    assert!(engine.evaluate(&Snapshot::default(), at(0)).is_empty());
    assert_eq!(engine.rules_status()[0].state, S::NoData);
    let changes = engine.evaluate(
        &checks(&[
            ("api", Status::Unhealthy),
            ("stt", Status::Unhealthy),
            ("tts", Status::Healthy),
        ]),
        at(1),
    );
    let fired: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c.alert.labels["check"].as_str(),
                c.alert.annotations["summary"].as_str(),
            )
        })
        .collect();
    assert_eq!(fired, [("api", "api down"), ("stt", "stt down")]);
    assert_ne!(changes[0].alert.fingerprint, changes[1].alert.fingerprint);
    // stt recovers; api stays; a check that disappears resolves.
    let changes = engine.evaluate(
        &checks(&[("api", Status::Unhealthy), ("stt", Status::Healthy)]),
        at(2),
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (changes[0].kind, changes[0].alert.labels["check"].as_str()),
        (C::Resolved, "stt")
    );
    let changes = engine.evaluate(&checks(&[("stt", Status::Healthy)]), at(3));
    assert_eq!(
        (changes[0].kind, changes[0].alert.labels["check"].as_str()),
        (C::Resolved, "api")
    );
}

#[test]
fn closure_rules_and_evaluation_errors() {
    let flaky = Rule::from_fn("flaky", Severity::Warning, |s: &Snapshot| {
        if s.get("boom").is_some() {
            panic!("bug in rule");
        }
        Some(RuleValue {
            holds: true,
            value: None,
        })
    });
    let engine = AlertEngine::new(vec![flaky], vec![]);
    assert_eq!(engine.evaluate(&Snapshot::default(), at(0)).len(), 1);
    let changes = engine.evaluate(&snapshot(&[("boom", 1.0)]), at(15));
    assert!(
        changes.is_empty(),
        "an evaluation error neither resolves nor re-fires"
    );
    let status = &engine.rules_status()[0];
    assert_eq!(status.state, S::Error);
    assert_eq!(
        status.error.as_deref(),
        Some("the rule's condition panicked")
    );
    assert_eq!(engine.active_alerts().len(), 1, "the firing alert is kept");

    // A CEL expression that does not give a boolean is an error state too (`x + 1.0`
    // is refused at load; a custom variable's type is only known at run time).
    let engine = engine_for(rule("x"));
    engine.evaluate(&snapshot(&[("x", 1.0)]), at(0));
    let status = &engine.rules_status()[0];
    assert_eq!(status.state, S::Error);
    assert!(
        status
            .error
            .as_deref()
            .unwrap()
            .contains("must be true or false"),
        "{status:?}"
    );
}
