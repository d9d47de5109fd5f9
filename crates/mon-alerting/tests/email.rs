//! The email channel against a real SMTP server we did not write: aiosmtpd
//! (`pip install aiosmtpd`, see .ci/run) started by the test with a fresh
//! self-signed certificate, STARTTLS and AUTH required (`mon_tests::Smtp`). The received message is
//! checked: envelope, AUTH, TLS, subject, text and HTML parts, links, Message-ID.

use mon_alerting::{AlertEngine, AlertingConfig, Snapshot};
use mon_tests::Smtp;
use std::time::Duration;

fn engine(smtp: &Smtp, password: &str) -> AlertEngine {
    let config: AlertingConfig = serde_yaml_ng::from_str(&format!(
        "default_rules: false
rules:
  - name: Memory Critical
    expr: memory_percent > 90
    severity: critical
    annotations: {{ summary: 'Memory at {{{{ value }}}}% <high>' }}
channels:
  - name: mail
    type: email
    host: 127.0.0.1
    port: {port}
    tls: starttls
    ca_file: {ca}
    username: mon
    password: {password}
    from: 'mon <alerts@example.com>'
    to: [oncall@example.com, sre@example.com]
    timeout: 10s
retry: {{ initial_backoff: 50ms, max_backoff: 200ms }}
",
        port = smtp.port,
        ca = smtp.cert.display()
    ))
    .unwrap();
    let links = mon_alerting::Links::new("https://mon.example.com/a&b");
    config
        .build_with(None, &links, &mon_alerting::channel_kinds())
        .unwrap()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    mon_tests::eventually_async(what, Duration::from_secs(30), async || done()).await;
}

async fn fire(engine: &AlertEngine) {
    engine.start_delivery();
    let mut s = Snapshot::default();
    s.set("memory_percent", 95.0);
    engine.evaluate_and_record(&s, chrono::Utc::now()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_through_a_real_smtp_server_with_starttls_and_auth() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(dir.path());
    let engine = engine(&smtp, "pa55");
    fire(&engine).await;
    wait_for("the mail", || engine.channels_status()[0].delivered == 1).await;
    let lines = smtp.received();
    assert_eq!(lines.len(), 1);
    let mail = &lines[0];
    assert_eq!(mail["from"], "alerts@example.com");
    assert_eq!(
        mail["to"],
        serde_json::json!(["oncall@example.com", "sre@example.com"])
    );
    assert_eq!(mail["authenticated"], true);
    assert_eq!(mail["login"], "mon");
    assert_eq!(mail["tls"], true);
    assert_eq!(mail["subject"], "[FIRING] Memory Critical (critical)");
    assert!(
        mail["message_id"].as_str().unwrap().ends_with("@mon>"),
        "{mail}"
    );
    let data = mail["data"].as_str().unwrap();
    assert!(
        data.contains("Content-Type: multipart/alternative"),
        "{data}"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("summary: Memory at 95% <high>"), "{text}");
    let html = mail["html"].as_str().unwrap();
    assert!(
        html.contains("<td>Memory at 95% &lt;high&gt;</td>"),
        "{html}"
    );
    // Both parts link to mon's alert list under server.external_url.
    assert!(
        text.contains("Alerts in mon: https://mon.example.com/a&b/#/alerts"),
        "{text}"
    );
    assert!(
        html.contains("<a href=\"https://mon.example.com/a&amp;b/#/alerts\">"),
        "{html}"
    );
    engine.stop_delivery();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(dir.path());
    let engine = engine(&smtp, "wrong");
    fire(&engine).await;
    wait_for("the refusal", || engine.channels_status()[0].failed == 1).await;
    let status = &engine.channels_status()[0];
    assert!(
        status.last_error.as_deref().unwrap().contains("535"),
        "{status:?}"
    );
    assert!(
        !status.last_error.as_deref().unwrap().contains("wrong"),
        "no password in errors"
    );
    assert!(smtp.received().is_empty());
    engine.stop_delivery();
}
