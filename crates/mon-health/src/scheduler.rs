//! `Scheduler`: runs every check on its interval, with a timeout, a concurrency limit and panic isolation.

use crate::{CheckConfig, CheckPolicy, HealthError, HealthRegistry};
use mon_core::{CheckOutcome, HealthCheck, Kinds};
use serde_json::json;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinError, JoinHandle, JoinSet};

/// How the [`Scheduler`] runs checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// How many checks may run at the same time (default 16); the others wait their turn.
    pub max_concurrency: usize,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            max_concurrency: 16,
        }
    }
}

/// One run's outcome, as sent on the scheduler's results channel.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// The check's name.
    pub check: String,
    /// What the run observed.
    pub outcome: CheckOutcome,
}

/// Runs checks and records their outcomes in a [`HealthRegistry`].
///
/// Each check runs as soon as the scheduler is spawned, then again `interval`
/// (plus a jitter of at most 10%) after its previous run *finished*. A run
/// that takes longer than its `timeout` is cancelled and reported unhealthy; a
/// check that panics is reported unhealthy with the panic message. Neither
/// affects the other checks.
///
/// ```no_run
/// # async fn example(check: std::sync::Arc<dyn mon_core::HealthCheck>) -> Result<(), mon_health::HealthError> {
/// use mon_health::{HealthRegistry, Scheduler, SchedulerOptions};
/// use std::time::Duration;
///
/// let registry = HealthRegistry::new();
/// let mut scheduler = Scheduler::new(registry.clone(), SchedulerOptions::default());
/// scheduler.add("api", check, Duration::from_secs(30), Duration::from_secs(10), true)?;
/// let (results, mut received) = tokio::sync::mpsc::channel(256);
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let handle = scheduler.spawn(results, async move { let _ = stopped.await; });
/// while let Some(result) = received.recv().await {
///     // store, evaluate rules...
/// #   break;
/// }
/// let _ = stop.send(());
/// let _ = handle.await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Scheduler {
    registry: HealthRegistry,
    semaphore: Arc<Semaphore>,
    checks: Vec<Arc<Scheduled>>,
    /// The check kinds [`add_config`](Self::add_config) builds from: the built-in
    /// ones (`heartbeat` reading the registry's pings) and those added.
    kinds: Kinds,
}

/// A check with its schedule.
struct Scheduled {
    name: String,
    check: Arc<dyn HealthCheck>,
    interval: Duration,
    timeout: Duration,
}

impl Scheduler {
    /// A scheduler with no checks that records into `registry`.
    pub fn new(registry: HealthRegistry, options: SchedulerOptions) -> Scheduler {
        let mut kinds = Kinds::new();
        crate::checks::register(&mut kinds, registry.heartbeats());
        Scheduler {
            registry,
            semaphore: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            checks: Vec::new(),
            kinds,
        }
    }

    /// Adds the check kinds of `kinds`, from other crates, for
    /// [`add_config`](Self::add_config); a kind of the name of a built-in one replaces
    /// it. The built-in kinds are there already (`heartbeat` reading this registry's
    /// pings): do not add them again from [`check_kinds`](crate::check_kinds).
    pub fn add_kinds(&mut self, kinds: &Kinds) {
        self.kinds.extend(kinds);
    }

