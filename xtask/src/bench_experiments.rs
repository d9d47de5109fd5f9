//! `cargo xtask bench experiments`: the experiment and comparison queries as a user feels
//! them — the whole HTTP request to a release mon-server, p50 and p95 over [`RUNS`] runs
//! after [`WARMUP`] unmeasured ones, and the answer's size — at two sizes of an A/B
//! test ([`SIZES`] events), each on a fresh server.
//!
//! - The experiment: calls alternate between the variants `control` and `b`; each call
//!   sends `call_ended`, `voice_quality`, three `ai_usage` (STT, LLM, TTS, with its
//!   `call_id`), a `session` end and, for about one call in three, `feedback`, every event
//!   tagged with the experiment and its variant and timed over the last 12 hours. They are
//!   posted to `POST /api/v1/events` in batches of [`BATCH`], as an application would.
//!   Queried: `GET /api/v1/experiments/{name}` (every metric of both variants compared)
//!   and `GET /api/v1/experiments`.
//! - The comparisons: `call_success_rate` stored as the ingest sampler stores it (no
//!   labels, a sample every 10 s, the `metrics.resolution` default) for the last two days
//!   and an hour, written through the store's write path (`mon_store::Store::write`) and
//!   rolled up as the server's maintenance does before mon-server starts on the file; its
//!   level moves at a `deployment` event posted 3 hours ago. Queried:
//!   `GET /api/v1/compare` around that deployment (`window=1h`, raw samples), over two
//!   6-hour periods (raw samples) and over two days (1-minute rollups).
//!
//! - The stakeholder report over the last day (`GET /api/v1/reports?since=1d`): its nine
//!   sections read from the same store, the experiment compared among them.
//!
//! Every answer is checked (both variants with every event, every metric compared, each
//! period holding points, the report's calls) before its time counts. mon-server's
//! resident memory is read before and after the queries.

use super::{TempDir, http, project_root, run};
use crate::bench_alert_latency::percentile;
use crate::bench_query::rfc3339;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Events of the experiment, one fresh server each.
const SIZES: [usize; 2] = [10_000, 100_000];
/// Measured requests per query (after [`WARMUP`] unmeasured ones).
const RUNS: usize = 20;
const WARMUP: usize = 2;
/// Events per `POST /api/v1/events`.
const BATCH: usize = 1_000;
/// The experiment's name.
const EXPERIMENT: &str = "greeting-prompt";
/// The span the experiment's calls are spread over, ending now: within the default
/// retention of application events (`metrics.series.events_retention`, 1 day).
const EXPERIMENT_SPAN_MS: i64 = 12 * HOUR_MS;
/// The stored series' interval: the default `metrics.resolution`.
const SERIES_STEP_MS: i64 = 10_000;
/// How far back the stored series goes: two days and an hour, so that `a=2d/1d` is full.
const SERIES_SPAN_MS: i64 = 49 * HOUR_MS;
/// How long ago the deployment the comparison pivots on went live.
const DEPLOYED_AGO_MS: i64 = 3 * HOUR_MS;
const HOUR_MS: i64 = 3_600_000;

const INGEST_TOKEN: &str = "bench-ingest-token";
const READ_TOKEN: &str = "bench-read-token";

/// The rates and samples every comparison of the experiment must hold.
const RATES: [&str; 3] = ["call_success_rate", "abandonment_rate", "csat"];
const SAMPLES: [&str; 7] = [
    "voice_latency_ms",
    "mos",
    "ai_latency_ms",
    "call_duration_seconds",
    "session_duration_seconds",
    "rating",
    "ai_cost_per_call_usd",
];

/// The stored series' comparisons: (what, query after `/api/v1/compare?metric=call_success_rate&`).
const COMPARISONS: [(&str, &str); 3] = [
    (
        "deployment, 1 h each side (raw)",
        "deployment=voice-agent@1.4.2&window=1h",
    ),
    ("two 6 h periods (raw)", "a=12h/6h&b=6h/now"),
    ("two 1 d periods (1-minute rollups)", "a=2d/1d&b=1d/now"),
];

