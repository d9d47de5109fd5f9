//! e2e step `openapi`: schemathesis (PyPI) against a live mon-server with the document it
//! serves at `/api/openapi.json`, for a bounded time, with an admin token: no 5xx, every
//! status and answer as documented, schema-valid requests accepted and invalid ones
//! refused (the exceptions, and why, are in `xtask/schemathesis.toml`).

use crate::{Server, TempDir, project_root};
use anyhow::{Context, Result, bail};
use std::process::Command;

const TOKEN: &str = "e2e-openapi-admin-token";

/// Fuzzing stops after this many seconds (the whole step takes about half a minute more).
/// The seed of a run unless `MON_SCHEMATHESIS_SEED` says otherwise.
const SEED: u64 = 20261201;
const MAX_SECONDS: &str = "120";
/// Test cases per operation and phase.
const MAX_EXAMPLES: &str = "15";

pub(crate) fn openapi() -> Result<()> {
    if !crate::has("schemathesis", "--version") {
        bail!("schemathesis is not installed: pip install schemathesis");
    }
    crate::build_bins()?;
    let dir = TempDir::new()?;
    let config = dir.0.join("mon.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  auth:\n    tokens:\n      - {{ name: fuzz, token: {TOKEN}, role: admin }}\n\
             checks:\n  - {{ name: host, type: system, interval: 5s, critical: false }}\n"
        ),
    )?;
    let server = Server::start_with(
        &project_root().join("target/debug/mon-server"),
        Some(&config),
        &[],
    )?;
    let url = format!("http://127.0.0.1:{}/api/openapi.json", server.port);
    let status = Command::new("schemathesis")
        .arg("--config-file")
        .arg(project_root().join("xtask/schemathesis.toml"))
        .args(["run", &url, "--header"])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        // One worker: the hypothesis of schemathesis 4 is not safe with more on Python 3.11.
        .args(["--workers", "1", "--max-time", MAX_SECONDS])
        .args(["--max-examples", MAX_EXAMPLES, "--no-color"])
        // A fixed seed, so that a run can be repeated case for case; set
        // MON_SCHEMATHESIS_SEED to explore other cases.
        .args(["--seed", &seed()])
        .status()
        .context("cannot run schemathesis")?;
    if !status.success() {
        bail!("schemathesis found faults (above) in the server or its OpenAPI document");
    }
    eprintln!("e2e: schemathesis is green against /api/openapi.json");
    Ok(())
}

/// The seed of schemathesis' case generation: `MON_SCHEMATHESIS_SEED`, or [`SEED`].
fn seed() -> String {
    std::env::var("MON_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_string())
}
