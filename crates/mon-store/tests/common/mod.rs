//! Helpers shared by the integration tests: row builders, timestamps, polling with a deadline.
#![allow(dead_code, unreachable_pub)]

use chrono::{DateTime, Utc};
use mon_core::{CheckOutcome, Status};
use mon_store::{CheckResultRow, Sample};
use std::collections::BTreeMap;
use std::time::Duration;

/// A timestamp `ms` milliseconds after the epoch.
pub fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("test timestamp in range")
}

/// Labels from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A sample of `name{labels}` at `ts_ms`.
pub fn sample(name: &str, pairs: &[(&str, &str)], ts_ms: i64, value: f64) -> Sample {
    Sample {
        name: name.to_owned(),
        labels: labels(pairs),
        ts: at(ts_ms),
        value,
    }
}

/// A check result observed at `ts_ms`, with details that name the timestamp.
pub fn check_row(check: &str, status: Status, ts_ms: i64, latency_ms: u64) -> CheckResultRow {
    CheckResultRow {
        check: check.to_owned(),
        outcome: CheckOutcome::new(
            status,
            Duration::from_micros(latency_ms * 1000 + 500),
            format!("{check} at {ts_ms}"),
        )
        .with_details(serde_json::json!({"ts": ts_ms, "nested": {"ok": true}}))
        .with_observed_at(at(ts_ms)),
    }
}

/// Opens a plain rusqlite connection to the store file and takes the write lock
/// (`BEGIN IMMEDIATE`), so the store's writer blocks until [`release`] is called.
pub fn hold_write_lock(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open a second connection");
    conn.execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    conn
}

/// Releases the lock taken by [`hold_write_lock`].
pub fn release(conn: rusqlite::Connection) {
    conn.execute_batch("ROLLBACK")
        .expect("release the write lock");
}
