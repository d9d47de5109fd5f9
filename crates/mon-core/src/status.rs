//! `Status`: the health of one check, one component or the whole system.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The health of a check, a component or the whole system.
///
/// Ordered from best to worst, so the overall status of several parts is their
/// maximum (see [`Status::worst`]). `Unknown` (no result yet) sorts between
/// `Healthy` and `Degraded`: it is not an outage, but it is not good news either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Working as expected.
    Healthy,
    /// No result yet (the check has not run, or its data is missing).
    Unknown,
    /// Working, but slow or close to a limit.
    Degraded,
    /// Not working.
    Unhealthy,
}

impl Status {
    /// The lowercase name used in JSON, labels and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Unknown => "unknown",
            Status::Degraded => "degraded",
            Status::Unhealthy => "unhealthy",
        }
    }

    /// Parses the lowercase name written by [`Status::as_str`].
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "healthy" => Status::Healthy,
            "unknown" => Status::Unknown,
            "degraded" => Status::Degraded,
            "unhealthy" => Status::Unhealthy,
            _ => return None,
        })
    }

    /// The worst of several statuses; `Healthy` for none.
    pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Status {
        statuses.into_iter().max().unwrap_or(Status::Healthy)
    }

    /// Whether the part is serving (healthy or degraded).
    pub fn is_serving(self) -> bool {
        matches!(self, Status::Healthy | Status::Degraded)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_picks_the_most_severe() {
        assert_eq!(Status::worst([]), Status::Healthy);
        assert_eq!(
            Status::worst([Status::Healthy, Status::Degraded]),
            Status::Degraded
        );
        assert_eq!(
            Status::worst([Status::Unhealthy, Status::Degraded, Status::Unknown]),
            Status::Unhealthy
        );
        assert_eq!(
            Status::worst([Status::Healthy, Status::Unknown]),
            Status::Unknown
        );
    }

    #[test]
    fn names_round_trip() {
        for s in [
            Status::Healthy,
            Status::Unknown,
            Status::Degraded,
            Status::Unhealthy,
        ] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), s);
        }
        assert_eq!(Status::parse("Healthy"), None);
    }
}
