//! Checks sharded across instances (`checks_shard: {index, count}`): every instance
//! reads the same `checks:` list and probes only the checks assigned to it.
//!
//! A check is assigned by rendezvous (highest random weight) hashing of a stable
//! key: each shard index gets a score, SHA-256 of the key and the index, and the
//! highest score wins. The assignment depends on nothing but the key and `count`,
//! so every instance agrees without talking to the others, and going from `n` to
//! `n + 1` instances moves only the checks the new instance wins: about
//! `1/(n + 1)` of them. The key is the check's dependency group — the smallest name
//! among the checks linked to it by `depends_on`, either way — so that a check and
//! the checks it depends on are always probed by the same instance.

use crate::CheckConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// `checks_shard:` — which share of `checks:` this instance probes.
///
/// ```yaml
/// checks_shard: { index: 0, count: 3 }   # the first of three instances
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardConfig {
    /// This instance's shard, from `0` to `count - 1`.
    pub index: u32,
    /// How many instances share the checks.
    pub count: u32,
}

/// The largest `count`: far more instances than any check list needs.
pub const MAX_SHARDS: u32 = 1024;

impl ShardConfig {
    /// `(key, message)` for each problem.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        if self.count == 0 || self.count > MAX_SHARDS {
            errors.push((
                "count".to_string(),
                format!(
                    "must be from 1 to {MAX_SHARDS} (the number of instances), not {}",
                    self.count
                ),
            ));
        } else if self.index >= self.count {
            errors.push((
                "index".to_string(),
                format!(
                    "must be from 0 to {} (count - 1), not {}",
                    self.count - 1,
                    self.index
                ),
            ));
        }
        errors
    }

    /// The shard that probes the checks of dependency group `key`, out of `count`.
    pub fn owner(key: &str, count: u32) -> u32 {
        let score = |index: u32| {
            let digest = Sha256::new()
                .chain_update(key.as_bytes())
                .chain_update([0])
                .chain_update(index.to_be_bytes())
                .finalize();
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&digest[..8]);
            u64::from_be_bytes(bytes)
        };
        // The highest score; on a tie (never seen in practice) the lowest index.
        (0..count.max(1))
            .max_by_key(|&index| (score(index), std::cmp::Reverse(index)))
            .unwrap_or(0)
    }

    /// The checks of `checks` this shard probes, in their order.
    pub fn select(&self, checks: &[CheckConfig]) -> Vec<CheckConfig> {
        let groups = groups(checks);
        checks
            .iter()
            .filter(|c| Self::owner(groups[c.name.as_str()], self.count) == self.index)
            .cloned()
            .collect()
    }
}

