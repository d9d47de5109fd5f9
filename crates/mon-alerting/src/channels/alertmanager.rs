//! The `alertmanager` channel: forwards alerts to a Prometheus Alertmanager (or an
//! HA cluster of them) with `POST /api/v2/alerts`, keeping to its client contract:
//! an open alert is posted again every `resend_interval` with `endsAt` four
//! intervals ahead (as Prometheus does), so Alertmanager keeps it active while mon
//! does and lets it expire only if mon stops talking; a resolution is posted with
//! `endsAt` set to when it resolved. Alertmanager has no acknowledgement: an
//! acknowledged alert stays active there, posted again like any open alert, with
//! the annotation `acknowledged_by` (annotations do not change its identity, so
//! Alertmanager neither resolves nor re-pages it).
//!
//! Every Alertmanager of `urls` is posted to at once, and a notification counts as
//! sent when one of them took it (as Prometheus counts it): a cluster member that
//! is down misses nothing the others do not pass on, and hears the open alerts at
//! the next resend. The alerts carry `server.external_labels` (an alert's own label
//! of the same name wins), less the channel's `drop_labels`: two replicas of mon
//! with `external_labels: {replica: a|b}` and `drop_labels: [replica]` post
//! identical alerts, which Alertmanager deduplicates (docs/ha.md).

use super::http;
use super::{ChannelKind, Links};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use mon_core::{Alert, AlertState, ChannelSpec, Notification, Notifier, NotifyError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How many `resend_interval`s an alert posted to Alertmanager stays valid there.
pub const VALIDITY_INTERVALS: u32 = 4;

/// `type: alertmanager`.
///
/// ```yaml
/// - name: am
///   type: alertmanager
///   urls: [http://alertmanager-1:9093, http://alertmanager-2:9093]
///   resend_interval: 1m
///   drop_labels: [replica]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerChannelConfig {
    /// Base URL of each Alertmanager; every one receives every alert (as Prometheus does).
    pub urls: Vec<String>,
    /// How often open alerts (firing or acknowledged) are posted again. Each post
    /// is valid for four intervals (`endsAt`), so Alertmanager resolves an alert on
    /// its own only when mon has been silent that long, whatever its `resolve_timeout`.
    #[serde(default = "default_resend_interval", with = "mon_core::duration")]
    pub resend_interval: Duration,
    /// Labels left out of what Alertmanager gets, after `server.external_labels`
    /// are added: the replica label of an HA pair (default none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_labels: Vec<String>,
}

fn default_resend_interval() -> Duration {
    Duration::from_secs(60)
}

/// Alerts link to mon's alert list under `links`.
impl ChannelKind for AlertmanagerChannelConfig {
    fn notifier(&self, spec: &ChannelSpec<'_>, links: &Links) -> Result<Arc<dyn Notifier>, String> {
        if self.urls.is_empty() {
            return Err("urls is empty; list at least one Alertmanager".to_string());
        }
        for url in &self.urls {
            http::check_url(url)?;
        }
        for (i, label) in self.drop_labels.iter().enumerate() {
            mon_core::check_label_name(label).map_err(|e| format!("drop_labels[{i}]: {e}"))?;
        }
        if self.resend_interval < Duration::from_secs(1) {
            return Err(format!(
                "resend_interval must be at least 1s, not {}",
                mon_core::duration::format(self.resend_interval)
            ));
        }
        Ok(Arc::new(AlertmanagerNotifier {
            name: spec.name.to_string(),
            config: self.clone(),
            links: links.clone(),
            client: http::client(spec.timeout)?,
        }))
    }
}

/// Posts alerts to Alertmanager.
#[derive(Debug, Clone)]
pub struct AlertmanagerNotifier {
    name: String,
    config: AlertmanagerChannelConfig,
    links: Links,
    client: reqwest::Client,
}

/// Labels as Alertmanager knows them: the alert's labels plus `alertname` (the
/// rule) and `severity`. They make the alert's identity there.
pub fn labels(alert: &Alert) -> BTreeMap<String, String> {
    let mut labels = alert.labels.clone();
    labels.insert("alertname".to_string(), alert.rule.clone());
    labels.insert("severity".to_string(), alert.severity.to_string());
    labels
}

