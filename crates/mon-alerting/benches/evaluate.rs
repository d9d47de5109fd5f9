//! Rule evaluation cost: 1,000 CEL rules (thresholds over every catalog variable,
//! some compound, some `each: checks` over 10 checks) evaluated against one
//! snapshot, state updates included. Budget: < 5 ms.
//! Run: `cargo bench -p mon-alerting --bench evaluate`.

use criterion::{Criterion, criterion_group, criterion_main};
use mon_alerting::{AlertEngine, CheckSnapshot, Each, Rule, RuleConfig, Snapshot};
use mon_core::Status;
use std::hint::black_box;

fn snapshot() -> Snapshot {
    let mut s = Snapshot::default();
    for (i, v) in mon_core::catalog::CATALOG.iter().enumerate() {
        s.set(v.name, i as f64 * 3.5);
    }
    for i in 0..10 {
        s.checks.insert(
            format!("check-{i}"),
            CheckSnapshot {
                status: if i % 3 == 0 {
                    Status::Unhealthy
                } else {
                    Status::Healthy
                },
                latency_ms: Some(f64::from(i) * 100.0),
                critical: i % 2 == 0,
            },
        );
    }
    s
}

fn rules(n: usize) -> Vec<Rule> {
    let names: Vec<&str> = mon_core::catalog::CATALOG.iter().map(|v| v.name).collect();
    (0..n)
        .map(|i| {
            let var = names[i % names.len()];
            let config = match i % 10 {
                0 => RuleConfig {
                    each: Some(Each::Checks),
                    ..RuleConfig::new(format!("r{i}"), "check.status == 'unhealthy'")
                },
                1 => RuleConfig::new(format!("r{i}"), format!("{var} > 10 && cpu_percent < 90")),
                _ => RuleConfig::new(format!("r{i}"), format!("{var} > {}", i % 50)),
            };
            Rule::from_config(&config, &[]).expect("valid rule")
        })
        .collect()
}

fn evaluate(c: &mut Criterion) {
    let engine = AlertEngine::new(rules(1000), vec![]);
    let snapshot = snapshot();
    let mut now = chrono::Utc::now();
    c.bench_function("evaluate/1000_rules", |b| {
        b.iter(|| {
            now += chrono::TimeDelta::seconds(15);
            black_box(engine.evaluate(black_box(&snapshot), now))
        })
    });
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
