//! The serving layers every request passes (body limit, timeout, JSON errors, head
//! limits, security headers, a panicking handler answered 500 JSON) and the 404 fallback.

use crate::config::LimitsConfig;
use crate::error::ApiError;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mon_api::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// The layers every request passes: body limit, timeout, JSON errors, head limits,
/// security headers, and a handler that panics answers 500 JSON (logged with the panic) while the server
/// goes on serving.
pub fn serving_layers(routes: Router, limits: &LimitsConfig) -> Router {
    routes
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_answer))
        .layer(axum::middleware::map_response(json_errors))
        // Before routing and auth: an oversized head is refused whoever sends it.
        .layer(axum::middleware::from_fn_with_state(
            HeadLimits {
                max_uri_bytes: limits.max_uri_bytes,
                max_header_bytes: limits.max_header_bytes,
            },
            head_limits,
        ))
        .layer(axum::middleware::map_response(security_headers))
}

/// `server.limits.max_uri_bytes` and `max_header_bytes`.
#[derive(Debug, Clone, Copy)]
struct HeadLimits {
    max_uri_bytes: usize,
    max_header_bytes: usize,
}

/// 414 for a request target over `max_uri_bytes`, 431 for headers over `max_header_bytes`
/// (names and values summed), both as JSON errors. Heads beyond hyper's own buffer (four
/// times both limits, at least 256 KiB) never reach here: hyper answers those itself.
async fn head_limits(
    State(limits): State<HeadLimits>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > limits.max_uri_bytes {
        return ApiError::of(
            ErrorCode::UriTooLong,
            format!(
                "the request target is {uri} bytes; at most {} are accepted (server.limits.max_uri_bytes)",
                limits.max_uri_bytes
            ),
        )
        .into_response();
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > limits.max_header_bytes {
        return ApiError::of(
            ErrorCode::HeadersTooLarge,
            format!(
                "the request headers are {headers} bytes; at most {} are accepted (server.limits.max_header_bytes)",
                limits.max_header_bytes
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// The content security policy of every answer that sets none of its own: the web UI
/// loads its own scripts and styles only (no inline script or style attribute; uPlot styles
/// through the DOM, which a policy allows), and no page may be framed (the admin buttons
/// cannot be clickjacked). The status page sets a stricter one with inline styles.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// Security headers on every answer, pages, badges, API and errors alike.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(header::HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    response
}

/// The answer to a request whose handler panicked: 500 JSON; the panic goes to the log.
fn panic_answer(panic: Box<dyn std::any::Any + Send>) -> Response {
    let message = panic_message(panic);
    tracing::error!(panic = %message, "a request handler panicked");
    ApiError::of(
        ErrorCode::Internal,
        "the request failed unexpectedly; see the server log",
    )
    .into_response()
}

/// Turns the plain-text or empty error answers of layers and extractors (405, 408, 413...)
/// into the API's JSON error shape, so clients parse every error the same way.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = ErrorCode::for_status(status.as_u16());
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text.trim().to_string()
    };
    ApiError::new(status, code, message).into_response()
}

/// The text a panic was raised with.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// The fallback of mon-server's router: 404 JSON naming where to start.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/v1/status, /health, /metrics")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Json;
    use axum::routing::get;
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One HTTP/1.1 request over loopback; the status and the body.
    async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, serde_json::Value) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: mon\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {answer:?}"));
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        (status, serde_json::from_str(body).unwrap_or_default())
    }

    async fn boom() -> Json<serde_json::Value> {
        panic!("handler bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_json_and_the_server_goes_on() {
        let routes = Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { Json(json!({ "ok": true })) }));
        let app = serving_layers(routes, &LimitsConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        for _ in 0..3 {
            let (status, body) = http_get(addr, "/boom").await;
            assert_eq!(status, 500, "{body}");
            assert_eq!(body["error"]["code"], "internal", "{body}");
            assert!(
                !body.to_string().contains("handler bug"),
                "the panic stays in the log: {body}"
            );
            let (status, body) = http_get(addr, "/fine").await;
            assert_eq!((status, &body["ok"]), (200, &json!(true)), "{body}");
        }
        server.abort();
    }
}