/// Annotations as Alertmanager gets them: the alert's, plus `acknowledged_by`
/// once someone acknowledged it.
pub fn annotations(alert: &Alert) -> BTreeMap<String, String> {
    let mut annotations = alert.annotations.clone();
    if let Some(by) = &alert.acknowledged_by {
        annotations.insert("acknowledged_by".to_string(), by.clone());
    }
    annotations
}

/// A time as Alertmanager writes it: RFC 3339 in UTC with `Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// One alert as `POST /api/v2/alerts` takes it (`postableAlert`), posted at `now`:
/// an open alert ends `valid_for` later unless posted again, a resolved one ended
/// when it resolved. Its labels are [`labels`] with the external labels of `links`
/// where the alert has no label of their name, less `drop`.
pub fn postable(
    alert: &Alert,
    links: &Links,
    drop: &[String],
    now: DateTime<Utc>,
    valid_for: Duration,
) -> Value {
    let mut labels = labels(alert);
    for (name, value) in links.external_labels() {
        labels.entry(name.clone()).or_insert_with(|| value.clone());
    }
    labels.retain(|name, _| !drop.contains(name));
    let ends = if alert.state == AlertState::Resolved {
        alert.resolved_at.unwrap_or(alert.updated_at)
    } else {
        now + TimeDelta::from_std(valid_for).unwrap_or(TimeDelta::MAX)
    };
    json!({
        "labels": labels,
        "annotations": annotations(alert),
        "startsAt": timestamp(alert.started_at),
        "endsAt": timestamp(ends),
        "generatorURL": links.alerts(),
    })
}

#[async_trait]
impl Notifier for AlertmanagerNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    /// Alertmanager forgets an alert it does not hear again: open alerts are posted
    /// every `resend_interval` (and resolutions always).
    fn resend_interval(&self) -> Option<Duration> {
        Some(self.config.resend_interval)
    }

    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let now = Utc::now();
        let valid_for = self.config.resend_interval * VALIDITY_INTERVALS;
        let body: Vec<Value> = notification
            .alerts
            .iter()
            .map(|a| postable(a, &self.links, &self.config.drop_labels, now, valid_for))
            .collect();
        let body = Value::Array(body).to_string();
        // Every member at once, so that one that hangs delays no other.
        let mut posts = tokio::task::JoinSet::new();
        for url in &self.config.urls {
            let endpoint = format!("{}/api/v2/alerts", url.trim_end_matches('/'));
            let (client, body) = (self.client.clone(), body.clone().into_bytes());
            posts.spawn(async move {
                let answer = http::post(&client, &endpoint, &[], body).await?;
                http::classify("Alertmanager", &answer)
            });
        }
        let mut failures = Vec::new();
        while let Some(result) = posts.join_next().await {
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(e),
                Err(e) => failures.push(NotifyError::transient(e.to_string())),
            }
        }
        sent_to_one(&self.name, self.config.urls.len(), failures)
    }
}

