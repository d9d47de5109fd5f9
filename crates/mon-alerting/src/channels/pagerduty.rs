//! The `pagerduty` channel: Events API v2. `POST /v2/enqueue` with
//! `routing_key`, `event_action` (trigger, acknowledge, resolve), a `dedup_key`
//! per alert instance, and `payload{summary, source, severity}` on triggers.
//! PagerDuty answers 202 when it accepted the event; only 429 and 5xx are retried.

use super::http;
use super::{ChannelKind, Links};
use async_trait::async_trait;
use mon_core::{Alert, ChannelSpec, Notification, Notifier, NotifyError, Secret, Transition};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

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
    /// The integration's routing key.
    pub routing_key: Secret,
    /// The Events API base URL (`/v2/enqueue` is appended).
    #[serde(default = "default_url")]
    pub url: String,
    /// The `source` of events (default: the host name or `mon`).
    #[serde(default)]
    pub source: Option<String>,
}

fn default_url() -> String {
    DEFAULT_EVENTS_URL.to_string()
}

/// Events link to mon under `links` (`client_url`, `links`).
impl ChannelKind for PagerDutyChannelConfig {
    fn notifier(&self, spec: &ChannelSpec<'_>, links: &Links) -> Result<Arc<dyn Notifier>, String> {
        http::check_url(&self.url)?;
        if self.routing_key.expose().trim().is_empty() {
            return Err("routing_key is empty".to_string());
        }
        Ok(Arc::new(PagerDutyNotifier {
            name: spec.name.to_string(),
            endpoint: format!("{}/v2/enqueue", self.url.trim_end_matches('/')),
            config: self.clone(),
            links: links.clone(),
            client: http::client(spec.timeout)?,
        }))
    }
}

/// Sends events to PagerDuty.
#[derive(Debug, Clone)]
pub struct PagerDutyNotifier {
    name: String,
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
        Transition::Firing | Transition::Reminder | Transition::Test | Transition::Report => {
            "trigger"
        }
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
        &self.name
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
