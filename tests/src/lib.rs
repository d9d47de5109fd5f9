//! Helpers for the workspace-level end-to-end tests: find the built binaries and run
//! a real `mon-server` on a free loopback port with a temporary store.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `mon-server`, killed when dropped.
#[derive(Debug)]
pub struct Server {
    /// The child process.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its temporary directory (store and config).
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts `mon-server` with `config` (YAML, `{port}` and `{dir}` replaced) and waits for readiness.
    pub fn start(config: &str) -> Server {
        Self::start_with_env(config, &[])
    }

    /// The same with extra environment variables.
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("a temp dir");
        let port = free_port();
        let text = config
            .replace("{port}", &port.to_string())
            .replace("{dir}", &dir.path().display().to_string());
        let path = dir.path().join("mon.yaml");
        std::fs::write(&path, text).expect("config written");
        let child = Command::new(bin_dir().join("mon-server"))
            .arg("-c")
            .arg(&path)
            .envs(env.iter().copied())
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("mon-server starts");
        let server = Server { child, port, dir };
        server.wait_ready();
        server
    }

    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::blocking::Client::new();
        while Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{}/health/ready", self.url())).send()
                && r.status() == 200
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "mon-server on port {} did not become ready within 30 s",
            self.port
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
