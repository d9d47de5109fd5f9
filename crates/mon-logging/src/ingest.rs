//! The log ingest pipeline behind error tracking and log search: [`LogIngest`] takes
//! mon's own records (as a [`RecordSink`], [`LogIngest::sink`]) and ingested `error` /
//! `log` events, masks them, groups errors; its [`LogWriter`] stores both in mon-store,
//! publishes `tracked_errors_per_minute` and `new_error_kinds` to the rule snapshot and
//! prunes by age. mon-server serves the search over the same store.

use crate::{ErrorTracker, LogRecord, LoggingConfig, Masker, RecordSink};
use chrono::{DateTime, TimeDelta, Utc};
use mon_core::snapshot::SnapshotHub;
use mon_store::{ErrorRow, LogRow, LogWrite, Store, WriteBatch};
use prometheus_client::metrics::counter::Counter;
use serde_json::json;
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tracing::Level;

/// The snapshot source name of the error variables.
const SOURCE: &str = "errors";
/// The window of `new_error_kinds`.
const NEW_KIND_WINDOW: TimeDelta = TimeDelta::minutes(5);
/// How often the snapshot variables are refreshed.
const PUBLISH_EVERY: Duration = Duration::from_secs(15);
/// How often old records and groups are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Rows deleted per prune transaction per table.
const PRUNE_BATCH: u32 = 5000;

/// Feeds error tracking and log search. Cheap to clone.
///
/// Ingested `error` and `log` events are turned into store writes
/// ([`Self::error_writes`], [`Self::log_write`]) that the ingest handler commits with the
/// rest of its batch before answering: what is acknowledged is stored. mon's own records
/// go to a bounded queue instead, so that logging never blocks the server; a full queue
/// drops them (counted in `mon_log_store_dropped_total`).
#[derive(Clone)]
pub struct LogIngest {
    tx: mpsc::Sender<LogWrite>,
    /// Error occurrences committed by the ingest handler since the publisher last looked.
    stored_errors: Arc<AtomicU64>,
    /// Wakes the publisher when `stored_errors` grows.
    stored_notify: Arc<Notify>,
    tracker: ErrorTracker,
    masker: Masker,
    min_severity: usize,
    min_level: Level,
    dropped: Counter,
}

impl std::fmt::Debug for LogIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogIngest")
            .field("min_level", &self.min_level)
            .finish_non_exhaustive()
    }
}

impl LogIngest {
    /// Validates `config`; returns the handle and the [`LogWriter`] that stores what it queues.
    pub fn new(config: &LoggingConfig) -> Result<(LogIngest, LogWriter), crate::LoggingError> {
        LogIngest::with_privacy(config, mon_core::Privacy::disabled())
    }

    /// As [`LogIngest::new`], callers' personal data in ingested events and records
    /// treated by `privacy` (docs/privacy.md) before they are stored.
    pub fn with_privacy(
        config: &LoggingConfig,
        privacy: mon_core::Privacy,
    ) -> Result<(LogIngest, LogWriter), crate::LoggingError> {
        let tracker = ErrorTracker::new(config.errors.clone())?;
        let masker = Masker::with_privacy(&config.mask_patterns, privacy)?;
        let min_level = crate::parse_level(&config.search.level).ok_or_else(|| {
            crate::LoggingError::InvalidConfig {
                key: "search.level".into(),
                reason: format!("{:?} is not a level", config.search.level),
            }
        })?;
        let min_severity = mon_store::severity(min_level.as_str()).unwrap_or(3);
        let (tx, rx) = mpsc::channel(4096);
        let ingest = LogIngest {
            tx,
            stored_errors: Arc::default(),
            stored_notify: Arc::default(),
            tracker,
            masker,
            min_severity,
            min_level,
            dropped: Counter::default(),
        };
        let writer = LogWriter {
            rx: Arc::new(tokio::sync::Mutex::new(rx)),
            committed: (ingest.stored_errors.clone(), ingest.stored_notify.clone()),
            retention: config.search.retention,
        };
        Ok((ingest, writer))
    }

