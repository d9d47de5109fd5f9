//! Architecture invariants (DESIGN §2), enforced by reading the manifests:
//! mon-core depends on no mon crate and no runtime (tokio's `sync` feature only); middle crates only on the edges
//! the design allows; nothing depends on the binaries; no OpenSSL anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir` (recursively), `target/` left out.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("target") {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Package name → names in its `[dependencies]` table (normal dependencies only).
fn manifests() -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for dir in ["crates", "apps", "examples"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("dir") {
            let manifest = entry.expect("entry").path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let mut name = None;
            let mut deps = Vec::new();
            let mut section = String::new();
            for line in text.lines().map(str::trim) {
                if line.starts_with('[') {
                    section = line.to_string();
                } else if section == "[package]" && line.starts_with("name") {
                    name = line.split('"').nth(1).map(String::from);
                } else if section == "[dependencies]" && !line.is_empty() && !line.starts_with('#')
                {
                    let dep = line.split(['=', '.', ' ']).next().unwrap_or("").to_string();
                    deps.push(dep);
                }
            }
            out.insert(name.expect("package name"), deps);
        }
    }
    out
}

#[test]
fn dependency_rule_holds() {
    let manifests = manifests();
    let middle = [
        "mon-store",
        "mon-health",
        "mon-metrics",
        "mon-alerting",
        "mon-logging",
    ];
    // The only edges between mon crates the design allows, besides "anything → mon-core".
    let allowed: &[(&str, &str)] = &[
        ("mon-health", "mon-store"),
        ("mon-metrics", "mon-store"),
        ("mon-alerting", "mon-store"),
        ("mon-logging", "mon-store"),
    ];
    let mut violations = Vec::new();
    for (package, deps) in &manifests {
        for dep in deps {
            let is_mon = dep.starts_with("mon-");
            let bad = match package.as_str() {
                "mon-core" => {
                    is_mon || ["axum", "rusqlite", "reqwest", "hyper"].contains(&dep.as_str())
                }
                p if middle.contains(&p) => {
                    is_mon && dep != "mon-core" && !allowed.contains(&(p, dep.as_str()))
                }
                // Extension crates depend on mon-core alone.
                "custom-notifier" | "custom-check" => is_mon && dep != "mon-core",
                // The API contract is shared with the CLI: types and schemas only.
                "mon-api" => {
                    (is_mon && dep != "mon-core")
                        || ["axum", "rusqlite", "tokio", "reqwest", "hyper"].contains(&dep.as_str())
                }
                _ => false,
            };
            // Nothing depends on the binaries, but a server with extensions on mon-server.
            let binary = dep == "mon-cli" || (dep == "mon-server" && package != "custom-server");
            if bad || binary {
                violations.push(format!("{package} -> {dep}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency rule broken: {violations:?}"
    );
    assert!(
        manifests.contains_key("mon-core") && manifests.len() >= 9,
        "manifests not found: {manifests:?}"
    );
}

/// mon-core may use tokio's `sync` primitives (the snapshot hub's watch channel), never
/// its runtime: the one `tokio` line of its `[dependencies]` names the `sync` feature only.
#[test]
fn mon_core_uses_no_tokio_runtime() {
    let manifest = std::fs::read_to_string(root().join("crates/mon-core/Cargo.toml"))
        .expect("mon-core manifest");
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] table");
    let tokio: Vec<&str> = dependencies
        .lines()
        .filter(|l| l.trim_start().starts_with("tokio"))
        .collect();
    assert_eq!(
        tokio,
        ["tokio = { workspace = true, features = [\"sync\"] }"],
        "mon-core's tokio dependency must have the `sync` feature only"
    );
}

#[test]
fn no_openssl_in_the_dependency_tree() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root())
        .args([
            "tree",
            "--workspace",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("rustls"), "expected rustls in the tree");
    let openssl: Vec<&str> = tree
        .lines()
        .filter(|l| l.starts_with("openssl") || l.starts_with("native-tls"))
        .collect();
    assert!(
        openssl.is_empty(),
        "OpenSSL in the dependency tree: {openssl:?}"
    );
}

/// Every label set mon encodes for Prometheus holds `LabelValue`s (escaped) or numbers,
/// never a raw `String` or `&str`: a struct deriving `EncodeLabelSet` has no other field type, and a
/// label list written at scrape time (`encode_family(&[(...)])`) wraps its values.
#[test]
fn every_label_value_goes_through_the_one_escaping() {
    let mut files = Vec::new();
    for dir in ["crates", "apps"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut raw = Vec::new();
    let mut label_sets = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source");
        let mut in_label_set = false;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.starts_with("#[derive(") && line.contains("EncodeLabelSet") {
                in_label_set = true;
                label_sets += 1;
            } else if in_label_set && line.starts_with('}') {
                in_label_set = false;
            } else if in_label_set
                && line.contains(':')
                && !line.starts_with("//")
                && !line.contains("LabelValue")
                // Numbers and booleans never need escaping.
                && !["u8,", "u16,", "u32,", "u64,", "i64,", "usize,", "bool,"]
                    .iter()
                    .any(|t| line.ends_with(t))
            {
                raw.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
            if line.contains("encode_family(&[(") && !line.contains("LabelValue(") {
                raw.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(label_sets >= 5, "label sets not found ({label_sets})");
    assert!(
        raw.is_empty(),
        "label values that bypass mon_core::LabelValue (escaping):\n{}",
        raw.join("\n")
    );
}

/// No `match` over `mon_core::Event` has a wildcard arm: adding an event kind must be a
/// compile error wherever it is not handled. A `_ =>` arm whose `match` names a variant
/// of `Event` (read from `crates/mon-core/src/event.rs`) is refused.
#[test]
fn no_wildcard_arm_over_events() {
    let event_rs =
        std::fs::read_to_string(root().join("crates/mon-core/src/event.rs")).expect("event.rs");
    let body = event_rs
        .split("pub enum Event {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .expect("the Event enum");
    let variants: Vec<String> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && l.ends_with("),"))
        .filter_map(|l| l.split('(').next().map(|v| format!("Event::{v}(")))
        .collect();
    assert!(
        variants.len() >= 10,
        "Event variants not found: {variants:?}"
    );
    let mut files = Vec::new();
    for dir in ["crates", "apps", "examples", "tests", "xtask"] {
        rust_files(&root().join(dir), &mut files);
    }
    let (mut matches_over_events, mut wildcards) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source");
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let names_event = |l: &str| variants.iter().any(|v| l.contains(v.as_str()));
        for (n, line) in lines.iter().enumerate() {
            if line.starts_with("match ") || line.contains(" match ") {
                let arms = lines[n + 1..]
                    .iter()
                    .take_while(|l| !l.starts_with("match "));
                if arms.take(40).any(|l| names_event(l)) {
                    matches_over_events += 1;
                }
            }
            if !line.starts_with("_ =>") {
                continue;
            }
            let start = lines[..n]
                .iter()
                .rposition(|l| l.starts_with("match ") || l.contains(" match "))
                .unwrap_or(0);
            if lines[start..n].iter().any(|l| names_event(l)) {
                wildcards.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    assert!(
        matches_over_events >= 5,
        "matches over Event not found ({matches_over_events})"
    );
    assert!(
        wildcards.is_empty(),
        "wildcard arms in a match over mon_core::Event (name every kind instead):\n{}",
        wildcards.join("\n")
    );
}
