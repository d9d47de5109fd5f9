//! mon's statistics (`mon_metrics::stats`) checked against an independent reference: scipy
//! and numpy in `tests/python/stats_check.py`. Deterministic data sets (a seeded LCG: sizes
//! from 8 to 100,000 a group, ties, skew, a constant group, three confidence levels) go to
//! the script as JSON on stdin; every figure mon computes must match scipy's within a
//! relative tolerance of 1e-6 (absolute 1e-12 for figures that are zero), and a figure mon
//! leaves out must be one scipy cannot compute either.

use mon_metrics::stats::{
    Confidence, Counts, Interval, RateComparison, Sample, SampleComparison, compare_rates,
    compare_samples,
};
use serde_json::{Value, json};
use std::time::Instant;

/// The tolerance of the comparison, relative to scipy's figure.
const RELATIVE: f64 = 1e-6;
/// The tolerance for figures whose reference is (close to) zero.
const ABSOLUTE: f64 = 1e-12;

/// A seeded linear congruential generator (Knuth's MMIX constants): the same numbers on every
/// run and platform, without a random-number dependency.
struct Lcg(u64);

impl Lcg {
    /// A uniform number in [0, 1) from the top 53 bits.
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A roughly normal number (sum of 12 uniforms less 6): mean 0, standard deviation 1.
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }

    /// `n` log-normal latencies in milliseconds around `median`, rounded to `step` (ties).
    fn latencies(&mut self, n: usize, median: f64, step: f64) -> Vec<f64> {
        (0..n)
            .map(|_| ((median * (0.6 * self.normal()).exp()) / step).round() * step)
            .collect()
    }

    /// `n` ratings 1–5, skewed towards `good` (0–1).
    fn ratings(&mut self, n: usize, good: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                (1.0 + 5.0 * self.uniform().powf(1.0 - good))
                    .floor()
                    .min(5.0)
            })
            .collect()
    }
}

/// A data set of values: its name, confidence level, and the two groups.
struct SampleCase {
    name: &'static str,
    confidence: f64,
    a: Vec<f64>,
    b: Vec<f64>,
}

fn sample_cases() -> Vec<SampleCase> {
    let mut lcg = Lcg(0x6d6f_6e5f_7374_6174);
    let case = |name, confidence, a, b| SampleCase {
        name,
        confidence,
        a,
        b,
    };
    let skewed = (
        lcg.latencies(200, 850.0, 0.001),
        lcg.latencies(180, 900.0, 0.001),
    );
    let ratings = (lcg.ratings(150, 0.5), lcg.ratings(170, 0.6));
    let small = (
        lcg.latencies(8, 300.0, 0.001),
        lcg.latencies(11, 420.0, 0.001),
    );
    let same = (
        lcg.latencies(1_000, 500.0, 1.0),
        lcg.latencies(1_000, 500.0, 1.0),
    );
    let large = (
        lcg.latencies(100_000, 700.0, 1.0),
        lcg.latencies(100_000, 703.0, 1.0),
    );
    let costs: Vec<f64> = (0..60).map(|_| 0.002 + 0.004 * lcg.uniform()).collect();
    let unequal = (
        lcg.latencies(40, 200.0, 0.01),
        lcg.latencies(2_500, 210.0, 0.01),
    );
    vec![
        case("skewed latencies, 200 and 180", 0.95, skewed.0, skewed.1),
        case("ratings 1-5, heavy ties", 0.95, ratings.0, ratings.1),
        case("small groups, 8 and 11", 0.90, small.0, small.1),
        case("one distribution, 1000 each", 0.95, same.0, same.1),
        case("100,000 a group, rounded to 1 ms", 0.99, large.0, large.1),
        case(
            "a constant cost against spread costs",
            0.95,
            vec![0.004; 50],
            costs,
        ),
        case("unequal sizes, 40 and 2500", 0.95, unequal.0, unequal.1),
    ]
}

/// A group's successes and trials.
type Tally = (u64, u64);

/// Rate data sets: name, confidence, the tallies of a and b.
const RATE_CASES: &[(&str, f64, Tally, Tally)] = &[
    ("success rate, 1000 each", 0.95, (480, 1_000), (530, 1_000)),
    ("small groups", 0.95, (12, 25), (20, 28)),
    ("rare abandonment", 0.99, (3, 400), (11, 390)),
    (
        "near 100 %, 100,000 each",
        0.95,
        (99_990, 100_000),
        (99_970, 100_000),
    ),
    ("none in a", 0.90, (0, 50), (4, 60)),
    ("equal rates", 0.95, (250, 1_000), (500, 2_000)),
];

/// A figure's name in the script's answer, and mon's value of it.
type Figure = (String, Option<f64>);

/// `name_low` and `name_high` of `interval`.
fn bounds(name: &str, interval: Option<Interval>) -> [Figure; 2] {
    [
        (format!("{name}_low"), interval.map(|i| i.low)),
        (format!("{name}_high"), interval.map(|i| i.high)),
    ]
}

