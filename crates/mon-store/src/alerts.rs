//! Alerting state: alerts (one row per alert instance, upserted on every change),
//! their transition history (`alert_events`), the delivery outbox
//! (`notifications`, one row per channel and idempotency key) and silences.
//!
//! Writes travel in [`WriteBatch::alerting`](crate::WriteBatch) through the one
//! writer thread like every other write; the queries here read on the read pool.

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use mon_core::{Alert, Notification};
use rusqlite::{Connection, OptionalExtension, params};

/// One alerting write.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AlertWrite {
    /// Insert or replace an alert by id.
    Alert(Alert),
    /// Append one transition to an alert's history.
    Event {
        /// The alert's id.
        alert_id: String,
        /// When it happened.
        at: DateTime<Utc>,
        /// What happened: `pending`, `firing`, `acknowledged`, `resolved`, `notified`...
        kind: String,
        /// Who or what did it, or why (free text).
        detail: String,
    },
    /// Queue a notification for a channel; a second enqueue with the same channel
    /// and key is ignored, so a notification is never queued twice.
    Enqueue {
        /// The channel's name.
        channel: String,
        /// What to send (its `idempotency_key` is the row's key).
        notification: Notification,
        /// When it was queued.
        at: DateTime<Utc>,
    },
    /// Record the outcome of one delivery attempt.
    Attempt {
        /// The channel's name.
        channel: String,
        /// The notification's idempotency key.
        key: String,
        /// The new state: `pending` (will retry), `delivered` or `failed` (given up).
        state: OutboxState,
        /// Attempts made so far.
        attempts: u32,
        /// The error of a failed attempt.
        error: Option<String>,
        /// When this attempt ended.
        at: DateTime<Utc>,
    },
    /// Delete history older than `before`: resolved alerts and their transitions,
    /// delivered or failed notifications, silences that ended — at most `limit`
    /// rows of each table, so one write stays short.
    Prune {
        /// Rows last changed before this go.
        before: DateTime<Utc>,
        /// The most rows deleted per table.
        limit: u32,
    },
    /// Insert or replace a silence (stored as JSON) by id.
    Silence {
        /// The silence's id.
        id: String,
        /// The silence, serialised by its owner.
        body: serde_json::Value,
    },
}

impl crate::WriteBatch {
    /// A batch of alerting writes only.
    pub fn from_alerting(alerting: Vec<AlertWrite>) -> Self {
        crate::WriteBatch {
            alerting,
            ..Default::default()
        }
    }
}

/// Where a queued notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Not delivered yet; will be tried (again).
    Pending,
    /// Delivered.
    Delivered,
    /// Given up on (the receiver refused it for good).
    Failed,
}

impl OutboxState {
    /// The lowercase name stored in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Failed => "failed",
        }
    }
}

/// A notification still to deliver, as read back at start.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingNotification {
    /// The channel's name.
    pub channel: String,
    /// What to send.
    pub notification: Notification,
    /// Attempts already made.
    pub attempts: u32,
}

/// One transition of an alert's history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlertEventRow {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: String,
    /// Who or what did it, or why.
    pub detail: String,
}

/// One notification about an alert in the delivery outbox, and how its delivery went.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlertNotificationRow {
    /// The channel's name.
    pub channel: String,
    /// Why it was sent: `firing`, `reminder`, `acknowledged`, `resolved`.
    pub transition: String,
    /// `pending` (will be tried again), `delivered` or `failed` (given up).
    pub state: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When its state last changed.
    pub updated_at: DateTime<Utc>,
}

/// How fast alerts were handled, from their history.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ResponseTimes {
    /// Mean seconds from firing to acknowledgement.
    pub mean_time_to_acknowledge_seconds: Option<f64>,
    /// Alerts acknowledged.
    pub acknowledged: u64,
    /// Mean seconds from firing to resolution.
    pub mean_time_to_resolve_seconds: Option<f64>,
    /// Alerts resolved (after firing).
    pub resolved: u64,
}

