//! What people read: `mon watch --once`, query summaries, short alert and silence ids, who acted
//! (`$USER` or `--by`), `MON_SERVER=""`, and `mon config check`'s suggestions — the real
//! `mon` binary against a real `mon-server` on loopback.

use mon_tests::{TestServer, eventually};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

const TOKEN: &str = "admin-token-1234";
const WAIT: Duration = Duration::from_secs(30);

/// `mon` with `env` set and nothing of the caller's MON_* or USER inherited.
fn mon_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mon"))
        .args(args)
        .env_remove("MON_SERVER")
        .env_remove("MON_TOKEN")
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("mon runs")
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

/// A server whose one rule fires at once (on the host's CPU, sampled every 200 ms and
/// stored as a series), with an admin token.
fn firing_server() -> TestServer {
    TestServer::start(
        "server:\n  auth:\n    tokens:\n      - { name: ops, token: admin-token-1234, role: admin }\n\
         storage:\n  path: {dir}/mon.db\nchecks: []\nmetrics:\n  interval: 200ms\n\
         alerting:\n  evaluation_interval: 1s\n  default_rules: false\n  rules:\n\
         \x20   - name: Busy\n      expr: cpu_percent >= 0.0\n      severity: critical\n      labels: { service: voice }\n",
    )
}

