//! LiveKit in the server: `POST /api/v1/webhooks/livekit` (verified by its LiveKit
//! signature, not by a bearer token), the room and participant metrics webhooks and
//! application errors feed, and the snapshot variables checks report in their details.
//!
//! A webhook is accepted only with `Authorization: <jwt>` (the bare token, no `Bearer `),
//! HS256-signed by the configured secret with `iss` = the configured key, within its
//! `nbf`/`exp`, and whose `sha256` claim is the SHA-256 of the raw body. Anything else
//! answers 401 and records nothing.

use crate::app::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use mon_core::{CheckOutcome, Secret};
use mon_metrics::{LivekitMetrics, SnapshotHub};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::SystemTime;

/// The error code applications report when a LiveKit room cannot be created.
const ROOM_CREATION_FAILED: &str = mon_logging::codes::livekit::ROOM_CREATION_FAILED.code;

/// The LiveKit side of the server state.
#[derive(Debug, Clone)]
pub(crate) struct Livekit {
    /// Webhook and room-error metrics (snapshot and `/metrics`).
    pub(crate) metrics: LivekitMetrics,
    /// The key and secret webhooks are verified against; `None` refuses every webhook.
    keys: Option<(String, Secret)>,
}

impl Livekit {
    pub(crate) fn new(metrics: LivekitMetrics, keys: Option<(String, Secret)>) -> Self {
        Livekit { metrics, keys }
    }

    /// Counts an application error that carries the room-creation code, as its `kind`
    /// (`LK1301`) or as `context.error_code`, into `room_creation_failures`.
    pub(crate) fn error_event(
        &self,
        hub: &SnapshotHub,
        kind: &str,
        context: &std::collections::BTreeMap<String, Value>,
        at: SystemTime,
    ) {
        let code = context.get("error_code").and_then(Value::as_str);
        if kind == ROOM_CREATION_FAILED || code == Some(ROOM_CREATION_FAILED) {
            self.metrics.record_room_creation_failure(at);
            self.metrics.publish(hub);
        }
    }

    /// Records an already verified webhook event (also the `livekit` ingest event).
    pub(crate) fn webhook_event(
        &self,
        hub: &SnapshotHub,
        event: &str,
        payload: &Value,
        at: SystemTime,
    ) {
        self.metrics.record_webhook(event, payload, at);
        self.metrics.publish(hub);
    }
}

/// `POST /api/v1/webhooks/livekit`. Mount it outside the bearer-token layer.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/webhooks/livekit", post(webhook))
        .with_state(state)
}

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some((key, secret)) = &state.livekit.keys else {
        return Err(unauthorized(
            "LiveKit webhooks are not configured: set livekit.webhook (or add a livekit check)",
        ));
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let now = SystemTime::now();
    if let Err(e) =
        mon_health::livekit_token::verify_webhook(authorization, &body, key, secret.expose(), now)
    {
        tracing::warn!(reason = %e, "refused a LiveKit webhook");
        return Err(unauthorized(format!("invalid LiveKit webhook: {e}")));
    }
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the webhook body is not JSON: {e}")))?;
    let Some(event) = payload
        .get("event")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
    else {
        return Err(ApiError::bad_request(
            "the webhook body has no \"event\" name",
        ));
    };
    state
        .livekit
        .webhook_event(&state.hub, event, &payload, now);
    Ok(Json(json!({"accepted": true, "event": event})))
}

/// Publishes the snapshot variables that checks put under `details.variables` (the
/// `livekit` check's `active_rooms`, the `prometheus` check's mapped series), each
/// check under its own hub source `check:<name>`. Those take precedence over the same
/// names computed from ingested events (`avg_mos`, `avg_packet_loss`, `avg_jitter_ms`):
/// see [`SnapshotHub`].
#[derive(Debug, Default)]
pub(crate) struct CheckVariables {
    /// Checks that published variables: a later result without any withdraws them.
    publishing: BTreeSet<String>,
}

impl CheckVariables {
    pub(crate) fn observe(&mut self, hub: &SnapshotHub, check: &str, outcome: &CheckOutcome) {
        let values: Vec<(String, f64)> = match outcome.details.get("variables") {
            Some(Value::Object(vars)) => vars
                .iter()
                .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
                .collect(),
            _ if self.publishing.contains(check) => Vec::new(),
            _ => return,
        };
        if values.is_empty() {
            self.publishing.remove(check);
        } else {
            self.publishing.insert(check.to_owned());
        }
        hub.publish_values(
            &format!("{}{check}", mon_metrics::CHECK_SOURCE_PREFIX),
            values,
        );
    }
}
