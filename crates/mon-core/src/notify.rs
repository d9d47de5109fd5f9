//! Notifications: what a channel receives ([`Notification`]), the [`Notifier`]
//! trait channels implement, and [`NotifyError`], which says whether to retry.

use crate::Alert;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Why a notification is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    /// The alert started firing.
    Firing,
    /// The alert is still firing and `repeat_interval` passed.
    Reminder,
    /// Someone acknowledged the alert.
    Acknowledged,
    /// The alert resolved.
    Resolved,
    /// A test send from the API or CLI.
    Test,
    /// A message written in full by mon (a stakeholder report), not about an alert.
    Report,
}

impl Transition {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Firing => "firing",
            Transition::Reminder => "reminder",
            Transition::Acknowledged => "acknowledged",
            Transition::Resolved => "resolved",
            Transition::Test => "test",
            Transition::Report => "report",
        }
    }
}

/// What a channel receives: the alert(s) of one transition and a key that the
/// receiver can use to drop duplicates (sent as a header or a dedup key).
///
/// Built with [`Notification::new`]; new fields may be added, so it cannot be
/// built as a struct literal outside this crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Notification {
    /// The alerts this notification is about (one, or a group routed together).
    pub alerts: Vec<Alert>,
    /// Why it is sent.
    pub transition: Transition,
    /// The same for every retry of the same delivery, different for every delivery.
    pub idempotency_key: String,
    /// The message itself, for a [`Transition::Report`]: channels that can send it
    /// (e-mail) send it as it is, instead of writing one about `alerts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// A message written in full by its sender: a subject, a plain-text body and the same
/// in HTML (a stakeholder report with its charts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (self-contained: inline styles and SVG, no external reference).
    pub html: String,
}

impl Message {
    /// A message of `subject`, `text` and `html`.
    pub fn new(
        subject: impl Into<String>,
        text: impl Into<String>,
        html: impl Into<String>,
    ) -> Message {
        Message {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        }
    }
}

impl Notification {
    /// A notification of `transition` about `alerts`, carrying `idempotency_key`.
    pub fn new(
        transition: Transition,
        alerts: Vec<Alert>,
        idempotency_key: impl Into<String>,
    ) -> Notification {
        Notification {
            alerts,
            transition,
            idempotency_key: idempotency_key.into(),
            message: None,
        }
    }

    /// A [`Transition::Report`] notification carrying `message`, about no alert.
    pub fn message(message: Message, idempotency_key: impl Into<String>) -> Notification {
        Notification {
            message: Some(message),
            ..Notification::new(Transition::Report, Vec::new(), idempotency_key)
        }
    }
}

/// How a send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotifyErrorKind {
    /// The receiver could not be reached, timed out or answered 5xx: try again.
    Transient,
    /// The receiver asked us to slow down (429): try again after `retry_after`.
    RateLimited,
    /// The receiver refused the message (bad URL, revoked token, 4xx): retrying cannot help.
    Rejected,
    /// The channel is misconfigured: retrying cannot help.
    Config,
}

/// A failed send. The message must never contain secrets (tokens, passwords,
/// webhook URLs with keys in them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NotifyError {
    /// How it failed; decides whether to retry.
    pub kind: NotifyErrorKind,
    /// What happened, for people.
    pub message: String,
    /// How long the receiver asked us to wait, when it said.
    pub retry_after: Option<Duration>,
}

impl NotifyError {
    /// A failure that a retry may fix.
    pub fn transient(message: impl Into<String>) -> Self {
        NotifyError {
            kind: NotifyErrorKind::Transient,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The receiver asked to slow down.
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        NotifyError {
            kind: NotifyErrorKind::RateLimited,
            message: message.into(),
            retry_after,
        }
    }

    /// The receiver refused the message for good.
    pub fn rejected(message: impl Into<String>) -> Self {
        NotifyError {
            kind: NotifyErrorKind::Rejected,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The channel's configuration is wrong.
    pub fn config(message: impl Into<String>) -> Self {
        NotifyError {
            kind: NotifyErrorKind::Config,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Whether sending again later can succeed.
    pub fn retryable(&self) -> bool {
        matches!(
            self.kind,
            NotifyErrorKind::Transient | NotifyErrorKind::RateLimited
        )
    }
}

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(after) = self.retry_after {
            write!(f, " (retry after {})", crate::duration::format(after))?;
        }
        Ok(())
    }
}

/// A notification channel: log, webhook, Slack, email... or your own.
///
/// A new channel lives in its own crate that depends on `mon-core` only; see
/// `examples/custom-notifier`. `send` should finish within a bounded time and
/// classify failures with the [`NotifyError`] constructors.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// The channel's configured name.
    fn name(&self) -> &str;
    /// Delivers one notification.
    async fn send(&self, notification: &Notification) -> Result<(), NotifyError>;
    /// For receivers that forget alerts they do not hear again (Alertmanager): how
    /// often every open alert is sent again, in one [`Transition::Reminder`]
    /// notification. Such a receiver always hears resolutions. `None` (the
    /// default): only transitions are sent.
    fn resend_interval(&self) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_by_kind() {
        assert!(NotifyError::transient("down").retryable());
        assert!(NotifyError::rate_limited("slow down", Some(Duration::from_secs(3))).retryable());
        assert!(!NotifyError::rejected("410 gone").retryable());
        assert!(!NotifyError::config("no url").retryable());
        assert_eq!(
            NotifyError::rate_limited("429", Some(Duration::from_secs(3))).to_string(),
            "429 (retry after 3s)"
        );
    }

    #[test]
    fn notification_round_trips_through_json() {
        let n = Notification::new(Transition::Resolved, vec![], "k1");
        let json = serde_json::to_string(&n).unwrap();
        assert!(json.contains("\"transition\":\"resolved\""));
        assert_eq!(serde_json::from_str::<Notification>(&json).unwrap(), n);
    }
}
