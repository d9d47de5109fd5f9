//! Muting alerts: label [`Matcher`]s, [`Silence`]s (one-off, created through the
//! API) and recurring [`MaintenanceWindow`]s (from the configuration). A muted
//! alert still changes state and is kept in history; it is only not notified.

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use mon_core::Alert;
use serde::{Deserialize, Serialize};

/// One condition on an alert: `name` is a label, or `alertname` (the rule) or
/// `severity`; `value` must equal it (`equal: true`, the default) or differ from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// A label name, `alertname` or `severity`.
    pub name: String,
    /// The value compared with.
    pub value: String,
    /// `true`: must be equal; `false`: must differ.
    #[serde(default = "default_true", rename = "isEqual", alias = "equal")]
    pub equal: bool,
}

fn default_true() -> bool {
    true
}

impl Matcher {
    /// `name = value`.
    pub fn eq(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        Matcher {
            name: name.into(),
            value: value.into(),
            equal: true,
        }
    }

    /// Whether `alert` satisfies this matcher.
    pub fn matches(&self, alert: &Alert) -> bool {
        let actual = match self.name.as_str() {
            "alertname" => Some(alert.rule.as_str()),
            "severity" => Some(alert.severity.as_str()),
            label => alert.labels.get(label).map(String::as_str),
        };
        (actual == Some(self.value.as_str())) == self.equal
    }
}

/// Whether every matcher matches (an empty list matches everything).
pub(crate) fn all_match(matchers: &[Matcher], alert: &Alert) -> bool {
    matchers.iter().all(|m| m.matches(alert))
}

/// A silence: alerts matching all `matchers` are not notified between
/// `starts_at` and `ends_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    /// Unique id (given by mon).
    pub id: String,
    /// What it mutes; at least one matcher.
    pub matchers: Vec<Matcher>,
    /// From when.
    pub starts_at: DateTime<Utc>,
    /// Until when.
    pub ends_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

impl Silence {
    /// Whether it is in effect at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Whether it mutes `alert` at `now`.
    pub fn mutes(&self, alert: &Alert, now: DateTime<Utc>) -> bool {
        self.active(now) && !self.matchers.is_empty() && all_match(&self.matchers, alert)
    }
}

/// A recurring maintenance window (UTC): on `days` (all days when empty), from
/// `start` to `end` (`end` before `start` crosses midnight; equal, the whole day), alerts matching
/// `matchers` (all when empty) are not notified. The public status page lists the
/// ongoing and next window when `public: true` or when a matcher names a public check
/// (`{ name: check, value: api }`).
///
/// ```yaml
/// maintenance_windows:
///   - name: nightly-deploy
///     days: [mon, tue, wed, thu, fri]
///     start: "02:00"
///     end: "02:30"
///     matchers: [{ name: service, value: api }]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    /// Shown as the reason an alert was not notified.
    pub name: String,
    /// Days of the week (`mon`..`sun`); empty: every day.
    #[serde(default)]
    pub days: Vec<Weekday>,
    /// Start time of day, UTC (`HH:MM`).
    pub start: NaiveTime,
    /// End time of day, UTC (`HH:MM`).
    pub end: NaiveTime,
    /// Which alerts it mutes; empty: all.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
    /// Whether the public status page lists it (it does anyway when a matcher names a
    /// public check: `{ name: check, value: <check> }`).
    #[serde(default)]
    pub public: bool,
}

impl MaintenanceWindow {
    /// Whether it mutes `alert` at `now`.
    pub fn mutes(&self, alert: &Alert, now: DateTime<Utc>) -> bool {
        let time = now.time();
        // An end at or before the start crosses midnight (equal: the whole day), as
        // `next_period` counts it.
        let (day, inside) = if self.start < self.end {
            (now.weekday(), self.start <= time && time < self.end)
        } else if time >= self.start {
            (now.weekday(), true)
        } else {
            // After midnight: the window started the day before.
            (now.weekday().pred(), time < self.end)
        };
        inside
            && (self.days.is_empty() || self.days.contains(&day))
            && all_match(&self.matchers, alert)
    }

    /// The occurrence going on at `now`, else the next one within a week: `(start, end)`.
    pub fn next_period(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let today = now.date_naive();
        (-1..=7)
            .filter_map(|offset| today.checked_add_signed(chrono::Duration::days(offset)))
            .filter(|day| self.days.is_empty() || self.days.contains(&day.weekday()))
            .map(|day| {
                let start = day.and_time(self.start).and_utc();
                let mut end = day.and_time(self.end).and_utc();
                if self.end <= self.start {
                    end += chrono::Duration::days(1);
                }
                (start, end)
            })
            .find(|(_, end)| *end > now)
    }