/// Each check's dependency group: the smallest name among the checks it is linked
/// to through `depends_on`, in either direction (itself included).
fn groups(checks: &[CheckConfig]) -> BTreeMap<&str, &str> {
    // Union-find over names; a root is the smallest name of its group.
    let mut parent: BTreeMap<&str, &str> = checks
        .iter()
        .map(|c| (c.name.as_str(), c.name.as_str()))
        .collect();
    fn root<'a>(parent: &BTreeMap<&'a str, &'a str>, mut name: &'a str) -> &'a str {
        while let Some(&up) = parent.get(name) {
            if up == name {
                break;
            }
            name = up;
        }
        name
    }
    for check in checks {
        for dependency in &check.depends_on {
            // An unknown name is the configuration's error, reported by its validation.
            if !parent.contains_key(dependency.as_str()) {
                continue;
            }
            let (a, b) = (
                root(&parent, &check.name),
                root(&parent, dependency.as_str()),
            );
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            parent.insert(high, low);
        }
    }
    checks
        .iter()
        .map(|c| (c.name.as_str(), root(&parent, &c.name)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn checks(names: &[(&str, &[&str])]) -> Vec<CheckConfig> {
        let list: Vec<serde_json::Value> = names
            .iter()
            .map(|(name, deps)| {
                serde_json::json!({"name": name, "type": "tcp", "host": "127.0.0.1", "port": 1, "depends_on": deps})
            })
            .collect();
        serde_json::from_value(serde_json::Value::Array(list)).unwrap()
    }

    fn names(count: usize) -> Vec<String> {
        (0..count).map(|i| format!("check-{i}")).collect()
    }

    #[test]
    fn every_check_is_probed_by_exactly_one_of_the_shards() {
        let names = names(300);
        let list: Vec<(&str, &[&str])> = names.iter().map(|n| (n.as_str(), &[][..])).collect();
        let list = checks(&list);
        let mut seen = BTreeSet::new();
        let mut sizes = Vec::new();
        for index in 0..3 {
            let mine = ShardConfig { index, count: 3 }.select(&list);
            sizes.push(mine.len());
            for check in mine {
                assert!(seen.insert(check.name.clone()), "{} twice", check.name);
            }
        }
        assert_eq!(seen.len(), 300);
        // Balanced: each shard within 30 % of its even share (100).
        assert!(sizes.iter().all(|&n| (70..=130).contains(&n)), "{sizes:?}");
    }

    #[test]
    fn adding_an_instance_moves_only_what_the_new_one_takes() {
        let names = names(2000);
        for n in [1u32, 2, 3, 5, 8] {
            let moved: Vec<&String> = names
                .iter()
                .filter(|name| ShardConfig::owner(name, n) != ShardConfig::owner(name, n + 1))
                .collect();
            // Every moved check went to the new instance...
            assert!(
                moved
                    .iter()
                    .all(|name| ShardConfig::owner(name, n + 1) == n),
                "{n} → {}",
                n + 1
            );
            // ...and it took about 1/(n + 1) of them.
            let share = moved.len() as f64 / names.len() as f64;
            let even = 1.0 / f64::from(n + 1);
            assert!((share - even).abs() < 0.05, "{n}: {share} vs {even}");
        }
    }

    #[test]
    fn the_assignment_is_stable_across_versions() {
        // Computed once outside mon (Python's hashlib: the index of the largest
        // big-endian u64 prefix of sha256(name + b"\0" + index as 4 big-endian bytes)).
        // A change here would move the checks of every sharded installation.
        let names = [
            "api",
            "livekit",
            "redis",
            "stt-deepgram",
            "tts",
            "sip-trunk",
            "llm-openai",
        ];
        let owners: Vec<u32> = names
            .iter()
            .map(|name| ShardConfig::owner(name, 4))
            .collect();
        assert_eq!(owners, [3, 1, 2, 1, 3, 2, 1]);
        assert_eq!(ShardConfig::owner("anything", 1), 0);
    }

    #[test]
    fn a_check_goes_where_the_checks_it_depends_on_go() {
        let list = checks(&[
            ("db", &[]),
            ("api", &["db"]),
            ("worker", &["api"]),
            ("cache", &[]),
            ("edge", &["cache", "worker"]),
            ("alone", &[]),
        ]);
        let groups = groups(&list);
        for name in ["db", "api", "worker", "cache", "edge"] {
            assert_eq!(groups[name], "api", "{name}");
        }
        assert_eq!(groups["alone"], "alone");
        for count in 1..6 {
            let owners: BTreeSet<u32> = (0..count)
                .filter(|&index| {
                    ShardConfig { index, count }
                        .select(&list)
                        .iter()
                        .any(|c| c.name == "edge")
                })
                .collect();
            assert_eq!(owners.len(), 1);
            let shard = ShardConfig {
                index: *owners.first().unwrap(),
                count,
            };
            let mine: BTreeSet<String> = shard.select(&list).into_iter().map(|c| c.name).collect();
            for name in ["db", "api", "worker", "cache", "edge"] {
                assert!(mine.contains(name), "{count}: {name} not with edge");
            }
        }
    }

    #[test]
    fn bad_settings_say_what_would_be_right() {
        assert_eq!(
            ShardConfig { index: 3, count: 3 }.validate(),
            vec![(
                "index".to_string(),
                "must be from 0 to 2 (count - 1), not 3".to_string()
            )]
        );
        assert_eq!(ShardConfig { index: 0, count: 0 }.validate()[0].0, "count");
        assert!(ShardConfig { index: 2, count: 3 }.validate().is_empty());
    }
}