    /// Registers `mon_log_store_dropped_total`.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register(
            "mon_log_store_dropped",
            "mon's own log records and errors not stored for search because the queue was full",
            self.dropped.clone(),
        );
    }

    /// The [`RecordSink`] that feeds mon's own records to this pipeline; add it to the
    /// global logging (`mon_logging::global()`).
    pub fn sink(&self) -> Arc<dyn RecordSink> {
        Arc::new(OwnLogs(self.clone()))
    }

    fn send(&self, write: LogWrite) {
        if self.tx.try_send(write).is_err() {
            self.dropped.inc();
        }
    }

    /// Masks the free-form parts of an ingested event (an error's message and context,
    /// a log's message and fields, a security event's detail, principals) before it is
    /// stored, recorded or exported anywhere, then applies the privacy policy to every
    /// free-text and identity part ([`mon_core::Privacy::event`]).
    pub fn mask_event(&self, event: &mut mon_core::Event) {
        let free = event.free_text_mut();
        for text in free.texts {
            if let Cow::Owned(masked) = self.masker.text(text) {
                *text = masked;
            }
        }
        if let Some(extra) = free.fields {
            for (key, value) in extra.iter_mut() {
                if Masker::is_secret_name(key) {
                    *value = serde_json::Value::String(crate::MASK.into());
                } else {
                    self.masker.value(value);
                }
            }
        }
        self.masker.privacy().event(event);
    }

    /// The privacy policy of this pipeline, for the entries that do not pass through
    /// [`Self::mask_event`] (LiveKit webhooks).
    pub fn privacy(&self) -> &mon_core::Privacy {
        self.masker.privacy()
    }

    /// The store writes of an ingested `error` event: the occurrence in its group
    /// (masked) unless its kind is ignored, and an ERROR record for search. The ingest
    /// handler commits them with the rest of the batch before it answers.
    pub fn error_writes(
        &self,
        kind: &str,
        message: &str,
        context: &BTreeMap<String, serde_json::Value>,
        timestamp: DateTime<Utc>,
    ) -> Vec<LogWrite> {
        let message = self.masker.text(message).into_owned();
        let mut context = serde_json::to_value(context).unwrap_or_default();
        self.masker.value(&mut context);
        let location = context
            .get("location")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let call_id = context
            .get("call_id")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let sample = json!({ "message": message, "at": timestamp, "context": context });
        let mut writes = Vec::with_capacity(2);
        if let Some(o) = self
            .tracker
            .occurrence(kind, &message, &location, timestamp, sample)
        {
            writes.push(self.error_row(o));
        }
        writes.push(LogWrite::Log(LogRow {
            timestamp,
            level: "error".into(),
            logger: kind.to_string(),
            message,
            call_id,
            source: "ingest".into(),
            fields: context,
        }));
        writes
    }

    /// The store write of an ingested `log` event (masked); `None` below the search
    /// level. An unknown level is read as `info`.
    pub fn log_write(
        &self,
        level: &str,
        message: &str,
        call_id: Option<&str>,
        fields: &BTreeMap<String, serde_json::Value>,
        timestamp: DateTime<Utc>,
    ) -> Option<LogWrite> {
        let level = crate::parse_level(level).unwrap_or(Level::INFO);
        let severity = mon_store::severity(level.as_str()).unwrap_or(2);
        if severity < self.min_severity {
            return None;
        }
        let mut fields = serde_json::to_value(fields).unwrap_or_default();
        self.masker.value(&mut fields);
        let logger = fields
            .get("logger")
            .and_then(|v| v.as_str())
            .unwrap_or("ingest")
            .to_string();
        Some(LogWrite::Log(LogRow {
            timestamp,
            level: level.as_str().to_ascii_lowercase(),
            logger,
            message: self.masker.text(message).into_owned(),
            call_id: call_id.map(str::to_string),
            source: "ingest".into(),
            fields,
        }))
    }

    /// How many error occurrences `writes` (from [`Self::error_writes`]) hold.
    pub fn errors_in(writes: &[LogWrite]) -> usize {
        writes
            .iter()
            .filter(|w| matches!(w, LogWrite::Error(_)))
            .count()
    }

    /// Tells the publisher that `errors` error occurrences were committed, so that
    /// `tracked_errors_per_minute` and `new_error_kinds` count them.
    pub fn errors_committed(&self, errors: usize) {
        if errors > 0 {
            self.stored_errors
                .fetch_add(errors as u64, Ordering::Relaxed);
            self.stored_notify.notify_one();
        }
    }

    fn error_row(&self, o: crate::ErrorOccurrence) -> LogWrite {
        LogWrite::Error(ErrorRow {
            fingerprint: o.fingerprint,
            kind: o.kind,
            message: o.message,
            location: o.location,
            timestamp: o.timestamp,
            sample: o.sample,
            max_samples: u32::try_from(self.tracker.max_samples()).unwrap_or(u32::MAX),
        })
    }

    /// mon's own records (already masked by mon-logging).
    fn own_record(&self, record: &LogRecord<'_>) {
        // The store's own logs are not stored in the store: a failing store would feed itself.
        if record.logger.starts_with("mon_store") {
            return;
        }
        if record.level <= self.min_level {
            let mut fields = record.fields_json();
            for (k, v) in record.context.pairs() {
                fields.insert(k.into(), v.into());
            }
            if let Some(code) = &record.error_code {
                fields.insert("error_code".into(), code.clone().into());
            }
            self.send(LogWrite::Log(LogRow {
                timestamp: record.timestamp,
                level: record.level.as_str().to_ascii_lowercase(),
                logger: record.logger.to_string(),
                message: record.message.clone(),
                call_id: record.context.call_id.as_deref().map(str::to_string),
                source: "mon".into(),
                fields: fields.into(),
            }));
        }
        if let Some(o) = self.tracker.from_record(record) {
            self.send(self.error_row(o));
        }
    }
}

