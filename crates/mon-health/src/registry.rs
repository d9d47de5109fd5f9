//! `HealthRegistry`: the shared state of every registered check — flap control,
//! thresholds over a window, dependencies — its views and its metrics.

use crate::aggregate::HealthSummary;
use crate::checks::{HeartbeatSignal, Heartbeats};
use crate::config::ThresholdConfig;
use crate::{HealthError, config::validate_name};
use chrono::{DateTime, Utc};
use mon_core::{CheckOutcome, Status};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

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
///   [`ThresholdConfig`] is reported degraded.
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
    transition: Option<Transition>,
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

/// How the registry reports a check (see [`HealthRegistry`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckPolicy {
    /// Whether the check failing makes the system unhealthy.
    pub critical: bool,
    /// Unhealthy runs in a row before the check is reported unhealthy (at least 1).
    pub failure_threshold: u32,
    /// Good runs in a row before an unhealthy check is reported healthy (at least 1).
    pub success_threshold: u32,
    /// Checks this one needs.
    pub depends_on: Vec<String>,
    /// Limits over a window of recent runs.
    pub thresholds: Option<ThresholdConfig>,
}

impl CheckPolicy {
    /// Every outcome reported as it is: no flap control, dependencies or thresholds.
    pub fn immediate(critical: bool) -> CheckPolicy {
        CheckPolicy {
            critical,
            failure_threshold: 1,
            success_threshold: 1,
            depends_on: Vec::new(),
            thresholds: None,
        }
    }
}

/// A reported status that differs from the latest outcome because of flap control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Transition {
    /// The latest runs failed, but fewer than `failure_threshold` in a row.
    Failing,
    /// The check is unhealthy; the latest runs were good, but fewer than `success_threshold`.
    Recovering,
}

/// Percentage of runs that were healthy or degraded, over trailing windows
/// (`null` where there were no runs), computed from stored results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Uptime {
    /// The last hour.
    #[serde(rename = "1h")]
    pub hour: Option<f64>,
    /// The last 24 hours.
    #[serde(rename = "24h")]
    pub day: Option<f64>,
    /// The last 7 days.
    #[serde(rename = "7d")]
    pub week: Option<f64>,
    /// The last 30 days.
    #[serde(rename = "30d")]
    pub month: Option<f64>,
}

impl Uptime {
    /// The windows, in field order: 1h, 24h, 7d, 30d.
    pub const WINDOWS: [Duration; 4] = [
        Duration::from_secs(3600),
        Duration::from_secs(24 * 3600),
        Duration::from_secs(7 * 24 * 3600),
        Duration::from_secs(30 * 24 * 3600),
    ];

    /// From percentages in the order of [`Uptime::WINDOWS`] (missing ones are `None`);
    /// each is rounded to three decimals.
    pub fn from_percentages(values: &[Option<f64>]) -> Uptime {
        let at = |i: usize| {
            values
                .get(i)
                .copied()
                .flatten()
                .map(|v| (v * 1000.0).round() / 1000.0)
        };
        Uptime {
            hour: at(0),
            day: at(1),
            week: at(2),
            month: at(3),
        }
    }
}

/// What the registry knows about one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckState {
    /// The check's unique name.
    pub name: String,
    /// The check kind (`http`, `system`...).
    pub kind: String,
    /// Whether the check failing makes the system unhealthy.
    pub critical: bool,
    /// Flap control, dependencies and thresholds.
    pub policy: CheckPolicy,
    /// The outcome of the latest run; `None` until the check has run.
    pub last_outcome: Option<CheckOutcome>,
    /// Runs in a row that were unhealthy (0 after a healthy or degraded run).
    pub consecutive_failures: u32,
    /// Runs in a row that were healthy or degraded (0 after an unhealthy run).
    pub consecutive_successes: u32,
    /// When the latest outcome was recorded; `None` until the check has run.
    pub last_run: Option<DateTime<Utc>>,
    /// The status after flap control and thresholds (before dependencies).
    pub reported: Status,
    /// Set while flap control holds the reported status back.
    pub transition: Option<Transition>,
    /// Why the reported status differs from the latest outcome, if it does.
    pub reason: Option<String>,
    /// The dependency that is down, making this check unhealthy (filled in when read).
    pub dependency_down: Option<String>,
    /// Uptime over 1h / 24h / 7d / 30d, when a store provides it.
    pub uptime: Option<Uptime>,
    /// Recent runs `(when, status, latency)`, for the thresholds' window.
    #[serde(skip)]
    recent: VecDeque<(DateTime<Utc>, Status, Duration)>,
}

