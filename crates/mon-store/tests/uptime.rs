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
