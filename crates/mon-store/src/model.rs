//! The rows the store writes and reads: samples, check results, write batches, reports.

use crate::StoreError;
use chrono::{DateTime, Utc};
use mon_core::CheckOutcome;
use std::collections::BTreeMap;

/// One value of one metric series at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name (`cpu_percent`, `mon_check_latency_seconds`...). Not empty.
    pub name: String,
    /// The labels that tell series of the same metric apart.
    pub labels: BTreeMap<String, String>,
    /// When the value was observed. Stored with millisecond precision; a second sample
    /// of the same series at the same millisecond replaces the first.
    pub ts: DateTime<Utc>,
    /// The value. Must not be NaN.
    pub value: f64,
}

/// One run of one health check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResultRow {
    /// The check's name, as configured. Not empty.
    pub check: String,
    /// What the run found. `observed_at` is stored with millisecond precision.
    pub outcome: CheckOutcome,
}

/// A metric series: a name and its labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeriesInfo {
    /// The metric name.
    pub name: String,
    /// The series labels.
    pub labels: BTreeMap<String, String>,
}

/// Rows written together: a batch is committed whole or not at all.
///
/// New kinds of rows (alerts, the notification outbox, errors, events) are added as new
/// fields; build a batch from [`WriteBatch::default`] and fill the fields you need.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct WriteBatch {
    /// Metric samples.
    pub samples: Vec<Sample>,
    /// Health check results.
    pub check_results: Vec<CheckResultRow>,
    /// Alert state, alert history, the notification outbox and silences.
    pub alerting: Vec<crate::alerts::AlertWrite>,
    /// Error tracking and log search.
    pub logs: Vec<crate::logs::LogWrite>,
    /// Application events pushed to `POST /api/v1/events`.
    pub app_events: Vec<crate::series::AppEventRow>,
    /// State kept across restarts (rule bookkeeping, check state), replaced by kind and name.
    pub kept: Vec<crate::kept::KeptState>,
}

impl WriteBatch {
    /// A batch of samples only.
    pub fn from_samples(samples: Vec<Sample>) -> Self {
        WriteBatch {
            samples,
            ..Default::default()
        }
    }

    /// A batch of check results only.
    pub fn from_check_results(check_results: Vec<CheckResultRow>) -> Self {
        WriteBatch {
            check_results,
            ..Default::default()
        }
    }

    /// Whether the batch holds no rows.
    pub fn is_empty(&self) -> bool {
        self.row_count() == 0
    }

    /// How many rows the batch holds, all kinds together.
    pub fn row_count(&self) -> usize {
        self.samples.len()
            + self.check_results.len()
            + self.alerting.len()
            + self.logs.len()
            + self.app_events.len()
            + self.kept.len()
    }

    /// Rejects what the database cannot store faithfully, before it is queued.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        for sample in &self.samples {
            if sample.name.is_empty() {
                return Err(StoreError::InvalidInput {
                    reason: "a sample has an empty metric name".to_owned(),
                });
            }
            if sample.value.is_nan() {
                return Err(StoreError::InvalidInput {
                    reason: format!(
                        "sample of {} {:?} at {} is NaN; drop it or send a number",
                        sample.name, sample.labels, sample.ts
                    ),
                });
            }
        }
        for row in &self.check_results {
            if row.check.is_empty() {
                return Err(StoreError::InvalidInput {
                    reason: "a check result has an empty check name".to_owned(),
                });
            }
            let latency_ms = row.outcome.latency.as_secs_f64() * 1000.0;
            if !latency_ms.is_finite() {
                return Err(StoreError::InvalidInput {
                    reason: format!("check {} has an unrepresentable latency", row.check),
                });
            }
        }
        Ok(())
    }
}

/// What one retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PruneReport {
    /// Check result rows deleted.
    pub check_results: u64,
    /// Sample rows deleted.
    pub samples: u64,
    /// Series deleted because none of their samples were left.
    pub series: u64,
    /// How many transactions the pass took (each one at most `batch_rows` rows).
    pub transactions: u64,
}

/// Counters of the writer, for `mon_store_*` metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Write batches committed (as submitted by callers).
    pub batches_committed: u64,
    /// Transactions committed by the writer (several batches may share one).
    pub transactions_committed: u64,
    /// Rows committed, all kinds together.
    pub rows_written: u64,
    /// How long the last write transaction took, from `BEGIN` to the end of `COMMIT`.
    pub last_commit_seconds: f64,
    /// The sum of all write transaction durations, for an average or a rate.
    pub commit_seconds_total: f64,
    /// Write batches that failed (their callers got the error).
    pub write_errors: u64,
}