/// Most runs kept for a thresholds window, whatever its length.
const MAX_RECENT: usize = 10_000;

impl CheckState {
    fn new(name: &str, kind: &str, policy: CheckPolicy) -> CheckState {
        CheckState {
            name: name.to_owned(),
            kind: kind.to_owned(),
            critical: policy.critical,
            policy,
            last_outcome: None,
            consecutive_failures: 0,
            consecutive_successes: 0,
            last_run: None,
            reported: Status::Unknown,
            transition: None,
            reason: None,
            dependency_down: None,
            uptime: None,
            recent: VecDeque::new(),
        }
    }

    /// The reported status: unhealthy while a dependency is down, otherwise
    /// [`reported`](Self::reported); `Unknown` before the first run.
    pub fn status(&self) -> Status {
        if self.dependency_down.is_some() {
            Status::Unhealthy
        } else {
            self.reported
        }
    }

    /// The status of the latest run as the check observed it, `Unknown` before the first.
    pub fn observed_status(&self) -> Status {
        self.last_outcome
            .as_ref()
            .map_or(Status::Unknown, |o| o.status)
    }

    /// The check as shown by the HTTP API.
    pub fn entry(&self) -> CheckEntry {
        self.entry_with(self.dependency_down.as_ref())
    }

    /// The entry, given the dependency that is down (if any).
    fn entry_with(&self, dependency_down: Option<&String>) -> CheckEntry {
        let outcome = self.last_outcome.as_ref();
        CheckEntry {
            name: self.name.clone(),
            kind: self.kind.clone(),
            critical: self.critical,
            status: if dependency_down.is_some() {
                Status::Unhealthy
            } else {
                self.reported
            },
            observed_status: self.observed_status(),
            transition: self.transition,
            reason: match dependency_down {
                Some(dependency) => Some(format!("dependency {dependency} down")),
                None => self.reason.clone(),
            },
            depends_on: self.policy.depends_on.clone(),
            latency_ms: outcome.map(|o| o.latency.as_secs_f64() * 1000.0),
            message: outcome.map(|o| o.message.clone()),
            details: outcome.map_or(serde_json::Value::Null, |o| o.details.clone()),
            observed_at: outcome.map(|o| o.observed_at),
            consecutive_failures: self.consecutive_failures,
            consecutive_successes: self.consecutive_successes,
            uptime: self.uptime,
        }
    }

    /// Applies one outcome: counters, flap control, thresholds.
    fn apply(&mut self, outcome: CheckOutcome, now: DateTime<Utc>) {
        let observed = outcome.status;
        if observed == Status::Unhealthy {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
        } else {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
        }
        let (failures, successes) = (self.consecutive_failures, self.consecutive_successes);
        let (need_failures, need_successes) =
            (self.policy.failure_threshold, self.policy.success_threshold);
        let first = self.last_outcome.is_none();
        let (reported, transition, reason) = if first {
            (observed, None, None)
        } else if observed == Status::Unhealthy {
            if self.reported == Status::Unhealthy || failures >= need_failures {
                (Status::Unhealthy, None, None)
            } else {
                (
                    self.reported,
                    Some(Transition::Failing),
                    Some(format!(
                        "failing: {failures} of {need_failures} unhealthy runs before it is reported unhealthy"
                    )),
                )
            }
        } else if self.reported == Status::Unhealthy && successes < need_successes {
            (
                Status::Unhealthy,
                Some(Transition::Recovering),
                Some(format!(
                    "recovering: {successes} of {need_successes} good runs before it is reported healthy"
                )),
            )
        } else {
            (observed, None, None)
        };
        self.recent.push_back((now, observed, outcome.latency));
        let thresholds = self.policy.thresholds.clone();
        let (reported, reason) = match (&thresholds, reported) {
            (Some(thresholds), Status::Healthy) => match self.broken_threshold(thresholds, now) {
                Some(why) => (Status::Degraded, Some(why)),
                None => (reported, reason),
            },
            (Some(thresholds), _) => {
                self.prune(thresholds.window, now);
                (reported, reason)
            }
            (None, _) => {
                self.recent.clear();
                (reported, reason)
            }
        };
        self.reported = reported;
        self.transition = transition;
        self.reason = reason;
        self.last_run = Some(now);
        self.last_outcome = Some(outcome);
    }

