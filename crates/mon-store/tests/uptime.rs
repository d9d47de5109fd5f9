//! Uptime over trailing windows, counted from real check results in a real SQLite file.

mod common;

use common::check_row;
use mon_core::Status;
use mon_store::{Store, StoreOptions, WriteBatch};
use std::time::Duration;

const MINUTE_MS: i64 = 60_000;
const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn uptime_per_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let now_ms = 1_800_000_000_000;
    // Last hour: 3 up, 1 down. 2–3 hours ago: 1 degraded (up), 3 down. A day ago: 2 down.
    // Another check's rows must not count.
    let rows = [
        ("api", Status::Healthy, 5),
        ("api", Status::Healthy, 15),
        ("api", Status::Degraded, 25),
        ("api", Status::Unhealthy, 35),
        ("api", Status::Degraded, 130),
        ("api", Status::Unhealthy, 140),
        ("api", Status::Unhealthy, 150),
        ("api", Status::Unhealthy, 160),
        ("api", Status::Unhealthy, 25 * 60),
        ("api", Status::Unhealthy, 25 * 60 + 1),
        ("db", Status::Unhealthy, 5),
    ]
    .map(|(check, status, minutes_ago)| {
        check_row(check, status, now_ms - minutes_ago * MINUTE_MS, 1)
    });
    store
        .write(WriteBatch::from_check_results(rows.to_vec()))
        .await
        .unwrap();

    let now = common::at(now_ms);
    let windows = [HOUR, 24 * HOUR, 7 * 24 * HOUR];
    let mut all = store
        .check_uptimes(vec!["api".into(), "nope".into()], &windows, now)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let none = all.pop().unwrap();
    let got = all.pop().unwrap();
    let counts: Vec<(u64, u64)> = got.iter().map(|w| (w.runs, w.up_runs)).collect();
    assert_eq!(counts, [(4, 3), (8, 4), (10, 4)]);
    assert_eq!(got[0].percent(), Some(75.0));
    assert_eq!(got[1].percent(), Some(50.0));
    assert_eq!(got[2].window, 7 * 24 * HOUR);

    assert!(none.iter().all(|w| w.runs == 0 && w.percent().is_none()));
    let empty = store
        .check_uptimes(vec!["api".into()], &[], now)
        .await
        .unwrap();
    assert_eq!(empty, [Vec::new()]);
    store.close().await.unwrap();
}

/// The history bars: one aggregate query, every check's buckets oldest first, each
/// bucket counted from its own runs and coloured by the worst of them.
#[tokio::test]
async fn history_buckets_count_each_check_in_its_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let now_ms = 1_800_000_000_000;
    // 4 buckets of an hour over the last 4 hours.
    let rows = [
        ("api", Status::Healthy, 230),   // bucket 0
        ("api", Status::Healthy, 200),   // bucket 0
        ("api", Status::Degraded, 150),  // bucket 1
        ("api", Status::Healthy, 140),   // bucket 1
        ("api", Status::Unhealthy, 100), // bucket 2
        ("api", Status::Healthy, 90),    // bucket 2
        ("api", Status::Healthy, 0),     // now: the last bucket
        ("api", Status::Unhealthy, 300), // before the range
        ("db", Status::Unknown, 10),     // bucket 3
        ("other", Status::Unhealthy, 10),
    ]
    .map(|(check, status, minutes_ago)| {
        check_row(check, status, now_ms - minutes_ago * MINUTE_MS, 1)
    });
    store
        .write(WriteBatch::from_check_results(rows.to_vec()))
        .await
        .unwrap();
    let now = common::at(now_ms);
    let history = store
        .check_history(
            vec!["api".into(), "db".into(), "nope".into()],
            4 * HOUR,
            4,
            now,
        )
        .await
        .unwrap();
    assert_eq!(history.len(), 3);
    let api = &history[0];
    let counts: Vec<(u64, u64, u64, u64)> = api
        .iter()
        .map(|b| (b.runs, b.up, b.degraded, b.down))
        .collect();
    assert_eq!(
        counts,
        [(2, 2, 0, 0), (2, 2, 1, 0), (2, 1, 0, 1), (1, 1, 0, 0)]
    );
    let states: Vec<&str> = api.iter().map(|b| b.state()).collect();
    assert_eq!(states, ["up", "degraded", "down", "up"]);
    assert_eq!(api[2].percent(), Some(50.0));
    assert_eq!(api[0].start, common::at(now_ms - 4 * 60 * MINUTE_MS));
    assert_eq!(api[3].start, common::at(now_ms - 60 * MINUTE_MS));
    // An unknown run is not up: the bucket shows as degraded.
    assert_eq!(history[1][3].state(), "degraded");
    assert_eq!(history[1][0].state(), "none");
    assert!(
        history[2]
            .iter()
            .all(|b| b.runs == 0 && b.percent().is_none())
    );
    // Bad shapes are refused, not divided by zero.
    for (window, buckets) in [(HOUR, 0), (Duration::from_millis(3), 4)] {
        let refused = store
            .check_history(vec!["api".into()], window, buckets, now)
            .await;
        assert!(
            matches!(refused, Err(mon_store::StoreError::InvalidInput { .. })),
            "{window:?} {buckets}: {refused:?}"
        );
    }
}
