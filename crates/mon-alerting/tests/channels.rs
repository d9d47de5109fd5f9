//! Slack, PagerDuty and webhook (`format: alertmanager`) channels through the
//! outbox against loopback receivers that answer as the real services do: Slack's
//! 200 `ok`, 429 + `Retry-After` and 400 `invalid_payload`; PagerDuty's 202, 500
//! and 400; Alertmanager's webhook v4 body shape, its group stable from firing to
//! resolution; the Alertmanager channel re-sending open (also acknowledged) alerts
//! with `endsAt` ahead. Every message links to mon's external URL.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use mon_alerting::{AlertEngine, AlertingConfig, Links, Snapshot};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One scripted answer: status, Retry-After, body.
type Answer = (u16, Option<&'static str>, &'static str);

/// Path, headers, JSON body and arrival time of one request.
type Request = (String, HeaderMap, Value, Instant);

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    /// Path, headers, JSON body and arrival time of every request.
    requests: Arc<Mutex<Vec<Request>>>,
}

async fn answer(State(s): State<Script>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    s.requests.lock().unwrap().push((
        uri.path().to_string(),
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
        Instant::now(),
    ));
    let (status, retry_after, text) = s
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((200, None, "ok"));
    let mut response = (StatusCode::from_u16(status).unwrap(), text.to_string()).into_response();
    if let Some(after) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", after.parse().unwrap());
    }
    response
}

async fn receiver(answers: &[Answer]) -> (String, Script) {
    let script = Script::default();
    script
        .answers
        .lock()
        .unwrap()
        .extend(answers.iter().copied());
    let app = Router::new().fallback(answer).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), script)
}

fn build(channel: &str, description: &str) -> AlertEngine {
    let config: AlertingConfig = serde_yaml_ng::from_str(&format!(
        "default_rules: false
rules:
  - name: Memory Critical
    expr: memory_percent > 90
    severity: critical
    labels: {{ service: api }}
    annotations: {{ summary: 'Memory at {{{{ value }}}}%' }}
    description: '{description}'
channels:
  - {channel}
retry: {{ initial_backoff: 50ms, max_backoff: 200ms }}
"
    ))
    .unwrap();
    config
        .build_with(
            None,
            &Links::new(EXTERNAL_URL),
            &mon_alerting::channel_kinds(),
        )
        .unwrap()
}

/// `server.external_url` of the engines built here.
const EXTERNAL_URL: &str = "https://mon.example.com/voice";

async fn fire(engine: &AlertEngine) {
    engine.start_delivery();
    let mut s = Snapshot::default();
    s.set("memory_percent", 95.0);
    engine.evaluate_and_record(&s, chrono::Utc::now()).await;
}

