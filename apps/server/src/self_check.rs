//! The `mon` self check: is mon's own store answering reads, committing writes and keeping up?

use mon_core::{CheckOutcome, HealthCheck, Status, async_trait};
use mon_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Reads through the store's read pool (its own latest result), and reports write
/// failures since the previous run and the writer's queue depth. (Every check result,
/// this one's included, is itself a write, so a dead writer shows up as failures.)
#[derive(Debug)]
pub(crate) struct SelfCheck {
    store: Store,
    errors_seen: AtomicU64,
}

impl SelfCheck {
    /// A self check of `store`.
    pub(crate) fn new(store: Store) -> Self {
        let errors_seen = AtomicU64::new(store.stats().write_errors);
        SelfCheck { store, errors_seen }
    }
}

#[async_trait]
impl HealthCheck for SelfCheck {
    fn kind(&self) -> &str {
        "self"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let result = self.store.check_results("mon", None, 1).await;
        let latency = started.elapsed();
        let stats = self.store.stats();
        let new_errors = stats
            .write_errors
            .saturating_sub(self.errors_seen.swap(stats.write_errors, Ordering::Relaxed));
        let (depth, capacity) = (self.store.queue_depth(), self.store.queue_capacity());
        let details = serde_json::json!({
            "queue_depth": depth,
            "queue_capacity": capacity,
            "write_errors": stats.write_errors,
            "last_commit_seconds": stats.last_commit_seconds,
        });
        let outcome = match result {
            Err(e) => {
                CheckOutcome::unhealthy(latency, format!("the store does not answer reads: {e}"))
            }
            Ok(_) if new_errors > 0 => CheckOutcome::unhealthy(
                latency,
                format!(
                    "{new_errors} store write(s) failed since the last check; see the server log"
                ),
            ),
            Ok(_) if depth * 10 >= capacity * 9 => CheckOutcome::new(
                Status::Degraded,
                latency,
                format!("the store writer is falling behind: {depth} of {capacity} batches queued"),
            ),
            Ok(_) => CheckOutcome::healthy(latency, "the store answers reads and commits writes"),
        };
        outcome.with_details(details)
    }
}
