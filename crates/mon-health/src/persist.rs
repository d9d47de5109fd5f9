//! The checks' pipeline to the store and the rule snapshot: [`Persistence`] writes check
//! results (with each check's kept state) and host samples to mon-store in batches,
//! copies the checks' state into the snapshot ([`publish_checks`]: at once when a check's
//! status changed, otherwise at most every second) and publishes the variables checks report.

use crate::{CheckResult, HealthRegistry};
use mon_core::Status;
use mon_core::snapshot::{CheckSnapshot, PUBLISH_COALESCE, SnapshotHub};
use mon_store::{CheckResultRow, Sample, Store, WriteBatch};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The queues of check results and host samples on their way to the store. Each start
/// of the writer ([`Persistence::spawn`]) takes over the same queues, so a writer
/// restarted after a panic loses nothing queued.
#[derive(Clone, Debug)]
pub struct Persistence {
    queues: Arc<Mutex<Queues>>,
    publish_every: Duration,
}

/// Check results and batches of host samples.
type Queues = (mpsc::Receiver<CheckResult>, mpsc::Receiver<Vec<Sample>>);

/// How long a result that changes no check's status (only its latency) may wait before
/// the checks' view is published again.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

impl Persistence {
    /// The writer of what arrives on `results` (from [`Scheduler::spawn`](crate::Scheduler::spawn))
    /// and `samples` (host metrics).
    pub fn new(results: mpsc::Receiver<CheckResult>, samples: mpsc::Receiver<Vec<Sample>>) -> Self {
        Persistence {
            queues: Arc::new(Mutex::new((results, samples))),
            publish_every: PUBLISH_EVERY,
        }
    }

    /// How long a result that changes no check's status may wait for the checks' view to
    /// be published (default 1 s); a status change is published at once.
    #[must_use]
    pub fn publish_every(mut self, every: Duration) -> Self {
        self.publish_every = every;
        self
    }

    /// Starts the writer; it ends when both queues are closed (their senders gone), after
    /// a last write and a last publish of the checks.
    pub fn spawn(&self, store: Store, health: HealthRegistry, hub: SnapshotHub) -> JoinHandle<()> {
        let (queues, every) = (self.queues.clone(), self.publish_every);
        tokio::spawn(async move {
            let mut queues = queues.lock().await;
            let (results, samples) = &mut *queues;
            let publisher = ChecksPublisher::new(health.clone(), hub.clone(), every);
            persist(store, health, hub, publisher, results, samples).await;
        })
    }
}

/// When the checks' view is copied into the snapshot: soon after a check's reported
/// status changed (at most once per [`PUBLISH_COALESCE`]), so that rules over checks
/// act on it at once; otherwise at most every `every`, so that many checks (each
/// result O(checks) to publish and evaluate, its latency changing every time) stay cheap.
struct ChecksPublisher {
    health: HealthRegistry,
    hub: SnapshotHub,
    every: Duration,
    /// The reported status of each check as of its latest result.
    statuses: HashMap<String, Status>,
    /// When the view is due, if something is waiting to be published.
    due: Option<Instant>,
    last: Option<Instant>,
}

impl ChecksPublisher {
    fn new(health: HealthRegistry, hub: SnapshotHub, every: Duration) -> Self {
        ChecksPublisher {
            health,
            hub,
            every,
            statuses: HashMap::new(),
            due: None,
            last: None,
        }
    }

    /// Notes the result of `check` (already recorded in the registry).
    fn observe(&mut self, check: &str) {
        let status = self.health.reported(check);
        let changed = status
            .is_some_and(|status| self.statuses.insert(check.to_owned(), status) != Some(status));
        if changed {
            self.soon();
        } else {
            self.due_at(Instant::now() + self.every);
        }
    }

    /// Something changed a check's status (a result, a heartbeat ping): publish at
    /// once, or [`PUBLISH_COALESCE`] after the last publish.
    fn soon(&mut self) {
        let now = Instant::now();
        self.due_at(
            self.last
                .map_or(now, |last| (last + PUBLISH_COALESCE).max(now)),
        );
    }

    fn due_at(&mut self, at: Instant) {
        self.due = Some(self.due.map_or(at, |due| due.min(at)));
    }

    /// Publishes when due.
    fn publish_if_due(&mut self) {
        if self.due.is_some_and(|due| due <= Instant::now()) {
            self.publish();
        }
    }

