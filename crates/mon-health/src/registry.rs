//! `HealthRegistry`: the shared state of every registered check. The state machine of
//! one check (flap control, thresholds over a window, dependencies) is in `state`, what
//! the registry shows in `views`, its Prometheus metrics in `metrics`.

mod metrics;
mod state;
mod views;

use metrics::Metrics;
use state::dependencies_down;
pub use state::{CheckPolicy, CheckState, StatusChange};
pub use views::{CheckBrief, CheckEntry, DetailedHealth, Uptime};

use crate::aggregate::HealthSummary;
use crate::checks::{HeartbeatSignal, Heartbeats};
use crate::{HealthError, config::validate_name};
use chrono::{DateTime, Utc};
use mon_core::{CheckOutcome, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// The state of every registered check. Cheap to clone: clones share the state.
///
/// The [`Scheduler`](crate::Scheduler) registers checks and records their
/// outcomes; the [`router`](crate::router()), the server and the CLI read it.
/// Code that runs its own probes can use [`register`](Self::register) and
/// [`record`](Self::record) directly.
///
/// What a check is *reported* as is not always its latest outcome:
/// - **flap control**: an unhealthy run turns a check unhealthy only after
///   `failure_threshold` of them in a row (meanwhile it is marked `failing`);
///   an unhealthy check turns healthy again after `success_threshold` good runs
///   (meanwhile `recovering`). The first run is reported as it is.
/// - **thresholds**: a healthy check whose recent runs break its
///   [`ThresholdConfig`](crate::ThresholdConfig) is reported degraded.
/// - **dependencies**: while a check in `depends_on` is unhealthy, the check
///   is reported unhealthy with the reason `dependency <name> down`.
#[derive(Clone, Default)]
pub struct HealthRegistry {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    checks: RwLock<BTreeMap<String, CheckState>>,
    heartbeats: Heartbeats,
    dropped_results: AtomicU64,
    sections: RwLock<Vec<(String, Section)>>,
    keeper: RwLock<Option<Keeper>>,
    /// Notified by [`HealthRegistry::heartbeat`]: a ping changes a check outside the
    /// scheduler's results, and the persist task publishes it.
    pinged: tokio::sync::Notify,
}

/// Where a check's [`KeptCheck`] goes when a heartbeat ping changed it: the ping is
/// answered once the returned future completes (e.g. once the store committed it).
pub type Keeper =
    Arc<dyn Fn(String, KeptCheck) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What a check keeps across restarts of the process: where flap control stands
/// (reported status, consecutive counts), the latest outcome, and a heartbeat's pings.
/// Serialise it to store it; give it back with [`HealthRegistry::restore`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptCheck {
    reported: Status,
    transition: Option<StatusChange>,
    reason: Option<String>,
    consecutive_failures: u32,
    consecutive_successes: u32,
    last_outcome: Option<CheckOutcome>,
    last_run: Option<DateTime<Utc>>,
    #[serde(default)]
    heartbeat: Option<crate::checks::KeptBeat>,
}

/// A producer of an extra part of `/health/detailed` (notification channels, exporters...).
pub type Section = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

impl HealthRegistry {
    /// An empty registry.
    pub fn new() -> HealthRegistry {
        HealthRegistry::default()
    }

    /// Adds a named part to `/health/detailed` (beside `checks`), read at each request:
    /// how the parts that are not checks are doing, such as notification channels or
    /// exporters. A later section with the same name replaces the earlier one.
    pub fn add_section(&self, name: &str, section: Section) {
        let mut sections = self
            .inner
            .sections
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        sections.retain(|(n, _)| n != name);
        sections.push((name.to_string(), section));
    }