    /// Adds a check and registers it (as not run yet) in the registry; its
    /// outcomes are reported as they come ([`CheckPolicy::immediate`]).
    ///
    /// Fails if the name is already registered or invalid, or if `interval` or
    /// `timeout` is zero.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        check: Arc<dyn HealthCheck>,
        interval: Duration,
        timeout: Duration,
        critical: bool,
    ) -> Result<(), HealthError> {
        self.add_with(
            name,
            check,
            interval,
            timeout,
            CheckPolicy::immediate(critical),
        )
    }

    /// Like [`add`](Self::add), reported according to `policy` (flap control,
    /// dependencies, thresholds).
    pub fn add_with(
        &mut self,
        name: impl Into<String>,
        check: Arc<dyn HealthCheck>,
        interval: Duration,
        timeout: Duration,
        policy: CheckPolicy,
    ) -> Result<(), HealthError> {
        let name = name.into();
        for (field, value) in [("interval", interval), ("timeout", timeout)] {
            if value.is_zero() {
                return Err(HealthError::invalid(
                    &name,
                    field,
                    "must be longer than zero",
                ));
            }
        }
        self.registry.register_with(&name, check.kind(), policy)?;
        self.checks.push(Arc::new(Scheduled {
            name,
            check,
            interval,
            timeout,
        }));
        Ok(())
    }

    /// Validates and builds `config` with its kind's factory (built-in or
    /// [added](Self::add_kinds)), then adds it with its [`policy`](CheckConfig::policy).
    /// A `heartbeat` check reads the pings the registry receives.
    pub fn add_config(&mut self, config: &CheckConfig) -> Result<(), HealthError> {
        let check = config.build(&self.kinds)?;
        self.add_with(
            config.name.clone(),
            check,
            config.interval,
            config.timeout,
            config.policy(),
        )
    }

    /// Runs every check once, concurrently (within `max_concurrency`), records
    /// the outcomes and returns them in the order the checks were added.
    pub async fn run_once(&self) -> Vec<CheckResult> {
        let mut runs = JoinSet::new();
        for (index, scheduled) in self.checks.iter().enumerate() {
            let scheduled = Arc::clone(scheduled);
            let semaphore = Arc::clone(&self.semaphore);
            runs.spawn(async move { (index, execute(&scheduled, &semaphore).await) });
        }
        let mut outcomes: Vec<Option<CheckOutcome>> = vec![None; self.checks.len()];
        while let Some(joined) = runs.join_next().await {
            // `execute` catches the check's panics itself, so the join cannot fail
            // short of runtime shutdown; such a run is simply left out.
            if let Ok((index, outcome)) = joined {
                outcomes[index] = Some(outcome);
            }
        }
        self.checks
            .iter()
            .zip(outcomes)
            .filter_map(|(scheduled, outcome)| {
                let outcome = outcome?;
                self.registry.record(&scheduled.name, outcome.clone());
                Some(CheckResult {
                    check: scheduled.name.clone(),
                    outcome,
                })
            })
            .collect()
    }

    /// Starts running every check on its schedule until `shutdown` completes.
    ///
    /// Every outcome updates the registry and is offered to `results` without
    /// waiting: when the channel is full the result is dropped (and counted in
    /// [`HealthRegistry::dropped_results`]) so a slow consumer never delays the
    /// checks. The returned task ends once `shutdown` has completed and the
    /// running checks have been cancelled.
    pub fn spawn<F>(self, results: mpsc::Sender<CheckResult>, shutdown: F) -> JoinHandle<()>
    where
        F: Future + Send + 'static,
    {
        tokio::spawn(async move {
            let mut loops = JoinSet::new();
            for scheduled in self.checks {
                loops.spawn(run_forever(
                    scheduled,
                    self.registry.clone(),
                    Arc::clone(&self.semaphore),
                    results.clone(),
                ));
            }
            drop(results);
            shutdown.await;
            loops.shutdown().await;
        })
    }

    /// [`Scheduler::spawn`] on a thread of its own, on a single-threaded runtime: a probe's
    /// timer, connection and result stay on one thread instead of waking the other
    /// workers (about a fifth less CPU per probe, measured in docs/benchmarks.md), and a
    /// burst of API traffic never delays a probe. The returned task (on the caller's
    /// runtime) ends with the thread, and panics with the thread's panic, so that a
    /// supervisor sees it. Fails when the runtime or the thread cannot be created.
    pub fn spawn_on_thread<F>(
        self,
        results: mpsc::Sender<CheckResult>,
        shutdown: F,
    ) -> std::io::Result<JoinHandle<()>>
    where
        F: Future + Send + 'static,
    {
        type Panic = Box<dyn std::any::Any + Send>;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Option<Panic>>();
        std::thread::Builder::new()
            .name("mon-checks".into())
            .spawn(move || {
                let run = std::panic::AssertUnwindSafe(|| {
                    runtime.block_on(async move {
                        match self.spawn(results, shutdown).await {
                            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                            _ => {}
                        }
                    })
                });
                let _ = done_tx.send(std::panic::catch_unwind(run).err());
            })?;
        Ok(tokio::spawn(async move {
            if let Ok(Some(panic)) = done_rx.await {
                std::panic::resume_unwind(panic);
            }
        }))
    }
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let checks: Vec<(&str, &str)> = self
            .checks
            .iter()
            .map(|s| (s.name.as_str(), s.check.kind()))
            .collect();
        f.debug_struct("Scheduler")
            .field("checks", &checks)
            .finish_non_exhaustive()
    }
}

