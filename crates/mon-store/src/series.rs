//! Time series: 1-minute and 1-hour rollups of the raw samples (count, sum, min, max),
//! their retention, range queries that choose the resolution by range, and the
//! application events pushed to `POST /api/v1/events`.
//!
//! Rollups and retention run as small tasks through the writer queue (at most
//! [`SeriesPolicy::batch_series`] series per transaction), so they never hold the writer
//! for long and ingest commits between them. A rollup is idempotent (`INSERT OR REPLACE`
//! of whole buckets), so a late raw sample is folded in by the next pass over its bucket.

use crate::StoreError;
use crate::store::Store;
use crate::writer::{Job, sql_limit};
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;

/// One application event as stored: its type, time and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct AppEventRow {
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// The event's `type` tag (`request`, `call_started`...).
    pub kind: String,
    /// The event as JSON.
    pub body: String,
    /// The batch's source label (`POST /api/v1/events?source=`), if it had one.
    pub source: Option<String>,
    /// The experiment the event belongs to, and its variant (both or neither).
    pub arm: Option<(String, String)>,
}

/// Inserts a batch's application events (called by the writer inside its transaction).
pub(crate) fn apply_events(conn: &Connection, rows: &[AppEventRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ctx = |e| StoreError::sqlite("inserting an application event", e);
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO app_events (ts, type, body, source, experiment, variant) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(ctx)?;
    for row in rows {
        let (experiment, variant) = row.arm.as_ref().map(|(e, v)| (e, v)).unzip();
        insert
            .execute(params![
                row.ts.timestamp_millis(),
                row.kind,
                row.body,
                row.source,
                experiment,
                variant
            ])
            .map_err(ctx)?;
    }
    Ok(())
}

/// A task the writer runs in its own transaction; returns how many rows it changed.
pub(crate) type Task = Box<dyn FnOnce(&Connection) -> Result<u64, StoreError> + Send>;

/// The stored resolutions of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Resolution {
    /// The raw samples, as written.
    #[serde(rename = "raw")]
    Raw,
    /// One-minute rollups.
    #[serde(rename = "1m")]
    Minute,
    /// One-hour rollups.
    #[serde(rename = "1h")]
    Hour,
}

impl Resolution {
    /// Its name in answers: `raw`, `1m` or `1h`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Raw => "raw",
            Resolution::Minute => "1m",
            Resolution::Hour => "1h",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Resolution::Raw => "samples",
            Resolution::Minute => "samples_1m",
            Resolution::Hour => "samples_1h",
        }
    }

    fn bucket_ms(self) -> i64 {
        match self {
            Resolution::Raw => 1,
            Resolution::Minute => 60_000,
            Resolution::Hour => 3_600_000,
        }
    }

    /// The resolution a query over `range` reads: raw up to 6 hours, 1-minute rollups up
    /// to 7 days, hourly beyond (about 2,000 points per series at most).
    pub fn for_range(range: Duration) -> Resolution {
        if range <= Duration::from_secs(6 * 3600) {
            Resolution::Raw
        } else if range <= Duration::from_secs(7 * 86_400) {
            Resolution::Minute
        } else {
            Resolution::Hour
        }
    }

    /// The coarsest resolution a query with buckets of `step` can read without losing
    /// its newest points: hourly rollups (rolled with the hour in progress) for a step of
    /// an hour or more, else raw. The 1-minute rollups are read only for ranges the raw
    /// samples no longer cover ([`Resolution::for_range`]): they are written for complete
    /// minutes, once a maintenance interval, so they lag the raw samples.
    pub fn for_step(step: Duration) -> Resolution {
        if step < Duration::from_secs(3600) {
            Resolution::Raw
        } else {
            Resolution::Hour
        }
    }
}

/// Rollup and retention of the series tables (`metrics.series` in mon.yaml; raw samples
/// are kept for `storage.retention.samples`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeriesPolicy {
    /// 1-minute rollups older than this are deleted.
    #[serde(with = "mon_core::duration")]
    pub minute_retention: Duration,
    /// 1-hour rollups older than this are deleted.
    #[serde(with = "mon_core::duration")]
    pub hour_retention: Duration,
    /// Application events (`POST /api/v1/events`) older than this are deleted.
    #[serde(with = "mon_core::duration")]
    pub events_retention: Duration,
    /// How often rollups and their retention run.
    #[serde(with = "mon_core::duration")]
    pub interval: Duration,
    /// At most this many series (or event rows ÷ 10) per writer transaction. At least 1.
    pub batch_series: usize,
}

