//! End-to-end: distinct secrets planted in every config field that can hold one (URLs of
//! checks, channels and exporters, tokens, keys, passwords, headers, webhook, LiveKit,
//! Supabase and Railway secrets, `${VAR}` values, `MON__*` overrides, an ingested error's fields), then every
//! output of the real binaries searched for them: API answers, `/metrics`, `mon config
//! show`, `mon config check` errors, log files, the store's file bytes and the JSON
//! exporter's file and POST body (caught by a loopback receiver).

use mon_tests::{Answer, Capture, TestServer, bin_dir, eventually, free_port};
use std::process::Command;
use std::time::Duration;

/// Every planted secret starts with this, so one search finds any of them (or a piece).
const MARK: &str = "PLNT";

/// A loopback HTTP receiver that records every request and answers `500` to
/// `/export` (so the exporter records an error with its URL) and `200` to everything
/// else.
fn receiver() -> Capture {
    let receiver = Capture::start();
    receiver.answer_with(|r| {
        Answer::status(if r.path.starts_with("/export") {
            500
        } else {
            200
        })
        .body("ok")
    });
    receiver
}

/// How long the test waits for each path to have run.
const WAIT: Duration = Duration::from_secs(60);

/// The configuration, with `{recv}` (the receiver) and `{closed}` (nothing listens) filled.
fn config(recv: u16, closed: u16) -> String {
    format!(
        r#"server:
  auth:
    tokens:
      - {{ name: admin, token: "${{ADMIN_TOKEN}}", role: admin }}
      - {{ name: reader, token: PLNTreadTokenLiteral, role: read }}
      - {{ name: agent, token: ${{INGEST_TOKEN}}, role: ingest }}
storage:
  path: "{{dir}}/mon.db"
logging:
  dir: "{{dir}}/logs"
checks:
  - name: api
    type: http
    url: "http://user:PLNTcheckPassword@127.0.0.1:{recv}/health?token=PLNTcheckQuery"
    headers:
      Authorization: Bearer PLNTcheckBearer
      X-Api-Key: ${{HEADER_KEY}}
    interval: 1s
  - name: cache
    type: redis
    url: "redis://:PLNTredisPassword@127.0.0.1:{closed}/0"
    interval: 1s
    timeout: 2s
  - name: db
    type: postgres
    url: "postgres://mon:PLNTpostgresPassword@127.0.0.1:{closed}/test"
    interval: 1s
    timeout: 2s
  - name: lk
    type: livekit
    url: "http://127.0.0.1:{closed}/PLNTlivekitPath0123456789abcdef"
    api_key: APIplainkey
    api_secret: PLNTlivekitSecret
    interval: 1s
    timeout: 2s
    critical: false
  - name: supabase
    type: supabase
    url: "http://127.0.0.1:{recv}/supabase"
    api_key: PLNTsupabaseKey
    interval: 1s
    timeout: 2s
    critical: false
  - name: railway
    type: railway
    project_id: p-1
    token: PLNTrailwayToken
    endpoint: "http://127.0.0.1:{recv}/graphql/v2"
    interval: 1s
    timeout: 2s
    critical: false
livekit:
  webhook: {{ api_key: APIplainkey, api_secret: PLNTwebhookReceiverSecret }}
metrics:
  interval: 1s
  exporters:
    pushgateway:
      url: "http://pusher:PLNTpushPassword@127.0.0.1:{closed}/?token=PLNTpushQuery"
      interval: 1s
    json:
      path: "{{dir}}/export/metrics.json"
      url: "http://127.0.0.1:{recv}/export?api_key=PLNTjsonQuery"
      interval: 1s
    remote_write:
      url: "http://rw:PLNTremoteWritePassword@127.0.0.1:{recv}/export-rw?token=PLNTremoteWriteQuery"
      headers: {{ X-Scope-OrgID: PLNTremoteWriteHeader }}
      bearer_token: PLNTremoteWriteBearer
      interval: 1s
alerting:
  evaluation_interval: 1s
  default_rules: false
  rules:
    - {{ name: Always, expr: "cpu_percent >= 0", severity: warning }}
  channels:
    - name: hook
      type: webhook
      url: "http://127.0.0.1:{recv}/hooks/PLNThookPathToken?token=PLNThookQuery"
      secret: PLNThookSecretFromFile
      headers: {{ X-Hook-Token: PLNThookHeader }}
    - name: slack
      type: slack
      webhook_url: "http://127.0.0.1:{closed}/services/T0PLNT123/B0PLNT456/PLNTslackToken"
    - name: pager
      type: pagerduty
      routing_key: PLNTpagerdutyKey
      url: "http://127.0.0.1:{closed}/v2/enqueue?key=PLNTpagerQuery"
    - name: mail
      type: email
      host: 127.0.0.1
      port: {closed}
      tls: none
      username: mon
      password: PLNTmailPassword
      from: mon@example.com
      to: [ops@example.com]
"#
    )
}

