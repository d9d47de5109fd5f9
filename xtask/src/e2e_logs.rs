//! e2e step: the real mon-server logs through mon-logging into rotating files (JSON lines
//! of the documented schema) and serves error tracking and log search over HTTP.

use super::{Server, TempDir, http_get, project_root};
use anyhow::{Context, Result, bail};
use std::time::Duration;

pub(crate) fn logs() -> Result<()> {
    let logs = TempDir::new()?;
    let dir = logs.0.join("logs");
    let dir_text = dir.display().to_string();
    let server = Server::start_with(
        &project_root().join("target/debug/mon-server"),
        None,
        &[
            ("MON__LOGGING__DIR", dir_text.as_str()),
            ("MON__LOGGING__FORMAT", "json"),
            ("LOG_LEVEL", "info"),
        ],
    )?;

    // The start-up lines reach app/ as JSON lines of the documented schema.
    let today = chrono_free_today();
    let app = dir.join("app").join(format!("app_{today}.log"));
    let text = mon_tests::try_eventually(
        &format!("the start-up line in {}", app.display()),
        Duration::from_secs(10),
        || {
            let text = std::fs::read_to_string(&app).unwrap_or_default();
            if text.contains("mon-server listening") {
                Ok(text)
            } else {
                Err(format!("it holds:\n{text}"))
            }
        },
    )?;
    let line = text
        .lines()
        .find(|l| l.contains("mon-server listening"))
        .context("start-up line")?;
    for key in [
        "\"timestamp\":",
        "\"level\":\"INFO\"",
        "\"logger\":",
        "\"app\":",
        "\"environment\":",
    ] {
        if !line.starts_with("{\"timestamp\":") || !line.contains(key) {
            bail!("the JSON line lacks {key}: {line}");
        }
    }
    for stream in ["errors", "audit", "performance"] {
        if !dir.join(stream).is_dir() {
            bail!("{stream}/ was not created under {}", dir.display());
        }
    }

    // Error tracking and log search answer, with a request id.
    for path in [
        "/api/v1/errors",
        "/api/v1/logs?q=listening&level=warn",
        "/api/v1/errors/0000000000000000",
    ] {
        let (status, head, body) = http_get(server.port, path)?;
        let want = if path.ends_with("0000") { 404 } else { 200 };
        if status != want || !head.to_ascii_lowercase().contains("x-request-id:") {
            bail!("{path} answered {status} (want {want}) with headers:\n{head}\n{body}");
        }
    }
    let (status, _, body) = http_get(server.port, "/api/v1/logs?level=loud")?;
    if status != 400 || !body.contains("bad_request") {
        bail!("/api/v1/logs?level=loud answered {status}: {body}");
    }
    eprintln!(
        "e2e: mon-server writes JSON lines to {}, errors and logs are served",
        dir.display()
    );
    Ok(())
}

/// Today's UTC date as `YYYY-MM-DD`, from the system clock (xtask has no date crate).
fn chrono_free_today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
