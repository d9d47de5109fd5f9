//! Anomaly detection: a [`Baseline`] per numeric snapshot variable, and the score
//! rules read with `anomaly("request_rate_per_min") > 4`.
//!
//! The model, kept simple on purpose (docs/alerting.md, "Anomaly detection"):
//!
//! - **Cadence**: one sample per variable per minute ([`SAMPLE_EVERY`]), taken by the
//!   engine's evaluations (they run at least every `evaluation_interval` and after new
//!   data). Rules are scored at every evaluation against the model as it stands.
//! - **Expected value**: the sum of a slow level (EWMA over about a day,
//!   [`SLOW_SAMPLES`]), the hour-of-week seasonal offset (once the model is
//!   [seasonal](Baseline::is_seasonal)) and a fast correction (EWMA over about an hour,
//!   [`FAST_SAMPLES`]) of what the two leave over. Before a week of data the seasonal
//!   term is zero, so the expected value is a plain fast EWMA of the values.
//! - **Seasonal baseline**: 168 hour-of-week slots (UTC, Monday 00:00 is slot 0), each
//!   the mean of (value − level) over that hour, blended week over week
//!   ([`SEASON_BLEND`]); read between the centres of two slots by linear interpolation.
//!   Used once the first sample is a week old and every slot has been seen.
//! - **Deviation** = 1.25 × the EWMA of |value − expected| (1.25 × the mean absolute
//!   deviation is the standard deviation of normal noise), never below a floor: 1 % of
//!   |expected|, an absolute floor by unit, and for rates and counts √|expected| (the
//!   noise of a Poisson count), so a quiet variable does not turn tiny changes into
//!   large scores.
//! - **Score** = (value − expected) / deviation: signed, in deviations. No score (rules
//!   see "no data") until [`WARM_UP_SAMPLES`] samples have been taken.
//! - **Robustness**: a sample's surprise is clipped to ±[`CLIP`] deviations before the
//!   expected value learns it, and to [`DEVIATION_CLIP`] before the deviation does, so
//!   a burst does not drag the baseline along or widen the band within minutes; a level
//!   shift is still learned, by steps, within about an hour.
//!
//! [`Baselines`] holds one model per catalog variable (and per custom variable a rule
//! reads with `anomaly()`), and is kept in the store's `kept_state` (kind `baseline`) so
//! a restart resumes where it stopped.

use crate::Snapshot;
use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use mon_core::catalog::{CATALOG, Unit};
use mon_store::KeptState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How often a variable's baseline learns a sample.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// Samples before a baseline scores values (30 minutes at one per minute).
pub const WARM_UP_SAMPLES: u64 = 30;
/// The span, in samples, of the fast correction and of the deviation (about an hour).
pub const FAST_SAMPLES: f64 = 60.0;
/// The span, in samples, of the slow level (about a day).
pub const SLOW_SAMPLES: f64 = 1440.0;
/// How far (in deviations) a sample's surprise counts when the expected value learns it.
pub const CLIP: f64 = 3.0;
/// How far (in deviations) a sample's surprise counts when the deviation learns it:
/// lower than [`CLIP`], so a lasting anomaly does not widen the band within minutes.
pub const DEVIATION_CLIP: f64 = 2.0;
/// The weight of the newest week in a seasonal slot.
pub const SEASON_BLEND: f64 = 0.5;
/// Hour-of-week slots.
pub const SLOTS: usize = 168;
/// The factor from the mean absolute deviation to a standard deviation.
const MAD_TO_SIGMA: f64 = 1.25;
/// The deviation floor relative to |expected|.
const RELATIVE_FLOOR: f64 = 0.01;
/// Samples a visit of an hour slot needs to count (a server down most of that hour
/// leaves the slot as it was).
const MIN_VISIT_SAMPLES: u32 = 10;
/// The most variables with a baseline (catalog and rule-read custom variables are far fewer).
const MAX_BASELINES: usize = 512;
/// The store's kept-state kind of a baseline (its name is the variable's).
pub(crate) const KEPT_BASELINE: &str = "baseline";
/// A week: the data a seasonal baseline needs.
const WEEK: TimeDelta = TimeDelta::days(7);

