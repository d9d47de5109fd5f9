//! LiveKit in the server: `POST /api/v1/webhooks/livekit` (verified by its LiveKit
//! signature, not by a bearer token), and the room and participant metrics webhooks and
//! application errors feed (the variables checks report are published by mon-health).
//!
//! A webhook is verified by [`mon_health::livekit_webhook`]: the bare JWT in
//! `Authorization`, signed by the configured secret with `iss` = the configured key, its
//! lifetime at most `livekit.webhook.max_token_lifetime`, its `sha256` claim the body's
//! hash. Anything else answers 401 and records nothing. The payload gets the privacy
//! policy (participant identities and names, SIP numbers) before it is recorded. A delivery of an event already
//! counted within its token's lifetime answers 200 `"duplicate": true` and is not counted
//! again. `?source=demo` counts it apart, as a labelled ingest batch's (sampled as series
//! labelled `source`, kept out of the snapshot and `/metrics`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::routing::post;
use mon_api::ErrorCode;
use mon_core::Secret;
use mon_health::livekit_webhook::{WebhookError, WebhookVerifier};
use mon_http::ApiError;
use mon_http::Json;
use mon_metrics::{LivekitMetrics, Recorder, SnapshotHub};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

/// The error code applications report when a LiveKit room cannot be created.
const ROOM_CREATION_FAILED: &str = mon_logging::codes::livekit::ROOM_CREATION_FAILED.code;

/// The LiveKit side of the server state: the webhook verifier. The counts live with
/// the ingest recorder ([`Recorder::livekit`]), a labelled source's with its own.
#[derive(Debug, Clone)]
pub(crate) struct Livekit {
    /// Verifies webhooks and remembers the events counted; `None` refuses every webhook.
    webhooks: Option<WebhookVerifier>,
}

impl Livekit {
    pub(crate) fn new(keys: Option<(String, Secret)>, max_token_lifetime: Duration) -> Self {
        Livekit {
            webhooks: keys
                .map(|(key, secret)| WebhookVerifier::new(key, secret, max_token_lifetime)),
        }
    }
}

/// Counts an application error that carries the room-creation code, as its `kind`
/// (`LK1301`) or as `context.error_code`, into `metrics`' `room_creation_failures`;
/// published to `hub` at once when given (the server's own metrics, not a labelled
/// source's).
pub(crate) fn error_event(
    metrics: &LivekitMetrics,
    hub: Option<&SnapshotHub>,
    kind: &str,
    context: &std::collections::BTreeMap<String, Value>,
    at: SystemTime,
) {
    let code = context.get("error_code").and_then(Value::as_str);
    if kind == ROOM_CREATION_FAILED || code == Some(ROOM_CREATION_FAILED) {
        metrics.record_room_creation_failure(at);
        if let Some(hub) = hub {
            metrics.publish(hub);
        }
    }
}

/// Records an already verified webhook event (also the `livekit` ingest event) into
/// `metrics`, published to `hub` at once when given.
pub(crate) fn webhook_event(
    metrics: &LivekitMetrics,
    hub: Option<&SnapshotHub>,
    event: &str,
    payload: &Value,
    at: SystemTime,
) {
    metrics.record_webhook(event, payload, at);
    if let Some(hub) = hub {
        metrics.publish(hub);
    }
}

/// What the webhook route reads: the LiveKit side, the ingest recorder whose LiveKit
/// metrics (or a labelled source's) count webhooks, and the hub they publish to.
#[derive(Clone, Debug)]
pub(crate) struct LivekitState {
    pub(crate) livekit: Livekit,
    pub(crate) recorder: Recorder,
    pub(crate) hub: SnapshotHub,
    /// Participant identities and names, SIP numbers: treated before anything counts them.
    pub(crate) privacy: mon_core::Privacy,
}

/// `POST /api/v1/webhooks/livekit`. Mount it outside the bearer-token layer.
pub(crate) fn router(state: LivekitState) -> Router {
    Router::new()
        .route("/api/v1/webhooks/livekit", post(webhook))
        .with_state(state)
}

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::of(ErrorCode::Unauthorized, message)
}

/// `?source=`: counts the webhooks apart, as a labelled ingest batch's (`mon demo`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookQuery {
    source: Option<String>,
}

async fn webhook(
    State(state): State<LivekitState>,
    query: Result<Query<WebhookQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let source = mon_http::params::query(query)?.source;
    if let Some(label) = &source {
        crate::sources::check_source(label)?;
        // Before the event is accepted: a replay of an accepted event is not counted.
        state
            .recorder
            .source_room(label)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let Some(webhooks) = &state.livekit.webhooks else {
        return Err(unauthorized(
            "LiveKit webhooks are not configured: set livekit.webhook (or add a livekit check)",
        ));
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let now = SystemTime::now();
    let webhook = webhooks
        .accept(authorization, &body, now)
        .map_err(|e| match e {
            WebhookError::Unauthorized(_) => unauthorized(e.to_string()),
            WebhookError::BadRequest(message) => ApiError::bad_request(message),
        })?;
    if !webhook.duplicate {
        let mut payload = webhook.payload;
        state.privacy.value(&mut payload);
        // Only a verified webhook may start a labelled source's recorder.
        let labelled = match &source {
            Some(label) => Some(
                state
                    .recorder
                    .source(label)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?,
            ),
            None => None,
        };
        let recorder = labelled.as_ref().unwrap_or(&state.recorder);
        let hub = labelled.is_none().then_some(&state.hub);
        webhook_event(recorder.livekit(), hub, &webhook.event, &payload, now);
    }
    Ok(Json(json!({
        "accepted": true,
        "duplicate": webhook.duplicate,
        "event": webhook.event,
    })))
}