/// Applies alerting writes inside the writer's open transaction.
pub(crate) fn apply(conn: &Connection, writes: &[AlertWrite]) -> Result<(), StoreError> {
    let json = |v: &dyn erased::Json| v.to_json();
    for write in writes {
        let result = match write {
            AlertWrite::Alert(alert) => conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO alerts \
                     (id, fingerprint, rule, state, severity, started_at, updated_at, body) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        alert.id,
                        alert.fingerprint,
                        alert.rule,
                        alert.state.as_str(),
                        alert.severity.as_str(),
                        alert.started_at.timestamp_millis(),
                        alert.updated_at.timestamp_millis(),
                        json(alert)?,
                    ])
                }),
            AlertWrite::Event {
                alert_id,
                at,
                kind,
                detail,
            } => {
                conn.prepare_cached(
                    "INSERT INTO alert_events (alert_id, ts, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute(params![alert_id, at.timestamp_millis(), kind, detail]))
            }
            AlertWrite::Enqueue {
                channel,
                notification,
                at,
            } => conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO notifications \
                     (channel, key, body, state, attempts, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        channel,
                        notification.idempotency_key,
                        json(notification)?,
                        at.timestamp_millis()
                    ])
                }),
            AlertWrite::Attempt {
                channel,
                key,
                state,
                attempts,
                error,
                at,
            } => conn
                .prepare_cached(
                    "UPDATE notifications SET state = ?3, attempts = ?4, last_error = ?5, \
                     updated_at = ?6 WHERE channel = ?1 AND key = ?2",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        channel,
                        key,
                        state.as_str(),
                        attempts,
                        error,
                        at.timestamp_millis()
                    ])
                }),
            AlertWrite::Prune { before, limit } => prune(conn, before.timestamp_millis(), *limit),
            AlertWrite::Silence { id, body } => conn
                .prepare_cached("INSERT OR REPLACE INTO silences (id, body) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![id, body.to_string()])),
        };
        result.map_err(|e| StoreError::sqlite("writing alerting state", e))?;
    }
    Ok(())
}

/// One bounded pass of [`AlertWrite::Prune`]; returns the rows deleted.
fn prune(conn: &Connection, before_ms: i64, limit: u32) -> rusqlite::Result<usize> {
    let mut deleted = 0;
    for sql in [
        // Transitions of resolved alerts first: the join needs the alert rows.
        "DELETE FROM alert_events WHERE id IN (SELECT e.id FROM alert_events e \
         JOIN alerts a ON a.id = e.alert_id \
         WHERE a.state = 'resolved' AND a.updated_at < ?1 LIMIT ?2)",
        "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts \
         WHERE state = 'resolved' AND updated_at < ?1 LIMIT ?2)",
        "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications \
         WHERE state != 'pending' AND updated_at < ?1 LIMIT ?2)",
        "DELETE FROM silences WHERE id IN (SELECT id FROM silences \
         WHERE unixepoch(json_extract(body, '$.ends_at'), 'subsec') * 1000 < ?1 LIMIT ?2)",
    ] {
        deleted += conn
            .prepare_cached(sql)?
            .execute(params![before_ms, limit])?;
    }
    Ok(deleted)
}

/// Serialising to JSON text inside rusqlite's error type.
mod erased {
    pub(super) trait Json {
        fn to_json(&self) -> rusqlite::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> rusqlite::Result<String> {
            serde_json::to_string(self)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Internal {
        reason: format!("a stored alerting row is not valid JSON: {e}"),
    })
}

fn alerts_where(
    conn: &Connection,
    sql: &str,
    param: &dyn rusqlite::ToSql,
) -> Result<Vec<Alert>, StoreError> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(|e| StoreError::sqlite("preparing an alert query", e))?;
    let rows = stmt
        .query_map([param], |row| row.get::<_, String>(0))
        .map_err(|e| StoreError::sqlite("querying alerts", e))?;
    rows.map(|r| {
        r.map_err(|e| StoreError::sqlite("reading an alert", e))
            .and_then(|body| parse(&body))
    })
    .collect()
}

impl Store {
    /// Alerts not resolved (pending, firing, acknowledged), oldest first: what the
    /// engine restores at start.
    pub fn open_alerts_blocking(&self) -> Result<Vec<Alert>, StoreError> {
        self.shared.reads.with(|conn| {
            alerts_where(
                conn,
                "SELECT body FROM alerts WHERE state != ?1 ORDER BY started_at, id",
                &"resolved",
            )
        })
    }

