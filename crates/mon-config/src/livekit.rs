//! `livekit:` — the LiveKit webhook receiver's keys.

use mon_core::Secret;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `livekit:` — settings of mon's LiveKit integration beside the `livekit` checks.
///
/// ```yaml
/// livekit:
///   webhook:
///     api_key: ${LIVEKIT_API_KEY}
///     api_secret: ${LIVEKIT_API_SECRET}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LivekitConfig {
    /// The key pair LiveKit signs its webhooks with (`POST /api/v1/webhooks/livekit`).
    /// Default: the `api_key` and `api_secret` of the first `livekit` check.
    pub webhook: Option<LivekitWebhookConfig>,
}

/// `livekit.webhook:` — the API key and secret webhooks are verified against: the key
/// LiveKit's own `webhook.api_key` names, and its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivekitWebhookConfig {
    /// The API key: the `iss` of the webhook token.
    pub api_key: String,
    /// The API secret that signs webhook tokens. Write it as `${VAR}`.
    pub api_secret: Secret,
    /// Longest accepted token lifetime (`exp` minus `nbf`, or minus now without `nbf`):
    /// LiveKit signs each webhook for minutes, so a longer-lived token is refused, and an
    /// event id seen within a token's lifetime is counted once. Default `1h`.
    #[serde(default = "default_max_token_lifetime", with = "mon_core::duration")]
    pub max_token_lifetime: Duration,
}

/// The default `livekit.webhook.max_token_lifetime`.
pub(crate) const DEFAULT_WEBHOOK_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

fn default_max_token_lifetime() -> Duration {
    DEFAULT_WEBHOOK_MAX_TOKEN_LIFETIME
}

impl crate::Config {
    /// The webhook key pair: `livekit.webhook`, else the first `livekit` check's key and
    /// secret; `None` when neither is configured (webhooks are then refused).
    pub fn livekit_webhook_keys(&self) -> Option<(String, Secret)> {
        if let Some(webhook) = &self.livekit.webhook {
            return Some((webhook.api_key.clone(), webhook.api_secret.clone()));
        }
        self.checks
            .iter()
            .filter(|c| c.kind.name == "livekit")
            .find_map(|c| c.kind.parse::<mon_health::LivekitCheckConfig>().ok())
            .map(|lk| (lk.api_key, lk.api_secret))
    }

    /// `livekit.webhook.max_token_lifetime`, or its default when the keys come from a check.
    pub fn livekit_webhook_max_token_lifetime(&self) -> Duration {
        self.livekit
            .webhook
            .as_ref()
            .map_or(DEFAULT_WEBHOOK_MAX_TOKEN_LIFETIME, |w| w.max_token_lifetime)
    }

    /// `(key path, message)` for each problem in `livekit:`.
    pub(crate) fn validate_livekit(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        if let Some(webhook) = &self.livekit.webhook {
            if webhook.api_key.trim().is_empty() {
                errors.push((
                    "livekit.webhook.api_key".to_owned(),
                    "is empty (is its environment variable set?)".to_owned(),
                ));
            }
            if webhook.api_secret.expose().trim().is_empty() {
                errors.push((
                    "livekit.webhook.api_secret".to_owned(),
                    "is empty (is its environment variable set?)".to_owned(),
                ));
            }
            if webhook.max_token_lifetime.is_zero() {
                errors.push((
                    "livekit.webhook.max_token_lifetime".to_owned(),
                    "must be more than 0s".to_owned(),
                ));
            }
        }
        errors
    }
}
