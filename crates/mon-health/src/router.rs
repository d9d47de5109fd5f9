//! The axum health router (`/health`, `/health/live`, `/health/ready`, `/health/detailed`,
//! `/health/checks/{name}`, `/health/livekit`, and the seeds' aliases of them) and the heartbeat ping router (`POST /api/v1/heartbeat/{name}`).

use crate::{HealthError, HealthRegistry, HeartbeatSignal};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mon_api::ErrorCode;
use mon_core::Status;
use mon_http::ApiError;
use serde_json::json;

/// The health endpoints, reading `registry`:
///
/// | route | answer |
/// |---|---|
/// | `GET /health` | summary; 200 when healthy or degraded, 503 when unhealthy |
/// | `GET /health/live` | 200 `{"status":"alive"}` while the process serves |
/// | `GET /health/ready` | 200 `{"ready":true}` once every check has run, else 503 with the `pending` checks |
/// | `GET /health/detailed` | summary plus every check; 200 or 503 like `/health` |
/// | `GET /health/checks/{name}` | one check; 404 `{"error":{"code":"not_found",...}}` if there is none |
/// | `GET /health/livekit` | the `livekit` checks: status, per-service status, rooms and participants; 200 or 503 like `/health`, 404 without a `livekit` check |
///
/// The seeds' names answer the same: `/health/` and `/monitoring/health` as `/health`,
/// `/health/liveness` as `/health/live`, `/health/readiness` as `/health/ready`.
///
/// Mount it with `.merge(mon_health::router(registry))`.
pub fn router(registry: HealthRegistry) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/health/detailed", get(detailed))
        .route("/health/checks/{name}", get(check))
        .route("/health/livekit", get(livekit))
        // The seeds' names for the same endpoints.
        .route("/health/", get(health))
        .route("/health/liveness", get(live))
        .route("/health/readiness", get(ready))
        .route("/monitoring/health", get(health))
        .with_state(registry)
}

/// The heartbeat ping endpoints of `registry`'s `heartbeat` checks:
///
/// | route | meaning |
/// |---|---|
/// | `POST /api/v1/heartbeat/{name}` | the job ran (or is alive) |
/// | `POST /api/v1/heartbeat/{name}/start` | the job started; the next ping measures its run time |
/// | `POST /api/v1/heartbeat/{name}/fail` | the job failed: the check is down until the next ping |
///
/// Each answers 200 with the check's entry (as in `/health/checks/{name}`),
/// or 404 `{"error":{"code":"not_found",...}}` when `name` is not a heartbeat
/// check. Put it behind authentication: anyone who can ping can mark a job healthy.
pub fn heartbeat_router(registry: HealthRegistry) -> Router {
    Router::new()
        .route(
            "/api/v1/heartbeat/{name}",
            post(|state, path| ping(state, path, HeartbeatSignal::Success)),
        )
        .route(
            "/api/v1/heartbeat/{name}/start",
            post(|state, path| ping(state, path, HeartbeatSignal::Start)),
        )
        .route(
            "/api/v1/heartbeat/{name}/fail",
            post(|state, path| ping(state, path, HeartbeatSignal::Fail)),
        )
        .with_state(registry)
}

async fn ping(
    State(registry): State<HealthRegistry>,
    Path(name): Path<String>,
    signal: HeartbeatSignal,
) -> Response {
    match registry.heartbeat(&name, signal, None) {
        Ok(entry) => {
            // Kept (stored, in the server) before the ping is answered.
            registry.keep(&name).await;
            Json(entry).into_response()
        }
        Err(e @ HealthError::UnknownHeartbeat { .. }) => {
            ApiError::not_found(e.to_string()).into_response()
        }
        Err(e) => ApiError::of(ErrorCode::Internal, e.to_string()).into_response(),
    }
}

