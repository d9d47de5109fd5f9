//! Supervision of the server's long-lived tasks: a task that panics is logged with its
//! name, counted in `mon_task_restarts_total{task}` and started again with backoff;
//! the self check reports tasks that restarted recently or keep dying.

use mon_health::{TaskTrouble, TaskTroubles};
use mon_http::panic_message;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The first wait before a restart; doubled after each panic, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A task that ran this long without a panic starts again from [`FIRST_BACKOFF`].
const STABLE_AFTER: Duration = Duration::from_secs(300);
/// Panics within this window count as recent for the self check.
const RECENT: Duration = mon_health::RECENT_PANICS;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    task: mon_core::LabelValue,
}

#[derive(Debug, Default)]
struct TaskState {
    panics: VecDeque<Instant>,
    last_panic: String,
    restarting: bool,
}

/// Starts and restarts tasks; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Supervisor {
    stop: watch::Receiver<bool>,
    restarts: Family<TaskLabels, Counter>,
    tasks: Arc<Mutex<BTreeMap<String, TaskState>>>,
}

/// Aborts the task it holds when dropped: aborting a supervised task aborts its current run.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Supervisor {
    /// A supervisor whose tasks are no longer restarted once `stop` turns true;
    /// registers `mon_task_restarts_total`.
    pub(crate) fn new(stop: watch::Receiver<bool>, registry: &mut Registry) -> Self {
        let restarts = Family::<TaskLabels, Counter>::default();
        registry.register(
            "mon_task_restarts",
            "Background tasks started again after a panic, by task",
            restarts.clone(),
        );
        Supervisor {
            stop,
            restarts,
            tasks: Arc::default(),
        }
    }

    /// Runs the task that `start` spawns, and spawns it again (after a backoff) each time
    /// it panics, until it ends by itself (at shutdown) or `stop` turns true. The returned
    /// future is the supervision (the server keeps it in its `JoinSet`); dropping or
    /// aborting it aborts the running task too.
    pub(crate) fn supervise(
        &self,
        name: &str,
        mut start: impl FnMut() -> JoinHandle<()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let this = self.clone();
        let name = name.to_string();
        async move {
            let mut backoff = FIRST_BACKOFF;
            let mut stop = this.stop.clone();
            loop {
                let started = Instant::now();
                let mut run = AbortOnDrop(start());
                let panic = match (&mut run.0).await {
                    Err(e) if e.is_panic() => panic_message(e.into_panic()),
                    _ => return,
                };
                if *stop.borrow() {
                    return;
                }
                if started.elapsed() >= STABLE_AFTER {
                    backoff = FIRST_BACKOFF;
                }
                tracing::error!(
                    task = %name,
                    panic = %panic,
                    restart_in = %mon_core::duration::format(backoff),
                    "a background task panicked; starting it again"
                );
                this.restarts
                    .get_or_create(&TaskLabels {
                        task: name.as_str().into(),
                    })
                    .inc();
                this.note(&name, Some(panic));
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|stopped| *stopped) => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                this.note(&name, None);
            }
        }
    }

    /// A future that completes when the server stops (or its stop signal is gone).
    pub(crate) fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stop = self.stop.clone();
        async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }
    }

    /// Records a panic (`Some`) or a restart (`None`) of `task`.
    fn note(&self, task: &str, panic: Option<String>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        let state = tasks.entry(task.to_string()).or_default();
        match panic {
            Some(message) => {
                state.panics.push_back(Instant::now());
                state.last_panic = message;
                state.restarting = true;
            }
            None => state.restarting = false,
        }
    }
}

