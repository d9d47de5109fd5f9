//! A dashboard's panels with their values: the JSON an application answers for one
//! panel, its current value and colour, and its series from the store.

use crate::{DashboardConfig, PanelConfig};
use chrono::{DateTime, Utc};
use mon_core::Status;
use mon_store::SeriesPoints;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// The longest range a dashboard may ask for (the 1-hour rollups' default retention).
pub const MAX_DASHBOARD_RANGE: Duration = Duration::from_secs(90 * 24 * 3600);

/// Points per series a dashboard answer aims at, whatever the range.
const POINTS: u32 = 300;

/// The built-in dashboards followed by the `custom` ones.
pub fn all_dashboards(custom: &[DashboardConfig]) -> Vec<DashboardConfig> {
    let mut all = crate::builtin_dashboards();
    all.extend(custom.iter().cloned());
    all
}

/// The series step for a dashboard over `from..to`: about 300 points per series;
/// `None` (the resolution's own buckets) under 1 ms.
pub fn series_step(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Duration> {
    Some((to - from).to_std().unwrap_or_default() / POINTS).filter(|s| s.as_millis() >= 1)
}

impl PanelConfig {
    /// The panel's definition as a dashboard answer shows it (id, titles, type,
    /// layout, unit, thresholds), to which the caller adds its values.
    pub fn header_json(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "panel_type": self.kind,
            "chart_type": self.kind,
            "layout": { "width": self.width, "height": self.height },
            "unit": self.unit(),
            "threshold_warning": self.warning,
            "threshold_critical": self.critical,
        })
    }

    /// The panel's `metrics`: one entry per stored series (one per endpoint for a
    /// table), each with its latest value, colour and points. `current` is the
    /// snapshot's value of an unlabelled variable (taken at `taken_at`), fresher than
    /// the last stored point; a variable without stored points yet still gets one
    /// entry with it.
    pub fn metrics_json(
        &self,
        series: Vec<SeriesPoints>,
        current: Option<f64>,
        taken_at: DateTime<Utc>,
    ) -> Value {
        let metric = self.metric.as_deref().unwrap_or_default();
        let entry = |labels: &BTreeMap<String, String>,
                     value: Option<f64>,
                     timestamp: Option<DateTime<Utc>>,
                     points: Vec<Value>| {
            json!({
                "name": metric,
                "labels": labels,
                "value": value,
                "unit": self.unit(),
                "timestamp": timestamp,
                "chart_type": self.kind,
                "color": value.map(|v| self.colour(v)),
                "threshold_warning": self.warning,
                "threshold_critical": self.critical,
                "series": points,
            })
        };
        if series.is_empty() {
            return json!([entry(
                &self.labels,
                current,
                current.map(|_| taken_at),
                Vec::new()
            )]);
        }
        // A labelled ingest source's series (`source=demo`) is shown beside the others
        // with its own last point: the snapshot's `current` is never its value, and gets
        // an entry of its own when only labelled sources' series are stored.
        let apart = |labels: &BTreeMap<String, String>| {
            labels.contains_key("source") && !self.labels.contains_key("source")
        };
        let single = series.iter().filter(|s| !apart(&s.labels)).count() == 1;
        let mut entries: Vec<Value> = Vec::with_capacity(series.len() + 1);
        if current.is_some() && series.iter().all(|s| apart(&s.labels)) {
            entries.push(entry(&self.labels, current, Some(taken_at), Vec::new()));
        }
        entries.extend(series.into_iter().map(|s| {
            let last = s.points.last().map(|p| (p.avg, p.ts));
            let (value, ts) = match (single && !apart(&s.labels), current) {
                (true, Some(v)) => (Some(v), Some(taken_at)),
                _ => (last.map(|l| l.0), last.map(|l| l.1)),
            };
            let points: Vec<Value> = s
                .points
                .iter()
                .map(|p| json!({ "ts": p.ts, "value": p.avg, "min": p.min, "max": p.max }))
                .collect();
            entry(&s.labels, value, ts, points)
        }));
        json!(entries)
    }
}

/// The colour of a check's tile in a status grid panel.
pub fn status_grid_colour(status: Status) -> &'static str {
    match status {
        Status::Healthy => "green",
        Status::Degraded => "yellow",
        Status::Unhealthy => "red",
        _ => "grey",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_dashboards_follow_the_builtin_ones() {
        let mut custom = crate::builtin_dashboards().remove(0);
        custom.id = "mine".to_owned();
        let all = all_dashboards(std::slice::from_ref(&custom));
        assert_eq!(all.len(), crate::BUILTIN_IDS.len() + 1);
        assert_eq!(all.last().map(|d| d.id.as_str()), Some("mine"));
    }

    #[test]
    fn the_step_aims_at_300_points_and_vanishes_for_tiny_ranges() {
        let to = Utc::now();
        let hour = to - chrono::Duration::hours(1);
        assert_eq!(series_step(hour, to), Some(Duration::from_secs(12)));
        assert_eq!(series_step(to, to), None);
        assert_eq!(series_step(to, hour), None);
    }

    #[test]
    fn a_variable_without_stored_points_shows_its_snapshot_value() {
        let panel = crate::builtin_dashboards()
            .into_iter()
            .flat_map(|d| d.panels)
            .find(|p| p.metric.is_some() && p.labels.is_empty())
            .expect("a built-in panel reads a variable");
        let now = Utc::now();
        let metrics = panel.metrics_json(Vec::new(), Some(1.0), now);
        assert_eq!(metrics[0]["value"], json!(1.0));
        assert_eq!(metrics[0]["timestamp"], json!(now));
        let none = panel.metrics_json(Vec::new(), None, now);
        assert_eq!(none[0]["value"], Value::Null);
        assert_eq!(none[0]["color"], Value::Null);
        assert_eq!(status_grid_colour(Status::Unhealthy), "red");
    }
}
