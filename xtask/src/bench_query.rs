//! `cargo xtask bench query`: a 24 h range of 100 series at one-minute points (144,000
//! points), queried over HTTP from mon-server (release) and, in the same run, from the
//! Debian Prometheus holding the same points; the time of the whole request as the client
//! sees it (p50, p95 over [`RUNS`] runs), the answer's size, and mon-server's resident
//! memory before, during (sampled every millisecond while the queries run) and after.
//!
//! - mon: the points are written into a store file with the store's own write path
//!   (`mon_store::Store::write`) and rolled up as the server's maintenance does, then
//!   mon-server starts on that file. Queried: `GET /api/v1/metrics/range?step=1m` (the
//!   compact answer) and `GET /api/v1/metrics/query?step=1m` (the full one).
//! - Prometheus: the same points as OpenMetrics, turned into blocks by
//!   `promtool tsdb create-blocks-from openmetrics` in its data directory before it
//!   starts; queried: `GET /api/v1/query_range?query=bench_series&step=60`.

use super::{TempDir, apt_install, free_port, http_get, project_root, run};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Series in the data set.
const SERIES: usize = 100;
/// Points per series: one a minute for 24 h.
const POINTS: i64 = 1440;
/// Measured queries per system (after [`WARMUP`] unmeasured ones).
const RUNS: usize = 20;
const WARMUP: usize = 2;

/// The value of series `s` at point `i`: a wave with three decimals, as a gauge would be.
fn value(s: usize, i: i64) -> f64 {
    let x = (i as f64 / 37.0 + s as f64).sin() * 40.0 + 50.0;
    (x * 1000.0).round() / 1000.0
}

