//! Helpers shared by the server's integration tests: one request through the real router.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mon_server::App;
use serde_json::Value;
use std::time::Duration;
use tower::ServiceExt;

/// Sends one request (with an optional bearer token and JSON body) through the app's
/// router; returns the status and the body parsed as JSON (`Null` when it is not).
pub(crate) async fn call_json(
    app: &App,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(v) => {
            request = request.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .router()
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A GET through the router; the status and the body as text (`/metrics`, pages).
pub(crate) async fn call_text(app: &App, uri: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .router()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
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
