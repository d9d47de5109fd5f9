//! End-to-end: alerts raised by applications (`POST /api/v1/alerts`, the agents' library
//! `mon_metrics::AlertSender`) and by Alertmanager clients (`POST /api/v2/alerts`) on the
//! real `mon-server`, delivered to a loopback webhook: deduplicated by title and labels,
//! silenced, refused with the field named, resolved by a post, by hand and after
//! `resolve_after`, and carried across a crash without paging again.

use mon_tests::alerts::{Heard, get, heard};
use mon_tests::{Capture, Stop, TestServer, eventually};
use serde_json::{Value, json};
use std::time::Duration;

const ADMIN: &str = "raised-admin-token";
const INGEST: &str = "raised-ingest-token";
const READ: &str = "raised-read-token";

/// No rules, evaluations every second (they resolve what `resolve_after` ends), a webhook.
const CONFIG: &str = "
server:
  self_check: false
  auth:
    tokens:
      - { name: ops, token: raised-admin-token, role: admin }
      - { name: agent, token: raised-ingest-token, role: ingest }
      - { name: grafana, token: raised-read-token, role: read }
storage:
  path: '{dir}/mon.db'
alerting:
  evaluation_interval: 1s
  default_rules: false
  channels:
    - { name: hook, type: webhook, url: '{receiver}' }
";

const PATIENCE: Duration = Duration::from_secs(30);

fn start(receiver: &Capture) -> TestServer {
    TestServer::start(&CONFIG.replace("{receiver}", &receiver.url("/hook")))
}

/// `POST path` with `body` and a bearer `token`: status and body text.
fn post(server: &TestServer, token: Option<&str>, path: &str, body: &Value) -> (u16, String) {
    let mut request = reqwest::blocking::Client::new()
        .post(format!("{}{path}", server.url()))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    (
        response.status().as_u16(),
        response.text().unwrap_or_default(),
    )
}

/// `POST /api/v1/alerts` with the ingest token; fails unless 200; the answer.
fn raise(server: &TestServer, body: Value) -> Value {
    let (status, text) = post(server, Some(INGEST), "/api/v1/alerts", &body);
    assert_eq!(status, 200, "{body}: {text}");
    serde_json::from_str(&text).expect("JSON")
}

fn firing(title: &str, labels: Value) -> Value {
    json!({
        "severity": "critical",
        "title": title,
        "message": format!("{title} happened"),
        "labels": labels,
    })
}

/// The notifications heard for alerts of `title`.
fn heard_of(receiver: &Capture, title: &str) -> Vec<Heard> {
    heard(receiver)
        .into_iter()
        .filter(|h| h.rule == title)
        .collect()
}

/// Waits until the receiver heard `transitions` (in order) for `title`.
fn wait_heard(receiver: &Capture, title: &str, transitions: &[&str]) {
    eventually(&format!("{title}: {transitions:?} heard"), PATIENCE, || {
        let got: Vec<String> = heard_of(receiver, title)
            .into_iter()
            .map(|h| h.transition)
            .collect();
        if got == transitions {
            Ok(())
        } else {
            Err(format!("heard {got:?}"))
        }
    });
}

fn alert(server: &TestServer, id: &str) -> Value {
    get(server, READ, &format!("/api/v1/alerts/{id}"))
}

/// Waits until every notification about alert `id` is recorded as delivered.
fn wait_delivered(server: &TestServer, id: &str) {
    eventually(&format!("{id}: deliveries recorded"), PATIENCE, || {
        let detail = alert(server, id);
        let sent = detail["notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !sent.is_empty() && sent.iter().all(|n| n["state"] == "delivered") {
            Ok(())
        } else {
            Err(format!("notifications {sent:?}"))
        }
    });
}

