//! `cargo xtask package`: the deployment files validated by their own tools, then the
//! Debian package built, installed on this machine, run the way its systemd unit runs
//! it, and purged again.
//!
//! 1. deploy/compose/compose.yaml against the compose-spec schema (check-jsonschema),
//!    prometheus.yml with `promtool check config`, alertmanager.yml with
//!    `amtool check-config`, the Kubernetes manifests with kubernetes-validate --strict
//!    (the ServiceMonitor, a CRD, by tests/tests/deploy.rs).
//! 2. One release build of both binaries, `cargo deb --no-build` (cargo-deb installed with
//!    `cargo install cargo-deb --locked` when missing).
//! 3. `dpkg -i`; the files, modes and conffiles checked; `systemd-analyze verify` and
//!    `systemd-analyze security --offline` on the installed unit;
//!    `mon config check /etc/mon/mon.yaml`.
//! 4. The installed mon-server started as the unit starts it: its ExecStart, Environment=
//!    and EnvironmentFile=, as an unprivileged user (DynamicUser), in a state directory
//!    of its own, on a free port; /health/ready awaited, the store found in the state
//!    directory, SIGTERM, a clean exit.
//! 5. `dpkg --purge` and every installed file checked gone. A package left installed by an
//!    interrupted run is purged first, so the step can run again.

use crate::{apt_install, free_port, has, http_get, project_root, run};
use anyhow::{Context, Result, bail};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The unprivileged user the server runs as here (`nobody`), as systemd's DynamicUser
/// would give it a user of its own.
const NOBODY: u32 = 65534;

/// Every path the package installs, checked present after `dpkg -i` and gone after purge.
const INSTALLED: &[(&str, u32)] = &[
    ("/usr/bin/mon-server", 0o755),
    ("/usr/bin/mon", 0o755),
    ("/etc/mon/mon.yaml", 0o644),
    ("/etc/mon/mon.env", 0o640),
    ("/usr/share/doc/mon/deploy.md", 0o644),
];
/// Where the package may put the unit (cargo-deb versions differ; /lib is /usr/lib on
/// a merged-/usr system).
const UNITS: &[&str] = &[
    "/usr/lib/systemd/system/mon.service",
    "/lib/systemd/system/mon.service",
];

/// The installed unit file.
fn unit_path() -> Result<&'static str> {
    UNITS
        .iter()
        .copied()
        .find(|p| Path::new(p).exists())
        .context("the package installed no mon.service")
}

pub(crate) fn package() -> Result<()> {
    validate_manifests()?;
    let deb = build()?;
    if installed() {
        eprintln!("package: purging the mon package left by an earlier run");
        run("dpkg", &["--purge", "mon"])?;
    }
    run("dpkg", &["-i", &deb.display().to_string()])?;
    let checked = check_installed().and_then(|()| run_like_the_unit());
    let purged = purge();
    checked?;
    purged?;
    println!("package: 5 passed, 0 failed");
    Ok(())
}

fn validate_manifests() -> Result<()> {
    apt_install(&["prometheus", "prometheus-alertmanager", "systemd"])?;
    for tool in ["check-jsonschema", "kubernetes-validate"] {
        if !has(tool, "--version") {
            bail!(
                "{tool} is missing: `pip install check-jsonschema kubernetes-validate` (as .ci/run does)"
            );
        }
    }
    let deploy = project_root().join("deploy");
    let path = |p: &str| deploy.join(p).display().to_string();
    run(
        "check-jsonschema",
        &[
            "--builtin-schema",
            "vendor.compose-spec",
            &path("compose/compose.yaml"),
        ],
    )?;
    run(
        "promtool",
        &["check", "config", &path("compose/prometheus.yml")],
    )?;
    run(
        "amtool",
        &["check-config", &path("compose/alertmanager.yml")],
    )?;
    let manifests: Vec<String> = ["configmap", "pvc", "deployment", "service"]
        .iter()
        .map(|m| path(&format!("kubernetes/{m}.yaml")))
        .collect();
    let mut args = vec!["--strict"];
    args.extend(manifests.iter().map(String::as_str));
    run("kubernetes-validate", &args)?;
    eprintln!("package: compose, Prometheus, Alertmanager and Kubernetes files are valid");
    Ok(())
}

