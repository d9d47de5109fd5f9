//! Shutdown: `close` commits everything queued before it, refuses later writes, and
//! dropping the last handle stops the writer cleanly (all connections closed).

mod common;

use common::{at, hold_write_lock, labels, release, sample};
use mon_store::{Store, StoreError, StoreOptions, WriteBatch};
use mon_tests::eventually;
use std::time::Duration;

fn one(ts: i64) -> WriteBatch {
    WriteBatch::from_samples(vec![sample("m", &[], ts, ts as f64)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_commits_every_write_queued_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let options = StoreOptions {
        queue_capacity: 64,
        max_rows_per_transaction: 2,
        busy_timeout: Duration::from_secs(120),
        ..Default::default()
    };
    let store = Store::open(&path, options).unwrap();

    // Hold the writer so the batches are still queued when close starts.
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
    let tickets: Vec<_> = (2..50)
        .map(|ts| store.try_write(one(ts)).unwrap())
        .collect();
    assert_eq!(store.queue_depth(), 48);
    let closing = tokio::spawn({
        let store = store.clone();
        async move { store.close().await }
    });
    eventually(
        "close to stop accepting writes",
        Duration::from_secs(10),
        || {
            // An empty batch is never queued, so probing cannot add a row.
            matches!(
                store.try_write(WriteBatch::default()),
                Err(StoreError::Closed)
            )
        },
    );
    release(lock);
    closing.await.unwrap().unwrap();
    blocker.await.unwrap();
    for ticket in tickets {
        ticket.await.unwrap();
    }

    // Writes after close are refused; reads still work; closing again is harmless.
    assert!(matches!(
        store.write(one(2000)).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        tokio::task::block_in_place(|| store.write_blocking(one(2001))),
        Err(StoreError::Closed)
    ));
    let got = store
        .samples("m", &labels(&[]), at(0), at(5000))
        .await
        .unwrap();
    assert_eq!(got.len(), 50);
    store.close().await.unwrap();
    drop(store);

    let reopened = Store::open(&path, StoreOptions::default()).unwrap();
    let got = reopened
        .samples("m", &labels(&[]), at(0), at(5000))
        .await
        .unwrap();
    let ts: Vec<_> = got.iter().map(|(t, _)| t.timestamp_millis()).collect();
    assert_eq!(ts, (0..50).collect::<Vec<_>>());
}

#[test]
fn dropping_the_last_handle_commits_the_queue_and_closes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let wal = dir.path().join("mon.db-wal");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let clone = store.clone();
    drop(store);
    clone.write_blocking(one(0)).unwrap();
    assert!(wal.exists(), "the WAL is in use while the store is open");

    let tickets: Vec<_> = (1..20)
        .map(|ts| clone.try_write(one(ts)).unwrap())
        .collect();
    drop(clone);
    // Dropping joined the writer: every ticket has its answer, and since every connection
    // is closed SQLite has checkpointed and removed the WAL.
    for ticket in tickets {
        ticket.wait_blocking().unwrap();
    }
    assert!(
        !wal.exists(),
        "the last connection closed and removed the WAL"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 20);
}
