//! The HTTP handlers through the real router (`Router` + `oneshot`): health, auth,
//! check results, errors. The app runs on a real SQLite file in a temp dir.

mod common;
use axum::body::Body;
use axum::http::StatusCode;
use common::{ADMIN, HOST, READ, call, config, send, start, start_host, wait_for};
use mon_config::{Environment, load_text};
use mon_server::App;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The config of these tests: [`common::HOST`] with the shared tokens.
fn base() -> String {
    config("", HOST)
}

/// Waits until `/health/ready` answers 200.
async fn wait_ready(app: &App) {
    wait_for("readiness", async || {
        call(app, "GET", "/health/ready", None).await.0 == StatusCode::OK
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_answer_in_the_documented_shapes() {
    let dir = tempfile::tempdir().expect("dir");
    let app = start_host(&dir).await;
    wait_ready(&app).await;
    let (status, body) = call(&app, "GET", "/health", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total_components"], 2, "{body}"); // host + mon
    assert!(body["health_percentage"].as_f64().is_some());
    let (status, body) = call(&app, "GET", "/health/live", None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("alive"))
    );
    // /health/detailed is not public: it needs a read token when tokens are configured.
    let (status, body) = call(&app, "GET", "/health/detailed", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, body) = call(&app, "GET", "/health/detailed", Some(READ)).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["host", "mon"]);
    // Channels and exporters report in /health/detailed beside the checks.
    assert_eq!(body["channels"][0]["name"], "log", "{body}");
    assert!(
        body["channels"][0].get("consecutive_failures").is_some(),
        "{body}"
    );
    assert!(
        body["exporters"].is_array() || body["exporters"].is_object(),
        "{body}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_by_role_and_json_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let app = start_host(&dir).await;
    for (method, uri, token, want) in [
        ("GET", "/api/v1/status", None, StatusCode::UNAUTHORIZED),
        (
            "GET",
            "/api/v1/status",
            Some("wrong"),
            StatusCode::UNAUTHORIZED,
        ),
        ("GET", "/api/v1/status", Some(READ), StatusCode::OK),
        ("GET", "/api/v1/status", Some(ADMIN), StatusCode::OK),
        ("GET", "/metrics", None, StatusCode::OK),
        ("POST", "/api/v1/status", Some(READ), StatusCode::FORBIDDEN),
        ("GET", "/api/v1/nothing", Some(READ), StatusCode::NOT_FOUND),
        (
            "GET",
            "/api/v1/checks/nope",
            Some(READ),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, body) = call(&app, method, uri, token).await;
        assert_eq!(status, want, "{method} {uri} with {token:?}: {body}");
        if status != StatusCode::OK {
            assert!(
                body["error"]["code"].is_string() && body["error"]["message"].is_string(),
                "{body}"
            );
            let text = body.to_string();
            assert!(!text.contains(ADMIN) && !text.contains(READ), "{text}");
        }
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_results_with_since_and_limit() {
    let dir = tempfile::tempdir().expect("dir");
    let app = start_host(&dir).await;
    let token = Some(READ);
    let body = mon_tests::eventually_async("two results", Duration::from_secs(20), async || {
        let (status, body) = call(&app, "GET", "/api/v1/checks/host/results?limit=2", token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["count"] == 2 {
            Ok(body)
        } else {
            Err(body)
        }
    })
    .await;
    let first = body["results"][0]["observed_at"]
        .as_str()
        .expect("time")
        .to_string();
    let second = body["results"][1]["observed_at"]
        .as_str()
        .expect("time")
        .to_string();
    assert!(first > second, "newest first: {first} then {second}");
    let (_, body) = call(
        &app,
        "GET",
        "/api/v1/checks/host/results?since=2999-01-01T00:00:00Z",
        token,
    )
    .await;
    assert_eq!(body["count"], 0, "{body}");
    let (_, body) = call(&app, "GET", "/api/v1/checks/host/results?since=1h", token).await;
    assert!(body["count"].as_u64().expect("count") >= 2, "{body}");
    for bad in [
        "limit=0",
        "limit=abc",
        "limit=10001",
        "since=yesterday",
        "colour=blue",
    ] {
        let (status, body) = call(
            &app,
            "GET",
            &format!("/api/v1/checks/host/results?{bad}"),
            token,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{bad}: {body}");
    }
    let (status, body) = call(&app, "GET", "/api/v1/checks/host/results?limit=abc", token).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("limit=\"abc\""),
        "{status} {body}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_are_refused_without_configured_tokens() {
    let dir = tempfile::tempdir().expect("dir");
    let app = start("storage:\n  path: {dir}/mon.db\nchecks: []\n", &dir, &[]).await;
    let (status, _) = call(&app, "GET", "/api/v1/status", None).await;
    assert_eq!(status, StatusCode::OK, "reads are open without tokens");
    let (status, body) = call(&app, "POST", "/api/v1/checks", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("server.auth.tokens"),
        "{body}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_errors_are_json_too() {
    let dir = tempfile::tempdir().expect("dir");
    let text =
        "server:\n  limits:\n    max_body_bytes: 16\nstorage:\n  path: {dir}/mon.db\nchecks: []\n";
    let app = start(text, &dir, &[]).await;
    // A state-changing method is refused when no admin token is configured.
    let (status, body) = call(&app, "DELETE", "/health/live", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}"); // state-changing method, no tokens configured
    let request = common::request("GET", "/health", None)
        .header("content-length", "32")
        .body(Body::from(vec![b'x'; 32]));
    let answer = send(&app, request.expect("request")).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = serde_json::from_str(&answer.text)
        .unwrap_or_else(|e| panic!("a JSON error: {e}: {:?}", answer.text));
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    app.shutdown().await;
}

/// The real `mon-server` binary on a free loopback port, killed when dropped.
struct Binary {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl Binary {
    /// Starts the binary with `config` (`{dir}` filled in, listening on a port it
    /// chooses) under an open-file limit of `nofile` when given (`prlimit`), and waits
    /// until `/health/live` answers.
    fn start(config: &str, nofile: Option<u32>) -> Binary {
        let dir = tempfile::tempdir().expect("dir");
        let text = config.replace("{dir}", &dir.path().display().to_string());
        let path = dir.path().join("mon.yaml");
        std::fs::write(&path, text).expect("config written");
        let binary = env!("CARGO_BIN_EXE_mon-server");
        let mut command = match nofile {
            Some(n) => {
                let mut c = std::process::Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg(binary);
                c
            }
            None => std::process::Command::new(binary),
        };
        let address = dir.path().join("address");
        let mut child = command
            .arg("-c")
            .arg(&path)
            .arg("--address-file")
            .arg(&address)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mon-server starts");
        let addr = mon_tests::reported_address(&mut child, &address);
        let server = Binary {
            child,
            addr,
            _dir: dir,
        };
        mon_tests::eventually("/health/live", Duration::from_secs(30), || {
            raw(server.addr, "GET", "/health/live", &[], "").is_some_and(|r| r.status == 200)
        });
        server
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer read off the wire.
struct Answer {
    status: u16,
    /// Lowercase names.
    headers: Vec<(String, String)>,
    body: String,
}

/// One HTTP/1.1 request on a new connection (`Connection: close`), or `None` when the
/// connection failed.
fn raw(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &str,
) -> Option<Answer> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: mon\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    // The server may answer and close before reading everything of a huge head.
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// Hostile or malformed requests against the real binary: each row is the request (with
/// or without a token), the status, the JSON error code and a fragment of its message;
/// after each the server still answers a probe.
#[test]
fn hostile_requests_answer_json_errors_and_the_server_keeps_answering() {
    let server = Binary::start(&base(), None);
    let h = |name: &str, value: String| (name.to_owned(), value);
    let admin = || h("authorization", format!("Bearer {ADMIN}"));
    let read = || h("authorization", format!("Bearer {READ}"));
    let form = || h("content-type", "application/x-www-form-urlencoded".into());
    let json_type = || h("content-type", "application/json".into());
    let silence = r#"{"matchers":[{"name":"service","value":"api"}],"duration":"2h","created_by":"alice","comment":"migration"}"#;
    let many_small: Vec<(String, String)> = (0..150)
        .map(|i| h(&format!("x-small-{i}"), "v".into()))
        .collect();
    let many_large: Vec<(String, String)> = (0..200)
        .map(|i| h(&format!("x-large-{i}"), "v".repeat(100)))
        .collect();
    type Row = (
        &'static str,
        &'static str,
        String,
        Vec<(String, String)>,
        &'static str,
        u16,
        Option<&'static str>,
        &'static str,
    );
    let rows: Vec<Row> = vec![
        // (what, method, target, headers, body, status, error code, message fragment)
        (
            "one 64 KiB header",
            "GET",
            "/health/live".into(),
            vec![h("x-big", "a".repeat(64 * 1024))],
            "",
            431,
            Some("headers_too_large"),
            "server.limits.max_header_bytes",
        ),
        (
            "one 64 KiB header with a token",
            "GET",
            "/api/v1/status".into(),
            vec![read(), h("x-big", "a".repeat(64 * 1024))],
            "",
            431,
            Some("headers_too_large"),
            "at most 16384",
        ),
        (
            "200 headers of 100 bytes",
            "GET",
            "/api/v1/status".into(),
            many_large,
            "",
            431,
            Some("headers_too_large"),
            "max_header_bytes",
        ),
        (
            "150 small headers are fine",
            "GET",
            "/health/live".into(),
            many_small,
            "",
            200,
            None,
            "alive",
        ),
        (
            "a 20 KiB URI",
            "GET",
            format!("/api/v1/checks?{}", "q".repeat(20 * 1024)),
            vec![],
            "",
            414,
            Some("uri_too_long"),
            "server.limits.max_uri_bytes",
        ),
        (
            "a 20 KiB URI with a token",
            "GET",
            format!("/api/v1/{}", "p".repeat(20 * 1024)),
            vec![read()],
            "",
            414,
            Some("uri_too_long"),
            "at most 8192",
        ),
        (
            "a 60 KiB path",
            "GET",
            format!("/{}", "p".repeat(60 * 1024)),
            vec![],
            "",
            414,
            Some("uri_too_long"),
            "bytes",
        ),
        (
            "JSON sent as text/plain",
            "POST",
            "/api/v1/silences".into(),
            vec![admin(), h("content-type", "text/plain".into())],
            silence,
            415,
            Some("unsupported_media_type"),
            "application/json",
        ),
        (
            "JSON sent as multipart",
            "POST",
            "/api/v1/silences".into(),
            vec![
                admin(),
                h("content-type", "multipart/form-data; boundary=x".into()),
            ],
            silence,
            415,
            Some("unsupported_media_type"),
            "multipart/form-data",
        ),
        (
            "a form that is not JSON",
            "POST",
            "/api/v1/silences".into(),
            vec![admin(), form()],
            "matchers=x",
            415,
            Some("unsupported_media_type"),
            "application/json",
        ),
        (
            "curl -d: JSON with the form type",
            "POST",
            "/api/v1/silences".into(),
            vec![admin(), form()],
            silence,
            201,
            None,
            "alice",
        ),
        (
            "JSON without a content type",
            "POST",
            "/api/v1/silences".into(),
            vec![admin()],
            silence,
            201,
            None,
            "alice",
        ),
        (
            "matchers of the wrong type",
            "POST",
            "/api/v1/silences".into(),
            vec![admin(), json_type()],
            r#"{"matchers":"service=api","duration":"2h","created_by":"a"}"#,
            400,
            Some("bad_request"),
            "at `matchers`",
        ),
        (
            "a matcher value of the wrong type",
            "POST",
            "/api/v1/silences".into(),
            vec![admin(), json_type()],
            r#"{"matchers":[{"name":"service","value":7}],"duration":"2h","created_by":"a"}"#,
            400,
            Some("bad_request"),
            "matchers[0].value",
        ),
        (
            "created_by blank",
            "POST",
            "/api/v1/silences".into(),
            vec![admin(), json_type()],
            r#"{"matchers":[{"name":"service","value":"api"}],"duration":"2h","created_by":" "}"#,
            400,
            Some("bad_request"),
            "created_by",
        ),
        (
            "a body that is not JSON",
            "POST",
            "/api/v1/silences".into(),
            vec![admin(), json_type()],
            "{not json",
            400,
            Some("bad_request"),
            "line 1 column 2",
        ),
        (
            "trailing garbage after JSON",
            "POST",
            "/api/v1/silences".into(),
            vec![admin(), json_type()],
            r#"{"matchers":[],"created_by":"a"} x"#,
            400,
            Some("bad_request"),
            "trailing characters",
        ),
        (
            "an empty body where one is needed",
            "POST",
            "/api/v1/silences".into(),
            vec![admin(), json_type()],
            "",
            400,
            Some("bad_request"),
            "empty",
        ),
        (
            "an ack actor of the wrong type",
            "POST",
            "/api/v1/alerts/nope/ack".into(),
            vec![admin(), json_type()],
            r#"{"by": 5}"#,
            400,
            Some("bad_request"),
            "at `by`",
        ),
        (
            "an unknown path without a token",
            "GET",
            "/api/v1/nope".into(),
            vec![],
            "",
            404,
            Some("not_found"),
            "no such endpoint",
        ),
        (
            "an unknown path with a read token",
            "GET",
            "/api/v1/nope".into(),
            vec![read()],
            "",
            404,
            Some("not_found"),
            "no such endpoint",
        ),
        (
            "an unknown path with a wrong token",
            "GET",
            "/nope".into(),
            vec![h("authorization", "Bearer wrong".into())],
            "",
            404,
            Some("not_found"),
            "no such endpoint",
        ),
        (
            "POST to an unknown path without a token",
            "POST",
            "/api/v1/nope".into(),
            vec![json_type()],
            "{}",
            404,
            Some("not_found"),
            "no such endpoint",
        ),
        (
            "a known path without a token",
            "GET",
            "/api/v1/status".into(),
            vec![],
            "",
            401,
            Some("unauthorized"),
            "bearer token",
        ),
    ];
    for (what, method, target, headers, body, status, code, fragment) in rows {
        let Answer {
            status: got,
            headers: answer_headers,
            body: text,
        } = raw(server.addr, method, &target, &headers, body)
            .unwrap_or_else(|| panic!("{what}: no answer"));
        assert_eq!(got, status, "{what}: {text}");
        let content_type = answer_headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.as_str());
        assert_eq!(content_type, Some("application/json"), "{what}");
        assert!(
            answer_headers.contains(&("x-content-type-options".into(), "nosniff".into())),
            "{what}: {answer_headers:?}"
        );
        let answer: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
        if let Some(code) = code {
            assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
            let message = answer["error"]["message"].as_str().expect("message");
            assert!(message.contains(fragment), "{what}: {message}");
            assert!(!message.contains(ADMIN), "{what}: {message}");
        } else {
            assert!(text.contains(fragment), "{what}: {text}");
        }
        let probe = raw(server.addr, "GET", "/health/live", &[], "").map(|r| r.status);
        assert_eq!(probe, Some(200), "{what}: the server still answers");
    }
    // Beyond hyper's own head buffer (4 × both limits, at least 256 KiB) hyper refuses the
    // head before routing: still 431, and the server still answers.
    let huge = vec![h("x-huge", "a".repeat(1024 * 1024))];
    let got = raw(server.addr, "GET", "/health/live", &huge, "").map(|r| r.status);
    assert_eq!(got, Some(431), "a 1 MiB header");
    let probe = raw(server.addr, "GET", "/health/live", &[], "").map(|r| r.status);
    assert_eq!(probe, Some(200), "after a 1 MiB header");
}

/// More idle connections than the process has file descriptors (`prlimit --nofile=256`):
/// connections that send nothing are closed after `header_read_timeout`, the connection
/// limit keeps descriptors free, and when they run out accepting waits instead of failing,
/// so `/health/live` still answers a fresh client within the deadline.
#[test]
fn a_connection_flood_under_a_low_file_limit_does_not_starve_probes() {
    const NOFILE: u32 = 256;
    const FLOOD: usize = 400;
    // (what, extra limits): with a connection limit below the file limit, and with the
    // default limit (512) above it, where accept() meets EMFILE.
    for (what, limits) in [
        (
            "connection limit below the file limit",
            "    max_connections: 128\n",
        ),
        ("default connection limit above the file limit", ""),
    ] {
        let config = base().replace(
            "  auth:",
            &format!("  limits:\n    header_read_timeout: 1s\n    keep_alive_timeout: 1s\n{limits}  auth:"),
        );
        let server = Binary::start(&config, Some(NOFILE));
        let flood: Vec<std::net::TcpStream> = (0..FLOOD)
            .filter_map(|_| std::net::TcpStream::connect(server.addr).ok())
            .collect();
        assert!(
            flood.len() > NOFILE as usize,
            "{what}: only {} connections opened",
            flood.len()
        );
        let started = Instant::now();
        let deadline = started + Duration::from_secs(20);
        let status = mon_tests::eventually(
            &format!("{what}: /health/live to answer"),
            Duration::from_secs(20),
            || raw(server.addr, "GET", "/health/live", &[], "").map(|a| (a.status, a.body)),
        );
        assert_eq!(status.0, 200, "{what}: {}", status.1);
        assert!(
            Instant::now() < deadline,
            "{what}: answered after {:?}",
            started.elapsed()
        );
        // The idle connections were closed by the server (a read sees the end), not kept.
        let mut first = &flood[0];
        first
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 16];
        let read = std::io::Read::read(&mut first, &mut buf);
        assert!(
            matches!(read, Ok(0)),
            "{what}: an idle connection was not closed: {read:?}"
        );
        drop(flood);
    }
}

/// `/metrics` is public by default (it is in `server.public_paths`); `server.auth.metrics:
/// read` puts it behind a read token; `read` without any token is a config error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_require_a_read_token() {
    let dir = tempfile::tempdir().expect("dir");
    for (access, token, want) in [
        ("public", None, StatusCode::OK),
        ("read", None, StatusCode::UNAUTHORIZED),
        ("read", Some("wrong"), StatusCode::UNAUTHORIZED),
        ("read", Some(READ), StatusCode::OK),
        ("read", Some(ADMIN), StatusCode::OK),
    ] {
        let text = base().replace("  auth:\n", &format!("  auth:\n    metrics: {access}\n"));
        let app = start(&text, &dir, &[]).await;
        let (status, body) = call(&app, "GET", "/metrics", token).await;
        assert_eq!(status, want, "metrics: {access} with {token:?}: {body}");
        if status != StatusCode::OK {
            assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        }
        app.shutdown().await;
    }
    let errors = load_text(
        "server:\n  auth:\n    metrics: read\n",
        "test.yaml",
        &Environment::default(),
    )
    .expect_err("read without tokens")
    .to_string();
    assert!(errors.contains("server.auth.metrics"), "{errors}");
}