async fn run_forever(
    scheduled: Arc<Scheduled>,
    registry: HealthRegistry,
    semaphore: Arc<Semaphore>,
    results: mpsc::Sender<CheckResult>,
) {
    loop {
        let outcome = execute(&scheduled, &semaphore).await;
        registry.record(&scheduled.name, outcome.clone());
        let result = CheckResult {
            check: scheduled.name.clone(),
            outcome,
        };
        match results.try_send(result) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = registry.count_dropped_result();
                if dropped.is_power_of_two() {
                    tracing::warn!(
                        dropped,
                        check = %scheduled.name,
                        "the check results channel is full: results are being dropped (the health registry is still up to date)"
                    );
                }
            }
            // Nobody listens any more; the registry still serves the results.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
        tokio::time::sleep(scheduled.interval + jitter(&scheduled.name, scheduled.interval)).await;
    }
}

/// Runs one check under the concurrency limit and its timeout, catching panics.
async fn execute(scheduled: &Scheduled, semaphore: &Semaphore) -> CheckOutcome {
    // The semaphore is never closed, so acquiring only fails in theory; run anyway then.
    let _permit = semaphore.acquire().await.ok();
    // tokio's clock (the same as std's, except when a test pauses it).
    let started = tokio::time::Instant::now();
    // The check runs as its own task so that a panic stays inside it; the
    // JoinSet aborts the task when dropped, which cancels a timed-out run.
    let mut run = JoinSet::new();
    let check = Arc::clone(&scheduled.check);
    run.spawn(async move { check.check().await });
    match tokio::time::timeout(scheduled.timeout, run.join_next()).await {
        Ok(Some(Ok(outcome))) => outcome,
        Ok(Some(Err(error))) => failed_run(error, started.elapsed()),
        Ok(None) => CheckOutcome::unhealthy(started.elapsed(), "the check did not run"),
        Err(_elapsed) => CheckOutcome::unhealthy(
            started.elapsed(),
            format!(
                "timed out after {}",
                mon_core::duration::format(scheduled.timeout)
            ),
        )
        .with_details(json!({"error": "timeout"})),
    }
}

fn failed_run(error: JoinError, latency: Duration) -> CheckOutcome {
    if !error.is_panic() {
        return CheckOutcome::unhealthy(latency, "the check was cancelled")
            .with_details(json!({"error": "cancelled"}));
    }
    let payload = error.into_panic();
    let message = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-text panic payload".to_owned()
    };
    CheckOutcome::unhealthy(latency, format!("the check panicked: {message}"))
        .with_details(json!({"error": "panic"}))
}