/// The release build (once) and the .deb file.
fn build() -> Result<PathBuf> {
    if !has("cargo-deb", "--version") {
        run("cargo", &["install", "cargo-deb", "--locked"])?;
    }
    run(
        "cargo",
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "mon-server",
            "-p",
            "mon-cli",
        ],
    )?;
    for binary in ["mon-server", "mon"] {
        let size = std::fs::metadata(project_root().join("target/release").join(binary))?.len();
        eprintln!(
            "package: target/release/{binary} is {:.1} MB",
            size as f64 / 1e6
        );
        // The shipped binaries' size goal (docs/deploy.md, "The release build").
        if size > 30_000_000 {
            bail!("target/release/{binary} is over 30 MB: is the release profile still stripped?");
        }
    }
    let out = project_root().join("target/debian");
    run(
        "cargo",
        &[
            "deb",
            "-p",
            "mon-server",
            "--no-build",
            "--output",
            &out.display().to_string(),
        ],
    )?;
    std::fs::read_dir(&out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .context("cargo deb wrote no .deb file")
}

fn installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "mon"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("installed"))
}

fn check_installed() -> Result<()> {
    for (path, mode) in INSTALLED {
        let meta = std::fs::metadata(path).with_context(|| format!("{path} is not installed"))?;
        let found = meta.permissions().mode() & 0o7777;
        if found != *mode || meta.uid() != 0 {
            bail!(
                "{path}: mode {found:o} owner {} (expected {mode:o}, root)",
                meta.uid()
            );
        }
    }
    let conffiles = output("dpkg-query", &["-W", "-f=${Conffiles}", "mon"])?;
    for conffile in ["/etc/mon/mon.yaml", "/etc/mon/mon.env"] {
        if !conffiles.contains(conffile) {
            bail!("{conffile} is not a conffile of the package: {conffiles}");
        }
    }
    verify_unit()?;
    run("/usr/bin/mon", &["config", "check", "/etc/mon/mon.yaml"])?;
    eprintln!("package: installed files, modes, conffiles, unit and configuration check out");
    Ok(())
}

/// `systemd-analyze verify` loads the unit as systemd would (the binary exists, every
/// directive is known); `security --offline` scores its hardening without a running systemd.
fn verify_unit() -> Result<()> {
    let unit = unit_path()?;
    let verify = Command::new("systemd-analyze")
        .args(["verify", unit])
        .output()
        .context("cannot run systemd-analyze (package systemd)")?;
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    // It runs without systemd as PID 1. An unknown or misspelt directive is only a
    // warning (exit 0) naming the file: any line about the unit fails the step.
    let findings: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("mon.service"))
        .collect();
    eprintln!("$ systemd-analyze verify {unit}\n{report}");
    if !verify.status.success() || !findings.is_empty() {
        bail!(
            "systemd-analyze verify found problems in {unit} ({}):\n{report}",
            verify.status
        );
    }
    let security = output("systemd-analyze", &["security", "--offline=true", unit])?;
    let overall = security
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or("no overall exposure level");
    eprintln!("package: systemd-analyze security: {}", overall.trim());
    Ok(())
}