/// The writer of a [`LogIngest`]: stores its queue in batches, publishes the snapshot
/// variables and prunes by age. A restarted writer takes over the same queue.
#[derive(Debug, Clone)]
pub struct LogWriter {
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<LogWrite>>>,
    committed: (Arc<AtomicU64>, Arc<Notify>),
    retention: Duration,
}

impl LogWriter {
    /// Starts the writer; it ends when `stop` completes or every [`LogIngest`] is gone,
    /// after storing what is queued.
    pub fn spawn(
        &self,
        store: Store,
        hub: SnapshotHub,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut rx = this.rx.lock().await;
            run(store, hub, &mut rx, this.committed, this.retention, stop).await;
        })
    }
}

/// The [`RecordSink`] of mon's own records ([`LogIngest::sink`]).
#[derive(Debug)]
struct OwnLogs(LogIngest);

impl RecordSink for OwnLogs {
    fn min_level(&self) -> Level {
        // Errors are tracked whatever the search level.
        self.0.min_level.max(Level::ERROR)
    }

    fn record(&self, record: &LogRecord<'_>) {
        self.0.own_record(record);
    }
}

/// Writes queued rows in batches, publishes the snapshot variables, prunes.
async fn run(
    store: Store,
    hub: SnapshotHub,
    rx: &mut mpsc::Receiver<LogWrite>,
    (stored_errors, stored_notify): (Arc<AtomicU64>, Arc<Notify>),
    retention: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let mut recent_errors: VecDeque<DateTime<Utc>> = VecDeque::new();
    let mut publish = tokio::time::interval(PUBLISH_EVERY);
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    tokio::pin!(stop);
    loop {
        let mut batch = Vec::new();
        tokio::select! {
            write = rx.recv() => match write {
                Some(w) => batch.push(w),
                None => break,
            },
            _ = publish.tick() => {
                publish_snapshot(&store, &hub, &mut recent_errors).await;
                continue;
            }
            () = stored_notify.notified() => {
                let n = stored_errors.swap(0, Ordering::Relaxed);
                let now = Utc::now();
                recent_errors.extend(std::iter::repeat_n(now, usize::try_from(n).unwrap_or(0)));
                publish_snapshot(&store, &hub, &mut recent_errors).await;
                continue;
            }
            _ = prune.tick() => {
                // A retention reaching before the year 0000 keeps everything.
                let Ok(before) = mon_core::duration::ago(Utc::now(), retention) else { continue };
                let write = LogWrite::Prune { before, limit: PRUNE_BATCH };
                if let Err(e) = store.write(WriteBatch::from_logs(vec![write])).await {
                    tracing::warn!(error = %e, "pruning stored logs and errors failed");
                }
                continue;
            }
            () = &mut stop => break,
        }
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        write(&store, &hub, batch, &mut recent_errors).await;
    }
    // Drain what is queued, then a last publish.
    let mut batch = Vec::new();
    while let Ok(w) = rx.try_recv() {
        batch.push(w);
    }
    write(&store, &hub, batch, &mut recent_errors).await;
}

