//! End-to-end: the real `mon-server` binary on a free port with a temporary store,
//! read through HTTP and through the real `mon` CLI.

use mon_tests::{Answer, Capture, TestServer, bin_dir, eventually, free_port};
use serde_json::Value;
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

/// A loopback HTTP server that answers every request `200 ok`, for an http check to probe.
fn upstream() -> Capture {
    let upstream = Capture::start();
    upstream.answer(Answer::status(200).body("ok"));
    upstream
}

fn config_with_upstream(upstream: &Capture) -> String {
    format!(
        "storage:\n  path: {{dir}}/mon.db\n\
         checks:\n  - name: api\n    type: http\n    url: {url}\n    interval: 1s\n    timeout: 2s\n\
         \x20 - name: host\n    type: system\n    critical: false\n    interval: 5s\n\
         metrics:\n  interval: 1s\n",
        url = upstream.url("/health")
    )
}

fn get(url: &str) -> reqwest::blocking::Response {
    reqwest::blocking::get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// How long a test waits for the server to get somewhere.
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn serves_health_metrics_api_and_the_cli_reads_it() {
    let server = TestServer::start(&config_with_upstream(&upstream()));
    let base = server.url();

    let health = get(&format!("{base}/health"));
    assert_eq!(health.status(), 200);
    let health: Value = health.json().expect("JSON");
    for key in [
        "status",
        "timestamp",
        "healthy_components",
        "total_components",
        "health_percentage",
    ] {
        assert!(health.get(key).is_some(), "/health lacks {key}: {health}");
    }
    // mon (self check), api and host.
    assert_eq!(health["total_components"], 3, "{health}");

    let metrics = get(&format!("{base}/metrics"));
    let content_type = metrics.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = metrics.text().expect("text");
    assert!(text.ends_with("# EOF\n"), "exposition must end with # EOF");
    assert!(text.contains("mon_check_up{check=\"api\"} 1"), "{text}");
    assert!(text.contains("mon_store_queue_depth"), "{text}");

    // Results are persisted and readable through the API.
    let results: Value = eventually("two persisted results of api", WAIT, || {
        let v: Value = get(&format!("{base}/api/v1/checks/api/results?limit=5"))
            .json()
            .ok()?;
        (v["count"].as_u64()? >= 2).then_some(v)
    });
    assert_eq!(results["results"][0]["status"], "healthy", "{results}");

    let out = Command::new(bin_dir().join("mon"))
        .args(["status", "--json", "--server", &base])
        .output()
        .expect("mon runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).expect("mon status --json prints JSON");
    assert!(
        ["healthy", "degraded"].contains(&status["status"].as_str().unwrap_or("")),
        "{status}"
    );
    let names: Vec<&str> = status["checks_detail"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        names.contains(&"api") && names.contains(&"host") && names.contains(&"mon"),
        "{names:?}"
    );
}

#[test]
fn sigterm_flushes_and_a_restart_keeps_history() {
    let upstream = upstream();
    let config = config_with_upstream(&upstream);
    let mut server = TestServer::start(&config);
    let base = server.url();
    let before = eventually("a persisted result", WAIT, || {
        let v: Value = get(&format!("{base}/api/v1/checks/api/results"))
            .json()
            .ok()?;
        let n = v["count"].as_u64()?;
        (n >= 1).then_some(n)
    });
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success()
    );
    let status = server.child.wait().expect("exits");
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");

    // Same store, new process: the history is still there.
    let store = server.dir.path().join("mon.db");
    let config = config.replace("{dir}/mon.db", &store.display().to_string());
    let again = TestServer::start(&config);
    let v: Value = get(&format!(
        "{}/api/v1/checks/api/results?limit=10000",
        again.url()
    ))
    .json()
    .expect("JSON");
    assert!(v["count"].as_u64().expect("count") >= before, "{v}");
}

#[test]
fn port_zero_is_bound_and_reported_in_the_address_file_and_the_log() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("mon.yaml");
    let store = dir.path().join("mon.db");
    std::fs::write(
        &config,
        format!(
            "server:\n  listen: 127.0.0.1:0\nstorage:\n  path: {}\n",
            store.display()
        ),
    )
    .expect("config written");
    let address = dir.path().join("address");
    let mut child = Command::new(bin_dir().join("mon-server"))
        .arg("-c")
        .arg(&config)
        .arg("--address-file")
        .arg(&address)
        .env("LOG_LEVEL", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mon-server starts");
    let addr = mon_tests::reported_address(&mut child, &address);
    assert_ne!(addr.port(), 0, "the bound port, not the one asked for");
    let live = get(&format!("http://{addr}/health/live"));
    assert_eq!(live.status(), 200);
    child.kill().expect("SIGKILL");
    let output = child.wait_with_output().expect("output");
    let log = String::from_utf8_lossy(&output.stderr);
    let listening = log
        .lines()
        .find(|l| l.contains("mon-server listening"))
        .unwrap_or_else(|| panic!("no listening line in {log}"));
    assert!(listening.contains(&addr.to_string()), "{listening}");
}

/// Runs `mon-server -c <config>` expecting it to fail at start; returns stderr.
fn start_failure(config: &str) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("mon.yaml");
    std::fs::write(
        &path,
        config.replace("{dir}", &dir.path().display().to_string()),
    )
    .expect("write");
    let out = Command::new(bin_dir().join("mon-server"))
        .arg("-c")
        .arg(&path)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit code 2, stderr: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    stderr
}

#[test]
fn start_up_problems_exit_2_with_one_clear_message() {
    // Port already in use.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let err = start_failure(&format!(
        "server:\n  listen: 127.0.0.1:{port}\nstorage:\n  path: {{dir}}/mon.db\n"
    ));
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );

    // Store path under a regular file: not creatable.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").expect("write");
    let err = start_failure(&format!(
        "server:\n  listen: 127.0.0.1:{}\nstorage:\n  path: {}/sub/mon.db\n",
        free_port(),
        file.display()
    ));
    assert!(err.contains(&file.display().to_string()), "{err}");

    // A file that is not an SQLite database.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 8192]).expect("write");
    let err = start_failure(&format!(
        "server:\n  listen: 127.0.0.1:{}\nstorage:\n  path: {}\n",
        free_port(),
        garbage.display()
    ));
    assert!(
        err.contains(&garbage.display().to_string()) && err.contains("not"),
        "{err}"
    );

    // Invalid configuration: file, line:column and key path.
    let err = start_failure("server:\n  listen: 127.0.0.1:1\n  lisen: x\n");
    assert!(
        err.contains("mon.yaml:3:3: server.lisen: unknown field `lisen`"),
        "{err}"
    );
}