    /// The current value of every section, by name.
    pub fn sections(&self) -> BTreeMap<String, serde_json::Value> {
        let sections = self
            .inner
            .sections
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        sections
            .iter()
            .map(|(name, f)| (name.clone(), f()))
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, CheckState>> {
        // The lock is never held across code that can panic; recover if it ever was.
        self.inner
            .checks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, CheckState>> {
        self.inner
            .checks
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// What `name` keeps across restarts; `None` if no such check is registered.
    pub fn kept(&self, name: &str) -> Option<KeptCheck> {
        let checks = self.read();
        let state = checks.get(name)?;
        Some(KeptCheck {
            reported: state.reported,
            transition: state.transition,
            reason: state.reason.clone(),
            consecutive_failures: state.consecutive_failures,
            consecutive_successes: state.consecutive_successes,
            last_outcome: state.last_outcome.clone(),
            last_run: state.last_run,
            heartbeat: self.inner.heartbeats.kept(name),
        })
    }

    /// Gives `name` back what it kept before a restart, so that flap control goes on
    /// where it stood and a heartbeat keeps its pings; `false` if no such check is
    /// registered (a check removed from the configuration).
    pub fn restore(&self, name: &str, kept: KeptCheck) -> bool {
        let mut checks = self.write();
        let Some(state) = checks.get_mut(name) else {
            return false;
        };
        state.reported = kept.reported;
        state.transition = kept.transition;
        state.reason = kept.reason;
        state.consecutive_failures = kept.consecutive_failures;
        state.consecutive_successes = kept.consecutive_successes;
        state.last_outcome = kept.last_outcome;
        state.last_run = kept.last_run;
        if let Some(beat) = kept.heartbeat {
            self.inner.heartbeats.restore(name, beat);
        }
        true
    }

    /// Sets where a check's [`KeptCheck`] goes after a heartbeat ping changed it,
    /// before the ping is answered (the server stores it, so a ping answered `200`
    /// survives a crash).
    pub fn set_keeper(&self, keeper: Keeper) {
        *self
            .inner
            .keeper
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(keeper);
    }

    /// Hands `name`'s [`KeptCheck`] to the keeper, if one is set, and waits for it.
    pub async fn keep(&self, name: &str) {
        let keeper = self
            .inner
            .keeper
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let (Some(keeper), Some(kept)) = (keeper, self.kept(name)) {
            keeper(name.to_owned(), kept).await;
        }
    }

    /// The pings of the registry's `heartbeat` checks.
    pub(crate) fn heartbeats(&self) -> &Heartbeats {
        &self.inner.heartbeats
    }

    /// Adds a check that has not run yet, reported as its outcomes come
    /// ([`CheckPolicy::immediate`]). Names must be unique.
    pub fn register(&self, name: &str, kind: &str, critical: bool) -> Result<(), HealthError> {
        self.register_with(name, kind, CheckPolicy::immediate(critical))
    }

    /// Adds a check that has not run yet, reported according to `policy`. Names must be unique.
    pub fn register_with(
        &self,
        name: &str,
        kind: &str,
        policy: CheckPolicy,
    ) -> Result<(), HealthError> {
        validate_name(name)?;
        let mut checks = self.write();
        if checks.contains_key(name) {
            return Err(HealthError::DuplicateCheck {
                check: name.to_owned(),
            });
        }
        checks.insert(name.to_owned(), CheckState::new(name, kind, policy));
        Ok(())
    }

    /// Records the outcome of a run of `name`; `false` if no such check is registered.
    ///
    /// Unhealthy counts as a failure; healthy and degraded count as successes.
    pub fn record(&self, name: &str, outcome: CheckOutcome) -> bool {
        let mut checks = self.write();
        let Some(state) = checks.get_mut(name) else {
            return false;
        };
        state.apply(outcome, Utc::now());
        true
    }

    /// Sets the uptime figures of `name` (from stored results); `false` if no such check.
    pub fn set_uptime(&self, name: &str, uptime: Uptime) -> bool {
        match self.write().get_mut(name) {
            Some(state) => {
                state.uptime = Some(uptime);
                true
            }
            None => false,
        }
    }

    /// Records a ping of the `heartbeat` check `name` (at `at`, default now),
    /// re-evaluates it at once and returns its entry.
    pub fn heartbeat(
        &self,
        name: &str,
        signal: HeartbeatSignal,
        at: Option<DateTime<Utc>>,
    ) -> Result<CheckEntry, HealthError> {
        let now = Utc::now();
        let unknown = || HealthError::UnknownHeartbeat {
            check: name.to_owned(),
        };
        if !self
            .inner
            .heartbeats
            .signal(name, signal, at.unwrap_or(now))
        {
            return Err(unknown());
        }
        let outcome = self
            .inner
            .heartbeats
            .evaluate(name, now)
            .ok_or_else(unknown)?;
        self.record(name, outcome);
        self.inner.pinged.notify_one();
        self.check(name).map(|c| c.entry()).ok_or_else(unknown)
    }

    /// Resolves after the next heartbeat ping (at once if one came since the last call).
    pub(crate) async fn pinged(&self) {
        self.inner.pinged.notified().await;
    }

    /// One check's state, with `dependency_down` filled in.
    fn resolved(state: &CheckState, down: &BTreeMap<String, String>) -> CheckState {
        let mut state = state.clone();
        state.dependency_down = down.get(&state.name).cloned();
        state
    }

    /// The status check `name` reports now (after flap control and thresholds; the
    /// `depends_on` parents not considered): cheap, for telling a status change apart.
    pub fn reported(&self, name: &str) -> Option<Status> {
        self.read().get(name).map(|state| state.reported)
    }

    /// The state of one check.
    pub fn check(&self, name: &str) -> Option<CheckState> {
        let checks = self.read();
        let down = dependencies_down(&checks);
        checks.get(name).map(|state| Self::resolved(state, &down))
    }

    /// The state of every check, ordered by name.
    pub fn checks(&self) -> Vec<CheckState> {
        let checks = self.read();
        let down = dependencies_down(&checks);
        checks
            .values()
            .map(|state| Self::resolved(state, &down))
            .collect()
    }

    /// `(status, critical)` of every check, for aggregation, without copying the states.
    fn statuses(
        checks: &BTreeMap<String, CheckState>,
        down: &BTreeMap<String, String>,
    ) -> Vec<(Status, bool)> {
        checks
            .values()
            .map(|c| {
                let status = if down.contains_key(&c.name) {
                    Status::Unhealthy
                } else {
                    c.reported
                };
                (status, c.critical)
            })
            .collect()
    }

    /// Every check in brief, ordered by name: what the rule snapshot needs, without
    /// copying messages and details.
    pub fn briefs(&self) -> Vec<CheckBrief> {
        let checks = self.read();
        let mut down = dependencies_down(&checks);
        checks
            .values()
            .map(|c| {
                let dependency_down = down.remove(&c.name);
                CheckBrief {
                    name: c.name.clone(),
                    status: if dependency_down.is_some() {
                        Status::Unhealthy
                    } else {
                        c.reported
                    },
                    critical: c.critical,
                    latency_ms: c
                        .last_outcome
                        .as_ref()
                        .map(|o| o.latency.as_secs_f64() * 1000.0),
                    dependency_down,
                }
            })
            .collect()
    }

    /// The overall status and counts (the body of `GET /health`).
    pub fn summary(&self) -> HealthSummary {
        let checks = self.read();
        let down = dependencies_down(&checks);
        HealthSummary::from_checks(Self::statuses(&checks, &down), Utc::now())
    }

    /// The summary plus every check (the body of `GET /health/detailed`, which also
    /// adds the [`HealthRegistry::sections`]).
    pub fn detailed(&self) -> DetailedHealth {
        let checks = self.read();
        let down = dependencies_down(&checks);
        DetailedHealth {
            summary: HealthSummary::from_checks(Self::statuses(&checks, &down), Utc::now()),
            checks: checks
                .values()
                .map(|c| c.entry_with(down.get(&c.name)))
                .collect(),
            // Filled by the `/health/detailed` handler only: sections may be costly.
            sections: BTreeMap::new(),
        }
    }

    /// Whether every check has run at least once (true when there are none).
    pub fn is_ready(&self) -> bool {
        self.read().values().all(|c| c.last_outcome.is_some())
    }

    /// The names of the checks that have not run yet.
    pub fn pending(&self) -> Vec<String> {
        self.read()
            .values()
            .filter(|c| c.last_outcome.is_none())
            .map(|c| c.name.clone())
            .collect()
    }

    /// How many results the scheduler could not send because the results channel was full.
    /// The registry itself is always updated.
    pub fn dropped_results(&self) -> u64 {
        self.inner.dropped_results.load(Ordering::Relaxed)
    }

    /// Counts one dropped result; returns the new total.
    pub(crate) fn count_dropped_result(&self) -> u64 {
        self.inner.dropped_results.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Adds mon-health's metrics to `registry` (use the root registry, without prefix):
    /// `mon_check_up{check}`, `mon_check_status{check,status}`, `mon_check_duration_seconds{check}`,
    /// `mon_check_certificate_expiry_seconds{check}`, `mon_check_results_dropped_total` and,
    /// for checks whose latest run read them (`livekit`), `mon_livekit_rooms_active{check}`
    /// and `mon_livekit_participants_active{check}`. Values are read at scrape time.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register_collector(Box::new(Metrics(self.clone())));
    }
}

impl fmt::Debug for HealthRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthRegistry")
            .field("checks", &self.read().keys().collect::<Vec<_>>())
            .field("dropped_results", &self.dropped_results())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ThresholdConfig;
    use std::time::Duration;

    fn outcome(status: Status, ms: u64) -> CheckOutcome {
        CheckOutcome::new(status, Duration::from_millis(ms), format!("{status}"))
    }

    #[test]
    fn records_outcomes_and_counts_streaks() {
        let registry = HealthRegistry::new();
        registry.register("api", "http", true).unwrap();
        registry.register("host", "system", false).unwrap();
        assert!(matches!(
            registry.register("api", "http", true),
            Err(HealthError::DuplicateCheck { .. })
        ));
        assert!(registry.register("bad name", "http", true).is_err());
        assert!(!registry.record("nope", outcome(Status::Healthy, 1)));

        assert_eq!(registry.check("api").unwrap().status(), Status::Unknown);
        assert!(!registry.is_ready());
        assert_eq!(registry.pending(), ["api", "host"]);

        for status in [
            Status::Healthy,
            Status::Degraded,
            Status::Unhealthy,
            Status::Unhealthy,
        ] {
            assert!(registry.record("api", outcome(status, 5)));
        }
        let api = registry.check("api").unwrap();
        assert_eq!(
            (api.consecutive_failures, api.consecutive_successes),
            (2, 0)
        );
        assert_eq!(api.status(), Status::Unhealthy);
        assert!(api.last_run.is_some());
        registry.record("api", outcome(Status::Degraded, 5));
        let api = registry.check("api").unwrap();
        assert_eq!(
            (api.consecutive_failures, api.consecutive_successes),
            (0, 1)
        );

        assert_eq!(registry.pending(), ["host"]);
        registry.record("host", outcome(Status::Healthy, 5));
        assert!(registry.is_ready());
        assert!(registry.check("nope").is_none());
    }

    #[test]
    fn kept_state_carries_flap_control_and_pings_into_a_new_registry() {
        let flappy = CheckPolicy {
            failure_threshold: 3,
            success_threshold: 2,
            ..CheckPolicy::immediate(true)
        };
        let first = HealthRegistry::new();
        first.register_with("api", "http", flappy.clone()).unwrap();
        first
            .heartbeats()
            .add("job", Duration::from_secs(3600), Duration::from_secs(60));
        first.register("job", "heartbeat", false).unwrap();
        // healthy, then two failures: failing, 2 of 3.
        for status in [Status::Healthy, Status::Unhealthy, Status::Unhealthy] {
            first.record("api", outcome(status, 5));
        }
        first
            .heartbeat("job", HeartbeatSignal::Success, None)
            .unwrap();
        // Through JSON, as the store keeps it.
        let carry = |name: &str| -> KeptCheck {
            serde_json::from_value(serde_json::to_value(first.kept(name).unwrap()).unwrap())
                .unwrap()
        };

        let second = HealthRegistry::new();
        second.register_with("api", "http", flappy).unwrap();
        second
            .heartbeats()
            .add("job", Duration::from_secs(3600), Duration::from_secs(60));
        second.register("job", "heartbeat", false).unwrap();
        assert!(second.restore("api", carry("api")));
        assert!(second.restore("job", carry("job")));
        assert!(!second.restore("gone", carry("api")), "an unknown check");
        let api = second.check("api").unwrap();
        assert_eq!(
            (api.status(), api.transition, api.consecutive_failures),
            (Status::Healthy, Some(StatusChange::Failing), 2)
        );
        // The third failure in a row turns it unhealthy, as without the restart.
        second.record("api", outcome(Status::Unhealthy, 5));
        let api = second.check("api").unwrap();
        assert_eq!(
            (api.status(), api.consecutive_failures),
            (Status::Unhealthy, 3)
        );
        // The heartbeat pinged before is up, not new.
        let job = second.heartbeats().evaluate("job", Utc::now()).unwrap();
        assert_eq!(job.details["state"], "up", "{job:?}");
        assert_eq!(job.details["pings"], 1, "{job:?}");
    }

    #[test]
    fn summary_and_detailed_views() {
        let registry = HealthRegistry::new();
        assert_eq!(registry.summary().status, Status::Healthy);
        assert!(registry.is_ready());
        registry.register("db", "http", true).unwrap();
        registry.register("api", "http", true).unwrap();
        registry.record(
            "api",
            outcome(Status::Healthy, 12).with_details(serde_json::json!({"status_code": 200})),
        );

        let summary = registry.summary();
        assert_eq!(summary.status, Status::Healthy);
        assert_eq!(
            (summary.healthy_components, summary.total_components),
            (1, 2)
        );
        assert_eq!(summary.health_percentage, 50.0);

        let detailed = serde_json::to_value(registry.detailed()).unwrap();
        assert_eq!(detailed["total_components"], 2);
        assert_eq!(detailed["checks"][0]["name"], "api");
        assert_eq!(detailed["checks"][0]["latency_ms"], 12.0);
        assert_eq!(detailed["checks"][0]["details"]["status_code"], 200);
        assert_eq!(detailed["checks"][1]["name"], "db");
        assert_eq!(detailed["checks"][1]["status"], "unknown");
        assert_eq!(detailed["checks"][1]["latency_ms"], serde_json::Value::Null);

        registry.record("db", outcome(Status::Unhealthy, 3));
        assert_eq!(registry.summary().status, Status::Unhealthy);
    }

    #[test]
    fn metrics_follow_the_state() {
        let registry = HealthRegistry::new();
        registry.register("api", "http", true).unwrap();
        registry.register("db", "http", true).unwrap();
        registry.register("host", "system", true).unwrap();
        registry.record("api", outcome(Status::Degraded, 250));
        registry.record("db", outcome(Status::Unhealthy, 3));
        registry.count_dropped_result();

        let mut prometheus = prometheus_client::registry::Registry::default();
        registry.register_metrics(&mut prometheus);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
        for line in [
            "# HELP mon_check_up Whether the check is serving",
            "# TYPE mon_check_up gauge",
            "mon_check_up{check=\"api\"} 1",
            "mon_check_up{check=\"db\"} 0",
            "mon_check_up{check=\"host\"} 0",
            "# TYPE mon_check_status gauge",
            "mon_check_status{check=\"api\",status=\"healthy\"} 0",
            "mon_check_status{check=\"api\",status=\"degraded\"} 1",
            "mon_check_status{check=\"db\",status=\"unhealthy\"} 1",
            "mon_check_status{check=\"db\",status=\"degraded\"} 0",
            "mon_check_status{check=\"host\",status=\"unknown\"} 1",
            "mon_check_status{check=\"host\",status=\"healthy\"} 0",
            "# HELP mon_check_duration_seconds How long",
            "# TYPE mon_check_duration_seconds gauge",
            "mon_check_duration_seconds{check=\"api\"} 0.25",
            "mon_check_results_dropped_total 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(
            !text.contains("mon_check_duration_seconds{check=\"host\"}"),
            "{text}"
        );

        // Read at scrape time: a later outcome shows without re-registering.
        registry.record("db", outcome(Status::Healthy, 3));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
        assert!(text.contains("mon_check_up{check=\"db\"} 1"), "{text}");
        assert!(
            text.contains("mon_check_status{check=\"db\",status=\"healthy\"} 1"),
            "{text}"
        );
    }

    fn policy(critical: bool, depends_on: &[&str]) -> CheckPolicy {
        CheckPolicy {
            depends_on: depends_on.iter().map(|d| (*d).to_owned()).collect(),
            ..CheckPolicy::immediate(critical)
        }
    }

    #[test]
    fn dependencies_and_aggregation_table() {
        use Status::{Degraded as D, Healthy as H, Unhealthy as U, Unknown as N};
        // Checks: redis (critical), db (critical, needs redis), api (not critical, needs db),
        // web (not critical, needs api). Given each one's own outcome (None = not run):
        // the reported statuses, the dependency each reports down, and the overall status.
        type Case = (
            [Option<Status>; 4],
            [Status; 4],
            [Option<&'static str>; 4],
            Status,
        );
        let cases: &[Case] = &[
            ([Some(H); 4], [H, H, H, H], [None; 4], H),
            (
                [Some(U), Some(H), Some(H), Some(H)],
                [U, U, U, U],
                [None, Some("redis"), Some("db"), Some("api")],
                U,
            ),
            (
                [Some(H), Some(U), Some(H), Some(H)],
                [H, U, U, U],
                [None, None, Some("db"), Some("api")],
                U,
            ),
            (
                [Some(H), Some(H), Some(U), Some(H)],
                [H, H, U, U],
                [None, None, None, Some("api")],
                D,
            ),
            (
                [Some(H), Some(D), Some(H), Some(H)],
                [H, D, H, H],
                [None; 4],
                D,
            ),
            (
                [None, Some(H), Some(H), Some(H)],
                [N, H, H, H],
                [None; 4],
                H,
            ),
            (
                [Some(D), Some(H), Some(U), None],
                [D, H, U, U],
                [None, None, None, Some("api")],
                D,
            ),
            (
                [Some(H), Some(H), Some(H), None],
                [H, H, H, N],
                [None; 4],
                H,
            ),
        ];
        let names = ["redis", "db", "api", "web"];
        for (outcomes, reported, down, overall) in cases {
            let registry = HealthRegistry::new();
            registry
                .register_with("redis", "tcp", policy(true, &[]))
                .unwrap();
            registry
                .register_with("db", "postgres", policy(true, &["redis"]))
                .unwrap();
            registry
                .register_with("api", "http", policy(false, &["db"]))
                .unwrap();
            registry
                .register_with("web", "http", policy(false, &["api"]))
                .unwrap();
            for (name, status) in names.iter().zip(outcomes) {
                if let Some(status) = status {
                    registry.record(name, outcome(*status, 1));
                }
            }
            for (i, name) in names.iter().enumerate() {
                let state = registry.check(name).unwrap();
                assert_eq!(state.status(), reported[i], "{name} in {outcomes:?}");
                assert_eq!(
                    state.dependency_down.as_deref(),
                    down[i],
                    "{name} in {outcomes:?}"
                );
                let entry = state.entry();
                if let Some(dep) = down[i] {
                    assert_eq!(entry.reason, Some(format!("dependency {dep} down")));
                }
            }
            assert_eq!(registry.summary().status, *overall, "{outcomes:?}");
            let briefs = registry.briefs();
            assert_eq!(briefs.len(), names.len());
            for brief in briefs {
                let i = names.iter().position(|n| *n == brief.name).unwrap();
                assert_eq!(
                    (brief.status, brief.dependency_down.as_deref()),
                    (reported[i], down[i]),
                    "brief of {} in {outcomes:?}",
                    brief.name
                );
            }
            let detailed = registry.detailed();
            assert_eq!(detailed.summary.status, *overall, "{outcomes:?}");
        }
    }

    #[test]
    fn thresholds_over_the_window_degrade_a_healthy_check() {
        let thresholds = |response_time: Option<u64>, success: Option<f64>, error: Option<f64>| {
            Some(ThresholdConfig {
                response_time: response_time.map(Duration::from_millis),
                success_rate: success,
                error_rate: error,
                window: Duration::from_secs(300),
            })
        };
        // (thresholds, runs as (status, latency ms), reported, reason contains)
        type Case = (
            Option<ThresholdConfig>,
            &'static [(Status, u64)],
            Status,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            (
                thresholds(Some(100), None, None),
                &[(Status::Healthy, 50), (Status::Healthy, 90)],
                Status::Healthy,
                "",
            ),
            (
                thresholds(Some(100), None, None),
                &[(Status::Healthy, 50), (Status::Healthy, 250)],
                Status::Degraded,
                "average response time 150.0ms over 5m is above 100ms",
            ),
            (
                thresholds(None, Some(90.0), None),
                &[
                    (Status::Healthy, 1),
                    (Status::Degraded, 1),
                    (Status::Healthy, 1),
                ],
                Status::Degraded,
                "success rate 66.7% over 5m is below 90%",
            ),
            (
                thresholds(None, None, Some(10.0)),
                &[
                    (Status::Healthy, 1),
                    (Status::Unhealthy, 1),
                    (Status::Healthy, 1),
                ],
                Status::Degraded,
                "error rate 33.3% over 5m is above 10%",
            ),
            (
                thresholds(None, None, Some(50.0)),
                &[
                    (Status::Healthy, 1),
                    (Status::Unhealthy, 1),
                    (Status::Healthy, 1),
                ],
                Status::Healthy,
                "",
            ),
            (
                None,
                &[(Status::Unhealthy, 1), (Status::Healthy, 900)],
                Status::Healthy,
                "",
            ),
        ];
        for (thresholds, runs, want, reason) in cases {
            let registry = HealthRegistry::new();
            let policy = CheckPolicy {
                thresholds: thresholds.clone(),
                ..CheckPolicy::immediate(true)
            };
            registry.register_with("api", "http", policy).unwrap();
            for (status, ms) in runs {
                registry.record("api", outcome(*status, *ms));
            }
            let state = registry.check("api").unwrap();
            assert_eq!(state.status(), want, "{thresholds:?} {runs:?}");
            let got = state.reason.unwrap_or_default();
            assert!(got.contains(reason), "{thresholds:?}: {got:?}");
        }
    }

    #[test]
    fn certificate_expiry_and_uptime_are_exposed() {
        let registry = HealthRegistry::new();
        registry.register("cert", "tls_certificate", true).unwrap();
        let expires = Utc::now() + chrono::Duration::days(10);
        registry.record(
            "cert",
            outcome(Status::Degraded, 3).with_certificate_expiry(expires),
        );
        assert!(registry.set_uptime("cert", Uptime::from_percentages(&[Some(99.12345), None])));
        assert!(!registry.set_uptime("nope", Uptime::default()));
        let mut prometheus = prometheus_client::registry::Registry::default();
        registry.register_metrics(&mut prometheus);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("mon_check_certificate_expiry_seconds{check=\"cert\"}"))
            .unwrap_or_else(|| panic!("no expiry in\n{text}"));
        let seconds: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((863_000.0..=864_000.0).contains(&seconds), "{line}");
        let entry = serde_json::to_value(registry.check("cert").unwrap().entry()).unwrap();
        assert_eq!(
            entry["uptime"],
            serde_json::json!({"1h": 99.123, "24h": null, "7d": null, "30d": null})
        );
    }
}
