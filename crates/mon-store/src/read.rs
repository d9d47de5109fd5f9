//! The read side: a small pool of read-only connections and the queries that run on them.
//!
//! Readers never touch the write connection. In WAL mode they read a consistent snapshot
//! while the writer commits, so queries and ingest do not block each other.

use crate::model::{CheckResultRow, SeriesInfo};
use crate::writer::{canonical_labels, sql_limit};
use crate::{StoreError, StoreOptions};
use chrono::{DateTime, Utc};
use mon_core::{CheckOutcome, Status};
use rusqlite::{Connection, OpenFlags, Row, params};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Read-only connections, handed out one per query.
#[derive(Debug)]
pub(crate) struct ReadPool {
    idle: Mutex<Vec<Connection>>,
    available: Condvar,
}

/// A connection borrowed from the pool; given back when dropped.
struct Lease<'a> {
    pool: &'a ReadPool,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
            self.pool.available.notify_one();
        }
    }
}

/// How much of the store file each read connection maps into memory (SQLite's
/// `mmap_size`): address space, not memory; only the pages read count as resident, and
/// they are shared by every connection and with the kernel's file cache.
const READ_MMAP_BYTES: i64 = 256 * 1024 * 1024;

impl ReadPool {
    /// Opens `options.read_connections` read-only connections to an existing WAL database.
    pub(crate) fn open(path: &Path, options: &StoreOptions) -> Result<ReadPool, StoreError> {
        let mut idle = Vec::with_capacity(options.read_connections);
        for _ in 0..options.read_connections {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| crate::store::open_error(path, "opening a read connection", e))?;
            conn.busy_timeout(options.busy_timeout)
                .map_err(|e| crate::store::open_error(path, "setting the busy timeout", e))?;
            // Range scans read the file's pages in place instead of copying them into
            // each connection's page cache (the WAL is still read through it).
            conn.pragma_update(None, "mmap_size", READ_MMAP_BYTES)
                .map_err(|e| crate::store::open_error(path, "mapping the file for reads", e))?;
            idle.push(conn);
        }
        Ok(ReadPool {
            idle: Mutex::new(idle),
            available: Condvar::new(),
        })
    }

    /// Runs `f` on an idle connection, waiting for one if all are busy. Blocks: call it
    /// from a blocking thread.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let conn = loop {
            if let Some(conn) = idle.pop() {
                break conn;
            }
            idle = self
                .available
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        };
        drop(idle);
        let lease = Lease {
            pool: self,
            conn: Some(conn),
        };
        match &lease.conn {
            Some(conn) => f(conn),
            None => Err(StoreError::Internal {
                reason: "a read connection disappeared from its lease".to_owned(),
            }),
        }
    }
}

