//! Uptime of a check over trailing windows (1h, 24h, 7d, 30d...), counted from `check_results`.
//!
//! A run counts as up when its status was `healthy` or `degraded` (the check was
//! serving). One range scan of the `(check_name, ts)` index answers every window.

use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use std::sync::Arc;
use std::time::Duration;

/// The runs of one check in one trailing window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UptimeWindow {
    /// The window's length, ending at the time of the query.
    pub window: Duration,
    /// Runs recorded in the window.
    pub runs: u64,
    /// Of those, the runs that were healthy or degraded.
    pub up_runs: u64,
}

impl UptimeWindow {
    /// `up_runs / runs * 100`, or `None` when there were no runs.
    pub fn percent(&self) -> Option<f64> {
        // Run counts stay far below 2^53: the conversions are exact.
        (self.runs > 0).then(|| self.up_runs as f64 / self.runs as f64 * 100.0)
    }
}

impl Store {
    /// The uptime of each of `checks` over each of `windows` (trailing, ending `now`):
    /// one list per check, windows in the order given. One read connection answers all.
    pub async fn check_uptimes(
        &self,
        checks: Vec<String>,
        windows: &[Duration],
        now: DateTime<Utc>,
    ) -> Result<Vec<Vec<UptimeWindow>>, StoreError> {
        let windows = windows.to_vec();
        let pool = Arc::clone(&self.shared.reads);
        tokio::task::spawn_blocking(move || {
            pool.with(|conn| {
                checks
                    .iter()
                    .map(|check| check_uptime(conn, check, &windows, now))
                    .collect()
            })
        })
        .await
        .map_err(|e| StoreError::Internal {
            reason: format!("an uptime query task failed: {e}"),
        })?
    }
}

/// Reads the runs of the longest window once and counts each window from them.
fn check_uptime(
    conn: &Connection,
    check: &str,
    windows: &[Duration],
    now: DateTime<Utc>,
) -> Result<Vec<UptimeWindow>, StoreError> {
    let ctx = |e| StoreError::sqlite("reading check uptime", e);
    let now_ms = now.timestamp_millis();
    let start = |window: &Duration| {
        now_ms.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX))
    };
    let Some(oldest) = windows.iter().map(start).min() else {
        return Ok(Vec::new());
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT ts, status IN ('healthy', 'degraded') FROM check_results \
             WHERE check_name = ?1 AND ts >= ?2 AND ts <= ?3",
        )
        .map_err(ctx)?;
    let mut out: Vec<UptimeWindow> = windows
        .iter()
        .map(|&window| UptimeWindow {
            window,
            runs: 0,
            up_runs: 0,
        })
        .collect();
    let starts: Vec<i64> = windows.iter().map(start).collect();
    let mut rows = stmt.query(params![check, oldest, now_ms]).map_err(ctx)?;
    while let Some(row) = rows.next().map_err(ctx)? {
        let ts: i64 = row.get(0).map_err(ctx)?;
        let up: bool = row.get(1).map_err(ctx)?;
        for (counts, &from) in out.iter_mut().zip(&starts) {
            if ts >= from {
                counts.runs += 1;
                counts.up_runs += u64::from(up);
            }
        }
    }
    Ok(out)
}
