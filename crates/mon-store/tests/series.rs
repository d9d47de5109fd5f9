//! Time series: rollups into 1m and 1h buckets through the writer, their retention, range
//! queries choosing the resolution by range, and application events — on a real SQLite file.

mod common;

use chrono::{DateTime, Utc};
use common::{at, labels, sample};
use mon_store::{
    AppEventRow, RangePlan, Resolution, RetentionPolicy, SeriesPolicy, Store, StoreOptions,
    WriteBatch,
};
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

    // 2 hours back at a one-minute step → raw samples, six per point; at a 30 s step,
    // three per point; at a one-hour step → the hourly rollups (chosen by the step).
    let a = labels(&[("endpoint", "/a")]);
    for (step, resolution, counts) in [
        (60, Resolution::Raw, &[6u64, 6][..]),
        (30, Resolution::Raw, &[3, 3, 3, 3][..]),
        (3600, Resolution::Hour, &[12][..]),
    ] {
        let got = store
            .query_series(
                "latency_ms",
                &a,
                at(base - 2 * HOUR),
                now,
                Some(Duration::from_secs(step)),
            )
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].resolution, resolution, "step {step}s");
        let got_counts: Vec<u64> = got[0].points.iter().map(|p| p.count).collect();
        assert_eq!(got_counts, counts, "step {step}s");
        assert_eq!(got[0].points[0].min, 0.0);
        assert_eq!(got[0].points.last().unwrap().max, 11.0);
        let sum: f64 = got[0].points.iter().map(|p| p.sum).sum();
        assert_eq!(sum, 66.0, "step {step}s");
    }

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
            arm: None,
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

#[test]
fn the_step_chooses_the_resolution_but_never_finer_than_the_range_allows() {
    let to = at(100 * 24 * HOUR);
    let check = |range_ms: i64, step: Option<u64>, want: Result<(Resolution, i64), &str>| {
        let got = RangePlan::new(
            at(100 * 24 * HOUR - range_ms),
            to,
            step.map(Duration::from_secs),
        );
        match (got, want) {
            (Ok(plan), Ok((resolution, step_ms))) => {
                assert_eq!(
                    (plan.resolution, plan.step_ms),
                    (resolution, step_ms),
                    "{range_ms} {step:?}"
                );
            }
            (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{e}"),
            (got, want) => panic!("{range_ms} ms, step {step:?}: got {got:?}, want {want:?}"),
        }
    };
    check(HOUR, None, Ok((Resolution::Raw, 1)));
    check(HOUR, Some(10), Ok((Resolution::Raw, 10_000)));
    check(HOUR, Some(60), Ok((Resolution::Raw, MIN)));
    check(6 * HOUR, Some(3600), Ok((Resolution::Hour, HOUR)));
    check(24 * HOUR, None, Ok((Resolution::Minute, MIN)));
    check(24 * HOUR, Some(60), Ok((Resolution::Minute, MIN)));
    // The raw samples of a day ago may be gone: a fine step still reads 1-minute rollups.
    check(24 * HOUR, Some(10), Ok((Resolution::Minute, MIN)));
    check(30 * 24 * HOUR, Some(300), Ok((Resolution::Hour, HOUR)));
    check(30 * 24 * HOUR, None, Ok((Resolution::Hour, HOUR)));
    // 1 s over 6 hours is 21,601 points: refused, naming the step.
    check(
        6 * HOUR,
        Some(1),
        Err("step=1000ms over this range gives 21601 points"),
    );
    check(-1, None, Err("before it starts"));
}

/// Expiring the raw samples of a series keeps the series while its rollups remain (they
/// stay readable), and drops it once no table refers to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_retention_keeps_a_series_while_its_rollups_remain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let base: i64 = 1_700_000_000_000 / HOUR * HOUR;
    let samples = (0..12)
        .map(|i| sample("rtt_ms", &[("peer", "x")], base + i * 10_000, i as f64))
        .collect();
    store
        .write(WriteBatch::from_samples(samples))
        .await
        .unwrap();
    let series_policy = SeriesPolicy::default();
    store
        .series_maintenance(&series_policy, at(base + 2 * MIN + 1))
        .await
        .unwrap();

    // Two days later the raw samples (kept one day) expire.
    let two_days = at(base + 48 * HOUR);
    let retention = RetentionPolicy {
        samples: Duration::from_secs(86_400),
        ..RetentionPolicy::default()
    };
    let report = store.prune_once(&retention, two_days).await.unwrap();
    assert_eq!(report.samples, 12);
    assert_eq!(report.series, 0, "the series still has rollups: {report:?}");
    let count = |table: &str| -> i64 {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count("samples"), 0);
    assert_eq!(count("series"), 1);
    // The rollups are still read through the series.
    let minute = store
        .query_series("rtt_ms", &labels(&[]), at(base - HOUR), two_days, None)
        .await
        .unwrap();
    assert_eq!(minute.len(), 1);
    assert_eq!(minute[0].resolution, Resolution::Minute);
    let counts: Vec<u64> = minute[0].points.iter().map(|p| p.count).collect();
    assert_eq!(counts, [6, 6]);

    // After the 1m (7 d) and 1h (90 d) rollups expire too, the series goes.
    let later = at(base + 91 * 24 * HOUR);
    store
        .series_maintenance(&series_policy, later)
        .await
        .unwrap();
    assert_eq!((count("samples_1m"), count("samples_1h")), (0, 0));
    let report = store.prune_once(&retention, later).await.unwrap();
    assert_eq!(report.series, 1, "{report:?}");
    assert_eq!(count("series"), 0);
    store.close().await.unwrap();
}

/// A range scan hands every matching series over once, in label order, empty ones
/// included, and skips the ones the label filter leaves out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_hands_over_each_matching_series_in_label_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let base: i64 = 1_700_000_000_000 / HOUR * HOUR;
    let mut samples = Vec::new();
    // d has samples only outside the range; b is left out by the filter.
    for (peer, region, ts) in [
        ("a", "eu", base),
        ("b", "us", base),
        ("c", "eu", base + 30_000),
        ("c", "eu", base + 45_000),
        ("d", "eu", base - HOUR),
        ("e", "eu", base + 59_000),
    ] {
        samples.push(sample(
            "rtt_ms",
            &[("peer", peer), ("region", region)],
            ts,
            2.0,
        ));
    }
    store
        .write(WriteBatch::from_samples(samples))
        .await
        .unwrap();
    let plan = RangePlan::new(at(base), at(base + MIN), Some(Duration::from_secs(30))).unwrap();
    let mut seen = Vec::new();
    let handed = tokio::task::block_in_place(|| {
        store.scan_series_blocking("rtt_ms", &labels(&[("region", "eu")]), &plan, &mut |s| {
            let buckets: Vec<(u64, u64)> = s
                .bucket
                .iter()
                .copied()
                .zip(s.count.iter().copied())
                .collect();
            seen.push((s.labels["peer"].clone(), buckets));
            Ok(())
        })
    })
    .unwrap();
    assert_eq!(handed, 4);
    let want: Vec<(String, Vec<(u64, u64)>)> = vec![
        ("a".into(), vec![(0, 1)]),
        ("c".into(), vec![(1, 2)]),
        ("d".into(), vec![]),
        ("e".into(), vec![(1, 1)]),
    ];
    assert_eq!(seen, want);
    store.close().await.unwrap();
}