/// What the `mon` self check sees of the supervised tasks.
impl TaskTroubles for Supervisor {
    /// The tasks that panicked within [`RECENT`] or are waiting to restart.
    fn troubles(&self) -> Vec<TaskTrouble> {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks
            .iter_mut()
            .filter_map(|(task, state)| {
                while state.panics.front().is_some_and(|t| t.elapsed() > RECENT) {
                    state.panics.pop_front();
                }
                (state.restarting || !state.panics.is_empty()).then(|| {
                    TaskTrouble::new(
                        task,
                        state.panics.len(),
                        &state.last_panic,
                        state.restarting,
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A task that panics on its first `panics` runs, then runs until `stop`.
    fn flaky(
        runs: Arc<AtomicUsize>,
        panics: usize,
        stop: watch::Receiver<bool>,
    ) -> impl FnMut() -> JoinHandle<()> + Send + 'static {
        move || {
            let n = runs.fetch_add(1, Ordering::SeqCst);
            let mut stop = stop.clone();
            tokio::spawn(async move {
                assert!(n >= panics, "run {n} fails");
                let _ = stop.wait_for(|s| *s).await;
            })
        }
    }

    fn encode(registry: &Registry) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).expect("encode");
        text
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_counted_and_reported() {
        let (stop, rx) = watch::channel(false);
        let mut registry = Registry::default();
        let supervisor = Supervisor::new(rx.clone(), &mut registry);
        let runs = Arc::new(AtomicUsize::new(0));
        let handle = tokio::spawn(supervisor.supervise("flaky", flaky(runs.clone(), 2, rx)));
        // Paused time: the backoffs pass as soon as every task waits.
        while runs.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = encode(&registry);
        assert!(
            text.contains("mon_task_restarts_total{task=\"flaky\"} 2"),
            "{text}"
        );
        let troubles = supervisor.troubles();
        assert_eq!(troubles.len(), 1, "{troubles:?}");
        assert_eq!(troubles[0].task, "flaky");
        assert_eq!(troubles[0].recent_panics, 2);
        assert!(!troubles[0].restarting);
        assert!(
            troubles[0].last_panic.contains("run 1 fails"),
            "{troubles:?}"
        );
        // Stops cleanly: the running task ends with the stop signal, and so does the supervisor.
        stop.send_replace(true);
        handle.await.expect("the supervisor ends");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        // Old panics age out of the report.
        tokio::time::advance(RECENT + Duration::from_secs(1)).await;
        assert!(supervisor.troubles().is_empty());
    }

    /// The supervisor is what the `mon` self check sees tasks through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_that_panics_makes_the_self_check_degraded_then_unhealthy() {
        use mon_core::{HealthCheck, Status};
        let dir = tempfile::tempdir().expect("dir");
        let store =
            mon_store::Store::open(&dir.path().join("mon.db"), Default::default()).expect("store");
        let (stop, rx) = watch::channel(false);
        let supervisor = Supervisor::new(rx, &mut Registry::default());
        let check = mon_health::SelfCheck::new("mon", store.clone(), Arc::new(supervisor.clone()));
        assert_eq!(check.check().await.status, Status::Healthy);
        let task = tokio::spawn(
            supervisor.supervise("doomed", || tokio::spawn(async { panic!("always") })),
        );
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let outcome = check.check().await;
            if seen.last() != Some(&outcome.status) {
                seen.push(outcome.status);
            }
            if outcome.status == Status::Unhealthy {
                let message = &outcome.message;
                assert!(message.contains("\"doomed\" keeps dying"), "{message}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never unhealthy: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(seen, [Status::Healthy, Status::Degraded, Status::Unhealthy]);
        stop.send_replace(true);
        task.await.expect("the supervisor stops");
        store.close().await.expect("close");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_is_not_restarted_and_abort_reaches_the_task() {
        let (_stop, rx) = watch::channel(false);
        let supervisor = Supervisor::new(rx, &mut Registry::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        tokio::spawn(supervisor.supervise("once", move || {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async {})
        }))
        .await
        .expect("ends");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Aborting the supervisor aborts the run it holds (a task without a stop signal).
        let (tx, ended) = tokio::sync::oneshot::channel::<()>();
        let mut tx = Some(tx);
        let handle = tokio::spawn(supervisor.supervise("forever", move || {
            let guard = tx.take();
            tokio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            })
        }));
        tokio::time::sleep(Duration::from_millis(10)).await;
        handle.abort();
        assert!(ended.await.is_err(), "the run was dropped");
    }
}
