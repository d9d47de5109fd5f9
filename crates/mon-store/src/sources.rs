//! Application events read back by type (`GET /api/v1/deployments`), and every row of one
//! source label deleted at once (`DELETE /api/v1/sources/{source}`, which `mon demo
//! --delete` calls): the application events, log records and error groups an ingested
//! batch labelled `?source=` left in the store, and the series labelled `source=<label>`
//! that the ingest sampler wrote from that source's recorder, with their points.

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::params;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One stored application event of one type.
#[derive(Debug, Clone, PartialEq)]
pub struct AppEventRecord {
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// The event as stored (JSON).
    pub body: serde_json::Value,
    /// The source label of its batch, if it had one.
    pub source: Option<String>,
}

/// How many rows [`Store::delete_source`] removed, by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceDeleted {
    /// Application events (`app_events`).
    pub app_events: u64,
    /// Log records kept for search (errors' records included).
    pub logs: u64,
    /// Error groups whose kept samples carry the label in their context.
    pub errors: u64,
    /// Series labelled `source=<label>` (`series` rows).
    pub series: u64,
    /// Their points: raw samples and 1-minute and 1-hour rollup rows.
    pub points: u64,
}

/// The statements that delete a source's series: their points first, then the series.
const DELETE_SERIES: [&str; 3] = [
    "DELETE FROM samples WHERE series_id IN \
     (SELECT id FROM series WHERE json_extract(labels, '$.source') = ?1)",
    "DELETE FROM samples_1m WHERE series_id IN \
     (SELECT id FROM series WHERE json_extract(labels, '$.source') = ?1)",
    "DELETE FROM samples_1h WHERE series_id IN \
     (SELECT id FROM series WHERE json_extract(labels, '$.source') = ?1)",
];

impl Store {
    /// The stored events of type `kind` within `from..=to`, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the read fails.
    pub async fn app_events(
        &self,
        kind: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<AppEventRecord>, StoreError> {
        let kind = kind.to_owned();
        self.read(move |conn| {
            let ctx = |e| StoreError::sqlite("reading application events", e);
            let mut stmt = conn
                .prepare_cached(
                    "SELECT ts, body, source FROM app_events \
                     WHERE type = ?1 AND ts >= ?2 AND ts <= ?3 \
                     ORDER BY ts DESC, id DESC LIMIT ?4",
                )
                .map_err(ctx)?;
            stmt.query_map(
                params![kind, from.timestamp_millis(), to.timestamp_millis(), limit],
                |row| {
                    let body: String = row.get(1)?;
                    Ok(AppEventRecord {
                        ts: DateTime::from_timestamp_millis(row.get(0)?).unwrap_or_default(),
                        body: serde_json::from_str(&body).unwrap_or_default(),
                        source: row.get(2)?,
                    })
                },
            )
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(ctx)
        })
        .await
    }

    /// The latest `deployment` event of `service` (of `version`, when given) at or before
    /// `until`, found in SQL however many deployments are stored.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the read fails.
    pub async fn latest_deployment(
        &self,
        service: &str,
        version: Option<&str>,
        until: DateTime<Utc>,
    ) -> Result<Option<AppEventRecord>, StoreError> {
        let (service, version) = (service.to_owned(), version.map(str::to_owned));
        self.read(move |conn| {
            let ctx = |e| StoreError::sqlite("reading the latest deployment", e);
            let mut stmt = conn
                .prepare_cached(
                    "SELECT ts, body, source FROM app_events \
                     WHERE type = 'deployment' AND ts <= ?1 \
                     AND json_extract(body, '$.service') = ?2 \
                     AND (?3 IS NULL OR json_extract(body, '$.version') = ?3) \
                     ORDER BY ts DESC, id DESC LIMIT 1",
                )
                .map_err(ctx)?;
            let mut rows = stmt
                .query(params![until.timestamp_millis(), service, version])
                .map_err(ctx)?;
            let Some(row) = rows.next().map_err(ctx)? else {
                return Ok(None);
            };
            let body: String = row.get(1).map_err(ctx)?;
            Ok(Some(AppEventRecord {
                ts: DateTime::from_timestamp_millis(row.get(0).map_err(ctx)?).unwrap_or_default(),
                body: serde_json::from_str(&body).unwrap_or_default(),
                source: row.get(2).map_err(ctx)?,
            }))
        })
        .await
    }

    /// Deletes every row labelled `source`: application events of batches sent with
    /// `?source=`, log records with that source, error groups one of whose kept
    /// samples has `source` as its context's `source`, and the series labelled
    /// `source=<source>` with their samples and rollups (one transaction, after which the
    /// writer forgets its cached series ids). One transaction per table, each through the
    /// writer; running it again deletes what is left.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for an empty label; [`StoreError::Closed`];
    /// [`StoreError::Sqlite`] when a step fails (earlier steps stay committed).
    pub async fn delete_source(&self, source: &str) -> Result<SourceDeleted, StoreError> {
        if source.trim().is_empty() {
            return Err(StoreError::InvalidInput {
                reason: "the source label to delete is empty".to_owned(),
            });
        }
        let mut deleted = SourceDeleted::default();
        for (sql, what, count) in [
            (
                "DELETE FROM app_events WHERE source = ?1",
                "deleting a source's application events",
                &mut deleted.app_events,
            ),
            (
                "DELETE FROM logs WHERE source = ?1",
                "deleting a source's log records",
                &mut deleted.logs,
            ),
            (
                "DELETE FROM errors WHERE EXISTS (SELECT 1 FROM json_each(errors.samples) AS s \
                 WHERE json_extract(s.value, '$.context.source') = ?1)",
                "deleting a source's error groups",
                &mut deleted.errors,
            ),
        ] {
            let source = source.to_owned();
            *count = self
                .run_task(Box::new(move |c| {
                    c.prepare_cached(sql)
                        .and_then(|mut s| s.execute(params![source]))
                        .map(|n| n as u64)
                        .map_err(|e| StoreError::sqlite(what, e))
                }))
                .await?;
        }
        let series = Arc::new(AtomicU64::new(0));
        let (label, counted) = (source.to_owned(), Arc::clone(&series));
        let task: crate::series::Task = Box::new(move |c| {
            let ctx = |e| StoreError::sqlite("deleting a source's series", e);
            let mut points = 0;
            for sql in DELETE_SERIES {
                points += c
                    .prepare_cached(sql)
                    .and_then(|mut s| s.execute(params![label]))
                    .map_err(ctx)? as u64;
            }
            let n = c
                .prepare_cached("DELETE FROM series WHERE json_extract(labels, '$.source') = ?1")
                .and_then(|mut s| s.execute(params![label]))
                .map_err(ctx)?;
            counted.store(n as u64, Ordering::Relaxed);
            Ok(points)
        });
        let (ack, rx) = tokio::sync::oneshot::channel();
        self.send_job(crate::writer::Job::SeriesDeletion { task, ack })
            .await?;
        deleted.points = rx.await.map_err(|_| StoreError::Closed)??;
        deleted.series = series.load(Ordering::Relaxed);
        Ok(deleted)
    }
}