/// A pseudo-random delay of at most 10% of `interval`, so checks added together drift apart.
fn jitter(name: &str, interval: Duration) -> Duration {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    name.hash(&mut hasher);
    SystemTime::now().hash(&mut hasher);
    let per_mille = hasher.finish() % 101;
    // per_mille ≤ 100 is exactly representable: the factor is at most 0.1.
    interval.mul_f64(per_mille as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mon_core::{Status, async_trait};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Answers `status` after `delay`; counts runs and records when each started and ended.
    struct Probe {
        status: Status,
        delay: Duration,
        runs: AtomicUsize,
        spans: Mutex<Vec<(tokio::time::Instant, tokio::time::Instant)>>,
        running: AtomicUsize,
        max_running: AtomicUsize,
    }

    impl Probe {
        fn new(status: Status, delay: Duration) -> Arc<Probe> {
            Arc::new(Probe {
                status,
                delay,
                runs: AtomicUsize::new(0),
                spans: Mutex::new(Vec::new()),
                running: AtomicUsize::new(0),
                max_running: AtomicUsize::new(0),
            })
        }
    }

    #[async_trait]
    impl HealthCheck for Probe {
        fn kind(&self) -> &str {
            "probe"
        }

        async fn check(&self) -> CheckOutcome {
            let start = tokio::time::Instant::now();
            let now_running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_running.fetch_max(now_running, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            self.runs.fetch_add(1, Ordering::SeqCst);
            self.spans
                .lock()
                .unwrap()
                .push((start, tokio::time::Instant::now()));
            CheckOutcome::new(self.status, self.delay, "probed")
        }
    }

    struct Panics;

    #[async_trait]
    impl HealthCheck for Panics {
        fn kind(&self) -> &str {
            "panics"
        }

        async fn check(&self) -> CheckOutcome {
            panic!("kaboom in the check")
        }
    }

    /// Never finishes; records whether it was cancelled (dropped).
    struct Hangs {
        cancelled: Arc<AtomicBool>,
    }

    struct SetOnDrop(Arc<AtomicBool>);

    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[async_trait]
    impl HealthCheck for Hangs {
        fn kind(&self) -> &str {
            "hangs"
        }

        async fn check(&self) -> CheckOutcome {
            let _guard = SetOnDrop(Arc::clone(&self.cancelled));
            std::future::pending::<()>().await;
            CheckOutcome::healthy(Duration::ZERO, "unreachable")
        }
    }

    /// Polls `condition` until it holds, failing after a generous deadline.
    async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
        mon_tests::eventually_async(what, Duration::from_secs(20), async || condition()).await;
    }

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn a_panicking_check_is_unhealthy_and_the_others_keep_running() {
        let registry = HealthRegistry::new();
        let mut scheduler = Scheduler::new(registry.clone(), SchedulerOptions::default());
        let probe = Probe::new(Status::Healthy, MS);
        scheduler
            .add(
                "boom",
                Arc::new(Panics),
                20 * MS,
                Duration::from_secs(5),
                true,
            )
            .unwrap();
        scheduler
            .add("fine", probe.clone(), 20 * MS, Duration::from_secs(5), true)
            .unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        let handle = scheduler.spawn(tx, std::future::pending::<()>());

        let mut panics = 0;
        let mut fine = 0;
        let deadline = Duration::from_secs(20);
        while panics < 3 || fine < 3 {
            let result = tokio::time::timeout(deadline, rx.recv())
                .await
                .unwrap()
                .unwrap();
            if result.check == "boom" {
                panics += 1;
                assert_eq!(result.outcome.status, Status::Unhealthy);
                assert_eq!(
                    result.outcome.message,
                    "the check panicked: kaboom in the check"
                );
                assert_eq!(result.outcome.details["error"], "panic");
            } else {
                fine += 1;
                assert_eq!(result.outcome.status, Status::Healthy);
            }
        }
        assert!(!handle.is_finished());
        let boom = registry.check("boom").unwrap();
        assert_eq!(boom.status(), Status::Unhealthy);
        assert!(boom.consecutive_failures >= 3, "{boom:?}");
        assert!(registry.check("fine").unwrap().consecutive_successes >= 3);
        handle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn the_interval_starts_after_the_previous_run_finished() {
        let registry = HealthRegistry::new();
        let mut scheduler = Scheduler::new(registry.clone(), SchedulerOptions::default());
        let interval = 100 * MS;
        let probe = Probe::new(Status::Healthy, 40 * MS);
        scheduler
            .add(
                "slowish",
                probe.clone(),
                interval,
                Duration::from_secs(5),
                true,
            )
            .unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        let begun = tokio::time::Instant::now();
        let handle = scheduler.spawn(tx, std::future::pending::<()>());
        for _ in 0..6 {
            tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .unwrap()
                .unwrap();
        }
        let spans = probe.spans.lock().unwrap().clone();
        assert!(spans.len() >= 6, "{spans:?}");
        // The first run starts right away.
        assert_eq!(spans[0].0, begun);
        for pair in spans.windows(2) {
            let gap = pair[1].0 - pair[0].1;
            assert!(
                gap >= interval,
                "a run started {gap:?} after the previous one ended"
            );
            assert!(
                gap <= interval.mul_f64(1.1) + MS,
                "jitter too large: {gap:?}"
            );
        }
        handle.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_over_its_timeout_is_cancelled_and_unhealthy() {
        let registry = HealthRegistry::new();
        let mut scheduler = Scheduler::new(registry.clone(), SchedulerOptions::default());
        let cancelled = Arc::new(AtomicBool::new(false));
        let hangs = Arc::new(Hangs {
            cancelled: Arc::clone(&cancelled),
        });
        scheduler
            .add("stuck", hangs, Duration::from_secs(30), 250 * MS, false)
            .unwrap();
        let results = scheduler.run_once().await;
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].outcome.status, Status::Unhealthy);
        assert_eq!(results[0].outcome.message, "timed out after 250ms");
        assert!(results[0].outcome.latency >= 250 * MS);
        wait_until("the run to be cancelled", || {
            cancelled.load(Ordering::SeqCst)
        })
        .await;
        assert_eq!(registry.check("stuck").unwrap().status(), Status::Unhealthy);
    }

    #[tokio::test]
    async fn run_once_runs_everything_and_records_it() {
        let registry = HealthRegistry::new();
        let mut scheduler = Scheduler::new(registry.clone(), SchedulerOptions::default());
        scheduler
            .add(
                "b-up",
                Probe::new(Status::Healthy, MS),
                Duration::from_secs(30),
                Duration::from_secs(5),
                true,
            )
            .unwrap();
        scheduler
            .add(
                "a-down",
                Probe::new(Status::Unhealthy, MS),
                Duration::from_secs(30),
                Duration::from_secs(5),
                true,
            )
            .unwrap();
        scheduler
            .add(
                "c-panic",
                Arc::new(Panics),
                Duration::from_secs(30),
                Duration::from_secs(5),
                false,
            )
            .unwrap();
        assert!(!registry.is_ready());

        let results = scheduler.run_once().await;
        let seen: Vec<(&str, Status)> = results
            .iter()
            .map(|r| (r.check.as_str(), r.outcome.status))
            .collect();
        assert_eq!(
            seen,
            [
                ("b-up", Status::Healthy),
                ("a-down", Status::Unhealthy),
                ("c-panic", Status::Unhealthy)
            ]
        );
        assert!(registry.is_ready());
        assert_eq!(registry.summary().status, Status::Unhealthy);
        assert_eq!(registry.check("b-up").unwrap().status(), Status::Healthy);
    }

    #[tokio::test]
    async fn max_concurrency_limits_parallel_runs() {
        for (limit, want) in [(1, 1), (2, 2)] {
            let registry = HealthRegistry::new();
            let mut scheduler = Scheduler::new(
                registry,
                SchedulerOptions {
                    max_concurrency: limit,
                },
            );
            let probe = Probe::new(Status::Healthy, 30 * MS);
            for i in 0..4 {
                scheduler
                    .add(
                        format!("c{i}"),
                        probe.clone(),
                        Duration::from_secs(30),
                        Duration::from_secs(5),
                        true,
                    )
                    .unwrap();
            }
            assert_eq!(scheduler.run_once().await.len(), 4);
            assert_eq!(
                probe.max_running.load(Ordering::SeqCst),
                want,
                "limit {limit}"
            );
        }
    }

    #[tokio::test]
    async fn a_full_channel_drops_results_but_the_registry_keeps_up() {
        let registry = HealthRegistry::new();
        let mut scheduler = Scheduler::new(registry.clone(), SchedulerOptions::default());
        scheduler
            .add(
                "fast",
                Probe::new(Status::Healthy, MS),
                5 * MS,
                Duration::from_secs(5),
                true,
            )
            .unwrap();
        let (tx, _rx) = mpsc::channel(1);
        let handle = scheduler.spawn(tx, std::future::pending::<()>());
        wait_until("dropped results", || registry.dropped_results() >= 2).await;
        wait_until("more runs", || {
            registry
                .check("fast")
                .is_some_and(|c| c.consecutive_successes >= 5)
        })
        .await;
        handle.abort();
    }

    /// A scheduler of one healthy check `p` every 10 ms, and its registry.
    fn one_check() -> (HealthRegistry, Scheduler) {
        let registry = HealthRegistry::new();
        let mut scheduler = Scheduler::new(registry.clone(), SchedulerOptions::default());
        let probe = Probe::new(Status::Healthy, MS);
        scheduler
            .add("p", probe, 10 * MS, Duration::from_secs(5), true)
            .unwrap();
        (registry, scheduler)
    }

    #[tokio::test]
    async fn shutdown_stops_the_scheduler() {
        let (_, scheduler) = one_check();
        let (tx, mut rx) = mpsc::channel(64);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = scheduler.spawn(tx, stopped);
        rx.recv().await.unwrap();
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), handle)
            .await
            .unwrap()
            .unwrap();
        // Every sender is gone with the scheduler: the channel drains and closes.
        while rx.recv().await.is_some() {}
    }

    #[tokio::test]
    async fn on_its_own_thread_the_scheduler_runs_and_stops_the_same() {
        let (registry, scheduler) = one_check();
        let (tx, mut rx) = mpsc::channel(64);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = scheduler
            .spawn_on_thread(tx, stopped)
            .expect("the thread starts");
        let result = rx.recv().await.expect("a result from the checks' thread");
        assert_eq!(result.check, "p");
        assert_eq!(
            registry.check("p").map(|c| c.status()),
            Some(Status::Healthy)
        );
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), handle)
            .await
            .unwrap()
            .expect("the task ends with the thread, without a panic");
        while rx.recv().await.is_some() {}
    }

    #[test]
    fn add_rejects_bad_input() {
        let registry = HealthRegistry::new();
        let mut scheduler = Scheduler::new(registry, SchedulerOptions::default());
        let probe = Probe::new(Status::Healthy, MS);
        let second = Duration::from_secs(1);
        assert!(
            scheduler
                .add("p", probe.clone(), Duration::ZERO, second, true)
                .is_err()
        );
        assert!(
            scheduler
                .add("p", probe.clone(), second, Duration::ZERO, true)
                .is_err()
        );
        scheduler
            .add("p", probe.clone(), second, second, true)
            .unwrap();
        let err = scheduler.add("p", probe, second, second, true).unwrap_err();
        assert!(err.to_string().contains("defined more than once"), "{err}");
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let interval = Duration::from_secs(30);
        for i in 0..1000 {
            let j = jitter(&format!("check{i}"), interval);
            assert!(j <= Duration::from_secs(3), "{j:?}");
        }
    }
}