/// "ops" acknowledges then resolves the one open alert; waits until the channel
/// delivered three notifications (firing, acknowledged, resolved).
async fn acknowledge_and_resolve(engine: &AlertEngine) {
    let id = engine.active_alerts()[0].id.clone();
    engine.acknowledge(&id, "ops", None).await.unwrap();
    engine.resolve(&id, "ops", None).await.unwrap();
    wait_for("ack and resolve", || {
        engine.channels_status()[0].delivered == 3
    })
    .await;
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_honours_retry_after_and_posts_block_kit() {
    let (url, script) = receiver(&[(429, Some("1"), "rate_limited"), (200, None, "ok")]).await;
    let long = "x".repeat(5000);
    let engine = build(
        &format!("{{ name: slack, type: slack, webhook_url: '{url}/services/T0/B0/secret' }}"),
        &long,
    );
    fire(&engine).await;
    wait_for("delivery", || engine.channels_status()[0].delivered == 1).await;
    let requests = script.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "one 429, then delivered");
    assert!(
        requests[1].3 - requests[0].3 >= Duration::from_millis(900),
        "Retry-After: 1 was honoured"
    );
    let body = &requests[1].2;
    assert_eq!(body["text"], "[FIRING] Memory Critical (critical)");
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["color"], "#a30200");
    assert_eq!(attachment["blocks"][0]["type"], "header");
    let context = attachment["blocks"].as_array().unwrap().last().unwrap();
    assert!(
        context["elements"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("<{EXTERNAL_URL}/#/alerts|mon>")),
        "{context}"
    );
    let section = attachment["blocks"][1]["text"]["text"].as_str().unwrap();
    assert_eq!(
        section.chars().count(),
        3000,
        "a section holds at most 3,000 characters"
    );
    assert!(section.starts_with("Memory at 95%\nxxx"));
    let status = &engine.channels_status()[0];
    assert!(status.last_error.as_deref().unwrap().contains("429"));
    assert!(
        !status.last_error.as_deref().unwrap().contains("secret"),
        "{status:?}"
    );
    engine.stop_delivery();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_refusals_are_not_retried() {
    for (status, reason) in [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ] {
        let (url, script) = receiver(&[(status, None, reason)]).await;
        let engine = build(
            &format!("{{ name: slack, type: slack, webhook_url: '{url}/x' }}"),
            "d",
        );
        fire(&engine).await;
        wait_for("the refusal", || engine.channels_status()[0].failed == 1).await;
        assert_eq!(script.requests.lock().unwrap().len(), 1, "{status}");
        let error = engine.channels_status()[0].last_error.clone().unwrap();
        assert!(
            error.contains(&format!("answered {status}: {reason}")),
            "{error}"
        );
        engine.stop_delivery();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_events_v2_with_retry_on_5xx_only() {
    let accepted = r#"{"status":"success","message":"Event processed","dedup_key":"k"}"#;
    let (url, script) = receiver(&[(500, None, "oops"), (202, None, accepted)]).await;
    let engine = build(
        &format!(
            "{{ name: pd, type: pagerduty, routing_key: R0UTING, url: '{url}', source: voice-1 }}"
        ),
        "d",
    );
    fire(&engine).await;
    wait_for("delivery", || engine.channels_status()[0].delivered == 1).await;
    let requests = script.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let (path, _, event, _) = &requests[1];
    assert_eq!(path, "/v2/enqueue");
    assert_eq!(event["routing_key"], "R0UTING");
    assert_eq!(event["event_action"], "trigger");
    assert_eq!(event["payload"]["severity"], "critical");
    assert_eq!(event["payload"]["source"], "voice-1");
    assert_eq!(
        event["payload"]["summary"],
        "Memory Critical: Memory at 95%"
    );
    assert!(event["dedup_key"].as_str().unwrap().starts_with("mon-"));
    assert_eq!(event["client"], "mon");
    let alerts_url = format!("{EXTERNAL_URL}/#/alerts");
    assert_eq!(event["client_url"], alerts_url.as_str());
    assert_eq!(event["links"][0]["href"], alerts_url.as_str());

    // Acknowledge and resolve carry the same dedup_key.
    acknowledge_and_resolve(&engine).await;
    let requests = script.requests.lock().unwrap().clone();
    let actions: Vec<(&str, &str)> = requests[1..]
        .iter()
        .map(|r| {
            (
                r.2["event_action"].as_str().unwrap(),
                r.2["dedup_key"].as_str().unwrap(),
            )
        })
        .collect();
    let key = actions[0].1;
    assert_eq!(
        actions,
        [("trigger", key), ("acknowledge", key), ("resolve", key)]
    );
    engine.stop_delivery();

    let (url, script) = receiver(&[(400, None, r#"{"status":"invalid event"}"#)]).await;
    let engine = build(
        &format!("{{ name: pd, type: pagerduty, routing_key: R, url: '{url}' }}"),
        "d",
    );
    fire(&engine).await;
    wait_for("the refusal", || engine.channels_status()[0].failed == 1).await;
    assert_eq!(script.requests.lock().unwrap().len(), 1);
    engine.stop_delivery();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_headers_and_alertmanager_v4_body() {
    let (url, script) = receiver(&[]).await;
    let engine = build(
        &format!(
            "{{ name: am-hook, type: webhook, url: '{url}/hook', format: alertmanager, headers: {{ X-Team: voice }} }}"
        ),
        "d",
    );
    fire(&engine).await;
    wait_for("delivery", || engine.channels_status()[0].delivered == 1).await;
    acknowledge_and_resolve(&engine).await;
    let requests = script.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3);
    let (_, headers, body, _) = &requests[0];
    assert_eq!(headers["x-team"], "voice");
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        headers["idempotency-key"]
            .to_str()
            .unwrap()
            .contains(":firing:")
    );
    assert!(
        headers.get("x-mon-signature").is_none(),
        "no secret, no signature"
    );
    assert_eq!(body["version"], "4");
    assert_eq!(body["receiver"], "am-hook");
    assert_eq!(body["truncatedAlerts"], 0);
    assert_eq!(body["externalURL"], EXTERNAL_URL);
    let labels = serde_json::json!({
        "alertname": "Memory Critical",
        "service": "api",
        "severity": "critical",
    });
    assert_eq!(body["groupLabels"], labels, "one group per alert instance");
    assert_eq!(body["commonLabels"], labels);
    assert_eq!(
        body["groupKey"],
        r#"{}:{alertname="Memory Critical", service="api", severity="critical"}"#
    );
    let alert = &body["alerts"][0];
    assert_eq!(alert["annotations"]["summary"], "Memory at 95%");
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(alert["generatorURL"], format!("{EXTERNAL_URL}/#/alerts"));
    assert!(alert["startsAt"].as_str().unwrap().contains('T'));
    assert!(alert["fingerprint"].is_string());

    // Firing, acknowledgement, resolution: one group, one alert; the
    // acknowledgement is that alert, still firing, acknowledged — not a new firing.
    // (idempotency key part, status, alert status, acknowledged_by, ends)
    let messages: Vec<(String, &str, &str, Option<&str>, bool)> = requests
        .iter()
        .map(|(_, headers, body, _)| {
            assert_eq!(body["groupKey"], requests[0].2["groupKey"]);
            assert_eq!(body["groupLabels"], labels);
            assert_eq!(body["externalURL"], EXTERNAL_URL);
            let alert = &body["alerts"][0];
            assert_eq!(
                alert["fingerprint"],
                requests[0].2["alerts"][0]["fingerprint"]
            );
            assert_eq!(alert["startsAt"], requests[0].2["alerts"][0]["startsAt"]);
            let key = headers["idempotency-key"].to_str().unwrap();
            (
                key.split(':').nth(1).unwrap().to_string(),
                body["status"].as_str().unwrap(),
                alert["status"].as_str().unwrap(),
                alert["annotations"]["acknowledged_by"].as_str(),
                alert["endsAt"] != "0001-01-01T00:00:00Z",
            )
        })
        .collect();
    assert_eq!(
        messages,
        [
            ("firing".to_string(), "firing", "firing", None, false),
            (
                "acknowledged".to_string(),
                "firing",
                "firing",
                Some("ops"),
                false
            ),
            (
                "resolved".to_string(),
                "resolved",
                "resolved",
                Some("ops"),
                true
            ),
        ]
    );
    engine.stop_delivery();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_keeps_hearing_open_alerts_acknowledged_ones_too() {
    let (url, script) = receiver(&[]).await;
    let engine = build(
        &format!("{{ name: am, type: alertmanager, urls: ['{url}'], resend_interval: 1s }}"),
        "d",
    );
    let holds = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let source = {
        let holds = holds.clone();
        mon_alerting::SnapshotSource::from_fn(move || {
            let mut s = Snapshot::default();
            let on = holds.load(std::sync::atomic::Ordering::SeqCst);
            s.set("memory_percent", if on { 95.0 } else { 10.0 });
            s
        })
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = engine
        .clone()
        .spawn(source, Duration::from_millis(100), async {
            let _ = stopped.await;
        });
    // (arrival, endsAt, acknowledged_by) of every post of the alert.
    let posts = || -> Vec<(Instant, chrono::DateTime<chrono::Utc>, Option<String>)> {
        script
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.0 == "/api/v2/alerts")
            .flat_map(|r| {
                r.2.as_array()
                    .unwrap()
                    .iter()
                    .map(|a| {
                        assert_eq!(a["labels"]["alertname"], "Memory Critical");
                        assert_eq!(a["generatorURL"], format!("{EXTERNAL_URL}/#/alerts"));
                        (
                            r.3,
                            a["endsAt"].as_str().unwrap().parse().unwrap(),
                            a["annotations"]["acknowledged_by"]
                                .as_str()
                                .map(String::from),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    wait_for("the firing post", || !posts().is_empty()).await;
    let (_, ends, by) = posts()[0].clone();
    assert_eq!(by, None);
    assert!(
        ends > chrono::Utc::now() + chrono::TimeDelta::seconds(2),
        "valid for 4 × 1 s"
    );

    let id = engine.active_alerts()[0].id.clone();
    engine.acknowledge(&id, "ops", None).await.unwrap();
    // Acknowledged, it is posted at once and then every second, always ending ahead.
    wait_for("three posts after the acknowledgement", || {
        posts()
            .iter()
            .filter(|p| p.2.as_deref() == Some("ops"))
            .count()
            >= 3
    })
    .await;
    let acked: Vec<_> = posts()
        .into_iter()
        .filter(|p| p.2.as_deref() == Some("ops"))
        .collect();
    for (at, ends, _) in &acked {
        let now = chrono::Utc::now() - chrono::TimeDelta::from_std(at.elapsed()).unwrap();
        assert!(
            *ends > now + chrono::TimeDelta::seconds(3),
            "{ends} vs {now}"
        );
    }

    // The condition stops holding: the resolution ends the alert when it resolved.
    holds.store(false, std::sync::atomic::Ordering::SeqCst);
    wait_for("the resolution", || {
        posts()
            .last()
            .is_some_and(|p| p.1 <= chrono::Utc::now() && p.2.as_deref() == Some("ops"))
    })
    .await;
    assert!(engine.active_alerts().is_empty());
    stop.send(()).unwrap();
    task.await.unwrap();
}
