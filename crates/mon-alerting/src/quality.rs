//! The alert-quality report, a feedback loop on the rules themselves: per rule, how
//! often it fired and how its alerts were handled (from the stored history,
//! [`Store::alert_quality`]), a verdict — `noisy` when it fired at least
//! [`NOISY_FIRINGS`] times and at least half its alerts went away unacknowledged,
//! `quiet` when it never fired, `ok` otherwise — and for a noisy rule a suggestion
//! computed from what was recorded: a threshold the variable crossed only about 1 % of
//! the period (a simple comparison of a recorded variable with a number only), and a
//! `for` longer than its self-resolved alerts lasted.

use crate::AlertEngine;
use crate::expr::Comparison;
use crate::rule::{Rule, RuleCondition};
use chrono::{DateTime, Utc};
use mon_api::quality::{AlertQualityAnswer, RuleQualityView, Verdict};
use mon_store::{RuleQuality, Store, StoreError};
use std::collections::BTreeMap;
use std::time::Duration;

/// A rule that fired fewer times than this in the period is never noisy.
pub const NOISY_FIRINGS: u64 = 5;

/// The share of the period the suggested threshold leaves the variable beyond it.
const TARGET_SHARE: f64 = 0.01;

/// Readable `for` durations, in seconds: a suggestion is the first one long enough.
const READABLE_FOR: &[u64] = &[
    30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400,
];

/// The report over alerts that fired from `since` to `now`; an alert the rule resolved
/// within `flap` of firing, unacknowledged, counts as self-resolved. Configured rules
/// first (in rule order), then rules no longer configured that fired in the period.
///
/// # Errors
/// The store's, when the history or a series cannot be read.
pub async fn report(
    engine: &AlertEngine,
    store: &Store,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    flap: Duration,
) -> Result<AlertQualityAnswer, StoreError> {
    let mut history: BTreeMap<String, RuleQuality> = store
        .alert_quality(since, now, flap)
        .await?
        .into_iter()
        .map(|q| (q.rule.clone(), q))
        .collect();
    let flap_minutes = u32::try_from(flap.as_secs() / 60).unwrap_or(u32::MAX);
    let mut rules = Vec::new();
    for rule in engine.rules() {
        let figures = history.remove(rule.name()).unwrap_or_default();
        let mut view = view(rule.name(), &figures, flap_minutes);
        view.expr = Some(rule.expr().to_string());
        view.configured = true;
        if view.verdict == Verdict::Noisy {
            suggest(&mut view, &rule, &figures, store, since.min(now), now).await?;
        }
        rules.push(view);
    }
    rules.extend(history.into_iter().map(|(name, figures)| {
        let mut view = view(&name, &figures, flap_minutes);
        if view.verdict == Verdict::Noisy {
            view.suggestion = Some("the rule is no longer configured".to_string());
        }
        view
    }));
    Ok(AlertQualityAnswer {
        since,
        until: now,
        flap_minutes,
        rules,
    })
}

/// `part / whole × 100`, absent for nothing.
fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// A rule's figures with its verdict and reasons, not yet a suggestion.
fn view(rule: &str, q: &RuleQuality, flap_minutes: u32) -> RuleQualityView {
    let (verdict, reasons) = verdict(q, flap_minutes);
    RuleQualityView {
        rule: rule.to_string(),
        expr: None,
        configured: false,
        fired: q.fired,
        acknowledged: q.acknowledged,
        acknowledged_percent: percent(q.acknowledged, q.fired),
        unacknowledged: q.unacknowledged,
        self_resolved: q.self_resolved,
        self_resolved_percent: percent(q.self_resolved, q.fired),
        silenced: q.silenced,
        open: q.open,
        median_firing_seconds: q.median_firing_seconds,
        median_self_resolved_seconds: q.median_self_resolved_seconds,
        mean_time_to_acknowledge_seconds: q.mean_time_to_acknowledge_seconds,
        mean_time_to_resolve_seconds: q.mean_time_to_resolve_seconds,
        verdict,
        reasons,
        suggestion: None,
        suggested_threshold: None,
        suggested_for: None,
    }
}

