//! Synthetic request-rate series with known injected anomalies, and the precision
//! and recall of `anomaly(..) > threshold` held for `for` over them. Shared by
//! `tests/anomaly.rs` (bounds asserted) and `benches/anomaly.rs` (figures printed for
//! docs/benchmarks.md). Simulated time, one sample a minute: no sleeping.

use chrono::{DateTime, TimeDelta, Utc};
use mon_alerting::anomaly::{Baseline, Floor};

/// Minutes in a day and a week.
pub(crate) const DAY: i64 = 1440;
pub(crate) const WEEK: i64 = 7 * DAY;

/// The default rule: `anomaly("request_rate_per_min") > 4` for 5 minutes.
pub(crate) const THRESHOLD: f64 = 4.0;
pub(crate) const FOR_MINUTES: i64 = 5;
/// An alert up to this long after an anomaly's end still counts as detecting it.
const SLACK_MINUTES: i64 = 30;

/// A deterministic generator (SplitMix64) with normal draws (Box–Muller).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x.max(f64::MIN_POSITIVE)
    }

    /// Standard normal.
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// A series and where its anomalies are.
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    /// Per minute, the observed value.
    pub(crate) values: Vec<f64>,
    /// Injected anomalies: (first minute, length in minutes).
    pub(crate) anomalies: Vec<(i64, i64)>,
}

/// The quality of detection on one scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quality {
    pub(crate) alerts: usize,
    pub(crate) true_alerts: usize,
    pub(crate) anomalies: usize,
    pub(crate) detected: usize,
}

impl Quality {
    /// True alerts / alerts (1 when there were none).
    pub(crate) fn precision(&self) -> f64 {
        ratio(self.true_alerts, self.alerts)
    }

    /// Detected anomalies / anomalies.
    pub(crate) fn recall(&self) -> f64 {
        ratio(self.detected, self.anomalies)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        return 1.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let r = a as f64 / b as f64;
    r
}

/// Monday 00:00 UTC: minute 0 of every scenario.
pub(crate) fn minute(i: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_571_200, 0).unwrap_or_default() + TimeDelta::minutes(i)
}

/// Request-rate noise: Poisson-like (√rate) plus 3 % of the rate.
fn noisy(rng: &mut Rng, rate: f64) -> f64 {
    (rate + rng.normal() * (rate.sqrt() + 0.03 * rate)).max(0.0)
}

/// Anomalies spread over `[from, to)`: `count` of them, `len` minutes each, at least a
/// day apart when there is room, at pseudo-random offsets.
fn place(rng: &mut Rng, from: i64, to: i64, count: i64, len: i64) -> Vec<(i64, i64)> {
    let span = (to - from) / count;
    (0..count)
        .map(|i| {
            #[allow(clippy::cast_possible_truncation)]
            let offset = (rng.uniform() * (span - len - 120) as f64) as i64;
            (from + i * span + 60 + offset, len)
        })
        .collect()
}

/// Bursts: steady 100 requests/min for two weeks, 12 bursts of 20 minutes at
/// +100 % to +200 %.
pub(crate) fn spikes(seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let minutes = 2 * WEEK;
    let anomalies = place(&mut rng, 60, minutes, 12, 20);
    let mut factors = Vec::new();
    for _ in &anomalies {
        factors.push(2.0 + rng.uniform());
    }
    let values = (0..minutes)
        .map(|t| {
            let mut rate = 100.0;
            for ((start, len), f) in anomalies.iter().zip(&factors) {
                if (*start..start + len).contains(&t) {
                    rate *= f;
                }
            }
            noisy(&mut rng, rate)
        })
        .collect();
    Scenario {
        name: "spikes",
        values,
        anomalies,
    }
}

/// Level shifts: 100 requests/min, then 6 lasting steps up of +80 % to +150 %, two
/// days apart; the anomaly is the first hour after each step.
pub(crate) fn level_shifts(seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let minutes = 2 * WEEK;
    let anomalies = place(&mut rng, 60, minutes, 6, 60);
    let mut steps = Vec::new();
    for _ in &anomalies {
        steps.push(1.8 + 0.7 * rng.uniform());
    }
    let values = (0..minutes)
        .map(|t| {
            let mut rate = 100.0;
            for ((start, _), f) in anomalies.iter().zip(&steps) {
                if t >= *start {
                    rate *= f;
                }
            }
            noisy(&mut rng, rate)
        })
        .collect();
    Scenario {
        name: "level shifts",
        values,
        anomalies,
    }
}

/// Daily seasonality over three weeks: 40 requests/min at 03:00 UTC, 160 at 15:00
/// (a sine), and 15 bursts of 30 minutes at +100 % to +200 % of the hour's usual rate,
/// in the first week too (before the seasonal baseline is in use).
pub(crate) fn daily_seasonality(seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let minutes = 3 * WEEK;
    let anomalies = place(&mut rng, 60, minutes, 15, 30);
    let mut factors = Vec::new();
    for _ in &anomalies {
        factors.push(2.0 + rng.uniform());
    }
    let values = (0..minutes)
        .map(|t| {
            #[allow(clippy::cast_precision_loss)]
            let phase = std::f64::consts::TAU * ((t % DAY) as f64 - 540.0) / DAY as f64;
            let mut rate = 100.0 + 60.0 * phase.sin();
            for ((start, len), f) in anomalies.iter().zip(&factors) {
                if (*start..start + len).contains(&t) {
                    rate *= f;
                }
            }
            noisy(&mut rng, rate)
        })
        .collect();
    Scenario {
        name: "daily seasonality",
        values,
        anomalies,
    }
}

/// Every scenario, with one seed.
pub(crate) fn all(seed: u64) -> Vec<Scenario> {
    vec![spikes(seed), level_shifts(seed), daily_seasonality(seed)]
}

/// Runs a request-rate baseline over the scenario, one sample a minute, and fires an
/// alert when the score has been above [`THRESHOLD`] for [`FOR_MINUTES`] (as the rule
/// with `for: 5m` does); an alert is true when it fires within an anomaly (or up to
/// 30 minutes after its end).
pub(crate) fn evaluate(scenario: &Scenario) -> Quality {
    let mut baseline = Baseline::new(Floor::for_variable("request_rate_per_min"));
    let mut held_since: Option<i64> = None;
    let mut fired = false;
    let mut alerts = Vec::new();
    for (t, value) in (0i64..).zip(&scenario.values) {
        let holds = baseline
            .observe(minute(t), *value)
            .is_some_and(|s| s > THRESHOLD);
        if !holds {
            held_since = None;
            fired = false;
            continue;
        }
        let since = *held_since.get_or_insert(t);
        if !fired && t - since >= FOR_MINUTES {
            fired = true;
            alerts.push(t);
        }
    }
    let within =
        |t: i64, (start, len): (i64, i64)| (start..start + len + SLACK_MINUTES).contains(&t);
    let true_alerts = alerts
        .iter()
        .filter(|&&t| scenario.anomalies.iter().any(|&a| within(t, a)))
        .count();
    let detected = scenario
        .anomalies
        .iter()
        .filter(|&&a| alerts.iter().any(|&t| within(t, a)))
        .count();
    Quality {
        alerts: alerts.len(),
        true_alerts,
        anomalies: scenario.anomalies.len(),
        detected,
    }
}
