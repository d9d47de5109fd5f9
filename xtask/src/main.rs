//! Project tasks: `cargo xtask ci | e2e | bench`.
//!
//! - `ci`: formatting, clippy with `-D warnings`, docs, every test (cargo-nextest when installed).
//! - `e2e`: tests against Debian-packaged servers (installed with apt-get when missing), and
//!   schemathesis against the served OpenAPI document.
//! - `bench`: the benchmarks whose figures are recorded in docs/benchmarks.md.
//! - `package`: the deployment files validated, the Debian package built, installed, run and purged.

#![allow(clippy::print_stdout, clippy::print_stderr)] // A task runner reports on the terminal.

mod bench_alert_latency;
mod bench_checks;
mod bench_experiments;
mod bench_query;
mod bench_scale;
mod bench_wrk;
mod e2e_alertmanager;
mod e2e_browser;
mod e2e_checks;
mod e2e_ha;
mod e2e_logs;
mod e2e_newcomer;
mod e2e_openapi;
mod e2e_prom_alerts;
mod e2e_prometheus;
mod e2e_remote_write;
mod e2e_restart;
mod livekit_fake;
mod package;

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("e2e") if args.get(1).map(String::as_str) == Some("browser") => e2e_browser::browser(),
        Some("e2e") if args.get(1).map(String::as_str) == Some("alertmanager") => {
            e2e_alertmanager::alertmanager()
        }
        Some("e2e") if args.get(1).map(String::as_str) == Some("prometheus") => {
            build_bins()?;
            e2e_prometheus::prometheus()
        }
        Some("e2e") if args.get(1).map(String::as_str) == Some("prom-alerts") => {
            build_bins()?;
            e2e_prom_alerts::prom_alerts()
        }
        Some("e2e") if args.get(1).map(String::as_str) == Some("restart") => e2e_restart::restart(),
        Some("e2e") if args.get(1).map(String::as_str) == Some("ha") => e2e_ha::ha(),
        Some("e2e") if args.get(1).map(String::as_str) == Some("remote-write") => {
            e2e_remote_write::remote_write()
        }
        Some("e2e") if args.get(1).map(String::as_str) == Some("openapi") => e2e_openapi::openapi(),
        Some("e2e") if args.get(1).map(String::as_str) == Some("newcomer") => {
            build_bins()?;
            e2e_newcomer::newcomer()
        }
        Some("e2e") => e2e(),
        Some("bench") => bench(&args[1..]),
        Some("package") => package::package(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | e2e [browser|prometheus|prom-alerts|alertmanager|ha|remote-write|restart|openapi|newcomer] | bench [store|rss|checks|anomaly|wrk|alert-latency|query|experiments|scale[:checks|ingest|otlp|remote-write]] | package>"
            );
            std::process::exit(2);
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command, echoing it, and fails when it fails.
fn run(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}

fn has(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ci() -> Result<()> {
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // The end-to-end tests run the real binaries: build them first.
    build_bins()?;
    if has("cargo", "nextest") || has("cargo-nextest", "--version") {
        run(
            "cargo",
            &[
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--no-fail-fast",
            ],
        )?;
        // nextest does not run doc tests.
        run("cargo", &["test", "--workspace", "--doc", "--locked"])?;
    } else {
        run(
            "cargo",
            &["test", "--workspace", "--locked", "--no-fail-fast"],
        )?;
    }
    eprintln!("$ RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps --locked");
    let status = Command::new("cargo")
        .args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings")
        .status()?;
    if !status.success() {
        bail!("cargo doc found problems");
    }
    Ok(())
}

/// Builds every binary of the workspace in the debug profile: one command everywhere
/// (also in `tests/src/lib.rs`), so that the binaries are linked once with one feature set.
fn build_bins() -> Result<()> {
    run("cargo", &["build", "--workspace", "--bins", "--locked"])
}

/// Installs Debian packages that are missing (needs root, as on CI and the dev machines).
fn apt_install(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg")
                .args(["-s", p])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run("apt-get", &["update", "-q"])?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(&missing);
    run("apt-get", &args)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A plain HTTP/1.0 GET on loopback: (status, headers, body).
fn http_get(port: u16, path: &str) -> Result<(u16, String, String)> {
    http_get_accepting(port, path, "*/*")
}

/// The same with an `Accept` header.
fn http_get_accepting(port: u16, path: &str, accept: &str) -> Result<(u16, String, String)> {
    http(port, "GET", path, &[("Accept", accept)], "")
}

/// One HTTP/1.0 request on loopback with extra headers and a body: (status, headers, body).
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes())?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP answer")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status code")?;
    Ok((status, head.to_string(), body.to_string()))
}

/// Runs `promtool check metrics` on an exposition in the classic text format; any
/// finding is an error that quotes promtool.
pub(crate) fn promtool_check(text: &str) -> Result<()> {
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run promtool (package prometheus)")?;
    promtool
        .stdin
        .take()
        .context("promtool stdin")?
        .write_all(text.as_bytes())?;
    let output = promtool.wait_with_output()?;
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() || !report.trim().is_empty() {
        bail!("promtool check metrics found problems in /metrics:\n{report}");
    }
    Ok(())
}

/// A mon-server child process on a port it chose itself, with a temporary store;
/// killed on drop.
struct Server {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Server {
    /// Starts `binary` on its built-in default (with a temporary store) and waits for readiness.
    fn start(binary: &Path) -> Result<Server> {
        Self::start_with(binary, None, &[])
    }

