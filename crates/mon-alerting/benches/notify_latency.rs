//! End-to-end alert latency: a value crossing a threshold is published to the
//! `SnapshotHub` (as the ingest pipeline does), the evaluation loop (interval
//! 15 s, so only the "right after new data" path can be this fast) fires the rule
//! (`for: 0s`), the outbox sends it, and a loopback webhook receives it. Prints
//! p50/p99/max over 200 crossings. Budget: p99 < 1 s.
//! Run: `cargo bench -p mon-alerting --bench notify_latency`.

// A benchmark without criterion reports its figures on stdout.
#![allow(clippy::print_stdout)]

use axum::extract::State;
use axum::routing::post;
use mon_alerting::{AlertingConfig, SnapshotHub};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const CROSSINGS: usize = 200;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(
                |State(tx): State<Arc<mpsc::UnboundedSender<Instant>>>, body: String| async move {
                    if body.contains("\"transition\":\"firing\"") {
                        let _ = tx.send(Instant::now());
                    }
                    "ok"
                },
            ),
        )
        .with_state(Arc::new(tx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let config: AlertingConfig = serde_yaml_ng::from_str(&format!(
        "evaluation_interval: 15s
default_rules: false
rules: [{{ name: Slow API, expr: avg_api_latency_ms > 5000 }}]
channels: [{{ name: hook, type: webhook, url: 'http://{addr}/hook' }}]
"
    ))
    .unwrap();
    let engine = config.build().unwrap();
    let hub = SnapshotHub::new();
    hub.publish_values("ingest", [("avg_api_latency_ms".to_string(), 100.0)]);
    let _loop = engine.clone().spawn(
        hub.clone(),
        config.evaluation_interval,
        std::future::pending(),
    );
    let mut latencies = Vec::with_capacity(CROSSINGS);
    for _ in 0..CROSSINGS {
        let crossed = Instant::now();
        hub.publish_values("ingest", [("avg_api_latency_ms".to_string(), 9000.0)]);
        let received = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the webhook got the alert within 10 s")
            .unwrap();
        latencies.push(received - crossed);
        // Back below: the alert resolves before the next crossing.
        hub.publish_values("ingest", [("avg_api_latency_ms".to_string(), 100.0)]);
        while !engine.active_alerts().is_empty() {
            tokio::task::yield_now().await;
        }
    }
    latencies.sort();
    let at =
        |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).min(latencies.len()) - 1];
    println!(
        "notify_latency: {CROSSINGS} crossings, threshold crossing → webhook received: p50 {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.99),
        latencies[latencies.len() - 1]
    );
}
