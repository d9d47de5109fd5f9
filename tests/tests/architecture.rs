//! Architecture invariants (DESIGN §2), enforced from `cargo metadata`: mon-core
//! depends on no mon crate and no runtime (of tokio, the `sync` feature only); middle
//! crates only on the edges the design allows (and on the kit crate mon-http, which
//! depends on mon-core, mon-api and mon-store only); nothing depends on the binaries; no
//! OpenSSL anywhere; no wildcard arm over ingest events.

use serde_json::Value;
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

/// The middle crates: each depends on mon-core and only along [`ALLOWED`] on another.
const MIDDLE: &[&str] = &[
    "mon-store",
    "mon-health",
    "mon-metrics",
    "mon-alerting",
    "mon-logging",
    "mon-security",
];

/// The only edges between middle crates the design allows, besides "anything →
/// mon-core": `(from, to)`.
const ALLOWED: &[(&str, &str)] = &[
    ("mon-health", "mon-store"),
    ("mon-metrics", "mon-store"),
    ("mon-alerting", "mon-store"),
    ("mon-logging", "mon-store"),
];

/// Kit crates: hardened HTTP shared by the server and the middle crates' routers. A kit
/// crate depends on no mon crate but [`KIT_DEPENDENCIES`]; any middle crate may depend on it.
const KITS: &[&str] = &["mon-http"];
/// The mon crates a kit crate may depend on: the model, the API contract, the store (its
/// errors answer by kind), the security layer (its auth names the principal).
const KIT_DEPENDENCIES: &[&str] = &["mon-core", "mon-api", "mon-store", "mon-security"];
/// What any middle crate may depend on besides mon-core: the kits and the API contract
/// their routers answer with.
const SHARED: &[&str] = &["mon-http", "mon-api"];

/// Crates that depend on no runtime, HTTP or database crate, and on no mon crate but
/// mon-core: the model, and the API contract shared with the CLI.
const NO_RUNTIME: &[&str] = &["mon-core", "mon-api"];
/// The one exception to [`NO_RUNTIME`]: mon-core's snapshot hub uses tokio's `sync`
/// primitives (a `watch` channel), which need no runtime. Checked feature by feature.
const SYNC_ONLY: (&str, &str) = ("mon-core", "tokio");
/// What [`NO_RUNTIME`] crates must not depend on.
const RUNTIMES: &[&str] = &["axum", "rusqlite", "tokio", "reqwest", "hyper"];
/// Extension crates: they depend on no mon crate but mon-core.
const EXTENSIONS: &[&str] = &["custom-notifier", "custom-check"];
/// The binaries' packages: nothing depends on them...
const BINARIES: &[&str] = &["mon-server", "mon-cli"];
/// ...but a server with extensions, which runs the bundled server with its kinds.
const EXTENDED_SERVERS: &[&str] = &["custom-server"];

/// `cargo metadata` of the workspace's own packages.
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Workspace package name → its normal dependencies (not dev, not build), as
/// `cargo metadata` describes them (`name`, `features`, `uses_default_features`...).
fn dependency_entries() -> BTreeMap<String, Vec<Value>> {
    let metadata = metadata();
    let packages = metadata["packages"].as_array().expect("packages");
    packages
        .iter()
        .map(|package| {
            let name = package["name"].as_str().expect("package name").to_string();
            let deps = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .cloned()
                .collect();
            (name, deps)
        })
        .collect()
}

/// Workspace package name → the names of its normal dependencies.
fn dependencies() -> BTreeMap<String, Vec<String>> {
    dependency_entries()
        .into_iter()
        .map(|(name, deps)| {
            let names = deps
                .iter()
                .map(|d| d["name"].as_str().expect("dependency name").to_string())
                .collect();
            (name, names)
        })
        .collect()
}

/// Why the edge `package → dep` breaks the dependency rule, if it does.
fn violation(package: &str, dep: &str) -> Option<&'static str> {
    let is_mon = dep.starts_with("mon-");
    if BINARIES.contains(&dep) && !(EXTENDED_SERVERS.contains(&package) && dep == "mon-server") {
        Some("nothing depends on the binaries")
    } else if NO_RUNTIME.contains(&package)
        && ((is_mon && dep != "mon-core")
            || (RUNTIMES.contains(&dep) && (package, dep) != SYNC_ONLY))
    {
        Some(
            "mon-core and mon-api depend on no other mon crate and no runtime, HTTP or database crate",
        )
    } else if KITS.contains(&package) && is_mon && !KIT_DEPENDENCIES.contains(&dep) {
        Some("kit crates depend on mon-core, mon-api and mon-store only")
    } else if MIDDLE.contains(&package)
        && is_mon
        && dep != "mon-core"
        && !SHARED.contains(&dep)
        && !ALLOWED.contains(&(package, dep))
    {
        Some("middle crates depend on each other only along the allowed edges")
    } else if EXTENSIONS.contains(&package) && is_mon && dep != "mon-core" {
        Some("extension crates depend on mon-core alone")
    } else {
        None
    }
}