/// The least deviation of a variable, from its unit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Floor {
    /// The absolute floor, in the variable's unit.
    pub absolute: f64,
    /// Whether √|expected| applies (rates and counts: Poisson noise).
    pub counts: bool,
}

impl Floor {
    /// The floor of a catalog variable (by its unit), or of a custom one (relative only).
    pub fn for_variable(name: &str) -> Floor {
        let unit = CATALOG.iter().find(|v| v.name == name).map(|v| v.unit);
        match unit {
            Some(Unit::Ratio) => Floor {
                absolute: 0.01,
                counts: false,
            },
            Some(Unit::Percent) => Floor {
                absolute: 0.5,
                counts: false,
            },
            Some(Unit::PerMinute | Unit::Count) => Floor {
                absolute: 1.0,
                counts: true,
            },
            Some(Unit::Milliseconds) => Floor {
                absolute: 1.0,
                counts: false,
            },
            Some(Unit::Mos) => Floor {
                absolute: 0.05,
                counts: false,
            },
            // Bytes, seconds, load, dollars, units added later and custom variables:
            // the relative floor only.
            _ => Floor {
                absolute: 1e-6,
                counts: false,
            },
        }
    }
}

/// One variable's model: level, seasonal slots, fast correction and deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Samples learned.
    samples: u64,
    /// When the first sample was learned.
    first_at: Option<DateTime<Utc>>,
    /// When the last sample was learned.
    last_at: Option<DateTime<Utc>>,
    /// The slow level.
    level: f64,
    /// The fast correction over level (+ season).
    correction: f64,
    /// The EWMA of |value − expected|.
    mad: f64,
    /// Hour-of-week offsets over the level (`None`: not seen yet).
    season: Vec<Option<f64>>,
    /// Whether the seasonal offsets are in use.
    seasonal: bool,
    /// The hour slot being visited: its slot, the sum of offsets and their number.
    visit: Option<(usize, f64, u32)>,
    #[serde(skip)]
    floor: Floor,
}

impl Baseline {
    /// An empty baseline with the given deviation floor.
    pub fn new(floor: Floor) -> Baseline {
        Baseline {
            samples: 0,
            first_at: None,
            last_at: None,
            level: 0.0,
            correction: 0.0,
            mad: 0.0,
            season: vec![None; SLOTS],
            seasonal: false,
            visit: None,
            floor,
        }
    }

    /// Samples learned so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Whether it scores values (past the warm-up).
    pub fn is_warm(&self) -> bool {
        self.samples >= WARM_UP_SAMPLES
    }

    /// Whether the hour-of-week baseline is in use (a week of data, every slot seen).
    pub fn is_seasonal(&self) -> bool {
        self.seasonal
    }

    /// When the last sample was learned.
    pub fn last_sample(&self) -> Option<DateTime<Utc>> {
        self.last_at
    }

    /// The value expected at `at` (`None` before the first sample).
    pub fn expected(&self, at: DateTime<Utc>) -> Option<f64> {
        (self.samples > 0).then(|| self.base(at) + self.correction)
    }

    /// The deviation at `at` (floored), in the variable's unit.
    pub fn deviation(&self, at: DateTime<Utc>) -> Option<f64> {
        self.expected(at).map(|e| self.floored(e))
    }

    /// How unusual `value` is at `at`, in deviations from the expected value; `None`
    /// during the warm-up.
    pub fn score(&self, at: DateTime<Utc>, value: f64) -> Option<f64> {
        if !self.is_warm() || !value.is_finite() {
            return None;
        }
        let expected = self.expected(at)?;
        Some((value - expected) / self.floored(expected))
    }

