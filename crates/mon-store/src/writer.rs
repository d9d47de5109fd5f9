//! The writer thread: the only owner of the write connection. It drains the bounded queue,
//! commits batches in shared transactions and acknowledges callers after `COMMIT`.
//!
//! Each batch in a shared transaction runs inside its own savepoint, so a batch that fails
//! (a constraint, a trigger) is rolled back alone and reported to its caller while the
//! others commit. If the transaction itself fails (`BEGIN` or `COMMIT`), every caller in it
//! gets the error. Either way the thread keeps running.

use crate::model::{StoreStats, WriteBatch};
use crate::{StoreError, StoreOptions};
use rusqlite::{Connection, params};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};

/// Where a write's outcome is sent once its transaction has ended.
pub(crate) type WriteAck = oneshot::Sender<Result<(), StoreError>>;

/// The receiving end of a [`WriteAck`].
pub(crate) type WriteAckRx = oneshot::Receiver<Result<(), StoreError>>;

/// A unit of work for the writer.
pub(crate) enum Job {
    /// Commit this batch, then answer.
    Write { batch: WriteBatch, ack: WriteAck },
    /// Run one retention step in its own transaction, then answer.
    Prune {
        step: PruneStep,
        ack: oneshot::Sender<Result<PruneProgress, StoreError>>,
    },
    /// Run a module's maintenance task (rollups...) in its own transaction, then answer.
    Task {
        task: crate::series::Task,
        ack: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Run a task that deletes series rows in its own transaction, then forget every
    /// cached series id (a deleted id must not be written to again) and answer.
    SeriesDeletion {
        task: crate::series::Task,
        ack: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Stop accepting jobs, commit what is queued, and exit.
    Shutdown,
}

/// One small retention transaction: delete at most `limit` expired rows, walking the
/// table's key space from a cursor so that each step is a handful of index range scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PruneStep {
    /// Check results with `ts < cutoff_ms`, checks in name order after `after`.
    CheckResults {
        cutoff_ms: i64,
        after: Option<String>,
        limit: usize,
    },
    /// Samples with `ts < cutoff_ms`, series in id order after `after`.
    Samples {
        cutoff_ms: i64,
        after: i64,
        limit: usize,
    },
}

/// What a [`PruneStep`] did, and where the next one resumes (`None`: the table is done).
#[derive(Debug)]
pub(crate) struct PruneProgress {
    pub(crate) deleted: u64,
    pub(crate) series_deleted: u64,
    pub(crate) next: Option<PruneStep>,
}

/// How many keys (checks or series) one prune step visits at most, so a step stays short
/// even when there are many series with nothing to delete.
const MAX_KEYS_PER_PRUNE_STEP: usize = 1000;

/// The writer's counters, shared with `Store::stats`.
#[derive(Debug, Default)]
pub(crate) struct StatsCells {
    batches_committed: AtomicU64,
    transactions_committed: AtomicU64,
    rows_written: AtomicU64,
    last_commit_seconds_bits: AtomicU64,
    commit_seconds_total_bits: AtomicU64,
    write_errors: AtomicU64,
}

impl StatsCells {
    pub(crate) fn snapshot(&self) -> StoreStats {
        StoreStats {
            batches_committed: self.batches_committed.load(Ordering::Relaxed),
            transactions_committed: self.transactions_committed.load(Ordering::Relaxed),
            rows_written: self.rows_written.load(Ordering::Relaxed),
            last_commit_seconds: f64::from_bits(
                self.last_commit_seconds_bits.load(Ordering::Relaxed),
            ),
            commit_seconds_total: f64::from_bits(
                self.commit_seconds_total_bits.load(Ordering::Relaxed),
            ),
            write_errors: self.write_errors.load(Ordering::Relaxed),
        }
    }

    fn record_commit(&self, seconds: f64, batches: u64, rows: u64, errors: u64) {
        // Only the writer thread updates these, so load + store does not race.
        let total = f64::from_bits(self.commit_seconds_total_bits.load(Ordering::Relaxed));
        self.commit_seconds_total_bits
            .store((total + seconds).to_bits(), Ordering::Relaxed);
        self.last_commit_seconds_bits
            .store(seconds.to_bits(), Ordering::Relaxed);
        self.transactions_committed.fetch_add(1, Ordering::Relaxed);
        self.batches_committed.fetch_add(batches, Ordering::Relaxed);
        self.rows_written.fetch_add(rows, Ordering::Relaxed);
        self.write_errors.fetch_add(errors, Ordering::Relaxed);
    }

