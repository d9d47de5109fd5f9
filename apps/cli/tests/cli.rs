//! The real `mon` binary against a real `mon-server` (and locally): golden table output,
//! parsed JSON, every exit code, an unreachable server and a wrong token.

use mon_tests::{Capture, TestServer, eventually, free_port};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mon"))
        .args(args)
        .env_remove("MON_SERVER")
        .env_remove("MON_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .expect("mon runs")
}

/// `mon ARGS` against the server at `url` with the admin token.
fn as_admin(url: &str, args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--server", url, "--token", "admin-token-1234"]);
    mon(&all)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// Compares with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites the file.
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

/// Latencies vary from run to run: numbers become `N` and runs of spaces one space
/// (column alignment itself is unit-tested in `output.rs`).
fn normalise(table: &str) -> String {
    table
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(|w| {
                    if w.chars().all(|c| c.is_ascii_digit() || c == '.') {
                        "N"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A port where nothing listens.
const TOKENS: &str =
    "  auth:\n    tokens:\n      - { name: ops, token: admin-token-1234, role: admin }\n";

fn server_config(down_port: u16) -> String {
    format!(
        "server:\n  public_paths: [/health/live]\n{TOKENS}storage:\n  path: {{dir}}/mon.db\n\
         checks:\n  - name: down\n    type: http\n    url: http://127.0.0.1:{down_port}/\n    interval: 1s\n    timeout: 1s\n    critical: true\n\
         metrics:\n  host: false\n"
    )
}

#[test]
fn status_and_checks_against_a_real_server() {
    let server = TestServer::start(&server_config(free_port()));
    let url = server.url();

    // Without the token: exit 3 and what to do.
    let out = mon(&["status", "--server", &url]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("401 from")
            && text(&out.stderr).contains("set MON_TOKEN or --token"),
        "{}",
        text(&out.stderr)
    );
    // A wrong token: the same.
    let out = mon(&["status", "--server", &url, "--token", "wrong"]);
    assert_eq!(out.status.code(), Some(3));

    // With the token: the critical check is down, so the system is unhealthy: exit 1.
    let out = mon(&[
        "status",
        "--server",
        &url,
        "--token",
        "admin-token-1234",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["status"], "unhealthy");
    assert_eq!(json["server"], url.as_str());
    let names: Vec<&str> = json["checks_detail"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["down", "mon"]);

    let out = mon(&[
        "checks",
        "list",
        "--server",
        &url,
        "--token",
        "admin-token-1234",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let table = normalise(&text(&out.stdout));
    let table: String = table
        .lines()
        .map(|l| {
            if l.starts_with("down") {
                l.split("connection")
                    .next()
                    .unwrap_or(l)
                    .trim_end()
                    .to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    golden("checks_list.txt", &(table + "\n"));

    // Results are written in small batches: wait until some are stored.
    let json = eventually("stored results of `down`", WAIT, || {
        let out = mon(&[
            "checks",
            "show",
            "down",
            "--limit",
            "3",
            "--server",
            &url,
            "--token",
            "admin-token-1234",
            "--output",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "an unhealthy check exits 1: {}",
            text(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        json["results"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
            .then_some(json)
    });
    assert_eq!(json["check"]["name"], "down");
    assert!(
        json["results"].as_array().is_some_and(|r| r.len() <= 3),
        "{json}"
    );

    let out = mon(&[
        "checks",
        "show",
        "nope",
        "--server",
        &url,
        "--token",
        "admin-token-1234",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown check is a usage error"
    );
    assert!(
        text(&out.stderr).contains("no check named \"nope\""),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_unreachable_server_exits_3() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = mon(&["status", "--server", &url]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("mon: cannot reach {url}:")) && err.contains("MON_SERVER"),
        "{err}"
    );
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write");
    path.display().to_string()
}

#[test]
fn config_check_lists_every_error_with_line_and_column() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write(
        dir.path(),
        "mon.yaml",
        "checks:\n  - name: a\n    type: system\n  - name: a\n    type: system\nserver:\n  auth:\n    tokens:\n      - { name: x, token: \"${NOPE:-}\", role: read }\n",
    );
    let out = mon(&["config", "check", &file]);
    assert_eq!(out.status.code(), Some(2));
    golden(
        "config_check_errors.txt",
        &text(&out.stderr).replace(&file, "mon.yaml"),
    );

    let good = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/mon.yaml");
    let out = mon(&["config", "check", good.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(": ok ("),
        "{}",
        text(&out.stdout)
    );
}

/// `mon config check` on each class of error: exit 2 and the message at its line:column.
#[test]
fn config_check_error_table() {
    let dir = tempfile::tempdir().expect("dir");
    let cases: &[(&str, &str)] = &[
        ("", "mon.yaml: the configuration file is empty"),
        ("# nothing\n", "mon.yaml: the configuration file is empty"),
        (
            "metrics:\n  intervall: 10s\n",
            "mon.yaml:2:3: metrics.intervall: unknown field `intervall`",
        ),
        (
            "metrics:\n  interval: 0s\n",
            "mon.yaml:2:3: metrics.interval: must be longer than zero",
        ),
        (
            "checks:\n  - name: a\n    type: http\n    url: http://x/\n    headers: [a, b]\n",
            "mon.yaml:5:5: checks[0].headers: invalid type: sequence",
        ),
        // A missing field: its path, at the entry that lacks it.
        (
            "checks:\n  - name: a\n    type: http\n",
            "mon.yaml:2:5: checks[0].url: missing field `url`",
        ),
        (
            "alerting:\n  channels:\n    - { name: w, type: webhook }\n",
            "mon.yaml:3:7: alerting.channels[0].url: missing field `url`",
        ),
        (
            "alerting:\n  rules:\n    - { name: r, expr: 'cpu_percent > \"a\"' }\n",
            "mon.yaml:3:18: alerting.rules[0].expr: rule \"r\": invalid expression",
        ),
        (
            "server:\n  auth:\n    tokens:\n      - { name: a, token: same, role: read }\n      - { name: b, token: same, role: admin }\n",
            "mon.yaml:5:20: server.auth.tokens[1].token: token \"b\" (role admin) has the same value",
        ),
    ];
    for (yaml, want) in cases {
        let file = write(dir.path(), "mon.yaml", yaml);
        let out = mon(&["config", "check", &file]);
        let err = text(&out.stderr).replace(&file, "mon.yaml");
        assert_eq!(out.status.code(), Some(2), "{yaml}: {err}");
        assert!(
            err.starts_with(&format!("mon: {want}")),
            "{yaml}\ngot: {err}\nwant: {want}"
        );
        assert!(err.ends_with("1 error found\n"), "{err}");
    }
    // Everything at once, each at its own line.
    let file = write(
        dir.path(),
        "mon.yaml",
        "alerting:\n  rules:\n    - { name: r1, expr: 'cpu_percent + 1' }\n    - { name: r2, expr: 'cpu_percent > \"a\"' }\n",
    );
    let out = mon(&["config", "check", &file]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(":3:") && err.contains(":4:") && err.ends_with("2 errors found\n"),
        "{err}"
    );
}

/// A `type:` that is no built-in kind: the errors, then a note that it may come from an
/// extension crate, with the built-in kinds and the command that validates the file.
#[test]
fn config_check_points_extension_kinds_to_their_server() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write(
        dir.path(),
        "mon.yaml",
        "checks:\n  - name: trunk\n    type: sip_options\n    address: sip.example.net:5060\n\
         alerting:\n  channels:\n    - { name: audit, type: jsonl, path: /tmp/pages.jsonl }\n",
    );
    for args in [
        vec!["config", "check", &file],
        vec!["config", "show", &file],
        vec!["probe", "-c", &file],
    ] {
        let out = mon(&args);
        let err = text(&out.stderr).replace(&file, "mon.yaml");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for want in [
            "mon: mon.yaml:3:5: checks[0].type: unknown check type `sip_options`, expected one of `command`,",
            "\nmon.yaml:7:22: alerting.channels[0].type: unknown channel type `jsonl`, expected one of `alertmanager`,",
            "\n2 errors found\nnote: `sip_options`, `jsonl` are not built-in kinds. `mon` knows the built-in kinds only \
             (checks: `command`, `dns`, `heartbeat`, `http`,",
            "channels: `alertmanager`, `email`, `log`, `pagerduty`, `slack`, `webhook`).",
            "A kind from an extension crate is known to the server binary that registers it",
            "`<server> --check-config -c mon.yaml`",
        ] {
            assert!(err.contains(want), "{args:?}: {want:?} not in:\n{err}");
        }
    }
    // A built-in kind mistyped: the did-you-mean, and the note all the same.
    let file = write(
        dir.path(),
        "typo.yaml",
        "checks:\n  - { name: a, type: htp, url: 'http://x/' }\n",
    );
    let err = text(&mon(&["config", "check", &file]).stderr);
    assert!(err.contains("did you mean `http`?"), "{err}");
    assert!(err.contains("note: `htp` is not a built-in kind."), "{err}");
}

#[test]
fn config_show_masks_secrets() {
    let dir = tempfile::tempdir().expect("dir");
    let file = write(
        dir.path(),
        "mon.yaml",
        "server:\n  auth:\n    tokens:\n      - { name: ops, token: very-secret-token, role: admin }\n\
         checks:\n  - name: api\n    type: http\n    url: http://user:pa55word@127.0.0.1:9/x?token=qu3ry-t0ken\n    headers: { Authorization: Bearer abc.def, X-Custom: '${HEADER_VALUE}' }\n\
         alerting:\n  channels:\n    - { name: hook, type: webhook, url: 'https://hooks.example.com/hooks/Path-T0ken-1234' }\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_mon"))
        .args(["config", "show", &file, "--output", "json"])
        .env("HEADER_VALUE", "Hdr-From-Env")
        .output()
        .expect("mon runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for secret in [
        "very-secret-token",
        "pa55word",
        "abc.def",
        "qu3ry-t0ken",
        "Path-T0ken",
        "Hdr-From-Env",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
    }
    let json: Value = serde_json::from_str(&shown).expect("JSON");
    assert_eq!(
        json["server"]["listen"], "127.0.0.1:8480",
        "defaults are resolved"
    );
    let out = mon(&["config", "show"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("path: ./mon-data/mon.db"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn probe_runs_checks_locally_and_exits_1_when_unhealthy() {
    let up = Capture::start();
    let dir = tempfile::tempdir().expect("dir");
    let file = write(
        dir.path(),
        "mon.yaml",
        &format!(
            "checks:\n  - name: up\n    type: http\n    url: {}\n  - name: down\n    type: http\n    url: http://127.0.0.1:{}/\n    timeout: 2s\n",
            up.url("/"),
            free_port()
        ),
    );
    let out = mon(&["probe", "-c", &file]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("CHECK  STATUS"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("up ") && l.contains("healthy")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("down ") && l.contains("unhealthy")),
        "{table}"
    );

    let out = mon(&["probe", "-c", &file, "--only", "up", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["results"][0]["outcome"]["status"], "healthy");

    let out = mon(&["probe", "-c", &file, "--only", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no check named \"nope\""),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_and_completions() {
    let out = mon(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = mon(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("complete") && text(&out.stdout).contains("mon"),
        "a bash completion script"
    );
}

/// How long a test waits for the server to get somewhere.
const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

#[test]
fn alerts_silences_rules_and_channels() {
    let config = format!(
        "server:\n{TOKENS}storage:\n  path: {{dir}}/mon.db\nchecks: []\n\
         metrics:\n  interval: 1s\n\
         alerting:\n  evaluation_interval: 1s\n  default_rules: false\n  rules:\n    - name: Always\n      expr: cpu_percent >= 0.0\n      severity: critical\n      labels: {{ service: voice }}\n"
    );
    let server = TestServer::start(&config);
    let url = server.url();
    let with = |args: &[&str]| as_admin(&url, args);
    let id = eventually("the Always alert to fire", WAIT, || {
        let out = with(&["alerts", "list", "--output", "json"]);
        let json: Value = serde_json::from_slice(&out.stdout).ok()?;
        let alert = json["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["state"] == "firing")?
            .clone();
        assert_eq!(
            out.status.code(),
            Some(1),
            "a firing alert makes `alerts list` exit 1"
        );
        alert["id"].as_str().map(String::from)
    });

    let out = with(&["alerts", "list"]);
    let listed = text(&out.stdout);
    assert!(
        listed.starts_with("ID") && listed.contains("Always") && listed.contains("service=voice"),
        "{listed}"
    );

    let out = with(&["rules", "list", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rules: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rules["rules"][0]["name"], "Always");
    assert_eq!(rules["rules"][0]["state"], "firing");

    let out = with(&["alerts", "ack", &id, "--comment", "on it", "--by", "alice"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with(&["alerts", "show", &id, "--output", "json"]);
    let alert: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(alert["state"], "acknowledged");
    assert_eq!(alert["acknowledged_by"], "alice");
    let history = alert["history"].to_string();
    assert!(history.contains("alice: on it"), "{history}");

    // Acknowledging twice is a conflict, refused by the server.
    let out = with(&["alerts", "ack", &id]);
    assert_ne!(out.status.code(), Some(0));

    // The quality report: the rule fired once and was acknowledged.
    let out = with(&["alerts", "quality", "--since", "1h"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        normalise(&text(&out.stdout)),
        "RULE FIRED ACKED SELF-RESOLVED SILENCED VERDICT SUGGESTION\n\
         Always N N % N % N ok -\n"
    );
    let out = with(&["alerts", "quality", "--output", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["flap_minutes"], 5);
    assert_eq!(report["rules"][0]["acknowledged"], 1, "{report}");
    let out = with(&["alerts", "quality", "--flap-minutes", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--flap-minutes"),
        "{}",
        text(&out.stderr)
    );

    let out = with(&[
        "silence",
        "add",
        "--match",
        "service=voice",
        "--for",
        "2h",
        "--comment",
        "maintenance",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with(&["silence", "list", "--output", "json"]);
    let silences: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let silence = &silences["silences"][0];
    assert_eq!(silence["active"], true, "{silences}");
    assert_eq!(silence["comment"], "maintenance");
    let sid = silence["id"].as_str().expect("id").to_string();
    let out = with(&["silence", "expire", &sid]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with(&["silence", "list", "--output", "json"]);
    let silences: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(silences["silences"][0]["active"], false, "{silences}");
    let out = with(&["silence", "add", "--match", "nonsense", "--for", "1h"]);
    assert_eq!(out.status.code(), Some(2));

    // An incident from the alert (by a prefix of its id), an update that resolves it.
    let out = with(&[
        "incidents",
        "open",
        "--alert",
        &id[..8],
        "--message",
        "Looking into it",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let opened: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(opened["alert_id"], id.as_str(), "{opened}");
    assert_eq!(opened["severity"], "critical", "the alert's severity");
    assert_eq!(opened["status"], "investigating");
    let number = opened["id"].to_string();
    let out = with(&["incidents", "list", "--open"]);
    let listed = text(&out.stdout);
    assert!(
        listed.starts_with("ID") && listed.contains("investigating") && listed.contains(&id),
        "{listed}"
    );
    let out = with(&[
        "incidents",
        "update",
        &number,
        "--status",
        "resolved",
        "--message",
        "Back to normal",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("Back to normal") && shown.contains("ops"),
        "the update with its author, the token's name: {shown}"
    );
    let out = with(&["incidents", "list", "--open", "--output", "json"]);
    let open: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(open["count"], 0, "{open}");
    let out = with(&["incidents", "show", &number]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Looking into it"));
    let out = with(&[
        "incidents",
        "update",
        &number,
        "--status",
        "fixed",
        "--message",
        "m",
    ]);
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown status");
    let out = with(&["incidents", "show", "424242"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("no incident"),
        "{}",
        text(&out.stderr)
    );

    let out = with(&["channels", "list", "--output", "json"]);
    let channels: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(channels["channels"][0]["name"], "log", "{channels}");
    let out = with(&["channels", "test", "log"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Host metrics are stored as series every second.
    let points = eventually("stored cpu_percent points", WAIT, || {
        let out = with(&[
            "metrics",
            "query",
            "cpu_percent",
            "--since",
            "10m",
            "--output",
            "json",
        ]);
        let json: Value = serde_json::from_slice(&out.stdout).ok()?;
        let n = json["series"][0]["points"].as_array()?.len();
        (n >= 2).then_some(n)
    });
    assert!(points >= 2);
    let out = with(&[
        "metrics",
        "query",
        "cpu_percent",
        "--since",
        "10m",
        "--chart",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(" │"), "{}", text(&out.stdout));
    let out = with(&["metrics", "list", "--output", "json"]);
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        list["series"]
            .as_array()
            .expect("series")
            .iter()
            .any(|s| s["name"] == "cpu_percent"),
        "{list}"
    );
    let out = with(&["metrics", "query", "cpu_percent", "--label", "novalue"]);
    assert_eq!(out.status.code(), Some(2));
    // A misspelt name is a usage error with the closest stored series, not "no data".
    let out = with(&["metrics", "query", "cpu_percnt", "--since", "10m"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("did you mean \"cpu_percent\"?"),
        "{}",
        text(&out.stderr)
    );

    let out = with(&["alerts", "resolve", &id, "--comment", "done"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Without the admin token, a state change is refused: exit 3.
    let out = mon(&["alerts", "resolve", &id, "--server", &url]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn events_heartbeats_errors_and_logs() {
    let config = format!(
        "server:\n{TOKENS}storage:\n  path: {{dir}}/mon.db\n\
         checks:\n  - name: nightly\n    type: heartbeat\n    period: 1h\n    critical: false\nmetrics:\n  host: false\n"
    );
    let server = TestServer::start(&config);
    let url = server.url();
    let with = |args: &[&str]| as_admin(&url, args);
    let out = with(&["heartbeat", "nightly", "--start"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with(&["heartbeat", "nightly"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with(&["checks", "show", "nightly", "--output", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["check"]["status"], "healthy", "{json}");
    let out = with(&["heartbeat", "no-such-heartbeat"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown heartbeat is a usage error"
    );

    let out = with(&[
        "events",
        "send",
        "--type",
        "error",
        "--set",
        "kind=TtsTimeout",
        "--set",
        "message=tts timed out after 5000 ms",
        "--set",
        "context.call_id=c-42",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "accepted 1 event(s)");
    let out = with(&[
        "events",
        "send",
        "--type",
        "log",
        "--set",
        "level=warn",
        "--set",
        "message=jitter buffer overflow",
        "--set",
        "call_id=c-42",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with(&["events", "send", "--type", "nope"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a rejected batch is a usage error: {}",
        text(&out.stderr)
    );

    let fingerprint = eventually("the error group", WAIT, || {
        let out = with(&["errors", "list", "--output", "json"]);
        let json: Value = serde_json::from_slice(&out.stdout).ok()?;
        let group = json["errors"]
            .as_array()?
            .iter()
            .find(|e| e["kind"] == "TtsTimeout")?
            .clone();
        group["fingerprint"].as_str().map(String::from)
    });
    let out = with(&["errors", "show", &fingerprint]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).starts_with("TtsTimeout ×1"),
        "{}",
        text(&out.stdout)
    );

    let found = eventually("the log record", WAIT, || {
        let out = with(&[
            "logs",
            "search",
            "jitter",
            "--call-id",
            "c-42",
            "--output",
            "json",
        ]);
        let json: Value = serde_json::from_slice(&out.stdout).ok()?;
        (json["count"].as_u64()? >= 1).then_some(json)
    });
    assert_eq!(found["logs"][0]["message"], "jitter buffer overflow");
    let out = with(&["logs", "search", "jitter", "--level", "loud"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn security_summary_and_events() {
    // Raw addresses, so that the tables can be compared with what was sent.
    let config = format!(
        "server:\n{TOKENS}storage:\n  path: {{dir}}/mon.db\nmetrics:\n  host: false\nprivacy:\n  client_ips: keep\n"
    );
    let server = TestServer::start(&config);
    let url = server.url();
    let with = |args: &[&str]| as_admin(&url, args);
    for ip in ["203.0.113.7", "203.0.113.7", "198.51.100.9"] {
        let out = with(&[
            "events",
            "send",
            "--type",
            "auth",
            "--set",
            "success=false",
            "--set",
            "method=password",
            "--set",
            &format!("ip={ip}"),
            "--set",
            "reason=bad_password",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let out = with(&["security", "summary"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.starts_with("last 5m: 3 auth attempts, 3 failed"),
        "{table}"
    );
    let lines: Vec<&str> = table.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "Addresses by failed logins")
        .expect("the addresses table");
    assert!(lines[at + 2].starts_with("203.0.113.7"), "{table}");
    let out = with(&["security", "summary", "--output", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["top_ips_by_failures"][0]["failed_logins"], 2, "{json}");

    let out = with(&[
        "security",
        "events",
        "--ip",
        "203.0.113.7",
        "--output",
        "json",
    ]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["count"], 2, "{json}");
    let out = with(&["security", "events", "--ip", "198.51.100.9"]);
    let table = text(&out.stdout);
    assert!(
        table.contains("failure password") && table.contains("bad_password"),
        "{table}"
    );
    let out = with(&["security", "events", "--ip", "not-an-address"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn backup_saves_a_consistent_copy_and_never_overwrites() {
    let config = format!(
        "server:\n{TOKENS}storage:\n  path: {{dir}}/mon.db\nmetrics:\n  host: true\n  interval: 1s\n"
    );
    let server = TestServer::start(&config);
    let url = server.url();
    let with = |args: &[&str], token: Option<&str>| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--server", &url]);
        if let Some(token) = token {
            all.extend(["--token", token]);
        }
        mon(&all)
    };
    // Host metrics are stored: wait until some series exist, then copy.
    let stored = eventually("host metrics are stored", WAIT, || {
        let out = with(
            &["metrics", "list", "--output", "json"],
            Some("admin-token-1234"),
        );
        let list: Value = serde_json::from_slice(&out.stdout).ok()?;
        let n = list.as_array().or_else(|| list["series"].as_array())?.len();
        (n > 0).then_some(n)
    });
    let dest = server.dir.path().join("copy.db");
    let dest_text = dest.display().to_string();

    // Without the admin token: refused (exit 3), nothing written.
    let out = with(&["backup", &dest_text], None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(!dest.exists());
    assert!(!server.dir.path().join("copy.db.part").exists());

    let out = with(&["backup", &dest_text], Some("admin-token-1234"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with(&format!("wrote {dest_text} (")));
    let conn = rusqlite::Connection::open(&dest).expect("open the copy");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let series: i64 = conn
        .query_row("SELECT count(*) FROM series", [], |r| r.get(0))
        .expect("count");
    assert!(
        series as usize >= stored,
        "{series} series, {stored} listed before"
    );
    drop(conn);

    // A second backup to the same name is refused (exit 2) and leaves the copy alone.
    let before = std::fs::read(&dest).expect("copy");
    let out = with(&["backup", &dest_text], Some("admin-token-1234"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&dest).expect("copy"), before);
}

/// `events` to the server through `mon events send` (a JSON array on stdin).
fn send_events(url: &str, events: &str) {
    let mut send = Command::new(env!("CARGO_BIN_EXE_mon"))
        .args([
            "events",
            "send",
            "--server",
            url,
            "--token",
            "admin-token-1234",
        ])
        .env_remove("MON_SERVER")
        .env_remove("MON_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mon runs");
    std::io::Write::write_all(send.stdin.as_mut().expect("stdin"), events.as_bytes())
        .expect("events written");
    drop(send.stdin.take());
    let out = send.wait_with_output().expect("mon ends");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn report_over_a_period_and_the_latest_scheduled_one() {
    let config =
        format!("server:\n{TOKENS}storage:\n  path: {{dir}}/mon.db\nmetrics:\n  host: false\n");
    let server = TestServer::start(&config);
    let url = server.url();
    let with = |args: &[&str]| as_admin(&url, args);
    let events = serde_json::json!([
        {"type": "call_ended", "call_id": "c1", "duration_seconds": 30.0, "success": true},
        {"type": "call_ended", "call_id": "c2", "duration_seconds": 90.0, "success": false},
    ]);
    send_events(&url, &events.to_string());
    let report = eventually("the calls in the report", WAIT, || {
        let out = with(&["report", "--since", "1h"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let report = text(&out.stdout);
        report
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Calls", "ended", "2"])
            .then_some(report)
    });
    for heading in [
        "UPTIME",
        "INCIDENTS",
        "CALLS",
        "VOICE QUALITY",
        "CUSTOMER SATISFACTION",
        "AI COST",
        "TOP ERRORS",
        "EXPERIMENTS",
        "DEPLOYMENTS",
    ] {
        assert!(
            report.lines().any(|l| l == heading),
            "{heading} missing:\n{report}"
        );
    }
    assert!(
        report.contains("50.0 %")
            && report
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Average", "duration", "1m"]),
        "{report}"
    );
    // Nothing scheduled: the server's reason, exit 2.
    let latest = with(&["report", "--latest"]);
    assert_eq!(latest.status.code(), Some(2));
    assert!(
        text(&latest.stderr).contains("no report is scheduled"),
        "{}",
        text(&latest.stderr)
    );
}

#[test]
fn experiments_list_and_show_compare_the_variants() {
    let config =
        format!("server:\n{TOKENS}storage:\n  path: {{dir}}/mon.db\nmetrics:\n  host: false\n");
    let server = TestServer::start(&config);
    let url = server.url();
    let with = |args: &[&str]| as_admin(&url, args);
    // 40 calls a variant: control succeeds 28 times, b 39 times; b's calls are shorter.
    let mut events = Vec::new();
    for i in 0..40 {
        for (variant, ok, seconds) in [
            ("control", i < 28, 60.0 + f64::from(i % 7)),
            ("b", i < 39, 40.0 + f64::from(i % 5)),
        ] {
            events.push(serde_json::json!({
                "type": "call_ended", "call_id": format!("{variant}-{i}"),
                "duration_seconds": seconds, "success": ok,
                "experiment": "prompt-v2", "variant": variant,
            }));
        }
    }
    send_events(&url, &Value::from(events).to_string());

    let listed = eventually("the experiment listed", WAIT, || {
        let out = with(&["experiments", "list"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let table = text(&out.stdout);
        table.contains("prompt-v2").then_some(table)
    });
    let rows: Vec<Vec<&str>> = listed
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "EXPERIMENT",
            "VARIANT",
            "EVENTS",
            "FIRST",
            "SEEN",
            "LAST",
            "SEEN"
        ]
    );
    assert_eq!(rows[1][..3], ["prompt-v2", "b", "40"], "{listed}");
    assert_eq!(rows[2][..3], ["prompt-v2", "control", "40"], "{listed}");

    let out = with(&["experiments", "show", "prompt-v2", "--confidence", "0.99"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with("experiment prompt-v2: control control, confidence 99 %\n"),
        "{shown}"
    );
    // The findings come first, before the table: b succeeds 27.5 points more often.
    let findings = shown.find("findings:").expect("findings");
    let header = shown.find("METRIC").expect("a table");
    assert!(findings < header, "{shown}");
    assert!(
        shown.contains("call_success_rate: b +27.5 points against control"),
        "{shown}"
    );
    assert!(shown.contains("\nb against control:\n"), "{shown}");
    let line = |metric: &str| -> Vec<String> {
        shown
            .lines()
            .find(|l| l.starts_with(metric))
            .unwrap_or_else(|| panic!("no {metric} row: {shown}"))
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    let rate = line("call_success_rate");
    assert_eq!(rate[1], "70.0 % (28/40)", "{shown}");
    assert_eq!(rate[2], "97.5 % (39/40)", "{shown}");
    assert!(rate[3].starts_with("+27.5 pts ["), "{shown}");
    assert_eq!(rate[5], "yes", "{shown}");
    let duration = line("call_duration_seconds");
    assert!(duration[1].starts_with("mean 1.0 min"), "{shown}");
    assert!(duration[2].starts_with("mean 42.0 s"), "{shown}");
    assert!(duration[4].starts_with("<0.001 (ranks <0.001)"), "{shown}");
    assert_eq!(duration[5], "yes", "{shown}");

    // --output json is the server's answer.
    let out = with(&["experiments", "show", "prompt-v2", "--output", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["comparisons"][0]["variant"], "b");
    assert_eq!(json["confidence"], 0.95);

    // An unknown experiment, an unknown control, a bad level: exit 2 and why.
    let out = with(&["experiments", "show", "no-such-experiment"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("no events of experiment \"no-such-experiment\""),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let out = with(&["experiments", "show", "prompt-v2", "--control", "z"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("control=\"z\" is not a variant of \"prompt-v2\""),
        "{}",
        text(&out.stderr)
    );
    let out = with(&["experiments", "show", "prompt-v2", "--confidence", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("confidence"),
        "{}",
        text(&out.stderr)
    );
}
