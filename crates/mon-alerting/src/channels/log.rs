//! The `log` channel: writes each alert notification to mon's own log as one
//! `tracing` event (WARN while firing, INFO when resolved).

use super::{ChannelKind, Links};
use async_trait::async_trait;
use mon_core::{ChannelSpec, Notification, Notifier, NotifyError, Transition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `type: log`: alerts go to mon's log; no outside service needed. It has no
/// fields of its own (the common ones are in [`ChannelConfig`](super::ChannelConfig)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogChannelConfig {}

impl ChannelKind for LogChannelConfig {
    fn notifier(
        &self,
        spec: &ChannelSpec<'_>,
        _links: &Links,
    ) -> Result<Arc<dyn Notifier>, String> {
        Ok(Arc::new(LogNotifier::new(spec.name)))
    }
}

/// Emits one `tracing` event per alert with fields `channel`, `rule`, `severity`,
/// `state`, `value`, `labels`, `fingerprint` and `summary`: WARN for firing and
/// reminders, INFO for everything else. Never fails.
#[derive(Debug, Clone)]
pub struct LogNotifier {
    name: String,
}

impl LogNotifier {
    /// A log notifier called `name`.
    pub fn new(name: impl Into<String>) -> LogNotifier {
        LogNotifier { name: name.into() }
    }
}

#[async_trait]
impl Notifier for LogNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        for alert in &notification.alerts {
            let labels = format_labels(&alert.labels);
            let summary = alert.annotations.get("summary").map(String::as_str);
            macro_rules! emit {
                ($level:ident) => {
                    tracing::$level!(
                        channel = %self.name,
                        rule = %alert.rule,
                        severity = %alert.severity,
                        state = %alert.state,
                        value = alert.value,
                        labels = %labels,
                        fingerprint = %alert.fingerprint,
                        summary,
                        "alert {}: {}",
                        notification.transition.as_str(),
                        alert.rule,
                    )
                };
            }
            match notification.transition {
                Transition::Firing | Transition::Reminder => emit!(warn),
                _ => emit!(info),
            }
        }
        Ok(())
    }
}

/// Labels as Prometheus writes them: `{service="api",team="voice"}`.
fn format_labels(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::{ChannelConfig, config_error};
    use mon_core::{Alert, AlertState, Severity};
    use std::io;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn alert(state: AlertState, value: Option<f64>) -> Alert {
        mon_tests::alert("High API Latency")
            .id("a1")
            .state(state)
            .label("service", "api")
            .annotation("summary", "latency is 5012 ms")
            .value(value)
            .build()
    }

    #[tokio::test]
    async fn emits_one_event_per_alert_warn_when_firing_info_when_resolved() {
        let buffer = Buffer::default();
        let make_writer = {
            let buffer = buffer.clone();
            move || buffer.clone()
        };
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::INFO)
            .with_writer(make_writer)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let notifier = LogNotifier::new("ops_log");
        let firing = Notification::new(
            Transition::Firing,
            vec![alert(AlertState::Firing, Some(5012.0))],
            "k1",
        );
        let resolved = Notification::new(
            Transition::Resolved,
            vec![alert(AlertState::Resolved, Some(120.0))],
            "k2",
        );
        notifier.send(&firing).await.unwrap();
        notifier.send(&resolved).await.unwrap();

        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        for (line, level, state, value) in [
            (&lines[0], "WARN", "firing", 5012.0),
            (&lines[1], "INFO", "resolved", 120.0),
        ] {
            assert_eq!(line["level"], level, "{line}");
            assert_eq!(line["state"], state, "{line}");
            assert_eq!(line["value"], value, "{line}");
            assert_eq!(line["rule"], "High API Latency", "{line}");
            assert_eq!(line["severity"], "warning", "{line}");
            assert_eq!(line["labels"], "{service=\"api\"}", "{line}");
            assert_eq!(line["channel"], "ops_log", "{line}");
            assert_eq!(line["summary"], "latency is 5012 ms", "{line}");
        }
        assert_eq!(lines[0]["message"], "alert firing: High API Latency");
        assert_eq!(lines[1]["message"], "alert resolved: High API Latency");
    }

    #[test]
    fn config_reads_yaml_with_defaults() {
        let config: ChannelConfig = serde_yaml_ng::from_str("name: log\ntype: log\n").unwrap();
        assert_eq!(config, ChannelConfig::log("log"));
        let config: ChannelConfig = serde_yaml_ng::from_str(
            "name: log\ntype: log\nseverities: [high]\nsend_resolved: false\n",
        )
        .unwrap();
        assert_eq!(config.severities, Some(vec![Severity::Error]));
        assert!(!config.send_resolved);
        let err = config_error("name: log\ntype: log\nlevel: error\n");
        assert!(err.contains("unknown field `level`"), "{err}");
    }
}
