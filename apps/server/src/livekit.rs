//! LiveKit in the server: `POST /api/v1/webhooks/livekit` (verified by its LiveKit
//! signature, not by a bearer token), and the room and participant metrics webhooks and
//! application errors feed (the variables checks report are published by mon-health).
//!
//! A webhook is accepted only with `Authorization: <jwt>` (the bare token, no `Bearer `),
//! HS256-signed by the configured secret with `iss` = the configured key, within its
//! `nbf`/`exp`, whose lifetime is at most `livekit.webhook.max_token_lifetime`, and whose
//! `sha256` claim is the SHA-256 of the raw body. Anything else answers 401 and records
//! nothing. A delivery of an event already counted (same event `id`, or the same body when
//! it has none) within its token's lifetime answers 200 `"duplicate": true` and is not
//! counted again: LiveKit retries, and a captured request can be replayed until it expires.

use crate::error::ApiError;
use crate::error::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use mon_api::ErrorCode;
use mon_core::Secret;
use mon_metrics::{LivekitMetrics, SnapshotHub};
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The error code applications report when a LiveKit room cannot be created.
const ROOM_CREATION_FAILED: &str = mon_logging::codes::livekit::ROOM_CREATION_FAILED.code;

/// The LiveKit side of the server state.
#[derive(Debug, Clone)]
pub(crate) struct Livekit {
    /// Webhook and room-error metrics (snapshot and `/metrics`).
    pub(crate) metrics: LivekitMetrics,
    /// The key and secret webhooks are verified against; `None` refuses every webhook.
    keys: Option<(String, Secret)>,
    /// `livekit.webhook.max_token_lifetime`.
    max_token_lifetime: Duration,
    /// Events already counted, until their token expires.
    seen: Arc<Mutex<SeenEvents>>,
}

/// Most webhook event ids remembered; beyond it the oldest are forgotten first.
const MAX_SEEN_EVENTS: usize = 100_000;

/// Event keys counted, each until its token's expiry (unix seconds), in arrival order.
#[derive(Debug, Default)]
struct SeenEvents {
    order: VecDeque<(u64, String)>,
    keys: HashSet<String>,
}

impl SeenEvents {
    /// Remembers `key` until `expires`; `false` when it is already remembered.
    fn first_delivery(&mut self, key: &str, expires: u64, now: u64) -> bool {
        while let Some((at, _)) = self.order.front()
            && (*at <= now || self.order.len() >= MAX_SEEN_EVENTS)
        {
            if let Some((_, old)) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
        if !self.keys.insert(key.to_owned()) {
            return false;
        }
        self.order.push_back((expires, key.to_owned()));
        true
    }
}

impl Livekit {
    pub(crate) fn new(
        metrics: LivekitMetrics,
        keys: Option<(String, Secret)>,
        max_token_lifetime: Duration,
    ) -> Self {
        Livekit {
            metrics,
            keys,
            max_token_lifetime,
            seen: Arc::default(),
        }
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

/// What the webhook route reads: the LiveKit side, and the hub its metrics publish to.
#[derive(Clone, Debug)]
pub(crate) struct LivekitState {
    pub(crate) livekit: Livekit,
    pub(crate) hub: SnapshotHub,
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

async fn webhook(
    State(state): State<LivekitState>,
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
    let claims =
        mon_health::livekit_token::verify_webhook(authorization, &body, key, secret.expose(), now)
            .map_err(|e| {
                tracing::warn!(reason = %e, "refused a LiveKit webhook");
                unauthorized(format!("invalid LiveKit webhook: {e}"))
            })?;
    let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let claim = |name: &str| claims.get(name).and_then(Value::as_f64).map(|t| t as u64);
    // `verify_webhook` guarantees `exp` is present and in the future.
    let expires = claim("exp").unwrap_or(now_secs);
    let issued = claim("nbf").or_else(|| claim("iat")).unwrap_or(now_secs);
    let lifetime = Duration::from_secs(expires.saturating_sub(issued));
    if lifetime > state.livekit.max_token_lifetime {
        let message = format!(
            "invalid LiveKit webhook: the token is valid for {}, longer than livekit.webhook.max_token_lifetime ({})",
            mon_core::duration::format(lifetime),
            mon_core::duration::format(state.livekit.max_token_lifetime)
        );
        tracing::warn!(reason = %message, "refused a LiveKit webhook");
        return Err(unauthorized(message));
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
    // The event id, else the body's hash (the `sha256` claim verified above).
    let key = match payload.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => format!("id:{id}"),
        _ => format!(
            "sha256:{}",
            claims.get("sha256").and_then(Value::as_str).unwrap_or("")
        ),
    };
    let first = state
        .livekit
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .first_delivery(&key, expires, now_secs);
    if !first {
        tracing::info!(
            event,
            "a LiveKit webhook delivered again was not counted twice"
        );
        return Ok(Json(
            json!({"accepted": true, "duplicate": true, "event": event}),
        ));
    }
    state
        .livekit
        .webhook_event(&state.hub, event, &payload, now);
    Ok(Json(
        json!({"accepted": true, "duplicate": false, "event": event}),
    ))
}
