//! Statistics for experiments (A/B tests) and before/after comparisons: two groups `a` and `b`
//! compared on a rate (two-proportion z-test, Wilson and Wald intervals), on a mean (Welch's
//! t-test) and on ranks (Mann-Whitney U), with percentiles and a plain warning when a sample is
//! too small to tell. Pure computation: the distributions are statrs's [`Normal`] and
//! [`StudentsT`]; the server reads the groups from the store and answers with the results.
//! The result types are the API's (`mon_api::stats`, re-exported here), so the server, the CLI
//! and the OpenAPI document share them.
//!
//! Every figure is finite or absent (`None`): a figure that cannot be computed (no trials, no
//! spread) is left out and the warning says why, so that every result serialises to JSON.
//! Differences, `t` and `z` are signed as `b − a`: positive when `b` is higher. What each test
//! assumes and how to read it is in docs/experiments.md.

use crate::MetricsError;
pub use mon_api::stats::{
    Interval, MeanComparison, MeanEstimate, Percentiles, RankComparison, RankEstimate,
    RateComparison, RateEstimate, SampleComparison,
};
use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};

/// The confidence level used when none is asked for: 95 %.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;
pub use mon_api::stats::MAX_CONFIDENCE;
/// A rate's group with fewer trials than this is too small to tell.
pub const MIN_TRIALS: u64 = 30;
/// A rate's group expecting fewer successes (or failures) than this at the pooled rate is too
/// small for the normal approximation of the z-test.
pub const MIN_EXPECTED: f64 = 10.0;
/// A group with fewer values than this makes the t-test's result a small-sample one.
pub const MIN_MEAN_VALUES: usize = 30;
/// A group with fewer values than this makes the Mann-Whitney p-value (normal approximation)
/// only approximate.
pub const MIN_RANK_VALUES: usize = 20;

/// A confidence level strictly between 0 and 1 (at most [`MAX_CONFIDENCE`]): 0.95 for 95 %.
/// A result is `significant` when its p-value is below `1 − level`. In JSON, a bare number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Confidence(f64);

impl Confidence {
    /// The level `level`, refused with [`MetricsError::InvalidConfidence`] unless
    /// `0 < level ≤ MAX_CONFIDENCE`.
    pub fn new(level: f64) -> Result<Confidence, MetricsError> {
        if level > 0.0 && level <= MAX_CONFIDENCE {
            Ok(Confidence(level))
        } else {
            Err(MetricsError::InvalidConfidence { value: level })
        }
    }

    /// The level, e.g. 0.95.
    pub fn level(self) -> f64 {
        self.0
    }

    /// The two-sided significance threshold `1 − level`.
    fn alpha(self) -> f64 {
        1.0 - self.0
    }

    /// The standard normal quantile that leaves `alpha / 2` in each tail (1.96 at 95 %).
    fn normal_quantile(self) -> f64 {
        Normal::standard().inverse_cdf(1.0 - self.alpha() / 2.0)
    }

    /// The Student's t quantile with `df` degrees of freedom that leaves `alpha / 2` in each
    /// tail, or `None` when `df` is not a positive number.
    ///
    /// statrs's `StudentsT::inverse_cdf` inverts the incomplete beta function, which loses
    /// precision as `df` grows (compared with scipy: 2·10⁻⁷ relative at df = 20,000, 8·10⁻⁶ at
    /// 200,000, 15 % at 10⁷, and experiments reach df = 200,000). Its answer (or the normal
    /// quantile, if it is not finite) is therefore polished with Newton steps on statrs's own
    /// survival function and density, which stay accurate there.
    fn t_quantile(self, df: f64) -> Option<f64> {
        let t = StudentsT::new(0.0, 1.0, df).ok()?;
        let tail = self.alpha() / 2.0;
        let start = t.inverse_cdf(1.0 - tail);
        let mut x = if start.is_finite() && start > 0.0 {
            start
        } else {
            self.normal_quantile()
        };
        for _ in 0..20 {
            let step = (t.sf(x) - tail) / t.pdf(x);
            if !step.is_finite() {
                break;
            }
            x += step;
            if step.abs() <= 1e-13 * x.abs() {
                break;
            }
        }
        finite(x)
    }

    /// Whether `p` is below the threshold (false when there is no p-value).
    fn significant(self, p: Option<f64>) -> bool {
        p.is_some_and(|p| p < self.alpha())
    }
}