/// `noisy` when the rule fired at least [`NOISY_FIRINGS`] times and at least half its
/// alerts resolved on their own within the flap window or were never acknowledged;
/// `quiet` when it never fired; `ok` otherwise — with the reasons in plain words.
fn verdict(q: &RuleQuality, flap_minutes: u32) -> (Verdict, Vec<String>) {
    if q.fired == 0 {
        return (
            Verdict::Quiet,
            vec!["it did not fire in the period".to_string()],
        );
    }
    let times = |n: u64| {
        if n == 1 {
            "once".to_string()
        } else {
            format!("{n} times")
        }
    };
    let half = |n: u64| n * 2 >= q.fired;
    let flapping = half(q.self_resolved);
    let ignored = half(q.unacknowledged);
    let mut reasons = vec![format!("it fired {}", times(q.fired))];
    if q.self_resolved > 0 {
        reasons.push(format!(
            "{} of {} alerts resolved on their own within {flap_minutes} min, unacknowledged",
            q.self_resolved, q.fired
        ));
    }
    if q.unacknowledged > 0 {
        reasons.push(format!(
            "{} of {} alerts ended without anyone acknowledging them",
            q.unacknowledged, q.fired
        ));
    }
    if q.acknowledged > 0 {
        reasons.push(format!(
            "{} of {} were acknowledged",
            q.acknowledged, q.fired
        ));
    }
    if q.silenced > 0 {
        reasons.push(format!(
            "{} of {} alerts were held back by a silence or maintenance window",
            q.silenced, q.fired
        ));
    }
    if q.fired >= NOISY_FIRINGS && (flapping || ignored) {
        return (Verdict::Noisy, reasons);
    }
    if q.fired < NOISY_FIRINGS {
        reasons.push(format!(
            "fewer than {NOISY_FIRINGS} firings: too few to call it noisy"
        ));
    } else {
        reasons.push("most of its alerts were acknowledged".to_string());
    }
    (Verdict::Ok, reasons)
}

/// Fills a noisy rule's suggestion: a threshold from its variable's recorded values
/// (simple comparisons only) and a `for` from its self-resolved alerts.
async fn suggest(
    view: &mut RuleQualityView,
    rule: &Rule,
    figures: &RuleQuality,
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut parts = Vec::new();
    let comparison = match rule.condition() {
        RuleCondition::Expr(expr) => expr.simple_comparison(),
        RuleCondition::Fn(_) => None,
    };
    match comparison {
        None => parts.push(format!(
            "`{}` is not a comparison of one variable with a number, so no threshold is suggested",
            rule.expr()
        )),
        Some(c) => {
            let values = recorded_values(store, &c.variable, from, to).await?;
            match threshold(&c, &values) {
                Threshold::NoData => parts.push(format!(
                    "no values of {} are recorded in the period, so no threshold is suggested",
                    c.variable
                )),
                Threshold::AlreadyRare(t) => parts.push(format!(
                    "{} was beyond {} less than 1 % of the period (its {} is {t}), so a new threshold would not help",
                    c.variable,
                    c.threshold,
                    percentile_name(&c)
                )),
                Threshold::Suggested(t) => {
                    view.suggested_threshold = Some(t);
                    parts.push(format!(
                        "use `{} {} {t}`: {} of its recorded values, beyond which it spent about {} % of the period",
                        c.variable,
                        c.op.as_str(),
                        percentile_name(&c),
                        TARGET_SHARE * 100.0
                    ));
                }
            }
        }
    }
    if let Some(median) = figures.median_self_resolved_seconds {
        let held = rule.for_duration().as_secs_f64() + median;
        let suggested = readable_for(held);
        let text = mon_core::duration::format(suggested);
        parts.push(format!(
            "set `for: {text}`: its self-resolved alerts lasted {} at the median{}",
            mon_core::duration::format(Duration::from_secs(median.ceil() as u64)),
            if rule.for_duration().is_zero() {
                String::new()
            } else {
                format!(
                    " after the current `for: {}`",
                    mon_core::duration::format(rule.for_duration())
                )
            }
        ));
        view.suggested_for = Some(text);
    }
    view.suggestion = Some(parts.join("; "));
    Ok(())
}

/// `99th percentile` for a rule that fires high, `1st percentile` for one that fires low.
fn percentile_name(c: &Comparison) -> &'static str {
    if c.op.fires_high() {
        "the 99th percentile"
    } else {
        "the 1st percentile"
    }
}