/// Stores a batch; when it holds errors, refreshes the snapshot variables at once.
async fn write(
    store: &Store,
    hub: &SnapshotHub,
    batch: Vec<LogWrite>,
    recent: &mut VecDeque<DateTime<Utc>>,
) {
    if batch.is_empty() {
        return;
    }
    let now = Utc::now();
    let before = recent.len();
    recent.extend(
        batch
            .iter()
            .filter(|w| matches!(w, LogWrite::Error(_)))
            .map(|_| now),
    );
    if let Err(e) = store.write(WriteBatch::from_logs(batch)).await {
        tracing::warn!(error = %e, "storing logs and errors failed");
    }
    if recent.len() > before {
        publish_snapshot(store, hub, recent).await;
    }
}

async fn publish_snapshot(store: &Store, hub: &SnapshotHub, recent: &mut VecDeque<DateTime<Utc>>) {
    let now = Utc::now();
    while recent
        .front()
        .is_some_and(|t| *t < now - TimeDelta::minutes(1))
    {
        recent.pop_front();
    }
    let new_kinds = match store.new_error_groups(now - NEW_KIND_WINDOW).await {
        Ok(n) => n as f64,
        Err(e) => {
            tracing::warn!(error = %e, "counting new error kinds failed");
            return;
        }
    };
    hub.publish_values(
        SOURCE,
        [
            (
                mon_core::vars::TRACKED_ERRORS_PER_MINUTE.to_string(),
                recent.len() as f64,
            ),
            (mon_core::vars::NEW_ERROR_KINDS.to_string(), new_kinds),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use mon_store::LogQuery;

    /// Ingested `error` and `log` events: grouped, filtered by level, masked, stored.
    #[tokio::test]
    async fn ingested_events_are_tracked_and_searchable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("mon.db"), Default::default()).unwrap();
        let hub = SnapshotHub::new();
        let config = LoggingConfig {
            errors: crate::ErrorTrackingConfig {
                ignored_kinds: vec!["ValidationError".into()],
                ..Default::default()
            },
            ..LoggingConfig::default()
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ingest, writer) = LogIngest::new(&config).unwrap();
        let task = writer.spawn(store.clone(), hub.clone(), async {
            let _ = stop_rx.await;
        });
        let now = Utc::now();
        let context: BTreeMap<String, serde_json::Value> = [
            ("call_id".to_string(), json!("call-3")),
            ("api_key".to_string(), json!("SECRET-KEY")),
        ]
        .into();
        let mut writes = Vec::new();
        for id in [17, 18] {
            writes.extend(ingest.error_writes(
                "LK1301",
                &format!("room {id} creation failed"),
                &context,
                now,
            ));
        }
        writes.extend(ingest.error_writes("ValidationError", "bad input", &context, now));
        let fields: BTreeMap<String, serde_json::Value> =
            [("authorization".to_string(), json!("Bearer SECRET"))].into();
        for (level, message) in [
            ("WARNING", "provider slow"),
            ("info", "below the search level"),
            ("loud", "unknown level reads as info"),
        ] {
            writes.extend(ingest.log_write(level, message, Some("call-3"), &fields, now));
        }
        let errors = LogIngest::errors_in(&writes);
        assert_eq!(errors, 2, "the ignored kind is not tracked");
        store.write(WriteBatch::from_logs(writes)).await.unwrap();
        ingest.errors_committed(errors);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while hub.current().get(mon_core::vars::NEW_ERROR_KINDS) != Some(1.0) {
            assert!(
                std::time::Instant::now() < deadline,
                "new_error_kinds not published"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            hub.current().get(mon_core::vars::TRACKED_ERRORS_PER_MINUTE),
            Some(2.0)
        );
        drop(stop_tx);
        task.await.unwrap();

        let groups = store.error_groups(None, 10).await.unwrap();
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert_eq!(groups[0].kind, "LK1301");
        assert_eq!(groups[0].count, 2);
        assert_eq!(groups[0].message, "room <n> creation failed");
        let rows = store
            .search_logs(LogQuery {
                limit: 100,
                ..LogQuery::default()
            })
            .await
            .unwrap();
        let mut messages: Vec<&str> = rows.iter().map(|r| r.message.as_str()).collect();
        messages.sort_unstable();
        assert_eq!(
            messages,
            [
                "bad input",
                "provider slow",
                "room 17 creation failed",
                "room 18 creation failed"
            ]
        );
        let text = serde_json::to_string(&rows).unwrap() + &serde_json::to_string(&groups).unwrap();
        assert!(!text.contains("SECRET"), "{text}");
        store.close().await.unwrap();
    }
}
