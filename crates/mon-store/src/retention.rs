//! Retention: deletes expired rows in small transactions sent through the writer queue,
//! so ingest keeps committing between them and is never stalled by a large delete.

use crate::model::PruneReport;
use crate::store::Store;
use crate::writer::{Job, PruneStep};
use crate::{RetentionPolicy, StoreError};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;

/// The timestamp (unix ms) before which rows kept for `keep` have expired at `now`.
/// A retention too long to represent expires nothing.
fn cutoff_ms(now: DateTime<Utc>, keep: Duration) -> i64 {
    TimeDelta::from_std(keep)
        .ok()
        .and_then(|keep| now.checked_sub_signed(keep))
        .map_or(i64::MIN, |t| t.timestamp_millis())
}

impl Store {
    /// Runs one retention pass as of `now`: deletes check results older than
    /// `policy.check_results` and samples older than `policy.samples` (then series left
    /// empty), at most `policy.batch_rows` rows per transaction. Each transaction goes
    /// through the write queue like any write batch, so writes queued meanwhile commit
    /// between them.
    ///
    /// # Errors
    /// [`StoreError::InvalidOptions`] for `batch_rows == 0`, [`StoreError::Closed`] when
    /// the store is closing, [`StoreError::Sqlite`] when a delete fails (what was deleted
    /// by earlier transactions stays deleted; the next pass continues).
    pub async fn prune_once(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<PruneReport, StoreError> {
        if policy.batch_rows == 0 {
            return Err(StoreError::InvalidOptions {
                reason: "retention batch_rows must be at least 1, got 0".to_owned(),
            });
        }
        let mut report = PruneReport::default();
        let first_steps = [
            PruneStep::CheckResults {
                cutoff_ms: cutoff_ms(now, policy.check_results),
                after: None,
                limit: policy.batch_rows,
            },
            PruneStep::Samples {
                cutoff_ms: cutoff_ms(now, policy.samples),
                after: i64::MIN,
                limit: policy.batch_rows,
            },
        ];
        for first in first_steps {
            let mut step = Some(first);
            while let Some(current) = step.take() {
                let is_samples = matches!(current, PruneStep::Samples { .. });
                let (ack, rx) = oneshot::channel();
                self.send_job(Job::Prune { step: current, ack }).await?;
                let progress = rx.await.map_err(|_| StoreError::Closed)??;
                report.transactions += 1;
                if is_samples {
                    report.samples += progress.deleted;
                } else {
                    report.check_results += progress.deleted;
                }
                report.series += progress.series_deleted;
                step = progress.next;
            }
        }
        Ok(report)
    }

    /// Starts a task that runs [`Store::prune_once`] now and then every `policy.interval`,
    /// until the store is closed or its last handle is dropped (the task holds no handle
    /// between passes). An invalid policy is logged and the task ends at once.
    ///
    /// # Panics
    /// When called outside a tokio runtime.
    pub fn spawn_retention(&self, policy: RetentionPolicy) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            if let Err(e) = policy.validate() {
                tracing::error!(error = %e, "store retention is not running");
                return;
            }
            let mut ticker = tokio::time::interval(policy.interval);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                let store = Store { shared };
                match store.prune_once(&policy, Utc::now()).await {
                    Ok(report) => tracing::debug!(
                        check_results = report.check_results,
                        samples = report.samples,
                        series = report.series,
                        transactions = report.transactions,
                        "store retention pass finished"
                    ),
                    Err(StoreError::Closed) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "store retention pass failed; retrying at the next interval")
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_handles_huge_retention() {
        let now = DateTime::from_timestamp_millis(1_000_000).unwrap();
        assert_eq!(cutoff_ms(now, Duration::from_secs(1)), 999_000);
        assert_eq!(cutoff_ms(now, Duration::MAX), i64::MIN);
    }
}
