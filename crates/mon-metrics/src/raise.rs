//! Alerts raised by an application without a rule: [`AlertSender`] posts an alert (a
//! [`RaiseAlertBody`]) to a mon-server's `POST {url}/api/v1/alerts` with the ingest token
//! as a bearer token (never logged, never in an error), and resolves it the same way.
//! mon deduplicates by title and labels, so an agent may raise the same alert on every
//! failure: only the first pages.
//!
//! ```no_run
//! # async fn run() -> Result<(), mon_metrics::SendAlertError> {
//! use mon_metrics::{AlertSender, RaiseAlertBody};
//!
//! let sender = AlertSender::new(
//!     "http://127.0.0.1:8480",
//!     Some(mon_core::Secret::new("ingest-token")),
//! );
//! let labels = [("service".to_string(), "agent".to_string())].into();
//! let alert = RaiseAlertBody {
//!     severity: Some("critical".into()),
//!     title: "TTS provider down".into(),
//!     message: Some("ElevenLabs answers 503".into()),
//!     labels,
//!     resolve_after: Some("10m".into()),
//!     ..RaiseAlertBody::default()
//! };
//! sender.raise(&alert).await?;
//! sender.resolve(&alert.title, &alert.labels).await?;
//! # Ok(()) }
//! ```

pub use mon_api::answers::{RaiseAlertAnswer, RaiseAlertBody};
use mon_core::Secret;
use std::collections::BTreeMap;
use std::time::Duration;

/// Why an alert could not be raised or resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendAlertError {
    /// mon-server could not be reached, or its answer could not be read: worth a retry.
    #[error("mon-server at {url} could not be reached: {reason}")]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// mon-server refused the alert (a 400 names the field; 401/403 the token).
    #[error("mon-server refused the alert ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's error message.
        message: String,
    },
}

impl SendAlertError {
    /// Whether trying again may help (unreachable, 429, 5xx).
    pub fn retryable(&self) -> bool {
        match self {
            SendAlertError::Unreachable { .. } => true,
            SendAlertError::Refused { status, .. } => *status == 429 || *status >= 500,
        }
    }
}

/// Raises and resolves alerts on one mon-server. Cheap to clone.
#[derive(Clone)]
pub struct AlertSender {
    client: reqwest::Client,
    url: String,
    token: Option<Secret>,
}

impl std::fmt::Debug for AlertSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertSender")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl AlertSender {
    /// A sender to the mon-server at `url` (its base, e.g. `http://127.0.0.1:8480`) with
    /// an ingest `token` (`None` when the server runs without tokens), 10 s per request.
    pub fn new(url: impl Into<String>, token: Option<Secret>) -> AlertSender {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        AlertSender {
            client,
            url: url.into().trim_end_matches('/').to_string(),
            token,
        }
    }

    /// Raises `alert` (or resolves it, with `status: resolved`); answers what mon did.
    pub async fn raise(&self, alert: &RaiseAlertBody) -> Result<RaiseAlertAnswer, SendAlertError> {
        let unreachable = |e: reqwest::Error| SendAlertError::Unreachable {
            url: self.url.clone(),
            reason: e.without_url().to_string(),
        };
        let mut request = self
            .client
            .post(format!("{}/api/v1/alerts", self.url))
            .json(alert);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(String::from))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(SendAlertError::Refused {
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_slice(&body).map_err(|e| SendAlertError::Unreachable {
            url: self.url.clone(),
            reason: format!("the answer is not the expected JSON: {e}"),
        })
    }

    /// Resolves the open alert of `title` and `labels` (outcome `not_open` when none is).
    pub async fn resolve(
        &self,
        title: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<RaiseAlertAnswer, SendAlertError> {
        self.raise(&RaiseAlertBody {
            title: title.to_string(),
            labels: labels.clone(),
            status: Some("resolved".to_string()),
            ..RaiseAlertBody::default()
        })
        .await
    }
}
