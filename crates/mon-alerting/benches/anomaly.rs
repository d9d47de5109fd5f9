//! Anomaly detection quality: precision and recall of the built-in "Request Rate
//! Anomaly" condition (`anomaly("request_rate_per_min") > 4` for 5 minutes) on
//! synthetic series with known injected anomalies (tests/support/anomaly_scenarios.rs),
//! per scenario and over ten seeds, in simulated time. Also the cost of one observation.
//! Run: `cargo xtask bench anomaly` (or `cargo bench -p mon-alerting --bench anomaly`).

// A benchmark without criterion reports its figures on stdout.
#![allow(clippy::print_stdout)]

#[path = "../tests/support/anomaly_scenarios.rs"]
#[allow(dead_code)]
mod scenarios;

use mon_alerting::anomaly::{Baseline, Floor};
use std::time::Instant;

const SEEDS: u64 = 10;

fn main() {
    println!(
        "{:<20} {:>8} {:>8} {:>10} {:>10} {:>10}",
        "scenario", "alerts", "true", "anomalies", "precision", "recall"
    );
    for name in ["spikes", "level shifts", "daily seasonality"] {
        let (mut alerts, mut true_alerts, mut anomalies, mut detected) = (0, 0, 0, 0);
        let mut worst = (1.0f64, 1.0f64);
        for seed in 1..=SEEDS {
            let Some(scenario) = scenarios::all(seed).into_iter().find(|s| s.name == name) else {
                continue;
            };
            let q = scenarios::evaluate(&scenario);
            alerts += q.alerts;
            true_alerts += q.true_alerts;
            anomalies += q.anomalies;
            detected += q.detected;
            worst = (worst.0.min(q.precision()), worst.1.min(q.recall()));
        }
        let total = scenarios::Quality {
            alerts,
            true_alerts,
            anomalies,
            detected,
        };
        println!(
            "{name:<20} {alerts:>8} {true_alerts:>8} {anomalies:>10} {:>10.3} {:>10.3}   (worst seed: {:.3} / {:.3})",
            total.precision(),
            total.recall(),
            worst.0,
            worst.1
        );
    }
    let scenario = scenarios::daily_seasonality(1);
    let mut baseline = Baseline::new(Floor::for_variable("request_rate_per_min"));
    let started = Instant::now();
    for (t, value) in (0i64..).zip(&scenario.values) {
        std::hint::black_box(baseline.observe(scenarios::minute(t), *value));
    }
    let per = started.elapsed() / u32::try_from(scenario.values.len()).unwrap_or(u32::MAX);
    println!(
        "one observation (score + learn): {per:?} ({} samples)",
        scenario.values.len()
    );
}
