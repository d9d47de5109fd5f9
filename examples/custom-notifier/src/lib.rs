//! An example notification channel in its own crate, depending on `mon-core` only:
//! it appends each notification as one JSON line to a file (an audit trail of pages).
//!
//! This is the whole contract a channel needs: implement [`mon_core::Notifier`],
//! classify failures with [`mon_core::NotifyError`], and give mon a
//! [`ChannelFactory`] that reads the entry's own fields:
//!
//! ```yaml
//! alerting:
//!   channels:
//!     - name: audit
//!       type: jsonl
//!       path: /var/log/mon/pages.jsonl
//!       severities: [critical]      # the fields every channel has work as usual
//! ```

use mon_core::{ChannelFactory, KindError, Notification, Notifier, NotifyError, async_trait};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The kind's name, as written after `type:`.
pub const KIND: &str = "jsonl";

/// The fields of a `jsonl` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLinesConfig {
    /// The file notifications are appended to (created when missing).
    pub path: PathBuf,
}

/// The factory to register under [`KIND`].
pub fn factory() -> ChannelFactory {
    Arc::new(|spec| {
        let config: JsonLinesConfig = spec.parse()?;
        if config.path.as_os_str().is_empty() {
            return Err(KindError::field("path", "must not be empty; name a file"));
        }
        Ok(Arc::new(JsonLinesNotifier::new(spec.name, config.path)))
    })
}

/// Appends notifications to a JSON-lines file.
#[derive(Debug)]
pub struct JsonLinesNotifier {
    name: String,
    path: PathBuf,
    lock: Mutex<()>,
}

impl JsonLinesNotifier {
    /// A channel called `name` writing to `path`.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        JsonLinesNotifier {
            name: name.into(),
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

#[async_trait]
impl Notifier for JsonLinesNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, notification: &Notification) -> Result<(), NotifyError> {
        let mut line = serde_json::to_string(notification)
            .map_err(|e| NotifyError::rejected(format!("cannot encode the notification: {e}")))?;
        line.push('\n');
        let _guard = self
            .lock
            .lock()
            .map_err(|_| NotifyError::transient("writer lock poisoned"))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| {
                NotifyError::transient(format!("cannot open {}: {e}", self.path.display()))
            })?;
        file.write_all(line.as_bytes()).map_err(|e| {
            NotifyError::transient(format!("cannot write {}: {e}", self.path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mon_core::Transition;

    #[tokio::test]
    async fn appends_one_line_per_notification() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pages.jsonl");
        let notifier = JsonLinesNotifier::new("audit", &path);
        for key in ["k1", "k2"] {
            let n = Notification::new(Transition::Test, vec![], key);
            notifier.send(&n).await.unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let keys: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Notification>(l)
                    .unwrap()
                    .idempotency_key
            })
            .collect();
        assert_eq!(keys, ["k1", "k2"]);
    }

    #[tokio::test]
    async fn an_unwritable_path_is_a_retryable_error() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = JsonLinesNotifier::new("audit", dir.path().join("missing-dir/pages.jsonl"));
        let n = Notification::new(Transition::Test, vec![], "k");
        let err = notifier.send(&n).await.unwrap_err();
        assert!(err.retryable(), "{err}");
        assert!(err.message.contains("missing-dir"), "{err}");
    }
}
