//! How each rule's alerts went, from their stored history (`alert_events`): how often
//! it fired, how often someone acknowledged it, how often it resolved on its own soon
//! after firing, how often a silence or maintenance window held its notifications
//! back, and how long its alerts lasted. The alert-quality report reads it.
//!
//! A held-back change is recorded in the event's detail as
//! `<who> (not notified: <why>)`: `silenced by <id>` for a silence, `maintenance window
//! <name>` for a window. Those two are what [`RuleQuality::silenced`] counts; history
//! written before a silence existed says nothing of it.

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::params;
use std::collections::BTreeMap;
use std::time::Duration;

/// One rule's alerts that fired in a period, from the stored history.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct RuleQuality {
    /// The rule's name.
    pub rule: String,
    /// Alerts that fired (each firing of the rule is one alert).
    pub fired: u64,
    /// Of those, alerts someone acknowledged.
    pub acknowledged: u64,
    /// Alerts that resolved without ever being acknowledged (by the rule or by hand).
    pub unacknowledged: u64,
    /// Of those, alerts the rule itself resolved within the flap window of firing: the
    /// condition went away before anyone looked.
    pub self_resolved: u64,
    /// Alerts whose notifications a silence or maintenance window held back (at any
    /// point of their life).
    pub silenced: u64,
    /// Alerts still open.
    pub open: u64,
    /// Median seconds from firing to resolution, over resolved alerts.
    pub median_firing_seconds: Option<f64>,
    /// Median seconds from firing to resolution of the self-resolved alerts.
    pub median_self_resolved_seconds: Option<f64>,
    /// Mean seconds from firing to acknowledgement.
    pub mean_time_to_acknowledge_seconds: Option<f64>,
    /// Mean seconds from firing to resolution (the mean time firing).
    pub mean_time_to_resolve_seconds: Option<f64>,
}

/// One alert's life as the history tells it, in unix ms.
struct Firing {
    rule: String,
    fired: i64,
    acknowledged: Option<i64>,
    resolved: Option<(i64, String)>,
    silenced: bool,
}

/// Whether a resolution's detail says the rule resolved it (not a person): `rule`,
/// possibly followed by why it was not notified.
fn by_rule(detail: &str) -> bool {
    detail == "rule" || detail.starts_with("rule (")
}

/// The median of `values` (sorted here); `None` for none.
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Folds one rule's firings into its figures.
fn summarise(rule: String, firings: &[Firing], flap_ms: i64) -> RuleQuality {
    let seconds = |ms: i64| ms as f64 / 1000.0;
    let mut quality = RuleQuality {
        rule,
        fired: firings.len() as u64,
        ..RuleQuality::default()
    };
    let (mut lasted, mut flapped, mut to_ack) = (Vec::new(), Vec::new(), Vec::new());
    for f in firings {
        quality.silenced += u64::from(f.silenced);
        if let Some(ack) = f.acknowledged {
            quality.acknowledged += 1;
            to_ack.push(seconds(ack - f.fired));
        }
        let Some((resolved, detail)) = &f.resolved else {
            quality.open += 1;
            continue;
        };
        let took = resolved - f.fired;
        lasted.push(seconds(took));
        if f.acknowledged.is_none() {
            quality.unacknowledged += 1;
            if by_rule(detail) && took <= flap_ms {
                quality.self_resolved += 1;
                flapped.push(seconds(took));
            }
        }
    }
    quality.mean_time_to_acknowledge_seconds = mean(&to_ack);
    quality.mean_time_to_resolve_seconds = mean(&lasted);
    quality.median_firing_seconds = median(&mut lasted);
    quality.median_self_resolved_seconds = median(&mut flapped);
    quality
}

impl Store {
    /// Per rule (by name), the alerts of the rules (not those raised from outside) that
    /// fired at or after `since` and before `until`: see [`RuleQuality`]. An alert that resolved without
    /// acknowledgement, by its rule, at most `flap` after firing counts as
    /// self-resolved. One query reads every alert's firing, first acknowledgement,
    /// first resolution and whether a silence or maintenance window held it back.
    pub async fn alert_quality(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        flap: Duration,
    ) -> Result<Vec<RuleQuality>, StoreError> {
        let since = since.timestamp_millis();
        let until = until.timestamp_millis();
        let flap_ms = i64::try_from(flap.as_millis()).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let ctx = |e| StoreError::sqlite("reading the alert history per rule", e);
            let mut stmt = conn
                .prepare_cached(
                    "SELECT a.rule, f.fired, \
                       (SELECT MIN(e.ts) FROM alert_events e \
                        WHERE e.alert_id = f.alert_id AND e.kind = 'acknowledged'), \
                       r.ts, r.detail, \
                       EXISTS (SELECT 1 FROM alert_events s WHERE s.alert_id = f.alert_id \
                               AND (s.detail LIKE ?2 OR s.detail LIKE ?3)) \
                     FROM (SELECT alert_id, MIN(ts) AS fired FROM alert_events \
                           WHERE kind = 'firing' AND ts >= ?1 AND ts < ?4 GROUP BY alert_id) f \
                     JOIN alerts a ON a.id = f.alert_id \
                     LEFT JOIN alert_events r ON r.id = \
                       (SELECT MIN(e.id) FROM alert_events e \
                        WHERE e.alert_id = f.alert_id AND e.kind = 'resolved') \
                     WHERE json_extract(a.body, '$.source') IS NULL \
                     ORDER BY a.rule, f.fired",
                )
                .map_err(ctx)?;
            let rows = stmt
                .query_map(
                    params![
                        since,
                        "% (not notified: silenced by %",
                        "% (not notified: maintenance window %",
                        until
                    ],
                    |row| {
                        let resolved: Option<i64> = row.get(3)?;
                        let detail: Option<String> = row.get(4)?;
                        Ok(Firing {
                            rule: row.get(0)?,
                            fired: row.get(1)?,
                            acknowledged: row.get(2)?,
                            resolved: resolved.map(|ts| (ts, detail.unwrap_or_default())),
                            silenced: row.get(5)?,
                        })
                    },
                )
                .map_err(ctx)?;
            let mut by_rule: BTreeMap<String, Vec<Firing>> = BTreeMap::new();
            for row in rows {
                let firing = row.map_err(ctx)?;
                by_rule.entry(firing.rule.clone()).or_default().push(firing);
            }
            Ok(by_rule
                .into_iter()
                .map(|(rule, firings)| summarise(rule, &firings, flap_ms))
                .collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn only_the_rule_resolves_on_its_own() {
        assert!(by_rule("rule"));
        assert!(by_rule("rule (not notified: its firing was not notified)"));
        assert!(!by_rule("alice"));
        assert!(!by_rule("rules-bot: done"));
    }
}
