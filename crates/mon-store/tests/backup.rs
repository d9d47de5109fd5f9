//! Online backup: a copy taken while writes go on is a complete, consistent database.

mod common;
use common::sample;
use mon_store::{Store, StoreError, StoreOptions, WriteBatch};

fn count(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_writes_is_consistent_and_opens() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).expect("open");
    // Committed before the backup: must all be in the copy.
    for batch in 0..20 {
        let samples = (0..50)
            .map(|i| sample("before", &[("i", &i.to_string())], batch * 1000 + 1, 1.0))
            .collect();
        store
            .write(WriteBatch::from_samples(samples))
            .await
            .expect("write");
    }
    // Writes go on while the backup runs.
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            for ts in 0..400 {
                let s = sample("during", &[("w", "1")], ts, ts as f64);
                store
                    .write(WriteBatch::from_samples(vec![s]))
                    .await
                    .expect("write");
            }
        }
    });
    let dest = dir.path().join("backup.db");
    let size = store.backup(&dest).await.expect("backup");
    writer.await.expect("writer");
    assert!(size > 0);
    assert_eq!(size, std::fs::metadata(&dest).expect("copy").len());

    let copy = rusqlite::Connection::open(&dest).expect("open the copy");
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let before: i64 = copy
        .query_row(
            "SELECT count(*) FROM samples JOIN series ON series.id = samples.series_id \
             WHERE series.name = 'before'",
            [],
            |r| r.get(0),
        )
        .expect("rows");
    assert_eq!(before, 20 * 50);
    // The copy is a snapshot: never more `during` rows than were written in all.
    let all = count(&copy, "samples");
    assert!((1000..=1400).contains(&all), "{all} samples in the copy");
    drop(copy);

    // The copy opens as a store (same schema version) and reads back.
    store.close().await.expect("close");
    let restored = Store::open(&dest, StoreOptions::default()).expect("open the copy as a store");
    assert!(
        restored
            .series_list()
            .await
            .expect("series")
            .iter()
            .any(|s| s.name == "before")
    );
    restored.close().await.expect("close");
}

#[test]
fn a_backup_never_overwrites_and_needs_its_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).expect("open");
    let existing = dir.path().join("taken.db");
    std::fs::write(&existing, b"keep me").expect("write");
    for (dest, expected) in [
        (existing.clone(), "already exists"),
        (dir.path().join("no/such/dir/b.db"), "does not exist"),
    ] {
        match store.backup_blocking(&dest) {
            Err(StoreError::InvalidInput { reason }) => {
                assert!(reason.contains(expected), "{reason}");
                assert!(reason.contains(&dest.display().to_string()), "{reason}");
            }
            other => panic!(
                "{}: expected an invalid input, got {other:?}",
                dest.display()
            ),
        }
    }
    assert_eq!(std::fs::read(&existing).expect("read"), b"keep me");
}
