//! `cargo xtask bench checks`: 1,000 HTTP checks at a 10 s interval against a local
//! server — CPU seconds of mon-server per 1,000 probes and its resident memory.
//!
//! The target server is a small thread-per-connection HTTP/1.1 responder in this
//! process that keeps connections open, as most servers do, so its own CPU time is not
//! counted. mon-server (release) runs with host metrics off and every check persisted
//! to its SQLite store, as in production. Two runs: the checks' default (a fresh
//! connection per probe) and `keep_alive: true`.

use super::{Server, TempDir, project_root, run};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CHECKS: usize = 1000;
const WARM_UP: Duration = Duration::from_secs(20);
const MEASURE: Duration = Duration::from_secs(60);

/// Starts the target server; returns its port and the count of requests it answered.
pub(crate) fn target() -> Result<(u16, Arc<AtomicU64>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let served = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&served);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                let mut buf = [0u8; 2048];
                // One answer per request, until the client closes the connection.
                loop {
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";
                        if stream.write_all(answer).is_err() {
                            return;
                        }
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    Ok((port, served))
}

/// utime + stime of `pid`, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces: the fields after it start past the last ')'.
    let rest = stat.rsplit_once(')').context("malformed /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3 of the full line, utime 14 and stime 15.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    Ok(utime + stime)
}

pub(crate) fn clock_ticks_per_second() -> Result<f64> {
    let output = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().parse()?)
}

pub(crate) fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("no VmRSS value")?
        .parse()?)
}

/// Runs the benchmark, both ways, and prints the figures.
pub(crate) fn checks() -> Result<()> {
    run(
        "cargo",
        &["build", "--release", "--locked", "-p", "mon-server"],
    )?;
    let (port, served) = target()?;
    for keep_alive in [false, true] {
        measure(port, &served, keep_alive)?;
    }
    Ok(())
}

fn measure(port: u16, served: &AtomicU64, keep_alive: bool) -> Result<()> {
    let dir = TempDir::new()?;
    let mut yaml = String::from("server:\n  self_check: false\nmetrics:\n  host: false\nchecks:\n");
    for i in 0..CHECKS {
        yaml.push_str(&format!(
            "  - {{ name: c{i}, type: http, url: \"http://127.0.0.1:{port}/c{i}\", interval: 10s, timeout: 5s, keep_alive: {keep_alive} }}\n"
        ));
    }
    let config = dir.0.join("bench-checks.yaml");
    std::fs::write(&config, yaml)?;
    let server = Server::start_with(
        &project_root().join("target/release/mon-server"),
        Some(&config),
        &[],
    )?;
    let pid = server.child.id();
    std::thread::sleep(WARM_UP);

    let ticks = clock_ticks_per_second()?;
    let (cpu0, probes0, t0) = (
        cpu_ticks(pid)?,
        served.load(Ordering::Relaxed),
        Instant::now(),
    );
    std::thread::sleep(MEASURE);
    let (cpu1, probes1, elapsed) = (
        cpu_ticks(pid)?,
        served.load(Ordering::Relaxed),
        t0.elapsed(),
    );
    let rss = rss_kib(pid)?;

    let probes = probes1 - probes0;
    if probes == 0 {
        bail!("no probe reached the target server");
    }
    // Tick and probe counts are far below 2^53: the conversions are exact.
    let cpu_seconds = (cpu1 - cpu0) as f64 / ticks;
    let per_thousand = cpu_seconds / probes as f64 * 1000.0;
    let connections = if keep_alive {
        "keep_alive: true"
    } else {
        "a fresh connection per probe (default)"
    };
    println!(
        "bench checks: {CHECKS} http checks every 10s, {connections}; {probes} probes in {:.1}s ({:.1}/s); \
         mon-server used {cpu_seconds:.2} CPU-s = {per_thousand:.3} CPU-s per 1,000 probes \
         (target <= 0.2); RSS {:.1} MB (target < 60)",
        elapsed.as_secs_f64(),
        probes as f64 / elapsed.as_secs_f64(),
        rss as f64 / 1024.0,
    );
    Ok(())
}
