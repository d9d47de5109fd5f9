//! `Store::delete_source` on a real SQLite file: the series labelled `source=<label>` go
//! with their raw samples and rollups, other series stay, and a series written again
//! afterwards is stored under a new row (the writer forgot the deleted ids).

mod common;

use common::{at, labels, sample};
use mon_store::{SeriesPolicy, Store, StoreOptions, WriteBatch};

const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

fn count(path: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open db");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_source_removes_its_series_points_and_rollups_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let base: i64 = 1_700_000_000_000 / HOUR * HOUR + 10 * HOUR;
    let now = at(base + 30_000);
    let mut samples = Vec::new();
    for i in 0..12 {
        let ts = base - 2 * MIN + i * 10_000;
        samples.push(sample("active_calls", &[], ts, 1.0));
        samples.push(sample("active_calls", &[("source", "demo")], ts, 5.0));
        samples.push(sample(
            "endpoint_avg_latency_ms",
            &[("endpoint", "/a"), ("source", "demo")],
            ts,
            80.0,
        ));
        samples.push(sample("active_calls", &[("source", "trial")], ts, 2.0));
    }
    store
        .write(WriteBatch::from_samples(samples))
        .await
        .unwrap();
    store
        .series_maintenance(&SeriesPolicy::default(), now)
        .await
        .unwrap();
    // 4 series × (12 raw + 2 one-minute + 1 one-hour rows).
    let points = "SELECT (SELECT COUNT(*) FROM samples) + (SELECT COUNT(*) FROM samples_1m) \
                  + (SELECT COUNT(*) FROM samples_1h)";
    assert_eq!(count(&path, points), 4 * 15);

    let deleted = store.delete_source("demo").await.unwrap();
    assert_eq!(deleted.series, 2, "{deleted:?}");
    assert_eq!(deleted.points, 2 * 15, "{deleted:?}");
    assert_eq!(count(&path, "SELECT COUNT(*) FROM series"), 2);
    assert_eq!(count(&path, points), 2 * 15);
    let from = at(base - HOUR);
    let left = store
        .query_series("active_calls", &labels(&[]), from, now, None)
        .await
        .unwrap();
    let mut sets: Vec<_> = left.iter().map(|s| s.labels.clone()).collect();
    sets.sort();
    assert_eq!(sets, [labels(&[]), labels(&[("source", "trial")])]);

    // Written again, the series comes back with its own row and points.
    store
        .write(WriteBatch::from_samples(vec![sample(
            "active_calls",
            &[("source", "demo")],
            base + 10_000,
            7.0,
        )]))
        .await
        .unwrap();
    let back = store
        .query_series(
            "active_calls",
            &labels(&[("source", "demo")]),
            from,
            now,
            None,
        )
        .await
        .unwrap();
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(
        back[0].points.iter().map(|p| p.max).collect::<Vec<_>>(),
        [7.0]
    );
    let again = store.delete_source("demo").await.unwrap();
    assert_eq!((again.series, again.points), (1, 1));
    store.close().await.unwrap();
}

#[tokio::test]
async fn the_latest_deployment_is_found_by_service_version_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let mut batch = WriteBatch::default();
    // 12,000 deployments of another service after the ones looked for: more than any
    // capped read of the newest deployments would go through.
    let deployments = [
        ("voice-agent", "1.0", 1),
        ("voice-agent", "1.1", 2),
        ("voice-agent", "1.0", 3),
    ]
    .into_iter()
    .map(|(s, v, i)| (s.to_owned(), v.to_owned(), i))
    .chain((0..12_000).map(|i| ("dialer".to_owned(), format!("0.{i}"), 10 + i)));
    for (service, version, i) in deployments {
        batch.app_events.push(mon_store::AppEventRow {
            ts: at(i * MIN),
            kind: "deployment".into(),
            body: serde_json::json!({"type": "deployment", "service": service, "version": version})
                .to_string(),
            source: None,
            arm: None,
        });
    }
    store.write(batch).await.unwrap();
    let found = |service: &str, version: Option<&str>, until: i64| {
        let store = store.clone();
        let service = service.to_owned();
        let version = version.map(str::to_owned);
        async move {
            store
                .latest_deployment(&service, version.as_deref(), at(until))
                .await
                .unwrap()
                .map(|r| {
                    (
                        r.ts,
                        r.body["version"].as_str().unwrap_or_default().to_owned(),
                    )
                })
        }
    };
    let end = 20_000 * MIN;
    assert_eq!(
        found("voice-agent", None, end).await,
        Some((at(3 * MIN), "1.0".into()))
    );
    assert_eq!(
        found("voice-agent", Some("1.1"), end).await,
        Some((at(2 * MIN), "1.1".into()))
    );
    // Up to a time: the one before.
    assert_eq!(
        found("voice-agent", None, 2 * MIN).await,
        Some((at(2 * MIN), "1.1".into()))
    );
    assert_eq!(found("voice-agent", Some("9.9"), end).await, None);
    assert_eq!(found("voice", None, end).await, None);
}