impl Default for SeriesPolicy {
    fn default() -> Self {
        SeriesPolicy {
            minute_retention: Duration::from_secs(7 * 86_400),
            hour_retention: Duration::from_secs(90 * 86_400),
            events_retention: Duration::from_secs(86_400),
            interval: Duration::from_secs(60),
            batch_series: 500,
        }
    }
}

/// One point of a range query: the samples of one step bucket folded together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// The start of the bucket.
    pub ts: DateTime<Utc>,
    /// How many raw samples the bucket holds.
    pub count: u64,
    /// Their mean.
    pub avg: f64,
    /// Their smallest value.
    pub min: f64,
    /// Their largest value.
    pub max: f64,
    /// Their sum.
    pub sum: f64,
}

/// The points of one series over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoints {
    /// The metric name.
    pub name: String,
    /// The series labels.
    pub labels: BTreeMap<String, String>,
    /// The resolution read.
    pub resolution: Resolution,
    /// Oldest first.
    pub points: Vec<SeriesPoint>,
}

fn cutoff(now: DateTime<Utc>, keep: Duration) -> i64 {
    TimeDelta::from_std(keep)
        .ok()
        .and_then(|k| now.checked_sub_signed(k))
        .map_or(i64::MIN, |t| t.timestamp_millis())
}

/// Rolls `from` (raw or 1m) into `to` for series ids in `(after, last]`, for buckets
/// starting in `[start, end)`. Returns the rows written.
#[allow(clippy::too_many_arguments)]
fn rollup_step(
    conn: &Connection,
    from: Resolution,
    to: Resolution,
    start: i64,
    end: i64,
    after: i64,
    last: i64,
) -> Result<u64, StoreError> {
    let bucket = to.bucket_ms();
    let sql = match from {
        Resolution::Raw => format!(
            "INSERT OR REPLACE INTO {to} (series_id, ts, count, sum, min, max) \
             SELECT series_id, (ts / ?3) * ?3, COUNT(*), SUM(value), MIN(value), MAX(value) \
             FROM samples WHERE series_id > ?1 AND series_id <= ?2 AND ts >= ?4 AND ts < ?5 \
             GROUP BY series_id, ts / ?3",
            to = to.table()
        ),
        _ => format!(
            "INSERT OR REPLACE INTO {to} (series_id, ts, count, sum, min, max) \
             SELECT series_id, (ts / ?3) * ?3, SUM(count), SUM(sum), MIN(min), MAX(max) \
             FROM {from} WHERE series_id > ?1 AND series_id <= ?2 AND ts >= ?4 AND ts < ?5 \
             GROUP BY series_id, ts / ?3",
            to = to.table(),
            from = from.table()
        ),
    };
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params![after, last, bucket, start, end]))
        .map(|n| n as u64)
        .map_err(|e| StoreError::sqlite("rolling up samples", e))
}

/// Deletes rows of `table` older than `cutoff_ms` for series ids in `(after, last]`.
fn prune_step(
    conn: &Connection,
    table: &'static str,
    cutoff_ms: i64,
    after: i64,
    last: i64,
) -> Result<u64, StoreError> {
    conn.prepare_cached(&format!(
        "DELETE FROM {table} WHERE series_id > ?1 AND series_id <= ?2 AND ts < ?3"
    ))
    .and_then(|mut s| s.execute(params![after, last, cutoff_ms]))
    .map(|n| n as u64)
    .map_err(|e| StoreError::sqlite("deleting expired rollups", e))
}

/// What one [`Store::series_maintenance`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MaintenanceReport {
    /// Rollup rows written (1m and 1h).
    pub rolled_up: u64,
    /// Rollup and event rows deleted.
    pub deleted: u64,
    /// Writer transactions used.
    pub transactions: u64,
}