    /// Starts `binary` with an optional config file and extra environment variables; the
    /// listen address is always overridden to port 0 (the bound port read back from
    /// `--address-file`) and the store path to a temp dir.
    fn start_with(binary: &Path, config: Option<&Path>, env: &[(&str, &str)]) -> Result<Server> {
        let dir = TempDir::new()?;
        let address = dir.0.join("address");
        let mut command = Command::new(binary);
        if let Some(config) = config {
            command.arg("-c").arg(config);
        }
        let mut child = command
            .arg("--address-file")
            .arg(&address)
            .env("MON__SERVER__LISTEN", "127.0.0.1:0")
            .env("MON__STORAGE__PATH", dir.0.join("mon.db"))
            .env("LOG_LEVEL", "warn")
            .envs(env.iter().copied())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let port = mon_tests::reported_address(&mut child, &address).port();
        let server = Server {
            child,
            port,
            _dir: dir,
        };
        mon_tests::try_eventually("mon-server to be ready", Duration::from_secs(30), || {
            matches!(http_get(port, "/health/ready"), Ok((200, ..)))
        })?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory under target/, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let path = project_root()
            .join("target")
            .join("xtask-tmp")
            .join(format!("{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// End-to-end checks against real, Debian-packaged tools.
fn e2e() -> Result<()> {
    apt_install(&["prometheus"])?;
    build_bins()?;
    let server = Server::start(&project_root().join("target/debug/mon-server"))?;

    // OpenMetrics by default, as Prometheus scrapes it.
    let (status, head, body) = http_get(server.port, "/metrics")?;
    let head_lower = head.to_ascii_lowercase();
    if status != 200
        || !head_lower.contains("content-type: application/openmetrics-text")
        || !body.ends_with("# EOF\n")
    {
        bail!("/metrics answered {status} with headers:\n{head}");
    }
    // promtool reads the classic text format: ask for it, and promtool lints every family.
    let (status, head, body) =
        http_get_accepting(server.port, "/metrics", "text/plain; version=0.0.4")?;
    if status != 200
        || !head
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4")
    {
        bail!("/metrics (text/plain) answered {status} with headers:\n{head}");
    }
    promtool_check(&body)?;
    eprintln!(
        "e2e: OpenMetrics served; promtool check metrics is clean ({} lines)",
        body.lines().count()
    );
    e2e_checks::checks()?;
    e2e_alertmanager::alertmanager()?;
    e2e_ha::ha()?;
    e2e_logs::logs()?;
    e2e_prometheus::prometheus()?;
    e2e_remote_write::remote_write()?;
    e2e_prom_alerts::prom_alerts()?;
    e2e_browser::browser()?;
    e2e_restart::restart()?;
    e2e_openapi::openapi()?;
    e2e_newcomer::newcomer()?;
    // Any failure above has returned an error; these are the steps that passed:
    // OpenMetrics, promtool, checks, Alertmanager, HA pair behind an Alertmanager cluster, logs, Prometheus + Pushgateway, Prometheus
    // sending alerts, browser, restart, schemathesis, a newcomer's first run.
    println!("e2e: 13 passed, 0 failed");
    Ok(())
}

fn bench(args: &[String]) -> Result<()> {
    let which = args.first().map_or("all", String::as_str);
    if matches!(which, "all" | "store") {
        run(
            "cargo",
            &[
                "bench",
                "--locked",
                "-p",
                "mon-store",
                "--bench",
                "store_write",
                "--",
                "--measurement-time",
                "5",
            ],
        )?;
    }
    if matches!(which, "all" | "checks") {
        bench_checks::checks()?;
    }
    if matches!(which, "all" | "anomaly") {
        // Precision and recall of anomaly detection on synthetic series (simulated time).
        run(
            "cargo",
            &[
                "bench",
                "--locked",
                "-p",
                "mon-alerting",
                "--bench",
                "anomaly",
            ],
        )?;
    }
    if matches!(which, "all" | "rss") {
        rss()?;
    }
    if matches!(which, "all" | "wrk") {
        bench_wrk::wrk()?;
    }
    if matches!(which, "all" | "alert-latency") {
        bench_alert_latency::alert_latency()?;
    }
    if let Some(part) = which.strip_prefix("scale") {
        // Not part of `all`: it runs for about 20 minutes.
        bench_scale::scale(part.strip_prefix(':').unwrap_or("all"))?;
    }
    if matches!(which, "all" | "query") {
        bench_query::query()?;
    }
    if matches!(which, "all" | "experiments") {
        bench_experiments::experiments()?;
    }
    Ok(())
}

/// Resident memory of a release mon-server on its built-in default after one minute.
fn rss() -> Result<()> {
    run(
        "cargo",
        &["build", "--release", "--locked", "-p", "mon-server"],
    )?;
    let server = Server::start(&project_root().join("target/release/mon-server"))?;
    std::thread::sleep(Duration::from_secs(60));
    // Some traffic, as a scraper and a dashboard would make.
    for _ in 0..100 {
        http_get(server.port, "/metrics")?;
        http_get(server.port, "/api/v1/status")?;
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    println!("mon-server after 60 s on the built-in default: {rss}; peak {hwm}");
    Ok(())
}
