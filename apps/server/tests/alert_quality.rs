//! The alert-quality report through the real server: a rule over a pushed gauge that
//! fires and resolves on its own again and again is named noisy, with a threshold
//! taken from the gauge's recorded series and a `for` longer than its alerts lasted; a
//! rule whose one alert was acknowledged and keeps firing is ok; a rule that never
//! fired is quiet; a bad `since` or `flap_minutes` is a 400 naming it.

mod common;
use axum::http::StatusCode;
use common::{SELF_CHECK_OFF, call, call_json, config, start, wait_for};
use mon_server::App;
use serde_json::{Value, json};

const ADMIN: Option<&str> = Some(common::ADMIN);
const INGEST: Option<&str> = Some(common::INGEST);
const READ: Option<&str> = Some(common::READ);

/// Three rules over pushed gauges, evaluated and sampled every second.
const BODY: &str = "
metrics:
  host: false
  resolution: 1s
alerting:
  evaluation_interval: 1s
  default_rules: false
  custom_variables: [queue_size, stt_queue_depth]
  rules:
    - { name: Queue Backlog, expr: queue_size > 5 }
    - { name: STT Backlog, expr: stt_queue_depth > 5 }
    - { name: Queue Flood, expr: queue_size > 1000000 }
";

async fn set(app: &App, name: &str, value: f64) {
    let events = json!([{"type": "gauge", "name": name, "value": value}]);
    let (status, body) = call_json(app, "POST", "/api/v1/events", INGEST, Some(events)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn rule_state(app: &App, rule: &str) -> String {
    let (_, rules) = call(app, "GET", "/api/v1/rules", READ).await;
    rules["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == rule)
        .and_then(|r| r["state"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Whether the stored series of `name` holds a sample of `value`.
async fn recorded(app: &App, name: &str, value: f64) -> bool {
    let uri = format!("/api/v1/metrics/query?name={name}&from=1h");
    let (_, answer) = call(app, "GET", &uri, READ).await;
    answer["series"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["points"].as_array().into_iter().flatten())
        .any(|p| p["max"].as_f64() == Some(value))
}

fn row<'a>(report: &'a Value, rule: &str) -> &'a Value {
    report["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("no row for {rule}: {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noisy_ok_and_quiet_rules_are_told_apart_with_suggestions_from_the_series() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&config(SELF_CHECK_OFF, BODY), &dir, &[]).await;

    // Queue Backlog fires and resolves on its own five times; each value is stored.
    for _ in 0..5 {
        set(&app, "queue_size", 10.0).await;
        wait_for("Queue Backlog firing", async || {
            rule_state(&app, "Queue Backlog").await == "firing"
        })
        .await;
        wait_for("queue_size=10 recorded", async || {
            recorded(&app, "queue_size", 10.0).await
        })
        .await;
        set(&app, "queue_size", 0.0).await;
        wait_for("Queue Backlog back to ok", async || {
            rule_state(&app, "Queue Backlog").await == "ok"
        })
        .await;
    }
    wait_for("queue_size=0 recorded", async || {
        recorded(&app, "queue_size", 0.0).await
    })
    .await;

    // STT Backlog fires once and is acknowledged; it keeps firing.
    set(&app, "stt_queue_depth", 9.0).await;
    let mut alerts = Value::Null;
    wait_for("STT Backlog firing", async || {
        alerts = call(&app, "GET", "/api/v1/alerts?rule=STT%20Backlog", READ)
            .await
            .1;
        alerts["alerts"][0]["state"] == "firing"
    })
    .await;
    let id = alerts["alerts"][0]["id"].as_str().unwrap().to_owned();
    let ack = json!({"by": "alice", "comment": "draining"});
    let (status, body) = call_json(
        &app,
        "POST",
        &format!("/api/v1/alerts/{id}/ack"),
        ADMIN,
        Some(ack),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, report) = call(&app, "GET", "/api/v1/alerts/quality?since=1h", READ).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["flap_minutes"], 5);
    let names: Vec<&str> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Queue Backlog", "STT Backlog", "Queue Flood"]);

    let noisy = row(&report, "Queue Backlog");
    assert_eq!(noisy["verdict"], "noisy", "{noisy}");
    assert_eq!(
        (
            &noisy["fired"],
            &noisy["acknowledged"],
            &noisy["self_resolved"]
        ),
        (&json!(5), &json!(0), &json!(5)),
        "{noisy}"
    );
    assert_eq!(noisy["self_resolved_percent"], 100.0);
    assert_eq!(noisy["acknowledged_percent"], 0.0);
    // The gauge was 10 or 0: 10 is its 99th percentile, above the rule's 5.
    assert_eq!(noisy["suggested_threshold"], 10.0, "{noisy}");
    // Each alert lasted a second or two: the first readable `for` beyond that.
    assert_eq!(noisy["suggested_for"], "30s", "{noisy}");
    let suggestion = noisy["suggestion"].as_str().unwrap();
    assert!(
        suggestion.contains("queue_size > 10") && suggestion.contains("for: 30s"),
        "{suggestion}"
    );
    assert!(
        noisy["reasons"][1]
            .as_str()
            .unwrap()
            .starts_with("5 of 5 alerts resolved on their own within 5 min"),
        "{noisy}"
    );

    let ok = row(&report, "STT Backlog");
    assert_eq!(ok["verdict"], "ok", "{ok}");
    assert_eq!(
        (&ok["fired"], &ok["acknowledged"], &ok["open"]),
        (&json!(1), &json!(1), &json!(1)),
        "{ok}"
    );
    assert!(
        ok["mean_time_to_acknowledge_seconds"].as_f64().is_some(),
        "{ok}"
    );
    assert_eq!(ok["suggestion"], Value::Null);

    let quiet = row(&report, "Queue Flood");
    assert_eq!(quiet["verdict"], "quiet", "{quiet}");
    assert_eq!(quiet["fired"], 0);
    assert_eq!(quiet["acknowledged_percent"], Value::Null);

    // A flap window shorter than the alerts lasted is still minutes: 1 minute holds them.
    let (_, strict) = call(
        &app,
        "GET",
        "/api/v1/alerts/quality?since=1h&flap_minutes=1",
        READ,
    )
    .await;
    assert_eq!(
        row(&strict, "Queue Backlog")["self_resolved"],
        5,
        "{strict}"
    );
    assert_eq!(strict["flap_minutes"], 1);

    // A period that starts later than every firing: nothing fired.
    let (_, later) = call(
        &app,
        "GET",
        "/api/v1/alerts/quality?since=2999-01-01T00:00:00Z",
        READ,
    )
    .await;
    assert_eq!(row(&later, "Queue Backlog")["verdict"], "quiet", "{later}");

    for (uri, names) in [
        ("/api/v1/alerts/quality?since=soon", "since=\"soon\""),
        ("/api/v1/alerts/quality?since=-1h", "since=\"-1h\""),
        (
            "/api/v1/alerts/quality?flap_minutes=0",
            "flap_minutes=\"0\"",
        ),
        (
            "/api/v1/alerts/quality?flap_minutes=5m",
            "flap_minutes=\"5m\"",
        ),
        (
            "/api/v1/alerts/quality?flap_minutes=1441",
            "flap_minutes=\"1441\"",
        ),
    ] {
        let (status, body) = call(&app, "GET", uri, READ).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{uri}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{uri}: {message}");
    }
    let (status, _) = call(&app, "GET", "/api/v1/alerts/quality", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}