    /// Publishes now if anything waits.
    fn flush(&mut self) {
        if self.due.is_some() {
            self.publish();
        }
    }

    fn publish(&mut self) {
        self.due = None;
        self.last = Some(Instant::now());
        publish_checks(&self.health, &self.hub);
    }

    /// Resolves when the view is due; never when nothing waits.
    async fn until_due(&self) {
        match self.due {
            Some(due) => tokio::time::sleep_until(due).await,
            None => std::future::pending().await,
        }
    }
}

/// Writes check results and host samples to the store in batches, and mirrors the
/// checks into the rule snapshot. Ends when both channels are closed, after a last write.
async fn persist(
    store: Store,
    health: HealthRegistry,
    hub: SnapshotHub,
    mut publisher: ChecksPublisher,
    results: &mut mpsc::Receiver<CheckResult>,
    samples: &mut mpsc::Receiver<Vec<Sample>>,
) {
    const WRITE_EVERY: Duration = Duration::from_millis(100);
    let mut last_write = Instant::now()
        .checked_sub(WRITE_EVERY)
        .unwrap_or_else(Instant::now);
    let (mut results_open, mut samples_open) = (true, true);
    // Variables check results carry (livekit, prometheus).
    let mut variables = crate::CheckVariables::default();
    while results_open || samples_open {
        let mut batch = WriteBatch::default();
        tokio::select! {
            () = publisher.until_due() => publisher.publish(),
            // A heartbeat ping (HTTP or ingested) changed a check outside the results.
            () = health.pinged() => publisher.soon(),
            r = results.recv(), if results_open => match r {
                Some(r) => {
                    variables.observe(&hub, &r.check, &r.outcome);
                    batch.samples.extend(variable_samples(&r));
                    publisher.observe(&r.check);
                    batch.check_results.push(CheckResultRow { check: r.check, outcome: r.outcome });
                }
                None => results_open = false,
            },
            s = samples.recv(), if samples_open => match s {
                Some(s) => batch.samples.extend(s),
                None => samples_open = false,
            },
        }
        // A status change reaches the rules before the results wait for their write.
        publisher.publish_if_due();
        // Check results trickle in one by one: at most one write per WRITE_EVERY. A result
        // after a quiet spell is written at once; under load they gather into one write.
        if !batch.check_results.is_empty() {
            tokio::time::sleep_until(last_write + WRITE_EVERY).await;
            last_write = Instant::now();
        }
        while let Ok(r) = results.try_recv() {
            variables.observe(&hub, &r.check, &r.outcome);
            batch.samples.extend(variable_samples(&r));
            publisher.observe(&r.check);
            batch.check_results.push(CheckResultRow {
                check: r.check,
                outcome: r.outcome,
            });
        }
        while let Ok(s) = samples.try_recv() {
            batch.samples.extend(s);
        }
        publisher.publish_if_due();
        // Where each check stands now, committed with its results (kept across restarts).
        batch.kept = crate::kept_rows(&health, &batch.check_results);
        if !batch.is_empty()
            && let Err(e) = store.write(batch).await
        {
            tracing::error!(error = %e, "writing check results and samples failed");
        }
    }
    publisher.flush();
}

/// The variables a result carries (the `livekit` check's `active_rooms`, a `prometheus`
/// check's mapped series) as stored series labelled `check`, at the time of the run, so
/// dashboards and `GET /api/v1/metrics/query` have their history.
fn variable_samples(result: &CheckResult) -> impl Iterator<Item = Sample> + '_ {
    let labels = std::collections::BTreeMap::from([("check".to_owned(), result.check.clone())]);
    result
        .outcome
        .variables
        .iter()
        .filter(|(_, value)| value.is_finite())
        .map(move |(name, value)| Sample {
            name: name.clone(),
            labels: labels.clone(),
            ts: result.outcome.observed_at,
            value: *value,
        })
}

