//! The `alertmanager` channel: forwards alerts to a Prometheus Alertmanager (or an
//! HA cluster of them) with `POST /api/v2/alerts`. Firing alerts are sent without
//! `endsAt` (Alertmanager resolves them after its `resolve_timeout` unless they are
//! sent again: give the rule a `repeat_interval` shorter than that); resolved ones
//! with `endsAt`. Acknowledgements have no Alertmanager equivalent and are skipped.

use super::http;
use super::{Channel, DEFAULT_SEND_TIMEOUT};
use crate::AlertingError;
use async_trait::async_trait;
use mon_core::{Alert, AlertState, Notification, Notifier, NotifyError, Severity, Transition};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// `type: alertmanager`.
///
/// ```yaml
/// - name: am
///   type: alertmanager
///   urls: [http://alertmanager-1:9093, http://alertmanager-2:9093]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerChannelConfig {
    /// Unique channel name.
    pub name: String,
    /// Base URL of each Alertmanager; every one receives every alert (as Prometheus does).
    pub urls: Vec<String>,
    /// Only alerts of these severities; absent: all.
    #[serde(default)]
    pub severities: Option<Vec<Severity>>,
    /// How long one request may take.
    #[serde(default = "default_timeout", with = "mon_core::duration")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    DEFAULT_SEND_TIMEOUT
}

impl AlertmanagerChannelConfig {
    /// Builds the channel.
    pub fn build(&self) -> Result<Channel, AlertingError> {
        let invalid = |message: String| AlertingError::InvalidChannel {
            channel: self.name.clone(),
            message,
        };
        if self.urls.is_empty() {
            return Err(invalid(
                "urls is empty; list at least one Alertmanager".to_string(),
            ));
        }
        for url in &self.urls {
            http::check_url(url).map_err(invalid)?;
        }
        let client = http::client(self.timeout).map_err(invalid)?;
        Ok(Channel {
            kind: "alertmanager".to_string(),
            severities: self.severities.clone(),
            // Alertmanager must hear resolutions, or it keeps alerts until resolve_timeout.
            send_resolved: true,
            timeout: self.timeout,
            ..Channel::new(Arc::new(AlertmanagerNotifier {
                config: self.clone(),
                client,
            }))
        })
    }
}

/// Posts alerts to Alertmanager.
#[derive(Debug, Clone)]
pub struct AlertmanagerNotifier {
    config: AlertmanagerChannelConfig,
    client: reqwest::Client,
}

/// One alert as `POST /api/v2/alerts` takes it (`postableAlert`).
pub fn postable(alert: &Alert) -> Value {
    let mut labels = alert.labels.clone();
    labels.insert("alertname".to_string(), alert.rule.clone());
    labels.insert("severity".to_string(), alert.severity.to_string());
    let mut out = json!({
        "labels": labels,
        "annotations": alert.annotations,
        "startsAt": alert.started_at.to_rfc3339(),
    });
    if alert.state == AlertState::Resolved {
        let ends = alert.resolved_at.unwrap_or(alert.updated_at);
        out["endsAt"] = json!(ends.to_rfc3339());
    }
    out
}

#[async_trait]
impl Notifier for AlertmanagerNotifier {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        if notification.transition == Transition::Acknowledged {
            return Ok(());
        }
        let body: Vec<Value> = notification.alerts.iter().map(postable).collect();
        let body = Value::Array(body).to_string();
        // Every member must hear it; the first failure is reported and the whole
        // notification retried (Alertmanager deduplicates what it already has).
        for url in &self.config.urls {
            let endpoint = format!("{}/api/v2/alerts", url.trim_end_matches('/'));
            let answer =
                http::post(&self.client, &endpoint, &[], body.clone().into_bytes()).await?;
            http::classify("Alertmanager", &answer)?;
        }
        Ok(())
    }
}
