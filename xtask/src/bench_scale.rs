//! `cargo xtask bench scale [checks|ingest|otlp|remote-write]`: one release mon-server on
//! this machine at the sizes of a large installation, each part against a load
//! generated in this process (whose CPU is not counted):
//!
//! - **checks**: 10,000 `http` checks every 30 s — CPU per 1,000 probes, RSS, and the
//!   store's growth per day (bytes per stored result after a graceful stop × results a day);
//! - **ingest**: 1,000,000 `request` events a minute (batches of 1,000, paced) for
//!   `MON_BENCH_SCALE_MINUTES` (10) minutes with `metrics.series.events_retention: 2m` —
//!   the rate held, batch latency, CPU, RSS and the store's size each minute (flat once
//!   retention deletes as much as arrives);
//! - **otlp**: OTLP/HTTP protobuf exports of 1,000 server spans and of 1,000 gauge points,
//!   posted back to back from two connections for 20 s each — spans/s and points/s;
//! - **remote-write**: 1,000,000 samples (1,000 series) written to a store through
//!   `mon_store` — the store's own write rate —, then a mon-server on that store sending
//!   the backlog with remote write to a receiver in this process that decodes every
//!   request (snappy, protobuf) — samples/s.

use super::bench_checks::{clock_ticks_per_second, cpu_ticks, rss_kib, target};
use super::{Server, TempDir, http, project_root, run};
use anyhow::{Result, bail};
use prost::Message;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-scale-token";

fn binary() -> std::path::PathBuf {
    project_root().join("target/release/mon-server")
}

/// The release mon-server on `config` with its store at `db`.
fn start(config: &Path, db: &Path) -> Result<Server> {
    let db = db.to_str().unwrap_or_default();
    Server::start_with(&binary(), Some(config), &[("MON__STORAGE__PATH", db)])
}

/// The size of the store's files (database and WAL), in bytes.
fn store_bytes(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            std::fs::metadata(path).ok().map(|m| m.len())
        })
        .sum()
}

/// Sends SIGTERM and waits for the exit: the store is flushed and checkpointed.
fn stop_gracefully(server: &mut Server) -> Result<()> {
    let pid = server.child.id().to_string();
    run("kill", &["-TERM", &pid])?;
    mon_tests::try_eventually("mon-server to exit", Duration::from_secs(60), || {
        server.child.try_wait().ok().flatten().map(|_| ())
    })?;
    Ok(())
}

pub(crate) fn scale(which: &str) -> Result<()> {
    run(
        "cargo",
        &["build", "--release", "--locked", "-p", "mon-server"],
    )?;
    if matches!(which, "all" | "checks") {
        checks()?;
    }
    if matches!(which, "all" | "ingest") {
        ingest()?;
    }
    if matches!(which, "all" | "otlp") {
        otlp()?;
    }
    if matches!(which, "all" | "remote-write") {
        remote_write()?;
    }
    Ok(())
}