/// The environment: `${VAR}` values (one with ` #`, which YAML would cut) and an override.
const ENV: &[(&str, &str)] = &[
    ("ADMIN_TOKEN", "PLNTadminToken #tail"),
    ("INGEST_TOKEN", "PLNTingestToken"),
    ("HEADER_KEY", "PLNTheaderFromEnv"),
    (
        "MON__ALERTING__CHANNELS__0__SECRET",
        "PLNThookSecretOverride",
    ),
];

/// Every marked word in `text`, for the assertion message.
fn leaks(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .match_indices(MARK)
        .map(|(i, _)| text[i..].chars().take(40).collect())
        .collect();
    found.dedup();
    found
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(MARK), "secrets in {what}: {:?}", leaks(text));
}

#[test]
fn planted_secrets_appear_in_no_output() {
    let seen = receiver();
    let closed = free_port();
    let server = TestServer::start_with_env(&config(seen.addr().port(), closed), ENV);
    let base = server.url();
    let admin = "PLNTadminToken #tail";
    let client = reqwest::blocking::Client::new();
    // An answer, which must be a real one (a 401 or 404 would hide nothing).
    let get = |path: &str| -> String {
        let response = client
            .get(format!("{base}{path}"))
            .bearer_auth(admin)
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        assert!(status < 400 || status == 503, "GET {path}: {status} {text}");
        text
    };

    // The admin token is the whole `${VAR}` value, ` #tail` included.
    let whoami = get("/api/v1/auth/whoami");
    assert!(whoami.contains("admin"), "{whoami}");

    // An application error with a secret in its context and its message.
    let answer = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth("PLNTingestToken")
        .json(&serde_json::json!([{
            "type": "error", "kind": "LLM_AUTH",
            "message": "provider refused Bearer PLNTbearerInMessage0123",
            "context": {"api_key": "PLNTingestedApiKey", "call_id": "c1",
                        "url": "https://u:PLNTctxUrlPassword@llm.example/v1?key=PLNTctxQuery"}
        }]))
        .send()
        .expect("ingest");
    assert_eq!(answer.status(), 200, "{:?}", answer.text());

    // Wait until every path that could carry a secret has run at least once.
    eventually("the exporters to fail and record why", WAIT, || {
        let status: serde_json::Value = serde_json::from_str(&get("/api/v1/status")).ok()?;
        let exporters = &status["exporters"];
        (exporters["pushgateway"]["last_error"].is_string()
            && exporters["json_http"]["last_error"].is_string()
            && exporters["remote_write"]["last_error"].is_string())
        .then_some(())
    });
    eventually(
        "the JSON exporter's POST of the error, the webhook and the hosted-service checks",
        WAIT,
        || {
            let seen = seen.requests();
            let posted =
                |r: &mon_tests::Request, path: &str| r.method == "POST" && r.path.starts_with(path);
            (seen
                .iter()
                .any(|r| posted(r, "/export") && r.text().contains("LLM_AUTH"))
                && seen.iter().any(|r| posted(r, "/hooks/"))
                && seen.iter().any(|r| posted(r, "/graphql/v2"))
                && seen
                    .iter()
                    .any(|r| r.path.starts_with("/supabase/auth/v1/health")))
            .then_some(())
        },
    );
    eventually("the exported file", WAIT, || {
        server
            .dir
            .path()
            .join("export/metrics.json")
            .exists()
            .then_some(())
    });
    eventually(
        "failed deliveries on the unreachable channels",
        WAIT,
        || {
            let channels = get("/api/v1/channels");
            (channels.matches("last_error\":\"").count() >= 3).then_some(())
        },
    );
    eventually("the ingested error in the snapshot", WAIT, || {
        get("/api/v1/snapshot").contains("LLM_AUTH").then_some(())
    });
    eventually("a result of every check", WAIT, || {
        let checks = get("/api/v1/checks");
        ["\"api\"", "\"cache\"", "\"db\"", "\"lk\""]
            .iter()
            .all(|c| checks.contains(c))
            .then_some(())
    });

    // API answers.
    for path in [
        "/api/v1/status",
        "/api/v1/snapshot",
        "/api/v1/checks",
        "/api/v1/checks/api",
        "/api/v1/checks/cache/results",
        "/api/v1/checks/db/results",
        "/api/v1/checks/lk/results",
        "/api/v1/channels",
        "/api/v1/rules",
        "/api/v1/alerts",
        "/api/v1/errors",
        "/api/v1/logs?limit=1000",
        "/api/v1/auth/whoami",
        "/health",
        "/health/detailed",
        "/metrics",
        "/status",
    ] {
        assert_clean(path, &get(path));
    }
    // The JSON exporter's POST bodies and file (other requests, such as the check's
    // own probe and the webhook, carry their credentials to where they belong).
    for request in seen.requests() {
        if request.method == "POST" && request.path.starts_with("/export") {
            assert_clean("the JSON exporter's POST body", &request.text());
        }
    }

    // The CLI: `mon status --json`, `mon config show`, `mon config check`.
    let mon = |args: &[&str], extra: &[(&str, &str)]| {
        Command::new(bin_dir().join("mon"))
            .args(args)
            .envs(ENV.iter().copied())
            .envs(extra.iter().copied())
            .env("MON_SERVER", &base)
            .env("MON_TOKEN", admin)
            .output()
            .expect("mon runs")
    };
    let file = server.dir.path().join("mon.yaml");
    let file = file.to_str().expect("utf-8");
    let out = mon(&["status", "--output", "json"], &[]);
    assert_clean("mon status --json", &String::from_utf8_lossy(&out.stdout));
    let out = mon(&["config", "show", file], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_clean("mon config show", &String::from_utf8_lossy(&out.stdout));
    // A config error in a field holding a secret, from the file, a `${VAR}` and an override.
    let broken = server.dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "checks:\n  - { name: a, type: postgres, url: 'postgres://u:PLNTfilePw@db:99999/x' }\n",
    )
    .expect("write");
    let broken = broken.to_str().expect("utf-8");
    for (args, extra) in [
        (vec!["config", "check", broken], vec![]),
        (
            vec!["config", "check", file],
            vec![("MON__CHECKS__1__URL", "redis://:PLNTover@127.0.0.1:99999/0")],
        ),
        (
            vec!["config", "check", file],
            vec![("HEADER_KEY", "PLNT\u{7}control")],
        ),
    ] {
        let out = mon(&args, &extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_clean("mon config check", &err);
    }

    // Files: the store (and its WAL), log files, the exported file.
    drop(client);
    let all = mon_tests::written_files(server.dir.path());
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.iter().any(|n| n.ends_with("mon.db")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("/logs/")), "{names:?}");
    assert!(
        names.iter().any(|n| n.ends_with("metrics.json")),
        "{names:?}"
    );
    assert!(
        all.iter()
            .any(|(n, t)| n.ends_with("metrics.json") && t.contains("LLM_AUTH")),
        "the exported file carries the error"
    );
    for (name, text) in &all {
        if name.ends_with("broken.yaml") {
            continue;
        }
        assert_clean(name, text);
    }
}
