//! The HTTP surface: health endpoints (from mon-health), `/metrics`, `/api/v1`, and
//! `/api/openapi.json` (the contract of all of them, from `mon_api::ENDPOINTS`).

use crate::app::AppState;
use axum::Router;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use mon_api::answers::{AlertCounts, CheckCounts, StatusAnswer, StoreState};
use mon_health::HealthRegistry;
use mon_http::params::{parse_limit, parse_time};
use mon_http::{ApiError, Auth, Json, LimitsConfig};
use mon_store::Store;
use serde::Deserialize;
use serde_json::json;

/// Builds the whole router: health (public probes), metrics and the versioned API, behind auth.
pub(crate) fn router(
    state: AppState,
    auth: Auth,
    limits: &LimitsConfig,
    security: mon_security::SecurityLayer,
) -> Router {
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
        .merge(mon_logging::http::router(state.store.clone()))
        .merge(crate::ingest::router(state.clone()))
        .merge(crate::otlp::router(state.clone()))
        .merge(mon_alerting::http::router(FromRef::from_ref(&state)))
        .merge(crate::anomaly::router(FromRef::from_ref(&state)))
        .merge(crate::dashboards::router(FromRef::from_ref(&state)))
        .merge(crate::security_api::router(FromRef::from_ref(&state)))
        .merge(crate::backup::router(state.store.clone()))
        .merge(crate::sources::router(FromRef::from_ref(&state)))
        .merge(crate::experiments::router(state.store.clone()))
        .merge(crate::reports::router(state.reports.clone()))
        .merge(crate::incidents::router(FromRef::from_ref(&state)))
        .merge(mon_http::whoami_router(auth.clone()))
        // Only matched routes need a token: an unknown path is 404 for everyone.
        .route_layer(axum::middleware::from_fn_with_state(
            auth,
            mon_http::require_role,
        ))
        .fallback(mon_http::not_found)
        // Authenticated by its LiveKit signature instead of a bearer token.
        .merge(crate::livekit::router(FromRef::from_ref(&state)))
        // Public by design: only checks marked `public: true` appear.
        .merge(crate::status_page::router(FromRef::from_ref(&state)))
        // The web UI's page and static assets hold no data; its API calls carry the token.
        .merge(crate::ui::router())
        // The API's contract, public like the UI that uses the API.
        .route("/api/openapi.json", get(openapi));
    // Around every route (after routing: it records the route template), inside the
    // serving layers (its refusals get the JSON errors' security headers).
    mon_http::serving_layers(routes.layer(security), limits)
        // Outermost: every request (and every log line while serving it) gets a request_id.
        .layer(axum::middleware::from_fn(mon_logging::request_id_layer))
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

async fn check_results(
    State(health): State<HealthRegistry>,
    State(store): State<Store>,
    Path(name): Path<String>,
    query: Result<Query<ResultsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let query = mon_http::params::query(query)?;
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
