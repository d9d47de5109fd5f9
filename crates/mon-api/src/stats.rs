//! The figures of statistical comparisons — experiment variants (`GET
//! /api/v1/experiments/{name}`) and two periods of a metric (`GET /api/v1/compare`): a rate, a
//! mean and a distribution compared between two groups `a` and `b`. mon-metrics' `stats`
//! computes them; docs/experiments.md explains each figure.
//!
//! Every figure is finite or absent: what cannot be computed is `None` (`null`), and the
//! `warning` says why. Differences, `t` and `z` are signed as `b − a`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The highest confidence level accepted (`confidence=`): beyond it the quantiles of the
/// tests lose their precision, and no monitoring sample supports such a claim.
pub const MAX_CONFIDENCE: f64 = 0.999_999;

/// A confidence interval: `low ≤ high`, both finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Interval {
    /// The lower bound.
    pub low: f64,
    /// The upper bound.
    pub high: f64,
}

/// One group's rate with its Wilson score interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RateEstimate {
    /// The group's name.
    pub name: String,
    /// Successes.
    pub successes: u64,
    /// Trials.
    pub trials: u64,
    /// `successes / trials`, absent without trials.
    pub rate: Option<f64>,
    /// The Wilson score interval of the rate, absent without trials.
    pub interval: Option<Interval>,
}

/// Two rates compared: each with its Wilson interval, the difference `b − a` with its unpooled
/// Wald interval, and the pooled two-proportion z-test (two-sided).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RateComparison {
    /// The confidence level (0.95 for 95 %) of the intervals and of `significant`.
    pub confidence: f64,
    /// The first group (control, or before).
    pub a: RateEstimate,
    /// The second group (treatment, or after).
    pub b: RateEstimate,
    /// `rate(b) − rate(a)`, absent when a group has no trials.
    pub difference: Option<f64>,
    /// The unpooled Wald interval of the difference.
    pub difference_interval: Option<Interval>,
    /// The pooled z statistic of `b − a`, absent when it is undefined (no trials, or a
    /// pooled rate of 0 or 1).
    pub z: Option<f64>,
    /// The two-sided p-value of `z`.
    pub p_value: Option<f64>,
    /// Whether `p_value < 1 − confidence`.
    pub significant: bool,
    /// Plain words when a figure is missing or a sample is too small to tell.
    pub warning: Option<String>,
}

/// One group's mean and standard deviation, with the t interval of its mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeanEstimate {
    /// The group's name.
    pub name: String,
    /// The number of values.
    pub n: usize,
    /// The mean, absent without values.
    pub mean: Option<f64>,
    /// The sample standard deviation (divided by `n − 1`), absent below 2 values.
    pub std_dev: Option<f64>,
    /// The interval of the mean, `mean ± t(n − 1) · std_dev / √n`, absent below 2 values.
    pub interval: Option<Interval>,
}

/// Two means compared with Welch's t-test (unequal variances, two-sided).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeanComparison {
    /// The confidence level (0.95 for 95 %) of the intervals and of `significant`.
    pub confidence: f64,
    /// The first group.
    pub a: MeanEstimate,
    /// The second group.
    pub b: MeanEstimate,
    /// `mean(b) − mean(a)`, absent when a group has no values.
    pub difference: Option<f64>,
    /// Welch's interval of the difference: `difference ± t(df) · se`.
    pub difference_interval: Option<Interval>,
    /// Welch's t statistic of `b − a`: `difference / se`, `se = √(s_a²/n_a + s_b²/n_b)`.
    pub t: Option<f64>,
    /// The Welch–Satterthwaite degrees of freedom.
    pub df: Option<f64>,
    /// The two-sided p-value of `t`.
    pub p_value: Option<f64>,
    /// Whether `p_value < 1 − confidence`.
    pub significant: bool,
    /// Plain words when a figure is missing or a sample is too small to tell.
    pub warning: Option<String>,
}

/// Percentiles of one group, by linear interpolation between closest ranks: for `q` in
/// 0–100 and `n` sorted values `x[0] ≤ … ≤ x[n−1]`, the position is `h = (n − 1) · q / 100`
/// and the percentile `x[⌊h⌋] + (h − ⌊h⌋) · (x[⌊h⌋+1] − x[⌊h⌋])` — numpy's default
/// (`np.percentile(values, q)`, method `"linear"`), Hyndman & Fan's type 7.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Percentiles {
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
}

/// One group in a rank comparison: its size and percentiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RankEstimate {
    /// The group's name.
    pub name: String,
    /// The number of values.
    pub n: usize,
    /// The percentiles, absent without values.
    pub percentiles: Option<Percentiles>,
}

/// Two distributions compared with the Mann-Whitney U test (two-sided), through its normal
/// approximation with the tie correction and the continuity correction — the figures of
/// scipy's `mannwhitneyu(a, b, method="asymptotic", use_continuity=True)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RankComparison {
    /// The confidence level (0.95 for 95 %) of `significant`.
    pub confidence: f64,
    /// The first group.
    pub a: RankEstimate,
    /// The second group.
    pub b: RankEstimate,
    /// U of `a` (as scipy reports it): the number of pairs (one value of `a`, one of `b`) in
    /// which `a`'s value is higher, ties counting half.
    pub u: Option<f64>,
    /// The standardised statistic with the continuity correction, positive when `b`'s values
    /// tend to be higher (the direction of `b − a` in the other tests).
    pub z: Option<f64>,
    /// The two-sided p-value of `z`.
    pub p_value: Option<f64>,
    /// The common-language effect size `U / (n_a · n_b)`: the chance that a value of `a`
    /// drawn at random exceeds one of `b` (ties counting half); 0.5 when neither tends higher.
    pub common_language_effect: Option<f64>,
    /// Whether `p_value < 1 − confidence`.
    pub significant: bool,
    /// Plain words when a figure is missing or a sample is too small to tell.
    pub warning: Option<String>,
}

/// Two samples compared both ways: means (Welch's t-test) and distributions (Mann-Whitney U,
/// with percentiles). What durations, latencies, ratings and costs are compared with, between
/// variants or between two periods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SampleComparison {
    /// The comparison of the means.
    pub means: MeanComparison,
    /// The comparison of the distributions, with each group's percentiles.
    pub ranks: RankComparison,
}
