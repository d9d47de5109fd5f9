//! The workspace's test kit (dev-only): what tests of every crate would otherwise
//! write again.
//!
//! - [`eventually`] / [`eventually_async`]: wait for a condition, failing with what
//!   was awaited, instead of sleeping;
//! - [`Capture`]: a loopback HTTP server that records requests and answers what the
//!   test says (webhooks, Slack, PagerDuty, exporters, upstreams of checks);
//! - [`alert`]: a `mon_core::Alert` with sensible defaults;
//! - [`TestServer`]: the real `mon-server` binary on a port it chose itself (port 0,
//!   read back from `--address-file`) with a temporary store; [`alerts`] watches its
//!   alerts and notifications;
//! - [`written_files`]: what a server wrote under its directory, for tests that scan every
//!   output for planted secrets or personal data;
//! - [`scipy_reference`]: the figures of mon's statistics computed independently by scipy;
//! - [`Smtp`]: a real SMTP server (aiosmtpd) with STARTTLS and AUTH, and the messages it got.

mod alert;
pub mod alerts;
mod capture;
mod scipy;
mod smtp;
mod wait;

pub use alert::{AlertBuilder, alert};
pub use capture::{Answer, Capture, Request};
pub use scipy::{close, scipy_reference};
pub use smtp::Smtp;
pub use wait::{Outcome, TimedOut, eventually, eventually_async, exit_status, try_eventually};

/// Label values no input may use to break an exposition, for every labelled field
/// (the server's tests and the Prometheus end-to-end step both send them).
pub const HOSTILE_LABEL_VALUES: &[&str] = &[
    "/api/search?q=\"voice\"",
    "C:\\agents\\voice",
    "line one\nline two",
    "\\\"\n",
    "trailing backslash \\",
    "a},b=\"c\",d=\"",
    "# EOF",
    "ünïcødé 语音 🎙️",
    "tab\tcarriage return\r nul\u{0} end",
];

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The directory holding the workspace's built binaries (`target/debug`), building
/// `mon-server` and `mon` first if this is the first call in the process.
pub fn bin_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
            let status = Command::new(cargo)
                .current_dir(&root)
                // The same command as `cargo xtask ci`, so that after it this is a no-op
                // rather than a second link of the binaries with other features.
                .args(["build", "--quiet", "--workspace", "--bins", "--locked"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building mon-server and mon failed");
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| root.join("target"));
            target.join("debug")
        })
        .clone()
}

/// A TCP port on 127.0.0.1 that was free a moment ago: for a probe that must find
/// nothing listening. A server a test starts binds port 0 instead ([`Capture`],
/// [`TestServer`]).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `mon-server`, killed when dropped. It listens on a port it chose itself
/// (`MON__SERVER__LISTEN=127.0.0.1:0`, the port read back from `--address-file`), so
/// tests never race for a free port.
#[derive(Debug)]
pub struct TestServer {
    /// The child process.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its temporary directory (store and config).
    pub dir: tempfile::TempDir,
    /// Extra environment variables, given again on [`TestServer::restart`].
    env: Vec<(String, String)>,
    /// The binary it runs: `mon-server`, or one built on `mon_server::main_with`.
    binary: PathBuf,
}

/// How [`TestServer::stop`] ends the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM, then wait for the exit (a graceful shutdown).
    Term,
    /// SIGKILL: a crash, nothing flushed.
    Kill,
}

/// How long a server may take to start or to stop.
const PATIENCE: Duration = Duration::from_secs(30);

impl TestServer {
    /// Starts `mon-server` with `config` (YAML, `{dir}` replaced by its temporary
    /// directory; `server.listen` is overridden) and waits for readiness.
    pub fn start(config: &str) -> TestServer {
        Self::start_with_env(config, &[])
    }

    /// The same with extra environment variables.
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> TestServer {
        Self::start_binary(&bin_dir().join("mon-server"), config, env)
    }

