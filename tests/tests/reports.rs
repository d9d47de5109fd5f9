//! End-to-end: the scheduled stakeholder report of the real `mon-server`, mailed through
//! an `email` channel to a real SMTP server (aiosmtpd, STARTTLS and AUTH: `mon_tests::Smtp`)
//! every period of `reports.schedule`. Every mail is parsed (Python's `email` package):
//! each of the nine sections is in the text part and in the HTML part with its SVG chart;
//! the figures add up to the events sent; across a restart every period is mailed once,
//! none twice and none skipped; `GET /api/v1/reports/latest` is the last one mailed and
//! `GET /api/v1/reports` makes one on request.

use mon_tests::alerts::{self, open_alerts};
use mon_tests::{Smtp, Stop, TestServer, eventually, free_port};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const TOKEN: &str = "report-test-token";

/// Sections in their order: id and title.
const SECTIONS: [(&str, &str); 9] = [
    ("uptime", "Uptime"),
    ("incidents", "Incidents"),
    ("calls", "Calls"),
    ("voice_quality", "Voice quality"),
    ("csat", "Customer satisfaction"),
    ("ai_cost", "AI cost"),
    ("top_errors", "Top errors"),
    ("experiments", "Experiments"),
    ("deployments", "Deployments"),
];

const CONFIG: &str = "
server:
  auth:
    tokens:
      - { name: ops, token: report-test-token, role: admin }
storage:
  path: '{dir}/mon.db'
status_page:
  title: Voice Agent
checks:
  - { name: sip-edge, type: tcp, address: '127.0.0.1:{closed}', interval: 1s, timeout: 1s }
alerting:
  evaluation_interval: 1s
  default_rules: false
  rules:
    - { name: Port Down, each: checks, expr: \"check.status == 'unhealthy'\", severity: critical }
  channels:
    - name: stakeholders
      type: email
      host: 127.0.0.1
      port: {smtp}
      tls: starttls
      ca_file: '{ca}'
      username: mon
      password: pa55
      from: 'mon <reports@example.com>'
      to: [ceo@example.com]
      severities: []
reports:
  schedule: 3s
  delay: 1s
  channels: [stakeholders]
";

fn events() -> Vec<Value> {
    let mut out = vec![
        json!({"type":"call_ended","call_id":"c1","duration_seconds":60.0,"success":true}),
        json!({"type":"call_ended","call_id":"c2","duration_seconds":30.0,"success":true}),
        json!({"type":"call_ended","call_id":"c3","duration_seconds":90.0,"success":false}),
        json!({"type":"voice_quality","conversation_id":"c1","latency_ms":200.0,"packet_loss":0.0,"jitter_ms":3.0,"mos":4.4}),
        json!({"type":"voice_quality","conversation_id":"c3","latency_ms":400.0,"packet_loss":0.1,"jitter_ms":30.0,"mos":3.0}),
        json!({"type":"feedback","rating":5,"category":"voice"}),
        json!({"type":"feedback","rating":2,"category":"voice"}),
        json!({"type":"feedback","thumbs":"up","category":"answers"}),
        json!({"type":"ai_usage","provider":"openai","service":"llm","model":"gpt-4o","units":1.0,"cost_usd":0.5,"latency_ms":300.0,"call_id":"c1"}),
        json!({"type":"ai_usage","provider":"elevenlabs","service":"tts","model":"v2","units":1.0,"cost_usd":0.25,"latency_ms":100.0,"call_id":"c2"}),
        json!({"type":"deployment","service":"voice-agent","version":"2.3.0","commit":"9c01f36"}),
        json!({"type":"error","kind":"SIP_INVITE_FAILED","message":"INVITE to trunk failed"}),
    ];
    for i in 0..4 {
        let variant = if i % 2 == 0 { "control" } else { "warm" };
        out.push(json!({"type":"session","session_id":format!("s{i}"),"phase":"end","outcome":"completed",
                        "experiment":"tts-voice","variant":variant}));
    }
    out
}

fn post_events(server: &TestServer) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/events", server.url()))
        .bearer_auth(TOKEN)
        .json(&events())
        .send()
        .expect("POST /api/v1/events");
    assert_eq!(response.status(), 200, "{:?}", response.text());
}

