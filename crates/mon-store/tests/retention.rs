//! Retention: only expired rows go, in transactions of at most `batch_rows`, series left
//! empty are dropped, and ingest keeps committing while a large prune runs.

mod common;

use common::{at, check_row, labels, sample};
use mon_core::Status;
use mon_store::{RetentionPolicy, Store, StoreOptions, WriteBatch};
use mon_tests::eventually_async;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const HOUR_MS: i64 = 3_600_000;
const NOW_MS: i64 = 100 * HOUR_MS;

fn policy(batch_rows: usize) -> RetentionPolicy {
    RetentionPolicy {
        check_results: Duration::from_secs(2 * 3600),
        samples: Duration::from_secs(3600),
        batch_rows,
        interval: Duration::from_secs(1),
    }
}

/// `n` samples of `name{i=...}` per series, `series` series, starting at `start_ms`.
async fn fill(store: &Store, name: &str, series: usize, n: i64, start_ms: i64) {
    let mut batch = Vec::new();
    for s in 0..series {
        for i in 0..n {
            batch.push(sample(
                name,
                &[("i", &s.to_string())],
                start_ms + i,
                i as f64,
            ));
            if batch.len() == 5000 {
                store
                    .write(WriteBatch::from_samples(std::mem::take(&mut batch)))
                    .await
                    .unwrap();
            }
        }
    }
    store.write(WriteBatch::from_samples(batch)).await.unwrap();
}

async fn count(store: &Store, name: &str, series: usize) -> usize {
    let mut total = 0;
    for s in 0..series {
        let l = labels(&[("i", &s.to_string())]);
        total += store
            .samples(
                name,
                &l,
                chrono::DateTime::<chrono::Utc>::MIN_UTC,
                chrono::DateTime::<chrono::Utc>::MAX_UTC,
            )
            .await
            .unwrap()
            .len();
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_only_expired_rows_in_small_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let old = NOW_MS - 10 * HOUR_MS;
    let fresh = NOW_MS - HOUR_MS / 2;
    fill(&store, "old_only", 10, 500, old).await; // 5000 expired, 10 series
    fill(&store, "mixed", 2, 300, old).await; // 600 expired
    fill(&store, "mixed", 2, 100, fresh).await; // 200 kept
    // The cutoff is exclusive: a sample exactly one hour old is kept.
    store
        .write(WriteBatch::from_samples(vec![sample(
            "edge",
            &[("i", "0")],
            NOW_MS - HOUR_MS,
            1.0,
        )]))
        .await
        .unwrap();
    let mut rows = Vec::new();
    for check in ["a", "b", "c"] {
        for i in 0..100 {
            rows.push(check_row(
                check,
                Status::Healthy,
                NOW_MS - 5 * HOUR_MS + i,
                1,
            ));
        }
        for i in 0..10 {
            rows.push(check_row(check, Status::Healthy, NOW_MS - HOUR_MS + i, 1));
        }
    }
    store
        .write(WriteBatch::from_check_results(rows))
        .await
        .unwrap();

    let report = store.prune_once(&policy(100), at(NOW_MS)).await.unwrap();
    assert_eq!(report.samples, 5600);
    assert_eq!(report.check_results, 300);
    assert_eq!(report.series, 10, "the old-only series are dropped");
    assert!(
        report.transactions >= (5600 + 300) / 100,
        "at most 100 rows per transaction: {report:?}"
    );

    assert_eq!(count(&store, "old_only", 10).await, 0);
    assert_eq!(count(&store, "mixed", 2).await, 200);
    assert_eq!(count(&store, "edge", 1).await, 1);
    for check in ["a", "b", "c"] {
        let left = store.check_results(check, None, 1000).await.unwrap();
        assert_eq!(left.len(), 10, "{check}");
        assert!(
            left.iter()
                .all(|r| r.outcome.observed_at >= at(NOW_MS - HOUR_MS))
        );
    }
    let names: Vec<_> = store
        .series_list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["edge", "mixed", "mixed"]);

    // A second pass finds nothing; a dropped series can be written again.
    let again = store.prune_once(&policy(100), at(NOW_MS)).await.unwrap();
    assert_eq!(
        (again.samples, again.check_results, again.series),
        (0, 0, 0)
    );
    store
        .write(WriteBatch::from_samples(vec![sample(
            "old_only",
            &[("i", "3")],
            NOW_MS,
            7.0,
        )]))
        .await
        .unwrap();
    assert_eq!(count(&store, "old_only", 10).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_keeps_committing_during_a_large_prune() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    fill(&store, "old", 20, 2500, NOW_MS - 10 * HOUR_MS).await; // 50,000 expired rows

    let pruning = Arc::new(AtomicBool::new(true));
    let during = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn({
        let (store, pruning, during) = (store.clone(), Arc::clone(&pruning), Arc::clone(&during));
        async move {
            let mut written = 0i64;
            let deadline = Instant::now() + Duration::from_secs(60);
            while pruning.load(Ordering::SeqCst) && Instant::now() < deadline {
                let batch = vec![sample("live", &[("i", "0")], NOW_MS + written, 1.0)];
                store.write(WriteBatch::from_samples(batch)).await.unwrap();
                written += 1;
                if pruning.load(Ordering::SeqCst) {
                    during.fetch_add(1, Ordering::SeqCst);
                }
            }
            written
        }
    });
    let report = store.prune_once(&policy(500), at(NOW_MS)).await.unwrap();
    pruning.store(false, Ordering::SeqCst);
    let written = writer.await.unwrap();

    assert_eq!(report.samples, 50_000);
    assert!(report.transactions >= 100, "{report:?}");
    assert!(
        during.load(Ordering::SeqCst) > 0,
        "writes committed between prune transactions ({report:?})"
    );
    assert_eq!(count(&store, "old", 20).await, 0);
    assert_eq!(
        count(&store, "live", 1).await as i64,
        written,
        "every live write is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_task_prunes_and_stops_with_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    fill(&store, "old", 1, 10, now - 10 * HOUR_MS).await;
    fill(&store, "new", 1, 10, now).await;
    let task = store.spawn_retention(policy(3));

    eventually_async(
        "the retention task to prune",
        Duration::from_secs(30),
        async || count(&store, "old", 1).await == 0,
    )
    .await;
    assert_eq!(count(&store, "new", 1).await, 10);

    store.close().await.unwrap();
    eventually_async(
        "the retention task to stop after close",
        Duration::from_secs(30),
        async || task.is_finished(),
    )
    .await;
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_policy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let err = store.prune_once(&policy(0), at(NOW_MS)).await.unwrap_err();
    assert!(err.to_string().contains("batch_rows"), "{err}");
    // The task logs the problem and ends instead of spinning.
    let mut bad = policy(10);
    bad.interval = Duration::ZERO;
    store.spawn_retention(bad).await.unwrap();
}