/// 503 when the system is unhealthy, so load balancers take it out; 200 otherwise.
fn http_status(status: Status) -> StatusCode {
    if status == Status::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

async fn health(State(registry): State<HealthRegistry>) -> Response {
    let summary = registry.summary();
    (http_status(summary.status), Json(summary)).into_response()
}

async fn live() -> Response {
    Json(json!({"status": "alive"})).into_response()
}

async fn ready(State(registry): State<HealthRegistry>) -> Response {
    let pending = registry.pending();
    if pending.is_empty() {
        Json(json!({"ready": true})).into_response()
    } else {
        let body = json!({"ready": false, "pending": pending});
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

async fn detailed(State(registry): State<HealthRegistry>) -> Response {
    let mut detailed = registry.detailed();
    detailed.sections = registry.sections();
    (http_status(detailed.summary.status), Json(detailed)).into_response()
}

async fn livekit(State(registry): State<HealthRegistry>) -> Response {
    match crate::checks::livekit::health_view(&registry.checks()) {
        Some((status, body)) => (http_status(status), Json(body)).into_response(),
        None => ApiError::not_found(
            "no livekit check is configured; add one with `type: livekit` to checks",
        )
        .into_response(),
    }
}

async fn check(State(registry): State<HealthRegistry>, Path(name): Path<String>) -> Response {
    match registry.check(&name) {
        Some(state) => Json(state.entry()).into_response(),
        None => ApiError::not_found(format!("no check named {name:?}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use mon_core::CheckOutcome;
    use std::time::Duration;
    use tower::ServiceExt;

    async fn get_json(registry: &HealthRegistry, uri: &str) -> (StatusCode, serde_json::Value) {
        let response = router(registry.clone())
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response.headers().get("content-type").cloned();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(content_type.unwrap(), "application/json", "{uri}");
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn outcome(status: Status) -> CheckOutcome {
        CheckOutcome::new(status, Duration::from_millis(7), status.as_str())
    }

    #[tokio::test]
    async fn health_status_codes_follow_the_aggregate() {
        let registry = HealthRegistry::new();
        registry.register("api", "http", true).unwrap();
        registry.register("cache", "http", false).unwrap();
        // (api, cache, HTTP status of /health, status field)
        let cases = [
            (Status::Healthy, Status::Healthy, StatusCode::OK, "healthy"),
            (
                Status::Healthy,
                Status::Unhealthy,
                StatusCode::OK,
                "degraded",
            ),
            (
                Status::Degraded,
                Status::Healthy,
                StatusCode::OK,
                "degraded",
            ),
            (
                Status::Unhealthy,
                Status::Healthy,
                StatusCode::SERVICE_UNAVAILABLE,
                "unhealthy",
            ),
        ];
        for (api, cache, code, status) in cases {
            registry.record("api", outcome(api));
            registry.record("cache", outcome(cache));
            for uri in ["/health", "/health/detailed"] {
                let (got, body) = get_json(&registry, uri).await;
                assert_eq!(got, code, "{uri} {api} {cache}");
                assert_eq!(body["status"], status, "{uri} {api} {cache}");
                assert_eq!(body["total_components"], 2);
            }
        }
        let (_, body) = get_json(&registry, "/health").await;
        assert_eq!(body["healthy_components"], 1);
        assert_eq!(body["health_percentage"], 50.0);
        assert!(body["timestamp"].is_string());
        let (_, body) = get_json(&registry, "/health/detailed").await;
        assert_eq!(body["checks"][0]["name"], "api");
        assert_eq!(body["checks"][0]["status"], "unhealthy");
        assert_eq!(body["checks"][0]["latency_ms"], 7.0);
    }

    #[tokio::test]
    async fn live_always_answers() {
        let registry = HealthRegistry::new();
        registry.register("api", "http", true).unwrap();
        registry.record("api", outcome(Status::Unhealthy));
        let (code, body) = get_json(&registry, "/health/live").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body, json!({"status": "alive"}));
    }

    #[tokio::test]
    async fn ready_once_every_check_ran() {
        let registry = HealthRegistry::new();
        registry.register("api", "http", true).unwrap();
        registry.register("host", "system", true).unwrap();
        let (code, body) = get_json(&registry, "/health/ready").await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, json!({"ready": false, "pending": ["api", "host"]}));

        registry.record("api", outcome(Status::Unhealthy));
        let (code, body) = get_json(&registry, "/health/ready").await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["pending"], json!(["host"]));

        registry.record("host", outcome(Status::Healthy));
        let (code, body) = get_json(&registry, "/health/ready").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body, json!({"ready": true}));
    }

    #[tokio::test]
    async fn one_check_or_a_json_404() {
        let registry = HealthRegistry::new();
        registry.register("api", "http", true).unwrap();
        let (code, body) = get_json(&registry, "/health/checks/api").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body["status"], "unknown");
        assert_eq!(body["kind"], "http");

        registry.record("api", outcome(Status::Degraded));
        let (_, body) = get_json(&registry, "/health/checks/api").await;
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["message"], "degraded");
        assert_eq!(body["consecutive_successes"], 1);

        let (code, body) = get_json(&registry, "/health/checks/x").await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "no check named \"x\""}})
        );
    }

    #[tokio::test]
    async fn merges_into_an_application_router() {
        let registry = HealthRegistry::new();
        let app = Router::new()
            .route("/", get(|| async { "app" }))
            .merge(router(registry));
        let response = app
            .oneshot(Request::get("/health/live").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn heartbeats_are_pinged_over_http() {
        let registry = HealthRegistry::new();
        let mut scheduler = crate::Scheduler::new(registry.clone(), Default::default());
        let config: crate::CheckConfig = serde_json::from_value(json!({
            "name": "backup", "type": "heartbeat", "period": "1h"
        }))
        .unwrap();
        scheduler.add_config(&config).unwrap();
        let app = heartbeat_router(registry.clone());
        let post = |uri: &str| {
            app.clone()
                .oneshot(Request::post(uri).body(Body::empty()).unwrap())
        };
        // (path, HTTP status, reported status, heartbeat state)
        let steps = [
            (
                "/api/v1/heartbeat/backup/start",
                StatusCode::OK,
                "unknown",
                "new",
            ),
            ("/api/v1/heartbeat/backup", StatusCode::OK, "healthy", "up"),
            (
                "/api/v1/heartbeat/backup/fail",
                StatusCode::OK,
                "healthy",
                "down",
            ),
        ];
        for (uri, code, status, state) in steps {
            let response = post(uri).await.unwrap();
            assert_eq!(response.status(), code, "{uri}");
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(body["status"], status, "{uri}: {body}");
            assert_eq!(body["details"]["state"], state, "{uri}: {body}");
        }
        // The failure counts toward failure_threshold (default 3) like any unhealthy run.
        let entry = registry.check("backup").unwrap().entry();
        assert_eq!(entry.transition, Some(crate::StatusChange::Failing));

        let response = post("/api/v1/heartbeat/nope").await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let response = app
            .clone()
            .oneshot(
                Request::get("/api/v1/heartbeat/backup")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