    fn record_errors(&self, errors: u64) {
        self.write_errors.fetch_add(errors, Ordering::Relaxed);
    }
}

/// Series ids by name, then by labels, so a lookup borrows the sample's own strings.
#[derive(Debug)]
struct SeriesCache {
    by_name: HashMap<String, HashMap<BTreeMap<String, String>, i64>>,
    len: usize,
    capacity: usize,
}

impl SeriesCache {
    fn new(capacity: usize) -> Self {
        SeriesCache {
            by_name: HashMap::new(),
            len: 0,
            capacity,
        }
    }

    fn get(&self, name: &str, labels: &BTreeMap<String, String>) -> Option<i64> {
        self.by_name.get(name)?.get(labels).copied()
    }

    fn insert(&mut self, name: &str, labels: &BTreeMap<String, String>, id: i64) {
        if self.len >= self.capacity {
            self.clear();
        }
        let entry = self.by_name.entry(name.to_owned()).or_default();
        if entry.insert(labels.clone(), id).is_none() {
            self.len += 1;
        }
    }

    fn remove(&mut self, name: &str, labels: &BTreeMap<String, String>) {
        if let Some(entry) = self.by_name.get_mut(name) {
            if entry.remove(labels).is_some() {
                self.len -= 1;
            }
            if entry.is_empty() {
                self.by_name.remove(name);
            }
        }
    }

