//! `reports:` — the scheduled stakeholder report: how often, when, and to which e-mail
//! channels (docs/reports.md).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// `reports:` — a report of each period mailed through e-mail channels, once per period.
///
/// ```yaml
/// reports:
///   schedule: weekly        # daily | weekly | a duration (6h): periods aligned to UTC
///   delay: 8h               # sent 8 hours after the period ends (Monday 08:00 UTC)
///   channels: [stakeholders]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// How long each period is; absent: no scheduled report (`GET /api/v1/reports` and
    /// `mon report` still make one on request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ReportSchedule>,
    /// How long after a period ends its report is made, so that late events and the
    /// morning's reading line up (default `0s`: at once).
    #[serde(with = "mon_core::duration")]
    pub delay: Duration,
    /// The `email` channels of `alerting.channels` the report is mailed through; their
    /// `to:` are the recipients. Give such a channel `severities: []` to keep alerts off it.
    pub channels: Vec<String>,
}

/// The length of a report's period. Periods are aligned to UTC: a day starts at
/// midnight, a week on Monday, a duration at multiples of itself since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportSchedule {
    /// Midnight to midnight, UTC.
    Daily,
    /// Monday 00:00 to Monday 00:00, UTC.
    Weekly,
    /// Any other length, at least a second.
    Every(Duration),
}

/// Seconds from the Unix epoch (a Thursday) to the first Monday.
const MONDAY_OFFSET_SECONDS: i64 = 4 * 86_400;

impl ReportSchedule {
    /// The period's length and the offset of its boundaries from the Unix epoch.
    fn grid(self) -> (i64, i64) {
        match self {
            ReportSchedule::Daily => (86_400, 0),
            ReportSchedule::Weekly => (7 * 86_400, MONDAY_OFFSET_SECONDS),
            ReportSchedule::Every(d) => (i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1), 0),
        }
    }

    /// The period's length.
    pub fn length(self) -> TimeDelta {
        TimeDelta::seconds(self.grid().0)
    }

    /// The end of the latest period that ended at or before `t` (a period boundary).
    pub fn boundary_at_or_before(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let (step, offset) = self.grid();
        let since = t.timestamp() - offset;
        let end = offset + since.div_euclid(step) * step;
        DateTime::from_timestamp(end, 0).unwrap_or(t)
    }

    /// The name a report's `period` field carries (`daily`, `weekly`, `every 6h`).
    pub fn name(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ReportSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportSchedule::Daily => f.write_str("daily"),
            ReportSchedule::Weekly => f.write_str("weekly"),
            ReportSchedule::Every(d) => write!(f, "every {}", mon_core::duration::format(*d)),
        }
    }
}

impl std::str::FromStr for ReportSchedule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "daily" => Ok(ReportSchedule::Daily),
            "weekly" => Ok(ReportSchedule::Weekly),
            other => {
                let d = mon_core::duration::parse(other).map_err(|_| {
                    format!(
                        "{other:?} is not a schedule: write daily, weekly or a duration such as 6h"
                    )
                })?;
                if d < Duration::from_secs(1) {
                    return Err(format!("{other:?} is shorter than a second"));
                }
                Ok(ReportSchedule::Every(d))
            }
        }
    }
}

impl Serialize for ReportSchedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ReportSchedule::Every(d) => s.serialize_str(&mon_core::duration::format(*d)),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for ReportSchedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl ReportsConfig {
    /// Problems by key under `reports.`: a schedule without channels, a channel that is
    /// not an `email` channel of `alerting.channels`.
    pub(crate) fn validate(
        &self,
        alerting: &mon_alerting::AlertingConfig,
    ) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        // Channels without a schedule are allowed: instances sharing one file give the
        // schedule to one of them (docs/reports.md).
        if self.schedule.is_some() && self.channels.is_empty() {
            errors.push((
                "reports.channels".to_string(),
                "is empty: name at least one email channel of alerting.channels to mail the report through".to_string(),
            ));
        }
        for (i, name) in self.channels.iter().enumerate() {
            let key = format!("reports.channels[{i}]");
            match alerting.channels.iter().find(|c| c.name() == name) {
                None => errors.push((
                    key,
                    format!("{name:?} is not a channel of alerting.channels"),
                )),
                Some(c) if c.kind.name != "email" => errors.push((
                    key,
                    format!(
                        "{name:?} is a {} channel: reports are mailed through email channels",
                        c.kind.name
                    ),
                )),
                Some(_) => {}
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn periods_align_to_utc_days_mondays_and_multiples() {
        let t = at("2026-12-02T09:30:00Z"); // a Wednesday
        assert_eq!(
            ReportSchedule::Daily.boundary_at_or_before(t),
            at("2026-12-02T00:00:00Z")
        );
        assert_eq!(
            ReportSchedule::Weekly.boundary_at_or_before(t),
            at("2026-11-30T00:00:00Z")
        );
        let six = ReportSchedule::Every(Duration::from_secs(6 * 3600));
        assert_eq!(six.boundary_at_or_before(t), at("2026-12-02T06:00:00Z"));
        // A boundary is its own latest boundary.
        let monday = at("2026-11-30T00:00:00Z");
        assert_eq!(ReportSchedule::Weekly.boundary_at_or_before(monday), monday);
    }

    #[test]
    fn schedules_read_and_write_as_text() {
        assert_eq!(
            "weekly".parse::<ReportSchedule>(),
            Ok(ReportSchedule::Weekly)
        );
        assert_eq!(
            "6h".parse::<ReportSchedule>(),
            Ok(ReportSchedule::Every(Duration::from_secs(21_600)))
        );
        let e = "fortnightly".parse::<ReportSchedule>().unwrap_err();
        assert!(e.contains("\"fortnightly\" is not a schedule"), "{e}");
        assert_eq!(
            ReportSchedule::Every(Duration::from_secs(21_600)).to_string(),
            "every 6h"
        );
    }
}