/// Runs both sizes and prints the figures.
pub(crate) fn experiments() -> Result<()> {
    run(
        "cargo",
        &["build", "--release", "--locked", "-p", "mon-server"],
    )?;
    let binary = project_root().join("target/release/mon-server");
    for size in SIZES {
        one_size(&binary, size)?;
    }
    println!(
        "bench experiments: {RUNS} runs after {WARMUP} unmeasured ones; the whole HTTP/1.0 request \
         (connect, answer read to the end); no peer system does this job, so no ratio"
    );
    Ok(())
}

/// What the runs of one query measured.
struct Measured {
    p50_ms: f64,
    p95_ms: f64,
    bytes: usize,
    /// The last answer, parsed.
    answer: Value,
}

/// A fresh server holding the stored series and `size` events of the experiment: feeds
/// it, measures every query and prints one line per query.
fn one_size(binary: &Path, size: usize) -> Result<()> {
    let dir = TempDir::new()?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let store_path = dir.0.join("mon.db");
    fill_series(&store_path, now_ms)?;
    let config = dir.0.join("mon.yaml");
    std::fs::write(
        &config,
        format!(
            "server:
  self_check: false
  auth:
    tokens:
      - {{ name: bench-ingest, token: {INGEST_TOKEN}, role: ingest }}
      - {{ name: bench-read, token: {READ_TOKEN}, role: read }}
metrics:
  host: false
alerting:
  default_rules: false
"
        ),
    )?;
    let server = super::Server::start_with(
        binary,
        Some(&config),
        &[("MON__STORAGE__PATH", &store_path.display().to_string())],
    )?;
    let port = server.port;

    let (events, calls) = experiment_events(size, now_ms)?;
    let started = Instant::now();
    for batch in events.chunks(BATCH) {
        post_events(port, batch)?;
    }
    let fed = started.elapsed().as_secs_f64();
    post_events(
        port,
        &[
            json!({"type": "deployment", "service": "voice-agent", "version": "1.4.2",
                 "timestamp": rfc3339(now_ms - DEPLOYED_AGO_MS)?}),
        ],
    )?;
    let label = format!(
        "{} events ({} calls, 2 variants)",
        thousands(size),
        thousands(calls)
    );
    let pid = server.child.id();
    println!(
        "bench experiments: {label}: posted in batches of {BATCH} in {fed:.1} s ({} events/s); \
         mon-server RSS before the queries {:.1} MB",
        thousands((size as f64 / fed) as usize),
        super::bench_checks::rss_kib(pid)? as f64 / 1024.0
    );

    let show = measure(port, &format!("/api/v1/experiments/{EXPERIMENT}"))?;
    check_experiment(&show.answer, size)?;
    print_line(
        &label,
        &format!("GET /api/v1/experiments/{EXPERIMENT}"),
        &show,
        "",
    );
    for finding in show.answer["comparisons"][0]["findings"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!(
            "bench experiments: {label}: finding: {}",
            finding.as_str().unwrap_or_default()
        );
    }
    let list = measure(port, "/api/v1/experiments")?;
    check_list(&list.answer, size)?;
    print_line(&label, "GET /api/v1/experiments", &list, "");
    for (what, query) in COMPARISONS {
        let path = format!("/api/v1/compare?metric=call_success_rate&{query}");
        let m = measure(port, &path)?;
        let (a, b) = check_compare(&m.answer, &path)?;
        print_line(
            &label,
            &format!("GET {path}"),
            &m,
            &format!(" ({what}: {a} and {b} points)"),
        );
    }
    // The stakeholder report over the day: every section read from the same store.
    let report = measure(port, "/api/v1/reports?since=1d")?;
    check_report(&report.answer, calls)?;
    print_line(&label, "GET /api/v1/reports?since=1d", &report, "");
    let rss = super::bench_checks::rss_kib(pid)?;
    println!(
        "bench experiments: {label}: mon-server RSS after the queries {:.1} MB",
        rss as f64 / 1024.0
    );
    Ok(())
}

