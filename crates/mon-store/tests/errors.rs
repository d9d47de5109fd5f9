//! Open errors that name the path, refused input, and failed transactions that are
//! reported to every caller while the writer keeps running.

mod common;

use common::{at, check_row, hold_write_lock, labels, release, sample};
use mon_core::Status;
use mon_store::{Store, StoreError, StoreOptions, WriteBatch};
use mon_tests::eventually;
use std::time::Duration;

#[test]
fn a_directory_that_cannot_be_created_is_an_open_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let path = file.join("sub/mon.db");
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("cannot create directory"), "{message}");
}

#[test]
fn a_directory_path_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("is a directory"), "{err}");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    // Short and long garbage alike: SQLite checks the 100-byte header.
    for (name, content) in [
        ("short.db", b"hello, I am a text file\n".repeat(5)),
        ("long.db", b"garbage\x00\x01\x02".repeat(2000)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &content).unwrap();
        let err = Store::open(&path, StoreOptions::default()).unwrap_err();
        match &err {
            StoreError::NotADatabase { path: p } => assert_eq!(p, &path),
            other => panic!("{name}: want NotADatabase, got {other:?}"),
        }
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        // The file is left untouched.
        assert_eq!(std::fs::read(&path).unwrap(), content);
    }
}

#[test]
fn a_schema_newer_than_the_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE from_the_future (x INTEGER);")
            .unwrap();
        conn.pragma_update(None, "user_version", mon_store::SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    match &err {
        StoreError::SchemaTooNew {
            path: p,
            found,
            supported,
        } => {
            assert_eq!(p, &path);
            assert_eq!(*found, mon_store::SCHEMA_VERSION + 1);
            assert_eq!(*supported, mon_store::SCHEMA_VERSION);
        }
        other => panic!("want SchemaTooNew, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("upgrade mon"), "{message}");
}

#[test]
fn out_of_range_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        queue_capacity: 0,
        ..Default::default()
    };
    let err = Store::open(&dir.path().join("mon.db"), options).unwrap_err();
    assert!(matches!(err, StoreError::InvalidOptions { .. }), "{err:?}");
    assert!(err.to_string().contains("queue_capacity"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_batches_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let good = sample("m", &[], 1, 1.0);
    let cases = [
        (vec![good.clone(), sample("m", &[], 2, f64::NAN)], "NaN"),
        (
            vec![good.clone(), sample("", &[], 2, 1.0)],
            "empty metric name",
        ),
    ];
    for (samples, want) in cases {
        let err = store
            .write(WriteBatch::from_samples(samples.clone()))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
        assert!(err.to_string().contains(want), "{err}");
        let err = store
            .try_write(WriteBatch::from_samples(samples))
            .unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
    }
    let mut nameless = check_row("x", Status::Healthy, 1, 1);
    nameless.check.clear();
    let err = store
        .write(WriteBatch::from_check_results(vec![nameless]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty check name"), "{err}");
    assert!(store.series_list().await.unwrap().is_empty());
    assert_eq!(store.stats().batches_committed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_transaction_reaches_every_caller_and_the_writer_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(50),
        ..Default::default()
    };
    let store = Store::open(&path, options).unwrap();
    let lock = hold_write_lock(&path);
    let tickets: Vec<_> = (0..3)
        .map(|i| {
            store
                .try_write(WriteBatch::from_samples(vec![sample("m", &[], i, 1.0)]))
                .unwrap()
        })
        .collect();
    for ticket in tickets {
        let err = ticket.await.unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        assert_eq!(
            err.sqlite_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy),
            "{err}"
        );
        assert!(
            err.to_string().contains("beginning a write transaction"),
            "{err}"
        );
    }
    assert_eq!(store.stats().write_errors, 3);
    release(lock);

    store
        .write(WriteBatch::from_samples(vec![sample("m", &[], 10, 2.0)]))
        .await
        .unwrap();
    let got = store
        .samples("m", &labels(&[]), at(0), at(100))
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![(at(10), 2.0)],
        "only the write after the failure is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_batch_rolls_back_alone_inside_a_shared_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    // A blocker batch of `max_rows_per_transaction` rows is committed alone (the writer
    // does not look for more), and the next three batches (4 rows) fill one transaction.
    let options = StoreOptions {
        max_rows_per_transaction: 4,
        ..Default::default()
    };
    let store = Store::open(&path, options).unwrap();
    // A real SQLite failure for one batch: a trigger that aborts one check's insert.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON check_results \
             WHEN NEW.check_name = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END;",
        )
        .unwrap();

    // Hold the writer on a first batch so the next three queue up and share a transaction.
    let lock = hold_write_lock(&path);
    let blocker = store
        .try_write(WriteBatch::from_samples(
            (0..4).map(|i| sample("blocker", &[], i, 1.0)).collect(),
        ))
        .unwrap();
    eventually(
        "the writer to take the first batch",
        Duration::from_secs(10),
        || store.queue_depth() == 0,
    );
    let good1 = store
        .try_write(WriteBatch::from_samples(vec![sample("good", &[], 1, 1.0)]))
        .unwrap();
    // The poisoned batch first creates a new series, then fails on its check result.
    let mut poisoned = WriteBatch::from_samples(vec![sample("fresh", &[("a", "b")], 1, 1.0)]);
    poisoned
        .check_results
        .push(check_row("poison", Status::Healthy, 1, 1));
    let bad = store.try_write(poisoned).unwrap();
    let good2 = store
        .try_write(WriteBatch::from_check_results(vec![check_row(
            "fine",
            Status::Healthy,
            1,
            1,
        )]))
        .unwrap();
    assert_eq!(store.queue_depth(), 3);
    release(lock);

    blocker.await.unwrap();
    good1.await.unwrap();
    let err = bad.await.unwrap_err();
    assert!(err.to_string().contains("poisoned row"), "{err}");
    good2.await.unwrap();
    let stats = store.stats();
    assert_eq!(
        stats.transactions_committed, 2,
        "the three batches shared one transaction"
    );
    assert_eq!((stats.batches_committed, stats.write_errors), (3, 1));

    let names: Vec<_> = store
        .series_list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        ["blocker", "good"],
        "the poisoned batch's new series was rolled back"
    );
    assert_eq!(
        store.check_results("fine", None, 10).await.unwrap().len(),
        1
    );
    assert!(
        store
            .check_results("poison", None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The writer forgot the rolled-back series id: writing that series again works.
    store
        .write(WriteBatch::from_samples(vec![sample(
            "fresh",
            &[("a", "b")],
            2,
            5.0,
        )]))
        .await
        .unwrap();
    let got = store
        .samples("fresh", &labels(&[("a", "b")]), at(0), at(10))
        .await
        .unwrap();
    assert_eq!(got, vec![(at(2), 5.0)]);
}
