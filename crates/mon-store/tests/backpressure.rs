//! Back-pressure: with the writer held on a real SQLite lock and a tiny queue, `try_write`
//! fails fast with `Busy`; once the lock is released everything accepted commits.

mod common;

use common::{at, hold_write_lock, labels, release, sample};
use mon_store::{Store, StoreError, StoreOptions, WriteBatch};
use mon_tests::eventually;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_busy_and_drains_after_the_lock_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let options = StoreOptions {
        queue_capacity: 2,
        // The blocker batch fills a transaction, so the writer takes nothing else with it.
        max_rows_per_transaction: 2,
        busy_timeout: Duration::from_secs(120),
        ..Default::default()
    };
    let store = Store::open(&path, options).unwrap();
    assert_eq!(store.queue_capacity(), 2);
    let one = |ts: i64| WriteBatch::from_samples(vec![sample("m", &[], ts, ts as f64)]);

    let lock = hold_write_lock(&path);
    let blocker = store
        .try_write(WriteBatch::from_samples(vec![
            sample("m", &[], 0, 0.0),
            sample("m", &[], 1, 1.0),
        ]))
        .unwrap();
    eventually(
        "the writer to take the blocker",
        Duration::from_secs(10),
        || store.queue_depth() == 0,
    );

    let mut tickets = Vec::new();
    for ts in 2..4 {
        tickets.push(store.try_write(one(ts)).unwrap());
    }
    assert_eq!(store.queue_depth(), 2);
    let err = store.try_write(one(99)).unwrap_err();
    assert!(matches!(err, StoreError::Busy { capacity: 2 }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("retry"), "{err}");

    // `write` and `write_blocking` wait for room instead of failing.
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.write(one(4)).await }
    });
    let waiting_blocking = tokio::task::spawn_blocking({
        let store = store.clone();
        move || store.write_blocking(one(5))
    });
    assert_eq!(
        store.stats().batches_committed,
        0,
        "nothing commits while locked"
    );
    release(lock);

    blocker.await.unwrap();
    for ticket in tickets {
        ticket.await.unwrap();
    }
    waiting.await.unwrap().unwrap();
    waiting_blocking.await.unwrap().unwrap();
    let got = store
        .samples("m", &labels(&[]), at(0), at(1000))
        .await
        .unwrap();
    let ts: Vec<_> = got.iter().map(|(t, _)| t.timestamp_millis()).collect();
    assert_eq!(
        ts,
        [0, 1, 2, 3, 4, 5],
        "every accepted batch committed, the refused one did not"
    );
    assert_eq!(store.stats().batches_committed, 5);
    assert_eq!(store.queue_depth(), 0);
    store.close().await.unwrap();
}
