//! e2e step: mon-server runs `examples/mon.yaml` (every check kind) against this machine's
//! Redis, PostgreSQL and MariaDB, and reports every check through `/health/detailed`,
//! `mon status` and a heartbeat pinged over HTTP.

use super::{Server, project_root};
use anyhow::{Context, Result, bail};
use std::process::Command;
use std::time::Duration;

const READ_TOKEN: &str = "e2e-read-token";
const ADMIN_TOKEN: &str = "e2e-admin-token";

/// A request with a bearer token: (status, body).
fn call(port: u16, method: &str, path: &str, token: &str) -> Result<(u16, String)> {
    let auth = format!("Bearer {token}");
    let (status, _, body) = crate::http(port, method, path, &[("Authorization", &auth)], "")?;
    Ok((status, body))
}

/// `"name":"<name>"` followed (within its entry) by `"status":"<status>"`.
fn entry_status<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let start = body.find(&format!("\"name\":\"{name}\""))?;
    let rest = &body[start..];
    let at = rest.find("\"status\":\"")? + "\"status\":\"".len();
    rest[at..].split('"').next()
}

pub(crate) fn checks() -> Result<()> {
    crate::build_bins()?;
    let root = project_root();
    let server = Server::start_with(
        &root.join("target/debug/mon-server"),
        Some(&root.join("examples/mon.yaml")),
        &[
            ("MON_ADMIN_TOKEN", ADMIN_TOKEN),
            ("MON_READ_TOKEN", READ_TOKEN),
            ("MON__METRICS__HOST", "false"),
        ],
    )?;

    // Every kind of the example is reported; the local services are healthy.
    let (code, body) = call(server.port, "GET", "/health/detailed", READ_TOKEN)?;
    if code != 200 && code != 503 {
        bail!("/health/detailed answered {code}: {body}");
    }
    for kind in [
        "http",
        "redis",
        "postgres",
        "mysql",
        "tcp",
        "dns",
        "tls_certificate",
        "heartbeat",
        "command",
        "system",
    ] {
        if !body.contains(&format!("\"kind\":\"{kind}\"")) {
            bail!("/health/detailed has no {kind} check: {body}");
        }
    }
    for name in ["cache", "db", "legacy-db", "resolver", "disk-writable"] {
        if entry_status(&body, name) != Some("healthy") {
            bail!("check {name} is not healthy: {body}");
        }
    }
    // api (nothing listens on :9000) depends on cache; it is down for its own reason.
    if entry_status(&body, "api") != Some("unhealthy") {
        bail!("check api should be unhealthy: {body}");
    }

    // A heartbeat through the real endpoint.
    let (code, body) = call(
        server.port,
        "POST",
        "/api/v1/heartbeat/nightly-backup",
        ADMIN_TOKEN,
    )?;
    if code != 200 || entry_status(&body, "nightly-backup") != Some("healthy") {
        bail!("heartbeat ping answered {code}: {body}");
    }
    let (code, _) = call(
        server.port,
        "POST",
        "/api/v1/heartbeat/nightly-backup",
        READ_TOKEN,
    )?;
    if code != 403 {
        bail!("a read token could ping a heartbeat ({code})");
    }

    // `mon status` shows every check (it exits non-zero: the example's api is unhealthy).
    let status = || -> Result<String> {
        let output = Command::new(root.join("target/debug/mon"))
            .args(["--server", &format!("http://127.0.0.1:{}", server.port)])
            .args(["--token", READ_TOKEN, "--no-color", "status"])
            .output()
            .context("cannot run mon")?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let output = mon_tests::try_eventually(
        "`mon status` to show nightly-backup",
        Duration::from_secs(20),
        || match status() {
            Ok(text) if text.contains("nightly-backup") => Ok(text),
            Ok(text) => Err(format!("it shows:\n{text}")),
            Err(e) => Err(format!("{e:#}")),
        },
    )?;
    for name in [
        "api",
        "cache",
        "db",
        "legacy-db",
        "sip",
        "resolver",
        "api-cert",
        "nightly-backup",
        "disk-writable",
        "host",
    ] {
        if !output
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name))
        {
            bail!("`mon status` does not list {name}:\n{output}");
        }
    }
    eprintln!(
        "e2e: the example config reports every check kind (/health/detailed, mon status, heartbeat)"
    );
    Ok(())
}
