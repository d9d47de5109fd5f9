//! Samples read forward from a cursor (the remote write exporter's queue), on a real
//! SQLite file: batches bounded by the limit, every sample read exactly once across
//! batches, only what came after `since`, and series the store dropped forgotten.

mod common;

use common::sample;
use mon_store::{SampleCursor, Store, StoreOptions, WriteBatch};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_after_the_cursor_is_read_once_in_bounded_batches() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let base = 1_700_000_000_000_i64;
    // Before the cursor's start: never read.
    let mut samples = vec![
        sample("cpu_percent", &[], base - 1_000, 1.0),
        sample("cpu_percent", &[], base, 2.0),
    ];
    // After it: 3 series × 7 samples.
    for i in 1..=7 {
        for (name, labels) in [
            ("cpu_percent", &[][..]),
            ("endpoint_p95_latency_ms", &[("endpoint", "/a")][..]),
            ("endpoint_p95_latency_ms", &[("endpoint", "/b")][..]),
        ] {
            samples.push(sample(name, labels, base + i * 1_000, i as f64));
        }
    }
    store
        .write(WriteBatch::from_samples(samples))
        .await
        .unwrap();

    let mut cursor = SampleCursor::starting(base);
    let mut seen: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    let mut batches = 0;
    loop {
        let batch = store.samples_after_blocking(&mut cursor, 5).unwrap();
        let count: usize = batch.iter().map(|s| s.samples.len()).sum();
        if count == 0 {
            break;
        }
        assert!(count <= 5, "a batch of {count} over the limit of 5");
        for series in &batch {
            let key = (series.name.clone(), format!("{:?}", series.labels));
            seen.entry(key)
                .or_default()
                .extend(series.samples.iter().map(|(ts, _)| *ts));
        }
        cursor.advance(&batch);
        batches += 1;
        assert!(batches < 20, "the cursor does not move");
    }
    assert_eq!(batches, 5, "21 samples in batches of at most 5");
    let expected: Vec<i64> = (1..=7).map(|i| base + i * 1_000).collect();
    assert_eq!(seen.len(), 3);
    for (series, times) in &seen {
        assert_eq!(times, &expected, "{series:?}: each sample once, in order");
    }

    // A new sample is read next, and only it; a cursor kept as JSON reads the same.
    store
        .write(WriteBatch::from_samples(vec![sample(
            "cpu_percent",
            &[],
            base + 8_000,
            8.0,
        )]))
        .await
        .unwrap();
    let mut kept: SampleCursor =
        serde_json::from_value(serde_json::to_value(&cursor).unwrap()).unwrap();
    let batch = store.samples_after_blocking(&mut kept, 100).unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].name, "cpu_percent");
    assert_eq!(batch[0].samples, vec![(base + 8_000, 8.0)]);

    // A series the cursor knows that the store no longer has is forgotten.
    let mut stale = cursor.clone();
    stale.series.insert(999_999, base);
    store.samples_after_blocking(&mut stale, 100).unwrap();
    assert!(!stale.series.contains_key(&999_999));
    assert_eq!(stale.series.len(), 3);
}