/// The report has its nine sections, the calls sent ended in it and the experiment in it.
fn check_report(answer: &Value, calls: usize) -> Result<()> {
    let sections = answer["sections"].as_array().map_or(0, Vec::len);
    let figure = |section: &str, label: &str| {
        answer["sections"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["id"] == section)
            .and_then(|s| {
                s["figures"]
                    .as_array()?
                    .iter()
                    .find(|f| f["label"] == label)
            })
            .and_then(|f| f["value"].as_f64())
    };
    if sections != 9
        || figure("calls", "Calls ended") != Some(calls as f64)
        || figure("experiments", "Experiments") != Some(1.0)
    {
        bail!("the report does not hold the {calls} calls and the experiment: {answer}");
    }
    Ok(())
}

fn print_line(label: &str, query: &str, m: &Measured, extra: &str) {
    println!(
        "bench experiments: {label}: {query}{extra}: p50 {:.1} ms, p95 {:.1} ms, answer {:.1} kB",
        m.p50_ms,
        m.p95_ms,
        m.bytes as f64 / 1000.0
    );
}

/// `n` with thousands separators.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs `GET path` with the read token [`WARMUP`] + [`RUNS`] times; each must answer 200.
fn measure(port: u16, path: &str) -> Result<Measured> {
    let auth = format!("Bearer {READ_TOKEN}");
    let mut times = Vec::with_capacity(RUNS);
    let mut body = String::new();
    for i in 0..WARMUP + RUNS {
        let t0 = Instant::now();
        let (status, _, answer) = http(port, "GET", path, &[("Authorization", auth.as_str())], "")?;
        let elapsed = t0.elapsed();
        if status != 200 {
            bail!("GET {path} answered {status}: {answer}");
        }
        if i >= WARMUP {
            times.push(elapsed);
        }
        body = answer;
    }
    let ms = |p: f64| percentile(&times, p).as_secs_f64() * 1000.0;
    Ok(Measured {
        p50_ms: ms(50.0),
        p95_ms: ms(95.0),
        bytes: body.len(),
        answer: serde_json::from_str(&body)
            .with_context(|| format!("GET {path} did not answer JSON"))?,
    })
}

/// Posts `events` with the ingest token; every one must be accepted. A 429 (the server
/// under pressure) is retried after its `Retry-After`.
fn post_events(port: u16, events: &[Value]) -> Result<()> {
    let auth = format!("Bearer {INGEST_TOKEN}");
    let body = serde_json::to_string(events)?;
    for _ in 0..10 {
        let (status, head, answer) = http(
            port,
            "POST",
            "/api/v1/events",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            &body,
        )?;
        match status {
            200 => {
                let accepted: Value = serde_json::from_str(&answer)
                    .context("POST /api/v1/events did not answer JSON")?;
                if accepted["accepted"].as_u64() != Some(events.len() as u64) {
                    bail!(
                        "POST /api/v1/events accepted only part of {} events: {answer}",
                        events.len()
                    );
                }
                return Ok(());
            }
            429 => {
                let wait = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("retry-after:")
                            .and_then(|v| v.trim().parse::<u64>().ok())
                    })
                    .unwrap_or(1);
                std::thread::sleep(Duration::from_secs(wait));
            }
            _ => bail!("POST /api/v1/events answered {status}: {answer}"),
        }
    }
    bail!("POST /api/v1/events still answered 429 after 10 tries")
}

