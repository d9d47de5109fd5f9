//! The checks' pipeline to the store and the rule snapshot: [`Persistence`] writes check
//! results (with each check's kept state) and host samples to mon-store in batches,
//! copies the checks' state into the snapshot ([`publish_checks`]) and publishes the
//! variables checks report.

use crate::{CheckResult, HealthRegistry};
use mon_core::snapshot::{CheckSnapshot, SnapshotHub};
use mon_store::{CheckResultRow, Sample, Store, WriteBatch};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

/// The queues of check results and host samples on their way to the store. Each start
/// of the writer ([`Persistence::spawn`]) takes over the same queues, so a writer
/// restarted after a panic loses nothing queued.
#[derive(Clone, Debug)]
pub struct Persistence {
    queues: Arc<Mutex<Queues>>,
}

/// Check results and batches of host samples.
type Queues = (mpsc::Receiver<CheckResult>, mpsc::Receiver<Vec<Sample>>);

impl Persistence {
    /// The writer of what arrives on `results` (from [`Scheduler::spawn`](crate::Scheduler::spawn))
    /// and `samples` (host metrics).
    pub fn new(results: mpsc::Receiver<CheckResult>, samples: mpsc::Receiver<Vec<Sample>>) -> Self {
        Persistence {
            queues: Arc::new(Mutex::new((results, samples))),
        }
    }

    /// Starts the writer; it ends when both queues are closed (their senders gone), after
    /// a last write and a last publish of the checks.
    pub fn spawn(&self, store: Store, health: HealthRegistry, hub: SnapshotHub) -> JoinHandle<()> {
        let queues = self.queues.clone();
        tokio::spawn(async move {
            let mut queues = queues.lock().await;
            let (results, samples) = &mut *queues;
            persist(store, health, hub, results, samples).await;
        })
    }
}

/// Writes check results and host samples to the store in batches, and mirrors the
/// checks into the rule snapshot. Ends when both channels are closed, after a last write.
async fn persist(
    store: Store,
    health: HealthRegistry,
    hub: SnapshotHub,
    results: &mut mpsc::Receiver<CheckResult>,
    samples: &mut mpsc::Receiver<Vec<Sample>>,
) {
    // The checks' view is copied into the snapshot at most every PUBLISH_CHECKS, so that
    // many checks (each result O(checks) to publish and evaluate) stay cheap.
    const PUBLISH_CHECKS: Duration = Duration::from_secs(1);
    let mut publish_at: Option<tokio::time::Instant> = None;
    const WRITE_EVERY: Duration = Duration::from_millis(100);
    let mut last_write = tokio::time::Instant::now()
        .checked_sub(WRITE_EVERY)
        .unwrap_or_else(tokio::time::Instant::now);
    let (mut results_open, mut samples_open) = (true, true);
    // Variables check results carry (livekit, prometheus).
    let mut variables = crate::CheckVariables::default();
    while results_open || samples_open {
        let mut batch = WriteBatch::default();
        tokio::select! {
            () = tokio::time::sleep_until(publish_at.unwrap_or_else(tokio::time::Instant::now)), if publish_at.is_some() => {
                publish_at = None;
                publish_checks(&health, &hub);
            }
            r = results.recv(), if results_open => match r {
                Some(r) => {
                    variables.observe(&hub, &r.check, &r.outcome);
                    batch.samples.extend(variable_samples(&r));
                    batch.check_results.push(CheckResultRow { check: r.check, outcome: r.outcome });
                }
                None => results_open = false,
            },
            s = samples.recv(), if samples_open => match s {
                Some(s) => batch.samples.extend(s),
                None => samples_open = false,
            },
        }
        // Check results trickle in one by one: at most one write per WRITE_EVERY. A result
        // after a quiet spell is written at once; under load they gather into one write.
        if !batch.check_results.is_empty() {
            tokio::time::sleep_until(last_write + WRITE_EVERY).await;
            last_write = tokio::time::Instant::now();
        }
        while let Ok(r) = results.try_recv() {
            variables.observe(&hub, &r.check, &r.outcome);
            batch.samples.extend(variable_samples(&r));
            batch.check_results.push(CheckResultRow {
                check: r.check,
                outcome: r.outcome,
            });
        }
        while let Ok(s) = samples.try_recv() {
            batch.samples.extend(s);
        }
        if !batch.check_results.is_empty() && publish_at.is_none() {
            publish_at = Some(tokio::time::Instant::now() + PUBLISH_CHECKS);
        }
        // Where each check stands now, committed with its results (kept across restarts).
        batch.kept = crate::kept_rows(&health, &batch.check_results);
        if !batch.is_empty()
            && let Err(e) = store.write(batch).await
        {
            tracing::error!(error = %e, "writing check results and samples failed");
        }
    }
    if publish_at.is_some() {
        publish_checks(&health, &hub);
    }
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
}