impl Default for Confidence {
    fn default() -> Confidence {
        Confidence(DEFAULT_CONFIDENCE)
    }
}

impl TryFrom<f64> for Confidence {
    type Error = MetricsError;

    fn try_from(level: f64) -> Result<Confidence, MetricsError> {
        Confidence::new(level)
    }
}

impl From<Confidence> for f64 {
    fn from(confidence: Confidence) -> f64 {
        confidence.0
    }
}

/// `centre ± half`, or `None` when a bound is not finite.
fn around(centre: f64, half: f64) -> Option<Interval> {
    let (low, high) = (centre - half, centre + half);
    (low.is_finite() && high.is_finite()).then_some(Interval { low, high })
}

/// `x` when it is finite.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The two-sided p-value of `statistic` under the symmetric `distribution` (centred on 0):
/// twice its upper tail beyond `|statistic|`, at most 1.
fn two_sided_p(distribution: &impl ContinuousCDF<f64, f64>, statistic: f64) -> Option<f64> {
    finite(f64::min(2.0 * distribution.sf(statistic.abs()), 1.0))
}

/// Why a comparison cannot be (fully) computed, and why its samples are too small to tell;
/// [`Notes::warning`] puts them in words.
#[derive(Default)]
struct Notes {
    /// Whole sentences: a figure that cannot be computed, and why.
    missing: Vec<String>,
    /// Clauses: a group that is too small, and by what measure.
    small: Vec<String>,
}

impl Notes {
    /// The warning: what is missing, then "Too small a sample to tell: ..." with `caveat`.
    fn warning(self, caveat: &str) -> Option<String> {
        let mut sentences = self.missing;
        if !self.small.is_empty() {
            sentences.push(format!(
                "Too small a sample to tell: {}. {caveat}",
                self.small.join("; ")
            ));
        }
        (!sentences.is_empty()).then(|| sentences.join(" "))
    }
}

/// One group's successes out of its trials (calls that succeeded, calls abandoned...).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Counts<'a> {
    /// The group's name (the variant, or the period), used in the result and its warning.
    pub name: &'a str,
    /// How many trials succeeded (or had the property counted).
    pub successes: u64,
    /// How many trials there were.
    pub trials: u64,
}