/// Check results of one check, newest first.
pub(crate) fn check_results(
    conn: &Connection,
    check: &str,
    since: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<Vec<CheckResultRow>, StoreError> {
    let ctx = |e| StoreError::sqlite("reading check results", e);
    let since_ms = since.map_or(i64::MIN, |t| t.timestamp_millis());
    let mut stmt = conn
        .prepare_cached(
            "SELECT check_name, ts, status, latency_ms, message, details FROM check_results \
             WHERE check_name = ?1 AND ts >= ?2 ORDER BY ts DESC, id DESC LIMIT ?3",
        )
        .map_err(ctx)?;
    let mut rows = stmt
        .query(params![check, since_ms, sql_limit(limit as u64)])
        .map_err(ctx)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(ctx)? {
        out.push(decode_check_result(row)?);
    }
    Ok(out)
}

/// The newest result of every check, in check name order.
pub(crate) fn latest_check_results(conn: &Connection) -> Result<Vec<CheckResultRow>, StoreError> {
    let ctx = |e| StoreError::sqlite("reading the latest check results", e);
    // Walk the distinct check names with index seeks (a loose index scan), then pick each
    // check's newest row with one more seek: cost grows with the number of checks, not rows.
    let mut stmt = conn
        .prepare_cached(
            "WITH RECURSIVE names(name) AS ( \
                 SELECT MIN(check_name) FROM check_results \
                 UNION ALL \
                 SELECT (SELECT MIN(check_name) FROM check_results WHERE check_name > names.name) \
                 FROM names WHERE names.name IS NOT NULL \
             ) \
             SELECT c.check_name, c.ts, c.status, c.latency_ms, c.message, c.details \
             FROM names JOIN check_results c ON c.id = ( \
                 SELECT id FROM check_results WHERE check_name = names.name \
                 ORDER BY ts DESC, id DESC LIMIT 1) \
             WHERE names.name IS NOT NULL ORDER BY c.check_name",
        )
        .map_err(ctx)?;
    let mut rows = stmt.query([]).map_err(ctx)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(ctx)? {
        out.push(decode_check_result(row)?);
    }
    Ok(out)
}

/// Every series, by name then labels.
pub(crate) fn series_list(conn: &Connection) -> Result<Vec<SeriesInfo>, StoreError> {
    let ctx = |e| StoreError::sqlite("listing series", e);
    let mut stmt = conn
        .prepare_cached("SELECT name, labels FROM series ORDER BY name, labels")
        .map_err(ctx)?;
    let mut rows = stmt.query([]).map_err(ctx)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(ctx)? {
        let name: String = row.get(0).map_err(ctx)?;
        let labels: String = row.get(1).map_err(ctx)?;
        let labels = decode_labels(&name, &labels)?;
        out.push(SeriesInfo { name, labels });
    }
    Ok(out)
}

/// The labels of series `name` as stored (a JSON object).
pub(crate) fn decode_labels(
    name: &str,
    labels: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(labels).map_err(|e| StoreError::Decode {
        what: "series labels",
        reason: format!("{name} has labels {labels:?}: {e}"),
    })
}

/// The samples of one series with `from <= ts <= to`, oldest first.
pub(crate) fn samples(
    conn: &Connection,
    name: &str,
    labels: &BTreeMap<String, String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, f64)>, StoreError> {
    let ctx = |e| StoreError::sqlite("reading samples", e);
    let canonical = canonical_labels(labels)?;
    // One statement, so the series lookup and the range read see the same snapshot.
    let mut stmt = conn
        .prepare_cached(
            "SELECT ts, value FROM samples \
             WHERE series_id = (SELECT id FROM series WHERE name = ?1 AND labels = ?2) \
             AND ts >= ?3 AND ts <= ?4 ORDER BY ts",
        )
        .map_err(ctx)?;
    let mut rows = stmt
        .query(params![
            name,
            canonical,
            from.timestamp_millis(),
            to.timestamp_millis()
        ])
        .map_err(ctx)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(ctx)? {
        let ts: i64 = row.get(0).map_err(ctx)?;
        let value: f64 = row.get(1).map_err(ctx)?;
        out.push((decode_ts(ts)?, value));
    }
    Ok(out)
}

fn decode_ts(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Decode {
        what: "timestamp",
        reason: format!("{ms} ms since the epoch is out of range"),
    })
}

fn decode_check_result(row: &Row<'_>) -> Result<CheckResultRow, StoreError> {
    let ctx = |e| StoreError::sqlite("reading a check result", e);
    let check: String = row.get(0).map_err(ctx)?;
    let ts: i64 = row.get(1).map_err(ctx)?;
    let status: String = row.get(2).map_err(ctx)?;
    let latency_ms: f64 = row.get(3).map_err(ctx)?;
    let message: String = row.get(4).map_err(ctx)?;
    let details: Option<String> = row.get(5).map_err(ctx)?;
    let decode = |reason: String| StoreError::Decode {
        what: "check result",
        reason: format!("check {check}: {reason}"),
    };
    let status =
        Status::parse(&status).ok_or_else(|| decode(format!("unknown status {status:?}")))?;
    let nanos = latency_ms * 1e6;
    if !(nanos.is_finite() && nanos >= 0.0 && nanos < u64::MAX as f64) {
        return Err(decode(format!("latency {latency_ms} ms is out of range")));
    }
    let details = match details {
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| decode(format!("details are not JSON: {e}")))?
        }
        None => serde_json::Value::Null,
    };
    Ok(CheckResultRow {
        outcome: CheckOutcome::new(status, Duration::from_nanos(nanos.round() as u64), message)
            .with_details(details)
            .with_observed_at(decode_ts(ts)?),
        check,
    })
}
