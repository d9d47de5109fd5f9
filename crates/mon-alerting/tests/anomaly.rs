//! Anomaly detection on synthetic series with known injected anomalies (bursts,
//! level shifts, bursts over daily seasonality across three weeks), in simulated time:
//! precision and recall of the default rule's condition stay above stated bounds. And
//! through the engine on a real SQLite store: `anomaly()` is no data while the baseline
//! warms up, the built-in "Request Rate Anomaly" fires on a surge, and baselines come
//! back after a restart.

#[path = "support/anomaly_scenarios.rs"]
mod scenarios;

use mon_alerting::{AlertEngine, AlertingConfig, ChangeKind, RuleState, Snapshot};
use mon_store::{Store, StoreOptions};
use scenarios::{DAY, minute};

/// Precision and recall per scenario, over five seeds: alerts that fire outside every
/// injected anomaly are rare, and nearly every anomaly fires the rule. (A miss is a
/// burst whose noisiest minute dips under the threshold, restarting `for`.)
#[test]
fn precision_and_recall_stay_above_their_bounds() {
    const LEAST_PRECISION: f64 = 0.95;
    const LEAST_RECALL: f64 = 0.9;
    let mut failures = Vec::new();
    for name in ["spikes", "level shifts", "daily seasonality"] {
        let mut total = scenarios::Quality {
            alerts: 0,
            true_alerts: 0,
            anomalies: 0,
            detected: 0,
        };
        for seed in 1..=5 {
            let scenario = scenarios::all(seed)
                .into_iter()
                .find(|s| s.name == name)
                .expect("a scenario of that name");
            let q = scenarios::evaluate(&scenario);
            total.alerts += q.alerts;
            total.true_alerts += q.true_alerts;
            total.anomalies += q.anomalies;
            total.detected += q.detected;
        }
        if total.precision() < LEAST_PRECISION || total.recall() < LEAST_RECALL {
            failures.push(format!("{name}: {total:?}"));
        }
        assert!(total.anomalies > 0 && total.alerts > 0, "{name}: {total:?}");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn rate(value: f64) -> Snapshot {
    let mut s = Snapshot::default();
    s.set("request_rate_per_min", value);
    s
}

fn state(engine: &AlertEngine, rule: &str) -> Option<RuleState> {
    engine
        .rules_status()
        .into_iter()
        .find(|r| r.name == rule)
        .map(|r| r.state)
}

const RULE: &str = "Request Rate Anomaly";

#[tokio::test]
async fn the_built_in_rule_warms_up_fires_on_a_surge_and_its_baseline_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let config: AlertingConfig = serde_yaml_ng::from_str("channels: []").unwrap();

    // First life: two hours of steady traffic, evaluated every 15 s.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let engine = config.build_with_store(store.clone()).unwrap();
    engine.evaluate_and_record(&rate(100.0), minute(0)).await;
    assert_eq!(state(&engine, RULE), Some(RuleState::NoData), "warming up");
    let mut t = minute(0);
    while t < minute(120) {
        t += chrono::TimeDelta::seconds(15);
        engine.evaluate_and_record(&rate(100.0), t).await;
    }
    assert_eq!(state(&engine, RULE), Some(RuleState::Ok));
    let learned = engine.baseline("request_rate_per_min").unwrap();
    assert_eq!(learned.samples(), 121);
    engine.keep_baselines(t, true).await;
    drop(engine);
    store.close().await.unwrap();

    // Second life: the baseline is back, so a surge is scored at once and fires after 5 minutes.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let engine = config.build_with_store(store.clone()).unwrap();
    assert_eq!(engine.baseline("request_rate_per_min"), Some(learned));
    let mut fired = None;
    for second in (0..=600).step_by(15) {
        let at = minute(121) + chrono::TimeDelta::seconds(second);
        let changes = engine.evaluate_and_record(&rate(300.0), at).await;
        if changes
            .iter()
            .any(|c| c.alert.rule == RULE && c.kind == ChangeKind::Firing)
        {
            fired = Some(second);
            break;
        }
    }
    assert_eq!(fired, Some(300), "fires after `for: 5m` of the surge");
    drop(engine);
    store.close().await.unwrap();
}

#[test]
fn a_custom_variable_read_by_anomaly_gets_a_baseline_others_do_not() {
    let config: AlertingConfig = serde_yaml_ng::from_str(
        "default_rules: false
channels: []
custom_variables: [queue_depth, other]
rules:
  - { name: Queue, expr: 'anomaly(\"queue_depth\") > 4' }
",
    )
    .unwrap();
    let engine = config.build().unwrap();
    let mut s = Snapshot::default();
    s.set("queue_depth", 5.0);
    s.set("other", 5.0);
    for i in 0..DAY / 100 {
        engine.evaluate(&s, minute(i));
    }
    assert!(engine.watches_baseline("queue_depth"));
    assert!(!engine.watches_baseline("other"));
    assert_eq!(
        engine.baseline("queue_depth").map(|b| b.samples()),
        Some(14)
    );
    assert!(engine.baseline("other").is_none());
}

#[test]
fn an_unknown_variable_in_anomaly_is_a_config_error_with_its_column() {
    let config: AlertingConfig = serde_yaml_ng::from_str(
        "rules:
  - { name: Typo, expr: 'anomaly(\"request_rate_per_mn\") > 4' }
",
    )
    .unwrap();
    let err = config.build().unwrap_err().to_string();
    assert!(
        err.contains("at column 9") && err.contains("did you mean `request_rate_per_min`?"),
        "{err}"
    );
}
