//! The `webhook` channel: POSTs each notification as JSON to a URL — mon's own
//! body (documented in docs/alerting.md) or, with `format: alertmanager`,
//! Alertmanager's webhook v4 body — with custom headers, an `Idempotency-Key`
//! header, and an HMAC-SHA256 signature of the body when a secret is set.
//!
//! In the Alertmanager shape, mon groups by alert instance: `groupLabels` are the
//! alert's labels (with `alertname` and `severity`), `groupKey` is derived from
//! them as Alertmanager derives it (`{}:{alertname="…", …}`), so it stays the same
//! across the firing, acknowledgement, reminders and resolution of an alert. An
//! acknowledgement is the same group still `firing`, its alert carrying the
//! annotation `acknowledged_by` (webhook v4 has no acknowledged status).

use super::alertmanager::{annotations, labels, timestamp};
use super::http::{self, Answer};
use super::{ChannelKind, Links};
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use mon_core::{Alert, AlertState, ChannelSpec, Notification, Notifier, NotifyError, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The header carrying the body's signature: `sha256=<hex HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "X-Mon-Signature";

/// The header carrying the notification's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// `type: webhook`.
///
/// ```yaml
/// - name: ops_webhook
///   type: webhook
///   url: https://hooks.example.com/mon
///   headers: { X-Team: voice }
///   secret: ${WEBHOOK_SECRET}
///   format: mon            # or alertmanager
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannelConfig {
    /// Where to POST.
    pub url: String,
    /// Extra headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Shared secret for the `X-Mon-Signature` header; absent: unsigned.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Body shape: `mon` (default) or `alertmanager` (webhook v4).
    #[serde(default)]
    pub format: WebhookFormat,
}

/// The body a webhook sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// mon's body: `{version, transition, idempotency_key, receiver, alerts}`.
    #[default]
    Mon,
    /// Alertmanager's webhook v4 body.
    Alertmanager,
}

impl ChannelKind for WebhookChannelConfig {
    fn notifier(&self, spec: &ChannelSpec<'_>, links: &Links) -> Result<Arc<dyn Notifier>, String> {
        http::check_url(&self.url)?;
        Ok(Arc::new(WebhookNotifier {
            name: spec.name.to_string(),
            config: self.clone(),
            links: links.clone(),
            client: http::client(spec.timeout)?,
        }))
    }
}

/// Sends notifications to a webhook.
#[derive(Debug, Clone)]
pub struct WebhookNotifier {
    name: String,
    config: WebhookChannelConfig,
    links: Links,
    client: reqwest::Client,
}

/// mon's webhook body for `notification`, as sent by channel `receiver`.
pub fn mon_body(receiver: &str, links: &Links, notification: &Notification) -> Value {
    json!({
        "version": "1",
        "receiver": receiver,
        "transition": notification.transition,
        "idempotency_key": notification.idempotency_key,
        "external_url": links.external_url(),
        "alerts_url": links.alerts(),
        "alerts": notification.alerts,
    })
}

/// The labels (or annotations, by `pick`) that every alert of `alerts` has with the same value.
fn common(
    alerts: &[Alert],
    pick: fn(&Alert) -> BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut iter = alerts.iter().map(pick);
    let mut common = iter.next().unwrap_or_default();
    for other in iter {
        common.retain(|k, v| other.get(k) == Some(v));
    }
    common
}

/// Alertmanager's group key for a group with `group_labels` under its root route:
/// `{}:{name="value", …}`.
pub fn group_key(group_labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = group_labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{{}}:{{{}}}", pairs.join(", "))
}

/// Alertmanager's webhook v4 body for `notification`.
pub fn alertmanager_body(receiver: &str, links: &Links, notification: &Notification) -> Value {
    let alerts: Vec<Value> = notification
        .alerts
        .iter()
        .map(|a| alertmanager_alert(a, links))
        .collect();
    let firing = notification
        .alerts
        .iter()
        .any(|a| a.state != AlertState::Resolved);
    // A group is one alert instance: its labels group it (and are the common ones).
    let group_labels = common(&notification.alerts, labels);
    json!({
        "version": "4",
        "groupKey": group_key(&group_labels),
        "truncatedAlerts": 0,
        "status": if firing { "firing" } else { "resolved" },
        "receiver": receiver,
        "groupLabels": &group_labels,
        "commonLabels": &group_labels,
        "commonAnnotations": common(&notification.alerts, annotations),
        "externalURL": links.external_url(),
        "alerts": alerts,
    })
}

/// One alert in Alertmanager's webhook shape (`endsAt` is Go's zero time while it fires).
pub fn alertmanager_alert(alert: &Alert, links: &Links) -> Value {
    json!({
        "status": if alert.state == AlertState::Resolved { "resolved" } else { "firing" },
        "labels": labels(alert),
        "annotations": annotations(alert),
        "startsAt": timestamp(alert.started_at),
        "endsAt": alert.resolved_at.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), timestamp),
        "generatorURL": links.alerts(),
        "fingerprint": alert.fingerprint,
    })
}

/// `sha256=<hex>` of HMAC-SHA256(`secret`, `body`).
pub fn signature(secret: &Secret, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let body = match self.config.format {
            WebhookFormat::Mon => mon_body(&self.name, &self.links, notification),
            WebhookFormat::Alertmanager => alertmanager_body(&self.name, &self.links, notification),
        };
        let body = body.to_string().into_bytes();
        let mut headers: Vec<(String, String)> = self
            .config
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        headers.push((
            IDEMPOTENCY_HEADER.to_string(),
            notification.idempotency_key.clone(),
        ));
        if let Some(secret) = &self.config.secret {
            headers.push((SIGNATURE_HEADER.to_string(), signature(secret, &body)));
        }
        let answer: Answer = http::post(&self.client, &self.config.url, &headers, body).await?;
        http::classify("the webhook", &answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(&Secret::new("Jefe"), b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn config_errors() {
        for (yaml, want) in [
            (
                "name: w\ntype: webhook\nurl: ftp://x/\n",
                "url must be http:// or https://",
            ),
            (
                "name: w\ntype: webhook\nurl: not a url\n",
                "url is not a valid URL",
            ),
            (
                "name: w\ntype: webhook\nurl: http://x/\nformat: xml\n",
                "channel \"w\": invalid `format`: unknown variant `xml`",
            ),
        ] {
            let err = crate::channels::config_error(yaml);
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }
}
