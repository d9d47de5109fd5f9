//! mon-store: mon's embedded SQLite store — schema and migrations, one batching writer
//! thread, pooled readers, and retention.
//!
//! # What it is
//!
//! One SQLite file in WAL mode holds mon's history: metric series and samples, health
//! check results (later: alerts, the notification outbox, errors, events). Open it with
//! [`Store::open`], write [`WriteBatch`]es, query with the read methods, and keep it small
//! with [`Store::spawn_retention`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), mon_store::StoreError> {
//! use mon_store::{Sample, Store, StoreOptions, WriteBatch};
//! use std::collections::BTreeMap;
//!
//! let store = Store::open("./mon-data/mon.db".as_ref(), StoreOptions::default())?;
//! let sample = Sample {
//!     name: "cpu_percent".into(),
//!     labels: BTreeMap::from([("host".into(), "a".into())]),
//!     ts: chrono::Utc::now(),
//!     value: 12.5,
//! };
//! store.write(WriteBatch::from_samples(vec![sample])).await?; // committed when this returns
//! store.close().await?;
//! # Ok(()) }
//! ```
//!
//! # Invariants
//!
//! - **One writer.** A single thread owns the only write connection. Every write —
//!   ingest batches and retention deletes alike — goes through its queue, so there is no
//!   lock contention between mon's own writers, and readers (their own read-only
//!   connections, WAL snapshots) never wait for it.
//! - **Acknowledged = committed.** [`Store::write`], a [`WriteTicket`] and
//!   [`Store::write_blocking`] resolve only after the transaction holding the batch has
//!   committed (durable against a crash of the process; against power loss too with
//!   [`Synchronous::Full`]). A batch that fails is reported to its caller; nothing is lost
//!   silently, and the writer keeps running.
//! - **Bounded queue.** The queue holds at most [`StoreOptions::queue_capacity`] batches:
//!   `write` waits for room (back-pressure), `try_write` fails fast with
//!   [`StoreError::Busy`] (the ingest API answers 429). Memory never grows without bound.
//! - **Batches are atomic.** The writer groups queued batches into one transaction (up to
//!   [`StoreOptions::max_rows_per_transaction`] rows) but each batch runs in its own
//!   savepoint: it is committed whole or not at all.
//! - **Small retention transactions.** Retention deletes at most
//!   [`RetentionPolicy::batch_rows`] rows per transaction, walking key ranges, so ingest
//!   commits between them.
//! - **Graceful stop.** [`Store::close`] (or dropping the last handle) commits everything
//!   queued before the writer exits.
//!
//! # Schema
//!
//! `series(id, name, labels)` with labels as canonical JSON (sorted keys) and
//! `UNIQUE(name, labels)`; `samples(series_id, ts, value)` clustered on `(series_id, ts)`
//! (`WITHOUT ROWID`; a second value at the same millisecond replaces the first);
//! `check_results(id, check_name, ts, status, latency_ms, message, details)` indexed by
//! `(check_name, ts)`. Timestamps are unix milliseconds. The version is kept in
//! `PRAGMA user_version` ([`SCHEMA_VERSION`]); a database from a newer mon is refused.

mod alert_quality;
mod alerts;
mod backup;
mod cursor;
mod error;
mod event_totals;
mod experiments;
mod incidents;
mod kept;
mod lock;
mod logs;
mod model;
mod options;
mod privacy_key;
mod probe;
mod read;
mod retention;
mod schema;
mod security;
mod series;
mod sources;
mod store;
mod uptime;
mod writer;

pub use alert_quality::RuleQuality;
pub use alerts::{
    AlertEventRow, AlertNotificationRow, AlertWrite, OutboxState, PendingNotification,
    ResponseTimes,
};
pub use cursor::{SampleCursor, SeriesSamples};
pub use error::StoreError;
pub use event_totals::{Aggregate, EventTotals, EventTotalsQuery};
pub use experiments::{ArmEvent, ArmSummary};
pub use incidents::{Incident, IncidentStatus, IncidentUpdate, NewIncident};
pub use kept::KeptState;
pub use lock::StoreLock;
pub use logs::{ErrorGroup, ErrorRow, LEVELS, LogQuery, LogRow, LogWrite, fts_query, severity};
pub use model::{CheckResultRow, PruneReport, Sample, SeriesInfo, StoreStats, WriteBatch};
pub use options::{RetentionPolicy, StoreOptions, Synchronous};
pub use privacy_key::{privacy_key, privacy_key_path};
pub use probe::StoreProbe;
pub use schema::SCHEMA_VERSION;
pub use security::{SECURITY_EVENT_TYPES, SecurityEventQuery, SecurityEventRow};
pub use series::{
    AppEventRow, DENSE_POINTS, MAX_POINTS_PER_SERIES, MaintenanceReport, RangePlan, Resolution,
    SeriesColumns, SeriesPoint, SeriesPoints, SeriesPolicy,
};
pub use sources::{AppEventRecord, SourceDeleted};
pub use store::{Store, WriteTicket};
pub use uptime::{HistoryBucket, UptimeWindow};