/// The recorded values of `variable` (the series without labels: what rules read) over
/// `[from, to]`, each with how many samples it stands for: raw samples up to 6 hours,
/// 1-minute means up to 7 days, hourly means beyond.
async fn recorded_values(
    store: &Store,
    variable: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(f64, u64)>, StoreError> {
    let series = store
        .query_series(variable, &BTreeMap::new(), from, to, None)
        .await?;
    Ok(series
        .into_iter()
        .filter(|s| s.labels.is_empty())
        .flat_map(|s| s.points)
        .filter(|p| p.avg.is_finite())
        .map(|p| (p.avg, p.count))
        .collect())
}

/// What the recorded values say about a threshold.
#[derive(Debug, PartialEq)]
enum Threshold {
    /// Nothing recorded.
    NoData,
    /// The current threshold is already crossed less than the target share of the time;
    /// the percentile it was compared with.
    AlreadyRare(f64),
    /// The suggested threshold.
    Suggested(f64),
}

/// The value beyond which the variable spent only [`TARGET_SHARE`] of its samples (the
/// 99th percentile for `>`/`>=`, the 1st for `<`/`<=`), when it is stricter than the
/// current threshold.
fn threshold(c: &Comparison, values: &[(f64, u64)]) -> Threshold {
    let fraction = if c.op.fires_high() {
        1.0 - TARGET_SHARE
    } else {
        TARGET_SHARE
    };
    let Some(p) = percentile(values, fraction) else {
        return Threshold::NoData;
    };
    let stricter = if c.op.fires_high() {
        p > c.threshold
    } else {
        p < c.threshold
    };
    if stricter {
        Threshold::Suggested(p)
    } else {
        Threshold::AlreadyRare(p)
    }
}

/// The weighted nearest-rank percentile: the least value whose samples and those below
/// it make up at least `fraction` of all.
fn percentile(values: &[(f64, u64)], fraction: f64) -> Option<f64> {
    let mut sorted: Vec<(f64, u64)> = values.iter().copied().filter(|(_, n)| *n > 0).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: u64 = sorted.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = (fraction * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    sorted.into_iter().find_map(|(v, n)| {
        seen += n;
        (seen >= rank).then_some(v)
    })
}

/// The first readable duration longer than `seconds` (whole days beyond a day).
fn readable_for(seconds: f64) -> Duration {
    let secs = READABLE_FOR
        .iter()
        .copied()
        .find(|s| *s as f64 > seconds)
        .unwrap_or_else(|| ((seconds / 86_400.0).floor() as u64 + 1) * 86_400);
    Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Expr;

    fn figures(
        fired: u64,
        acknowledged: u64,
        unacknowledged: u64,
        self_resolved: u64,
    ) -> RuleQuality {
        let mut q = RuleQuality::default();
        q.fired = fired;
        q.acknowledged = acknowledged;
        q.unacknowledged = unacknowledged;
        q.self_resolved = self_resolved;
        q
    }

    #[test]
    fn verdicts() {
        for ((fired, acked, unacked, flapped), want) in [
            ((0, 0, 0, 0), Verdict::Quiet),
            ((4, 0, 4, 4), Verdict::Ok),
            ((5, 0, 5, 5), Verdict::Noisy),
            ((10, 5, 5, 0), Verdict::Noisy),
            ((10, 0, 3, 5), Verdict::Noisy),
            ((10, 6, 4, 4), Verdict::Ok),
            ((10, 9, 0, 0), Verdict::Ok),
        ] {
            let (verdict, reasons) = verdict(&figures(fired, acked, unacked, flapped), 5);
            assert_eq!(
                verdict, want,
                "{fired} {acked} {unacked} {flapped}: {reasons:?}"
            );
            assert!(!reasons.is_empty());
        }
        let (_, reasons) = verdict(&figures(8, 0, 8, 6), 5);
        assert_eq!(
            reasons,
            [
                "it fired 8 times",
                "6 of 8 alerts resolved on their own within 5 min, unacknowledged",
                "8 of 8 alerts ended without anyone acknowledging them",
            ]
        );
    }

    #[test]
    fn percentiles_weigh_each_value_by_its_samples() {
        let values: Vec<(f64, u64)> = (1..=100).map(|v| (f64::from(v), 1)).collect();
        assert_eq!(percentile(&values, 0.99), Some(99.0));
        assert_eq!(percentile(&values, 0.01), Some(1.0));
        assert_eq!(percentile(&[(5.0, 98), (50.0, 2)], 0.99), Some(50.0));
        assert_eq!(percentile(&[(5.0, 99), (50.0, 1)], 0.99), Some(5.0));
        assert_eq!(percentile(&[], 0.99), None);
        assert_eq!(percentile(&[(1.0, 0)], 0.5), None);
    }

    #[test]
    fn thresholds_are_suggested_only_when_stricter() {
        let comparison = |source: &str| Expr::parse(source).unwrap().simple_comparison().unwrap();
        let values: Vec<(f64, u64)> = (1..=100).map(|v| (f64::from(v), 1)).collect();
        assert_eq!(
            threshold(&comparison("x > 50"), &values),
            Threshold::Suggested(99.0)
        );
        assert_eq!(
            threshold(&comparison("x >= 99"), &values),
            Threshold::AlreadyRare(99.0)
        );
        assert_eq!(
            threshold(&comparison("x < 50"), &values),
            Threshold::Suggested(1.0)
        );
        assert_eq!(
            threshold(&comparison("50 > x"), &values),
            Threshold::Suggested(1.0)
        );
        assert_eq!(
            threshold(&comparison("x <= 0.5"), &values),
            Threshold::AlreadyRare(1.0)
        );
        assert_eq!(threshold(&comparison("x > 1"), &[]), Threshold::NoData);
    }

    #[test]
    fn for_durations_are_rounded_up_to_readable_ones() {
        for (seconds, want) in [
            (0.0, 30),
            (29.0, 30),
            (30.0, 60),
            (61.0, 120),
            (150.0, 300),
            (300.0, 600),
            (4000.0, 7200),
            (86_400.0, 172_800),
            (100_000.0, 172_800),
        ] {
            assert_eq!(
                readable_for(seconds),
                Duration::from_secs(want),
                "{seconds}"
            );
        }
    }
}
