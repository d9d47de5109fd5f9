//! Slack, PagerDuty and webhook (`format: alertmanager`) channels through the
//! outbox against loopback receivers that answer as the real services do: Slack's
//! 200 `ok`, 429 + `Retry-After` and 400 `invalid_payload`; PagerDuty's 202, 500
//! and 400; Alertmanager's webhook v4 body shape, its group stable from firing to
//! resolution; the Alertmanager channel re-sending open (also acknowledged) alerts
//! with `endsAt` ahead. Every message links to mon's external URL.

use mon_alerting::{AlertEngine, AlertingConfig, Links, Snapshot};
use mon_tests::{Answer, Capture, Request, eventually_async};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A receiver answering `answers` (status, Retry-After, body) in turn, then `200 ok`;
/// its base URL.
fn receiver(answers: &[(u16, Option<&str>, &str)]) -> (String, Capture) {
    let capture = Capture::start();
    capture.answer(Answer::status(200).body("ok"));
    capture.queue(answers.iter().map(|&(status, retry_after, body)| {
        let answer = Answer::status(status).body(body);
        match retry_after {
            Some(after) => answer.header("Retry-After", after),
            None => answer,
        }
    }));
    (capture.url(""), capture)
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
    eventually_async(what, Duration::from_secs(20), async || done()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_honours_retry_after_and_posts_block_kit() {
    let (url, script) = receiver(&[(429, Some("1"), "rate_limited"), (200, None, "ok")]);
    let long = "x".repeat(5000);
    let engine = build(
        &format!("{{ name: slack, type: slack, webhook_url: '{url}/services/T0/B0/secret' }}"),
        &long,
    );
    fire(&engine).await;
    wait_for("delivery", || engine.channels_status()[0].delivered == 1).await;
    let requests = script.requests();
    assert_eq!(requests.len(), 2, "one 429, then delivered");
    assert!(
        requests[1].at - requests[0].at >= Duration::from_millis(900),
        "Retry-After: 1 was honoured"
    );
    let body = &requests[1].json();
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

/// Seed `000`'s Slack channel: `channel`, `username` and `icon_emoji` go in the payload
/// as a legacy incoming webhook reads them; left out, they are not sent at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_sends_the_configured_channel_username_and_icon() {
    let (url, script) = receiver(&[]);
    let engine = build(
        &format!(
            "{{ name: slack, type: slack, webhook_url: '{url}/services/T0/B0/secret', \
             channel: '#livekit-alerts', username: LiveKit Monitor, icon_emoji: ':warning:' }}"
        ),
        "d",
    );
    fire(&engine).await;
    wait_for("delivery", || engine.channels_status()[0].delivered == 1).await;
    let body = script.requests()[0].json();
    assert_eq!(body["channel"], "#livekit-alerts", "{body}");
    assert_eq!(body["username"], "LiveKit Monitor", "{body}");
    assert_eq!(body["icon_emoji"], ":warning:", "{body}");
    assert_eq!(body["text"], "[FIRING] Memory Critical (critical)");
    engine.stop_delivery();

    let (url, script) = receiver(&[]);
    let engine = build(
        &format!("{{ name: slack, type: slack, webhook_url: '{url}/x' }}"),
        "d",
    );
    fire(&engine).await;
    wait_for("delivery", || engine.channels_status()[0].delivered == 1).await;
    let body = script.requests()[0].json();
    for key in ["channel", "username", "icon_emoji"] {
        assert!(body.get(key).is_none(), "{key} sent unconfigured: {body}");
    }
    engine.stop_delivery();

    for (extra, error) in [
        (
            "icon_emoji: warning",
            "icon_emoji: \"warning\" is not an emoji code",
        ),
        (
            "icon_emoji: ':no good:'",
            "icon_emoji: \":no good:\" is not an emoji code",
        ),
        ("channel: ' '", "channel: must not be empty"),
        ("username: ''", "username: must not be empty"),
        ("avatar: x", "avatar"),
    ] {
        let config: Result<AlertingConfig, _> = serde_yaml_ng::from_str(&format!(
            "channels:\n  - {{ name: slack, type: slack, webhook_url: 'http://127.0.0.1:9/x', {extra} }}\n"
        ));
        let message = match config {
            Err(e) => e.to_string(),
            Ok(config) => match config.build_with(
                None,
                &Links::new(EXTERNAL_URL),
                &mon_alerting::channel_kinds(),
            ) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{extra}: accepted"),
            },
        };
        assert!(message.contains(error), "{extra}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_refusals_are_not_retried() {
    for (status, reason) in [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ] {
        let (url, script) = receiver(&[(status, None, reason)]);
        let engine = build(
            &format!("{{ name: slack, type: slack, webhook_url: '{url}/x' }}"),
            "d",
        );
        fire(&engine).await;
        wait_for("the refusal", || engine.channels_status()[0].failed == 1).await;
        assert_eq!(script.requests().len(), 1, "{status}");
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
    let (url, script) = receiver(&[(500, None, "oops"), (202, None, accepted)]);
    let engine = build(
        &format!(
            "{{ name: pd, type: pagerduty, routing_key: R0UTING, url: '{url}', source: voice-1 }}"
        ),
        "d",
    );
    fire(&engine).await;
    wait_for("delivery", || engine.channels_status()[0].delivered == 1).await;
    let requests = script.requests();
    assert_eq!(requests.len(), 2);
    let (path, event) = (&requests[1].path, requests[1].json());
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
    let bodies: Vec<Value> = script.requests().iter().map(Request::json).collect();
    let actions: Vec<(&str, &str)> = bodies[1..]
        .iter()
        .map(|b| {
            (
                b["event_action"].as_str().unwrap(),
                b["dedup_key"].as_str().unwrap(),
            )
        })
        .collect();
    let key = actions[0].1;
    assert_eq!(
        actions,
        [("trigger", key), ("acknowledge", key), ("resolve", key)]
    );
    engine.stop_delivery();

    let (url, script) = receiver(&[(400, None, r#"{"status":"invalid event"}"#)]);
    let engine = build(
        &format!("{{ name: pd, type: pagerduty, routing_key: R, url: '{url}' }}"),
        "d",
    );
    fire(&engine).await;
    wait_for("the refusal", || engine.channels_status()[0].failed == 1).await;
    assert_eq!(script.requests().len(), 1);
    engine.stop_delivery();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_headers_and_alertmanager_v4_body() {
    let (url, script) = receiver(&[]);
    let engine = build(
        &format!(
            "{{ name: am-hook, type: webhook, url: '{url}/hook', format: alertmanager, headers: {{ X-Team: voice }} }}"
        ),
        "d",
    );
    fire(&engine).await;
    wait_for("delivery", || engine.channels_status()[0].delivered == 1).await;
    acknowledge_and_resolve(&engine).await;
    let requests = script.requests();
    assert_eq!(requests.len(), 3);
    let bodies: Vec<Value> = requests.iter().map(Request::json).collect();
    let (first, body) = (&requests[0], &bodies[0]);
    assert_eq!(first.header("x-team"), Some("voice"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert!(
        first
            .header("idempotency-key")
            .unwrap()
            .contains(":firing:")
    );
    assert!(
        first.header("x-mon-signature").is_none(),
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
        .zip(&bodies)
        .map(|(request, body)| {
            assert_eq!(body["groupKey"], bodies[0]["groupKey"]);
            assert_eq!(body["groupLabels"], labels);
            assert_eq!(body["externalURL"], EXTERNAL_URL);
            let alert = &body["alerts"][0];
            assert_eq!(alert["fingerprint"], bodies[0]["alerts"][0]["fingerprint"]);
            assert_eq!(alert["startsAt"], bodies[0]["alerts"][0]["startsAt"]);
            let key = request.header("idempotency-key").unwrap();
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
    let (url, script) = receiver(&[]);
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
            .requests()
            .iter()
            .filter(|r| r.path == "/api/v2/alerts")
            .flat_map(|r| {
                r.json()
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| {
                        assert_eq!(a["labels"]["alertname"], "Memory Critical");
                        assert_eq!(a["generatorURL"], format!("{EXTERNAL_URL}/#/alerts"));
                        (
                            r.at,
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
