//! Notification channels: [`Channel`] (a notifier plus what it receives),
//! [`ChannelConfig`] (one entry of `alerting.channels`: the fields every channel
//! has, the kind's own fields flattened in) and the built-in channel kinds,
//! registered by name in a [`Kinds`] registry ([`channel_kinds`]).
//!
//! A new built-in kind is one module under `channels/` (its config struct
//! implementing `ChannelKind`, its notifier, its tests) plus one line in
//! `register`. A kind from another crate registers a
//! [`ChannelFactory`] in the [`Kinds`] given to
//! [`AlertingConfig::build_with`](crate::AlertingConfig::build_with).

pub mod alertmanager;
pub mod email;
mod http;
pub mod log;
pub mod pagerduty;
pub mod slack;
pub mod webhook;

use crate::AlertingError;
use mon_core::{ChannelFactory, ChannelSpec, KindSpec, Kinds, Notifier, Severity, Transition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How long one send may take before it counts as failed, unless the channel says otherwise.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What channels tell of this instance: where it is reached (`server.external_url`),
/// for the links they put in their messages, and its `server.external_labels`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    external_url: String,
    external_labels: BTreeMap<String, String>,
}

impl Links {
    /// Links under `external_url` (a trailing `/` is dropped), no external labels.
    pub fn new(external_url: &str) -> Links {
        Links {
            external_url: external_url.trim_end_matches('/').to_string(),
            external_labels: BTreeMap::new(),
        }
    }

    /// With `server.external_labels`.
    #[must_use]
    pub fn with_external_labels(mut self, labels: BTreeMap<String, String>) -> Links {
        self.external_labels = labels;
        self
    }