    /// Scores `value` (against the model before it), then learns it if a sample is due
    /// ([`SAMPLE_EVERY`] since the last one).
    pub fn observe(&mut self, at: DateTime<Utc>, value: f64) -> Option<f64> {
        let score = self.score(at, value);
        let due = self.last_at.is_none_or(|last| {
            at.signed_duration_since(last)
                .to_std()
                .is_ok_and(|d| d >= SAMPLE_EVERY)
        });
        if due && value.is_finite() {
            self.learn(at, value);
        }
        score
    }

    fn floored(&self, expected: f64) -> f64 {
        let mut floor = self.floor.absolute.max(RELATIVE_FLOOR * expected.abs());
        if self.floor.counts {
            floor = floor.max(expected.abs().sqrt());
        }
        (MAD_TO_SIGMA * self.mad).max(floor)
    }

    /// Level plus the seasonal offset when in use.
    fn base(&self, at: DateTime<Utc>) -> f64 {
        self.level + self.season_at(at).filter(|_| self.seasonal).unwrap_or(0.0)
    }

    /// The seasonal offset at `at`, interpolated between the centres of two slots;
    /// `None` while either slot is unseen.
    fn season_at(&self, at: DateTime<Utc>) -> Option<f64> {
        let slot = hour_of_week(at);
        let into_hour = f64::from(at.minute() * 60 + at.second()) / 3600.0;
        let (a, b, w) = if into_hour >= 0.5 {
            (slot, (slot + 1) % SLOTS, into_hour - 0.5)
        } else {
            ((slot + SLOTS - 1) % SLOTS, slot, into_hour + 0.5)
        };
        let (sa, sb) = ((*self.season.get(a)?)?, (*self.season.get(b)?)?);
        Some(sa + w * (sb - sa))
    }

    /// Learns one sample.
    fn learn(&mut self, at: DateTime<Utc>, value: f64) {
        #[allow(clippy::cast_precision_loss)] // sample counts stay far below 2^53
        let n = self.samples as f64;
        if self.samples == 0 {
            self.first_at = Some(at);
            self.level = value;
        } else {
            let alpha = |span: f64| (2.0 / (span + 1.0)).max(1.0 / (n + 1.0));
            let expected = self.base(at) + self.correction;
            let mut surprise = value - expected;
            let mut spread = surprise.abs();
            if self.is_warm() {
                let deviation = self.floored(expected);
                surprise = surprise.clamp(-CLIP * deviation, CLIP * deviation);
                spread = spread.min(DEVIATION_CLIP * deviation);
            }
            let learned = expected + surprise;
            let season = self.season_at(at).filter(|_| self.seasonal).unwrap_or(0.0);
            self.correction += alpha(FAST_SAMPLES) * (learned - self.base(at) - self.correction);
            self.mad += alpha(FAST_SAMPLES) * (spread - self.mad);
            self.level += alpha(SLOW_SAMPLES) * (learned - season - self.level);
            self.visit_slot(at, learned - self.level);
        }
        if self.samples == 0 {
            self.visit_slot(at, 0.0);
        }
        self.samples += 1;
        self.last_at = Some(at);
        self.maybe_turn_seasonal(at);
    }

    /// Adds an offset to the visit of `at`'s hour slot, folding the previous visit
    /// into its slot when the hour changed.
    fn visit_slot(&mut self, at: DateTime<Utc>, offset: f64) {
        let slot = hour_of_week(at);
        match &mut self.visit {
            Some((s, sum, count)) if *s == slot => {
                *sum += offset;
                *count += 1;
            }
            previous => {
                if let Some((s, sum, count)) = previous.take()
                    && count >= MIN_VISIT_SAMPLES
                    && let Some(entry) = self.season.get_mut(s)
                {
                    let mean = sum / f64::from(count);
                    *entry = Some(match *entry {
                        None => mean,
                        Some(old) => old + SEASON_BLEND * (mean - old),
                    });
                }
                self.visit = Some((slot, offset, 1));
            }
        }
    }

