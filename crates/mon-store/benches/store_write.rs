//! Write throughput of metric samples: the store (queue + writer thread + series
//! resolution) side by side with a plain rusqlite batched insert of the same rows.
//!
//! Every iteration writes one batch of 1,000 samples across 100 series (10 new
//! timestamps each) and commits it. Criterion reports the throughput in samples/s
//! ("elem/s"). Run: `cargo bench -p mon-store --bench store_write -- --measurement-time 5`.
//!
//! - `store/write_blocking`: one batch in flight, each call waits for its commit.
//! - `store/pipelined_x4`: four batches queued at once with `try_write`, then all awaited
//!   (what concurrent ingest requests look like; the writer may share transactions).
//! - `plain_rusqlite/insert`: a fresh file with the same pragmas (WAL, synchronous
//!   NORMAL) and the same `samples` table, one transaction per batch, one prepared
//!   statement, series ids known up front.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mon_store::{Sample, Store, StoreOptions, WriteBatch};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::hint::black_box;

const SERIES: i64 = 100;
const PER_SERIES: i64 = 10;
const BATCH: u64 = (SERIES * PER_SERIES) as u64;

fn series_labels() -> Vec<BTreeMap<String, String>> {
    (0..SERIES)
        .map(|i| {
            BTreeMap::from([
                ("host".to_owned(), "bench-host".to_owned()),
                ("series".to_owned(), i.to_string()),
            ])
        })
        .collect()
}

/// The batch starting at timestamp `t0` (ms): every series gets `PER_SERIES` new points.
fn store_batch(labels: &[BTreeMap<String, String>], t0: i64) -> WriteBatch {
    let mut samples = Vec::with_capacity(BATCH as usize);
    for k in 0..PER_SERIES {
        for (i, l) in labels.iter().enumerate() {
            samples.push(Sample {
                name: "bench_metric".to_owned(),
                labels: l.clone(),
                ts: chrono::DateTime::from_timestamp_millis(t0 + k).unwrap_or_default(),
                value: (i as i64 * k) as f64,
            });
        }
    }
    WriteBatch::from_samples(samples)
}

/// The same rows for the plain insert: (series_id, ts, value).
fn plain_rows(t0: i64) -> Vec<(i64, i64, f64)> {
    let mut rows = Vec::with_capacity(BATCH as usize);
    for k in 0..PER_SERIES {
        for i in 0..SERIES {
            rows.push((i + 1, t0 + k, (i * k) as f64));
        }
    }
    rows
}

fn bench_writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let labels = series_labels();
    let mut group = c.benchmark_group("store_write");
    group.throughput(Throughput::Elements(BATCH));

    let store =
        Store::open(&dir.path().join("store.db"), StoreOptions::default()).expect("open the store");
    let next = Cell::new(0i64);
    let advance = |n: i64| {
        let t0 = next.get();
        next.set(t0 + n);
        t0
    };
    group.bench_function("store/write_blocking", |b| {
        b.iter_batched(
            || store_batch(&labels, advance(PER_SERIES)),
            |batch| store.write_blocking(batch).expect("write"),
            BatchSize::SmallInput,
        )
    });

    let conn = rusqlite::Connection::open(dir.path().join("plain.db")).expect("open plain");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
         CREATE TABLE samples (
             series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,
             PRIMARY KEY (series_id, ts)
         ) STRICT, WITHOUT ROWID;",
    )
    .expect("plain schema");
    group.bench_function("plain_rusqlite/insert", |b| {
        b.iter_batched(
            || plain_rows(advance(PER_SERIES)),
            |rows| {
                let tx = conn.unchecked_transaction().expect("begin");
                {
                    let mut insert = tx
                        .prepare_cached(
                            "INSERT OR REPLACE INTO samples (series_id, ts, value) VALUES (?1, ?2, ?3)",
                        )
                        .expect("prepare");
                    for row in &rows {
                        insert.execute(black_box(*row)).expect("insert");
                    }
                }
                tx.commit().expect("commit");
            },
            BatchSize::SmallInput,
        )
    });
    let piped =
        Store::open(&dir.path().join("piped.db"), StoreOptions::default()).expect("open the store");
    group.throughput(Throughput::Elements(4 * BATCH));
    group.bench_function("store/pipelined_x4", |b| {
        b.iter_batched(
            || {
                (0..4)
                    .map(|_| store_batch(&labels, advance(PER_SERIES)))
                    .collect::<Vec<_>>()
            },
            |batches| {
                let tickets: Vec<_> = batches
                    .into_iter()
                    .map(|batch| piped.try_write(batch).expect("queue has room"))
                    .collect();
                for ticket in tickets {
                    ticket.wait_blocking().expect("write");
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    drop(store);
    drop(piped);
}

criterion_group!(benches, bench_writes);
criterion_main!(benches);
