//! The per-rule alert history on a real SQLite file, written as the alert engine writes
//! it (alert rows and their transitions through the writer): firings counted by rule
//! from `since` on, acknowledged, self-resolved within the flap window (by the rule,
//! unacknowledged), resolved by hand, held back by a silence or maintenance window, open;
//! alerts raised from outside the rules left out.

use chrono::{DateTime, Utc};
use mon_core::AlertState;
use mon_store::{AlertWrite, RuleQuality, Store, StoreOptions, WriteBatch};
use std::time::Duration;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

/// The alert `id` of `rule`, resolved or open.
fn alert(rule: &str, id: &str, state: AlertState) -> AlertWrite {
    AlertWrite::Alert(
        mon_tests::alert(rule)
            .id(id)
            .fingerprint(&format!("fp-{rule}"))
            .state(state)
            .started_at(at(0))
            .updated_at(at(0))
            .build(),
    )
}

/// fired, acknowledged, unacknowledged, self-resolved, silenced, open.
fn counts(q: &RuleQuality) -> (u64, u64, u64, u64, u64, u64) {
    (
        q.fired,
        q.acknowledged,
        q.unacknowledged,
        q.self_resolved,
        q.silenced,
        q.open,
    )
}

fn event(id: &str, kind: &str, secs: i64, detail: &str) -> AlertWrite {
    AlertWrite::Event {
        alert_id: id.into(),
        at: at(secs),
        kind: kind.into(),
        detail: detail.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rules_firings_are_counted_from_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let mut writes = Vec::new();
    // Flappy: six firings the rule resolved a minute later, the last one silenced; one
    // it resolved after 20 minutes; one a person resolved after 30 s.
    for n in 0..6 {
        let id = format!("flap-{n}");
        let start = 1000 + n * 600;
        let firing_by = match n {
            5 => "rule (not notified: silenced by sil-1)",
            _ => "rule",
        };
        writes.extend([
            alert("Flappy", &id, AlertState::Resolved),
            event(&id, "pending", start - 10, "rule"),
            event(&id, "firing", start, firing_by),
            event(&id, "resolved", start + 60, "rule"),
        ]);
    }
    writes.extend([
        alert("Flappy", "slow", AlertState::Resolved),
        event("slow", "firing", 9000, "rule"),
        event("slow", "resolved", 9000 + 1200, "rule"),
        alert("Flappy", "by-hand", AlertState::Resolved),
        event("by-hand", "firing", 9500, "rule"),
        event("by-hand", "resolved", 9530, "bob: a false alarm"),
    ]);
    // Handled: acknowledged after 2 minutes, resolved by hand after an hour; a second
    // one still open, held back by a maintenance window.
    writes.extend([
        alert("Handled", "h1", AlertState::Resolved),
        event("h1", "firing", 1000, "rule"),
        event("h1", "acknowledged", 1120, "alice: looking"),
        event("h1", "resolved", 4600, "alice"),
        alert("Handled", "h2", AlertState::Firing),
        event(
            "h2",
            "firing",
            5000,
            "rule (not notified: maintenance window nightly)",
        ),
    ]);
    // Before the period: not counted.
    writes.extend([
        alert("Old", "o1", AlertState::Resolved),
        event("o1", "firing", 10, "rule"),
        event("o1", "resolved", 20, "rule"),
    ]);
    // Raised from outside the rules: not a rule's alert.
    let mut raised = mon_tests::alert("TTS down")
        .id("r1")
        .state(AlertState::Resolved)
        .build();
    raised.source = Some("api:agent".to_string());
    writes.extend([
        AlertWrite::Alert(raised),
        event("r1", "firing", 1000, "api:agent"),
        event("r1", "resolved", 1010, "api:agent"),
    ]);
    store
        .write(WriteBatch::from_alerting(writes))
        .await
        .unwrap();

    let rules = store
        .alert_quality(at(500), at(1_000_000), Duration::from_secs(300))
        .await
        .unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(names, ["Flappy", "Handled"]);

    let flappy = &rules[0];
    assert_eq!(counts(flappy), (8, 0, 8, 6, 1, 0));
    assert_eq!(flappy.median_self_resolved_seconds, Some(60.0));
    // Six of 60 s, one of 30 s, one of 1,200 s.
    assert_eq!(flappy.median_firing_seconds, Some(60.0));
    assert_eq!(
        flappy.mean_time_to_resolve_seconds,
        Some((6.0 * 60.0 + 30.0 + 1200.0) / 8.0)
    );
    assert_eq!(flappy.mean_time_to_acknowledge_seconds, None);

    let handled = &rules[1];
    assert_eq!(counts(handled), (2, 1, 0, 0, 1, 1));
    assert_eq!(handled.mean_time_to_acknowledge_seconds, Some(120.0));
    assert_eq!(handled.median_firing_seconds, Some(3600.0));

    // A shorter flap window: a minute-long firing no longer counts as self-resolved.
    let strict = store
        .alert_quality(at(500), at(1_000_000), Duration::from_secs(59))
        .await
        .unwrap();
    assert_eq!(strict[0].self_resolved, 0);
    // A later start leaves the earlier firings out.
    let later = store
        .alert_quality(at(9000), at(1_000_000), Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!((later[0].fired, later[0].self_resolved), (2, 0));
    store.close().await.unwrap();
}