/// mon's figures of a rate comparison, under the script's names.
fn rate_figures(r: &RateComparison) -> Vec<Figure> {
    let mut figures = Vec::new();
    for (side, estimate) in [("a", &r.a), ("b", &r.b)] {
        figures.push((format!("{side}_rate"), estimate.rate));
        figures.extend(bounds(side, estimate.interval));
    }
    figures.push(("difference".into(), r.difference));
    figures.extend(bounds("difference", r.difference_interval));
    figures.push(("z".into(), r.z));
    figures.push(("p_value".into(), r.p_value));
    figures
}

/// mon's figures of a sample comparison, under the script's names.
fn sample_figures(s: &SampleComparison) -> Vec<Figure> {
    let (m, r) = (&s.means, &s.ranks);
    let mut figures = Vec::new();
    for (side, mean, ranks) in [("a", &m.a, &r.a), ("b", &m.b, &r.b)] {
        figures.push((format!("{side}_n"), Some(mean.n as f64)));
        figures.push((format!("{side}_mean"), mean.mean));
        figures.push((format!("{side}_std_dev"), mean.std_dev));
        figures.extend(bounds(side, mean.interval));
        let p = ranks.percentiles;
        figures.push((format!("{side}_p50"), p.map(|p| p.p50)));
        figures.push((format!("{side}_p90"), p.map(|p| p.p90)));
        figures.push((format!("{side}_p95"), p.map(|p| p.p95)));
        figures.push((format!("{side}_p99"), p.map(|p| p.p99)));
    }
    figures.push(("difference".into(), m.difference));
    figures.extend(bounds("difference", m.difference_interval));
    for (name, value) in [
        ("t", m.t),
        ("df", m.df),
        ("t_p_value", m.p_value),
        ("u", r.u),
        ("u_z", r.z),
        ("u_p_value", r.p_value),
        ("common_language_effect", r.common_language_effect),
    ] {
        figures.push((name.into(), value));
    }
    figures
}

/// Every figure of mon's `figures` against the reference `expected` of the same case; the
/// mismatches, described.
fn mismatches(case: &str, figures: &[Figure], expected: &Value) -> Vec<String> {
    assert_eq!(
        expected["case"], case,
        "the script answers the cases in order"
    );
    figures
        .iter()
        .filter_map(|(name, mine)| {
            let mine = *mine;
            let reference = expected
                .get(name)
                .unwrap_or_else(|| panic!("{case}: the script gives no {name}"))
                .as_f64();
            let agree = match (mine, reference) {
                (Some(mine), Some(reference)) => {
                    (mine - reference).abs() <= (RELATIVE * reference.abs()).max(ABSOLUTE)
                }
                (None, None) => true,
                (Some(_), None) | (None, Some(_)) => false,
            };
            (!agree).then(|| format!("{case}: {name} is {mine:?}, scipy says {reference:?}"))
        })
        .collect()
}

#[test]
fn the_statistics_agree_with_scipy() {
    let samples = sample_cases();
    let input = json!({
        "rates": RATE_CASES.iter().map(|(name, confidence, a, b)| json!({
            "case": name, "confidence": confidence, "a": [a.0, a.1], "b": [b.0, b.1],
        })).collect::<Vec<_>>(),
        "samples": samples.iter().map(|c| json!({
            "case": c.name, "confidence": c.confidence, "a": c.a, "b": c.b,
        })).collect::<Vec<_>>(),
    });
    let reference = mon_tests::scipy_reference(&input);

    let mut wrong = Vec::new();
    for (i, &(name, confidence, a, b)) in RATE_CASES.iter().enumerate() {
        let result = compare_rates(
            Counts::new("a", a.0, a.1),
            Counts::new("b", b.0, b.1),
            Confidence::new(confidence).expect("a level"),
        )
        .expect("valid counts");
        wrong.extend(mismatches(
            name,
            &rate_figures(&result),
            &reference["rates"][i],
        ));
    }
    let mut checked = 0;
    for (i, case) in samples.iter().enumerate() {
        let started = Instant::now();
        let result = compare_samples(
            Sample::new("a", &case.a),
            Sample::new("b", &case.b),
            Confidence::new(case.confidence).expect("a level"),
        )
        .expect("finite values");
        let elapsed = started.elapsed();
        let figures = sample_figures(&result);
        checked += figures.iter().filter(|(_, f)| f.is_some()).count();
        wrong.extend(mismatches(case.name, &figures, &reference["samples"][i]));
        // Stays quick at 100,000 a group (O(n log n)); also in a debug build.
        assert!(
            elapsed.as_secs() < 5,
            "{}: compared in {elapsed:?}",
            case.name
        );
    }
    assert!(
        wrong.is_empty(),
        "mon and scipy {} / numpy {} disagree beyond a relative {RELATIVE}:\n{}",
        reference["scipy"],
        reference["numpy"],
        wrong.join("\n")
    );
    assert!(
        checked >= 150,
        "only {checked} sample figures were compared"
    );
}