fn checks() -> Result<()> {
    const CHECKS: usize = 10_000;
    const INTERVAL_S: u64 = 30;
    let (port, served) = target()?;
    let dir = TempDir::new()?;
    let db = dir.0.join("mon.db");
    let mut yaml = format!(
        "server:\n  self_check: false\nstorage:\n  path: '{}'\nmetrics:\n  host: false\nchecks:\n",
        db.display()
    );
    for i in 0..CHECKS {
        yaml.push_str(&format!(
            "  - {{ name: c{i}, type: http, url: \"http://127.0.0.1:{port}/c{i}\", interval: {INTERVAL_S}s, timeout: 10s }}\n"
        ));
    }
    let config = dir.0.join("scale-checks.yaml");
    std::fs::write(&config, yaml)?;
    let started = served.load(Ordering::Relaxed);
    let mut server = start(&config, &db)?;
    let pid = server.child.id();
    // Two rounds to spread the checks over their interval and fill the caches.
    std::thread::sleep(Duration::from_secs(2 * INTERVAL_S));
    let ticks = clock_ticks_per_second()?;
    let (cpu0, probes0, t0) = (
        cpu_ticks(pid)?,
        served.load(Ordering::Relaxed),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(3 * INTERVAL_S));
    let (cpu1, probes1, elapsed) = (
        cpu_ticks(pid)?,
        served.load(Ordering::Relaxed),
        t0.elapsed(),
    );
    let rss = rss_kib(pid)? as f64 / 1024.0;
    stop_gracefully(&mut server)?;
    let results = served.load(Ordering::Relaxed) - started;
    let probes = probes1 - probes0;
    if probes == 0 || results == 0 {
        bail!("no probe reached the target server");
    }
    let cpu = (cpu1 - cpu0) as f64 / ticks;
    let per_result = store_bytes(&db) as f64 / results as f64;
    let per_day = per_result * (CHECKS as f64 * 86_400.0 / INTERVAL_S as f64);
    println!(
        "bench scale checks: {CHECKS} http checks every {INTERVAL_S}s: {probes} probes in {:.0}s \
         ({:.0}/s, {:.0} due); {cpu:.1} CPU-s = {:.3} CPU-s per 1,000 probes ({:.0} % of one core); \
         RSS {rss:.1} MB; store {:.0} bytes per result ({results} results) → {:.2} GB a day, \
         {:.1} GB at the 7-day result retention",
        elapsed.as_secs_f64(),
        probes as f64 / elapsed.as_secs_f64(),
        CHECKS as f64 / INTERVAL_S as f64,
        cpu / probes as f64 * 1000.0,
        cpu / elapsed.as_secs_f64() * 100.0,
        per_result,
        per_day / 1e9,
        per_day * 7.0 / 1e9,
    );
    Ok(())
}