    /// The same with another server binary taking `mon-server`'s `-c` and
    /// `--address-file` flags (one built on `mon_server::main_with`, such as a test's
    /// `env!("CARGO_BIN_EXE_<name>")`).
    pub fn start_binary(binary: &Path, config: &str, env: &[(&str, &str)]) -> TestServer {
        let binary = binary.to_path_buf();
        let dir = tempfile::tempdir().expect("a temp dir");
        let text = config.replace("{dir}", &dir.path().display().to_string());
        std::fs::write(dir.path().join("mon.yaml"), text).expect("config written");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, addr) = Self::launch(&binary, &dir, &env, "127.0.0.1:0");
        let server = TestServer {
            child,
            port: addr.port(),
            dir,
            env,
            binary,
        };
        server.wait_ready();
        server
    }

    /// The command that runs `binary` on the config in `dir`, listening on a
    /// port of its own choosing unless `env` says otherwise.
    fn command(binary: &Path, dir: &tempfile::TempDir, env: &[(String, String)]) -> Command {
        let mut command = Command::new(binary);
        command
            .arg("-c")
            .arg(dir.path().join("mon.yaml"))
            .env("MON__SERVER__LISTEN", "127.0.0.1:0")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null());
        command
    }

    /// Spawns `binary` listening on `listen` and waits until it reports the
    /// address it bound.
    fn launch(
        binary: &Path,
        dir: &tempfile::TempDir,
        env: &[(String, String)],
        listen: &str,
    ) -> (Child, SocketAddr) {
        let file = dir.path().join("address");
        let _ = std::fs::remove_file(&file);
        let mut child = Self::command(binary, dir, env)
            .env("MON__SERVER__LISTEN", listen)
            .arg("--address-file")
            .arg(&file)
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
        let addr = reported_address(&mut child, &file);
        (child, addr)
    }

    /// Another `mon-server` on the same config and store (on a port of its own
    /// unless `env` sets `MON__SERVER__LISTEN`), stderr captured.
    pub fn second(&self, env: &[(&str, &str)]) -> Command {
        let mut command = Self::command(&self.binary, &self.dir, &self.env);
        command.envs(env.iter().copied()).stderr(Stdio::piped());
        command
    }

    /// Ends the process as `how` says and waits for it to exit.
    pub fn stop(&mut self, how: Stop) {
        match how {
            Stop::Kill => self.child.kill().expect("SIGKILL sent"),
            Stop::Term => {
                let status = Command::new("kill")
                    .args(["-TERM", &self.child.id().to_string()])
                    .status()
                    .expect("kill runs");
                assert!(status.success(), "SIGTERM could not be sent");
            }
        }
        exit_status(&mut self.child, "mon-server to exit", PATIENCE);
    }

    /// Stops the server as `how` says and starts it again on the same config, store
    /// and port (so URLs handed out stay valid); waits for readiness.
    pub fn restart(&mut self, how: Stop) {
        self.stop(how);
        let listen = format!("127.0.0.1:{}", self.port);
        (self.child, _) = Self::launch(&self.binary, &self.dir, &self.env, &listen);
        self.wait_ready();
    }

    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self) {
        let client = reqwest::blocking::Client::new();
        let ready = format!("{}/health/ready", self.url());
        eventually("mon-server to be ready", PATIENCE, || {
            client.get(&ready).send().is_ok_and(|r| r.status() == 200)
        });
    }
}

/// Waits until `mon-server`, started as `child` with `--address-file file`, has
/// written the address it listens on; fails the test if it exits first.
pub fn reported_address(child: &mut Child, file: &Path) -> SocketAddr {
    eventually("mon-server to report its address", PATIENCE, || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("mon-server exited ({status}) before listening");
        }
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    })
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir` (recursively) except the configuration `mon.yaml`, as
/// `(path, lossy text)`: the store and its WAL, log files, exported files.
pub fn written_files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).expect("list a directory").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.file_name().is_some_and(|n| n != "mon.yaml") {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    out
}
