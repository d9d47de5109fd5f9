//! Helpers shared by the server's integration tests: the config every test starts from
//! (loopback, one token per role, a store in a temporary directory), the app started on
//! it, and one request through the real router.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use mon_config::{Config, Environment, load_text};
use mon_server::App;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// The admin token of [`AUTH`] (`ops`).
pub(crate) const ADMIN: &str = "admin-token-123";
/// The ingest token of [`AUTH`] (`agent`).
pub(crate) const INGEST: &str = "ingest-token-789";
/// The read token of [`AUTH`] (`grafana`).
pub(crate) const READ: &str = "read-token-456";

/// `server.auth` with one token per role: remove it from a [`config`] to run without
/// tokens.
pub(crate) const AUTH: &str = "  auth:
    tokens:
      - { name: ops, token: admin-token-123, role: admin }
      - { name: agent, token: ingest-token-789, role: ingest }
      - { name: grafana, token: read-token-456, role: read }
";

/// The `server` lines of a [`config`] without mon's own check.
pub(crate) const SELF_CHECK_OFF: &str = "  self_check: false\n";

/// The system check `host` beside mon's own (two components), and metrics sampled every
/// second: the app most API tests read.
pub(crate) const HOST: &str = "
checks:
  - name: host
    type: system
    interval: 1s
    critical: false
metrics:
  interval: 1s
";

/// A test config: `server:` listening on 127.0.0.1:0 with [`AUTH`] and the `server`
/// lines (indented as under `server:`, e.g. `"  self_check: false\n"`), the store in
/// `{dir}`, then `body`.
pub(crate) fn config(server: &str, body: &str) -> String {
    format!(
        "server:\n  listen: 127.0.0.1:0\n{server}{AUTH}storage:\n  path: {{dir}}/mon.db\n{body}"
    )
}

/// `config` with `{dir}` replaced by `dir` and each `(placeholder, value)` of `vars`
/// replaced in turn, loaded.
pub(crate) fn load(config: &str, dir: &tempfile::TempDir, vars: &[(&str, &str)]) -> Config {
    let mut text = config.replace("{dir}", &dir.path().display().to_string());
    for (placeholder, value) in vars {
        text = text.replace(placeholder, value);
    }
    load_text(&text, "test.yaml", &Environment::default())
        .unwrap_or_else(|e| panic!("invalid test config: {e}\n{text}"))
}

/// Starts the app on `config` [`load`]ed.
pub(crate) async fn start(config: &str, dir: &tempfile::TempDir, vars: &[(&str, &str)]) -> App {
    App::start(load(config, dir, vars))
        .await
        .expect("app starts")
}

/// The app on [`HOST`] (with mon's own check) in `dir`.
pub(crate) async fn start_host(dir: &tempfile::TempDir) -> App {
    start(&config("", HOST), dir, &[]).await
}

/// What the router answered: status, headers and the body as text.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    /// The body as JSON; `Null` when it is not.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// Header `name` as text, empty when absent.
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// Sends `request` through the app's router (answers up to 64 MiB: `/metrics` with every series).
pub(crate) async fn send(app: &App, request: Request<Body>) -> Answer {
    let response = app.router().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 26)
        .await
        .expect("body");
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A request builder for `method uri` with `token` as bearer, if any.
pub(crate) fn request(
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> axum::http::request::Builder {
    let request = Request::builder().method(method).uri(uri);
    match token {
        Some(token) => request.header("authorization", format!("Bearer {token}")),
        None => request,
    }
}

/// Sends one request (with an optional bearer token and JSON body) through the app's
/// router; returns the status and the body parsed as JSON (`Null` when it is not).
pub(crate) async fn call_json(
    app: &App,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = request(method, uri, token);
    let request = match body {
        Some(v) => request
            .header("content-type", "application/json")
            .body(Body::from(v.to_string())),
        None => request.body(Body::empty()),
    };
    let answer = send(app, request.expect("request")).await;
    (answer.status, answer.json())
}

/// A GET through the router; the status and the body as text (`/metrics`, pages).
pub(crate) async fn call_text(app: &App, uri: &str, token: Option<&str>) -> (StatusCode, String) {
    let request = request("GET", uri, token).body(Body::empty());
    let answer = send(app, request.expect("request")).await;
    (answer.status, answer.text)
}

/// [`call_json`] without a body.
pub(crate) async fn call(
    app: &App,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    call_json(app, method, uri, token, None).await
}

/// Waits until `done` holds; fails the test after 30 s, naming `what`.
pub(crate) async fn wait_for(what: &str, done: impl AsyncFnMut() -> bool) {
    mon_tests::eventually_async(what, Duration::from_secs(30), done).await;
}

/// One HTTP/1.1 GET over a real socket: the status code, the lowercased head and the body.
pub(crate) async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: mon\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_ascii_lowercase(), body.to_owned())
}

/// Serves `app` on a loopback port.
pub(crate) async fn serve(app: &App) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}
