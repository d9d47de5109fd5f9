//! The `mon` self check: is mon's own store answering reads, committing writes and keeping
//! up, and are its background tasks running (none restarting after a panic)?

use crate::supervise::{KEEPS_DYING, RECENT, Supervisor};
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
    supervisor: Supervisor,
}

impl SelfCheck {
    /// A self check of `store` and of the tasks `supervisor` runs.
    pub(crate) fn new(store: Store, supervisor: Supervisor) -> Self {
        let errors_seen = AtomicU64::new(store.stats().write_errors);
        SelfCheck {
            store,
            errors_seen,
            supervisor,
        }
    }

    /// Unhealthy when a task keeps dying, degraded when one panicked recently.
    fn tasks_outcome(&self, outcome: CheckOutcome) -> CheckOutcome {
        let troubles = self.supervisor.troubles();
        let Some(worst) = troubles.iter().max_by_key(|t| t.recent_panics) else {
            return outcome;
        };
        let minutes = RECENT.as_secs() / 60;
        let (status, message) = if worst.recent_panics >= KEEPS_DYING {
            (
                Status::Unhealthy,
                format!(
                    "background task {:?} keeps dying: {} panics in {minutes} minutes (last: {}); see the server log",
                    worst.task, worst.recent_panics, worst.last_panic
                ),
            )
        } else {
            (
                Status::Degraded,
                format!(
                    "background task {:?} panicked and {} (last: {}); see the server log",
                    worst.task,
                    if worst.restarting {
                        "is restarting"
                    } else {
                        "was restarted"
                    },
                    worst.last_panic
                ),
            )
        };
        if outcome.status >= status {
            return outcome;
        }
        let tasks: Vec<_> = troubles
            .iter()
            .map(|t| {
                serde_json::json!({
                    "task": t.task,
                    "recent_panics": t.recent_panics,
                    "restarting": t.restarting,
                })
            })
            .collect();
        let mut details = outcome.details.clone();
        if let Some(map) = details.as_object_mut() {
            map.insert("tasks".into(), serde_json::json!(tasks));
        }
        CheckOutcome::new(status, outcome.latency, message).with_details(details)
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
        self.tasks_outcome(outcome.with_details(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_that_panics_is_degraded_then_unhealthy_when_it_keeps_dying() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("mon.db"), Default::default()).expect("store");
        let (stop, rx) = tokio::sync::watch::channel(false);
        let supervisor = Supervisor::new(rx, &mut Registry::default());
        let check = SelfCheck::new(store.clone(), supervisor.clone());
        assert_eq!(check.check().await.status, Status::Healthy);
        let task = tokio::spawn(
            supervisor.supervise("doomed", || tokio::spawn(async { panic!("always") })),
        );
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let outcome = check.check().await;
            if seen.last() != Some(&outcome.status) {
                seen.push(outcome.status);
            }
            if outcome.status == Status::Unhealthy {
                assert!(
                    outcome.message.contains("\"doomed\" keeps dying"),
                    "{}",
                    outcome.message
                );
                assert_eq!(
                    outcome.details["tasks"][0]["task"], "doomed",
                    "{}",
                    outcome.details
                );
                break;
            }
            assert!(Instant::now() < deadline, "never unhealthy: {seen:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(seen, [Status::Healthy, Status::Degraded, Status::Unhealthy]);
        stop.send_replace(true);
        task.await.expect("the supervisor stops");
        store.close().await.expect("close");
    }
}