impl<'a> Counts<'a> {
    /// `successes` out of `trials` for the group `name`.
    pub fn new(name: &'a str, successes: u64, trials: u64) -> Counts<'a> {
        Counts {
            name,
            successes,
            trials,
        }
    }
}

/// `rate` with its Wilson score interval, for `trials > 0`.
fn wilson(successes: u64, trials: u64, z: f64) -> (f64, Option<Interval>) {
    let n = trials as f64;
    let rate = successes as f64 / n;
    let z2 = z * z;
    let scale = 1.0 + z2 / n;
    let centre = (rate + z2 / (2.0 * n)) / scale;
    let half = z / scale * (rate * (1.0 - rate) / n + z2 / (4.0 * n * n)).sqrt();
    let interval = around(centre, half).map(|i| Interval {
        low: i.low.max(0.0),
        high: i.high.min(1.0),
    });
    (rate, interval)
}

/// Compares the rates of `a` and `b`. Refused when a group counts more successes than trials.
pub fn compare_rates(
    a: Counts<'_>,
    b: Counts<'_>,
    confidence: Confidence,
) -> Result<RateComparison, MetricsError> {
    for group in [a, b] {
        if group.successes > group.trials {
            return Err(MetricsError::InvalidSample {
                name: group.name.to_owned(),
                reason: format!(
                    "{} successes out of {} trials; successes cannot exceed trials",
                    group.successes, group.trials
                ),
            });
        }
    }
    let z_quantile = confidence.normal_quantile();
    let estimate = |group: Counts<'_>| {
        let (rate, interval) = match group.trials {
            0 => (None, None),
            _ => {
                let (rate, interval) = wilson(group.successes, group.trials, z_quantile);
                (Some(rate), interval)
            }
        };
        RateEstimate {
            name: group.name.to_owned(),
            successes: group.successes,
            trials: group.trials,
            rate,
            interval,
        }
    };
    let (estimate_a, estimate_b) = (estimate(a), estimate(b));
    let mut notes = Notes::default();
    for group in [a, b] {
        if group.trials == 0 {
            notes.missing.push(format!(
                "{} has no trials: its rate and the comparison cannot be computed.",
                group.name
            ));
        } else if group.trials < MIN_TRIALS {
            notes.small.push(format!(
                "{} has only {} trials (fewer than {MIN_TRIALS})",
                group.name, group.trials
            ));
        }
    }
    let (mut difference, mut difference_interval, mut z) = (None, None, None);
    if let (Some(rate_a), Some(rate_b)) = (estimate_a.rate, estimate_b.rate) {
        let (n_a, n_b) = (a.trials as f64, b.trials as f64);
        let d = rate_b - rate_a;
        difference = finite(d);
        let wald = (rate_a * (1.0 - rate_a) / n_a + rate_b * (1.0 - rate_b) / n_b).sqrt();
        difference_interval = around(d, z_quantile * wald);
        let pooled = (a.successes + b.successes) as f64 / (n_a + n_b);
        if pooled == 0.0 || pooled == 1.0 {
            let (what, rate) = match pooled == 0.0 {
                true => ("no trial succeeded", "0 %"),
                false => ("every trial succeeded", "100 %"),
            };
            notes.missing.push(format!(
                "No p-value: {what} in either group (both rates are {rate}), so the z-test \
                 has no variation to measure the difference against."
            ));
        } else {
            let se = (pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)).sqrt();
            z = finite(d / se);
            for group in [a, b] {
                let n = group.trials as f64;
                for (expected, what) in
                    [(n * pooled, "successes"), (n * (1.0 - pooled), "failures")]
                {
                    if expected < MIN_EXPECTED {
                        notes.small.push(format!(
                            "{} would expect only {expected:.1} {what} at the pooled rate of \
                             {:.1} % (fewer than {MIN_EXPECTED})",
                            group.name,
                            pooled * 100.0
                        ));
                    }
                }
            }
        }
    }
    let p_value = z.and_then(|z| two_sided_p(&Normal::standard(), z));
    Ok(RateComparison {
        confidence: confidence.level(),
        a: estimate_a,
        b: estimate_b,
        difference,
        difference_interval,
        z,
        p_value,
        significant: confidence.significant(p_value),
        warning: notes.warning(
            "The z-test and the intervals rely on a normal approximation that does not hold \
             here; collect more trials before trusting the result.",
        ),
    })
}

/// One group's values (durations, ratings, costs...).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Sample<'a> {
    /// The group's name (the variant, or the period), used in the result and its warning.
    pub name: &'a str,
    /// The values, in any order; every one must be finite.
    pub values: &'a [f64],
}

impl<'a> Sample<'a> {
    /// The values `values` of the group `name`.
    pub fn new(name: &'a str, values: &'a [f64]) -> Sample<'a> {
        Sample { name, values }
    }

    /// Refuses a value that is not a finite number (naming the group, the position and the value).
    fn check(self) -> Result<(), MetricsError> {
        match self.values.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(index) => Err(MetricsError::InvalidSample {
                name: self.name.to_owned(),
                reason: format!(
                    "value {index} is {}; only finite numbers can be compared",
                    self.values[index]
                ),
            }),
        }
    }
}

/// The mean and the sample variance (two passes), the variance absent below 2 values.
fn mean_variance(values: &[f64]) -> (Option<f64>, Option<f64>) {
    if values.is_empty() {
        return (None, None);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = (values.len() >= 2)
        .then(|| values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0));
    (finite(mean), variance.and_then(finite))
}

