//! Uptime of a check over trailing windows (1h, 24h, 7d, 30d...), and its history in equal
//! buckets (the coloured bars of the UI and the status page), counted from `check_results`.
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

/// The runs of one check in one bucket of a [`Store::check_history`] range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryBucket {
    /// The bucket's start; it lasts the range's bucket width.
    pub start: DateTime<Utc>,
    /// Runs recorded in the bucket.
    pub runs: u64,
    /// Of those, the runs that were healthy or degraded (up, as in [`UptimeWindow`]).
    pub up: u64,
    /// Of those, the runs that were degraded.
    pub degraded: u64,
    /// Of those, the runs that were unhealthy.
    pub down: u64,
}

impl HistoryBucket {
    /// A bucket starting at `start` without runs.
    pub fn empty(start: DateTime<Utc>) -> HistoryBucket {
        HistoryBucket {
            start,
            runs: 0,
            up: 0,
            degraded: 0,
            down: 0,
        }
    }

    /// `up / runs * 100`, or `None` when there were no runs.
    pub fn percent(&self) -> Option<f64> {
        (self.runs > 0).then(|| self.up as f64 / self.runs as f64 * 100.0)
    }

    /// What a history bar shows: `down` when any run was unhealthy, `degraded` when any
    /// run was degraded or unknown, `up` when every run was healthy, `none` without runs.
    pub fn state(&self) -> &'static str {
        if self.runs == 0 {
            "none"
        } else if self.down > 0 {
            "down"
        } else if self.degraded > 0 || self.up < self.runs {
            "degraded"
        } else {
            "up"
        }
    }
}

impl Store {
    /// The results of each of `checks` in `buckets` equal buckets of `window` ending at
    /// `now` (oldest first; buckets without runs included): one list per check, in the
    /// order given. One aggregate query answers every check, grouped by check and bucket
    /// in SQL, so the work read back is `checks × buckets` rows whatever the run count.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for zero buckets or a window shorter than one
    /// millisecond per bucket; [`StoreError::Sqlite`] when the read fails.
    pub async fn check_history(
        &self,
        checks: Vec<String>,
        window: Duration,
        buckets: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<Vec<HistoryBucket>>, StoreError> {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        if buckets == 0 || window_ms < i64::from(buckets) {
            return Err(StoreError::InvalidInput {
                reason: format!(
                    "a history of {buckets} buckets over {window_ms} ms: give at least one \
                     bucket and at least one millisecond per bucket"
                ),
            });
        }
        let width = window_ms / i64::from(buckets);
        let to = now.timestamp_millis();
        let from = to - width * i64::from(buckets);
        let names = serde_json::Value::from(checks.clone()).to_string();
        let rows = self
            .read(move |conn| {
                let ctx = |e| StoreError::sqlite("reading check history", e);
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT check_name, (ts - ?2) / ?3 AS bucket, COUNT(*), \
                         SUM(status IN ('healthy', 'degraded')), SUM(status = 'degraded'), \
                         SUM(status = 'unhealthy') \
                         FROM check_results \
                         WHERE check_name IN (SELECT value FROM json_each(?1)) \
                         AND ts >= ?2 AND ts <= ?4 \
                         GROUP BY check_name, bucket",
                    )
                    .map_err(ctx)?;
                stmt.query_map(params![names, from, width, to], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        [
                            row.get::<_, i64>(2)?,
                            row.get::<_, i64>(3)?,
                            row.get::<_, i64>(4)?,
                            row.get::<_, i64>(5)?,
                        ],
                    ))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(ctx)
            })
            .await?;
        let empty: Vec<HistoryBucket> = (0..i64::from(buckets))
            .map(|i| {
                HistoryBucket::empty(
                    DateTime::from_timestamp_millis(from + i * width).unwrap_or_default(),
                )
            })
            .collect();
        let mut out: Vec<Vec<HistoryBucket>> = vec![empty; checks.len()];
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        for (name, bucket, [runs, up, degraded, down]) in rows {
            // A run at `now` itself ends the last bucket.
            let slot = usize::try_from(bucket.min(i64::from(buckets) - 1)).ok();
            for (i, _) in checks.iter().enumerate().filter(|(_, c)| **c == name) {
                if let Some(b) = slot.and_then(|s| out[i].get_mut(s)) {
                    b.runs += count(runs);
                    b.up += count(up);
                    b.degraded += count(degraded);
                    b.down += count(down);
                }
            }
        }
        Ok(out)
    }
}
