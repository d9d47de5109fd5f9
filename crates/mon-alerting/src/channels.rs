//! Notification channels: [`Channel`] (a notifier plus what it receives) and
//! [`ChannelConfig`], the registry of channel kinds the configuration can name.
//!
//! A new kind is one module under `channels/` (its config struct, its notifier,
//! its tests) plus one variant in [`ChannelConfig`] and one arm in its `build`.

pub mod alertmanager;
pub mod email;
mod http;
pub mod log;
pub mod pagerduty;
pub mod slack;
pub mod webhook;

use crate::AlertingError;
use mon_core::{Notifier, Severity, Transition};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How long one send may take before it counts as failed, unless the channel says otherwise.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Where mon itself is reached (`server.external_url`), for the links channels put
/// in their messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    external_url: String,
}

impl Links {
    /// Links under `external_url` (a trailing `/` is dropped).
    pub fn new(external_url: &str) -> Links {
        Links {
            external_url: external_url.trim_end_matches('/').to_string(),
        }
    }

    /// mon's external URL, without a trailing `/`.
    pub fn external_url(&self) -> &str {
        &self.external_url
    }

    /// The web UI's alert list.
    pub fn alerts(&self) -> String {
        format!("{}/#/alerts", self.external_url)
    }
}

impl Default for Links {
    /// The default listen address, `http://127.0.0.1:8480`.
    fn default() -> Self {
        Links::new("http://127.0.0.1:8480")
    }
}

/// A notifier and the notifications it receives.
#[derive(Clone)]
pub struct Channel {
    /// Delivers the notifications.
    pub notifier: Arc<dyn Notifier>,
    /// The kind, as written in the configuration's `type` (`custom` for notifiers from code).
    pub kind: String,
    /// Only alerts of these severities; `None`: all.
    pub severities: Option<Vec<Severity>>,
    /// Whether it also hears when alerts resolve.
    pub send_resolved: bool,
    /// How long one send may take; a send that takes longer is abandoned and counted as a timeout.
    pub timeout: Duration,
    /// For receivers that forget alerts they do not hear again (Alertmanager): every
    /// open alert it was told about is sent again, in one [`Transition::Reminder`]
    /// notification, at least this often. `None`: only transitions are sent.
    pub resend_interval: Option<Duration>,
}

impl Channel {
    /// A channel receiving every alert, resolutions included, with the default timeout.
    pub fn new(notifier: Arc<dyn Notifier>) -> Channel {
        Channel {
            notifier,
            kind: "custom".to_string(),
            severities: None,
            send_resolved: true,
            timeout: DEFAULT_SEND_TIMEOUT,
            resend_interval: None,
        }
    }

    /// The notifier's name.
    pub fn name(&self) -> &str {
        self.notifier.name()
    }

    /// Whether a notification of `transition` for an alert of `severity` goes to this channel.
    pub fn accepts(&self, severity: Severity, transition: Transition) -> bool {
        let severity_ok = self
            .severities
            .as_ref()
            .is_none_or(|list| list.contains(&severity));
        severity_ok && (transition != Transition::Resolved || self.send_resolved)
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name())
            .field("kind", &self.kind)
            .field("severities", &self.severities)
            .field("send_resolved", &self.send_resolved)
            .field("timeout", &self.timeout)
            .field("resend_interval", &self.resend_interval)
            .finish()
    }
}

/// One entry of `alerting.channels`; `type` says which kind.
///
/// ```yaml
/// channels:
///   - name: log
///     type: log
///     severities: [error, critical]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelConfig {
    /// Writes alerts to mon's own log ([`log::LogNotifier`]).
    Log(log::LogChannelConfig),
    /// POSTs JSON to a URL ([`webhook::WebhookNotifier`]).
    Webhook(webhook::WebhookChannelConfig),
    /// Posts Block Kit messages to a Slack incoming webhook ([`slack::SlackNotifier`]).
    Slack(slack::SlackChannelConfig),
    /// Sends PagerDuty Events API v2 events ([`pagerduty::PagerDutyNotifier`]).
    Pagerduty(pagerduty::PagerDutyChannelConfig),
    /// Forwards alerts to Alertmanager ([`alertmanager::AlertmanagerNotifier`]).
    Alertmanager(alertmanager::AlertmanagerChannelConfig),
    /// Mails alerts over SMTP ([`email::EmailNotifier`]).
    Email(email::EmailChannelConfig),
}

