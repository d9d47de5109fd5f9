//! e2e step: a newcomer's first run. The repository is cloned into a temporary
//! directory; the workspace's mon-server binary starts inside the clone with no
//! configuration file (the built-in default; only the port, through
//! `MON__SERVER__LISTEN=127.0.0.1:0` and `--address-file`, and an admin token, through
//! `MON__SERVER__AUTH__TOKENS`, come from the environment, since a server without
//! tokens refuses ingest); its start-up block is checked; `mon demo --fast` replays an
//! hour; then every built-in dashboard must answer with data in every panel:
//!
//! - host panels (CPU, memory, disk, load, network) and the health percentage are fed
//!   by the server itself, the status grids by its `host` and `mon` checks;
//! - request panels (rates, latencies, error rate, slow requests, per-endpoint tables)
//!   by the demo's `request` events; calls and voice quality by `call_started`,
//!   `call_ended` and `voice_quality`; AI services by `ai_usage` and `error`; LiveKit by
//!   its forwarded `livekit` events and `LK1301` errors; security by `auth` and
//!   `security` events and requests that name a principal and an address;
//! - alert lists answer the active alerts, which the demo may or may not raise: they
//!   are checked to be lists;
//! - LiveKit's active rooms and participants come from a `livekit` check asking a
//!   LiveKit server's Room service ([`NOT_FED`]), which the demo cannot stand in for.
//!
//! Finally the deployment marker is listed and `mon demo --delete` removes it and the demo's
//! series.

use super::{TempDir, http, http_get, project_root};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "newcomer-admin-token-0123456789";

/// The (dashboard, panel) pairs the demo does not feed: a `livekit` check does.
const NOT_FED: &[(&str, &str)] = &[
    ("livekit", "active_rooms"),
    ("livekit", "active_participants"),
];