/// A figure of a section of a report answer.
fn figure(report: &Value, section: &str, label: &str) -> Value {
    report["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["id"] == section)
        .and_then(|s| {
            s["figures"]
                .as_array()?
                .iter()
                .find(|f| f["label"] == label)
        })
        .map(|f| f["value"].clone())
        .unwrap_or_else(|| panic!("{section}: no figure {label:?} in {report}"))
}

/// The period of a mailed report, from its Message-ID `<report.FROM-TO@mon>`.
fn period(mail: &Value) -> (i64, i64) {
    let id = mail["message_id"].as_str().expect("a Message-ID");
    let span = id
        .strip_prefix("<report.")
        .and_then(|s| s.strip_suffix("@mon>"))
        .unwrap_or_else(|| panic!("not a report's Message-ID: {id}"));
    let (from, to) = span.split_once('-').expect("FROM-TO");
    (from.parse().unwrap(), to.parse().unwrap())
}

/// "Calls ended: N" of a mail's text part.
fn calls_ended(mail: &Value) -> u64 {
    let text = mail["text"].as_str().expect("a text part");
    text.lines()
        .find_map(|l| l.strip_prefix("Calls ended: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no calls figure in {text}"))
}

/// Checks every section of one mail, in both parts.
fn check_sections(mail: &Value) {
    let subject = mail["subject"].as_str().unwrap_or_default();
    assert!(subject.starts_with("Voice Agent: Report, "), "{subject}");
    assert_eq!(mail["to"], json!(["ceo@example.com"]));
    assert_eq!(mail["tls"], true);
    let text = mail["text"]
        .as_str()
        .expect("a text part")
        .replace("\r\n", "\n");
    let html = mail["html"].as_str().expect("an HTML part");
    let mut at = 0;
    for (id, title) in SECTIONS {
        let heading = format!("\n== {title} ==\n");
        let found = text[at..]
            .find(&heading)
            .unwrap_or_else(|| panic!("{title} missing or out of order in {text}"));
        at += found + heading.len();
        let start = html
            .find(&format!("<section id=\"section-{id}\">"))
            .unwrap_or_else(|| panic!("section {id} missing from the HTML: {html}"));
        let section = &html[start..start + html[start..].find("</section>").expect("closed")];
        assert!(section.contains(&format!(">{title}</h2>")), "{section}");
        assert!(
            section.contains("<svg xmlns=\"http://www.w3.org/2000/svg\"")
                && section.contains("</svg>"),
            "{id} has no chart: {section}"
        );
    }
    assert!(!html.contains("<script"), "{html}");
}

#[test]
fn the_scheduled_report_is_mailed_once_per_period_with_every_section() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let smtp = Smtp::start(dir.path());
    let config = CONFIG
        .replace("{closed}", &free_port().to_string())
        .replace("{smtp}", &smtp.port.to_string())
        .replace("{ca}", &smtp.cert.display().to_string());
    let mut server = TestServer::start(&config);
    post_events(&server);

    // The check's alert fires; acknowledging it gives the incidents their MTTA.
    let alert = eventually("Port Down firing", Duration::from_secs(30), || {
        open_alerts(&server, TOKEN)
            .remove("Port Down")
            .filter(|a| a.state == "firing")
    });
    let ack = alerts::post(&server, TOKEN, &format!("/api/v1/alerts/{}/ack", alert.id));
    assert!(ack.status().is_success(), "{:?}", ack.text());

    // Every call sent is in exactly one mailed period.
    eventually(
        "the calls in the mailed reports",
        Duration::from_secs(30),
        || {
            let mails = smtp.received();
            (mails.iter().map(calls_ended).sum::<u64>() == 3).then_some(mails)
        },
    );
    // A report made after the acknowledgement counts it.
    eventually(
        "a report with the acknowledged alert",
        Duration::from_secs(30),
        || {
            smtp.received()
                .iter()
                .any(|m| {
                    m["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("Alerts fired: 1") && !t.contains("MTTA: —"))
                })
                .then_some(())
        },
    );

    // The last mailed report is the latest one the API serves.
    let latest = alerts::get(&server, TOKEN, "/api/v1/reports/latest");
    let mails = smtp.received();
    assert!(
        mails.iter().any(|m| m["subject"] == latest["title"]),
        "{latest}"
    );

    // One made on request over the whole run holds every event's figures.
    let report = alerts::get(&server, TOKEN, "/api/v1/reports?since=1h");
    let ids: Vec<&str> = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, SECTIONS.map(|(id, _)| id).to_vec());
    assert_eq!(figure(&report, "calls", "Calls ended"), 3.0);
    let success = figure(&report, "calls", "Success rate").as_f64().unwrap();
    assert!((success - 200.0 / 3.0).abs() < 1e-9, "{success}");
    assert_eq!(figure(&report, "calls", "Average duration"), 60.0);
    assert_eq!(figure(&report, "voice_quality", "Average MOS"), 3.7);
    assert_eq!(
        figure(&report, "voice_quality", "Poor (MOS below 3.6)"),
        50.0
    );
    // 5 and a thumbs up satisfied, 2 not.
    let csat = figure(&report, "csat", "CSAT (satisfied)")
        .as_f64()
        .unwrap();
    assert!((csat - 200.0 / 3.0).abs() < 1e-9, "{csat}");
    assert_eq!(figure(&report, "csat", "Average rating"), 3.5);
    assert_eq!(figure(&report, "ai_cost", "Total"), 0.75);
    assert_eq!(figure(&report, "ai_cost", "Per call ended"), 0.25);
    assert_eq!(figure(&report, "top_errors", "Error groups seen"), 1.0);
    assert_eq!(figure(&report, "experiments", "Experiments"), 1.0);
    assert_eq!(figure(&report, "deployments", "Deployments"), 1.0);
    assert_eq!(figure(&report, "incidents", "Alerts fired"), 1.0);
    assert_eq!(figure(&report, "uptime", "Overall uptime"), 0.0);

    // Across a restart: each period once, in order, none skipped.
    let before = smtp.received().len();
    server.restart(Stop::Term);
    eventually(
        "two more reports after the restart",
        Duration::from_secs(30),
        || (smtp.received().len() >= before + 2).then_some(()),
    );
    server.stop(Stop::Term);
    let mails = smtp.received();
    let mut periods: Vec<(i64, i64)> = mails.iter().map(period).collect();
    let unique: BTreeSet<(i64, i64)> = periods.iter().copied().collect();
    assert_eq!(
        unique.len(),
        periods.len(),
        "a period was mailed twice: {periods:?}"
    );
    periods.sort_unstable();
    for pair in periods.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "a period is missing between {pair:?}");
        assert_eq!(pair[1].1 - pair[1].0, 3, "{pair:?}");
    }
    for mail in &mails {
        check_sections(mail);
    }
    assert_eq!(mails.iter().map(calls_ended).sum::<u64>(), 3);
}
