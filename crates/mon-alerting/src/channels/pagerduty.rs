//! The `pagerduty` channel: Events API v2. `POST /v2/enqueue` with
//! `routing_key`, `event_action` (trigger, acknowledge, resolve), a `dedup_key`
//! per alert instance, and `payload{summary, source, severity}` on triggers.
//! PagerDuty answers 202 when it accepted the event; only 429 and 5xx are retried.

use super::http;
use super::{Channel, DEFAULT_SEND_TIMEOUT, Links};
use crate::AlertingError;
use async_trait::async_trait;
use mon_core::{Alert, Notification, Notifier, NotifyError, Secret, Severity, Transition};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// PagerDuty's Events API.
pub const DEFAULT_EVENTS_URL: &str = "https://events.pagerduty.com";

/// `type: pagerduty`.
///
/// ```yaml
/// - name: oncall
///   type: pagerduty
///   routing_key: ${PAGERDUTY_ROUTING_KEY}
///   severities: [critical]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyChannelConfig {
    /// Unique channel name.
    pub name: String,
    /// The integration's routing key.
    pub routing_key: Secret,
    /// The Events API base URL (`/v2/enqueue` is appended).
    #[serde(default = "default_url")]
    pub url: String,
    /// The `source` of events (default: the host name or `mon`).
    #[serde(default)]
    pub source: Option<String>,
    /// Only alerts of these severities; absent: all.
    #[serde(default)]
    pub severities: Option<Vec<Severity>>,
    /// Whether resolutions resolve the incident.
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// How long one request may take.
    #[serde(default = "default_timeout", with = "mon_core::duration")]
    pub timeout: Duration,
}

fn default_url() -> String {
    DEFAULT_EVENTS_URL.to_string()
}

fn default_true() -> bool {
    true
}

fn default_timeout() -> Duration {
    DEFAULT_SEND_TIMEOUT
}

impl PagerDutyChannelConfig {
    /// Builds the channel; events link to mon under `links` (`client_url`, `links`).
    pub fn build(&self, links: &Links) -> Result<Channel, AlertingError> {
        let invalid = |message: String| AlertingError::InvalidChannel {
            channel: self.name.clone(),
            message,
        };
        http::check_url(&self.url).map_err(invalid)?;
        if self.routing_key.expose().trim().is_empty() {
            return Err(invalid("routing_key is empty".to_string()));
        }
        let client = http::client(self.timeout).map_err(invalid)?;
        Ok(Channel {
            kind: "pagerduty".to_string(),
            severities: self.severities.clone(),
            send_resolved: self.send_resolved,
            timeout: self.timeout,
            ..Channel::new(Arc::new(PagerDutyNotifier {
                endpoint: format!("{}/v2/enqueue", self.url.trim_end_matches('/')),
                config: self.clone(),
                links: links.clone(),
                client,
            }))
        })
    }
}

/// Sends events to PagerDuty.
#[derive(Debug, Clone)]
pub struct PagerDutyNotifier {
    config: PagerDutyChannelConfig,
    links: Links,
    endpoint: String,
    client: reqwest::Client,
}

/// The incident key of an alert instance: the same for its trigger, acknowledge and resolve.
pub fn dedup_key(alert: &Alert) -> String {
    format!(
        "mon-{}-{}",
        alert.fingerprint,
        alert.started_at.timestamp_millis()
    )
}

/// The event for one alert; a trigger names mon as its client and links to it under `links`.
pub fn event(
    routing_key: &str,
    source: &str,
    links: &Links,
    transition: Transition,
    alert: &Alert,
) -> Value {
    let action = match transition {
        Transition::Acknowledged => "acknowledge",
        Transition::Resolved => "resolve",
        Transition::Firing | Transition::Reminder | Transition::Test => "trigger",
    };
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(alert),
    });
    if action == "trigger" {
        let summary = alert
            .annotations
            .get("summary")
            .map_or_else(|| alert.rule.clone(), |s| format!("{}: {s}", alert.rule));
        event["payload"] = json!({
            "summary": summary.chars().take(1024).collect::<String>(),
            "source": source,
            "severity": alert.severity.as_str(),
            "timestamp": alert.started_at.to_rfc3339(),
            "component": alert.labels.get("check").or_else(|| alert.labels.get("service")),
            "custom_details": {
                "labels": alert.labels,
                "annotations": alert.annotations,
                "value": alert.value,
            },
        });
        event["client"] = json!("mon");
        event["client_url"] = json!(links.alerts());
        event["links"] = json!([{ "href": links.alerts(), "text": "Alert in mon" }]);
    }
    event
}

#[async_trait]
impl Notifier for PagerDutyNotifier {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let source = self.config.source.as_deref().unwrap_or("mon");
        for alert in &notification.alerts {
            let body = event(
                self.config.routing_key.expose(),
                source,
                &self.links,
                notification.transition,
                alert,
            );
            let answer = http::post(
                &self.client,
                &self.endpoint,
                &[],
                body.to_string().into_bytes(),
            )
            .await?;
            match answer.status {
                202 | 200 => {}
                429 => {
                    return Err(NotifyError::rate_limited(
                        format!("PagerDuty answered 429: {}", answer.body.trim()),
                        answer.retry_after,
                    ));
                }
                500..=599 => {
                    return Err(NotifyError::transient(format!(
                        "PagerDuty answered {}: {}",
                        answer.status,
                        answer.body.trim()
                    )));
                }
                _ => {
                    return Err(NotifyError::rejected(format!(
                        "PagerDuty answered {}: {}",
                        answer.status,
                        answer.body.trim()
                    )));
                }
            }
        }
        Ok(())
    }
}