    /// The most recent alerts of every state, newest first, at most `limit`.
    pub async fn recent_alerts(&self, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            alerts_where(
                conn,
                "SELECT body FROM alerts ORDER BY updated_at DESC, id LIMIT ?1",
                &limit,
            )
        })
        .await
    }

    /// One alert by id, any state.
    pub async fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            Ok(
                alerts_where(conn, "SELECT body FROM alerts WHERE id = ?1", &id)?
                    .into_iter()
                    .next(),
            )
        })
        .await
    }

    /// The history of one alert, oldest first.
    pub async fn alert_events(&self, alert_id: &str) -> Result<Vec<AlertEventRow>, StoreError> {
        let alert_id = alert_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT ts, kind, detail FROM alert_events WHERE alert_id = ?1 ORDER BY id",
                )
                .map_err(|e| StoreError::sqlite("preparing the alert history query", e))?;
            let rows = stmt
                .query_map(params![alert_id], |row| {
                    Ok(AlertEventRow {
                        at: DateTime::from_timestamp_millis(row.get(0)?).unwrap_or_default(),
                        kind: row.get(1)?,
                        detail: row.get(2)?,
                    })
                })
                .map_err(|e| StoreError::sqlite("querying alert history", e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| StoreError::sqlite("reading alert history", e))
        })
        .await
    }

    /// The notifications queued about one alert (alone or in a group), oldest first,
    /// with where their delivery stands.
    pub async fn alert_notifications(
        &self,
        alert_id: &str,
    ) -> Result<Vec<AlertNotificationRow>, StoreError> {
        let alert_id = alert_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT n.channel, json_extract(n.body, '$.transition'), n.state, n.attempts, \
                     n.last_error, n.created_at, n.updated_at FROM notifications n \
                     WHERE EXISTS (SELECT 1 FROM json_each(n.body, '$.alerts') a \
                                   WHERE json_extract(a.value, '$.id') = ?1) \
                     ORDER BY n.id",
                )
                .map_err(|e| StoreError::sqlite("preparing the alert notifications query", e))?;
            let time = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
            let rows = stmt
                .query_map(params![alert_id], |row| {
                    Ok(AlertNotificationRow {
                        channel: row.get(0)?,
                        transition: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        state: row.get(2)?,
                        attempts: row.get(3)?,
                        last_error: row.get(4)?,
                        queued_at: time(row.get(5)?),
                        updated_at: time(row.get(6)?),
                    })
                })
                .map_err(|e| StoreError::sqlite("querying alert notifications", e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| StoreError::sqlite("reading alert notifications", e))
        })
        .await
    }

    /// Mean seconds from firing to acknowledgement and from firing to resolution,
    /// with how many alerts each mean is over, for alerts that fired at or after
    /// `since` (from the history, so it survives restarts).
    pub async fn alert_response_times(
        &self,
        since: DateTime<Utc>,
    ) -> Result<ResponseTimes, StoreError> {
        let since = since.timestamp_millis();
        self.read(move |conn| {
            let mean = |kind: &str| -> Result<(Option<f64>, u64), StoreError> {
                conn.query_row(
                    "SELECT AVG(done.ts - fired.ts) / 1000.0, COUNT(*) \
                     FROM alert_events fired JOIN alert_events done \
                       ON done.alert_id = fired.alert_id AND done.kind = ?1 \
                     WHERE fired.kind = 'firing' AND fired.ts >= ?2",
                    params![kind, since],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .map_err(|e| StoreError::sqlite("computing alert response times", e))
            };
            let (mean_time_to_acknowledge_seconds, acknowledged) = mean("acknowledged")?;
            let (mean_time_to_resolve_seconds, resolved) = mean("resolved")?;
            Ok(ResponseTimes {
                mean_time_to_acknowledge_seconds,
                acknowledged,
                mean_time_to_resolve_seconds,
                resolved,
            })
        })
        .await
    }

    /// Notifications queued and not yet delivered nor given up on, oldest first.
    pub fn pending_notifications_blocking(&self) -> Result<Vec<PendingNotification>, StoreError> {
        self.shared.reads.with(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT channel, body, attempts FROM notifications \
                     WHERE state = 'pending' ORDER BY id",
                )
                .map_err(|e| StoreError::sqlite("preparing the outbox query", e))?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, u32>(2)?,
                    ))
                })
                .map_err(|e| StoreError::sqlite("querying the outbox", e))?;
            rows.map(|r| {
                let (channel, body, attempts) =
                    r.map_err(|e| StoreError::sqlite("reading the outbox", e))?;
                Ok(PendingNotification {
                    channel,
                    notification: parse(&body)?,
                    attempts,
                })
            })
            .collect()
        })
    }

    /// The state of one queued notification, if it was ever queued.
    pub fn notification_state_blocking(
        &self,
        channel: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.shared.reads.with(|conn| {
            conn.query_row(
                "SELECT state FROM notifications WHERE channel = ?1 AND key = ?2",
                params![channel, key],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| StoreError::sqlite("reading the outbox", e))
        })
    }

    /// Every stored silence, as its owner serialised it.
    pub fn silences_blocking(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        self.shared.reads.with(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM silences ORDER BY id")
                .map_err(|e| StoreError::sqlite("preparing the silence query", e))?;
            let rows = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(|e| StoreError::sqlite("querying silences", e))?;
            rows.map(|r| {
                r.map_err(|e| StoreError::sqlite("reading a silence", e))
                    .and_then(|body| parse(&body))
            })
            .collect()
        })
    }
}