impl Store {
    /// Runs `task` on the writer in its own transaction, waiting for queue space.
    pub(crate) async fn run_task(&self, task: Task) -> Result<u64, StoreError> {
        let (ack, rx) = oneshot::channel();
        self.send_job(Job::Task { task, ack }).await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// One rollup and retention pass as of `now`: rolls the raw samples of the last two
    /// complete minutes into 1-minute buckets and the 1-minute rows of the last two
    /// complete hours into 1-hour buckets, then deletes rollups and events past their
    /// retention, `policy.batch_series` series per transaction.
    ///
    /// # Errors
    /// [`StoreError::InvalidOptions`] for `batch_series == 0`; [`StoreError::Closed`];
    /// [`StoreError::Sqlite`] when a step fails (earlier steps stay committed).
    pub async fn series_maintenance(
        &self,
        policy: &SeriesPolicy,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceReport, StoreError> {
        if policy.batch_series == 0 {
            return Err(StoreError::InvalidOptions {
                reason: "metrics.series.batch_series must be at least 1, got 0".to_owned(),
            });
        }
        let mut report = MaintenanceReport::default();
        let now_ms = now.timestamp_millis();
        let minute = Resolution::Minute.bucket_ms();
        let hour = Resolution::Hour.bucket_ms();
        let end_m = now_ms / minute * minute;
        let end_h = now_ms / hour * hour;
        let rollups = [
            (
                Resolution::Raw,
                Resolution::Minute,
                end_m - 2 * minute,
                end_m,
            ),
            // The hour in progress is rolled too, so a 1h query sees recent data.
            (
                Resolution::Minute,
                Resolution::Hour,
                end_h - hour,
                end_h + hour,
            ),
        ];
        let batch = policy.batch_series;
        for (from, to, start, end) in rollups {
            let mut after = i64::MIN;
            while let Some(last) = self.last_series_id(after, batch).await? {
                report.rolled_up += self
                    .run_task(Box::new(move |c| {
                        rollup_step(c, from, to, start, end, after, last)
                    }))
                    .await?;
                report.transactions += 1;
                after = last;
            }
        }
        for (table, keep) in [
            ("samples_1m", policy.minute_retention),
            ("samples_1h", policy.hour_retention),
        ] {
            let cutoff_ms = cutoff(now, keep);
            let mut after = i64::MIN;
            while let Some(last) = self.last_series_id(after, batch).await? {
                report.deleted += self
                    .run_task(Box::new(move |c| {
                        prune_step(c, table, cutoff_ms, after, last)
                    }))
                    .await?;
                report.transactions += 1;
                after = last;
            }
        }
        let cutoff_ms = cutoff(now, policy.events_retention);
        let limit = sql_limit(batch as u64 * 10);
        loop {
            let n = self
                .run_task(Box::new(move |c| {
                    c.prepare_cached(
                        "DELETE FROM app_events WHERE id IN \
                         (SELECT id FROM app_events WHERE ts < ?1 ORDER BY ts LIMIT ?2)",
                    )
                    .and_then(|mut s| s.execute(params![cutoff_ms, limit]))
                    .map(|n| n as u64)
                    .map_err(|e| StoreError::sqlite("deleting expired application events", e))
                }))
                .await?;
            report.transactions += 1;
            report.deleted += n;
            if n < limit as u64 {
                break;
            }
        }
        Ok(report)
    }

    /// The largest of the `batch` series ids after `after`; `None` when there are none.
    async fn last_series_id(&self, after: i64, batch: usize) -> Result<Option<i64>, StoreError> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT MAX(id) FROM (SELECT id FROM series WHERE id > ?1 ORDER BY id LIMIT ?2)",
            )
            .and_then(|mut s| s.query_row(params![after, sql_limit(batch as u64)], |r| r.get(0)))
            .map_err(|e| StoreError::sqlite("listing series", e))
        })
        .await
    }

    /// Starts a task that runs [`Store::series_maintenance`] every `policy.interval`
    /// until the store is closed or its last handle is dropped.
    ///
    /// # Panics
    /// When called outside a tokio runtime.
    pub fn spawn_series_maintenance(&self, policy: SeriesPolicy) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(policy.interval.max(Duration::from_secs(1)));
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                let store = Store { shared };
                match store.series_maintenance(&policy, Utc::now()).await {
                    Ok(r) => tracing::debug!(
                        rolled_up = r.rolled_up,
                        deleted = r.deleted,
                        transactions = r.transactions,
                        "series rollup and retention pass finished"
                    ),
                    Err(StoreError::Closed) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "series rollup pass failed; retrying at the next interval")
                    }
                }
            }
        })
    }

    /// The points of every series named `name` whose labels include all of `labels`,
    /// over `[from, to]`, folded into `step` buckets (`None`: the resolution's own
    /// buckets), at the resolution [`RangePlan::new`] chooses. Every matching series is
    /// listed, an empty one with no points.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] as [`RangePlan::new`].
    pub async fn query_series(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Option<Duration>,
    ) -> Result<Vec<SeriesPoints>, StoreError> {
        let plan = RangePlan::new(from, to, step)?;
        let name = name.to_owned();
        let labels = labels.clone();
        self.read(move |c| {
            let mut out = Vec::new();
            scan(c, &name, &labels, &plan, &mut |s| {
                out.push(s.to_points(&name, &plan));
                Ok(())
            })?;
            Ok(out)
        })
        .await
    }

    /// Reads the series of `name` whose labels include all of `labels` over `plan`,
    /// handing each to `sink` in label order as soon as it is read: memory holds one
    /// series at a time (its buffers are reused), whatever the number of series. One
    /// statement reads every series. Returns how many series were handed over; stops at
    /// the first error of `sink`. Blocks on SQLite: call it from a blocking thread.
    ///
    /// # Errors
    /// What `sink` returns; [`StoreError::Sqlite`] when the read fails.
    pub fn scan_series_blocking(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        plan: &RangePlan,
        sink: &mut dyn FnMut(&SeriesColumns) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError> {
        self.shared
            .reads
            .with(|c| scan(c, name, labels, plan, sink))
    }
}

