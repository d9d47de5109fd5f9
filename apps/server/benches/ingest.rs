//! Ingest throughput: `POST /api/v1/events` over loopback HTTP in batches of 1,000 events,
//! each batch committed to SQLite before the answer, next to a plain rusqlite batched insert
//! of the same rows (the ceiling); then a 24 h × 100 series range query and `/metrics` with
//! 10,000 custom series. `cargo bench -p mon-server --bench ingest`.

// A benchmark's figures are its output.
#![allow(clippy::print_stdout)]

mod common;

use common::{fill_day, request, serve};
use std::time::Instant;

const BATCH: usize = 1000;
const BATCHES: usize = 100;

fn batch_body(n: usize) -> String {
    let events: Vec<String> = (0..BATCH)
        .map(|i| {
            format!(
                r#"{{"type":"request","endpoint":"/api/e{}","method":"GET","status":200,"latency_ms":{}.5}}"#,
                (n + i) % 20,
                i % 500
            )
        })
        .collect();
    format!("[{}]", events.join(","))
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let text = format!(
        "server:\n  listen: 127.0.0.1:0\n  self_check: false\n  limits: {{ max_body_bytes: 4194304 }}\n  \
         auth:\n    tokens:\n      - {{ name: bench, token: bench-token, role: admin }}\n\
         storage:\n  path: {}/mon.db\nmetrics:\n  host: false\n  max_series: 20000\n",
        dir.path().display()
    );
    let (port, app) = serve(&runtime, &text);

    let bodies: Vec<String> = (0..BATCHES).map(batch_body).collect();
    let started = Instant::now();
    for body in &bodies {
        let (status, answer) = request(port, "POST", "/api/v1/events", body);
        assert_eq!(status, 200, "{answer}");
    }
    let http = started.elapsed();
    let events = (BATCH * BATCHES) as f64;
    println!(
        "ingest over HTTP, {BATCHES} batches of {BATCH} events, persisted: {:.0} events/s ({:.1} ms per batch)",
        events / http.as_secs_f64(),
        http.as_secs_f64() * 1000.0 / BATCHES as f64
    );

    // Single-event POSTs, one connection each, sequentially (wrk is not used here).
    let single =
        r#"[{"type":"request","endpoint":"/one","method":"GET","status":200,"latency_ms":1.0}]"#;
    let started = Instant::now();
    for _ in 0..2000 {
        let (status, answer) = request(port, "POST", "/api/v1/events", single);
        assert_eq!(status, 200, "{answer}");
    }
    let one = started.elapsed();
    println!(
        "single-event POSTs, sequential, new connection each: {:.0} requests/s ({:.2} ms each)",
        2000.0 / one.as_secs_f64(),
        one.as_secs_f64() * 1000.0 / 2000.0
    );

    // The ceiling: the same rows with a plain rusqlite batched insert, one transaction per batch.
    let mut conn = rusqlite::Connection::open(dir.path().join("plain.db")).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         CREATE TABLE app_events (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL) STRICT; \
         CREATE INDEX app_events_by_ts ON app_events (ts);",
    )
    .expect("schema");
    let rows: Vec<Vec<String>> = bodies
        .iter()
        .map(|b| {
            let v: Vec<serde_json::Value> = serde_json::from_str(b).expect("json");
            v.iter().map(|e| e.to_string()).collect()
        })
        .collect();
    let started = Instant::now();
    for batch in &rows {
        let tx = conn.transaction().expect("tx");
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO app_events (ts, type, body) VALUES (?1, 'request', ?2)",
                )
                .expect("prepare");
            for (i, body) in batch.iter().enumerate() {
                stmt.execute(rusqlite::params![i as i64, body])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    let plain = started.elapsed();
    println!(
        "plain rusqlite batched insert of the same rows: {:.0} rows/s",
        events / plain.as_secs_f64()
    );

    // /metrics with 10,000 custom series.
    let gauges: Vec<String> = (0..10_000)
        .map(|i| {
            format!(r#"{{"type":"gauge","name":"bench_gauge","value":{i},"labels":{{"n":"{i}"}}}}"#)
        })
        .collect();
    for chunk in gauges.chunks(1000) {
        let (status, answer) = request(
            port,
            "POST",
            "/api/v1/events",
            &format!("[{}]", chunk.join(",")),
        );
        assert_eq!(status, 200, "{answer}");
    }
    let mut best = f64::MAX;
    for _ in 0..20 {
        let started = Instant::now();
        let (status, text) = request(port, "GET", "/metrics", "");
        assert_eq!(status, 200);
        assert!(text.contains("bench_gauge{n=\"9999\"}"));
        best = best.min(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!("GET /metrics with 10,000 custom series: {best:.1} ms (best of 20)");

    // A range query over 24 h × 100 series: 100 series of 8,640 raw samples (10 s), rolled
    // up, queried with from=24h (1-minute rollups).
    runtime.block_on(async {
        let store = mon_store::Store::open(
            &dir.path().join("series.db"),
            mon_store::StoreOptions::default(),
        )
        .expect("open");
        let series: Vec<_> = (0..100)
            .map(|s| {
                (
                    "bench_series".to_owned(),
                    [("s".to_owned(), s.to_string())].into(),
                )
            })
            .collect();
        fill_day(&store, &series, |i| i as f64).await;
        let now = chrono::Utc::now();
        let mut best = f64::MAX;
        for _ in 0..10 {
            let started = Instant::now();
            let series = store
                .query_series(
                    "bench_series",
                    &Default::default(),
                    now - chrono::Duration::hours(24),
                    now,
                    None,
                )
                .await
                .expect("query");
            assert_eq!(series.len(), 100);
            best = best.min(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!("range query 24 h x 100 series (1m rollups): {best:.1} ms (best of 10)");
        store.close().await.expect("close");
    });
    runtime.block_on(app.shutdown());
}