/// A number in [0, 1) drawn from `seed` (SplitMix64): the same data on every run.
fn unit(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // 53 random bits: exact in an f64.
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal value drawn from `seed` (Box-Muller).
fn normal(seed: u64) -> f64 {
    let u1 = unit(seed.wrapping_mul(2)).max(f64::MIN_POSITIVE);
    let u2 = unit(seed.wrapping_mul(2).wrapping_add(1));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// The first `size` events of the experiment's calls, each with its `timestamp` (calls
/// evenly spread over the [`EXPERIMENT_SPAN_MS`] before `now_ms`), and how many calls
/// they come from.
fn experiment_events(size: usize, now_ms: i64) -> Result<(Vec<Value>, usize)> {
    let mut calls: Vec<Vec<Value>> = Vec::new();
    let mut total = 0;
    while total < size {
        let mut events = call_events(calls.len() as u64);
        events.truncate(size - total);
        total += events.len();
        calls.push(events);
    }
    let spacing = EXPERIMENT_SPAN_MS / calls.len() as i64;
    let first = now_ms - EXPERIMENT_SPAN_MS;
    let n = calls.len();
    let mut out = Vec::with_capacity(size);
    for (i, events) in calls.into_iter().enumerate() {
        let ts = rfc3339(first + i as i64 * spacing)?;
        for mut event in events {
            event["timestamp"] = json!(ts);
            out.push(event);
        }
    }
    Ok((out, n))
}

/// The events of call `i`: variant `b` (odd calls) succeeds a little more often, answers
/// a little faster and spends a little more on the LLM than `control`.
fn call_events(i: u64) -> Vec<Value> {
    let b = i % 2 == 1;
    let variant = if b { "b" } else { "control" };
    let draw = |k: u64| unit(i * 64 + k);
    let gauss = |k: u64| normal(i * 64 + k);
    let call_id = format!("call-{i}");
    let (success_p, abandon_p, base_latency, llm_price) = if b {
        (0.93, 0.06, 600.0, 0.0062)
    } else {
        (0.91, 0.07, 650.0, 0.0055)
    };
    let success = draw(0) < success_p;
    let duration = round(20.0 + 280.0 * draw(1).powi(2), 1);
    let voice_latency = round(base_latency * (0.35 * gauss(2)).exp(), 1);
    let mos = round(
        (4.4 - voice_latency / 2500.0 - 0.3 * draw(3)).clamp(1.0, 5.0),
        2,
    );
    let turns = 2 + (draw(12) * 14.0) as u64;
    let tokens = (600.0 + 400.0 * draw(4)).round();
    let chars = (300.0 + 600.0 * draw(5)).round();
    let outcome = if draw(11) < abandon_p {
        "abandoned"
    } else {
        "completed"
    };
    let tag = |mut event: Value| {
        event["experiment"] = json!(EXPERIMENT);
        event["variant"] = json!(variant);
        event
    };
    let mut events = vec![
        tag(
            json!({"type": "call_ended", "call_id": call_id, "duration_seconds": duration,
                   "success": success}),
        ),
        tag(json!({"type": "voice_quality", "conversation_id": call_id,
                   "latency_ms": voice_latency, "packet_loss": round(0.02 * draw(6), 4),
                   "jitter_ms": round(4.0 + 20.0 * draw(7), 1), "mos": mos})),
        tag(
            json!({"type": "ai_usage", "provider": "deepgram", "service": "stt",
                   "model": "nova-2", "units": duration, "cost_usd": round(duration / 60.0 * 0.0043, 6),
                   "latency_ms": round(250.0 * (0.3 * gauss(8)).exp(), 1), "call_id": call_id}),
        ),
        tag(
            json!({"type": "ai_usage", "provider": "openai", "service": "llm",
                   "model": "gpt-4o", "units": tokens, "cost_usd": round(tokens / 1000.0 * llm_price, 6),
                   "latency_ms": round(620.0 * (0.4 * gauss(9)).exp(), 1), "call_id": call_id}),
        ),
        tag(
            json!({"type": "ai_usage", "provider": "elevenlabs", "service": "tts",
                   "model": "turbo-v2", "units": chars, "cost_usd": round(chars * 0.00018, 6),
                   "latency_ms": round(180.0 * (0.3 * gauss(10)).exp(), 1), "call_id": call_id}),
        ),
        tag(
            json!({"type": "session", "session_id": call_id, "phase": "end",
                   "outcome": outcome,
                   "turns": turns,
                   "duration_seconds": round(duration + 5.0, 1)}),
        ),
    ];
    if draw(13) < 0.3 {
        let rating = if success {
            3 + (draw(14) * 3.0) as u64
        } else {
            1 + (draw(14) * 3.0) as u64
        };
        events.push(tag(
            json!({"type": "feedback", "rating": rating.min(5), "session_id": call_id}),
        ));
    }
    events
}

/// The level of `call_success_rate` at `ts_ms`: 0.91 before the deployment, 0.93 after,
/// with noise as a rule window's share of calls would have.
fn success_rate(ts_ms: i64, deployed_ms: i64) -> f64 {
    let level = if ts_ms < deployed_ms { 0.91 } else { 0.93 };
    // Sample times are whole multiples of the step: a fine seed.
    round(
        (level + 0.015 * normal(ts_ms as u64 / 1000)).clamp(0.0, 1.0),
        4,
    )
}

/// Writes `call_success_rate` into a new store at `path` through the store's write path
/// (a sample every [`SERIES_STEP_MS`] over the [`SERIES_SPAN_MS`] before `now_ms`), then
/// rolls it up two minutes at a time as the server's maintenance would.
fn fill_series(path: &Path, now_ms: i64) -> Result<()> {
    let last = now_ms / SERIES_STEP_MS * SERIES_STEP_MS - SERIES_STEP_MS;
    let first = last - SERIES_SPAN_MS;
    let deployed = now_ms - DEPLOYED_AGO_MS;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = mon_store::Store::open(path, mon_store::StoreOptions::default())?;
        let times: Vec<i64> = (0..=(last - first) / SERIES_STEP_MS)
            .map(|i| first + i * SERIES_STEP_MS)
            .collect();
        for chunk in times.chunks(5_000) {
            let samples = chunk
                .iter()
                .map(|&ts| mon_store::Sample {
                    name: "call_success_rate".to_owned(),
                    labels: BTreeMap::new(),
                    ts: chrono::DateTime::from_timestamp_millis(ts).unwrap_or_default(),
                    value: success_rate(ts, deployed),
                })
                .collect();
            store
                .write(mon_store::WriteBatch::from_samples(samples))
                .await?;
        }
        crate::bench_query::roll_up(&store, first, last).await?;
        store.close().await?;
        anyhow::Ok(())
    })
}