/// The most buckets per series a query with an explicit step may ask for (as Prometheus'
/// `query_range`), so that one series' buffers stay small.
pub const MAX_POINTS_PER_SERIES: u64 = 11_000;

/// About how many buckets [`RangePlan::dense`] makes when no step is given.
pub const DENSE_POINTS: u64 = 1440;

/// What a range query reads: the range, the bucket width and the resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RangePlan {
    /// The range's start, unix ms; bucket `i` starts at `from_ms + i * step_ms`.
    pub from_ms: i64,
    /// The range's end (included), unix ms.
    pub to_ms: i64,
    /// The bucket width in ms (at least the resolution's own).
    pub step_ms: i64,
    /// The table read.
    pub resolution: Resolution,
    /// Whether each bucket's least and greatest values are read (the rollups' `min` and
    /// `max` columns); without, [`SeriesColumns::min`] and `max` stay empty.
    pub extremes: bool,
}

impl RangePlan {
    /// The same plan without the least and greatest values: a query that answers means
    /// only reads two columns fewer per row.
    pub fn without_extremes(self) -> RangePlan {
        RangePlan {
            extremes: false,
            ..self
        }
    }

    /// The plan for `[from, to]` in `step` buckets. The resolution is the coarser of
    /// the one the range calls for ([`Resolution::for_range`]: what retention still
    /// holds) and the one the step allows ([`Resolution::for_step`]).
    /// Without a step, the buckets are the resolution's own (raw: one per sample time).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when `to < from`, `step` is under 1 ms, or the step
    /// would give more than [`MAX_POINTS_PER_SERIES`] buckets.
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Option<Duration>,
    ) -> Result<RangePlan, StoreError> {
        if to < from {
            return Err(StoreError::InvalidInput {
                reason: format!("the range ends ({to}) before it starts ({from})"),
            });
        }
        let range = (to - from).to_std().unwrap_or_default();
        let by_range = Resolution::for_range(range);
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        let Some(step) = step else {
            return Ok(RangePlan {
                from_ms,
                to_ms,
                step_ms: by_range.bucket_ms(),
                resolution: by_range,
                extremes: true,
            });
        };
        if step.as_millis() < 1 {
            return Err(StoreError::InvalidInput {
                reason: "step must be at least 1ms".to_owned(),
            });
        }
        let resolution = by_range.max(Resolution::for_step(step));
        let step_ms = i64::try_from(step.as_millis())
            .unwrap_or(i64::MAX)
            .max(resolution.bucket_ms());
        let plan = RangePlan {
            from_ms,
            to_ms,
            step_ms,
            resolution,
            extremes: true,
        };
        if plan.buckets() > MAX_POINTS_PER_SERIES {
            return Err(StoreError::InvalidInput {
                reason: format!(
                    "step={}ms over this range gives {} points per series; at most {} (use a larger step)",
                    step_ms,
                    plan.buckets(),
                    MAX_POINTS_PER_SERIES
                ),
            });
        }
        Ok(plan)
    }

    /// As [`RangePlan::new`], for answers with one value per bucket: without a step,
    /// about [`DENSE_POINTS`] buckets of whole seconds, never finer than the range's
    /// resolution (24 h: 1,440 one-minute buckets).
    ///
    /// # Errors
    /// As [`RangePlan::new`].
    pub fn dense(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Option<Duration>,
    ) -> Result<RangePlan, StoreError> {
        let range = (to - from).to_std().unwrap_or_default();
        let step = step.unwrap_or_else(|| {
            let per_point = range.as_secs().div_ceil(DENSE_POINTS).max(1);
            let own = Resolution::for_range(range).bucket_ms().max(1000) as u64 / 1000;
            Duration::from_secs(per_point.max(own))
        });
        RangePlan::new(from, to, Some(step))
    }

    /// How many buckets the range spans.
    pub fn buckets(&self) -> u64 {
        let span = self.to_ms.saturating_sub(self.from_ms).max(0) as u64;
        span / self.step_ms.max(1) as u64 + 1
    }

    /// The start of bucket `index`, unix ms.
    pub fn bucket_start(&self, index: u64) -> i64 {
        self.from_ms
            .saturating_add((index as i64).saturating_mul(self.step_ms))
    }
}