impl ChannelConfig {
    /// The channel's configured name.
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Log(c) => &c.name,
            ChannelConfig::Webhook(c) => &c.name,
            ChannelConfig::Slack(c) => &c.name,
            ChannelConfig::Pagerduty(c) => &c.name,
            ChannelConfig::Alertmanager(c) => &c.name,
            ChannelConfig::Email(c) => &c.name,
        }
    }

    /// The kind, as written in `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Log(_) => "log",
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Pagerduty(_) => "pagerduty",
            ChannelConfig::Alertmanager(_) => "alertmanager",
            ChannelConfig::Email(_) => "email",
        }
    }

    /// Builds the channel; `links` are put in its messages.
    pub fn build(&self, links: &Links) -> Result<Channel, AlertingError> {
        if self.name().trim().is_empty() {
            return Err(AlertingError::InvalidChannel {
                channel: String::new(),
                message: format!("a channel of type {} has no name; give it one", self.kind()),
            });
        }
        match self {
            ChannelConfig::Log(c) => Ok(c.build()),
            ChannelConfig::Webhook(c) => c.build(links),
            ChannelConfig::Slack(c) => c.build(links),
            ChannelConfig::Pagerduty(c) => c.build(links),
            ChannelConfig::Alertmanager(c) => c.build(links),
            ChannelConfig::Email(c) => c.build(links),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_severity_and_resolved() {
        let notifier: Arc<dyn Notifier> = Arc::new(log::LogNotifier::new("log"));
        let all = Channel::new(notifier.clone());
        let critical_only = Channel {
            severities: Some(vec![Severity::Critical]),
            send_resolved: false,
            ..Channel::new(notifier)
        };
        for (channel, severity, transition, want) in [
            (&all, Severity::Info, Transition::Firing, true),
            (&all, Severity::Critical, Transition::Resolved, true),
            (&critical_only, Severity::Critical, Transition::Firing, true),
            (&critical_only, Severity::Error, Transition::Firing, false),
            (
                &critical_only,
                Severity::Critical,
                Transition::Resolved,
                false,
            ),
        ] {
            assert_eq!(
                channel.accepts(severity, transition),
                want,
                "{channel:?} {severity} {transition:?}"
            );
        }
    }

    #[test]
    fn config_is_tagged_by_type() {
        let config: ChannelConfig =
            serde_yaml_ng::from_str("name: ops_log\ntype: log\nseverities: [error, critical]\n")
                .unwrap();
        assert_eq!((config.name(), config.kind()), ("ops_log", "log"));
        let channel = config.build(&Links::default()).unwrap();
        assert_eq!(channel.name(), "ops_log");
        assert_eq!(
            channel.severities,
            Some(vec![Severity::Error, Severity::Critical])
        );
        assert!(channel.send_resolved);

        for (yaml, want) in [
            (
                "name: x\ntype: carrier_pigeon\n",
                "unknown variant `carrier_pigeon`",
            ),
            ("name: x\n", "missing field `type`"),
            (
                "name: x\ntype: log\nurl: http://127.0.0.1:1/\n",
                "unknown field `url`",
            ),
        ] {
            let err = serde_yaml_ng::from_str::<ChannelConfig>(yaml)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
        let unnamed: ChannelConfig = serde_yaml_ng::from_str("name: ''\ntype: log\n").unwrap();
        assert!(
            unnamed
                .build(&Links::default())
                .unwrap_err()
                .to_string()
                .contains("a channel of type log has no name")
        );
    }
}
