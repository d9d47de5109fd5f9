//! LiveKit webhook deliveries: verification and replay dedupe.
//!
//! A delivery is accepted only with `Authorization: <jwt>` (the bare token, no
//! `Bearer `), HS256-signed by the secret with `iss` = the key, within its
//! `nbf`/`exp`, whose lifetime is at most the configured maximum, and whose `sha256`
//! claim is the SHA-256 of the raw body ([`verify_webhook`](super::token::verify_webhook)).
//! A delivery of an event already accepted (same event `id`, or the same body when it
//! has none) within its token's lifetime is marked a duplicate: LiveKit retries, and
//! a captured request can be replayed until it expires.

use super::token::verify_webhook;
use mon_core::Secret;
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most webhook event ids remembered; beyond it the oldest are forgotten first.
const MAX_SEEN_EVENTS: usize = 100_000;

/// Verifies webhook deliveries against one key and secret and remembers the events
/// it accepted. Clones share what they remember.
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    key: String,
    secret: Secret,
    max_token_lifetime: Duration,
    seen: Arc<Mutex<SeenEvents>>,
}

/// A verified delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// The event name (`room_started`, `participant_joined`, …).
    pub event: String,
    /// The whole body.
    pub payload: Value,
    /// The event was accepted before, within its token's lifetime: do not count it again.
    pub duplicate: bool,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The signature, the token's times or its lifetime are wrong (an HTTP 401).
    #[error("invalid LiveKit webhook: {0}")]
    Unauthorized(String),
    /// The body is not a JSON event (an HTTP 400).
    #[error("{0}")]
    BadRequest(String),
}

impl WebhookVerifier {
    /// Deliveries signed with `key` and `secret`, by tokens valid for at most
    /// `max_token_lifetime`.
    pub fn new(key: String, secret: Secret, max_token_lifetime: Duration) -> Self {
        WebhookVerifier {
            key,
            secret,
            max_token_lifetime,
            seen: Arc::default(),
        }
    }

    /// Verifies the delivery of `body` with its `Authorization` header at `now`.
    ///
    /// # Errors
    /// [`WebhookError::Unauthorized`] for a bad or missing token or a token valid for
    /// too long (nothing is remembered); [`WebhookError::BadRequest`] for a body that
    /// is not JSON or has no `event` name.
    pub fn accept(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Webhook, WebhookError> {
        let claims = verify_webhook(authorization, body, &self.key, self.secret.expose(), now)
            .map_err(|e| {
                tracing::warn!(reason = %e, "refused a LiveKit webhook");
                WebhookError::Unauthorized(e.to_string())
            })?;
        let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claim = |name: &str| claims.get(name).and_then(Value::as_f64).map(|t| t as u64);
        // `verify_webhook` guarantees `exp` is present and in the future.
        let expires = claim("exp").unwrap_or(now_secs);
        let issued = claim("nbf").or_else(|| claim("iat")).unwrap_or(now_secs);
        let lifetime = Duration::from_secs(expires.saturating_sub(issued));
        if lifetime > self.max_token_lifetime {
            let error = WebhookError::Unauthorized(format!(
                "the token is valid for {}, longer than livekit.webhook.max_token_lifetime ({})",
                mon_core::duration::format(lifetime),
                mon_core::duration::format(self.max_token_lifetime)
            ));
            tracing::warn!(reason = %error, "refused a LiveKit webhook");
            return Err(error);
        }
        let payload: Value = serde_json::from_slice(body)
            .map_err(|e| WebhookError::BadRequest(format!("the webhook body is not JSON: {e}")))?;
        let Some(event) = payload
            .get("event")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
        else {
            return Err(WebhookError::BadRequest(
                "the webhook body has no \"event\" name".to_owned(),
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
        let first = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first_delivery(&key, expires, now_secs);
        if !first {
            tracing::info!(
                event,
                "a LiveKit webhook delivered again was not counted twice"
            );
        }
        Ok(Webhook {
            event,
            payload,
            duplicate: !first,
        })
    }
}

/// Event keys accepted, each until its token's expiry (unix seconds), in arrival order.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::livekit_token::webhook_token;

    fn verifier(max: u64) -> WebhookVerifier {
        WebhookVerifier::new(
            "APIkey".to_owned(),
            Secret::new("secret".to_owned()),
            Duration::from_secs(max),
        )
    }

    #[test]
    fn a_second_delivery_of_an_event_is_a_duplicate() {
        let v = verifier(3600);
        let now = SystemTime::now();
        let body = br#"{"event":"room_started","id":"EV_1"}"#;
        let token = webhook_token("APIkey", "secret", body, now).expect("token");
        let first = v.accept(Some(&token), body, now).expect("accepted");
        assert_eq!(
            (first.event.as_str(), first.duplicate),
            ("room_started", false)
        );
        assert!(
            v.clone()
                .accept(Some(&token), body, now)
                .expect("again")
                .duplicate
        );
    }

    #[test]
    fn bad_tokens_and_bodies_are_refused() {
        let v = verifier(3600);
        let now = SystemTime::now();
        let body = br#"{"event":"room_started"}"#;
        assert!(matches!(
            v.accept(None, body, now),
            Err(WebhookError::Unauthorized(_))
        ));
        let other = webhook_token("APIkey", "other", body, now).expect("token");
        assert!(matches!(
            v.accept(Some(&other), body, now),
            Err(WebhookError::Unauthorized(_))
        ));
        let not_json = b"nope";
        let token = webhook_token("APIkey", "secret", not_json, now).expect("token");
        assert!(matches!(
            v.accept(Some(&token), not_json, now),
            Err(WebhookError::BadRequest(_))
        ));
        let short = verifier(1);
        let token = webhook_token("APIkey", "secret", body, now).expect("token");
        let error = short.accept(Some(&token), body, now).expect_err("too long");
        assert!(error.to_string().contains("max_token_lifetime"), "{error}");
    }
}