/// Compares the means of `a` and `b` (Welch's t-test). Refused when a value is not finite.
pub fn compare_means(
    a: Sample<'_>,
    b: Sample<'_>,
    confidence: Confidence,
) -> Result<MeanComparison, MetricsError> {
    a.check()?;
    b.check()?;
    let (mean_a, var_a) = mean_variance(a.values);
    let (mean_b, var_b) = mean_variance(b.values);
    let estimate = |group: Sample<'_>, mean: Option<f64>, variance: Option<f64>| {
        let n = group.values.len();
        let std_dev = variance.map(f64::sqrt);
        let interval = match (mean, std_dev) {
            (Some(mean), Some(s)) => confidence
                .t_quantile(n as f64 - 1.0)
                .and_then(|q| around(mean, q * s / (n as f64).sqrt())),
            _ => None,
        };
        MeanEstimate {
            name: group.name.to_owned(),
            n,
            mean,
            std_dev,
            interval,
        }
    };
    let mut notes = Notes::default();
    for group in [a, b] {
        match group.values.len() {
            0 | 1 => notes.missing.push(format!(
                "{} has {} value(s): at least 2 are needed to measure its spread, so the \
                 t-test cannot be computed.",
                group.name,
                group.values.len()
            )),
            n if n < MIN_MEAN_VALUES => notes.small.push(format!(
                "{} has only {n} values (fewer than {MIN_MEAN_VALUES})",
                group.name
            )),
            _ => {}
        }
    }
    let difference = mean_a.zip(mean_b).and_then(|(a, b)| finite(b - a));
    let (mut t, mut df, mut difference_interval) = (None, None, None);
    if let (Some(d), Some(var_a), Some(var_b)) = (difference, var_a, var_b) {
        let (n_a, n_b) = (a.values.len() as f64, b.values.len() as f64);
        let (v_a, v_b) = (var_a / n_a, var_b / n_b);
        let se = (v_a + v_b).sqrt();
        if se > 0.0 {
            t = finite(d / se);
            df = finite(
                (v_a + v_b).powi(2) / (v_a.powi(2) / (n_a - 1.0) + v_b.powi(2) / (n_b - 1.0)),
            );
            difference_interval = df
                .and_then(|df| confidence.t_quantile(df))
                .and_then(|q| around(d, q * se));
        } else {
            notes.missing.push(format!(
                "Every value of {} is the same and every value of {} is the same: with no \
                 spread in either group the t-test cannot be computed (the difference of the \
                 means is exact in these data).",
                a.name, b.name
            ));
        }
    }
    let p_value = match (t, df) {
        (Some(t), Some(df)) => StudentsT::new(0.0, 1.0, df)
            .ok()
            .and_then(|distribution| two_sided_p(&distribution, t)),
        _ => None,
    };
    Ok(MeanComparison {
        confidence: confidence.level(),
        a: estimate(a, mean_a, var_a),
        b: estimate(b, mean_b, var_b),
        difference,
        difference_interval,
        t,
        df,
        p_value,
        significant: confidence.significant(p_value),
        warning: notes.warning(
            "The t-test assumes each mean is roughly normally distributed, which takes more \
             values when the data are skewed (as durations and costs usually are); read the \
             rank test beside it.",
        ),
    })
}

/// The percentiles of `values` (any order), absent without values or with a value that is
/// not finite. Linear interpolation between closest ranks, numpy's default: for `q` in 0–100
/// and `n` sorted values `x[0] ≤ … ≤ x[n−1]`, the position is `h = (n − 1) · q / 100` and the
/// percentile `x[⌊h⌋] + (h − ⌊h⌋) · (x[⌊h⌋+1] − x[⌊h⌋])`.
pub fn percentiles(values: &[f64]) -> Option<Percentiles> {
    if values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    percentiles_of_sorted(&sorted)
}

/// The percentiles of finite values sorted in ascending order.
fn percentiles_of_sorted(sorted: &[f64]) -> Option<Percentiles> {
    Some(Percentiles {
        p50: percentile(sorted, 50.0)?,
        p90: percentile(sorted, 90.0)?,
        p95: percentile(sorted, 95.0)?,
        p99: percentile(sorted, 99.0)?,
    })
}

/// The `q`th percentile (0–100) of ascending `sorted`, as [`percentiles`] defines it. The
/// interpolation is written as numpy writes it (from the upper neighbour when past half way),
/// so that the figures agree to the last bits.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * (q / 100.0);
    let below = (h.floor() as usize).min(last);
    let above = (below + 1).min(last);
    let (low, high, fraction) = (sorted[below], sorted[above], h - below as f64);
    let value = match fraction >= 0.5 {
        true => high - (high - low) * (1.0 - fraction),
        false => low + (high - low) * fraction,
    };
    finite(value)
}

/// What ranking two sorted samples together gives: the rank sum of the first, the tie
/// term `Σ (t³ − t)` over groups of `t` equal values, and the number of distinct values.
struct Ranks {
    sum_a: f64,
    ties: f64,
    distinct: usize,
}

