//! `cargo xtask bench alert-latency`: from the HTTP acknowledgement of an event that
//! crosses a threshold to the arrival of the alert's webhook, as a user sees it, for
//! mon-server (release) and, in the same run, for Prometheus + Alertmanager tuned to
//! their best; plus mon-server's idle CPU.
//!
//! - mon: a `gauge` event `bench_value` = 100 is posted to `POST /api/v1/events`; the
//!   time is taken when the answer has been read. A rule `bench_value > 50` (`for: 0s`)
//!   notifies a `webhook` channel (`format: alertmanager`) on a loopback receiver in
//!   this process, which notes the arrival. Then 0 is posted and the resolution awaited
//!   before the next incident.
//! - reference: the same value pushed to a Pushgateway (`PUT /metrics/job/bench`), which
//!   Prometheus scrapes every second and evaluates every second (`for: 0s`); its
//!   Alertmanager (`group_wait: 0s`, `group_interval: 1s`) calls the same receiver.
//! - idle: CPU time of mon-server on its built-in default, from `/proc/PID/stat` over 60 s.
//!
//! mon-server is the release build; with `MON_BENCH_DEBUG=1`, the debug build.

use super::{TempDir, apt_install, free_port, http, http_get, project_root, run};
use crate::bench_checks::{clock_ticks_per_second, cpu_ticks};
use anyhow::{Context, Result, bail};
use mon_tests::Capture;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Incidents per system.
const INCIDENTS: usize = 60;
/// The longest wait for one webhook.
const PATIENCE: Duration = Duration::from_secs(30);
/// How long idle CPU is measured.
const IDLE: Duration = Duration::from_secs(60);

const TOKEN: &str = "bench-ingest-token";

/// A child process killed on drop.
pub(crate) struct Kill(pub(crate) Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs both systems and prints p50/p95/p99, the ratio and the idle CPU.
pub(crate) fn alert_latency() -> Result<()> {
    apt_install(&[
        "prometheus",
        "prometheus-alertmanager",
        "prometheus-pushgateway",
    ])?;
    // MON_BENCH_DEBUG=1: the debug build (quicker to build; slower to run).
    let debug = std::env::var_os("MON_BENCH_DEBUG").is_some();
    let (args, profile): (&[&str], &str) = if debug {
        (&["build", "--locked", "-p", "mon-server"], "debug")
    } else {
        (
            &["build", "--release", "--locked", "-p", "mon-server"],
            "release",
        )
    };
    run("cargo", args)?;
    println!("bench alert-latency: mon-server {profile} build");
    let binary = project_root()
        .join("target")
        .join(profile)
        .join("mon-server");
    let receiver = Capture::start();

    let mon = mon(&binary, &receiver)?;
    print_line("mon-server", &mon);
    let reference = prometheus(&receiver)?;
    print_line("Prometheus + Alertmanager", &reference);
    println!(
        "bench alert-latency: ratio mon / Prometheus + Alertmanager: p50 {:.3}, p99 {:.3}",
        ratio(percentile(&mon, 50.0), percentile(&reference, 50.0)),
        ratio(percentile(&mon, 99.0), percentile(&reference, 99.0)),
    );
    idle_cpu(&binary)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}

fn print_line(system: &str, latencies: &[Duration]) {
    let ms = |p: f64| percentile(latencies, p).as_secs_f64() * 1000.0;
    println!(
        "bench alert-latency: {system}: {} incidents, POST acknowledged -> webhook received: \
         p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        ms(50.0),
        ms(95.0),
        ms(99.0),
        ms(100.0),
    );
}

/// The nearest-rank percentile `p` (0–100) of `values`.
pub(crate) fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    // Ranks are small counts: the conversions are exact.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or_default()
}

/// Runs the incidents: `push(v)` sets the value and returns when acknowledged; each
/// latency is from the acknowledgement of a crossing to the `firing` webhook on `path`.
fn incidents(
    receiver: &Capture,
    path: &str,
    mut push: impl FnMut(f64) -> Result<()>,
) -> Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(INCIDENTS);
    for _ in 0..INCIDENTS {
        let seen = receiver.requests().len();
        push(100.0)?;
        let acknowledged = Instant::now();
        let arrived = webhook(receiver, path, seen, "firing")?;
        latencies.push(arrived.saturating_duration_since(acknowledged));
        let seen = receiver.requests().len();
        push(0.0)?;
        webhook(receiver, path, seen, "resolved")?;
    }
    Ok(latencies)
}

/// When the first request on `path` after the first `seen` ones, with webhook status
/// `status`, arrived.
fn webhook(receiver: &Capture, path: &str, seen: usize, status: &str) -> Result<Instant> {
    mon_tests::try_eventually(&format!("a {status} webhook on {path}"), PATIENCE, || {
        receiver
            .requests()
            .into_iter()
            .skip(seen)
            .find(|r| r.path == path && r.json()["status"] == status)
            .map(|r| r.at)
    })
    .map_err(Into::into)
}

