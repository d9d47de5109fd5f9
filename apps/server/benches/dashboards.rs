//! Dashboard API latency: `GET /api/v1/dashboards/{id}?range=24h` over loopback HTTP for
//! every built-in dashboard, on a store holding a day of samples (every 10 s, rolled up
//! to 1-minute buckets) for each panel's variable and 10 endpoints.
//! `cargo bench -p mon-server --bench dashboards`.

// A benchmark's figures are its output.
#![allow(clippy::print_stdout)]

mod common;

use common::{fill_day, request, serve};
use std::collections::BTreeMap;
use std::time::Instant;

fn get(port: u16, path: &str) -> (u16, usize) {
    let (status, body) = request(port, "GET", path, "");
    (status, body.len())
}

/// Writes a day of 10-second samples for every metric the built-in dashboards read,
/// then rolls them up as the server's maintenance would.
async fn fill(path: &std::path::Path) {
    let store = mon_store::Store::open(path, mon_store::StoreOptions::default()).expect("open");
    let mut series: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for d in mon_metrics::builtin_dashboards() {
        for p in d.panels {
            let Some(metric) = p.metric else { continue };
            if metric.starts_with("endpoint_") {
                for e in 0..10 {
                    let labels = BTreeMap::from([("endpoint".to_owned(), format!("/api/e{e}"))]);
                    series.push((metric.clone(), labels));
                }
            } else {
                series.push((metric, BTreeMap::new()));
            }
        }
    }
    series.sort();
    series.dedup();
    fill_day(&store, &series, |i| (i % 100) as f64).await;
    println!("filled {} series x 8,640 samples", series.len());
    store.close().await.expect("close");
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(fill(&dir.path().join("mon.db")));
    let text = format!(
        "server:\n  listen: 127.0.0.1:0\n  self_check: false\n  \
         auth:\n    tokens:\n      - {{ name: bench, token: bench-token, role: read }}\n\
         storage:\n  path: {}/mon.db\nmetrics:\n  host: false\n",
        dir.path().display()
    );
    let (port, app) = serve(&runtime, &text);
    for id in mon_metrics::BUILTIN_IDS {
        let path = format!("/api/v1/dashboards/{id}?range=24h");
        let mut best = f64::MAX;
        let mut bytes = 0;
        for _ in 0..10 {
            let started = Instant::now();
            let (status, len) = get(port, &path);
            assert_eq!(status, 200, "{path}");
            best = best.min(started.elapsed().as_secs_f64() * 1000.0);
            bytes = len;
        }
        println!("GET {path}: {best:.1} ms (best of 10), {bytes} bytes");
    }
    runtime.block_on(app.shutdown());
}