/// A batch of 1,000 `request` events over 20 endpoints.
fn request_batch(seq: u64) -> String {
    let events: Vec<serde_json::Value> = (0..1000u64)
        .map(|i| {
            let n = seq * 1000 + i;
            serde_json::json!({
                "type": "request",
                "endpoint": format!("/api/v1/rooms/{}", n % 20),
                "method": if n.is_multiple_of(3) { "POST" } else { "GET" },
                "status": if n.is_multiple_of(50) { 500 } else { 200 },
                "latency_ms": 20.0 + (n % 200) as f64,
            })
        })
        .collect();
    serde_json::Value::Array(events).to_string()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ingest() -> Result<()> {
    let minutes: u64 = std::env::var("MON_BENCH_SCALE_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    const BATCH: u64 = 1000;
    const PER_MINUTE: u64 = 1_000_000;
    let dir = TempDir::new()?;
    let db = dir.0.join("mon.db");
    let config = dir.0.join("scale-ingest.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  auth: {{ tokens: [{{ name: bench, token: {TOKEN}, role: admin }}] }}\n\
             storage:\n  path: '{}'\n\
             metrics:\n  series: {{ events_retention: 2m, interval: 15s }}\n",
            db.display()
        ),
    )?;
    let server = start(&config, &db)?;
    let (port, pid) = (server.port, server.child.id());
    let ticks = clock_ticks_per_second()?;
    let batches_per_second = PER_MINUTE as f64 / 60.0 / BATCH as f64;
    let total_batches = (batches_per_second * 60.0 * minutes as f64) as u64;
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let failed = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (next, failed) = (next.clone(), failed.clone());
        workers.push(std::thread::spawn(move || -> Vec<f64> {
            let client = reqwest::blocking::Client::new();
            let url = format!("http://127.0.0.1:{port}/api/v1/events");
            let mut latencies = Vec::new();
            loop {
                let seq = next.fetch_add(1, Ordering::SeqCst);
                if seq >= total_batches {
                    return latencies;
                }
                // Paced: batch `seq` is due at seq / rate seconds.
                let due = Duration::from_secs_f64(seq as f64 / batches_per_second);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
                let body = request_batch(seq);
                let t = Instant::now();
                let ok = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .is_ok_and(|r| r.status().is_success());
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut last_cpu = cpu_ticks(pid)?;
    for minute in 1..=minutes {
        let until = start + Duration::from_secs(60 * minute);
        if let Some(wait) = until.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let cpu = cpu_ticks(pid)?;
        println!(
            "bench scale ingest: minute {minute}: {} events sent, {:.0} % of one core, RSS {:.1} MB, store {:.1} MB",
            next.load(Ordering::SeqCst).min(total_batches) * BATCH,
            (cpu - last_cpu) as f64 / ticks / 60.0 * 100.0,
            rss_kib(pid)? as f64 / 1024.0,
            store_bytes(&db) as f64 / 1e6,
        );
        last_cpu = cpu;
    }
    let mut latencies: Vec<f64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap_or_default())
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let (_, _, body) = http(
        port,
        "GET",
        "/metrics",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        "",
    )?;
    let counted: f64 = body
        .lines()
        .filter(|l| l.starts_with("mon_ingest_events_total{") && l.contains("type=\"request\""))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    println!(
        "bench scale ingest: {} events in {elapsed:.0}s = {:.0} a minute ({} failed batches); \
         batch of 1,000 answered in p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; the server counted {counted:.0}",
        latencies.len() as u64 * BATCH,
        latencies.len() as f64 * BATCH as f64 / elapsed * 60.0,
        failed.load(Ordering::Relaxed),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Posts `body` to `path` back to back from two connections for `seconds`; returns
/// the requests answered 200.
fn hammer(port: u16, path: &str, body: Vec<u8>, seconds: u64) -> Result<u64> {
    let body = Arc::new(body);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (body, stop, done) = (body.clone(), stop.clone(), done.clone());
            let url = format!("http://127.0.0.1:{port}{path}");
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let ok = client
                        .post(&url)
                        .bearer_auth(TOKEN)
                        .header("Content-Type", "application/x-protobuf")
                        .body(body.as_ref().clone())
                        .send()
                        .is_ok_and(|r| r.status() == 200);
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    Ok(done.load(Ordering::Relaxed))
}

fn otlp() -> Result<()> {
    use mon_metrics::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
    use mon_metrics::otlp::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
    let kv = |key: &str, value: any_value::Value| KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    };
    let resource = Some(Resource {
        attributes: vec![
            kv(
                "service.name",
                any_value::Value::StringValue("agent".into()),
            ),
            kv(
                "service.version",
                any_value::Value::StringValue("1.0.0".into()),
            ),
        ],
        ..Default::default()
    });
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    let spans: Vec<Span> = (0..1000u64)
        .map(|i| Span {
            name: "POST /rooms".into(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: now - 50_000_000 - i,
            end_time_unix_nano: now - i,
            trace_id: vec![1; 16],
            span_id: (i + 1).to_be_bytes().to_vec(),
            attributes: vec![
                kv(
                    "http.request.method",
                    any_value::Value::StringValue("POST".into()),
                ),
                kv(
                    "http.route",
                    any_value::Value::StringValue(format!("/rooms/{}", i % 20)),
                ),
                kv("http.response.status_code", any_value::Value::IntValue(200)),
            ],
            ..Default::default()
        })
        .collect();
    let traces = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource.clone(),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let points: Vec<NumberDataPoint> = (0..1000i64)
        .map(|i| NumberDataPoint {
            attributes: vec![kv("queue", any_value::Value::StringValue(format!("q{i}")))],
            time_unix_nano: now,
            value: Some(number_data_point::Value::AsInt(i)),
            ..Default::default()
        })
        .collect();
    let metrics = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource,
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "queue.depth".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: points,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let dir = TempDir::new()?;
    let config = dir.0.join("scale-otlp.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  auth: {{ tokens: [{{ name: bench, token: {TOKEN}, role: admin }}] }}\n\
             storage:\n  path: '{}'\nmetrics:\n  max_series: 2000\n",
            dir.0.join("mon.db").display()
        ),
    )?;
    let server = Server::start_with(&binary(), Some(&config), &[])?;
    for (path, body, what) in [
        ("/v1/traces", traces.encode_to_vec(), "spans"),
        ("/v1/metrics", metrics.encode_to_vec(), "metric points"),
    ] {
        let seconds = 20;
        let requests = hammer(server.port, path, body, seconds)?;
        if requests == 0 {
            bail!("no OTLP request to {path} succeeded");
        }
        println!(
            "bench scale otlp: {path}: {requests} exports of 1,000 {what} in {seconds}s = {:.0} {what}/s (protobuf, two connections)",
            requests as f64 * 1000.0 / seconds as f64
        );
    }
    Ok(())
}

/// A remote write receiver: decodes every request (snappy, `WriteRequest`), counts its
/// samples and answers 204.
fn receiver() -> Result<(u16, Arc<AtomicU64>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let samples = Arc::new(AtomicU64::new(0));
    let counter = samples.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 65536];
                loop {
                    // Headers, then a body of Content-Length bytes.
                    let head_end = loop {
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end + 4;
                        }
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body: Vec<u8> = buf.drain(..head_end + length).skip(head_end).collect();
                    let n = snap::raw::Decoder::new()
                        .decompress_vec(&body)
                        .ok()
                        .and_then(|raw| {
                            mon_metrics::proto::WriteRequest::decode(raw.as_slice()).ok()
                        })
                        .map_or(0, |r| {
                            r.timeseries.iter().map(|t| t.samples.len() as u64).sum()
                        });
                    counter.fetch_add(n, Ordering::Relaxed);
                    if stream
                        .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok((port, samples))
}

fn remote_write() -> Result<()> {
    use sha2::Digest;
    const SERIES: usize = 1000;
    const PER_SERIES: usize = 1000;
    let dir = TempDir::new()?;
    let db = dir.0.join("mon.db");
    let (port, received) = receiver()?;
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    // The backlog: written through the store, as the samplers write.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let written = runtime.block_on(async {
        let store = mon_store::Store::open(&db, mon_store::StoreOptions::default())?;
        let base = chrono::Utc::now() - chrono::TimeDelta::seconds(PER_SERIES as i64 + 60);
        let t = Instant::now();
        for step in 0..PER_SERIES {
            let ts = base + chrono::TimeDelta::seconds(step as i64);
            let samples = (0..SERIES)
                .map(|s| mon_store::Sample {
                    name: format!("bench_metric_{}", s % 10),
                    labels: [("series".to_owned(), s.to_string())].into(),
                    ts,
                    value: (step * s) as f64,
                })
                .collect();
            store
                .write(mon_store::WriteBatch::from_samples(samples))
                .await?;
        }
        let elapsed = t.elapsed();
        // A cursor from the epoch: the exporter takes the whole backlog, as after an outage.
        let name: String = sha2::Sha256::digest(url.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        store
            .write(mon_store::WriteBatch::from_kept(vec![
                mon_store::KeptState {
                    kind: "remote_write".into(),
                    name,
                    body: serde_json::json!({"since": 0, "series": {}}),
                    at: chrono::Utc::now(),
                },
            ]))
            .await?;
        store.close().await?;
        anyhow::Ok(elapsed)
    })?;
    let total = (SERIES * PER_SERIES) as u64;
    println!(
        "bench scale remote-write: the store wrote {total} samples ({SERIES} series, batches of {SERIES}) in {:.2}s = {:.0} samples/s",
        written.as_secs_f64(),
        total as f64 / written.as_secs_f64()
    );
    let config = dir.0.join("scale-rw.yaml");
    std::fs::write(
        &config,
        format!(
            "storage:\n  path: '{}'\nmetrics:\n  host: false\n  exporters:\n    remote_write: {{ url: '{url}', interval: 1s }}\n",
            db.display()
        ),
    )?;
    let start = Instant::now();
    let server = self::start(&config, &db)?;
    let pid = server.child.id();
    let ticks = clock_ticks_per_second()?;
    let cpu0 = cpu_ticks(pid)?;
    mon_tests::try_eventually(
        "the backlog at the receiver",
        Duration::from_secs(600),
        || (received.load(Ordering::Relaxed) >= total).then_some(()),
    )?;
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(pid)? - cpu0) as f64 / ticks;
    println!(
        "bench scale remote-write: mon sent the {total} samples (batches of 2,000) in {elapsed:.1}s = {:.0} samples/s, \
         {cpu:.1} CPU-s of mon-server ({:.0} % of one core), counted by a receiver that decodes every request",
        total as f64 / elapsed,
        cpu / elapsed * 100.0
    );
    Ok(())
}