    /// Whether the status page lists it, given the names of the public checks.
    pub fn shown_publicly(&self, public_checks: &[String]) -> bool {
        self.public
            || self
                .matchers
                .iter()
                .any(|m| m.equal && m.name == "check" && public_checks.contains(&m.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mon_core::Severity;

    fn alert(rule: &str, severity: Severity, service: &str) -> Alert {
        mon_tests::alert(rule)
            .id("a")
            .severity(severity)
            .label("service", service)
            .build()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn silences_match_labels_rule_and_severity_in_their_time() {
        let a = alert("High CPU", Severity::Error, "api");
        let silence = |matchers: Vec<Matcher>| Silence {
            id: "s1".into(),
            matchers,
            starts_at: at("2026-01-01T10:00:00Z"),
            ends_at: at("2026-01-01T11:00:00Z"),
            created_by: "ops".into(),
            comment: String::new(),
        };
        let inside = at("2026-01-01T10:30:00Z");
        let not_equal = Matcher {
            equal: false,
            ..Matcher::eq("service", "api")
        };
        for (matchers, now, want) in [
            (vec![Matcher::eq("service", "api")], inside, true),
            (vec![Matcher::eq("alertname", "High CPU")], inside, true),
            (vec![Matcher::eq("severity", "error")], inside, true),
            (vec![Matcher::eq("service", "db")], inside, false),
            (vec![not_equal], inside, false),
            (vec![], inside, false),
            (
                vec![Matcher::eq("service", "api")],
                at("2026-01-01T11:00:00Z"),
                false,
            ),
            (
                vec![Matcher::eq("service", "api")],
                at("2026-01-01T09:59:59Z"),
                false,
            ),
        ] {
            assert_eq!(
                silence(matchers.clone()).mutes(&a, now),
                want,
                "{matchers:?} {now}"
            );
        }
    }

    #[test]
    fn maintenance_windows_name_their_ongoing_or_next_period() {
        let window = |days: &str, start: &str, end: &str| -> MaintenanceWindow {
            serde_yaml_ng::from_str(&format!(
                "name: w\ndays: {days}\nstart: '{start}'\nend: '{end}'\n\
                 matchers: [{{ name: check, value: api }}]\n"
            ))
            .unwrap()
        };
        // 2026-01-01 is a Thursday.
        let now = at("2026-01-01T10:00:00Z");
        for (w, want) in [
            // Later today.
            (
                window("[]", "12:00", "13:00"),
                ("2026-01-01T12:00:00Z", "2026-01-01T13:00:00Z"),
            ),
            // Going on now.
            (
                window("[]", "09:00", "11:00"),
                ("2026-01-01T09:00:00Z", "2026-01-01T11:00:00Z"),
            ),
            // Over for today: tomorrow.
            (
                window("[]", "08:00", "09:00"),
                ("2026-01-02T08:00:00Z", "2026-01-02T09:00:00Z"),
            ),
            // Crossing midnight from yesterday, still on.
            (
                window("[]", "23:00", "11:00"),
                ("2025-12-31T23:00:00Z", "2026-01-01T11:00:00Z"),
            ),
            // Only on Mondays.
            (
                window("[mon]", "02:00", "03:00"),
                ("2026-01-05T02:00:00Z", "2026-01-05T03:00:00Z"),
            ),
        ] {
            assert_eq!(w.next_period(now), Some((at(want.0), at(want.1))), "{w:?}");
        }
        let w = window("[]", "12:00", "13:00");
        assert!(w.shown_publicly(&["api".into()]));
        assert!(!w.shown_publicly(&["db".into()]));
        assert!(MaintenanceWindow { public: true, ..w }.shown_publicly(&[]));
    }

    #[test]
    fn maintenance_windows_recur_and_cross_midnight() {
        let a = alert("r", Severity::Warning, "api");
        let window: MaintenanceWindow = serde_yaml_ng::from_str(
            "name: nightly\ndays: [mon]\nstart: '23:30'\nend: '00:30'\nmatchers: [{ name: service, value: api }]\n",
        )
        .unwrap();
        // 2026-01-05 is a Monday.
        for (now, want) in [
            ("2026-01-05T23:45:00Z", true),
            ("2026-01-06T00:15:00Z", true),
            ("2026-01-06T00:30:00Z", false),
            ("2026-01-05T23:00:00Z", false),
            ("2026-01-12T23:31:00Z", true),
            ("2026-01-06T23:45:00Z", false),
        ] {
            assert_eq!(window.mutes(&a, at(now)), want, "{now}");
        }
        // Equal start and end: the whole day, every minute of it, as its period says.
        let all_day: MaintenanceWindow =
            serde_yaml_ng::from_str("name: all day\nstart: '00:00'\nend: '00:00'\n").unwrap();
        for now in [
            "2026-01-05T00:00:00Z",
            "2026-01-05T12:00:00Z",
            "2026-01-05T23:59:30Z",
        ] {
            assert!(all_day.mutes(&a, at(now)), "{now}");
            let (start, end) = all_day.next_period(at(now)).expect("a period");
            assert!(start <= at(now) && at(now) < end, "{now}: {start} – {end}");
        }
        let err =
            serde_yaml_ng::from_str::<MaintenanceWindow>("name: w\nstart: '25:00'\nend: '01:00'\n")
                .unwrap_err();
        assert!(err.to_string().contains("start"), "{err}");
    }
}
