//! The `mon` self check: is mon's own store answering reads, committing writes and keeping
//! up ([`Store::probe`]), and are its background tasks running (none restarting after a
//! panic)? The tasks are seen through [`TaskTroubles`], which the server's supervisor
//! implements.

use mon_core::{CheckOutcome, HealthCheck, Status, async_trait};
use mon_store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Panics within this window count as recent (for [`TaskTrouble::recent_panics`]).
pub const RECENT_PANICS: Duration = Duration::from_secs(600);
/// This many recent panics: the task keeps dying (the self check is unhealthy).
pub const KEEPS_DYING: usize = 3;

/// One supervised task that has panicked within [`RECENT_PANICS`] or waits to restart.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskTrouble {
    /// The task's name.
    pub task: String,
    /// Panics within [`RECENT_PANICS`].
    pub recent_panics: usize,
    /// The last panic's message.
    pub last_panic: String,
    /// Waiting to be started again.
    pub restarting: bool,
}

impl TaskTrouble {
    /// The trouble of `task`: its recent panics, the last one's message, whether it waits
    /// to restart.
    pub fn new(task: &str, recent_panics: usize, last_panic: &str, restarting: bool) -> Self {
        TaskTrouble {
            task: task.to_string(),
            recent_panics,
            last_panic: last_panic.to_string(),
            restarting,
        }
    }
}

/// Whoever runs background tasks and knows which of them are in trouble.
pub trait TaskTroubles: Send + Sync + std::fmt::Debug {
    /// The tasks that panicked within [`RECENT_PANICS`] or are waiting to restart.
    fn troubles(&self) -> Vec<TaskTrouble>;
}

/// The `mon` self check (kind `self`): reads through the store's read pool (its own latest
/// result), and reports write failures since the previous run, the writer's queue depth
/// and the tasks in trouble. (Every check result, this one's included, is itself a write,
/// so a dead writer shows up as failures.)
#[derive(Debug)]
pub struct SelfCheck {
    name: String,
    store: Store,
    errors_seen: AtomicU64,
    tasks: Arc<dyn TaskTroubles>,
}

impl SelfCheck {
    /// The self check named `name` (its stored results are the ones it reads) of `store`
    /// and of the tasks `tasks` runs.
    pub fn new(name: &str, store: Store, tasks: Arc<dyn TaskTroubles>) -> Self {
        let errors_seen = AtomicU64::new(store.stats().write_errors);
        SelfCheck {
            name: name.to_string(),
            store,
            errors_seen,
            tasks,
        }
    }

    /// Unhealthy when a task keeps dying, degraded when one panicked recently.
    fn tasks_outcome(&self, outcome: CheckOutcome) -> CheckOutcome {
        let troubles = self.tasks.troubles();
        let Some(worst) = troubles.iter().max_by_key(|t| t.recent_panics) else {
            return outcome;
        };
        let minutes = RECENT_PANICS.as_secs() / 60;
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
        let probe = self.store.probe(&self.name).await;
        let (latency, stats) = (probe.latency, &probe.stats);
        let new_errors = stats
            .write_errors
            .saturating_sub(self.errors_seen.swap(stats.write_errors, Ordering::Relaxed));
        let (depth, capacity) = (probe.queue_depth, probe.queue_capacity);
        let details = serde_json::json!({
            "queue_depth": depth,
            "queue_capacity": capacity,
            "write_errors": stats.write_errors,
            "last_commit_seconds": stats.last_commit_seconds,
        });
        let outcome = match &probe.read {
            Err(e) => {
                CheckOutcome::unhealthy(latency, format!("the store does not answer reads: {e}"))
            }
            Ok(()) if new_errors > 0 => CheckOutcome::unhealthy(
                latency,
                format!(
                    "{new_errors} store write(s) failed since the last check; see the server log"
                ),
            ),
            Ok(()) if probe.falling_behind() => CheckOutcome::new(
                Status::Degraded,
                latency,
                format!("the store writer is falling behind: {depth} of {capacity} batches queued"),
            ),
            Ok(()) => CheckOutcome::healthy(latency, "the store answers reads and commits writes"),
        };
        self.tasks_outcome(outcome.with_details(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Troubles as a test sets them.
    #[derive(Debug, Default)]
    struct Troubles(Mutex<Vec<TaskTrouble>>);

    impl TaskTroubles for Troubles {
        fn troubles(&self) -> Vec<TaskTrouble> {
            self.0.lock().map(|t| t.clone()).unwrap_or_default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_store_and_the_tasks_in_trouble_decide_the_status() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("mon.db"), Default::default()).expect("store");
        let troubles = Arc::new(Troubles::default());
        let check = SelfCheck::new("mon", store.clone(), troubles.clone());
        let healthy = check.check().await;
        assert_eq!(healthy.status, Status::Healthy, "{}", healthy.message);
        assert_eq!(healthy.details["queue_depth"], 0, "{}", healthy.details);
        assert!(
            healthy.details.get("tasks").is_none(),
            "{}",
            healthy.details
        );
        // (recent panics, restarting) → status and the words of the message.
        let cases = [
            (
                1,
                true,
                Status::Degraded,
                "\"doomed\" panicked and is restarting",
            ),
            (
                2,
                false,
                Status::Degraded,
                "\"doomed\" panicked and was restarted",
            ),
            (
                KEEPS_DYING,
                true,
                Status::Unhealthy,
                "\"doomed\" keeps dying: 3 panics in 10 minutes",
            ),
        ];
        for (panics, restarting, status, words) in cases {
            *troubles.0.lock().expect("troubles") =
                vec![TaskTrouble::new("doomed", panics, "always", restarting)];
            let outcome = check.check().await;
            assert_eq!(
                outcome.status, status,
                "{panics} panics: {}",
                outcome.message
            );
            assert!(outcome.message.contains(words), "{}", outcome.message);
            assert!(
                outcome.message.contains("(last: always)"),
                "{}",
                outcome.message
            );
            assert_eq!(
                outcome.details["tasks"][0]["task"], "doomed",
                "{}",
                outcome.details
            );
            assert_eq!(outcome.details["tasks"][0]["recent_panics"], panics);
            assert_eq!(outcome.details["queue_capacity"], store.queue_capacity());
        }
        troubles.0.lock().expect("troubles").clear();
        assert_eq!(check.check().await.status, Status::Healthy);
        store.close().await.expect("close");
    }
}
