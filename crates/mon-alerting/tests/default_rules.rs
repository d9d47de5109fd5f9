//! The built-in rules page only for a problem that lasts: timelines of snapshots (a
//! check result or host sample every 30 s, an evaluation every 15 s, as the built-in
//! configuration runs) → which rules fire. A single bad start-up sample fires nothing;
//! no traffic is `no_data` until a request was seen; a lasting problem does fire.

use chrono::{DateTime, Utc};
use mon_alerting::{AlertEngine, CheckSnapshot, Rule, RuleState, Snapshot, default_rules};
use mon_core::Status;
use std::collections::{BTreeMap, BTreeSet};

/// What the host publishes at second `t` of a timeline.
struct Sample {
    host: Status,
    cpu_percent: f64,
    /// `request_rate_per_min`, absent until a request was seen.
    request_rate: Option<f64>,
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("time")
}

fn snapshot(s: &Sample) -> Snapshot {
    let mut snapshot = Snapshot::default();
    snapshot.checks.insert(
        "host".into(),
        CheckSnapshot {
            status: s.host,
            latency_ms: Some(200.0),
            critical: false,
        },
    );
    let unhealthy = f64::from(u8::from(s.host == Status::Unhealthy));
    let degraded = f64::from(u8::from(s.host == Status::Degraded));
    for (name, value) in [
        ("total_checks", 1.0),
        ("healthy_checks", 1.0 - unhealthy - degraded),
        ("degraded_checks", degraded),
        ("unhealthy_checks", unhealthy),
        ("critical_unhealthy_checks", 0.0),
        ("cpu_percent", s.cpu_percent),
        ("memory_percent", 40.0),
        ("disk_percent", 50.0),
    ] {
        snapshot.set(name, value);
    }
    if let Some(rate) = s.request_rate {
        snapshot.set("request_rate_per_min", rate);
    }
    snapshot
}

/// Runs the default rules over `minutes`, a new sample every 30 s from `sample(t)`,
/// evaluating every 15 s; returns the rules that fired and the final rule states.
fn run(
    minutes: i64,
    sample: impl Fn(i64) -> Sample,
) -> (BTreeSet<String>, BTreeMap<String, RuleState>) {
    let rules: Vec<Rule> = default_rules()
        .iter()
        .map(|c| Rule::from_config(c, &[]).expect("valid"))
        .collect();
    let engine = AlertEngine::new(rules, Vec::new());
    let mut fired = BTreeSet::new();
    let mut current = snapshot(&sample(0));
    for t in (0..=minutes * 60).step_by(15) {
        if t % 30 == 0 {
            current = snapshot(&sample(t));
        }
        for change in engine.evaluate(&current, at(t)) {
            if change.alert.state == mon_core::AlertState::Firing {
                fired.insert(change.alert.rule.clone());
            }
        }
    }
    let states = engine
        .rules_status()
        .into_iter()
        .map(|r| (r.name, r.state))
        .collect();
    (fired, states)
}

fn healthy(cpu: f64) -> Sample {
    Sample {
        host: Status::Healthy,
        cpu_percent: cpu,
        request_rate: None,
    }
}

#[test]
fn built_in_rules_fire_only_for_lasting_problems() {
    type Timeline = fn(i64) -> Sample;
    let cases: [(&str, Timeline, &[&str]); 6] = [
        (
            "busy start-up: the first host sample is unhealthy at 100 % CPU",
            |t| match t {
                0 => Sample {
                    host: Status::Unhealthy,
                    cpu_percent: 100.0,
                    request_rate: None,
                },
                _ => healthy(5.0),
            },
            &[],
        ),
        (
            "a build keeps the host degraded for 90 s after start",
            |t| match t {
                0..=90 => Sample {
                    host: Status::Degraded,
                    cpu_percent: 90.0,
                    request_rate: None,
                },
                _ => healthy(5.0),
            },
            &[],
        ),
        ("no application attached, ever", |_| healthy(3.0), &[]),
        (
            "the host stays unhealthy",
            |_| Sample {
                host: Status::Unhealthy,
                cpu_percent: 99.0,
                request_rate: None,
            },
            &["Component Unhealthy", "High CPU", "System Degraded"],
        ),
        (
            "traffic was seen, then stopped for good",
            |t| Sample {
                request_rate: Some(if t < 60 { 30.0 } else { 0.0 }),
                ..healthy(3.0)
            },
            &["No Requests"],
        ),
        (
            "steady traffic",
            |_| Sample {
                request_rate: Some(30.0),
                ..healthy(3.0)
            },
            &[],
        ),
    ];
    for (what, timeline, want) in cases {
        let (fired, states) = run(20, timeline);
        let want: BTreeSet<String> = want.iter().map(|s| (*s).to_string()).collect();
        assert_eq!(fired, want, "{what}");
        if what == "no application attached, ever" {
            assert_eq!(states["No Requests"], RuleState::NoData, "{what}");
        }
    }
}

/// Every built-in rule has data once the built-in producers have published: none reads a
/// variable or a check field that nothing publishes.
#[test]
fn every_built_in_rule_has_data_from_the_built_in_producers() {
    let rules: Vec<Rule> = default_rules()
        .iter()
        .map(|c| Rule::from_config(c, &[]).expect("valid"))
        .collect();
    let engine = AlertEngine::new(rules, Vec::new());
    let mut snapshot = snapshot(&Sample {
        request_rate: Some(30.0),
        ..healthy(3.0)
    });
    // The request recorder's variables once requests were seen.
    snapshot.set("error_rate_percent", 1.0);
    snapshot.set("avg_api_latency_ms", 120.0);
    for name in [
        "error_rate_percent",
        "avg_api_latency_ms",
        "request_rate_per_min",
    ] {
        assert!(mon_core::catalog::lookup(name).is_some(), "{name}");
    }
    // Without security data the security rules have none, and never fire.
    let security = [
        "Brute Force Suspected",
        "Denied IP Burst",
        "Principal From Many IPs",
    ];
    // Anomaly baselines score after their warm-up (one sample a minute).
    let warm_up = i64::try_from(mon_alerting::anomaly::WARM_UP_SAMPLES).expect("small");
    for minute in 0..=warm_up {
        engine.evaluate(&snapshot, at(minute * 60));
    }
    for rule in engine.rules_status() {
        let want = if security.contains(&rule.name.as_str()) {
            RuleState::NoData
        } else {
            RuleState::Ok
        };
        assert_eq!(rule.state, want, "{}: {:?}", rule.name, rule.error);
    }
    // The security recorder's variables and offenders once security data was seen.
    for (name, value) in [
        ("max_failed_logins", 5.0),
        ("denied_ip_attempts", 0.0),
        ("max_denied_ip_attempts", 20.0),
        ("max_principal_ips", 5.0),
    ] {
        assert!(mon_core::catalog::lookup(name).is_some(), "{name}");
        snapshot.set(name, value);
    }
    snapshot.offenders = vec![mon_core::snapshot::Offender {
        kind: mon_core::snapshot::OffenderKind::Ip,
        name: "198.51.100.2".into(),
        failed_logins: 1.0,
        denied: 0.0,
        rate_limited: 0.0,
        distinct_ips: 0.0,
        new_ips: 0.0,
    }];
    engine.evaluate(&snapshot, at((warm_up + 1) * 60));
    for rule in engine.rules_status() {
        assert_eq!(rule.state, RuleState::Ok, "{}: {:?}", rule.name, rule.error);
    }
}
