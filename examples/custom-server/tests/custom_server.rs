//! The `custom-server` binary with a `mon.yaml` using both extension kinds: the
//! `sip_options` check against a SIP responder on loopback, seen over the API, and
//! a notification delivered through the `jsonl` channel; a bad or missing field of an
//! extension kind reported at its line:column; and `--check-config`/`--show-config`
//! validating and showing a file with both kinds, as `mon config check|show` do with
//! the built-in ones.

use mon_tests::{TestServer, eventually};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A SIP responder on loopback answering every request `200 OK`, echoing its Call-ID.
fn sip_responder() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    let port = socket.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 65_535];
        while let Ok((n, from)) = socket.recv_from(&mut buffer) {
            let request = String::from_utf8_lossy(&buffer[..n]).to_string();
            let call_id = request
                .split("\r\n")
                .find(|l| l.starts_with("Call-ID:"))
                .unwrap_or_default()
                .to_string();
            let answer = format!("SIP/2.0 200 OK\r\n{call_id}\r\nContent-Length: 0\r\n\r\n");
            let _ = socket.send_to(answer.as_bytes(), from);
        }
    });
    port
}

/// The `custom-server` binary this package builds.
fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_custom-server"))
}

#[test]
fn both_extension_kinds_run_inside_the_server() {
    let sip = sip_responder();
    let config = format!(
        "server:\n  self_check: false\n\
         storage:\n  path: {{dir}}/mon.db\n\
         metrics:\n  host: false\n\
         checks:\n  - name: trunk\n    type: sip_options\n    address: 127.0.0.1:{sip}\n    interval: 1s\n    timeout: 2s\n\
         alerting:\n  evaluation_interval: 1s\n  default_rules: false\n  rules:\n\
         \x20   - name: Trunk answers\n      expr: checks.trunk.status == \"healthy\"\n      severity: info\n\
         \x20 channels:\n    - name: audit\n      type: jsonl\n      path: {{dir}}/pages.jsonl\n",
    );
    let server = TestServer::start_binary(binary(), &config, &[]);
    let pages = server.dir.path().join("pages.jsonl");
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/health/checks/trunk", server.url());

    let check: serde_json::Value = eventually(
        "a healthy sip_options result",
        Duration::from_secs(60),
        || {
            let answer = client.get(&url).send().ok()?;
            let body: serde_json::Value = answer.json().ok()?;
            (body["status"] == "healthy").then_some(body)
        },
    );
    assert_eq!(check["kind"], "sip_options", "{check}");
    let text = check.to_string();
    assert!(text.contains("200 OK"), "{check}");

    let page: serde_json::Value = eventually(
        "a notification in pages.jsonl",
        Duration::from_secs(60),
        || {
            let text = std::fs::read_to_string(&pages).ok()?;
            let line = text.lines().next()?;
            serde_json::from_str(line).ok()
        },
    );
    assert_eq!(page["transition"], "firing", "{page}");
    assert_eq!(page["alerts"][0]["rule"], "Trunk answers", "{page}");
}

#[test]
fn a_bad_field_of_an_extension_kind_is_reported_at_its_line() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("mon.yaml");
    std::fs::write(
        &config,
        "checks:\n  - name: trunk\n    type: sip_options\n    adress: 127.0.0.1:5060\n\
         alerting:\n  channels:\n    - name: audit\n      type: jsonl\n      path: 12\n",
    )
    .expect("config written");
    let output = Command::new(binary())
        .arg("-c")
        .arg(&config)
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("custom-server runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for want in [
        ":4:5: checks[0].adress: unknown field `adress`",
        "did you mean `address`?",
        ":9:7: alerting.channels[0].path: invalid type: integer `12`",
    ] {
        assert!(stderr.contains(want), "{want:?} not in:\n{stderr}");
    }
}

/// `custom-server ARGS` with `env`, no server started: its exit code, stdout and stderr.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = Command::new(binary())
        .args(args)
        .envs(env.iter().copied())
        .env_remove("MON_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("custom-server runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// A `mon.yaml` using both extension kinds, a secret of each sort in it.
const BOTH_KINDS: &str = "server:\n  auth:\n    tokens:\n      - { name: ops, token: Tok3n-In-File, role: admin }\n\
     checks:\n  - name: trunk\n    type: sip_options\n    address: ${SIP_TRUNK}\n\
     alerting:\n  channels:\n    - name: audit\n      type: jsonl\n      path: /var/log/mon/pages.jsonl\n";

#[test]
fn check_config_validates_a_file_with_extension_kinds() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("mon.yaml");
    std::fs::write(&config, BOTH_KINDS).expect("config written");
    let file = config.to_str().expect("a UTF-8 path");
    let env = [("SIP_TRUNK", "sip.example.net:5060")];

    let (code, stdout, stderr) = run(&["--check-config", "-c", file], &env);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!("{file}: ok (1 checks, 0 alert rules, 1 channels)\n")
    );

    // Missing fields of both extension kinds, and a bad value: each by its path, a
    // missing one at its entry's first key, all at once, exit 2.
    std::fs::write(
        &config,
        "checks:\n  - name: trunk\n    type: sip_options\n  - name: edge\n    type: sip_options\n    address: nowhere\n\
         alerting:\n  channels:\n    - name: audit\n      type: jsonl\n",
    )
    .expect("config written");
    let (code, stdout, stderr) = run(&["--check-config", "-c", file], &[]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert_eq!(
        stderr.replace(file, "mon.yaml"),
        "custom-server: mon.yaml:2:5: checks[0].address: missing field `address`\n\
         mon.yaml:6:5: checks[1].address: \"nowhere\" is not host:port; write it like sip.example.net:5060\n\
         mon.yaml:9:7: alerting.channels[0].path: missing field `path`\n\
         3 errors found\n"
    );
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn show_config_shows_extension_kinds_with_secrets_hidden() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("mon.yaml");
    std::fs::write(&config, BOTH_KINDS).expect("config written");
    let file = config.to_str().expect("a UTF-8 path");

    let (code, stdout, stderr) = run(
        &["--show-config", "-c", file],
        &[("SIP_TRUNK", "Secret-Trunk.example.net:5060")],
    );
    assert_eq!(code, Some(0), "{stderr}");
    for secret in ["Tok3n-In-File", "Secret-Trunk"] {
        assert!(!stdout.contains(secret), "{secret} shown:\n{stdout}");
    }
    let shown: serde_json::Value = serde_yaml_ng::from_str(&stdout).expect("YAML");
    assert_eq!(shown["checks"][0]["type"], "sip_options", "{stdout}");
    assert_eq!(shown["checks"][0]["address"], "***", "{stdout}");
    assert_eq!(
        shown["alerting"]["channels"][0]["type"], "jsonl",
        "{stdout}"
    );
    assert_eq!(
        shown["alerting"]["channels"][0]["path"], "/var/log/mon/pages.jsonl",
        "{stdout}"
    );
    assert_eq!(
        shown["server"]["auth"]["tokens"][0]["token"], "***",
        "{stdout}"
    );

    // An invalid file is not shown: its errors are, as with --check-config.
    std::fs::write(&config, "checks:\n  - name: trunk\n    type: sip_option\n").expect("written");
    let (code, stdout, stderr) = run(&["--show-config", "-c", file], &[]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(":3:5: checks[0].type: unknown check type `sip_option`")
            && stderr.contains("did you mean `sip_options`?")
            && stderr.ends_with("1 error found\n"),
        "{stderr}"
    );
}