/// The command line and environment the unit gives the server.
struct UnitRun {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

fn unit_run(unit: &str) -> Result<UnitRun> {
    let mut exec = None;
    let mut env = Vec::new();
    for line in unit.lines() {
        if let Some(value) = line.strip_prefix("ExecStart=") {
            exec = Some(
                value
                    .split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>(),
            );
        } else if let Some(value) = line.strip_prefix("Environment=") {
            env.extend(assignment(value));
        } else if let Some(value) = line.strip_prefix("EnvironmentFile=") {
            let (optional, path) = match value.strip_prefix('-') {
                Some(path) => (true, path),
                None => (false, value),
            };
            match std::fs::read_to_string(path) {
                Ok(text) => env.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.starts_with('#'))
                        .filter_map(assignment),
                ),
                Err(_) if optional => {}
                Err(e) => bail!("EnvironmentFile {path}: {e}"),
            }
        }
    }
    let mut exec = exec.context("the unit has no ExecStart=")?.into_iter();
    let program = exec.next().context("ExecStart= is empty")?;
    Ok(UnitRun {
        program,
        args: exec.collect(),
        env,
    })
}

fn assignment(text: &str) -> Option<(String, String)> {
    let (key, value) = text.split_once('=')?;
    Some((
        key.trim().to_string(),
        value.trim().trim_matches('"').to_string(),
    ))
}

fn run_like_the_unit() -> Result<()> {
    let unit = unit_run(&std::fs::read_to_string(unit_path()?)?)?;
    // The state directory systemd would make for StateDirectory=mon, owned by the user,
    // under /tmp (which every user may traverse, as /var/lib).
    let state = StateDir::new()?;
    std::fs::set_permissions(&state.0, std::fs::Permissions::from_mode(0o750))?;
    run(
        "chown",
        &[
            &format!("{NOBODY}:{NOBODY}"),
            &state.0.display().to_string(),
        ],
    )?;
    let port = free_port()?;
    let store = state.0.join("mon.db");
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid",
            &NOBODY.to_string(),
            "--regid",
            &NOBODY.to_string(),
        ])
        .args(["--clear-groups", "--no-new-privs", "--"])
        .arg(&unit.program)
        .args(&unit.args)
        .current_dir(&state.0)
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin")
        .envs(unit.env.iter().map(|(k, v)| (k, v)))
        // What differs from the machine's service: this state directory, this port.
        .env("MON__STORAGE__PATH", &store)
        .env("MON__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null());
    eprintln!(
        "$ setpriv --reuid {NOBODY} ... {} {}",
        unit.program,
        unit.args.join(" ")
    );
    let mut child = command
        .spawn()
        .context("cannot run setpriv (package util-linux)")?;
    let ready = mon_tests::try_eventually(
        "the installed mon-server to be ready",
        Duration::from_secs(60),
        || matches!(http_get(port, "/health/ready"), Ok((200, ..))),
    );
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait()?;
    ready?;
    if !stopped.is_ok_and(|s| s.success()) || !exit.success() {
        bail!("the installed mon-server did not stop cleanly on SIGTERM: {exit}");
    }
    let meta =
        std::fs::metadata(&store).with_context(|| format!("no store at {}", store.display()))?;
    if meta.uid() != NOBODY {
        bail!(
            "the store is owned by uid {}, not the service's user",
            meta.uid()
        );
    }
    eprintln!(
        "package: the installed mon-server ran as the unit runs it (ready, store written, clean stop)"
    );
    Ok(())
}

/// A directory in /tmp, removed on drop.
struct StateDir(PathBuf);

impl StateDir {
    fn new() -> Result<StateDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let path = std::env::temp_dir().join(format!("mon-package-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(StateDir(path))
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn purge() -> Result<()> {
    run("dpkg", &["--purge", "mon"])?;
    let left: Vec<&str> = INSTALLED
        .iter()
        .map(|(p, _)| *p)
        .chain(UNITS.iter().copied())
        .chain([
            "/etc/mon",
            "/etc/systemd/system/multi-user.target.wants/mon.service",
        ])
        .filter(|p| Path::new(p).symlink_metadata().is_ok())
        .collect();
    if installed() || !left.is_empty() {
        bail!("dpkg --purge mon left {left:?}");
    }
    eprintln!("package: purged, nothing left");
    Ok(())
}

fn output(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program}"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
