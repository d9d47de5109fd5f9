//! The alert-quality report over a real store: alert histories and a variable's series
//! written through the store's writer as the engine and the sampler write them; each
//! noisy rule's suggestion is what its expression and the recorded values allow — a
//! threshold at the 99th percentile of the unlabelled series, none for a compound
//! expression, a variable without a series or a threshold already that rare — and a
//! `for` past its current one plus the median self-resolved alert.

use chrono::{DateTime, TimeDelta, Utc};
use mon_alerting::{AlertEngine, Rule, RuleConfig};
use mon_api::quality::{AlertQualityAnswer, RuleQualityView, Verdict};
use mon_core::AlertState;
use mon_store::{AlertWrite, Sample, Store, StoreOptions, WriteBatch};
use std::collections::BTreeMap;
use std::time::Duration;

/// Five alerts of `rule`, each resolved by the rule 90 s after firing.
fn flapping(rule: &str, start: DateTime<Utc>) -> Vec<AlertWrite> {
    let mut writes = Vec::new();
    for n in 0..5 {
        let id = format!("{rule}-{n}");
        let fired = start + TimeDelta::minutes(5 * n);
        let event = |kind: &str, at| AlertWrite::Event {
            alert_id: id.clone(),
            at,
            kind: kind.into(),
            detail: "rule".into(),
        };
        writes.extend([
            AlertWrite::Alert(
                mon_tests::alert(rule)
                    .id(&id)
                    .state(AlertState::Resolved)
                    .started_at(fired)
                    .updated_at(fired)
                    .build(),
            ),
            event("firing", fired),
            event("resolved", fired + TimeDelta::seconds(90)),
        ]);
    }
    writes
}

fn rule(name: &str, expr: &str, for_duration: Duration) -> Rule {
    let mut config = RuleConfig::new(name, expr);
    config.for_duration = for_duration;
    Rule::from_config(&config, &[]).unwrap()
}

fn row<'a>(report: &'a AlertQualityAnswer, rule: &str) -> &'a RuleQualityView {
    report
        .rules
        .iter()
        .find(|r| r.rule == rule)
        .unwrap_or_else(|| panic!("no row for {rule}: {report:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_come_from_the_expression_and_the_recorded_series() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let now = Utc::now();
    let since = now - TimeDelta::hours(1);
    let start = now - TimeDelta::minutes(50);

    let mut writes = Vec::new();
    for name in ["Slow API", "Combo", "No Series", "Already Rare", "Gone"] {
        writes.extend(flapping(name, start));
    }
    store
        .write(WriteBatch::from_alerting(writes))
        .await
        .unwrap();
    // avg_api_latency_ms took 10, 20 ... 1000; a labelled source's series is far higher
    // and is not what rules read.
    let samples = (1..=100)
        .flat_map(|i| {
            let ts = start + TimeDelta::seconds(10 * i);
            [
                Sample {
                    name: "avg_api_latency_ms".into(),
                    labels: BTreeMap::new(),
                    ts,
                    value: (10 * i) as f64,
                },
                Sample {
                    name: "avg_api_latency_ms".into(),
                    labels: BTreeMap::from([("source".into(), "demo".into())]),
                    ts,
                    value: 99_999.0,
                },
            ]
        })
        .collect();
    store
        .write(WriteBatch::from_samples(samples))
        .await
        .unwrap();

    let engine = AlertEngine::new(
        vec![
            rule(
                "Slow API",
                "avg_api_latency_ms > 500",
                Duration::from_secs(60),
            ),
            rule(
                "Combo",
                "avg_api_latency_ms > 500 && error_rate_percent > 5",
                Duration::ZERO,
            ),
            rule("No Series", "cpu_percent > 90", Duration::ZERO),
            rule("Already Rare", "avg_api_latency_ms > 995", Duration::ZERO),
            rule("Quiet", "connection_success_rate < 0.1", Duration::ZERO),
        ],
        Vec::new(),
    );
    let report =
        mon_alerting::quality::report(&engine, &store, since, now, Duration::from_secs(300))
            .await
            .unwrap();
    let names: Vec<&str> = report.rules.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(
        names,
        [
            "Slow API",
            "Combo",
            "No Series",
            "Already Rare",
            "Quiet",
            "Gone"
        ]
    );

    let slow = row(&report, "Slow API");
    assert_eq!((slow.verdict, slow.self_resolved), (Verdict::Noisy, 5));
    assert_eq!(slow.suggested_threshold, Some(990.0), "{slow:?}");
    // 1 m of `for` plus 90 s at the median: the next readable duration is 5 m.
    assert_eq!(slow.suggested_for.as_deref(), Some("5m"));
    let text = slow.suggestion.as_deref().unwrap();
    assert!(
        text.contains("`avg_api_latency_ms > 990`") && text.contains("after the current `for: 1m`"),
        "{text}"
    );

    let combo = row(&report, "Combo");
    assert_eq!(combo.verdict, Verdict::Noisy);
    assert_eq!(combo.suggested_threshold, None);
    assert_eq!(combo.suggested_for.as_deref(), Some("2m"));
    let text = combo.suggestion.as_deref().unwrap();
    assert!(
        text.contains("is not a comparison of one variable with a number"),
        "{text}"
    );

    let no_series = row(&report, "No Series");
    assert_eq!(no_series.suggested_threshold, None);
    let text = no_series.suggestion.as_deref().unwrap();
    assert!(
        text.contains("no values of cpu_percent are recorded"),
        "{text}"
    );

    let rare = row(&report, "Already Rare");
    assert_eq!(rare.suggested_threshold, None);
    let text = rare.suggestion.as_deref().unwrap();
    assert!(text.contains("less than 1 % of the period"), "{text}");

    let quiet = row(&report, "Quiet");
    assert_eq!((quiet.verdict, quiet.fired), (Verdict::Quiet, 0));
    assert!(quiet.configured);
    assert_eq!(quiet.suggestion, None);

    let gone = row(&report, "Gone");
    assert_eq!((gone.verdict, gone.configured), (Verdict::Noisy, false));
    assert_eq!(
        gone.suggestion.as_deref(),
        Some("the rule is no longer configured")
    );
    store.close().await.unwrap();
}
