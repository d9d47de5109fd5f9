//! Queries round-trip what was written: check results (newest first, `since`, `limit`,
//! latest per check), series and sample ranges, replacement of duplicate samples, reopen.

mod common;

use common::{at, check_row, labels, sample};
use mon_core::Status;
use mon_store::{Store, StoreOptions, WriteBatch};

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("data/mon.db"), StoreOptions::default()).expect("open store")
}

#[test]
fn store_is_a_shareable_handle() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Store>();
    assert_traits::<mon_store::StoreError>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_results_are_newest_first_with_since_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let api: Vec<_> = (1..=5)
        .map(|i| check_row("api", Status::Healthy, i * 1000, i as u64))
        .collect();
    let db = vec![
        check_row("db", Status::Unhealthy, 1500, 7),
        check_row("db", Status::Degraded, 2500, 8),
    ];
    store
        .write(WriteBatch::from_check_results(api[..3].to_vec()))
        .await
        .unwrap();
    let mut rest = api[3..].to_vec();
    rest.extend(db.clone());
    store
        .write(WriteBatch::from_check_results(rest))
        .await
        .unwrap();

    let newest_first: Vec<_> = api.iter().rev().cloned().collect();
    // (since, limit) -> the expected slice of `newest_first`.
    let cases = [
        (None, 10, &newest_first[..]),
        (None, 2, &newest_first[..2]),
        (Some(at(3000)), 10, &newest_first[..3]),
        (Some(at(3001)), 10, &newest_first[..2]),
        (Some(at(2000)), 1, &newest_first[..1]),
        (None, 0, &newest_first[..0]),
        (Some(at(9000)), 10, &newest_first[..0]),
    ];
    for (since, limit, want) in cases {
        let got = store.check_results("api", since, limit).await.unwrap();
        assert_eq!(got, want, "since {since:?} limit {limit}");
    }
    let got = store.check_results("db", None, 10).await.unwrap();
    assert_eq!(got, vec![db[1].clone(), db[0].clone()]);
    assert!(
        store
            .check_results("nope", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The blocking variant answers the same.
    assert_eq!(
        store
            .check_results_blocking("api", Some(at(3000)), 10)
            .unwrap(),
        newest_first[..3]
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_timestamps_list_the_later_write_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let first = check_row("api", Status::Healthy, 1000, 1);
    let second = check_row("api", Status::Unhealthy, 1000, 2);
    store
        .write(WriteBatch::from_check_results(vec![first.clone()]))
        .await
        .unwrap();
    store
        .write(WriteBatch::from_check_results(vec![second.clone()]))
        .await
        .unwrap();
    let got = store.check_results("api", None, 10).await.unwrap();
    assert_eq!(got, vec![second.clone(), first]);
    assert_eq!(store.latest_check_results().await.unwrap(), vec![second]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_check_results_gives_one_newest_row_per_check() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert!(store.latest_check_results().await.unwrap().is_empty());
    let rows = vec![
        check_row("web", Status::Healthy, 3000, 1),
        check_row("api", Status::Healthy, 1000, 1),
        check_row("api", Status::Degraded, 4000, 2),
        check_row("api", Status::Unhealthy, 2000, 3),
        check_row("cache", Status::Unknown, 500, 4),
        check_row("web", Status::Unhealthy, 1000, 5),
    ];
    store
        .write(WriteBatch::from_check_results(rows.clone()))
        .await
        .unwrap();
    let latest = store.latest_check_results().await.unwrap();
    assert_eq!(
        latest,
        vec![rows[2].clone(), rows[4].clone(), rows[0].clone()]
    );
    assert_eq!(store.latest_check_results_blocking().unwrap(), latest);

    let newer = check_row("cache", Status::Healthy, 600, 6);
    store
        .write(WriteBatch::from_check_results(vec![newer.clone()]))
        .await
        .unwrap();
    let latest = store.latest_check_results().await.unwrap();
    assert_eq!(latest[1], newer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_round_trip_by_series_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut samples = Vec::new();
    for ts in (0..10).map(|i| 1000 + i * 100) {
        samples.push(sample(
            "cpu_percent",
            &[("host", "a")],
            ts,
            ts as f64 / 10.0,
        ));
        samples.push(sample("cpu_percent", &[("host", "b")], ts, -(ts as f64)));
        samples.push(sample("calls", &[], ts, f64::INFINITY));
    }
    store
        .write(WriteBatch::from_samples(samples))
        .await
        .unwrap();

    let series = store.series_list().await.unwrap();
    let names: Vec<_> = series
        .iter()
        .map(|s| (s.name.as_str(), s.labels.clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("calls", labels(&[])),
            ("cpu_percent", labels(&[("host", "a")])),
            ("cpu_percent", labels(&[("host", "b")])),
        ]
    );
    assert_eq!(store.series_list_blocking().unwrap(), series);

    let a = labels(&[("host", "a")]);
    let got = store
        .samples("cpu_percent", &a, at(1200), at(1500))
        .await
        .unwrap();
    let want: Vec<_> = [1200, 1300, 1400, 1500]
        .iter()
        .map(|&ts| (at(ts), ts as f64 / 10.0))
        .collect();
    assert_eq!(got, want, "inclusive range, ascending, only host=a");
    assert_eq!(
        store
            .samples_blocking("cpu_percent", &a, at(1200), at(1500))
            .unwrap(),
        want
    );
    let all_b = store
        .samples("cpu_percent", &labels(&[("host", "b")]), at(0), at(10_000))
        .await
        .unwrap();
    assert_eq!(all_b.len(), 10);
    assert!(all_b.windows(2).all(|w| w[0].0 < w[1].0), "ascending");
    let calls = store
        .samples("calls", &labels(&[]), at(0), at(1000))
        .await
        .unwrap();
    assert_eq!(calls, vec![(at(1000), f64::INFINITY)]);
    // Unknown series, unknown labels, and an empty range give nothing.
    for (name, l, from, to) in [
        ("nope", a.clone(), 0, 10_000),
        ("cpu_percent", labels(&[("host", "c")]), 0, 10_000),
        ("cpu_percent", labels(&[]), 0, 10_000),
        ("cpu_percent", a.clone(), 1501, 1599),
    ] {
        assert!(
            store
                .samples(name, &l, at(from), at(to))
                .await
                .unwrap()
                .is_empty(),
            "{name} {l:?} {from}..{to}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sample_at_the_same_millisecond_replaces_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let batch = WriteBatch::from_samples(vec![
        sample("m", &[("k", "v")], 1000, 1.0),
        sample("m", &[("k", "v")], 1000, 2.0),
    ]);
    store.write(batch).await.unwrap();
    store
        .write(WriteBatch::from_samples(vec![sample(
            "m",
            &[("k", "v")],
            1000,
            3.0,
        )]))
        .await
        .unwrap();
    let got = store
        .samples("m", &labels(&[("k", "v")]), at(0), at(2000))
        .await
        .unwrap();
    assert_eq!(got, vec![(at(1000), 3.0)]);
    assert_eq!(store.series_list().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen_and_stats_count_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/mon.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(store.path(), path);
    let mut batch =
        WriteBatch::from_samples(vec![sample("m", &[], 1, 1.0), sample("m", &[], 2, 2.0)]);
    batch
        .check_results
        .push(check_row("api", Status::Healthy, 5, 1));
    store.write(batch).await.unwrap();
    store.write(WriteBatch::default()).await.unwrap(); // empty: nothing to commit
    let stats = store.stats();
    assert_eq!(stats.batches_committed, 1);
    assert_eq!(stats.rows_written, 3);
    assert_eq!(stats.write_errors, 0);
    assert!(stats.last_commit_seconds > 0.0);
    assert!(stats.commit_seconds_total >= stats.last_commit_seconds);
    assert_eq!(store.queue_depth(), 0);
    store.close().await.unwrap();
    drop(store);

    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(
        store
            .samples("m", &labels(&[]), at(0), at(10))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.check_results("api", None, 10).await.unwrap().len(), 1);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, mon_store::SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}
