//! End-to-end: three real `mon-server`s over one configuration, told apart only by
//! `SHARD` in their environment (`checks_shard: {index: ${SHARD}, count: 3}`). Every
//! one of 30 HTTP checks is probed, each by exactly one instance: the loopback
//! target sees each check's path requested with one instance's header only, and the
//! three `GET /api/v1/checks` lists split the checks between them without overlap.

use mon_tests::{Capture, TestServer, eventually};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const CHECKS: usize = 30;

fn config(target: &Capture) -> String {
    let mut config = String::from(
        "storage:
  path: '{dir}/mon.db'
checks_shard: { index: ${SHARD}, count: 3 }
checks:
",
    );
    for i in 0..CHECKS {
        config.push_str(&format!(
            "  - {{ name: check-{i}, type: http, url: '{}', interval: 1s, headers: {{ x-shard: '${{SHARD}}' }} }}\n",
            target.url(&format!("/probe/check-{i}"))
        ));
    }
    config
}

#[test]
fn every_check_is_probed_by_exactly_one_of_three_instances() {
    let target = Capture::start();
    let config = config(&target);
    let servers: Vec<TestServer> = std::thread::scope(|scope| {
        let starting: Vec<_> = (0..3)
            .map(|shard| {
                let config = &config;
                scope.spawn(move || {
                    TestServer::start_with_env(config, &[("SHARD", &shard.to_string())])
                })
            })
            .collect();
        starting.into_iter().map(|s| s.join().unwrap()).collect()
    });

    // Which instances probed each path.
    let probers = || {
        let mut probers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for request in target.requests() {
            if let Some(check) = request.path.strip_prefix("/probe/") {
                probers
                    .entry(check.to_string())
                    .or_default()
                    .insert(request.header("x-shard").unwrap_or("none").to_string());
            }
        }
        probers
    };
    eventually(
        "every check to have been probed",
        Duration::from_secs(30),
        || probers().len() == CHECKS,
    );
    // A few more rounds: an instance probing a check it should not would show by now.
    let rounds = target.requests().len() + 3 * CHECKS;
    eventually(
        "three more rounds of probes",
        Duration::from_secs(30),
        || target.requests().len() >= rounds,
    );
    for (check, shards) in probers() {
        assert_eq!(shards.len(), 1, "{check} probed by shards {shards:?}");
    }

    let client = reqwest::blocking::Client::new();
    let mut listed: BTreeMap<String, usize> = BTreeMap::new();
    for (shard, server) in servers.iter().enumerate() {
        let answer: mon_api::answers::ChecksAnswer = client
            .get(format!("{}/api/v1/checks", server.url()))
            .send()
            .and_then(|r| r.json())
            .expect("the checks of an instance");
        let names: Vec<String> = answer.checks.into_iter().map(|c| c.name).collect();
        let own: Vec<&String> = names.iter().filter(|n| n.starts_with("check-")).collect();
        assert!(!own.is_empty(), "shard {shard} probes none of the checks");
        for name in own {
            if let Some(other) = listed.insert(name.clone(), shard) {
                panic!("{name} is listed by shards {other} and {shard}");
            }
            // The instance that lists a check is the one whose header reached the target.
            assert_eq!(
                probers()[name.as_str()],
                BTreeSet::from([shard.to_string()]),
                "{name}"
            );
        }
    }
    assert_eq!(
        listed.len(),
        CHECKS,
        "every check is listed by one instance"
    );
}