/// The firing alert's id, once there is one.
fn firing_id(with: &dyn Fn(&[&str]) -> Output) -> String {
    eventually("the Busy alert to fire", WAIT, || {
        let out = with(&["alerts", "list", "--output", "json"]);
        let json: Value = serde_json::from_slice(&out.stdout).ok()?;
        json["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["state"] == "firing")?["id"]
            .as_str()
            .map(String::from)
    })
}

#[test]
fn watch_once_prints_one_frame_of_checks_alerts_and_voice_figures() {
    let server = firing_server();
    let url = server.url();
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--server", &url, "--token", TOKEN]);
        mon_env(&all, &[])
    };
    let id = firing_id(&with);
    // One call that ended well, with its voice quality.
    let events = r#"[
        {"type":"call_started","call_id":"c1"},
        {"type":"voice_quality","conversation_id":"c1","mos":4.26,"latency_ms":180,"jitter_ms":3,"packet_loss":0.01},
        {"type":"call_ended","call_id":"c1","success":true,"duration_seconds":42}
    ]"#;
    let mut send = Command::new(env!("CARGO_BIN_EXE_mon"))
        .args(["events", "send", "--server", &url, "--token", TOKEN])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mon runs");
    std::io::Write::write_all(send.stdin.as_mut().expect("stdin"), events.as_bytes())
        .expect("events written");
    drop(send.stdin.take());
    assert!(send.wait().expect("mon ends").success());

    let frame = eventually("the call in the voice figures", WAIT, || {
        let out = with(&["watch", "--once"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let frame = text(&out.stdout);
        frame.contains("MOS 4.3").then_some(frame)
    });
    // One frame, no screen clearing (not a terminal, and --once).
    assert!(!frame.contains('\x1b'), "{frame:?}");
    let first = frame.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "{url} — healthy — 1/1 checks healthy, 1 firing — "
        )),
        "{frame}"
    );
    // Times to the second: `…T14:03:05Z`, no fraction.
    let taken = first.rsplit(" — ").next().unwrap_or_default();
    assert!(
        taken.len() == "2026-12-01T14:03:05Z".len() && taken.ends_with('Z') && !taken.contains('.'),
        "{first}"
    );
    assert!(frame.contains("CHECK") && frame.contains("mon "), "{frame}");
    let alert_line = frame
        .lines()
        .find(|l| l.contains("Busy"))
        .unwrap_or_else(|| panic!("no alert row: {frame}"));
    // The only alert: its id shown to 8 characters.
    assert!(alert_line.starts_with(&format!("{} ", &id[..8])), "{frame}");
    assert!(
        alert_line.contains("critical") && alert_line.contains("service=voice"),
        "{frame}"
    );
    assert!(
        frame.contains("voice: calls 1 · active 0 · success rate 100 % · latency p95 "),
        "{frame}"
    );
    assert!(frame.contains("MOS 4.3 (rule window "), "{frame}");

    // An unreachable server: the error, exit 3, as any command.
    let out = mon_env(&["watch", "--once", "--server", "http://127.0.0.1:9"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let out = with(&["watch", "--interval", "soon"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn short_ids_who_acted_and_summarised_queries() {
    let server = firing_server();
    let url = server.url();
    let with_env = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = args.to_vec();
        all.extend(["--server", &url, "--token", TOKEN]);
        mon_env(&all, env)
    };
    let with = |args: &[&str]| with_env(args, &[]);
    let id = firing_id(&with);

    // The list shows the shortest unique prefix (8 characters for one alert) ...
    let listed = text(&with(&["alerts", "list"]).stdout);
    let row = listed
        .lines()
        .find(|l| l.contains("Busy"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(row.starts_with(&format!("{}  ", &id[..8])), "{listed}");
    assert!(!listed.contains(&id), "{listed}");
    // ... and commands take it.
    let out = with(&["alerts", "show", &id[..8]]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.starts_with(&id), "{shown}");
    // The value in the unit of the rule's variable (a percentage of CPU).
    assert!(shown.contains(" %\n") || shown.contains(" %"), "{shown}");
    assert!(
        !shown
            .lines()
            .any(|l| l.contains("started:") && l.contains('.')),
        "{shown}"
    );

    // A rule's last value in the unit of its variable, not `17.128463745117188`.
    let rules = text(&with(&["rules", "list"]).stdout);
    let row = rules
        .lines()
        .find(|l| l.starts_with("Busy"))
        .unwrap_or_else(|| panic!("{rules}"));
    assert!(row.ends_with(" %"), "{rules}");

    // Acknowledged as $USER when there is no --by.
    let out = with_env(&["alerts", "ack", &id[..10]], &[("USER", "carol")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(by carol)"),
        "{}",
        text(&out.stdout)
    );
    let out = with(&["alerts", "show", &id, "--output", "json"]);
    let alert: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(alert["acknowledged_by"], "carol", "{alert}");

    // A silence: `--by` over $USER, and $USER over an empty --by.
    let out = with_env(
        &[
            "silence",
            "add",
            "--match",
            "service=voice",
            "--for",
            "1h",
            "--by",
            "dave",
        ],
        &[("USER", "carol")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with_env(
        &[
            "silence",
            "add",
            "--match",
            "service=sip",
            "--for",
            "1h",
            "--by",
            "",
        ],
        &[("USER", "erin")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with(&["silence", "list", "--output", "json"]);
    let silences: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut by: Vec<&str> = silences["silences"]
        .as_array()
        .expect("silences")
        .iter()
        .filter_map(|s| s["created_by"].as_str())
        .collect();
    by.sort_unstable();
    assert_eq!(by, ["dave", "erin"], "{silences}");

    // Silence ids shortened as alert ids are, and commands take a unique prefix.
    let mut sids: Vec<String> = silences["silences"]
        .as_array()
        .expect("silences")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    sids.sort();
    let listed = text(&with(&["silence", "list"]).stdout);
    let mut shown: Vec<&str> = listed
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    shown.sort_unstable();
    assert_eq!(shown.len(), 2, "{listed}");
    for (short, full) in shown.iter().zip(&sids) {
        assert!(
            full.starts_with(short) && short.len() >= 8 && short.len() < full.len(),
            "{short} for {full}: {listed}"
        );
    }
    // A prefix of both: exit 2, naming both.
    let common: String = sids[0]
        .chars()
        .zip(sids[1].chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a)
        .collect();
    let out = with(&["silence", "expire", &common]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("ambiguous"), "{err}");
    assert!(err.contains(&sids[0]) && err.contains(&sids[1]), "{err}");
    // The listed prefix expires that silence alone.
    let out = with(&["silence", "expire", shown[0]]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("silence {} expired", sids[0])),
        "{}",
        text(&out.stdout)
    );
    let out = with(&["silence", "list", "--output", "json"]);
    let after: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let active: Vec<&str> = after["silences"]
        .as_array()
        .expect("silences")
        .iter()
        .filter(|s| s["active"] == true)
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(active, [sids[1].as_str()], "{after}");

    // A long query: the most recent 20 points, a sparkline, and how many more.
    let points = eventually("more than 20 stored cpu_percent points", WAIT, || {
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
        (n > 22).then_some(n)
    });
    let out = with(&["metrics", "query", "cpu_percent", "--since", "10m"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    let lines: Vec<&str> = summary.lines().collect();
    assert!(
        lines[0].starts_with("cpu_percent{} (raw resolution, "),
        "{summary}"
    );
    assert!(
        lines[0].chars().any(|c| ('▁'..='█').contains(&c)),
        "a sparkline: {summary}"
    );
    assert_eq!(
        lines[1].split_whitespace().next(),
        Some("TIME"),
        "{summary}"
    );
    let rows: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("T") && l.ends_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), 20, "{summary}");
    assert!(rows.iter().all(|r| r.contains(" %")), "{summary}");
    let footer = lines.last().copied().unwrap_or_default();
    assert!(
        footer.ends_with("more rows (older); --all for every row"),
        "{summary}"
    );
    let more: usize = footer
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{footer}"));
    assert!(more + 20 >= points, "{summary}");
    // --all: every point, no footer.
    let out = with(&["metrics", "query", "cpu_percent", "--since", "10m", "--all"]);
    let all = text(&out.stdout);
    assert!(all.lines().count() >= points + 2, "{all}");
    assert!(!all.contains("--all for every row"), "{all}");
}

#[test]
fn an_empty_mon_server_means_the_default_address() {
    let out = mon_env(&["status"], &[("MON_SERVER", ""), ("MON_TOKEN", "")]);
    let err = text(&out.stderr);
    assert!(!err.contains("invalid server URL"), "{err}");
    // Nothing listens there in the test, or a server does: either way it is the default.
    if out.status.code() == Some(3) && err.contains("cannot reach") {
        assert!(err.contains("http://127.0.0.1:8480"), "{err}");
    }
}

/// Misspelt keys at every level, a rule and a dashboard naming unknown variables: every
/// error, each with its nearest name, in one run.
#[test]
fn config_check_suggests_the_nearest_names() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("mon.yaml");
    std::fs::write(
        &file,
        "servr:\n  listen: 127.0.0.1:8480\nmetrics:\n  intervall: 10s\n\
         checks:\n  - name: host\n    type: system\n    cpu_warnin: 80\n\
         alerting:\n  rules:\n    - { name: hot, expr: cpu_percnt > 90 }\n\
         \x20   - { name: quiet, expr: 'avg_mso < 3 && call_sucess_rate < 0.9' }\n\
         dashboards:\n  - id: voice\n    title: Voice\n    panels:\n      - { id: mos, title: MOS, kind: stat, metric: avg_moss }\n",
    )
    .expect("written");
    let path = file.display().to_string();
    let out = mon_env(&["config", "check", &path], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr).replace(&path, "mon.yaml");
    // Keep the suggestion of each line, not serde's whole list of keys.
    let short: String = err
        .lines()
        .map(
            |l| match (l.split_once(", expected one of"), l.rfind("; did you mean")) {
                (Some((head, _)), Some(at)) => format!("{head}{}\n", &l[at..]),
                _ => format!("{l}\n"),
            },
        )
        .collect();
    golden("config_check_suggestions.txt", &short);
}