/// One series of a range scan in columns: only the buckets that hold samples, oldest
/// first; `bucket[i]` is the bucket's index in the plan ([`RangePlan::bucket_start`]).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SeriesColumns {
    /// The series labels.
    pub labels: BTreeMap<String, String>,
    /// Bucket indexes, ascending.
    pub bucket: Vec<u64>,
    /// Samples per bucket (at least 1).
    pub count: Vec<u64>,
    /// Their sum.
    pub sum: Vec<f64>,
    /// Their least value (empty when the plan reads no [`RangePlan::extremes`]).
    pub min: Vec<f64>,
    /// Their greatest value (empty when the plan reads no [`RangePlan::extremes`]).
    pub max: Vec<f64>,
}

impl SeriesColumns {
    /// How many buckets hold samples.
    pub fn len(&self) -> usize {
        self.bucket.len()
    }

    /// Whether no bucket holds samples.
    pub fn is_empty(&self) -> bool {
        self.bucket.is_empty()
    }

    /// The mean of bucket entry `i`.
    pub fn avg(&self, i: usize) -> f64 {
        match self.count[i] {
            0 => 0.0,
            n => self.sum[i] / n as f64,
        }
    }

    fn clear(&mut self) {
        self.bucket.clear();
        self.count.clear();
        self.sum.clear();
        self.min.clear();
        self.max.clear();
    }

    /// Folds one stored row (a sample or a rollup bucket) at bucket `index` in.
    fn fold(&mut self, index: u64, count: u64, sum: f64, extremes: Option<(f64, f64)>) {
        if self.bucket.last() == Some(&index) {
            let last = self.bucket.len() - 1;
            self.count[last] += count;
            self.sum[last] += sum;
            if let Some((min, max)) = extremes {
                self.min[last] = self.min[last].min(min);
                self.max[last] = self.max[last].max(max);
            }
        } else {
            self.bucket.push(index);
            self.count.push(count);
            self.sum.push(sum);
            if let Some((min, max)) = extremes {
                self.min.push(min);
                self.max.push(max);
            }
        }
    }

