//! End-to-end: callers' personal data — a phone number, an e-mail address, a LiveKit
//! participant identity and name (in fields: a name in free text is not recognisable), a
//! SIP `From` URI, client addresses (one in events, one
//! through `X-Forwarded-For` from a trusted proxy) — planted in every entry of the real
//! `mon-server` with the default `privacy` section: events of each kind (texts, labels,
//! fields, ids), error and log events, a LiveKit event, a signed LiveKit webhook, bad
//! tokens seen by mon's own security layer. Then every output is searched for the raw
//! values: API answers, `/metrics`, the log files mon writes, the raw bytes of the
//! SQLite files, and the notifications a loopback webhook receiver got. The pseudonyms
//! still group one caller: the same token for the same number, across calls and across
//! a restart.

use mon_core::Privacy;
use mon_core::privacy::PrivacyConfig;
use mon_tests::{Capture, Stop, TestServer, eventually};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

const ADMIN: &str = "privacy-admin-token";
const INGEST: &str = "privacy-ingest-token";
const LK_KEY: &str = "APIprivacy";
const LK_SECRET: &str = "privacy-webhook-secret-0123456789";
const WAIT: Duration = Duration::from_secs(60);

const PHONE: &str = "+15105550123";
const OTHER_PHONE: &str = "+15105550999";
const EMAIL: &str = "jane.caller@example.org";
const IDENTITY: &str = "caller-identity-7781";
const NAME: &str = "Jane Caller Doe";
const SIP_FROM: &str = "sip:+15105550123@pbx.example.net";
const EVENT_IP: &str = "203.0.113.45";
const PROXIED_IP: &str = "198.51.100.77";

/// What must appear in no output: each planted value, or a telling piece of it.
const PLANTED: &[&str] = &[
    "5105550123",
    "5105550999",
    "jane.caller",
    "caller-identity-7781",
    "Jane Caller",
    "pbx.example.net",
    "203.0.113.45",
    "198.51.100.77",
];

fn config(hook: &str) -> String {
    format!(
        "server:\n  self_check: false\n  auth:\n    tokens:\n\
         \x20     - {{ name: ops, token: {ADMIN}, role: admin }}\n\
         \x20     - {{ name: agent, token: {INGEST}, role: ingest }}\n\
         \x20 security:\n    trusted_proxies: [127.0.0.1/32]\n\
         storage:\n  path: '{{dir}}/mon.db'\n\
         logging:\n  dir: '{{dir}}/logs'\n\
         livekit:\n  webhook: {{ api_key: {LK_KEY}, api_secret: {LK_SECRET} }}\n\
         metrics:\n  host: false\n  interval: 1s\n\
         security:\n  max_failed_logins: 2\n  failed_login_window: 5m\n\
         alerting:\n  evaluation_interval: 1s\n  channels:\n\
         \x20   - {{ name: hook, type: webhook, url: '{hook}' }}\n\
         \x20   - {{ name: log, type: log }}\n"
    )
}

/// One event of each kind, each carrying personal data where the kind has room for it.
fn events() -> Value {
    let call = |n: u32| format!("call-{PHONE}-{n}");
    let mut events = vec![
        json!({"type": "call_started", "call_id": call(1)}),
        json!({"type": "call_ended", "call_id": call(1), "duration_seconds": 42.0, "success": true}),
        json!({"type": "call_started", "call_id": call(2)}),
        json!({"type": "voice_quality", "conversation_id": call(2), "latency_ms": 180.0,
               "packet_loss": 0.01, "jitter_ms": 4.0, "mos": 4.2}),
        json!({"type": "request", "endpoint": format!("/callers/{PHONE}"), "method": "GET",
               "status": 200, "latency_ms": 12.0, "principal": EMAIL, "ip": EVENT_IP}),
        json!({"type": "ai_usage", "provider": "deepgram", "service": "stt", "model": "nova-2",
               "units": 12.0, "cost_usd": 0.01, "latency_ms": 300.0}),
        json!({"type": "gauge", "name": "caller_queue_depth", "value": 1.0,
               "labels": {"caller": PHONE, "route": SIP_FROM}}),
        json!({"type": "counter", "name": "calls_by_line", "labels": {"line": PHONE}}),
        json!({"type": "error", "kind": "SIP_INVITE_FAILED",
               "message": format!("INVITE from {SIP_FROM} failed for {EMAIL}"),
               "context": {"caller": PHONE, "participant_identity": IDENTITY, "call_id": call(1)}}),
        json!({"type": "security", "event": "toll_fraud_suspected", "principal": EMAIL,
               "ip": EVENT_IP, "detail": format!("calls to {PHONE} from {SIP_FROM}")}),
        json!({"type": "livekit", "event": "participant_joined", "payload": {
               "room": {"sid": "RM_P1", "name": format!("call-{PHONE}")},
               "participant": {"sid": "PA_P1", "identity": IDENTITY, "name": NAME,
                               "attributes": {"sip.phoneNumber": PHONE}}}}),
    ];
    // Three failed logins from one address and one e-mail: over the maximum of two.
    events.extend((0..3).map(|_| {
        json!({"type": "auth", "success": false, "method": "password", "principal": EMAIL,
               "ip": EVENT_IP, "reason": "bad_password", "endpoint": "/login"})
    }));
    // One caller's two calls and another caller's, in log search.
    for (number, n) in [(PHONE, 1), (PHONE, 2), (OTHER_PHONE, 3)] {
        events.push(
            json!({"type": "log", "level": "warn", "call_id": format!("call-{number}-{n}"),
            "message": format!("caller {number} ({EMAIL}) hung up"),
            "fields": {"caller": number, "participant_name": NAME, "email": EMAIL}}),
        );
    }
    Value::Array(events)
}

