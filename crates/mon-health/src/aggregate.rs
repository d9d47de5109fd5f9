//! Status aggregation: how the checks' statuses make the system's status and summary.

use chrono::{DateTime, Utc};
use mon_core::Status;
use serde::{Deserialize, Serialize};

/// The system's health in one object: the body of `GET /health`.
///
/// ```json
/// {"status": "healthy", "timestamp": "2026-01-15T10:30:00Z",
///  "healthy_components": 4, "total_components": 4, "health_percentage": 100.0}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthSummary {
    /// The overall status (see [`overall_status`]).
    pub status: Status,
    /// When the summary was made.
    pub timestamp: DateTime<Utc>,
    /// How many checks are healthy (degraded and not-yet-run ones are not).
    pub healthy_components: usize,
    /// How many checks there are.
    pub total_components: usize,
    /// `healthy_components / total_components * 100`, rounded to one decimal;
    /// 100 when there are no checks.
    pub health_percentage: f64,
}

impl HealthSummary {
    /// Summarizes checks given as `(status, critical)` pairs.
    pub fn from_checks(
        checks: impl IntoIterator<Item = (Status, bool)>,
        timestamp: DateTime<Utc>,
    ) -> HealthSummary {
        let checks: Vec<(Status, bool)> = checks.into_iter().collect();
        let healthy = checks.iter().filter(|(s, _)| *s == Status::Healthy).count();
        HealthSummary {
            status: overall_status(checks.iter().copied()),
            timestamp,
            healthy_components: healthy,
            total_components: checks.len(),
            health_percentage: health_percentage(healthy, checks.len()),
        }
    }
}

/// The system's status from its checks, given as `(status, critical)` pairs.
///
/// - a critical check unhealthy → unhealthy;
/// - a non-critical check unhealthy or degraded, or a critical one degraded → degraded;
/// - otherwise (including no checks) → healthy.
///
/// A check that has not run yet (`Unknown`) does not change the status.
pub fn overall_status(checks: impl IntoIterator<Item = (Status, bool)>) -> Status {
    checks
        .into_iter()
        .map(|(status, critical)| match (status, critical) {
            (Status::Unhealthy, true) => Status::Unhealthy,
            (Status::Unhealthy | Status::Degraded, _) => Status::Degraded,
            (Status::Healthy | Status::Unknown, _) => Status::Healthy,
        })
        .max()
        .unwrap_or(Status::Healthy)
}

/// `healthy / total * 100` rounded to one decimal; 100 when `total` is 0.
pub fn health_percentage(healthy: usize, total: usize) -> f64 {
    if total == 0 {
        return 100.0;
    }
    // Counts of checks are far below 2^53: the conversion is exact.
    let ratio = healthy as f64 / total as f64;
    (ratio * 1000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::{Degraded as D, Healthy as H, Unhealthy as U, Unknown as N};

    const CRIT: bool = true;
    const OPT: bool = false;

    /// Checks as `(status, critical)`, then the overall status, healthy count and percentage.
    type Case = (&'static [(Status, bool)], Status, usize, f64);

    #[test]
    fn aggregation_table() {
        let cases: &[Case] = &[
            (&[], H, 0, 100.0),
            (&[(H, CRIT)], H, 1, 100.0),
            (&[(H, CRIT), (H, OPT)], H, 2, 100.0),
            (&[(U, CRIT)], U, 0, 0.0),
            (&[(U, CRIT), (H, OPT)], U, 1, 50.0),
            (&[(U, OPT)], D, 0, 0.0),
            (&[(U, OPT), (H, CRIT)], D, 1, 50.0),
            (&[(D, CRIT), (H, CRIT)], D, 1, 50.0),
            (&[(D, OPT), (H, CRIT), (H, CRIT)], D, 2, 66.7),
            (&[(D, CRIT), (U, CRIT)], U, 0, 0.0),
            (&[(D, OPT), (U, OPT)], D, 0, 0.0),
            (&[(N, CRIT)], H, 0, 0.0),
            (&[(N, CRIT), (H, CRIT), (H, OPT)], H, 2, 66.7),
            (&[(N, OPT), (U, CRIT)], U, 0, 0.0),
            (&[(N, CRIT), (D, OPT)], D, 0, 0.0),
        ];
        let now = Utc::now();
        for (checks, status, healthy, percentage) in cases {
            let summary = HealthSummary::from_checks(checks.iter().copied(), now);
            assert_eq!(summary.status, *status, "{checks:?}");
            assert_eq!(summary.healthy_components, *healthy, "{checks:?}");
            assert_eq!(summary.total_components, checks.len(), "{checks:?}");
            assert_eq!(summary.health_percentage, *percentage, "{checks:?}");
            assert_eq!(
                overall_status(checks.iter().copied()),
                *status,
                "{checks:?}"
            );
        }
    }

    #[test]
    fn summary_json_has_the_seed_field_names() {
        let summary = HealthSummary::from_checks([(H, CRIT), (D, OPT)], Utc::now());
        let json = serde_json::to_value(&summary).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "health_percentage",
                "healthy_components",
                "status",
                "timestamp",
                "total_components"
            ]
        );
        assert_eq!(json["status"], "degraded");
        assert_eq!(json["health_percentage"], 50.0);
    }
}