/// Both variants with all `size` events, compared on every metric the calls carry.
fn check_experiment(answer: &Value, size: usize) -> Result<()> {
    let variants = answer["variants"]
        .as_array()
        .context("no variants in the experiment's answer")?;
    let events: u64 = variants.iter().filter_map(|v| v["events"].as_u64()).sum();
    if variants.len() != 2 || events != size as u64 || answer["truncated"] != false {
        bail!(
            "the experiment's answer has {} variants and {events} events (truncated: {}), not 2 and {size}",
            variants.len(),
            answer["truncated"]
        );
    }
    let comparison = &answer["comparisons"][0];
    let missing: Vec<&str> = RATES
        .iter()
        .filter(|m| comparison["rates"][**m].is_null())
        .chain(
            SAMPLES
                .iter()
                .filter(|m| comparison["samples"][**m].is_null()),
        )
        .copied()
        .collect();
    if comparison["variant"] != "b" || comparison["control"] != "control" || !missing.is_empty() {
        bail!(
            "the comparison of b with control lacks {missing:?}: {}",
            comparison
        );
    }
    Ok(())
}

/// One experiment, with all `size` events.
fn check_list(answer: &Value, size: usize) -> Result<()> {
    let experiment = &answer["experiments"][0];
    let events: u64 = experiment["variants"]
        .as_array()
        .context("no variants in the list of experiments")?
        .iter()
        .filter_map(|v| v["events"].as_u64())
        .sum();
    if answer["count"] != 1 || experiment["name"] != EXPERIMENT || events != size as u64 {
        bail!("the list of experiments is not {EXPERIMENT} with {size} events: {answer}");
    }
    Ok(())
}

/// The points of each period; both must hold some, and a deployment's comparison must
/// name it.
fn check_compare(answer: &Value, path: &str) -> Result<(u64, u64)> {
    let points = |side: &str| answer[side]["points"].as_u64().unwrap_or(0);
    let (a, b) = (points("a"), points("b"));
    if a == 0 || b == 0 || answer["means"].is_null() || answer["ranks"].is_null() {
        bail!("GET {path}: a period without points or without tests: {answer}");
    }
    if path.contains("deployment=") && answer["deployment"].is_null() {
        bail!("GET {path}: the answer names no deployment: {answer}");
    }
    Ok((a, b))
}