    fn prune(&mut self, window: Duration, now: DateTime<Utc>) {
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::TimeDelta::MAX);
        while self.recent.len() > MAX_RECENT
            || self
                .recent
                .front()
                .is_some_and(|(t, _, _)| now - *t > window)
        {
            self.recent.pop_front();
        }
    }

    /// The first limit the runs in the window break, as a reason.
    fn broken_threshold(
        &mut self,
        thresholds: &ThresholdConfig,
        now: DateTime<Utc>,
    ) -> Option<String> {
        self.prune(thresholds.window, now);
        let runs = self.recent.len();
        if runs == 0 {
            return None;
        }
        let window = mon_core::duration::format(thresholds.window);
        // Run counts are far below 2^53: the conversions are exact.
        let percent = |n: usize| n as f64 / runs as f64 * 100.0;
        let average = self.recent.iter().map(|(_, _, l)| *l).sum::<Duration>() / runs as u32;
        if let Some(limit) = thresholds.response_time
            && average > limit
        {
            return Some(format!(
                "average response time {} over {window} is above {}",
                crate::checks::http::format_latency(average),
                mon_core::duration::format(limit)
            ));
        }
        let healthy = self
            .recent
            .iter()
            .filter(|(_, s, _)| *s == Status::Healthy)
            .count();
        if let Some(limit) = thresholds.success_rate
            && percent(healthy) < limit
        {
            return Some(format!(
                "success rate {:.1}% over {window} is below {limit}%",
                percent(healthy)
            ));
        }
        let failed = self
            .recent
            .iter()
            .filter(|(_, s, _)| *s == Status::Unhealthy)
            .count();
        if let Some(limit) = thresholds.error_rate
            && percent(failed) > limit
        {
            return Some(format!(
                "error rate {:.1}% over {window} is above {limit}%",
                percent(failed)
            ));
        }
        None
    }
}

/// One check in `GET /health/detailed` and `GET /health/checks/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckEntry {
    /// The check's unique name.
    pub name: String,
    /// The check kind (`http`, `system`...).
    pub kind: String,
    /// Whether the check failing makes the system unhealthy.
    pub critical: bool,
    /// The reported status (after flap control, thresholds and dependencies),
    /// `unknown` until the check has run.
    pub status: Status,
    /// The status of the latest run itself.
    pub observed_status: Status,
    /// `failing` or `recovering` while flap control holds the status back.
    pub transition: Option<Transition>,
    /// Why `status` differs from `observed_status` (`dependency redis down`...).
    pub reason: Option<String>,
    /// The checks this one needs.
    pub depends_on: Vec<String>,
    /// How long the latest run took, in milliseconds.
    pub latency_ms: Option<f64>,
    /// What the latest run observed.
    pub message: Option<String>,
    /// Kind-specific facts from the latest run.
    pub details: serde_json::Value,
    /// When the latest run finished.
    pub observed_at: Option<DateTime<Utc>>,
    /// Unhealthy runs in a row.
    pub consecutive_failures: u32,
    /// Healthy or degraded runs in a row.
    pub consecutive_successes: u32,
    /// Uptime over 1h / 24h / 7d / 30d, when a store provides it.
    pub uptime: Option<Uptime>,
}

/// The few facts of a check that rules and aggregates need, cheap to copy for every check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckBrief {
    /// The check's unique name.
    pub name: String,
    /// The reported status (after flap control, thresholds and dependencies).
    pub status: Status,
    /// Whether the check failing makes the system unhealthy.
    pub critical: bool,
    /// How long the latest run took, in milliseconds.
    pub latency_ms: Option<f64>,
    /// The dependency that is down, when that is why the check is unhealthy.
    pub dependency_down: Option<String>,
}

/// The body of `GET /health/detailed`: the summary plus every check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DetailedHealth {
    /// The same fields as `GET /health`.
    #[serde(flatten)]
    pub summary: HealthSummary,
    /// Every check, ordered by name.
    pub checks: Vec<CheckEntry>,
    /// Extra parts added with [`HealthRegistry::add_section`] (e.g. `channels`, `exporters`).
    #[serde(flatten, default)]
    pub sections: BTreeMap<String, serde_json::Value>,
}

