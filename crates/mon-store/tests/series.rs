//! Time series: rollups into 1m and 1h buckets through the writer, their retention, range
//! queries choosing the resolution by range, and application events — on a real SQLite file.

mod common;

use chrono::{DateTime, Utc};
use common::{at, labels, sample};
use mon_store::{AppEventRow, Resolution, SeriesPolicy, Store, StoreOptions, WriteBatch};
use std::time::Duration;

const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

#[test]
fn resolution_is_chosen_by_range() {
    for (secs, want) in [
        (60, Resolution::Raw),
        (6 * 3600, Resolution::Raw),
        (6 * 3600 + 1, Resolution::Minute),
        (7 * 86_400, Resolution::Minute),
        (30 * 86_400, Resolution::Hour),
    ] {
        assert_eq!(
            Resolution::for_range(Duration::from_secs(secs)),
            want,
            "{secs}s"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_fold_raw_samples_and_queries_read_them_by_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    // "now" is 10:00:30 on some day; raw samples every 10 s from 09:58:00 to 09:59:50,
    // for three series (two of one metric), so two complete minutes exist.
    let base: i64 = 1_700_000_000_000 / HOUR * HOUR + 10 * HOUR;
    let now = at(base + 30_000);
    let mut samples = Vec::new();
    for i in 0..12 {
        let ts = base - 2 * MIN + i * 10_000;
        samples.push(sample("latency_ms", &[("endpoint", "/a")], ts, i as f64));
        samples.push(sample("latency_ms", &[("endpoint", "/b")], ts, 100.0));
        samples.push(sample("cpu_percent", &[], ts, 50.0));
    }
    store
        .write(WriteBatch::from_samples(samples))
        .await
        .unwrap();

    let policy = SeriesPolicy {
        batch_series: 2, // three series: two rollup transactions per resolution
        ..SeriesPolicy::default()
    };
    let report = store.series_maintenance(&policy, now).await.unwrap();
    // 3 series × 2 minutes, then 3 series × 1 hour bucket.
    assert_eq!(report.rolled_up, 6 + 3);
    assert!(report.transactions >= 4, "{report:?}");
    // Idempotent: a second pass rewrites the same buckets, no duplicates.
    store.series_maintenance(&policy, now).await.unwrap();

    // 2 hours back → raw; step of one minute folds six samples per point.
    let a = labels(&[("endpoint", "/a")]);
    let raw = store
        .query_series(
            "latency_ms",
            &a,
            at(base - 2 * HOUR),
            now,
            Some(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].resolution, Resolution::Raw);
    let counts: Vec<u64> = raw[0].points.iter().map(|p| p.count).collect();
    assert_eq!(counts, [6, 6]);
    assert_eq!(raw[0].points[0].min, 0.0);
    assert_eq!(raw[0].points[0].max, 5.0);
    assert_eq!(raw[0].points[1].avg, 8.5);

    // One day back → 1-minute rollups, both series of the metric without a filter.
    let minute = store
        .query_series("latency_ms", &labels(&[]), at(base - 24 * HOUR), now, None)
        .await
        .unwrap();
    assert_eq!(minute.len(), 2);
    assert!(minute.iter().all(|s| s.resolution == Resolution::Minute));
    let b = &minute[1];
    assert_eq!(b.labels, labels(&[("endpoint", "/b")]));
    assert_eq!(b.points.len(), 2);
    assert_eq!(b.points[0].ts, at(base - 2 * MIN));
    assert_eq!((b.points[0].count, b.points[0].sum), (6, 600.0));

    // 30 days back → hourly rollups of the 1m rows.
    let hour = store
        .query_series("latency_ms", &a, at(base - 30 * 24 * HOUR), now, None)
        .await
        .unwrap();
    assert_eq!(hour[0].resolution, Resolution::Hour);
    assert_eq!(hour[0].points.len(), 1);
    let p = &hour[0].points[0];
    assert_eq!((p.count, p.min, p.max, p.sum), (12, 0.0, 11.0, 66.0));
    assert_eq!(p.ts, at(base - HOUR));

    // Retention: 8 days later the 1m rows are gone, the 1h rows stay.
    let later: DateTime<Utc> = at(base + 8 * 24 * HOUR);
    let pruned = store.series_maintenance(&policy, later).await.unwrap();
    assert_eq!(pruned.deleted, 6);
    let minute = store
        .query_series("latency_ms", &a, at(base - 24 * HOUR), now, None)
        .await
        .unwrap();
    assert!(minute[0].points.is_empty());
    let hour = store
        .query_series("latency_ms", &a, at(base - 30 * 24 * HOUR), now, None)
        .await
        .unwrap();
    assert_eq!(hour[0].points.len(), 1);

    // Bad ranges are refused.
    assert!(
        store
            .query_series("x", &a, now, at(base), None)
            .await
            .is_err()
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_events_are_written_atomically_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let mut batch = WriteBatch::default();
    for i in 0..1000 {
        batch.app_events.push(AppEventRow {
            ts: at(i * 1000),
            kind: "request".into(),
            body: format!("{{\"i\":{i}}}"),
            source: None,
        });
    }
    assert_eq!(batch.row_count(), 1000);
    store.write(batch).await.unwrap();
    let count = |path: &std::path::Path| -> i64 {
        let c = rusqlite::Connection::open(path).unwrap();
        c.query_row("SELECT COUNT(*) FROM app_events", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&path), 1000);
    // Events older than a day before "now" (= 1,000 s + 1 day - 500 s) go, 10 per step × 50.
    let policy = SeriesPolicy {
        batch_series: 50,
        ..SeriesPolicy::default()
    };
    let report = store
        .series_maintenance(&policy, at(86_400_000 + 500_000))
        .await
        .unwrap();
    assert_eq!(report.deleted, 500);
    assert_eq!(count(&path), 500);
    store.close().await.unwrap();
}