fn assert_clean(what: &str, text: &str) {
    for planted in PLANTED {
        if let Some(at) = text.find(planted) {
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(60)
                .map_or(0, |(i, _)| i);
            let context: String = text[from..].chars().take(140).collect();
            panic!("{planted:?} in {what}: …{context}…");
        }
    }
}

#[test]
fn planted_personal_data_appears_in_no_output_and_pseudonyms_still_group_calls() {
    let receiver = Capture::start();
    let mut server = TestServer::start(&config(&receiver.url("/hook")));
    let base = server.url();
    let client = reqwest::blocking::Client::new();
    let get = |path: &str| -> String {
        let answer = client
            .get(format!("{base}{path}"))
            .bearer_auth(ADMIN)
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = answer.status().as_u16();
        let text = answer.text().unwrap_or_default();
        assert!(status < 400 || status == 503, "GET {path}: {status} {text}");
        text
    };

    // The application's events.
    let answer = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(INGEST)
        .json(&events())
        .send()
        .expect("ingest");
    assert_eq!(answer.status(), 200, "{:?}", answer.text());

    // A LiveKit webhook, signed as LiveKit signs it.
    let body = json!({
        "event": "participant_joined", "id": "EV_P2", "createdAt": "1700000005",
        "room": {"sid": "RM_P2", "name": format!("support-{PHONE}")},
        "participant": {"sid": "PA_P2", "identity": IDENTITY, "name": NAME, "kind": "SIP",
            "attributes": {"sip.phoneNumber": PHONE, "sip.trunkPhoneNumber": OTHER_PHONE}},
    })
    .to_string();
    let signature = mon_health::livekit_token::webhook_token(
        LK_KEY,
        LK_SECRET,
        body.as_bytes(),
        SystemTime::now(),
    )
    .expect("a webhook token");
    let answer = client
        .post(format!("{base}/api/v1/webhooks/livekit"))
        .header("Authorization", signature)
        .header("Content-Type", "application/webhook+json")
        .body(body)
        .send()
        .expect("webhook");
    assert_eq!(answer.status(), 200, "{:?}", answer.text());

    // Bad tokens from a client behind the trusted loopback proxy: mon's own security layer
    // records each with the client's address.
    for i in 0..3 {
        let answer = client
            .get(format!("{base}/api/v1/status"))
            .bearer_auth(format!("wrong-token-{i}"))
            .header("X-Forwarded-For", PROXIED_IP)
            .send()
            .expect("a refused request");
        assert_eq!(answer.status(), 401);
    }

    // The key mon generated beside its store: the test computes the pseudonyms with it.
    let key = std::fs::read(server.dir.path().join("mon.db.privacy-key")).expect("the key file");
    let privacy = Privacy::new(&PrivacyConfig::default(), &key).expect("the policy");
    let caller = privacy.token(PHONE);
    let other = privacy.token(OTHER_PHONE);
    assert_ne!(caller, other);
    let event_ip = privacy
        .ip(EVENT_IP.parse().expect("an address"))
        .expect("pseudonymised, not dropped")
        .to_string();
    let proxied_ip = privacy
        .ip(PROXIED_IP.parse().expect("an address"))
        .expect("pseudonymised, not dropped")
        .to_string();

    // Wait for every path: the offender alert notified, the webhook and the ingested
    // LiveKit event counted, the security layer's events stored.
    let notified = eventually(
        "the brute-force alert at the webhook receiver",
        WAIT,
        || {
            let bodies: Vec<String> = receiver.requests().iter().map(|r| r.text()).collect();
            let all = bodies.join("\n");
            (all.contains(&event_ip) && all.contains(&privacy.token(EMAIL))).then_some(all)
        },
    );
    assert!(notified.contains("Brute Force Suspected"), "{notified}");
    eventually("both LiveKit joins counted", WAIT, || {
        let snapshot: Value = serde_json::from_str(&get("/api/v1/snapshot")).ok()?;
        (snapshot["livekit"]["participants_joined"] == 2).then_some(())
    });
    let summary: Value = eventually("the proxied client's failures", WAIT, || {
        let summary: Value = serde_json::from_str(&get("/api/v1/security/summary")).ok()?;
        let names = summary["top_ips_by_failures"].to_string();
        (names.contains(&proxied_ip) && names.contains(&event_ip)).then_some(summary)
    });
    // The security features still count per client, under its pseudonym.
    let top = summary["top_ips_by_failures"].as_array().expect("a list");
    let attacker = top
        .iter()
        .find(|a| a["name"] == event_ip.as_str())
        .expect("the event address");
    assert_eq!(attacker["failed_logins"], 3, "{summary}");

    // One caller's calls group under one token; another caller has another.
    let logs: Value = serde_json::from_str(&get("/api/v1/logs?limit=1000")).expect("JSON");
    let callers: Vec<String> = logs["logs"]
        .as_array()
        .expect("the records")
        .iter()
        .filter(|r| r["logger"] == "ingest")
        .filter_map(|r| r["fields"]["caller"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        callers.iter().filter(|c| **c == caller).count(),
        2,
        "{logs}"
    );
    assert_eq!(callers.iter().filter(|c| **c == other).count(), 1, "{logs}");
    let errors = get("/api/v1/errors");
    assert!(errors.contains(&privacy.token(SIP_FROM)), "{errors}");

    // Every output.
    let series: Value = serde_json::from_str(&get("/api/v1/metrics")).expect("JSON");
    let mut paths = vec![
        "/api/v1/status".to_string(),
        "/api/v1/snapshot".into(),
        "/api/v1/alerts".into(),
        "/api/v1/errors".into(),
        "/api/v1/logs?limit=1000".into(),
        "/api/v1/metrics".into(),
        "/api/v1/security/summary".into(),
        "/api/v1/security/events".into(),
        "/metrics".into(),
    ];
    for name in series["series"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
    {
        paths.push(format!("/api/v1/metrics/query?name={name}&from=1h"));
    }
    for path in &paths {
        assert_clean(path, &get(path));
    }
    let metrics = get("/metrics");
    assert!(
        metrics.contains(&caller),
        "the custom label, pseudonymised: {metrics}"
    );
    for request in receiver.requests() {
        assert_clean("a notification", &request.text());
    }

    // The same caller keeps the same token after a restart (the key is kept).
    server.restart(Stop::Term);
    let answer = client
        .post(format!("{}/api/v1/events", server.url()))
        .bearer_auth(INGEST)
        .json(&json!([{"type": "log", "level": "warn", "message": "again",
                       "fields": {"caller": PHONE}}]))
        .send()
        .expect("ingest after the restart");
    assert_eq!(answer.status(), 200, "{:?}", answer.text());
    let logs = client
        .get(format!("{}/api/v1/logs?limit=1000", server.url()))
        .bearer_auth(ADMIN)
        .send()
        .and_then(|a| a.text())
        .expect("logs");
    assert!(logs.matches(caller.as_str()).count() >= 3, "{logs}");
    server.stop(Stop::Term);

    // The files mon wrote: the store and its WAL, the log files.
    let all = mon_tests::written_files(server.dir.path());
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.iter().any(|n| n.ends_with("mon.db")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("/logs/")), "{names:?}");
    assert!(
        all.iter().any(|(_, text)| text.contains(&caller)),
        "the pseudonym is stored"
    );
    for (name, text) in &all {
        assert_clean(name, text);
    }
}