/// Ranks the union of ascending `a` and `b` in one merge (ties get their average rank):
/// O(n_a + n_b) after the sorts.
fn rank(a: &[f64], b: &[f64]) -> Ranks {
    let (mut i, mut j, mut below) = (0, 0, 0usize);
    let mut ranks = Ranks {
        sum_a: 0.0,
        ties: 0.0,
        distinct: 0,
    };
    loop {
        let value = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => return ranks,
        };
        let in_a = a[i..].iter().take_while(|&&x| x == value).count();
        let in_b = b[j..].iter().take_while(|&&y| y == value).count();
        let tied = (in_a + in_b) as f64;
        ranks.sum_a += in_a as f64 * (below as f64 + (tied + 1.0) / 2.0);
        ranks.ties += tied * tied * tied - tied;
        ranks.distinct += 1;
        below += in_a + in_b;
        i += in_a;
        j += in_b;
    }
}

/// Compares the distributions of `a` and `b` (Mann-Whitney U) and reports their percentiles.
/// Refused when a value is not finite. O(n log n): each group is sorted once.
pub fn compare_ranks(
    a: Sample<'_>,
    b: Sample<'_>,
    confidence: Confidence,
) -> Result<RankComparison, MetricsError> {
    a.check()?;
    b.check()?;
    let sorted = |group: Sample<'_>| {
        let mut values = group.values.to_vec();
        values.sort_unstable_by(f64::total_cmp);
        values
    };
    let (sorted_a, sorted_b) = (sorted(a), sorted(b));
    let estimate = |group: Sample<'_>, sorted: &[f64]| RankEstimate {
        name: group.name.to_owned(),
        n: sorted.len(),
        percentiles: percentiles_of_sorted(sorted),
    };
    let mut notes = Notes::default();
    for group in [a, b] {
        match group.values.len() {
            0 => notes.missing.push(format!(
                "{} has no values: there is nothing to rank.",
                group.name
            )),
            n if n < MIN_RANK_VALUES => notes.small.push(format!(
                "{} has only {n} values (fewer than {MIN_RANK_VALUES})",
                group.name
            )),
            _ => {}
        }
    }
    let (mut u, mut z, mut effect) = (None, None, None);
    if !sorted_a.is_empty() && !sorted_b.is_empty() {
        let ranks = rank(&sorted_a, &sorted_b);
        let (n_a, n_b) = (sorted_a.len() as f64, sorted_b.len() as f64);
        let n = n_a + n_b;
        let u_a = ranks.sum_a - n_a * (n_a + 1.0) / 2.0;
        u = finite(u_a);
        effect = finite(u_a / (n_a * n_b));
        let sigma = (n_a * n_b / 12.0 * ((n + 1.0) - ranks.ties / (n * (n - 1.0)))).sqrt();
        if ranks.distinct > 1 && sigma > 0.0 {
            // U of b above its mean n_a·n_b/2 is U of a below it; the continuity correction
            // moves the distance half a unit towards 0.
            let distance = n_a * n_b / 2.0 - u_a;
            z = finite(distance.signum() * (distance.abs() - 0.5).max(0.0) / sigma);
        } else {
            notes.missing.push(format!(
                "Every value in both groups is {}: ranks cannot tell the groups apart, so the \
                 rank test has no p-value.",
                sorted_a[0]
            ));
        }
    }
    let p_value = z.and_then(|z| two_sided_p(&Normal::standard(), z));
    Ok(RankComparison {
        confidence: confidence.level(),
        a: estimate(a, &sorted_a),
        b: estimate(b, &sorted_b),
        u,
        z,
        p_value,
        common_language_effect: effect,
        significant: confidence.significant(p_value),
        warning: notes.warning(
            "The p-value comes from the normal approximation of U, which is only approximate \
             for so few values.",
        ),
    })
}