    /// The series as points (the full answer's shape).
    pub fn to_points(&self, name: &str, plan: &RangePlan) -> SeriesPoints {
        let points = (0..self.len())
            .map(|i| SeriesPoint {
                ts: DateTime::from_timestamp_millis(plan.bucket_start(self.bucket[i]))
                    .unwrap_or_default(),
                count: self.count[i],
                avg: self.avg(i),
                // The mean stands in for extremes the plan did not read.
                min: self.min.get(i).copied().unwrap_or_else(|| self.avg(i)),
                max: self.max.get(i).copied().unwrap_or_else(|| self.avg(i)),
                sum: self.sum[i],
            })
            .collect();
        SeriesPoints {
            name: name.to_owned(),
            labels: self.labels.clone(),
            resolution: plan.resolution,
            points,
        }
    }
}

/// The range scan behind [`Store::scan_series_blocking`]: the matching series (label
/// order), then each one's rows of the resolution's table in time order, folded into
/// `plan`'s buckets as they arrive.
fn scan(
    conn: &Connection,
    name: &str,
    filter: &BTreeMap<String, String>,
    plan: &RangePlan,
    sink: &mut dyn FnMut(&SeriesColumns) -> Result<(), StoreError>,
) -> Result<usize, StoreError> {
    let ctx = |e| StoreError::sqlite("reading series", e);
    // One read transaction: the list and every series are read from the same snapshot.
    let snapshot = conn.unchecked_transaction().map_err(ctx)?;
    // Series ids in label order, with their labels (`None` for a series the label
    // filter leaves out).
    let mut ids: Vec<i64> = Vec::new();
    let mut order: Vec<Option<BTreeMap<String, String>>> = Vec::new();
    {
        let mut stmt = snapshot
            .prepare_cached("SELECT id, labels FROM series WHERE name = ?1 ORDER BY labels")
            .map_err(ctx)?;
        let mut rows = stmt.query([name]).map_err(ctx)?;
        while let Some(row) = rows.next().map_err(ctx)? {
            let id: i64 = row.get(0).map_err(ctx)?;
            let text: String = row.get(1).map_err(ctx)?;
            let labels: BTreeMap<String, String> =
                serde_json::from_str(&text).map_err(|e| StoreError::Decode {
                    what: "series labels",
                    reason: format!("{name} has labels {text:?}: {e}"),
                })?;
            let keep = filter.iter().all(|(k, v)| labels.get(k) == Some(v));
            ids.push(id);
            order.push(keep.then_some(labels));
        }
    }
    if order.iter().all(Option::is_none) {
        return Ok(0);
    }
    // Each series' rows are one contiguous (series_id, ts) range of its table, read with
    // one cached statement run once per series: no join, no series id per row.
    let sql = match plan.resolution {
        Resolution::Raw => "SELECT ts, value FROM samples \
             WHERE series_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts"
            .to_owned(),
        r => format!(
            "SELECT ts, count, sum{} FROM {} \
             WHERE series_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts",
            if plan.extremes { ", min, max" } else { "" },
            r.table()
        ),
    };
    let mut stmt = snapshot.prepare_cached(&sql).map_err(ctx)?;
    let step = plan.step_ms.max(1);
    let raw = plan.resolution == Resolution::Raw;
    let mut columns = SeriesColumns::default();
    let mut handed = 0usize;
    for (id, labels) in ids.into_iter().zip(order) {
        let Some(labels) = labels else {
            continue; // left out by the label filter
        };
        columns.clear();
        columns.labels = labels;
        let mut rows = stmt
            .query(params![id, plan.from_ms, plan.to_ms])
            .map_err(ctx)?;
        while let Some(row) = rows.next().map_err(ctx)? {
            let ts: i64 = row.get(0).map_err(ctx)?;
            let index = (ts.saturating_sub(plan.from_ms) / step).max(0) as u64;
            if raw {
                let value: f64 = row.get(1).map_err(ctx)?;
                columns.fold(index, 1, value, plan.extremes.then_some((value, value)));
            } else {
                let count: i64 = row.get(1).map_err(ctx)?;
                let extremes = match plan.extremes {
                    true => Some((row.get(3).map_err(ctx)?, row.get(4).map_err(ctx)?)),
                    false => None,
                };
                columns.fold(
                    index,
                    count.max(0) as u64,
                    row.get(2).map_err(ctx)?,
                    extremes,
                );
            }
        }
        sink(&columns)?;
        handed += 1;
    }
    Ok(handed)
}