#[test]
fn dependency_rule_holds() {
    let dependencies = dependencies();
    let mut violations = Vec::new();
    for (package, deps) in &dependencies {
        for dep in deps {
            if let Some(why) = violation(package, dep) {
                violations.push(format!("{package} -> {dep} ({why})"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency rule broken: {violations:?}"
    );
    let found = |names: &[&str]| names.iter().all(|n| dependencies.contains_key(*n));
    assert!(
        found(MIDDLE)
            && found(NO_RUNTIME)
            && found(KITS)
            && found(EXTENSIONS)
            && found(BINARIES)
            && found(EXTENDED_SERVERS),
        "packages not found in cargo metadata: {:?}",
        dependencies.keys()
    );
}

#[test]
fn the_rule_refuses_what_it_should() {
    assert!(violation("mon-core", "mon-store").is_some());
    assert!(violation("mon-core", "reqwest").is_some());
    assert!(violation("mon-api", "tokio").is_some());
    assert!(violation("mon-api", "mon-store").is_some());
    assert!(violation("mon-alerting", "mon-metrics").is_some());
    assert!(violation("custom-check", "mon-health").is_some());
    assert!(violation("custom-server", "mon-server").is_none());
    assert!(violation("custom-notifier", "mon-server").is_some());
    assert!(violation("mon-health", "mon-alerting").is_some());
    assert!(violation("custom-notifier", "mon-alerting").is_some());
    assert!(violation("mon-alerting", "mon-server").is_some());
    assert!(violation("mon-alerting", "mon-store").is_none());
    assert!(violation("mon-config", "mon-alerting").is_none());
    assert!(violation("mon-http", "mon-store").is_none());
    assert!(violation("mon-http", "mon-api").is_none());
    assert!(violation("mon-alerting", "mon-http").is_none());
    assert!(violation("mon-logging", "mon-http").is_none());
    assert!(violation("mon-http", "mon-alerting").is_some());
    assert!(violation("mon-http", "mon-metrics").is_some());
    assert!(violation("mon-http", "mon-logging").is_some());
    assert!(violation("mon-http", "mon-config").is_some());
    assert!(violation("mon-api", "mon-http").is_some());
}

/// `cargo tree` of the workspace with `args`, one package a line (`name vX.Y.Z`, no
/// prefix); fails the test when cargo does.
fn cargo_tree(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root())
        .arg("tree")
        .args(args)
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The rules read the snapshot from mon-core, so mon-alerting needs no path to
/// mon-metrics, not even through another crate (`cargo tree`, normal edges).
#[test]
fn mon_alerting_reaches_no_producer_crate() {
    let tree = cargo_tree(&["-p", "mon-alerting", "--edges", "normal"]);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"mon-http"),
        "expected mon-http in mon-alerting's tree: {crates:?}"
    );
    for producer in ["mon-metrics", "mon-health", "mon-logging", "mon-config"] {
        assert!(
            !crates.contains(&producer),
            "mon-alerting reaches {producer}: {crates:?}"
        );
    }
}

/// mon-core may use tokio's `sync` primitives (the snapshot hub's watch channel), never
/// its runtime: its tokio dependency asks for the `sync` feature only, without defaults.
#[test]
fn mon_core_uses_no_tokio_runtime() {
    let entries = dependency_entries();
    let (package, dep) = SYNC_ONLY;
    let tokio: Vec<&Value> = entries[package]
        .iter()
        .filter(|d| d["name"] == dep)
        .collect();
    assert_eq!(tokio.len(), 1, "{package} names {dep} once: {tokio:?}");
    assert_eq!(
        (&tokio[0]["features"], &tokio[0]["uses_default_features"]),
        (&serde_json::json!(["sync"]), &serde_json::json!(false)),
        "{package}'s {dep} dependency must have the `sync` feature only"
    );
}

#[test]
fn no_openssl_in_the_dependency_tree() {
    let tree = cargo_tree(&["--workspace", "--edges", "normal,build"]);
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