/// The checks that have a dependency down, each with that dependency: the first
/// one in its `depends_on` that is unhealthy, itself or through its own dependencies.
fn dependencies_down(checks: &BTreeMap<String, CheckState>) -> BTreeMap<String, String> {
    fn down(
        name: &str,
        checks: &BTreeMap<String, CheckState>,
        memo: &mut BTreeMap<String, Option<String>>,
        depth: usize,
    ) -> Option<String> {
        if let Some(known) = memo.get(name) {
            return known.clone();
        }
        let state = checks.get(name)?;
        // Config validation rejects cycles; the depth bound keeps code-built ones finite.
        let found = if depth > checks.len() {
            None
        } else {
            state.policy.depends_on.iter().find_map(|dependency| {
                let dep = checks.get(dependency)?;
                let dep_down = dep.reported == Status::Unhealthy
                    || down(dependency, checks, memo, depth + 1).is_some();
                dep_down.then(|| dependency.clone())
            })
        };
        memo.insert(name.to_owned(), found.clone());
        found
    }
    let mut memo = BTreeMap::new();
    let mut found = BTreeMap::new();
    for (name, state) in checks {
        if !state.policy.depends_on.is_empty()
            && let Some(dependency) = down(name, checks, &mut memo, 0)
        {
            found.insert(name.clone(), dependency);
        }
    }
    found
}

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
        self.check(name).map(|c| c.entry()).ok_or_else(unknown)
    }

    /// One check's state, with `dependency_down` filled in.
    fn resolved(state: &CheckState, down: &BTreeMap<String, String>) -> CheckState {
        let mut state = state.clone();
        state.dependency_down = down.get(&state.name).cloned();
        state
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
    /// `mon_check_certificate_expiry_seconds{check}` and `mon_check_results_dropped_total`. Values are read at scrape time.
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

/// The certificate expiry of the latest outcome (http over TLS, tls_certificate).
fn certificate_expiry(check: &CheckState) -> Option<DateTime<Utc>> {
    check.last_outcome.as_ref()?.certificate_expires_at
}

/// Encodes the registry's state on each scrape.
#[derive(Debug)]
struct Metrics(HealthRegistry);

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let checks = self.0.checks();
        {
            let mut up = encoder.encode_descriptor(
                "mon_check_up",
                "Whether the check is serving: 1 when its status is healthy or degraded, 0 when unhealthy or not run yet (unknown). mon_check_status tells healthy from degraded.",
                None,
                MetricType::Gauge,
            )?;
            for check in &checks {
                let value: i64 = check.status().is_serving().into();
                up.encode_family(&[("check", mon_core::LabelValue(check.name.as_str()))])?
                    .encode_gauge(&value)?;
            }
        }
        {
            let mut status = encoder.encode_descriptor(
                "mon_check_status",
                "The check's status as a state set: 1 for the series whose status label is the current status (healthy, degraded, unhealthy or unknown), 0 for the others.",
                None,
                MetricType::Gauge,
            )?;
            for check in &checks {
                let current = check.status();
                for state in [
                    Status::Healthy,
                    Status::Degraded,
                    Status::Unhealthy,
                    Status::Unknown,
                ] {
                    let labels = [
                        ("check", mon_core::LabelValue(check.name.as_str())),
                        ("status", mon_core::LabelValue(state.as_str())),
                    ];
                    status
                        .encode_family(&labels)?
                        .encode_gauge(&i64::from(current == state))?;
                }
            }
        }
        {
            let mut duration = encoder.encode_descriptor(
                "mon_check_duration_seconds",
                "How long the check's latest run took, in seconds.",
                None,
                MetricType::Gauge,
            )?;
            for check in &checks {
                if let Some(outcome) = &check.last_outcome {
                    duration
                        .encode_family(&[("check", mon_core::LabelValue(check.name.as_str()))])?
                        .encode_gauge(&outcome.latency.as_secs_f64())?;
                }
            }
        }
        {
            let mut expiry = encoder.encode_descriptor(
                "mon_check_certificate_expiry_seconds",
                "Seconds until the TLS certificate seen by the check's latest run expires (negative once expired).",
                None,
                MetricType::Gauge,
            )?;
            let now = Utc::now();
            for check in &checks {
                if let Some(expires) = certificate_expiry(check) {
                    // Millisecond precision is plenty for an expiry date.
                    let seconds = (expires - now).num_milliseconds() as f64 / 1000.0;
                    expiry
                        .encode_family(&[("check", mon_core::LabelValue(check.name.as_str()))])?
                        .encode_gauge(&seconds)?;
                }
            }
        }
        let dropped = ConstCounter::new(self.0.dropped_results());
        let metric = encoder.encode_descriptor(
            "mon_check_results_dropped",
            "Check results not delivered to the results channel because it was full.",
            None,
            dropped.metric_type(),
        )?;
        dropped.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            (Status::Healthy, Some(Transition::Failing), 2)
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
