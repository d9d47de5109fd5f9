//! The real binaries against hostile input: configuration nested absurdly deep or with
//! durations no clock can hold (exit 2 with line:column, no crash), and a CLI whose
//! reader has gone away (a closed pipe: quiet exit, no panic).

use mon_tests::bin_dir;
use std::process::{Command, Output, Stdio};

/// Runs `binary args...` with `config` written to a file whose path replaces `{file}`.
fn run_with_config(binary: &str, args: &[&str], config: &str) -> Output {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("mon.yaml");
    std::fs::write(&file, config).expect("write config");
    let file = file.display().to_string();
    let args: Vec<String> = args.iter().map(|a| a.replace("{file}", &file)).collect();
    Command::new(bin_dir().join(binary))
        .args(&args)
        .env("MON__STORAGE__PATH", dir.path().join("mon.db"))
        .env("MON__SERVER__LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

/// Both binaries that read a configuration: the CLI's check and the server's start.
const READERS: &[(&str, &[&str])] = &[
    ("mon", &["config", "check", "{file}"]),
    ("mon-server", &["-c", "{file}"]),
];

fn assert_config_error(config: &str, what: &str, expected: &[&str]) {
    for (binary, args) in READERS {
        let out = run_with_config(binary, args, config);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{binary} {what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{binary} {what}: {stderr}");
        for text in expected {
            assert!(
                stderr.contains(text),
                "{binary} {what}: {text:?} missing in {stderr}"
            );
        }
    }
}

#[test]
fn deeply_nested_yaml_is_a_config_error_in_both_binaries() {
    let levels = 30_000;
    let indented: String = (0..2_000)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .collect();
    let cases = [
        ("flow lists", "[".repeat(levels) + &"]".repeat(levels)),
        (
            "flow maps",
            "{a: ".repeat(levels) + "1" + &"}".repeat(levels),
        ),
        ("block lists", "- ".repeat(levels) + "x\n"),
        (
            "a value",
            "server:\n  listen: ".to_string() + &"[".repeat(levels) + "\n",
        ),
        ("indentation", indented),
    ];
    for (what, config) in cases {
        assert_config_error(
            &config,
            what,
            &["mon.yaml:", "nested deeper than 64 levels"],
        );
    }
}

#[test]
fn durations_beyond_100_years_are_config_errors_in_both_binaries() {
    for (config, position) in [
        ("alerting:\n  history_retention: 300000y\n", "mon.yaml:2:"),
        (
            "logging:\n  search:\n    retention: 100000000000d\n",
            "mon.yaml:3:",
        ),
        (
            "checks:\n  - name: host\n    type: system\n    interval: 18446744073709551615s\n",
            "mon.yaml:4:",
        ),
    ] {
        assert_config_error(config, config, &[position, "at most 100 years"]);
    }
}

#[test]
fn the_cli_exits_quietly_when_its_reader_is_gone() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("mon.yaml");
    std::fs::write(&config, "server:\n  listen: 127.0.0.1:9\n").expect("write");
    let config = config.display().to_string();
    for args in [
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["--help"],
        vec!["config", "show"],
        vec!["config", "check", &config],
        vec!["config", "show", "--output", "json"],
    ] {
        // The reading end is closed before the CLI starts: every write meets a closed pipe.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new(bin_dir().join("mon"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("mon runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "mon {args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "mon {args:?}: {stderr}");
    }
    // Errors to a closed standard error: the exit code still tells (2), no panic (101).
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "server:\n  listne: x\n").expect("write");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let status = Command::new(bin_dir().join("mon"))
        .args(["config", "check"])
        .arg(&bad)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(writer)
        .status()
        .expect("mon runs");
    assert_eq!(status.code(), Some(2), "{status}");
}

#[test]
fn the_cli_refuses_hostile_durations_and_times_before_asking_the_server() {
    for (args, flag) in [
        (
            &["metrics", "query", "cpu_percent", "--since", "300000y"][..],
            "--since",
        ),
        (
            &["metrics", "query", "cpu_percent", "--step", "100000000000d"],
            "--step",
        ),
        (
            &["errors", "list", "--since", "18446744073709551615s"],
            "--since",
        ),
        (
            &["logs", "search", "x", "--since", "9999-99-99T00:00:00Z"],
            "--since",
        ),
        (
            &["silence", "add", "--match", "check=api", "--for", "101y"],
            "--for",
        ),
        (
            &["alerts", "quality", "--since", "100000000000d"],
            "--since",
        ),
    ] {
        let out = Command::new(bin_dir().join("mon"))
            .args(args)
            // Nothing listens there: the answer must come from the CLI itself.
            .args(["--server", "http://127.0.0.1:9"])
            .stdin(Stdio::null())
            .output()
            .expect("mon runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