#[test]
fn application_alerts_dedupe_silence_resolve_three_ways_and_survive_a_crash() {
    let receiver = Capture::start();
    let mut server = start(&receiver);

    // Raised, then raised again: one alert, one page.
    let labels = json!({"service": "agent", "provider": "tts"});
    let first = raise(&server, firing("TTS down", labels.clone()));
    assert_eq!(first["outcome"], "opened", "{first}");
    let id = first["alert"]["id"].as_str().expect("id").to_string();
    assert_eq!(first["alert"]["state"], "firing");
    assert_eq!(first["alert"]["source"], "api:agent");
    assert_eq!(
        first["alert"]["annotations"]["summary"],
        "TTS down happened"
    );
    let again = raise(&server, firing("TTS down", labels.clone()));
    assert_eq!(again["outcome"], "refreshed", "{again}");
    assert_eq!(again["alert"]["id"], id.as_str());
    wait_heard(&receiver, "TTS down", &["firing"]);
    let listed = get(&server, READ, "/api/v1/alerts");
    let shown: Vec<&Value> = listed["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["rule"] == "TTS down")
        .collect();
    assert_eq!(shown.len(), 1, "{listed}");
    assert_eq!(shown[0]["source"], "api:agent");
    // Other labels: another alert.
    let other = raise(&server, firing("TTS down", json!({"service": "other"})));
    assert_eq!(other["outcome"], "opened");
    assert_ne!(other["alert"]["id"], id.as_str());

    // 1. Resolved by a later post.
    let resolved = raise(
        &server,
        json!({"title": "TTS down", "labels": labels, "status": "resolved"}),
    );
    assert_eq!(resolved["outcome"], "resolved", "{resolved}");
    assert_eq!(resolved["alert"]["id"], id.as_str());
    wait_heard(&receiver, "TTS down", &["firing", "firing", "resolved"]);
    assert_eq!(alert(&server, &id)["state"], "resolved");
    let not_open = raise(
        &server,
        json!({"title": "TTS down", "labels": labels, "status": "resolved"}),
    );
    assert_eq!(not_open["outcome"], "not_open");
    assert!(not_open["alert"].is_null());

    // 2. Resolved by hand (admin), by id.
    let db = raise(&server, firing("DB lost", json!({})));
    let db_id = db["alert"]["id"].as_str().expect("id");
    let (status, text) = post(
        &server,
        Some(ADMIN),
        &format!("/api/v1/alerts/{db_id}/resolve"),
        &json!({"by": "ops", "comment": "failed over"}),
    );
    assert_eq!(status, 200, "{text}");
    wait_heard(&receiver, "DB lost", &["firing", "resolved"]);

    // 3. Resolved when not raised again within resolve_after.
    let mut short = firing("LLM slow", json!({}));
    short["resolve_after"] = json!("2s");
    let llm = raise(&server, short);
    let llm_id = llm["alert"]["id"].as_str().expect("id").to_string();
    wait_heard(&receiver, "LLM slow", &["firing", "resolved"]);
    let history = alert(&server, &llm_id);
    assert_eq!(history["state"], "resolved");
    assert!(
        history["history"]
            .as_array()
            .expect("history")
            .iter()
            .any(|e| e["kind"] == "resolved" && e["detail"] == "not raised again in time"),
        "{history}"
    );

    // A silenced alert is opened, marked silenced and not notified.
    let (status, text) = post(
        &server,
        Some(ADMIN),
        "/api/v1/silences",
        &json!({"matchers": [{"name": "service", "value": "quiet"}], "duration": "1h", "created_by": "test"}),
    );
    assert_eq!(status, 201, "{text}");
    let quiet = raise(&server, firing("Quiet one", json!({"service": "quiet"})));
    assert_eq!(quiet["alert"]["silenced"], true, "{quiet}");
    let quiet_id = quiet["alert"]["id"].as_str().expect("id");
    let history = alert(&server, quiet_id);
    assert!(
        history["history"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("not notified: silenced by")),
        "{history}"
    );

    // Across a crash: the open alert goes on (same id), a repeat post refreshes it and
    // nothing is paged again; a short resolve_after still resolves after the restart.
    // The kill comes once the deliveries are recorded: a crash between a send and its
    // record sends again with the same idempotency key (at least once, by design).
    let stays = raise(&server, firing("Stays", json!({})));
    let stays_id = stays["alert"]["id"].as_str().expect("id").to_string();
    let mut soon = firing("Ends soon", json!({}));
    soon["resolve_after"] = json!("8s");
    let soon_id = raise(&server, soon)["alert"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    wait_heard(&receiver, "Stays", &["firing"]);
    wait_heard(&receiver, "Ends soon", &["firing"]);
    for id in [&stays_id, &soon_id] {
        wait_delivered(&server, id);
    }
    assert_eq!(
        alert(&server, &soon_id)["state"],
        "firing",
        "Ends soon must still be open at the crash"
    );
    server.restart(Stop::Kill);
    assert_eq!(alert(&server, &stays_id)["state"], "firing");
    let after = raise(&server, firing("Stays", json!({})));
    assert_eq!(after["outcome"], "refreshed", "{after}");
    assert_eq!(after["alert"]["id"], stays_id.as_str());
    wait_heard(&receiver, "Ends soon", &["firing", "resolved"]);
    assert_eq!(
        heard_of(&receiver, "Stays").len(),
        1,
        "a restart must not page again"
    );
    assert!(heard_of(&receiver, "Quiet one").is_empty());
}

#[test]
fn bad_posts_are_refused_naming_the_field_and_need_the_ingest_role() {
    let receiver = Capture::start();
    let server = start(&receiver);
    let good = firing("X", json!({}));
    for (body, want) in [
        (json!({"title": "X", "message": "m"}), "severity: required"),
        (
            json!({"title": "X", "message": "m", "severity": "urgent"}),
            "severity: \\\"urgent\\\"",
        ),
        (
            json!({"title": " ", "message": "m", "severity": "info"}),
            "title:",
        ),
        (
            json!({"title": "X", "severity": "info"}),
            "message: required",
        ),
        (
            json!({"title": "X", "message": "m", "severity": "info", "labels": {"a-b": "1"}}),
            "labels.a-b:",
        ),
        (
            json!({"title": "X", "message": "m", "severity": "info", "resolve_after": "soon"}),
            "resolve_after=",
        ),
        (
            json!({"title": "X", "message": "m", "severity": "info", "status": "open"}),
            "status: \\\"open\\\"",
        ),
        (
            json!({"title": "X", "message": "m", "severity": "info", "colour": "red"}),
            "colour",
        ),
        (json!({"message": "m", "severity": "info"}), "title"),
    ] {
        let (status, text) = post(&server, Some(INGEST), "/api/v1/alerts", &body);
        assert_eq!(status, 400, "{body}: {text}");
        assert!(text.contains(want), "{body}: {text} should name {want}");
    }
    let (status, _) = post(&server, Some(READ), "/api/v1/alerts", &good);
    assert_eq!(status, 403, "a read token cannot raise");
    let (status, _) = post(&server, None, "/api/v1/alerts", &good);
    assert_eq!(status, 401);
    let (status, _) = post(&server, Some(READ), "/api/v2/alerts", &json!([]));
    assert_eq!(status, 403);
    let (status, _) = post(
        &server,
        Some(INGEST),
        "/api/v1/alerts/x/resolve",
        &json!({}),
    );
    assert_eq!(status, 403, "resolving by id stays an admin action");
    assert!(
        get(&server, READ, "/api/v1/alerts")["alerts"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "nothing refused was raised"
    );
}

#[test]
fn alertmanager_posts_follow_alertmanagers_semantics() {
    let receiver = Capture::start();
    let server = start(&receiver);
    let now = chrono::Utc::now();
    let later = (now + chrono::TimeDelta::minutes(10)).to_rfc3339();
    let alert = json!({
        "labels": {"alertname": "InstanceDown", "severity": "error", "job": "agent", "instance": "a:1"},
        "annotations": {"summary": "a:1 is down", "runbook_url": "https://runbooks/down"},
        "startsAt": (now - chrono::TimeDelta::minutes(1)).to_rfc3339(),
        "endsAt": later,
        "generatorURL": "http://prometheus/graph",
    });
    let unknown = json!({"labels": {"alertname": "Odd", "severity": "page"}});
    let (status, text) = post(
        &server,
        Some(INGEST),
        "/api/v2/alerts",
        &json!([alert, unknown]),
    );
    assert_eq!(
        (status, text.as_str()),
        (200, ""),
        "Alertmanager answers 200, no body"
    );
    wait_heard(&receiver, "InstanceDown", &["firing"]);
    let alerts = get(&server, READ, "/api/v1/alerts")["alerts"].clone();
    let down = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["rule"] == "InstanceDown")
        .expect("InstanceDown is open")
        .clone();
    assert_eq!(down["severity"], "error");
    assert_eq!(down["source"], "alertmanager:agent");
    assert_eq!(down["labels"]["job"], "agent");
    assert!(down["labels"].get("alertname").is_none());
    assert_eq!(down["annotations"]["runbook_url"], "https://runbooks/down");
    assert_eq!(
        down["annotations"]["generator_url"],
        "http://prometheus/graph"
    );
    let odd = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["rule"] == "Odd")
        .expect("Odd is open");
    assert_eq!(
        odd["severity"], "warning",
        "an unknown severity is a warning"
    );

    // Sent again (as Prometheus does every evaluation): nothing new. Then endsAt in the
    // past: resolved.
    let (status, _) = post(&server, Some(INGEST), "/api/v2/alerts", &json!([alert]));
    assert_eq!(status, 200);
    let mut ended = alert.clone();
    ended["endsAt"] = json!((chrono::Utc::now() - chrono::TimeDelta::seconds(1)).to_rfc3339());
    let (status, _) = post(&server, Some(INGEST), "/api/v2/alerts", &json!([ended]));
    assert_eq!(status, 200);
    wait_heard(&receiver, "InstanceDown", &["firing", "resolved"]);

    // A bad alert is named by its index; the good ones beside it are taken.
    let (status, text) = post(
        &server,
        Some(INGEST),
        "/api/v2/alerts",
        &json!([{"labels": {"alertname": "Fine"}}, {"labels": {"job": "x"}}, {"labels": {}}]),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("[1].labels.alertname: required"), "{text}");
    assert!(text.contains("[2].labels: at least one label"), "{text}");
    wait_heard(&receiver, "Fine", &["firing"]);
    let (status, text) = post(
        &server,
        Some(INGEST),
        "/api/v2/alerts",
        &json!({"labels": {}}),
    );
    assert_eq!(status, 400, "not an array: {text}");
}

#[test]
fn the_agents_library_raises_and_resolves() {
    use mon_metrics::{AlertSender, RaiseAlertBody};
    let receiver = Capture::start();
    let server = start(&receiver);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let sender = AlertSender::new(server.url(), Some(mon_core::Secret::new(INGEST)));
    let labels = [("service".to_string(), "agent".to_string())].into();
    let alert = RaiseAlertBody {
        severity: Some("error".into()),
        title: "STT down".into(),
        message: Some("Deepgram refuses connections".into()),
        labels,
        value: Some(12.0),
        ..RaiseAlertBody::default()
    };
    let raised = runtime.block_on(sender.raise(&alert)).expect("raised");
    assert_eq!(raised.outcome, "opened");
    let view = raised.alert.expect("the alert");
    assert_eq!(view.value, Some(12.0));
    wait_heard(&receiver, "STT down", &["firing"]);
    let resolved = runtime
        .block_on(sender.resolve(&alert.title, &alert.labels))
        .expect("resolved");
    assert_eq!(resolved.outcome, "resolved");
    wait_heard(&receiver, "STT down", &["firing", "resolved"]);

    let reader = AlertSender::new(server.url(), Some(mon_core::Secret::new(READ)));
    let error = runtime
        .block_on(reader.raise(&alert))
        .expect_err("a read token cannot raise");
    assert!(!error.retryable());
    let text = error.to_string();
    assert!(text.contains("403"), "{text}");
    assert!(!text.contains(READ), "the token never shows: {text}");
}
