//! `cargo xtask bench wrk`: single-event `POST /api/v1/events` under concurrency,
//! measured with wrk (Debian package) against a release mon-server.
//!
//! Each request carries one `request` event and an ingest token; the server validates
//! it, commits it to its SQLite store (the writer groups concurrent requests into one
//! transaction) and only then answers. Any answer other than 200 fails the bench, and
//! the events the server reports as ingested must match the requests wrk completed.

use super::{Server, TempDir, apt_install, http_get, project_root, run};
use anyhow::{Context, Result, bail};
use std::process::Command;

const TOKEN: &str = "bench-ingest-token";

/// wrk's script: a POST with one event, the token and the JSON content type.
const SCRIPT: &str = r#"wrk.method = "POST"
wrk.path = "/api/v1/events"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-ingest-token"
wrk.body = '[{"type":"request","endpoint":"/api/rooms","method":"POST","status":201,"latency_ms":84}]'
"#;

/// Runs wrk at each concurrency and prints requests/s and latency percentiles.
pub(crate) fn wrk() -> Result<()> {
    apt_install(&["wrk"])?;
    run(
        "cargo",
        &["build", "--release", "--locked", "-p", "mon-server"],
    )?;
    let dir = TempDir::new()?;
    let config = dir.0.join("bench-wrk.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  self_check: false\n  auth:\n    tokens:\n      - {{ name: bench, token: {TOKEN}, role: ingest }}\nmetrics:\n  host: false\n"
        ),
    )?;
    let script = dir.0.join("post-event.lua");
    std::fs::write(&script, SCRIPT)?;
    let server = Server::start_with(
        &project_root().join("target/release/mon-server"),
        Some(&config),
        &[],
    )?;
    let url = format!("http://127.0.0.1:{}", server.port);
    let mut completed = 0u64;
    // wrk needs at least one connection per thread.
    for (threads, connections) in [("1", "1"), ("2", "16"), ("2", "64")] {
        let output = Command::new("wrk")
            .args([
                "-t",
                threads,
                "-c",
                connections,
                "-d",
                "15s",
                "--latency",
                "-s",
            ])
            .arg(&script)
            .arg(&url)
            .output()
            .context("cannot run wrk")?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() || text.contains("Non-2xx") || text.contains("Socket errors") {
            bail!("wrk with {connections} connections failed:\n{text}");
        }
        let field = |prefix: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
                .unwrap_or("?")
                .to_string()
        };
        completed += text
            .lines()
            .find_map(|l| {
                l.split_once(" requests in ")
                    .map(|(n, _)| n.trim().parse::<u64>())
            })
            .context("no request count in wrk's output")??;
        println!(
            "bench wrk: {connections} connections, {threads} threads, 15 s: {} requests/s; latency p50 {} p99 {}",
            field("Requests/sec:"),
            field("50%"),
            field("99%"),
        );
    }
    // Every completed request is one stored event: the server's own counter says so.
    let (_, _, metrics) = http_get(server.port, "/metrics")?;
    let ingested: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("mon_ingest_events_total{type=\"request\"} "))
        .context("no mon_ingest_events_total on /metrics")?
        .trim()
        .parse()?;
    // wrk counts only answered requests; one cut off at the end may still have landed.
    if (ingested as u64) < completed {
        bail!("wrk completed {completed} requests but the server ingested {ingested} events");
    }
    println!("bench wrk: {completed} requests completed, {ingested} events ingested");
    Ok(())
}