    fn clear(&mut self) {
        self.by_name.clear();
        self.len = 0;
    }
}

/// The state the writer thread owns.
struct Writer {
    conn: Connection,
    cache: SeriesCache,
    stats: Arc<StatsCells>,
    max_rows: usize,
}

/// Runs the writer loop until the queue is closed and drained, then closes the connection.
/// `done` is dropped last, which tells `Store::close` that the thread is finished.
pub(crate) fn run(
    conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    stats: Arc<StatsCells>,
    options: &StoreOptions,
    done: watch::Sender<()>,
) {
    let mut writer = Writer {
        conn,
        cache: SeriesCache::new(options.series_cache_capacity),
        stats,
        max_rows: options.max_rows_per_transaction,
    };
    let mut carried: Option<Job> = None;
    loop {
        let job = match carried.take() {
            Some(job) => job,
            None => match rx.blocking_recv() {
                Some(job) => job,
                // Every handle is gone (or the queue was closed) and nothing is left.
                None => break,
            },
        };
        match job {
            Job::Write { batch, ack } => {
                let mut rows = batch.row_count();
                let mut group = vec![(batch, ack)];
                while rows < writer.max_rows {
                    match rx.try_recv() {
                        Ok(Job::Write { batch, ack }) => {
                            rows += batch.row_count();
                            group.push((batch, ack));
                        }
                        Ok(other) => {
                            carried = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                writer.commit_group(group);
            }
            Job::Prune { step, ack } => {
                let result = writer.prune(&step);
                // The caller may have given up; the step is committed either way.
                let _ = ack.send(result);
            }
            // After `close`, `blocking_recv` still yields what was queued, then `None`.
            Job::Task { task, ack } => {
                let _ = ack.send(writer.task(task));
            }
            Job::SeriesDeletion { task, ack } => {
                let result = writer.task(task);
                writer.cache.clear();
                let _ = ack.send(result);
            }
            Job::Shutdown => rx.close(),
        }
    }
    if let Err(e) = writer.conn.execute_batch("PRAGMA optimize") {
        tracing::debug!(error = %e, "PRAGMA optimize at store shutdown failed");
    }
    drop(writer);
    drop(done);
}

impl Writer {
    fn exec(&self, sql: &str) -> rusqlite::Result<()> {
        self.conn.prepare_cached(sql)?.execute([]).map(|_| ())
    }

    /// Commits a group of batches in one transaction and answers every caller.
    fn commit_group(&mut self, group: Vec<(WriteBatch, WriteAck)>) {
        let started = Instant::now();
        let mut added: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        match self.run_group(&group, &mut added) {
            Ok(results) => {
                let seconds = started.elapsed().as_secs_f64();
                let mut rows = 0u64;
                let mut ok = 0u64;
                let mut failed = 0u64;
                for result in &results {
                    match result {
                        Ok(n) => {
                            ok += 1;
                            rows += *n as u64;
                        }
                        Err(_) => failed += 1,
                    }
                }
                self.stats.record_commit(seconds, ok, rows, failed);
                for ((_, ack), result) in group.into_iter().zip(results) {
                    if let Err(e) = &result {
                        tracing::warn!(error = %e, "a write batch was rejected by the store");
                    }
                    let _ = ack.send(result.map(|_| ()));
                }
            }
            Err(e) => {
                if !self.conn.is_autocommit()
                    && let Err(rollback) = self.exec("ROLLBACK")
                {
                    tracing::error!(error = %rollback, "rolling back a failed write transaction failed");
                }
                for (name, labels) in &added {
                    self.cache.remove(name, labels);
                }
                tracing::warn!(error = %e, batches = group.len(), "a write transaction failed");
                self.stats.record_errors(group.len() as u64);
                for (_, ack) in group {
                    let _ = ack.send(Err(e.clone()));
                }
            }
        }
    }

    /// The transactional part of [`Writer::commit_group`]: `Err` means nothing was committed.
    /// `Ok` holds one result per batch (rows written, or why that batch was rolled back).
    fn run_group(
        &mut self,
        group: &[(WriteBatch, WriteAck)],
        added: &mut Vec<(String, BTreeMap<String, String>)>,
    ) -> Result<Vec<Result<usize, StoreError>>, StoreError> {
        self.exec("BEGIN IMMEDIATE")
            .map_err(|e| StoreError::sqlite("beginning a write transaction", e))?;
        let mut results = Vec::with_capacity(group.len());
        if let [(batch, _)] = group {
            // One batch: its failure is the transaction's failure, no savepoint needed.
            results.push(Ok(self.apply(batch, added)?));
        } else {
            for (batch, _) in group {
                self.exec("SAVEPOINT batch")
                    .map_err(|e| StoreError::sqlite("opening a savepoint", e))?;
                let mark = added.len();
                match self.apply(batch, added) {
                    Ok(rows) => {
                        self.exec("RELEASE batch")
                            .map_err(|e| StoreError::sqlite("releasing a savepoint", e))?;
                        results.push(Ok(rows));
                    }
                    Err(e) => {
                        if self.conn.is_autocommit() {
                            // SQLite rolled the whole transaction back (I/O error, disk full).
                            return Err(e);
                        }
                        self.exec("ROLLBACK TO batch")
                            .and_then(|()| self.exec("RELEASE batch"))
                            .map_err(|e| StoreError::sqlite("rolling back a savepoint", e))?;
                        for (name, labels) in added.drain(mark..) {
                            self.cache.remove(&name, &labels);
                        }
                        results.push(Err(e));
                    }
                }
            }
        }
        self.exec("COMMIT")
            .map_err(|e| StoreError::sqlite("committing a write transaction", e))?;
        Ok(results)
    }

    /// Inserts one batch's rows; returns how many.
    fn apply(
        &mut self,
        batch: &WriteBatch,
        added: &mut Vec<(String, BTreeMap<String, String>)>,
    ) -> Result<usize, StoreError> {
        if !batch.samples.is_empty() {
            let mut insert = self
                .conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO samples (series_id, ts, value) VALUES (?1, ?2, ?3)",
                )
                .map_err(|e| StoreError::sqlite("preparing the sample insert", e))?;
            for sample in &batch.samples {
                let id = match self.cache.get(&sample.name, &sample.labels) {
                    Some(id) => id,
                    None => {
                        let id = resolve_series(&self.conn, &sample.name, &sample.labels)?;
                        self.cache.insert(&sample.name, &sample.labels, id);
                        added.push((sample.name.clone(), sample.labels.clone()));
                        id
                    }
                };
                insert
                    .execute(params![id, sample.ts.timestamp_millis(), sample.value])
                    .map_err(|e| StoreError::sqlite("inserting a sample", e))?;
            }
        }
        if !batch.check_results.is_empty() {
            let mut insert = self
                .conn
                .prepare_cached(
                    "INSERT INTO check_results \
                     (check_name, ts, status, latency_ms, message, details) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(|e| StoreError::sqlite("preparing the check result insert", e))?;
            for row in &batch.check_results {
                let outcome = &row.outcome;
                let details = if outcome.details.is_null() {
                    None
                } else {
                    Some(outcome.details.to_string())
                };
                insert
                    .execute(params![
                        row.check,
                        outcome.observed_at.timestamp_millis(),
                        outcome.status.as_str(),
                        outcome.latency.as_secs_f64() * 1000.0,
                        outcome.message,
                        details,
                    ])
                    .map_err(|e| StoreError::sqlite("inserting a check result", e))?;
            }
        }
        crate::alerts::apply(&self.conn, &batch.alerting)?;
        crate::logs::apply(&self.conn, &batch.logs)?;
        crate::series::apply_events(&self.conn, &batch.app_events)?;
        crate::kept::apply(&self.conn, &batch.kept)?;
        Ok(batch.row_count())
    }

    /// Runs a [`Job::Task`] in its own transaction: committed when it returns `Ok`.
    fn task(&mut self, task: crate::series::Task) -> Result<u64, StoreError> {
        self.exec("BEGIN IMMEDIATE")
            .map_err(|e| StoreError::sqlite("beginning a maintenance transaction", e))?;
        let result = task(&self.conn).and_then(|n| {
            self.exec("COMMIT")
                .map_err(|e| StoreError::sqlite("committing a maintenance transaction", e))?;
            Ok(n)
        });
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.exec("ROLLBACK");
        }
        result
    }

    /// Runs one retention step in its own transaction.
    fn prune(&mut self, step: &PruneStep) -> Result<PruneProgress, StoreError> {
        self.exec("BEGIN IMMEDIATE")
            .map_err(|e| StoreError::sqlite("beginning a retention transaction", e))?;
        let started = Instant::now();
        let result = match step {
            PruneStep::CheckResults {
                cutoff_ms,
                after,
                limit,
            } => self.prune_check_results(*cutoff_ms, after.clone(), *limit),
            PruneStep::Samples {
                cutoff_ms,
                after,
                limit,
            } => self.prune_samples(*cutoff_ms, *after, *limit),
        };
        let result = result.and_then(|progress| {
            self.exec("COMMIT")
                .map_err(|e| StoreError::sqlite("committing a retention transaction", e))?;
            Ok(progress)
        });
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.exec("ROLLBACK");
        }
        tracing::trace!(
            seconds = started.elapsed().as_secs_f64(),
            ?step,
            "retention step"
        );
        result
    }

    fn prune_check_results(
        &mut self,
        cutoff_ms: i64,
        mut after: Option<String>,
        limit: usize,
    ) -> Result<PruneProgress, StoreError> {
        let ctx = |e| StoreError::sqlite("deleting expired check results", e);
        let mut deleted = 0u64;
        for _ in 0..MAX_KEYS_PER_PRUNE_STEP {
            let name: Option<String> = match &after {
                None => self
                    .conn
                    .prepare_cached("SELECT MIN(check_name) FROM check_results")
                    .and_then(|mut s| s.query_row([], |r| r.get(0)))
                    .map_err(ctx)?,
                Some(after) => self
                    .conn
                    .prepare_cached(
                        "SELECT MIN(check_name) FROM check_results WHERE check_name > ?1",
                    )
                    .and_then(|mut s| s.query_row([after], |r| r.get(0)))
                    .map_err(ctx)?,
            };
            let Some(name) = name else {
                return Ok(PruneProgress {
                    deleted,
                    series_deleted: 0,
                    next: None,
                });
            };
            let quota = limit as u64 - deleted;
            let n = self
                .conn
                .prepare_cached(
                    "DELETE FROM check_results WHERE id IN \
                     (SELECT id FROM check_results WHERE check_name = ?1 AND ts < ?2 \
                      ORDER BY ts LIMIT ?3)",
                )
                .and_then(|mut s| s.execute(params![name, cutoff_ms, sql_limit(quota)]))
                .map_err(ctx)?;
            deleted += n as u64;
            if deleted >= limit as u64 {
                // This check may have more expired rows: resume at it.
                break;
            }
            after = Some(name);
        }
        Ok(PruneProgress {
            deleted,
            series_deleted: 0,
            next: Some(PruneStep::CheckResults {
                cutoff_ms,
                after,
                limit,
            }),
        })
    }

    fn prune_samples(
        &mut self,
        cutoff_ms: i64,
        mut after: i64,
        limit: usize,
    ) -> Result<PruneProgress, StoreError> {
        let ctx = |e| StoreError::sqlite("deleting expired samples", e);
        let mut deleted = 0u64;
        let mut series_deleted = 0u64;
        for _ in 0..MAX_KEYS_PER_PRUNE_STEP {
            let series: Option<(i64, String, String)> = {
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT id, name, labels FROM series WHERE id > ?1 ORDER BY id LIMIT 1",
                    )
                    .map_err(ctx)?;
                let mut rows = stmt.query([after]).map_err(ctx)?;
                match rows.next().map_err(ctx)? {
                    Some(row) => Some((
                        row.get(0).map_err(ctx)?,
                        row.get(1).map_err(ctx)?,
                        row.get(2).map_err(ctx)?,
                    )),
                    None => None,
                }
            };
            let Some((id, name, labels)) = series else {
                return Ok(PruneProgress {
                    deleted,
                    series_deleted,
                    next: None,
                });
            };
            let quota = limit as u64 - deleted;
            let n = self
                .conn
                .prepare_cached(
                    "DELETE FROM samples WHERE series_id = ?1 AND ts IN \
                     (SELECT ts FROM samples WHERE series_id = ?1 AND ts < ?2 \
                      ORDER BY ts LIMIT ?3)",
                )
                .and_then(|mut s| s.execute(params![id, cutoff_ms, sql_limit(quota)]))
                .map_err(ctx)?;
            deleted += n as u64;
            if deleted >= limit as u64 {
                // This series may have more expired rows: resume at it.
                break;
            }
            // All of this series' expired rows are gone; drop the series only when no
            // table refers to it any more: its 1m/1h rollups outlive the raw samples, and
            // without the series row they could not be read.
            let removed = self
                .conn
                .prepare_cached(
                    "DELETE FROM series WHERE id = ?1 \
                     AND NOT EXISTS (SELECT 1 FROM samples WHERE series_id = ?1) \
                     AND NOT EXISTS (SELECT 1 FROM samples_1m WHERE series_id = ?1) \
                     AND NOT EXISTS (SELECT 1 FROM samples_1h WHERE series_id = ?1)",
                )
                .and_then(|mut s| s.execute([id]))
                .map_err(ctx)?;
            if removed > 0 {
                series_deleted += 1;
                match serde_json::from_str::<BTreeMap<String, String>>(&labels) {
                    Ok(labels) => self.cache.remove(&name, &labels),
                    Err(_) => self.cache.clear(),
                }
            }
            after = id;
        }
        Ok(PruneProgress {
            deleted,
            series_deleted,
            next: Some(PruneStep::Samples {
                cutoff_ms,
                after,
                limit,
            }),
        })
    }
}

/// Finds a series id by name and canonical labels, creating the series if it is new.
fn resolve_series(
    conn: &Connection,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<i64, StoreError> {
    let canonical = canonical_labels(labels)?;
    let ctx = |e| StoreError::sqlite("resolving a series id", e);
    let existing: Option<i64> = {
        let mut stmt = conn
            .prepare_cached("SELECT id FROM series WHERE name = ?1 AND labels = ?2")
            .map_err(ctx)?;
        let mut rows = stmt.query(params![name, canonical]).map_err(ctx)?;
        match rows.next().map_err(ctx)? {
            Some(row) => Some(row.get(0).map_err(ctx)?),
            None => None,
        }
    };
    if let Some(id) = existing {
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO series (name, labels) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![name, canonical]))
        .map_err(ctx)?;
    Ok(conn.last_insert_rowid())
}

/// The labels as stored: compact JSON with keys in sorted order (a `BTreeMap` serializes
/// sorted), so equal label sets always give the same text.
pub(crate) fn canonical_labels(labels: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(labels).map_err(|e| StoreError::InvalidInput {
        reason: format!("labels cannot be encoded: {e}"),
    })
}

/// A `LIMIT` parameter: SQLite takes an i64.
pub(crate) fn sql_limit(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