/// Runs both systems and prints the figures and the ratio mon / Prometheus.
pub(crate) fn query() -> Result<()> {
    apt_install(&["prometheus"])?;
    // MON_BENCH_PERF=FILE: the `profiling` build (release with line tables), and
    // `perf record -g` on mon-server while its compact query runs, into FILE.
    let perf = std::env::var_os("MON_BENCH_PERF").map(std::path::PathBuf::from);
    let profile = if perf.is_some() {
        "profiling"
    } else {
        "release"
    };
    run(
        "cargo",
        &[
            "build",
            "--profile",
            profile,
            "--locked",
            "-p",
            "mon-server",
        ],
    )?;
    let binary = project_root()
        .join("target")
        .join(profile)
        .join("mon-server");
    let now_ms = chrono::Utc::now().timestamp_millis();
    let last = now_ms / 60_000 * 60_000 - 60_000;
    let first = last - (POINTS - 1) * 60_000;
    let dir = TempDir::new()?;

    let store_path = dir.0.join("mon.db");
    fill_mon(&store_path, first, last)?;
    let prom_data = dir.0.join("prom");
    fill_prometheus(&dir.0, &prom_data, first, last)?;

    let from = rfc3339(first)?;
    let to = rfc3339(last)?;
    let server = super::Server::start_with(
        &binary,
        None,
        &[("MON__STORAGE__PATH", &store_path.display().to_string())],
    )?;
    let pid = server.child.id();
    std::thread::sleep(Duration::from_secs(3));
    let idle = super::bench_checks::rss_kib(pid)?;
    let recording = match &perf {
        Some(file) => Some(super::bench_alert_latency::Kill(
            Command::new("perf")
                .args(["record", "-g", "-F", "2000", "-o"])
                .arg(file)
                .args(["-p", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot start perf (apt-get install linux-perf)")?,
        )),
        None => None,
    };
    let compact = measure(
        server.port,
        &format!("/api/v1/metrics/range?name=bench_series&from={from}&to={to}&step=1m"),
        Some(pid),
    )?;
    if let Some(mut recording) = recording {
        // SIGINT: perf writes its file and exits.
        run("kill", &["-INT", &recording.0.id().to_string()])?;
        recording.0.wait()?;
        println!(
            "bench query: perf profile of the compact queries in {}",
            perf.as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
        );
    }
    let full = measure(
        server.port,
        &format!("/api/v1/metrics/query?name=bench_series&from={from}&to={to}&step=1m"),
        Some(pid),
    )?;
    std::thread::sleep(Duration::from_secs(2));
    let after = super::bench_checks::rss_kib(pid)?;
    drop(server);

    let prom_port = free_port()?;
    let _prometheus = super::bench_alert_latency::Kill(
        Command::new("prometheus")
            .arg(format!("--config.file={}", prom_config(&dir.0)?.display()))
            .arg(format!("--storage.tsdb.path={}", prom_data.display()))
            .arg("--storage.tsdb.retention.time=30d")
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start prometheus")?,
    );
    mon_tests::try_eventually("Prometheus ready", Duration::from_secs(60), || {
        matches!(http_get(prom_port, "/-/ready"), Ok((200, ..)))
    })?;
    let prometheus = measure(
        prom_port,
        &format!(
            "/api/v1/query_range?query=bench_series&start={}&end={}&step=60",
            first / 1000,
            last / 1000
        ),
        None,
    )?;

    // Each answer must hold every point, or the comparison means nothing.
    for (system, m) in [
        ("mon compact", &compact),
        ("mon full", &full),
        ("Prometheus", &prometheus),
    ] {
        if m.points != SERIES * POINTS as usize {
            bail!(
                "{system} answered {} points, not {}",
                m.points,
                SERIES * POINTS as usize
            );
        }
    }
    let mb = |kib: u64| kib as f64 / 1024.0;
    for (system, m) in [
        ("mon-server /api/v1/metrics/range (compact)", &compact),
        ("mon-server /api/v1/metrics/query (full)", &full),
        ("Prometheus /api/v1/query_range", &prometheus),
    ] {
        println!(
            "bench query: {system}: 100 series x 1,440 points: p50 {:.1} ms, p95 {:.1} ms, \
             answer {:.2} MB{}",
            m.p50_ms,
            m.p95_ms,
            m.bytes as f64 / 1e6,
            m.peak_kib
                .map(|p| format!(", mon RSS during {:.1} MB", mb(p)))
                .unwrap_or_default()
        );
    }
    println!(
        "bench query: mon-server RSS: before {:.1} MB, during at most {:.1} MB, after {:.1} MB",
        mb(idle),
        mb(compact
            .peak_kib
            .unwrap_or(0)
            .max(full.peak_kib.unwrap_or(0))),
        mb(after)
    );
    println!(
        "bench query: ratio mon compact / Prometheus: time p50 {:.3}, p95 {:.3}, size {:.3}",
        compact.p50_ms / prometheus.p50_ms,
        compact.p95_ms / prometheus.p95_ms,
        compact.bytes as f64 / prometheus.bytes as f64
    );
    Ok(())
}

/// What the runs of one query measured.
struct Measured {
    p50_ms: f64,
    p95_ms: f64,
    bytes: usize,
    /// Points in the answer (non-null values).
    points: usize,
    /// The highest resident memory of `pid` seen while the queries ran.
    peak_kib: Option<u64>,
}

/// Runs `path` [`WARMUP`] + [`RUNS`] times on `port`; samples `pid`'s RSS meanwhile.
fn measure(port: u16, path: &str, pid: Option<u32>) -> Result<Measured> {
    let running = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = pid.map(|pid| {
        let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                if let Ok(kib) = super::bench_checks::rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    });
    let mut times = Vec::with_capacity(RUNS);
    let mut body = String::new();
    for run in 0..WARMUP + RUNS {
        let started = Instant::now();
        let (status, _, answer) = http_get(port, path)?;
        let took = started.elapsed();
        if status != 200 {
            bail!("GET {path} answered {status}: {answer:.300}");
        }
        if run >= WARMUP {
            times.push(took.as_secs_f64() * 1000.0);
        }
        body = answer;
    }
    running.store(false, Ordering::Relaxed);
    if let Some(sampler) = sampler {
        let _ = sampler.join();
    }
    times.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        times[((p / 100.0 * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1]
    };
    Ok(Measured {
        p50_ms: rank(50.0),
        p95_ms: rank(95.0),
        bytes: body.len(),
        points: count_points(&body)?,
        peak_kib: pid.map(|_| peak.load(Ordering::Relaxed)),
    })
}

/// The points an answer holds, whichever of the three shapes it has.
fn count_points(body: &str) -> Result<usize> {
    let json: serde_json::Value = serde_json::from_str(body).context("the answer is not JSON")?;
    let series = json["series"]
        .as_array()
        .or_else(|| json["data"]["result"].as_array())
        .context("no series in the answer")?;
    Ok(series
        .iter()
        .map(|s| {
            ["values", "points"]
                .iter()
                .find_map(|k| s[*k].as_array())
                .map_or(0, |v| v.iter().filter(|p| !p.is_null()).count())
        })
        .sum())
}

/// `ms` (unix milliseconds) as RFC 3339 in whole seconds, UTC.
pub(crate) fn rfc3339(ms: i64) -> Result<String> {
    Ok(chrono::DateTime::from_timestamp_millis(ms)
        .context("time out of range")?
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Writes the points into a new store at `path` through the store's write path, then
/// rolls them up two minutes at a time as the server's maintenance would.
fn fill_mon(path: &std::path::Path, first: i64, last: i64) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = mon_store::Store::open(path, mon_store::StoreOptions::default())?;
        for s in 0..SERIES {
            let labels = BTreeMap::from([("s".to_owned(), s.to_string())]);
            let samples = (0..POINTS)
                .map(|i| mon_store::Sample {
                    name: "bench_series".to_owned(),
                    labels: labels.clone(),
                    ts: chrono::DateTime::from_timestamp_millis(first + i * 60_000)
                        .unwrap_or_default(),
                    value: value(s, i),
                })
                .collect();
            store
                .write(mon_store::WriteBatch::from_samples(samples))
                .await?;
        }
        roll_up(&store, first, last).await?;
        store.close().await?;
        anyhow::Ok(())
    })
}

/// Rolls the points written from `first` to `last` (Unix ms) up as the server's series
/// maintenance does, one pass every two minutes of their time.
pub(crate) async fn roll_up(store: &mon_store::Store, first: i64, last: i64) -> Result<()> {
    let policy = mon_store::SeriesPolicy::default();
    let mut at = first;
    while at <= last + 2 * 60_000 {
        let when = chrono::DateTime::from_timestamp_millis(at).unwrap_or_default();
        store.series_maintenance(&policy, when).await?;
        at += 2 * 60_000;
    }
    Ok(())
}

/// Writes the same points as OpenMetrics and has promtool turn them into blocks in `data`.
fn fill_prometheus(
    dir: &std::path::Path,
    data: &std::path::Path,
    first: i64,
    last: i64,
) -> Result<()> {
    let input = dir.join("bench.om");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&input)?);
    writeln!(out, "# TYPE bench_series gauge")?;
    for s in 0..SERIES {
        for i in 0..POINTS {
            let ts = (first + i * 60_000) / 1000;
            writeln!(out, "bench_series{{s=\"{s}\"}} {} {ts}", value(s, i))?;
        }
    }
    writeln!(out, "# EOF")?;
    out.flush()?;
    drop(out);
    let _ = last;
    run(
        "promtool",
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            &input.display().to_string(),
            &data.display().to_string(),
        ],
    )
}

/// A Prometheus configuration that scrapes nothing: the blocks are the only data.
fn prom_config(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        "global: { scrape_interval: 1h }\nscrape_configs: []\n",
    )?;
    Ok(path)
}
