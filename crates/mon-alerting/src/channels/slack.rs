//! The `slack` channel: an incoming webhook with a Block Kit message whose
//! attachment colour follows the severity, and the sender identity (`channel`,
//! `username`, `icon_emoji`) legacy webhooks honour. Slack answers 200 `ok`; 429 with
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
///   channel: "#alerts"            # legacy incoming webhooks only
///   username: LiveKit Monitor
///   icon_emoji: ":warning:"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackChannelConfig {
    /// The incoming webhook URL (it is a credential: kept secret).
    pub webhook_url: Secret,
    /// The channel to post in (`#alerts`, `@someone` or a channel ID), sent as `channel`.
    /// Legacy incoming webhooks honour it; a Slack app's webhook posts to the channel it
    /// was created for and ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The sender name shown on the message, sent as `username` (legacy webhooks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The sender icon, an emoji code such as `:warning:`, sent as `icon_emoji` (legacy
    /// webhooks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<String>,
}

impl SlackChannelConfig {
    /// The first of `channel`, `username`, `icon_emoji` that Slack would not take.
    fn check_identity(&self) -> Result<(), String> {
        for (field, value) in [
            ("channel", &self.channel),
            ("username", &self.username),
            ("icon_emoji", &self.icon_emoji),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(format!("{field}: must not be empty (leave it out instead)"));
            }
        }
        if let Some(emoji) = &self.icon_emoji {
            let name = emoji
                .strip_prefix(':')
                .and_then(|e| e.strip_suffix(':'))
                .unwrap_or_default();
            if name.is_empty() || name.contains(char::is_whitespace) || name.contains(':') {
                return Err(format!(
                    "icon_emoji: {emoji:?} is not an emoji code like \":warning:\""
                ));
            }
        }
        Ok(())
    }

    /// Adds `channel`, `username` and `icon_emoji`, where configured, to a message.
    fn add_identity(&self, message: &mut Value) {
        for (field, value) in [
            ("channel", &self.channel),
            ("username", &self.username),
            ("icon_emoji", &self.icon_emoji),
        ] {
            if let Some(value) = value {
                message[field] = json!(value);
            }
        }
    }
}

impl ChannelKind for SlackChannelConfig {
    fn notifier(&self, spec: &ChannelSpec<'_>, links: &Links) -> Result<Arc<dyn Notifier>, String> {
        let invalid = |message: String| message.replace("url", "webhook_url");
        http::check_url(self.webhook_url.expose()).map_err(invalid)?;
        self.check_identity()?;
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
        let mut body = message(notification, &self.links);
        self.config.add_identity(&mut body);
        let body = body.to_string().into_bytes();
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
