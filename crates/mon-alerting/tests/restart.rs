//! Restarts of the alert engine on a real SQLite store: open alerts come back with
//! their ids and are held open while their data is not back (until the restart
//! grace passes); cooldown, max_per_hour and reminders go on where they were.

use chrono::{DateTime, TimeDelta, Utc};
use mon_alerting::{AlertEngine, AlertingConfig, ChangeKind, CheckSnapshot, Snapshot};
use mon_core::Status;
use mon_store::{Store, StoreOptions};
use std::path::Path;

const RULES: &str = "default_rules: false
channels: []
rules:
  - { name: Hot, expr: cpu_percent > 80 }
  - { name: Down, each: checks, expr: \"check.status == 'unhealthy'\" }
";

/// One life of the engine on the store at `path`.
async fn life(path: &Path, rules: &str, run: impl AsyncFnOnce(&AlertEngine)) {
    let store = Store::open(path, StoreOptions::default()).unwrap();
    let config: AlertingConfig = serde_yaml_ng::from_str(rules).unwrap();
    let engine = config.build_with_store(store.clone()).unwrap();
    run(&engine).await;
    drop(engine);
    store.close().await.unwrap();
}

fn check(status: Status, latency_ms: Option<f64>) -> CheckSnapshot {
    CheckSnapshot {
        status,
        latency_ms,
        critical: true,
    }
}

/// cpu_percent (if any) and the check `db` (if any).
fn snapshot(cpu: Option<f64>, db: Option<CheckSnapshot>) -> Snapshot {
    let mut s = Snapshot::default();
    if let Some(cpu) = cpu {
        s.set("cpu_percent", cpu);
    }
    if let Some(db) = db {
        s.checks.insert("db".to_string(), db);
    }
    s
}

/// (rule, id) of every open alert.
fn open(engine: &AlertEngine) -> Vec<(String, String)> {
    let mut open: Vec<_> = engine
        .alerts()
        .into_iter()
        .map(|a| (a.rule, a.id))
        .collect();
    open.sort();
    open
}

fn kinds(changes: &[mon_alerting::AlertChange]) -> Vec<(String, ChangeKind)> {
    changes
        .iter()
        .map(|c| (c.alert.rule.clone(), c.kind))
        .collect()
}

#[tokio::test]
async fn restored_alerts_wait_for_their_data_then_follow_it() {
    let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let at = |s: i64| t0 + TimeDelta::seconds(s);
    let down = || Some(check(Status::Unhealthy, Some(3.0)));
    let grace = i64::try_from(mon_alerting::DEFAULT_RESTART_GRACE.as_secs()).unwrap();
    // (what the first evaluations after the restart see, at seconds after t0 + 100;
    //  what changes at the last of them)
    let hot = || ("Hot".to_string(), ChangeKind::Resolved);
    let db = || ("Down".to_string(), ChangeKind::Resolved);
    type Case = (
        &'static str,
        Vec<(i64, Snapshot)>,
        Vec<(String, ChangeKind)>,
    );
    let cases: Vec<Case> = vec![
        ("nothing yet", vec![(0, snapshot(None, None))], vec![]),
        (
            "check registered, not run yet",
            vec![(1, snapshot(None, Some(check(Status::Unknown, None))))],
            vec![],
        ),
        (
            "data back, still holding",
            vec![(0, snapshot(None, None)), (5, snapshot(Some(95.0), down()))],
            vec![],
        ),
        (
            "data back, no longer holding",
            vec![
                (0, snapshot(None, None)),
                (
                    5,
                    snapshot(Some(10.0), Some(check(Status::Healthy, Some(1.0)))),
                ),
            ],
            vec![hot(), db()],
        ),
        (
            "no data until the grace has passed",
            vec![(0, snapshot(None, None)), (grace, snapshot(None, None))],
            vec![hot(), db()],
        ),
        (
            "data back, then gone again: no more grace",
            vec![(0, snapshot(Some(95.0), down())), (5, snapshot(None, None))],
            vec![hot(), db()],
        ),
    ];
    for (name, steps, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mon.db");
        let mut before = Vec::new();
        life(&path, RULES, async |engine| {
            let changes = engine
                .evaluate_and_record(&snapshot(Some(95.0), down()), at(0))
                .await;
            assert_eq!(changes.len(), 2, "{name}: both fire");
            before = open(engine);
        })
        .await;
        life(&path, RULES, async |engine| {
            assert_eq!(open(engine), before, "{name}: restored with their ids");
            let mut last = Vec::new();
            for (s, snapshot) in &steps {
                last = engine.evaluate_and_record(snapshot, at(100 + s)).await;
            }
            assert_eq!(kinds(&last), want, "{name}");
            if want.is_empty() {
                assert_eq!(open(engine), before, "{name}: still the same alerts");
            }
        })
        .await;
    }
}

#[tokio::test]
async fn cooldown_max_per_hour_and_reminders_survive_a_restart() {
    let rules = "default_rules: false
channels: []
rules:
  - { name: Cool, expr: cpu_percent > 80, cooldown: 10m }
  - { name: Capped, each: checks, expr: \"check.status == 'unhealthy'\", max_per_hour: 1 }
  - { name: Remind, expr: memory_percent > 90, repeat_interval: 1h }
";
    let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let at = |m: i64| t0 + TimeDelta::minutes(m);
    let snap = |checks: &[&str]| {
        let mut s = Snapshot::default();
        s.set("cpu_percent", 95.0);
        s.set("memory_percent", 95.0);
        for name in checks {
            s.checks
                .insert((*name).to_string(), check(Status::Unhealthy, Some(1.0)));
        }
        s
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let mut cool_id = String::new();
    life(&path, rules, async |engine| {
        let changes = engine.evaluate_and_record(&snap(&["a"]), at(0)).await;
        assert_eq!(changes.len(), 3);
        assert!(changes.iter().all(|c| c.held_back.is_none()), "{changes:?}");
        cool_id = engine
            .alerts()
            .into_iter()
            .find(|a| a.rule == "Cool")
            .unwrap()
            .id;
    })
    .await;
    life(&path, rules, async |engine| {
        // Resolved by hand, Cool opens again at once: within its cooldown, not notified.
        engine.resolve(&cool_id, "test", None).await.unwrap();
        let changes = engine.evaluate_and_record(&snap(&["a", "b"]), at(2)).await;
        let held = |rule: &str| {
            changes
                .iter()
                .find(|c| c.alert.rule == rule && c.kind == ChangeKind::Firing)
                .and_then(|c| c.held_back.clone())
                .unwrap_or_else(|| panic!("no firing of {rule}: {changes:?}"))
        };
        assert!(held("Cool").contains("cooldown"), "{changes:?}");
        // Capped already notified once this hour (check a): b is held back.
        assert!(held("Capped").contains("max_per_hour"), "{changes:?}");
        // Remind was notified at 0: no reminder before an hour has passed...
        let early = engine.evaluate_and_record(&snap(&["a", "b"]), at(30)).await;
        assert!(early.is_empty(), "{early:?}");
    })
    .await;
    life(&path, rules, async |engine| {
        // ...and one once it has, across a second restart.
        let changes = engine.evaluate_and_record(&snap(&["a", "b"]), at(61)).await;
        assert_eq!(
            kinds(&changes),
            [("Remind".to_string(), ChangeKind::Reminder)],
            "{changes:?}"
        );
    })
    .await;
}
