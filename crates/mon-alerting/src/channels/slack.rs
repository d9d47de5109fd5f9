//! The `slack` channel: an incoming webhook with a Block Kit message whose
//! attachment colour follows the severity. Slack answers 200 `ok`; 429 with
//! `Retry-After` (honoured by the outbox); 400/403/404/410 with a plain-text
//! reason (`invalid_payload`, `no_service`...), never retried.

use super::http;
use super::{ChannelKind, Links};
use async_trait::async_trait;
use mon_core::{ChannelSpec, Notification, Notifier, NotifyError, Secret, Severity, Transition};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// The most characters Slack accepts in one section block's text.
pub const SECTION_LIMIT: usize = 3000;

/// `type: slack`.
///
/// ```yaml
/// - name: ops_slack
///   type: slack
///   webhook_url: ${SLACK_WEBHOOK_URL}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackChannelConfig {
    /// The incoming webhook URL (it is a credential: kept secret).
    pub webhook_url: Secret,
}

impl ChannelKind for SlackChannelConfig {
    fn notifier(&self, spec: &ChannelSpec<'_>, links: &Links) -> Result<Arc<dyn Notifier>, String> {
        let invalid = |message: String| message.replace("url", "webhook_url");
        http::check_url(self.webhook_url.expose()).map_err(invalid)?;
        Ok(Arc::new(SlackNotifier {
            name: spec.name.to_string(),
            config: self.clone(),
            links: links.clone(),
            client: http::client(spec.timeout).map_err(invalid)?,
        }))
    }
}

/// Posts notifications to Slack.
#[derive(Debug, Clone)]
pub struct SlackNotifier {
    name: String,
    config: SlackChannelConfig,
    links: Links,
    client: reqwest::Client,
}

/// The attachment colour of a severity (resolved alerts are green).
pub fn colour(severity: Severity, transition: Transition) -> &'static str {
    match (transition, severity) {
        (Transition::Resolved, _) => "#2eb886",
        (_, Severity::Critical) => "#a30200",
        (_, Severity::Error) => "#e01e5a",
        (_, Severity::Warning) => "#ecb22e",
        (_, Severity::Info) => "#1d9bd1",
    }
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The Block Kit message for `notification`, linking to mon under `links`.
pub fn message(notification: &Notification, links: &Links) -> Value {
    let transition = notification.transition;
    let attachments: Vec<Value> = notification
        .alerts
        .iter()
        .map(|alert| {
            let title = format!("[{}] {}", transition.as_str().to_uppercase(), alert.rule);
            let summary = alert
                .annotations
                .get("summary")
                .or_else(|| alert.annotations.get("description"))
                .cloned()
                .unwrap_or_else(|| alert.rule.clone());
            let mut details = summary;
            if let Some(description) = alert.annotations.get("description")
                && !details.contains(description.as_str())
            {
                details.push('\n');
                details.push_str(description);
            }
            let labels: Vec<String> = alert.labels.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
            let mut fields = vec![
                json!({ "type": "mrkdwn", "text": format!("*Severity*\n{}", alert.severity) }),
                json!({ "type": "mrkdwn", "text": format!("*State*\n{}", alert.state) }),
            ];
            if let Some(value) = alert.value {
                fields.push(json!({ "type": "mrkdwn", "text": format!("*Value*\n{value}") }));
            }
            if !labels.is_empty() {
                fields.push(json!({ "type": "mrkdwn", "text": clip(&format!("*Labels*\n{}", labels.join(" ")), 2000) }));
            }
            let mut blocks = vec![
                json!({ "type": "header", "text": { "type": "plain_text", "text": clip(&title, 150) } }),
                json!({ "type": "section", "text": { "type": "mrkdwn", "text": clip(&details, SECTION_LIMIT) } }),
                json!({ "type": "section", "fields": fields }),
            ];
            if let Some(url) = alert.annotations.get("runbook_url") {
                blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": clip(&format!("Runbook: <{url}>"), SECTION_LIMIT) } }));
            }
            blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("<{}|mon> · started {} · {}", links.alerts(), alert.started_at.format("%Y-%m-%d %H:%M:%S UTC"), alert.fingerprint) }] }));
            json!({ "color": colour(alert.severity, transition), "blocks": blocks })
        })
        .collect();
    let fallback = notification
        .alerts
        .first()
        .map(|a| {
            format!(
                "[{}] {} ({})",
                transition.as_str().to_uppercase(),
                a.rule,
                a.severity
            )
        })
        .unwrap_or_default();
    json!({ "text": fallback, "attachments": attachments })
}

#[async_trait]
impl Notifier for SlackNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let body = message(notification, &self.links).to_string().into_bytes();
        let headers = [(
            super::webhook::IDEMPOTENCY_HEADER.to_string(),
            notification.idempotency_key.clone(),
        )];
        let answer = http::post(
            &self.client,
            self.config.webhook_url.expose(),
            &headers,
            body,
        )
        .await?;
        http::classify("Slack", &answer)
    }
}
