//! What the registry shows: a check's entry, briefs, the detailed view and uptime.

use super::{CheckState, StatusChange};
use crate::aggregate::HealthSummary;
use chrono::{DateTime, Utc};
use mon_core::Status;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

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

impl CheckState {
    /// The check as shown by the HTTP API.
    pub fn entry(&self) -> CheckEntry {
        self.entry_with(self.dependency_down.as_ref())
    }

    /// The entry, given the dependency that is down (if any).
    pub(super) fn entry_with(&self, dependency_down: Option<&String>) -> CheckEntry {
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
    pub transition: Option<StatusChange>,
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
    /// Extra parts added with [`HealthRegistry::add_section`](super::HealthRegistry::add_section) (e.g. `channels`, `exporters`).
    #[serde(flatten, default)]
    pub sections: BTreeMap<String, serde_json::Value>,
}
