//! Helpers for the workspace-level end-to-end tests: find the built binaries and run
//! a real `mon-server` on a free loopback port with a temporary store.

pub mod alerts;

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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
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
    /// Extra environment variables, given again on [`Server::restart`].
    env: Vec<(String, String)>,
}

/// How [`Server::stop`] ends the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM, then wait for the exit (a graceful shutdown).
    Term,
    /// SIGKILL: a crash, nothing flushed.
    Kill,
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
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let child = Self::spawn(&dir, &env).spawn().expect("mon-server starts");
        let server = Server {
            child,
            port,
            dir,
            env,
        };
        server.wait_ready();
        server
    }

    /// The command that runs `mon-server` on the config in `dir`.
    fn spawn(dir: &tempfile::TempDir, env: &[(String, String)]) -> Command {
        let mut command = Command::new(bin_dir().join("mon-server"));
        command
            .arg("-c")
            .arg(dir.path().join("mon.yaml"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null());
        command
    }

    /// Another `mon-server` on the same config and store (its listen address
    /// overridden by `env`, e.g. `MON__SERVER__LISTEN`), stderr captured.
    pub fn second(&self, env: &[(&str, &str)]) -> Command {
        let mut command = Self::spawn(&self.dir, &self.env);
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
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(
                Instant::now() < deadline,
                "mon-server did not exit within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server as `how` says and starts it again on the same config, store
    /// and port; waits for readiness.
    pub fn restart(&mut self, how: Stop) {
        self.stop(how);
        self.child = Self::spawn(&self.dir, &self.env)
            .spawn()
            .expect("mon-server starts again");
        self.wait_ready();
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

/// A loopback webhook receiver: answers `200` to every request and keeps each JSON
/// body, in arrival order. HTTP/1.1 with keep-alive, as the webhook channel sends it.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Its port on 127.0.0.1.
    pub port: u16,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Receiver {
    /// Starts the receiver on a free port; it runs until the process ends.
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let port = listener.local_addr().expect("addr").port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let keep = Arc::clone(&keep);
                std::thread::spawn(move || serve(stream, &keep));
            }
        });
        Receiver { port, bodies }
    }

    /// Its URL for a webhook channel.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Every body received so far.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Reads requests from one connection until it closes, keeping their bodies.
fn serve(stream: TcpStream, bodies: &Mutex<Vec<serde_json::Value>>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" && !first {
                break;
            }
            first = false;
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(value) = serde_json::from_slice(&body) {
            bodies
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(value);
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}
