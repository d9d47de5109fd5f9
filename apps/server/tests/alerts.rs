//! Alerting through the real server: host metrics cross a rule's threshold, the
//! alert fires and reaches a loopback webhook; the alerts, silences, rules and
//! channels API (and the seed's `/health/alerts`) answer in their documented
//! shapes, with admin required for every change.

mod common;
use axum::http::StatusCode;
use common::{call_json as call, config, start, wait_for};
use mon_tests::Capture;
use serde_json::{Value, json};

/// Two rules and a webhook to the receiver at `{receiver}`.
const BODY: &str = "
metrics:
  interval: 1s
alerting:
  evaluation_interval: 1s
  default_rules: false
  rules:
    - name: Busy Host
      expr: cpu_percent >= 0
      severity: critical
      labels: { service: api }
      annotations: { summary: 'CPU at {{ value }}%' }
    - name: Room Creation Failures
      expr: room_creation_failures > 5
  custom_variables: [room_creation_failures]
  channels:
    - { name: hook, type: webhook, url: 'http://{receiver}/hook' }
";

const ADMIN: Option<&str> = Some(common::ADMIN);
const READ: Option<&str> = Some(common::READ);

fn transitions(received: &Capture) -> Vec<String> {
    received
        .bodies()
        .iter()
        .map(|b| b["transition"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_notify_and_are_managed_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let received = Capture::start();
    let receiver = received.addr().to_string();
    let app = start(&config("", BODY), &dir, &[("{receiver}", &receiver)]).await;

    // The host collector publishes cpu_percent; the rule fires and the webhook hears it.
    let mut alerts = Value::Null;
    wait_for("a firing alert", async || {
        alerts = call(&app, "GET", "/api/v1/alerts?state=firing", READ, None)
            .await
            .1;
        alerts["alerts"].as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    let alert = alerts["alerts"][0].clone();
    let id = alert["id"].as_str().unwrap().to_string();
    assert_eq!(alert["rule"], "Busy Host");
    assert_eq!(alert["severity"], "critical");
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("CPU at ")
    );
    wait_for("the firing notification", async || {
        transitions(&received) == ["firing"]
    })
    .await;
    assert_eq!(received.bodies()[0]["alerts"][0]["id"], id.as_str());

    // The summary.
    let (status, health) = call(&app, "GET", "/health/alerts", READ, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["summary"]["total_active"], 1);
    assert_eq!(health["summary"]["active_by_severity"]["critical"], 1);
    assert_eq!(health["alerts"][0]["status"], "active");
    assert_eq!(health["alerts"][0]["component"], "api");

    // Rules: the one with a pushed variable nobody pushed yet is no_data.
    let (_, rules) = call(&app, "GET", "/api/v1/rules", READ, None).await;
    let states: Vec<(&str, &str)> = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("Busy Host", "firing"),
            ("Room Creation Failures", "no_data")
        ]
    );

    // Filters.
    for (uri, want) in [
        ("/api/v1/alerts?severity=critical", 1),
        ("/api/v1/alerts?severity=warning", 0),
        ("/api/v1/alerts?rule=Busy%20Host", 1),
        ("/api/v1/alerts?state=pending", 0),
    ] {
        let (status, body) = call(&app, "GET", uri, READ, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(body["alerts"].as_array().unwrap().len(), want, "{uri}");
    }
    for uri in [
        "/api/v1/alerts?severity=urgent",
        "/api/v1/alerts?state=sleeping",
    ] {
        let (status, body) = call(&app, "GET", uri, READ, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(body["error"]["code"], "bad_request");
    }

    // Acknowledge: admin only.
    let ack = format!("/api/v1/alerts/{id}/ack");
    assert_eq!(
        call(&app, "POST", &ack, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "POST", &ack, READ, None).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, acked) = call(&app, "POST", &ack, ADMIN, Some(json!({ "by": "alice" }))).await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "alice");
    let (status, again) = call(&app, "POST", &ack, ADMIN, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    wait_for("the acknowledged notification", async || {
        transitions(&received) == ["firing", "acknowledged"]
    })
    .await;

    // Resolve through the seed's path; the history shows every step.
    let (status, resolved) = call(
        &app,
        "POST",
        &format!("/health/alerts/{id}/resolve"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["state"], "resolved");
    let (status, one) = call(&app, "GET", &format!("/api/v1/alerts/{id}"), READ, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["state"], "resolved");
    let kinds: Vec<&str> = one["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["firing", "acknowledged", "resolved"]);
    // What the detail page shows: the rule's expression, the variable to chart with its
    // unit, and each notification with its delivery result.
    assert_eq!(one["expr"], "cpu_percent >= 0", "{one}");
    assert_eq!(
        (one["variable"].as_str(), one["unit"].as_str()),
        (Some("cpu_percent"), Some("percent")),
        "{one}"
    );
    let sent: Vec<(&str, &str, &str)> = one["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["channel"].as_str().unwrap(),
                n["transition"].as_str().unwrap(),
                n["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &sent[..2],
        [
            ("hook", "firing", "delivered"),
            ("hook", "acknowledged", "delivered")
        ],
        "{one}"
    );
    let (status, _) = call(&app, "GET", "/api/v1/alerts/nope", READ, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, history) = call(&app, "GET", "/api/v1/alerts?state=resolved", READ, None).await;
    assert!(
        history["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id.as_str())
    );

    // Silences.
    let (status, silence) = call(
        &app,
        "POST",
        "/api/v1/silences",
        ADMIN,
        Some(json!({
            "matchers": [{ "name": "service", "value": "api" }],
            "duration": "1h",
            "created_by": "alice",
            "comment": "maintenance"
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{silence}");
    let silence_id = silence["id"].as_str().unwrap().to_string();
    let (_, list) = call(&app, "GET", "/api/v1/silences", READ, None).await;
    assert_eq!(list["silences"][0]["active"], true);
    for bad in [
        json!({ "matchers": [], "duration": "1h", "created_by": "a" }),
        json!({ "matchers": [{ "name": "a", "value": "b" }], "created_by": "a" }),
        json!({ "matchers": [{ "name": "a", "value": "b" }], "duration": "soon", "created_by": "a" }),
    ] {
        let (status, body) = call(&app, "POST", "/api/v1/silences", ADMIN, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, expired) = call(
        &app,
        "DELETE",
        &format!("/api/v1/silences/{silence_id}"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{expired}");
    let (_, list) = call(&app, "GET", "/api/v1/silences", READ, None).await;
    assert_eq!(list["silences"][0]["active"], false);

    // Channels: delivery state and a test send.
    let (_, channels) = call(&app, "GET", "/api/v1/channels", READ, None).await;
    let hook = &channels["channels"][0];
    assert_eq!(
        (hook["name"].as_str(), hook["kind"].as_str()),
        (Some("hook"), Some("webhook"))
    );
    assert!(hook["delivered"].as_u64().unwrap() >= 2, "{hook}");
    assert_eq!(hook["consecutive_failures"], 0);
    let (status, tested) = call(&app, "POST", "/api/v1/channels/hook/test", ADMIN, None).await;
    assert_eq!(
        (status, tested["ok"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert!(transitions(&received).contains(&"test".to_string()));
    let (status, _) = call(&app, "POST", "/api/v1/channels/nope/test", ADMIN, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, stats) = call(&app, "GET", "/api/v1/alerts/stats?since=1h", READ, None).await;
    assert_eq!(stats["acknowledged"], 1, "{stats}");
    assert_eq!(stats["resolved"], 1, "{stats}");
    assert!(
        stats["mean_time_to_acknowledge_seconds"].as_f64().unwrap() >= 0.0,
        "{stats}"
    );
    assert!(stats["mean_time_to_resolve_seconds"].is_number(), "{stats}");
    let (_, health) = call(&app, "GET", "/health/alerts", READ, None).await;
    assert_eq!(health["summary"]["total_resolved"], 1);
    let (status, _) = call(&app, "GET", "/api/v1/alerts/stats?since=soon", READ, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.shutdown().await;
}

/// No rules: alerts raised through the API, and a webhook to `{receiver}`.
const RAISED: &str = "
alerting:
  evaluation_interval: 1s
  default_rules: false
  channels:
    - { name: hook, type: webhook, url: 'http://{receiver}/hook' }
";

/// The ids of the alerts a notification body is about, with its transition.
fn heard(received: &Capture) -> Vec<(String, String)> {
    received
        .bodies()
        .iter()
        .flat_map(|b| {
            let transition = b["transition"].as_str().unwrap_or_default().to_string();
            b["alerts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |a| {
                    (
                        transition.clone(),
                        a["id"].as_str().unwrap_or("").to_string(),
                    )
                })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_of_one_alerts_labels_mutes_only_that_alert_and_actions_record_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let received = Capture::start();
    let receiver = received.addr().to_string();
    let app = start(&config("", RAISED), &dir, &[("{receiver}", &receiver)]).await;

    // Two alerts of one name, told apart by their labels.
    let mut ids = Vec::new();
    for provider in ["a", "b"] {
        let (status, raised) = call(
            &app,
            "POST",
            "/api/v1/alerts",
            Some(common::INGEST),
            Some(json!({
                "severity": "error",
                "title": "TTS provider down",
                "message": "no audio from the provider",
                "labels": { "provider": provider, "region": "eu" }
            })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{raised}");
        ids.push(raised["alert"]["id"].as_str().unwrap().to_string());
    }
    let (a, b) = (ids[0].clone(), ids[1].clone());
    wait_for("both firing notifications", async || {
        heard(&received).len() == 2
    })
    .await;

    // The detail of a raised alert: no rule expression, its source, its notification.
    let mut detail = Value::Null;
    wait_for(
        "the firing notification recorded as delivered",
        async || {
            detail = call(&app, "GET", &format!("/api/v1/alerts/{a}"), READ, None)
                .await
                .1;
            detail["notifications"][0]["state"] == "delivered"
        },
    )
    .await;
    assert_eq!(detail["source"], "api:agent", "{detail}");
    assert_eq!(
        (&detail["expr"], &detail["variable"]),
        (&Value::Null, &Value::Null),
        "{detail}"
    );
    assert_eq!(detail["notifications"][0]["transition"], "firing");
    assert_eq!(detail["notifications"][0]["channel"], "hook");
    assert_eq!(detail["notifications"].as_array().unwrap().len(), 1);

    // Silence alert a by its own labels (what the UI's dialog posts); no created_by:
    // the token's name is recorded.
    let matchers: Vec<Value> =
        std::iter::once(json!({ "name": "alertname", "value": "TTS provider down" }))
            .chain(
                detail["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| json!({ "name": k, "value": v })),
            )
            .collect();
    let (status, silence) = call(
        &app,
        "POST",
        "/api/v1/silences",
        ADMIN,
        Some(json!({ "matchers": matchers, "duration": "1h", "comment": "provider a is known" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{silence}");
    assert_eq!(silence["created_by"], "ops", "{silence}");
    let (_, open) = call(&app, "GET", "/api/v1/alerts", READ, None).await;
    let silenced: Vec<(&str, bool)> = open["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["labels"]["provider"].as_str().unwrap(),
                x["silenced"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(silenced.contains(&("a", true)), "{open}");
    assert!(silenced.contains(&("b", false)), "{open}");

    // Acknowledge both without naming anyone: the token's name is who acted; only the
    // alert outside the silence is notified.
    for id in [&a, &b] {
        let (status, acked) = call(
            &app,
            "POST",
            &format!("/api/v1/alerts/{id}/ack"),
            ADMIN,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{acked}");
        assert_eq!(acked["acknowledged_by"], "ops", "{acked}");
    }
    wait_for("b's acknowledgement heard", async || {
        heard(&received).contains(&("acknowledged".to_string(), b.clone()))
    })
    .await;
    assert!(
        !heard(&received).contains(&("acknowledged".to_string(), a.clone())),
        "{:?}",
        heard(&received)
    );
    let (_, detail) = call(&app, "GET", &format!("/api/v1/alerts/{a}"), READ, None).await;
    let ack = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "acknowledged")
        .cloned()
        .unwrap_or_default();
    assert!(
        ack["detail"].as_str().unwrap_or("").contains("ops"),
        "{detail}"
    );
    assert!(
        detail["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["transition"] == "firing"),
        "{detail}"
    );

    // A name in the body still wins over the token's.
    let (status, resolved) = call(
        &app,
        "POST",
        &format!("/api/v1/alerts/{b}/resolve"),
        ADMIN,
        Some(json!({ "by": "alice" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    let (_, detail) = call(&app, "GET", &format!("/api/v1/alerts/{b}"), READ, None).await;
    let last = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last["kind"], "resolved", "{detail}");
    assert!(
        last["detail"].as_str().unwrap().contains("alice"),
        "{detail}"
    );
    app.shutdown().await;
}
