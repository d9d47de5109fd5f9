//! The HTTP surface: health endpoints (from mon-health), `/metrics`, `/api/v1`, and
//! `/api/openapi.json` (the contract of all of them, from `mon_api::ENDPOINTS`).

use crate::app::AppState;
use crate::auth::{self, Auth};
use crate::error::ApiError;
use crate::error::Json;
use axum::Router;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use mon_api::ErrorCode;
use mon_api::answers::{AlertCounts, CheckCounts, StatusAnswer, StoreState};
use mon_config::LimitsConfig;
use mon_health::HealthRegistry;
use mon_store::Store;
use serde::Deserialize;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// Builds the whole router: health (public probes), metrics and the versioned API, behind auth.
pub(crate) fn router(state: AppState, auth: Auth, limits: &LimitsConfig) -> Router {
    let api = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/checks", get(checks))
        .route("/api/v1/checks/{name}", get(check))
        .route("/api/v1/checks/{name}/results", get(check_results))
        .with_state(state.clone());
    let routes = Router::new()
        .merge(mon_health::router(state.health.clone()))
        .merge(mon_health::heartbeat_router(state.health.clone()))
        .merge(api)
        .merge(crate::logs::router(state.store.clone()))
        .merge(crate::ingest::router(state.clone()))
        .merge(crate::alerts_api::router(FromRef::from_ref(&state)))
        .merge(crate::dashboards::router(FromRef::from_ref(&state)))
        .merge(crate::security_api::router(FromRef::from_ref(&state)))
        .merge(auth::whoami_router(auth.clone()))
        // Only matched routes need a token: an unknown path is 404 for everyone.
        .route_layer(axum::middleware::from_fn_with_state(
            auth,
            auth::require_role,
        ))
        .fallback(not_found)
        // Authenticated by its LiveKit signature instead of a bearer token.
        .merge(crate::livekit::router(FromRef::from_ref(&state)))
        // Public by design: only checks marked `public: true` appear.
        .merge(crate::status_page::router(FromRef::from_ref(&state)))
        // The web UI's page and static assets hold no data; its API calls carry the token.
        .merge(crate::ui::router())
        // The API's contract, public like the UI that uses the API.
        .route("/api/openapi.json", get(openapi));
    serving_layers(routes, limits)
}

/// The layers every request passes: body limit, timeout, JSON errors, a request_id,
/// and a handler that panics answers 500 JSON (logged with the panic) while the server
/// goes on serving.
fn serving_layers(routes: Router, limits: &LimitsConfig) -> Router {
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
        // Outermost: every request (and every log line while serving it) gets a request_id.
        .layer(axum::middleware::from_fn(mon_logging::request_id_layer))
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
    let message = crate::supervise::panic_message(panic);
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

/// `GET /api/openapi.json`: the OpenAPI 3.1 document of every endpoint (built once).
async fn openapi() -> Response {
    static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        mon_api::document(env!("CARGO_PKG_VERSION"))
            .to_json()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "encoding the OpenAPI document failed");
                String::from("{}")
            })
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/v1/status, /health, /metrics")
}

/// OpenMetrics by default (and whenever the scraper accepts it, as Prometheus does); the
/// classic text format for a client that asks for `text/plain` only.
async fn metrics(
    State(exposition): State<crate::metrics::Exposition>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let prometheus_text =
        accept.contains("text/plain") && !accept.contains("application/openmetrics-text");
    let text = exposition
        .encode(prometheus_text)
        .map_err(|e| ApiError::internal("encoding metrics failed", &e))?;
    let content_type = if prometheus_text {
        mon_metrics::PROMETHEUS_TEXT_CONTENT_TYPE
    } else {
        mon_metrics::OPENMETRICS_CONTENT_TYPE
    };
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

async fn status(State(state): State<AppState>) -> Json<StatusAnswer> {
    let summary = state.health.summary();
    let firing = state.alerts.active_alerts().len();
    Json(StatusAnswer {
        status: summary.status.to_string(),
        timestamp: summary.timestamp,
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: state.started_at,
        uptime_seconds: (Utc::now() - state.started_at).num_seconds(),
        checks: CheckCounts {
            healthy: summary.healthy_components,
            total: summary.total_components,
            health_percentage: summary.health_percentage,
        },
        alerts: AlertCounts { active: firing },
        store: StoreState {
            queue_depth: state.store.queue_depth(),
        },
        exporters: serde_json::to_value(state.ingest.exporters.snapshot()).unwrap_or_default(),
        snapshot: serde_json::to_value(state.hub.current().values).unwrap_or_default(),
    })
}

async fn checks(State(health): State<HealthRegistry>) -> Json<serde_json::Value> {
    Json(json!({ "checks": health.detailed().checks }))
}

async fn check(
    State(health): State<HealthRegistry>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let check = health.check(&name).ok_or_else(|| unknown_check(&name))?;
    // The same entry shape as in `/api/v1/checks` and `/health/detailed`.
    Ok(Json(json!(check.entry())))
}

fn unknown_check(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "no check named {name:?}; GET /api/v1/checks lists them"
    ))
}

/// `?since=` (RFC 3339 time, or a duration ago such as `1h`) and `?limit=` (default 100, at most 10,000).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultsQuery {
    since: Option<String>,
    limit: Option<String>,
}

const MAX_LIMIT: usize = 10_000;

/// A point in time from query parameter `param`: RFC 3339 or a duration ago (at most
/// 100 years, `mon_core::duration::MAX`); anything else is 400 naming the parameter.
pub(crate) fn parse_time(
    param: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    mon_core::duration::parse_time(text, now)
        .map_err(|e| ApiError::bad_request(format!("{param}={text:?}: {e}")))
}

/// A duration from query or body parameter `param` (at most 100 years); anything else
/// is 400 naming the parameter.
pub(crate) fn parse_duration(param: &str, text: &str) -> Result<std::time::Duration, ApiError> {
    mon_core::duration::parse(text)
        .map_err(|e| ApiError::bad_request(format!("{param}={text:?}: {e}")))
}

/// `from=` / `to=` of a range query (each RFC 3339 or a duration ago); default the last
/// hour up to `now`. A range that ends before it starts is 400.
pub(crate) fn parse_from_to(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let from = match from {
        Some(t) => parse_time("from", t, now)?,
        None => now - chrono::Duration::hours(1),
    };
    let to = match to {
        Some(t) => parse_time("to", t, now)?,
        None => now,
    };
    if to < from {
        return Err(ApiError::bad_request(format!(
            "from ({from}) is after to ({to})"
        )));
    }
    Ok((from, to))
}

pub(crate) fn parse_limit(text: Option<&str>) -> Result<usize, ApiError> {
    let Some(text) = text else { return Ok(100) };
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "limit={text:?} must be a whole number from 1 to {MAX_LIMIT}"
        ))),
    }
}

async fn check_results(
    State(health): State<HealthRegistry>,
    State(store): State<Store>,
    Path(name): Path<String>,
    query: Result<Query<ResultsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if health.check(&name).is_none() {
        return Err(unknown_check(&name));
    }
    let since = query
        .since
        .as_deref()
        .map(|t| parse_time("since", t, Utc::now()))
        .transpose()?;
    let limit = parse_limit(query.limit.as_deref())?;
    let rows = store.check_results(&name, since, limit).await?;
    let results: Vec<_> = rows.into_iter().map(|r| r.outcome).collect();
    Ok(Json(
        json!({ "check": name, "count": results.len(), "results": results }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
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