/// mon-server with the rule and the webhook channel; the value pushed as a `gauge` event.
fn mon(binary: &Path, receiver: &Capture) -> Result<Vec<Duration>> {
    let dir = TempDir::new()?;
    let config = dir.0.join("mon.yaml");
    std::fs::write(
        &config,
        format!(
            "server:
  self_check: false
  auth: {{ tokens: [{{ name: bench, token: {TOKEN}, role: ingest }}] }}
metrics:
  host: false
alerting:
  default_rules: false
  custom_variables: [bench_value]
  rules:
    - {{ name: bench, expr: bench_value > 50, for: 0s, severity: critical }}
  channels:
    - {{ name: hook, type: webhook, format: alertmanager, url: '{}' }}
",
            receiver.url("/mon")
        ),
    )?;
    let server = super::Server::start_with(binary, Some(&config), &[])?;
    let port = server.port;
    let auth = format!("Bearer {TOKEN}");
    incidents(receiver, "/mon", |value| {
        let body = format!(r#"[{{"type": "gauge", "name": "bench_value", "value": {value}}}]"#);
        let (status, _, answer) = http(
            port,
            "POST",
            "/api/v1/events",
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            &body,
        )?;
        if status != 200 {
            bail!("POST /api/v1/events answered {status}: {answer}");
        }
        Ok(())
    })
}

/// Pushgateway, Prometheus and Alertmanager, tuned for the shortest delay.
fn prometheus(receiver: &Capture) -> Result<Vec<Duration>> {
    let dir = TempDir::new()?;
    let (pg_port, prom_port, am_port) = (free_port()?, free_port()?, free_port()?);
    let am_config = dir.0.join("alertmanager.yml");
    std::fs::write(
        &am_config,
        format!(
            "route: {{ receiver: bench, group_by: ['...'], group_wait: 0s, group_interval: 1s, repeat_interval: 1h }}
receivers:
  - name: bench
    webhook_configs: [{{ url: '{}', send_resolved: true }}]
",
            receiver.url("/prometheus")
        ),
    )?;
    let rules = dir.0.join("rules.yml");
    std::fs::write(
        &rules,
        "groups:
  - name: bench
    rules:
      - { alert: bench, expr: bench_value > 50, for: 0s, labels: { severity: critical } }
",
    )?;
    let prom_config = dir.0.join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}
rule_files: ['{}']
alerting:
  alertmanagers: [{{ static_configs: [{{ targets: ['127.0.0.1:{am_port}'] }}] }}]
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{{ targets: ['127.0.0.1:{pg_port}'] }}]
",
            rules.display()
        ),
    )?;
    let quiet = |c: &mut Command| -> Result<Kill> {
        Ok(Kill(
            c.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("cannot start {c:?}"))?,
        ))
    };
    let _pushgateway = quiet(
        Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address=127.0.0.1:{pg_port}")),
    )?;
    let _alertmanager = quiet(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!("--storage.path={}", dir.0.join("am").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address="),
    )?;
    let _prometheus = quiet(
        Command::new("prometheus")
            .arg(format!("--config.file={}", prom_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("prom").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}")),
    )?;
    for (name, port) in [
        ("Pushgateway", pg_port),
        ("Alertmanager", am_port),
        ("Prometheus", prom_port),
    ] {
        mon_tests::try_eventually(&format!("{name} ready"), PATIENCE, || {
            matches!(http_get(port, "/-/ready"), Ok((200, ..)))
        })?;
    }
    let push = |value: f64| -> Result<()> {
        let (status, _, answer) = http(
            pg_port,
            "PUT",
            "/metrics/job/bench",
            &[("Content-Type", "text/plain; version=0.0.4")],
            &format!("bench_value {value}\n"),
        )?;
        if status != 200 {
            bail!("Pushgateway answered {status}: {answer}");
        }
        Ok(())
    };
    // Wait until Prometheus has the series, so that the first incident is a normal one.
    push(0.0)?;
    mon_tests::try_eventually("Prometheus to scrape bench_value", PATIENCE, || {
        http_get(prom_port, "/api/v1/query?query=bench_value")
            .is_ok_and(|(status, _, body)| status == 200 && body.contains("\"bench_value\""))
    })?;
    incidents(receiver, "/prometheus", push)
}

/// CPU time of mon-server on its built-in default over [`IDLE`], after a warm-up.
fn idle_cpu(binary: &Path) -> Result<()> {
    let server = super::Server::start(binary)?;
    let pid = server.child.id();
    std::thread::sleep(Duration::from_secs(10));
    let (cpu0, t0) = (cpu_ticks(pid)?, Instant::now());
    std::thread::sleep(IDLE);
    let (cpu1, elapsed) = (cpu_ticks(pid)?, t0.elapsed());
    // Tick counts are far below 2^53: the conversion is exact.
    let seconds = (cpu1 - cpu0) as f64 / clock_ticks_per_second()?;
    println!(
        "bench alert-latency: mon-server idle on the built-in default: {seconds:.2} CPU-s over {:.0} s \
         ({:.2} % of one core)",
        elapsed.as_secs_f64(),
        seconds / elapsed.as_secs_f64() * 100.0
    );
    Ok(())
}