pub(crate) fn newcomer() -> Result<()> {
    let tmp = TempDir::new()?;
    let clone = tmp.0.join("mon");
    let status = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(project_root())
        .arg(&clone)
        .status()
        .context("cannot run git clone")?;
    if !status.success() {
        bail!("git clone of {} failed", project_root().display());
    }
    if !clone.join("README.md").is_file() {
        bail!("the clone in {} has no README.md", clone.display());
    }

    let address = tmp.0.join("address");
    let stderr_path = tmp.0.join("server.stderr");
    let binary = project_root().join("target/debug/mon-server");
    let mut child = Command::new(&binary)
        .current_dir(&clone)
        .arg("--address-file")
        .arg(&address)
        .env("MON__SERVER__LISTEN", "127.0.0.1:0")
        .env(
            "MON__SERVER__AUTH__TOKENS",
            format!("[{{name: newcomer, token: {TOKEN}, role: admin}}]"),
        )
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path)?)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let result = run_against(&mut child, &address, &stderr_path, &clone);
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn run_against(
    child: &mut std::process::Child,
    address: &std::path::Path,
    stderr_path: &std::path::Path,
    clone: &std::path::Path,
) -> Result<()> {
    let port = mon_tests::reported_address(child, address).port();
    mon_tests::try_eventually("mon-server to be ready", Duration::from_secs(30), || {
        matches!(http_get(port, "/health/ready"), Ok((200, ..)))
    })?;

    // The start-up block: the bound address, the built-in default, the store in the clone.
    let banner = mon_tests::try_eventually(
        "the start-up block on stderr",
        Duration::from_secs(10),
        || {
            let text = std::fs::read_to_string(stderr_path).unwrap_or_default();
            if text.contains("tokens   add one") {
                Ok(text)
            } else {
                Err(format!("stderr holds:\n{text}"))
            }
        },
    )?;
    let store = clone.join("mon-data/mon.db");
    for want in [
        format!("web UI   http://127.0.0.1:{port}/"),
        "config   built-in default".to_owned(),
        "reads    need a token (1 admin, 0 ingest, 0 read configured)".to_owned(),
        format!("store    {}", store.display()),
    ] {
        if !banner.contains(&want) {
            bail!("the start-up block lacks {want:?}:\n{banner}");
        }
    }
    if banner.contains(TOKEN) {
        bail!("the start-up block shows the token:\n{banner}");
    }

    // mon demo --fast: an hour of traffic in seconds.
    let cli = project_root().join("target/debug/mon");
    let server = format!("http://127.0.0.1:{port}");
    let demo = |args: &[&str]| -> Result<String> {
        let out = Command::new(&cli)
            .args(args)
            .env("MON_SERVER", &server)
            .env("MON_TOKEN", TOKEN)
            .output()
            .with_context(|| format!("cannot run {}", cli.display()))?;
        if !out.status.success() {
            bail!(
                "mon {args:?} exited {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let started = std::time::Instant::now();
    let said = demo(&["demo", "--fast"])?;
    let replay = started.elapsed();

    // Every built-in dashboard answers with data in every panel, within a minute.
    let get = |path: &str| -> Result<Value> {
        let (status, _, body) = http(
            port,
            "GET",
            path,
            &[("Authorization", &format!("Bearer {TOKEN}"))],
            "",
        )?;
        if status != 200 {
            bail!("{path} answered {status}: {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("{path} is not JSON"))
    };
    let list = get("/api/v1/dashboards")?;
    let ids: Vec<String> = list["dashboards"]
        .as_array()
        .context("dashboards list")?
        .iter()
        .filter(|d| d["builtin"] == true)
        .filter_map(|d| d["id"].as_str().map(str::to_owned))
        .collect();
    let builtin = mon_metrics::BUILTIN_IDS.len();
    if ids.len() != builtin {
        bail!("expected {builtin} built-in dashboards, found {ids:?}");
    }
    let mut panels = 0;
    for id in &ids {
        let id = id.as_str();
        let path = format!("/api/v1/dashboards/{id}");
        let n = mon_tests::try_eventually(
            &format!("data in every panel of {path}"),
            Duration::from_secs(60),
            || -> std::result::Result<usize, String> {
                let dashboard = get(&path).map_err(|e| e.to_string())?;
                let mut empty = empty_panels(&dashboard);
                empty.retain(|panel| !NOT_FED.contains(&(id, panel.as_str())));
                if empty.is_empty() {
                    Ok(dashboard["panels"].as_array().map_or(0, Vec::len))
                } else {
                    Err(format!("panels without data: {empty:?}"))
                }
            },
        )?;
        panels += n - NOT_FED.iter().filter(|(d, _)| *d == id).count();
    }

    // The deployment marker is listed, and --delete removes every demo row.
    let deployments = get("/api/v1/deployments")?;
    if deployments["deployments"][0]["service"] != "voice-agent"
        || deployments["deployments"][0]["source"] != "demo"
    {
        bail!("the demo's deployment is not listed: {deployments}");
    }
    let deleted = demo(&["demo", "--delete"])?;
    let after = get("/api/v1/deployments")?;
    if after["count"] != 0 {
        bail!("mon demo --delete left deployments: {after}");
    }
    // ... and the demo's series (`source=demo`) with them: no chart keeps a demo point.
    let series = get("/api/v1/metrics")?;
    let left: Vec<&Value> = series["series"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["labels"]["source"] == "demo")
        .collect();
    if !left.is_empty() {
        bail!("mon demo --delete left series: {left:?}");
    }
    eprintln!(
        "e2e: newcomer: a clone's first run — built-in default, start-up block, mon demo --fast \
         in {:.1}s ({}), data in the {panels} panels it feeds of the {builtin} built-in dashboards, {}",
        replay.as_secs_f64(),
        said.lines().next().unwrap_or_default(),
        deleted.trim()
    );
    Ok(())
}

/// The panels of a dashboard answer that show nothing: a status grid without checks, or
/// a value panel whose every entry has neither a value nor a point. Alert lists are
/// required to be lists only.
fn empty_panels(dashboard: &Value) -> Vec<String> {
    let mut empty = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        let id = panel["id"].as_str().unwrap_or("?").to_owned();
        let fed = if let Some(checks) = panel.get("checks") {
            checks.as_array().is_some_and(|c| !c.is_empty())
        } else if let Some(alerts) = panel.get("alerts") {
            alerts.is_array()
        } else {
            panel["metrics"].as_array().is_some_and(|metrics| {
                metrics.iter().any(|m| {
                    !m["value"].is_null() || m["series"].as_array().is_some_and(|s| !s.is_empty())
                })
            })
        };
        if !fed {
            empty.push(id);
        }
    }
    empty
}