    /// Switches to the seasonal model once a week of data exists and every slot is
    /// seen; the fast correction is rebased so the expected value does not jump.
    fn maybe_turn_seasonal(&mut self, at: DateTime<Utc>) {
        if self.seasonal || self.season.iter().any(Option::is_none) {
            return;
        }
        if self.first_at.is_some_and(|first| at - first >= WEEK) {
            self.correction -= self.season_at(at).unwrap_or(0.0);
            self.seasonal = true;
        }
    }
}

/// The hour-of-week slot of `at` (UTC; Monday 00:00–01:00 is 0).
pub fn hour_of_week(at: DateTime<Utc>) -> usize {
    (at.weekday().num_days_from_monday() * 24 + at.hour()) as usize
}

/// The baselines of every watched variable.
#[derive(Debug, Clone, Default)]
pub struct Baselines {
    models: BTreeMap<String, Baseline>,
    /// Variables outside the catalog that rules read with `anomaly()`.
    extra: BTreeSet<String>,
    /// Whether a sample was learned since the last [`Baselines::kept`].
    changed: bool,
}

impl Baselines {
    /// Baselines for the catalog's variables and for `extra` (custom variables rules
    /// read with `anomaly()`).
    pub fn new(extra: impl IntoIterator<Item = String>) -> Baselines {
        Baselines {
            extra: extra.into_iter().collect(),
            ..Baselines::default()
        }
    }

    fn watches(&self, name: &str) -> bool {
        self.extra.contains(name) || CATALOG.iter().any(|v| v.name == name)
    }

    /// Scores every watched variable of `snapshot` at `now` and learns the samples that
    /// are due. Returns the scores (warm baselines only).
    pub fn observe(&mut self, snapshot: &Snapshot, now: DateTime<Utc>) -> BTreeMap<String, f64> {
        let mut scores = BTreeMap::new();
        for (name, &value) in &snapshot.values {
            if !self.watches(name) {
                continue;
            }
            if !self.models.contains_key(name) && self.models.len() >= MAX_BASELINES {
                continue;
            }
            let model = self
                .models
                .entry(name.clone())
                .or_insert_with(|| Baseline::new(Floor::for_variable(name)));
            let before = model.samples;
            if let Some(score) = model.observe(now, value) {
                scores.insert(name.clone(), score);
            }
            self.changed |= model.samples != before;
        }
        scores
    }

    /// The baseline of `name`, if it has one.
    pub fn get(&self, name: &str) -> Option<&Baseline> {
        self.models.get(name)
    }

    /// Whether `name` can have a baseline (a catalog variable or one read by `anomaly()`).
    pub fn is_watched(&self, name: &str) -> bool {
        self.watches(name)
    }

    /// Every baseline as kept state, when a sample was learned since the last call
    /// (else nothing).
    pub(crate) fn kept(&mut self, now: DateTime<Utc>) -> Vec<KeptState> {
        if !std::mem::take(&mut self.changed) {
            return Vec::new();
        }
        self.models
            .iter()
            .filter_map(|(name, model)| {
                Some(KeptState {
                    kind: KEPT_BASELINE.to_string(),
                    name: name.clone(),
                    body: serde_json::to_value(model).ok()?,
                    at: now,
                })
            })
            .collect()
    }