/// A notification posted to `posted` Alertmanagers is sent when one took it: the
/// others' failures are logged (they hear the open alerts at the next resend).
/// When none took it, the error is the first failure's, retried as it says.
fn sent_to_one(
    channel: &str,
    posted: usize,
    failures: Vec<NotifyError>,
) -> Result<(), NotifyError> {
    if failures.len() < posted {
        for e in &failures {
            tracing::warn!(channel, error = %e, "an Alertmanager did not take the alerts; the others did");
        }
        return Ok(());
    }
    failures.into_iter().next().map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(state: AlertState) -> Alert {
        let start = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .unwrap()
            .to_utc();
        mon_tests::alert("Slow")
            .id("a1")
            .state(state)
            .label("service", "api")
            .annotation("summary", "slow")
            .value(1.0)
            .started_at(start)
            .updated_at(start + TimeDelta::minutes(5))
            .resolved_at((state == AlertState::Resolved).then(|| start + TimeDelta::minutes(9)))
            .acknowledged_by((state == AlertState::Acknowledged).then_some("ops"))
            .build()
    }

    #[test]
    fn open_alerts_end_in_the_future_resolved_ones_when_they_resolved() {
        let links = Links::new("https://mon.example.com/");
        let now = DateTime::parse_from_rfc3339("2026-01-01T10:10:00Z")
            .unwrap()
            .to_utc();
        let valid = Duration::from_secs(240);
        // (state, endsAt, acknowledged_by)
        for (state, ends, acknowledged) in [
            (AlertState::Firing, "2026-01-01T10:14:00Z", None),
            (
                AlertState::Acknowledged,
                "2026-01-01T10:14:00Z",
                Some("ops"),
            ),
            (AlertState::Resolved, "2026-01-01T10:09:00Z", None),
        ] {
            let body = postable(&alert(state), &links, &[], now, valid);
            assert_eq!(body["endsAt"], ends, "{state}");
            assert_eq!(body["startsAt"], "2026-01-01T10:00:00Z", "{state}");
            assert_eq!(
                body["annotations"]["acknowledged_by"].as_str(),
                acknowledged,
                "{state}"
            );
            assert_eq!(
                body["labels"],
                json!({"alertname": "Slow", "service": "api", "severity": "warning"}),
                "the identity never changes: {state}"
            );
            assert_eq!(body["generatorURL"], "https://mon.example.com/#/alerts");
        }
    }

    #[test]
    fn external_labels_are_added_where_the_alert_has_none_and_dropped_labels_left_out() {
        let links = Links::new("https://mon.example.com/").with_external_labels(
            [("replica", "a"), ("cluster", "eu"), ("service", "edge")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
        );
        let now = Utc::now();
        let valid = Duration::from_secs(240);
        let alert = alert(AlertState::Firing);
        let kept = postable(&alert, &links, &[], now, valid);
        assert_eq!(
            kept["labels"],
            json!({"alertname": "Slow", "service": "api", "severity": "warning",
                   "replica": "a", "cluster": "eu"}),
            "the alert's own `service` wins"
        );
        let dropped = postable(&alert, &links, &["replica".to_string()], now, valid);
        assert_eq!(
            dropped["labels"],
            json!({"alertname": "Slow", "service": "api", "severity": "warning", "cluster": "eu"})
        );
    }

    #[test]
    fn a_notification_is_sent_when_one_alertmanager_took_it() {
        let down = || NotifyError::transient("connection refused");
        assert!(sent_to_one("am", 2, vec![]).is_ok());
        assert!(sent_to_one("am", 2, vec![down()]).is_ok());
        let none = sent_to_one("am", 2, vec![down(), NotifyError::rejected("400")]).unwrap_err();
        assert!(none.retryable(), "the first failure is the one reported");
        assert!(sent_to_one("am", 1, vec![down()]).is_err());
    }

    #[test]
    fn config_errors() {
        for (yaml, want) in [
            ("name: am\ntype: alertmanager\nurls: []\n", "urls is empty"),
            (
                "name: am\ntype: alertmanager\nurls: ['ftp://x']\n",
                "url must be http:// or https://",
            ),
            (
                "name: am\ntype: alertmanager\nurls: ['http://x:9093']\nresend_interval: 500ms\n",
                "resend_interval must be at least 1s, not 500ms",
            ),
            (
                "name: am\ntype: alertmanager\nurls: ['http://x:9093']\ndrop_labels: [replica, 'bad-name']\n",
                "drop_labels[1]:",
            ),
            (
                "name: am\ntype: alertmanager\nurls: ['http://x:9093']\nsend_resolved: false\n",
                "channel \"am\": invalid `send_resolved`: a channel of type alertmanager is reminded",
            ),
        ] {
            let err = crate::channels::config_error(yaml);
            assert!(err.contains(want), "{yaml}: {err}");
        }
        let config: crate::ChannelConfig =
            serde_yaml_ng::from_str("name: am\ntype: alertmanager\nurls: ['http://x:9093']\n")
                .unwrap();
        let channel = config
            .build(&crate::channels::channel_kinds(), &Links::default())
            .unwrap();
        assert_eq!(channel.resend_interval, Some(Duration::from_secs(60)));
        assert!(channel.send_resolved);
    }
}
