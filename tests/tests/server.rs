//! End-to-end: the real `mon-server` binary on a free port with a temporary store,
//! read through HTTP and through the real `mon` CLI.

use mon_tests::{Server, bin_dir, free_port};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

/// A loopback HTTP server that answers every request `200 ok`, for an http check to probe.
fn upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    port
}

fn config_with_upstream(upstream: u16) -> String {
    format!(
        "server:\n  listen: 127.0.0.1:{{port}}\nstorage:\n  path: {{dir}}/mon.db\n\
         checks:\n  - name: api\n    type: http\n    url: http://127.0.0.1:{upstream}/health\n    interval: 1s\n    timeout: 2s\n\
         \x20 - name: host\n    type: system\n    critical: false\n    interval: 5s\n\
         metrics:\n  interval: 1s\n"
    )
}

fn get(url: &str) -> reqwest::blocking::Response {
    reqwest::blocking::get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// Polls `f` until it returns `Some` or 20 s pass.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serves_health_metrics_api_and_the_cli_reads_it() {
    let server = Server::start(&config_with_upstream(upstream()));
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
    let results: Value = wait_for("two persisted results of api", || {
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
    let config = config_with_upstream(upstream());
    let mut server = Server::start(&config);
    let base = server.url();
    let before = wait_for("a persisted result", || {
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
    let again = Server::start(&config);
    let v: Value = get(&format!(
        "{}/api/v1/checks/api/results?limit=10000",
        again.url()
    ))
    .json()
    .expect("JSON");
    assert!(v["count"].as_u64().expect("count") >= before, "{v}");
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