    /// Takes back baselines kept in the store; a body that does not read is skipped
    /// (that variable learns afresh).
    pub(crate) fn restore(&mut self, rows: Vec<KeptState>) {
        for row in rows {
            if !self.watches(&row.name) {
                continue;
            }
            match serde_json::from_value::<Baseline>(row.body) {
                Ok(mut model) if model.season.len() == SLOTS => {
                    model.floor = Floor::for_variable(&row.name);
                    self.models.insert(row.name, model);
                }
                Ok(_) => {
                    tracing::warn!(variable = %row.name, "a kept baseline has the wrong number of slots; it learns afresh");
                }
                Err(e) => {
                    tracing::warn!(variable = %row.name, error = %e, "a kept baseline could not be read; it learns afresh");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(i: i64) -> DateTime<Utc> {
        // A Monday, 00:00 UTC.
        DateTime::from_timestamp(1_767_571_200 + i * 60, 0).unwrap_or_default()
    }

    fn counts() -> Floor {
        Floor::for_variable("request_rate_per_min")
    }

    #[test]
    fn warm_up_gives_no_score_then_a_steady_series_scores_near_zero() {
        let mut b = Baseline::new(counts());
        for i in 0..i64::try_from(WARM_UP_SAMPLES).unwrap_or(30) {
            assert_eq!(b.observe(minute(i), 100.0), None, "sample {i}");
        }
        let score = b.observe(minute(30), 100.0);
        assert_eq!(score, Some(0.0));
        // 100 requests/min: the Poisson floor is 10, so 160 is 6 deviations out.
        let spike = b.score(minute(31), 160.0).unwrap_or_default();
        assert!((spike - 6.0).abs() < 1e-9, "{spike}");
    }

    #[test]
    fn learns_once_a_minute_whatever_the_evaluation_rate() {
        let mut b = Baseline::new(counts());
        for s in 0..600 {
            b.observe(minute(0) + TimeDelta::seconds(s * 15), 10.0);
        }
        // 150 minutes of evaluations every 15 s: 150 samples.
        assert_eq!(b.samples(), 150);
    }

    #[test]
    fn a_spike_is_clipped_so_the_level_barely_moves() {
        let mut b = Baseline::new(counts());
        for i in 0..120 {
            b.observe(minute(i), 100.0);
        }
        b.observe(minute(120), 10_000.0);
        let after = b.expected(minute(121)).unwrap_or_default();
        // At most CLIP deviations (10 each) × the fast weight (2/61) and a little slow weight.
        assert!(after < 101.5, "{after}");
    }

    #[test]
    fn turns_seasonal_after_a_week_and_follows_the_hour_of_week() {
        let mut b = Baseline::new(Floor::for_variable("cpu_percent"));
        // Busy 09:00–17:00 UTC every day (80), else 20.
        let value = |i: i64| {
            let hour = (i / 60) % 24;
            if (9..17).contains(&hour) { 80.0 } else { 20.0 }
        };
        for i in 0..(7 * 24 * 60) {
            b.observe(minute(i), value(i));
        }
        assert!(!b.is_seasonal(), "a week is not yet seen in full");
        for i in (7 * 24 * 60)..(8 * 24 * 60) {
            b.observe(minute(i), value(i));
        }
        assert!(b.is_seasonal());
        // Early morning of day 9: expected low; mid-day: expected high.
        let night = b
            .expected(minute(8 * 1440 + 3 * 60 + 30))
            .unwrap_or_default();
        let noon = b
            .expected(minute(8 * 1440 + 12 * 60 + 30))
            .unwrap_or_default();
        assert!(night < 35.0 && noon > 65.0, "night {night}, noon {noon}");
    }

    #[test]
    fn kept_state_round_trips_and_skips_what_does_not_read() {
        let mut baselines = Baselines::new(["queue_depth".to_string()]);
        let mut snapshot = Snapshot::default();
        snapshot.set("request_rate_per_min", 50.0);
        snapshot.set("queue_depth", 3.0);
        snapshot.set("not_watched", 1.0);
        baselines.observe(&snapshot, minute(0));
        let kept = baselines.kept(minute(0));
        assert_eq!(kept.len(), 2);
        assert!(baselines.kept(minute(0)).is_empty(), "nothing new learned");
        let mut rows = kept.clone();
        rows.push(KeptState {
            kind: KEPT_BASELINE.to_string(),
            name: "cpu_percent".to_string(),
            body: serde_json::json!({"samples": "many"}),
            at: minute(0),
        });
        let mut back = Baselines::new(["queue_depth".to_string()]);
        back.restore(rows);
        assert_eq!(
            back.get("request_rate_per_min"),
            baselines.get("request_rate_per_min")
        );
        assert_eq!(back.get("queue_depth").map(Baseline::samples), Some(1));
        assert!(back.get("cpu_percent").is_none());
    }
}
