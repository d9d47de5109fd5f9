//! The state machine of one check: its policy, flap control holding back a
//! [`StatusChange`], thresholds over a window of recent runs, and dependencies.

use super::Uptime;
use crate::config::ThresholdConfig;
use chrono::{DateTime, Utc};
use mon_core::{CheckOutcome, Status};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// How the registry reports a check (see [`HealthRegistry`](super::HealthRegistry)).
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

/// A status change flap control holds back: why a reported status differs from the
/// latest outcome. (Not to be confused with an alert's `mon_core::Transition`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StatusChange {
    /// The latest runs failed, but fewer than `failure_threshold` in a row.
    Failing,
    /// The check is unhealthy; the latest runs were good, but fewer than `success_threshold`.
    Recovering,
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
    pub transition: Option<StatusChange>,
    /// Why the reported status differs from the latest outcome, if it does.
    pub reason: Option<String>,
    /// The dependency that is down, making this check unhealthy (filled in when read).
    pub dependency_down: Option<String>,
    /// Uptime over 1h / 24h / 7d / 30d, when a store provides it.
    pub uptime: Option<Uptime>,
    /// Recent runs `(when, status, latency)`, for the thresholds' window.
    #[serde(skip)]
    pub(super) recent: VecDeque<(DateTime<Utc>, Status, Duration)>,
}

/// Most runs kept for a thresholds window, whatever its length.
pub(super) const MAX_RECENT: usize = 10_000;

impl CheckState {
    pub(super) fn new(name: &str, kind: &str, policy: CheckPolicy) -> CheckState {
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

    /// Applies one outcome: counters, flap control, thresholds.
    pub(super) fn apply(&mut self, outcome: CheckOutcome, now: DateTime<Utc>) {
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
                    Some(StatusChange::Failing),
                    Some(format!(
                        "failing: {failures} of {need_failures} unhealthy runs before it is reported unhealthy"
                    )),
                )
            }
        } else if self.reported == Status::Unhealthy && successes < need_successes {
            (
                Status::Unhealthy,
                Some(StatusChange::Recovering),
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

    pub(super) fn prune(&mut self, window: Duration, now: DateTime<Utc>) {
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
    pub(super) fn broken_threshold(
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
                crate::checks::common::format_latency(average),
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

/// The checks that have a dependency down, each with that dependency: the first
/// one in its `depends_on` that is unhealthy, itself or through its own dependencies.
pub(super) fn dependencies_down(checks: &BTreeMap<String, CheckState>) -> BTreeMap<String, String> {
    pub(super) fn down(
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