/// Copies the checks' current state into the snapshot rules read.
pub fn publish_checks(health: &HealthRegistry, hub: &SnapshotHub) {
    let checks = health
        .briefs()
        .into_iter()
        .map(|c| {
            (
                c.name,
                CheckSnapshot {
                    status: c.status,
                    latency_ms: c.latency_ms,
                    critical: c.critical,
                },
            )
        })
        .collect();
    // Also derives `health_percentage`, `healthy_checks` and `total_checks`.
    hub.set_checks(checks);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mon_core::{CheckOutcome, Status};

    /// Results and samples reach a real store file with the checks' kept state; the
    /// checks and the variables a result reports reach the snapshot.
    #[tokio::test]
    async fn results_samples_and_variables_reach_the_store_and_the_snapshot() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("mon.db"), Default::default()).expect("open");
        let health = HealthRegistry::new();
        health.register("api", "http", true).expect("register");
        let hub = SnapshotHub::new();
        let (results_tx, results) = mpsc::channel(8);
        let (samples_tx, samples) = mpsc::channel(8);
        let outcome = CheckOutcome::new(Status::Unhealthy, Duration::from_millis(7), "down")
            .with_variables([("active_rooms".to_owned(), 3.0)]);
        health.record("api", outcome.clone());
        results_tx
            .send(CheckResult {
                check: "api".into(),
                outcome,
            })
            .await
            .expect("queue a result");
        let sample = Sample {
            name: "cpu_percent".into(),
            labels: Default::default(),
            ts: chrono::Utc::now(),
            value: 12.5,
        };
        samples_tx.send(vec![sample]).await.expect("queue samples");
        drop((results_tx, samples_tx));
        let writer = Persistence::new(results, samples);
        writer
            .spawn(store.clone(), health.clone(), hub.clone())
            .await
            .expect("the writer ends once both queues are closed");

        let stored = store.check_results("api", None, 10).await.expect("read");
        assert_eq!(stored.len(), 1, "{stored:?}");
        assert_eq!(stored[0].outcome.status, Status::Unhealthy);
        let now = chrono::Utc::now();
        let series = store
            .query_series(
                "cpu_percent",
                &Default::default(),
                now - chrono::TimeDelta::minutes(5),
                now + chrono::TimeDelta::minutes(1),
                None,
            )
            .await
            .expect("query");
        let points: Vec<f64> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.avg))
            .collect();
        assert_eq!(points, [12.5], "{series:?}");
        let kept = store.kept_states_blocking("check").expect("kept");
        assert_eq!(kept.len(), 1, "{kept:?}");
        let snapshot = hub.current();
        assert_eq!(
            snapshot.checks.get("api").map(|c| c.status),
            Some(Status::Unhealthy),
            "{snapshot:?}"
        );
        assert_eq!(snapshot.get("active_rooms"), Some(3.0), "{snapshot:?}");
        let rooms = store
            .query_series(
                "active_rooms",
                &Default::default(),
                now - chrono::TimeDelta::minutes(5),
                now + chrono::TimeDelta::minutes(1),
                None,
            )
            .await
            .expect("query");
        assert_eq!(rooms.len(), 1, "{rooms:?}");
        assert_eq!(
            rooms[0].labels.get("check").map(String::as_str),
            Some("api")
        );
        let points: Vec<f64> = rooms[0].points.iter().map(|p| p.avg).collect();
        assert_eq!(points, [3.0], "{rooms:?}");
        store.close().await.expect("close");
    }

    /// Publish on change: with the periodic publish an hour away, each status change of
    /// a check reaches the snapshot while the writer keeps running.
    #[tokio::test]
    async fn a_status_change_reaches_the_snapshot_without_waiting_for_the_interval() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("mon.db"), Default::default()).expect("open");
        let health = HealthRegistry::new();
        health.register("api", "http", true).expect("register");
        let hub = SnapshotHub::new();
        let (results_tx, results) = mpsc::channel(8);
        let (samples_tx, samples) = mpsc::channel(8);
        let writer = Persistence::new(results, samples).publish_every(Duration::from_secs(3600));
        let task = writer.spawn(store.clone(), health.clone(), hub.clone());
        for status in [Status::Unhealthy, Status::Healthy, Status::Unhealthy] {
            let outcome = CheckOutcome::new(status, Duration::from_millis(7), "probed");
            health.record("api", outcome.clone());
            results_tx
                .send(CheckResult {
                    check: "api".into(),
                    outcome,
                })
                .await
                .expect("queue a result");
            mon_tests::eventually_async(
                &format!("api {status:?} in the snapshot"),
                Duration::from_secs(10),
                async || hub.current().check("api").map(|c| c.status) == Some(status),
            )
            .await;
        }
        drop((results_tx, samples_tx));
        task.await.expect("the writer ends");
        store.close().await.expect("close");
    }
}