/// Compares `a` and `b` with [`compare_means`] and [`compare_ranks`]. Refused when a value is
/// not finite.
pub fn compare_samples(
    a: Sample<'_>,
    b: Sample<'_>,
    confidence: Confidence,
) -> Result<SampleComparison, MetricsError> {
    Ok(SampleComparison {
        means: compare_means(a, b, confidence)?,
        ranks: compare_ranks(a, b, confidence)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(level: f64) -> Confidence {
        Confidence::new(level).expect("a valid level")
    }

    /// Serialises `value` to JSON and reads it back: equal only if every figure is finite
    /// (JSON has no NaN or infinity: serde_json writes them as `null`, which reads back as
    /// `None` or fails).
    fn round_trips<T>(value: &T)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_value(value).expect("serialises");
        let back: T = serde_json::from_value(json.clone()).expect("reads back");
        assert_eq!(&back, value, "{json}");
    }

    fn rates(a: (u64, u64), b: (u64, u64)) -> RateComparison {
        let result = compare_rates(
            Counts::new("control", a.0, a.1),
            Counts::new("treatment", b.0, b.1),
            Confidence::default(),
        )
        .expect("valid counts");
        round_trips(&result);
        result
    }

    fn samples(a: &[f64], b: &[f64]) -> SampleComparison {
        let result = compare_samples(
            Sample::new("before", a),
            Sample::new("after", b),
            Confidence::default(),
        )
        .expect("finite values");
        round_trips(&result);
        result
    }

    fn close(actual: Option<f64>, expected: f64) {
        let actual = actual.expect("a figure");
        assert!(
            (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{actual} is not {expected}"
        );
    }

    fn warning_has(warning: &Option<String>, words: &[&str]) {
        let warning = warning.as_deref().expect("a warning");
        for word in words {
            assert!(warning.contains(word), "{word:?} missing from: {warning}");
        }
    }

    #[test]
    fn a_confidence_level_is_strictly_between_0_and_1() {
        for bad in [0.0, -0.5, 1.0, 1.5, 0.999_999_9, f64::NAN, f64::INFINITY] {
            let error = Confidence::new(bad).expect_err("refused").to_string();
            assert!(
                error.contains(&format!("confidence {bad}")) && error.contains("0.95"),
                "{error}"
            );
        }
        for good in [0.5, 0.9, 0.95, 0.99, MAX_CONFIDENCE] {
            assert_eq!(Confidence::new(good).expect("accepted").level(), good);
        }
        assert_eq!(Confidence::default().level(), 0.95);
        let read: Confidence = serde_json::from_str("0.9").expect("a level");
        assert_eq!(read, level(0.9));
        let error = serde_json::from_str::<Confidence>("2").expect_err("refused");
        assert!(error.to_string().contains("confidence 2"), "{error}");
    }

    #[test]
    fn quantiles_match_the_tables() {
        close(Some(level(0.95).normal_quantile()), 1.959_963_984_540_054);
        close(Some(level(0.99).normal_quantile()), 2.575_829_303_548_901);
        // Student's t: 12.706 (df 1), 2.228 (df 10), and the normal quantile for huge df.
        close(level(0.95).t_quantile(1.0), 12.706_204_736_174_7);
        close(level(0.95).t_quantile(10.0), 2.228_138_851_986_273_5);
        let huge = level(0.95).t_quantile(1e7).expect("a quantile");
        assert!((huge - 1.959_964_221_767_205).abs() < 1e-8, "{huge}");
        assert_eq!(level(0.95).t_quantile(0.0), None);
    }

    #[test]
    fn two_rates_far_apart_on_large_samples() {
        let result = rates((4_800, 10_000), (5_200, 10_000));
        close(result.a.rate, 0.48);
        close(result.difference, 0.04);
        // Pooled rate 0.5: se = √(0.25 · 2/10,000).
        close(result.z, 0.04 / (0.25_f64 * 2.0 / 10_000.0).sqrt());
        assert!(result.p_value.expect("a p-value") < 1e-7);
        assert!(result.significant);
        assert_eq!(result.warning, None);
        let interval = result.a.interval.expect("an interval");
        assert!(interval.low < 0.48 && 0.48 < interval.high, "{interval:?}");
    }

    #[test]
    fn the_confidence_level_sets_the_threshold_and_the_widths() {
        // z ≈ 1.79, p ≈ 0.074: significant at 90 %, not at 95 % or 99 %.
        let at = |c: f64| {
            compare_rates(
                Counts::new("control", 480, 1_000),
                Counts::new("treatment", 520, 1_000),
                level(c),
            )
            .expect("valid counts")
        };
        let (low, usual, high) = (at(0.90), at(0.95), at(0.99));
        assert_eq!(low.p_value, high.p_value);
        assert!(low.significant && !usual.significant && !high.significant);
        assert_eq!((low.confidence, high.confidence), (0.90, 0.99));
        let width = |r: &RateComparison| {
            let i = r.difference_interval.expect("an interval");
            i.high - i.low
        };
        assert!(width(&low) < width(&usual) && width(&usual) < width(&high));
        // The interval and the test agree here: 0 lies inside the 95 % interval only.
        let inside = |r: &RateComparison| {
            let i = r.difference_interval.expect("an interval");
            i.low < 0.0 && 0.0 < i.high
        };
        assert!(!inside(&low) && inside(&usual) && inside(&high));
    }

    #[test]
    fn equal_rates_give_p_1() {
        let result = rates((300, 1_000), (300, 1_000));
        close(result.z, 0.0);
        close(result.p_value, 1.0);
        assert!(!result.significant);
    }

    #[test]
    fn rates_that_cannot_be_compared_say_why() {
        let result = rates((0, 0), (0, 0));
        assert_eq!(
            (result.a.rate, result.difference, result.z, result.p_value),
            (None, None, None, None)
        );
        assert!(!result.significant);
        warning_has(
            &result.warning,
            &["control has no trials", "treatment has no trials"],
        );

        let result = rates((0, 0), (5, 50));
        assert_eq!((result.difference, result.p_value), (None, None));
        close(result.b.rate, 0.1);
        warning_has(&result.warning, &["control has no trials"]);

        let result = rates((0, 500), (0, 800));
        assert_eq!((result.z, result.p_value), (None, None));
        close(result.difference, 0.0);
        warning_has(
            &result.warning,
            &["No p-value", "no trial succeeded", "0 %"],
        );
        let wilson = result.a.interval.expect("an interval");
        assert!(wilson.low == 0.0 && wilson.high > 0.0, "{wilson:?}");

        let result = rates((500, 500), (800, 800));
        assert_eq!(result.p_value, None);
        warning_has(&result.warning, &["every trial succeeded", "100 %"]);
    }

    #[test]
    fn small_rate_samples_are_named() {
        let result = rates((5, 20), (9, 20));
        assert!(result.p_value.is_some());
        warning_has(
            &result.warning,
            &[
                "Too small a sample to tell",
                "control has only 20 trials (fewer than 30)",
                "treatment has only 20 trials",
                "control would expect only 7.0 successes at the pooled rate of 35.0 %",
            ],
        );
        // Enough trials, but too few failures expected.
        let result = rates((995, 1_000), (998, 1_000));
        warning_has(&result.warning, &["would expect only 3.5 failures"]);
        assert!(
            !result
                .warning
                .as_deref()
                .unwrap_or("")
                .contains("fewer than 30")
        );
    }

    #[test]
    fn more_successes_than_trials_is_refused() {
        let error = compare_rates(
            Counts::new("control", 5, 50),
            Counts::new("treatment", 51, 50),
            Confidence::default(),
        )
        .expect_err("refused")
        .to_string();
        assert!(
            error.contains("\"treatment\"") && error.contains("51 successes out of 50 trials"),
            "{error}"
        );
    }

    #[test]
    fn means_of_known_samples() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [2.0, 4.0, 6.0, 8.0];
        let means = samples(&a, &b).means;
        close(means.a.mean, 2.5);
        close(means.b.std_dev, (20.0_f64 / 3.0).sqrt());
        close(means.difference, 2.5);
        // se² = (5/3)/4 + (20/3)/4 = 25/12; df = (25/12)² / ((5/12)²/3 + (5/3)²/3).
        let se = (25.0_f64 / 12.0).sqrt();
        close(means.t, 2.5 / se);
        close(
            means.df,
            (25.0_f64 / 12.0).powi(2)
                / ((5.0_f64 / 12.0).powi(2) / 3.0 + (5.0_f64 / 3.0).powi(2) / 3.0),
        );
        warning_has(
            &means.warning,
            &["before has only 4 values (fewer than 30)"],
        );
    }

    #[test]
    fn identical_samples_show_no_difference() {
        let values: Vec<f64> = (0..100).map(|i| f64::from(i % 17) * 1.5).collect();
        let result = samples(&values, &values);
        close(result.means.t, 0.0);
        close(result.means.p_value, 1.0);
        close(result.ranks.p_value, 1.0);
        close(result.ranks.common_language_effect, 0.5);
        assert!(!result.means.significant && !result.ranks.significant);
        assert_eq!(
            (&result.means.warning, &result.ranks.warning),
            (&None, &None)
        );
    }

    #[test]
    fn samples_too_small_to_compute() {
        let result = samples(&[], &[]);
        assert_eq!(
            (
                result.means.a.mean,
                result.means.t,
                result.ranks.u,
                result.ranks.p_value
            ),
            (None, None, None, None)
        );
        assert_eq!(result.ranks.a.percentiles, None);
        warning_has(&result.means.warning, &["before has 0 value(s)"]);
        warning_has(&result.ranks.warning, &["after has no values"]);

        let result = samples(&[3.0], &[1.0, 2.0]);
        close(result.means.a.mean, 3.0);
        assert_eq!(
            (result.means.a.std_dev, result.means.a.interval),
            (None, None)
        );
        assert_eq!((result.means.t, result.means.p_value), (None, None));
        close(result.means.difference, -1.5);
        warning_has(
            &result.means.warning,
            &["before has 1 value(s)", "at least 2"],
        );
        // Ranks work from one value a side, with the small-sample caveat.
        close(result.ranks.u, 2.0);
        assert!(result.ranks.p_value.is_some());
        warning_has(
            &result.ranks.warning,
            &["fewer than 20", "only approximate"],
        );
    }

    #[test]
    fn no_spread_in_either_group() {
        let result = samples(&[2.0; 40], &[3.0; 40]);
        assert_eq!((result.means.t, result.means.p_value), (None, None));
        close(result.means.difference, 1.0);
        close(result.means.a.std_dev, 0.0);
        warning_has(&result.means.warning, &["no spread in either group"]);
        // Ranks still separate them: every value of after is above every value of before.
        close(result.ranks.common_language_effect, 0.0);
        assert!(result.ranks.z.expect("z") > 0.0 && result.ranks.significant);

        // No spread on one side only: df is the other side's n − 1.
        let spread: Vec<f64> = (0..40).map(f64::from).collect();
        let result = samples(&[2.0; 40], &spread);
        close(result.means.df, 39.0);
        assert!(result.means.p_value.is_some());
    }

    #[test]
    fn all_ties_leave_ranks_without_p_value() {
        let result = samples(&[7.0; 25], &[7.0; 30]);
        assert_eq!((result.ranks.z, result.ranks.p_value), (None, None));
        close(result.ranks.u, 25.0 * 30.0 / 2.0);
        warning_has(&result.ranks.warning, &["Every value in both groups is 7"]);
        assert!(!result.ranks.significant);
    }

    #[test]
    fn ranks_of_separated_samples() {
        let ranks = samples(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).ranks;
        close(ranks.u, 0.0);
        close(ranks.common_language_effect, 0.0);
        // σ = √(3·3/12 · 7), the distance 4.5 less the continuity half.
        close(ranks.z, 4.0 / (0.75_f64 * 7.0).sqrt());
        // Ties across the groups take the average rank: 1, 2 | 2, 3 → ranks 1, 2.5 | 2.5, 4.
        let ranks = samples(&[1.0, 2.0], &[2.0, 3.0]).ranks;
        close(ranks.u, 0.5);
    }

    #[test]
    fn percentiles_interpolate_between_closest_ranks() {
        let p = percentiles(&[4.0, 1.0, 3.0, 2.0]).expect("percentiles");
        // h = 3 · q / 100 in 1, 2, 3, 4.
        assert_eq!((p.p50, p.p90), (2.5, 3.7));
        close(Some(p.p95), 3.85);
        close(Some(p.p99), 3.97);
        let one = percentiles(&[42.0]).expect("percentiles");
        assert_eq!((one.p50, one.p99), (42.0, 42.0));
        assert_eq!(percentiles(&[]), None);
        assert_eq!(percentiles(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn a_value_that_is_not_finite_is_refused() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let error = compare_samples(
                Sample::new("before", &[1.0, 2.0]),
                Sample::new("after", &[1.0, 2.0, bad]),
                Confidence::default(),
            )
            .expect_err("refused")
            .to_string();
            assert!(
                error.contains("\"after\"") && error.contains(&format!("value 2 is {bad}")),
                "{error}"
            );
        }
    }

    #[test]
    fn huge_values_give_absent_figures_not_infinities() {
        let result = samples(&[f64::MAX, f64::MAX / 2.0], &[-f64::MAX, 1.0]);
        assert_eq!(result.means.a.mean, None);
        assert_eq!(result.means.t, None);
    }
}