    /// `server.external_labels`: added to the labels of the alerts sent to
    /// Alertmanager (an alert's own label of the same name wins, as in Prometheus).
    pub fn external_labels(&self) -> &BTreeMap<String, String> {
        &self.external_labels
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
    /// notification, at least this often ([`Notifier::resend_interval`]). `None`:
    /// only transitions are sent.
    pub resend_interval: Option<Duration>,
}

impl Channel {
    /// A channel receiving every alert, resolutions included, with the default timeout.
    pub fn new(notifier: Arc<dyn Notifier>) -> Channel {
        Channel {
            kind: "custom".to_string(),
            severities: None,
            send_resolved: true,
            timeout: DEFAULT_SEND_TIMEOUT,
            resend_interval: notifier.resend_interval(),
            notifier,
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

/// One entry of `alerting.channels`: the fields every channel has, and its kind
/// (`type`) with the kind's own fields, read by the kind's factory.
///
/// ```yaml
/// channels:
///   - name: log
///     type: log
///     severities: [error, critical]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelConfig {
    /// Unique channel name (used by routes, in the API and in mon's metrics).
    pub name: String,
    /// Only alerts of these severities; absent: all.
    #[serde(default)]
    pub severities: Option<Vec<Severity>>,
    /// Whether resolutions are sent too (default `true`; a channel that is reminded of
    /// open alerts, such as `alertmanager`, always hears them).
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// How long one send may take (default `10s`); a longer one counts as a timeout.
    #[serde(default = "default_timeout", with = "mon_core::duration")]
    pub timeout: Duration,
    /// The kind (`type: webhook`...) and its own fields.
    #[serde(flatten)]
    pub kind: KindSpec,
}

fn default_true() -> bool {
    true
}

fn default_timeout() -> Duration {
    DEFAULT_SEND_TIMEOUT
}

impl ChannelConfig {
    /// A channel named `name` of the kind `kind`, receiving every alert, with the default timeout.
    pub fn new(name: impl Into<String>, kind: KindSpec) -> ChannelConfig {
        ChannelConfig {
            name: name.into(),
            severities: None,
            send_resolved: true,
            timeout: DEFAULT_SEND_TIMEOUT,
            kind,
        }
    }

    /// A `log` channel named `name` receiving everything.
    pub fn log(name: impl Into<String>) -> ChannelConfig {
        ChannelConfig::new(name, KindSpec::new("log", serde_json::Value::Null))
    }

    /// The channel's configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind, as written in `type`.
    pub fn kind(&self) -> &str {
        &self.kind.name
    }

    /// Builds the channel with its kind's factory in `kinds`; `links` are put in its messages.
    pub fn build(&self, kinds: &Kinds, links: &Links) -> Result<Channel, AlertingError> {
        if self.name.trim().is_empty() {
            return Err(AlertingError::InvalidChannel {
                channel: String::new(),
                message: format!("a channel of type {} has no name; give it one", self.kind()),
            });
        }
        let notifier = kinds
            .build_channel(
                &self.kind,
                &self.name,
                self.timeout,
                links.external_url(),
                links.external_labels(),
            )
            .map_err(|e| match e.path {
                Some(field) => AlertingError::InvalidChannelField {
                    channel: self.name.clone(),
                    field,
                    message: e.message,
                },
                None => AlertingError::InvalidChannel {
                    channel: self.name.clone(),
                    message: e.message,
                },
            })?;
        let resend_interval = notifier.resend_interval();
        if resend_interval.is_some() && !self.send_resolved {
            return Err(AlertingError::InvalidChannelField {
                channel: self.name.clone(),
                field: "send_resolved".to_string(),
                message: format!(
                    "a channel of type {} is reminded of open alerts and must hear resolutions; remove send_resolved",
                    self.kind()
                ),
            });
        }
        Ok(Channel {
            notifier,
            kind: self.kind.name.clone(),
            severities: self.severities.clone(),
            send_resolved: self.send_resolved,
            timeout: self.timeout,
            resend_interval,
        })
    }
}

/// Implemented by the config struct of every built-in channel kind: the kind's own
/// fields (`#[serde(deny_unknown_fields)]`), turned into its notifier.
pub(crate) trait ChannelKind: DeserializeOwned + 'static {
    /// The notifier of the channel `spec.name`, linking to mon at `links`.
    fn notifier(&self, spec: &ChannelSpec<'_>, links: &Links) -> Result<Arc<dyn Notifier>, String>;
}

/// The factory of a built-in kind: its fields read, then its notifier built.
fn factory<T: ChannelKind>() -> ChannelFactory {
    Arc::new(|spec| {
        let config: T = spec.parse()?;
        config
            .notifier(
                spec,
                &Links::new(spec.external_url).with_external_labels(spec.external_labels.clone()),
            )
            .map_err(mon_core::KindError::new)
    })
}

/// The built-in channel kinds, registered in `kinds` under the name written after
/// `type:`. This list is the one place a built-in kind is named.
pub(crate) fn register(kinds: &mut Kinds) {
    kind::<log::LogChannelConfig>(kinds, "log");
    kind::<webhook::WebhookChannelConfig>(kinds, "webhook");
    kind::<slack::SlackChannelConfig>(kinds, "slack");
    kind::<pagerduty::PagerDutyChannelConfig>(kinds, "pagerduty");
    kind::<alertmanager::AlertmanagerChannelConfig>(kinds, "alertmanager");
    kind::<email::EmailChannelConfig>(kinds, "email");
}

/// Registers the built-in kind `name` whose fields are `T` (so they are shown as `T`
/// serializes them: secrets `***`).
fn kind<T: ChannelKind + Serialize>(kinds: &mut Kinds, name: &str) {
    kinds.channel_kind_of::<T>(name, factory::<T>());
}

/// The built-in channel kinds alone.
pub fn channel_kinds() -> Kinds {
    let mut kinds = Kinds::new();
    register(&mut kinds);
    kinds
}

/// The error of building the channel written in `yaml` with the built-in kinds
/// (serde's or the kind's).
#[cfg(test)]
pub(crate) fn config_error(yaml: &str) -> String {
    match serde_yaml_ng::from_str::<ChannelConfig>(yaml) {
        Err(e) => e.to_string(),
        Ok(config) => match config.build(&channel_kinds(), &Links::default()) {
            Ok(channel) => panic!("{yaml} was accepted: {channel:?}"),
            Err(e) => e.to_string(),
        },
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
        let channel = config.build(&channel_kinds(), &Links::default()).unwrap();
        assert_eq!(channel.name(), "ops_log");
        assert_eq!(
            channel.severities,
            Some(vec![Severity::Error, Severity::Critical])
        );
        assert!(channel.send_resolved);

        for (yaml, want) in [
            (
                "name: x\ntype: carrier_pigeon\n",
                "invalid `type`: unknown channel type `carrier_pigeon`, expected one of `alertmanager`",
            ),
            ("name: x\n", "missing field `type`"),
            (
                "name: x\ntype: log\nurl: http://127.0.0.1:1/\n",
                "unknown field `url`",
            ),
        ] {
            let err = config_error(yaml);
            assert!(err.contains(want), "{yaml}: {err}");
        }
        let unnamed: ChannelConfig = serde_yaml_ng::from_str("name: ''\ntype: log\n").unwrap();
        assert!(
            unnamed
                .build(&channel_kinds(), &Links::default())
                .unwrap_err()
                .to_string()
                .contains("a channel of type log has no name")
        );
    }
}
