//! What rules read, through the real server: gauges and counters applications push
//! (`alerting.custom_variables`) reach the rule snapshot and fire their rules; a
//! voice-quality variable fed both by a `prometheus` scrape check and by ingested events
//! keeps the check's value, whatever the order of publishes.

mod common;
use common::{SELF_CHECK_OFF, call, call_json, config, start, wait_for};
use mon_server::App;
use serde_json::{Value, json};
use std::time::Duration;

const INGEST: Option<&str> = Some(common::INGEST);
const READ: Option<&str> = Some(common::READ);

/// Three rules over custom variables, after `{checks}`.
const BODY: &str = "
metrics:
  host: false
  interval: 1s
{checks}
alerting:
  evaluation_interval: 1s
  default_rules: false
  custom_variables: [queue_size, stt_queue_depth, retries_total]
  rules:
    - { name: Queue Backlog, expr: queue_size > 10 }
    - { name: STT Backlog, expr: stt_queue_depth > 5 }
    - { name: Retrying, expr: retries_total > 2 }
";

async fn app(dir: &tempfile::TempDir, checks: &str) -> App {
    start(&config(SELF_CHECK_OFF, BODY), dir, &[("{checks}", checks)]).await
}

async fn rule_states(app: &App) -> Vec<(String, String)> {
    let (_, rules) = call(app, "GET", "/api/v1/rules", READ).await;
    rules["rules"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .map(|r| {
                    (
                        r["name"].as_str().unwrap_or_default().to_owned(),
                        r["state"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn push(app: &App, events: Value) {
    let (status, body) = call_json(app, "POST", "/api/v1/events", INGEST, Some(events)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_gauges_and_counters_fire_their_rules() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, "").await;
    let no_data = |name: &str| (name.to_owned(), "no_data".to_owned());
    assert_eq!(
        rule_states(&app).await,
        [
            no_data("Queue Backlog"),
            no_data("STT Backlog"),
            no_data("Retrying")
        ]
    );
    push(
        &app,
        json!([
            {"type": "gauge", "name": "queue_size", "value": 12.0},
            // Summed over label sets: 3 + 4 > 5.
            {"type": "gauge", "name": "stt_queue_depth", "value": 3.0, "labels": {"provider": "a"}},
            {"type": "gauge", "name": "stt_queue_depth", "value": 4.0, "labels": {"provider": "b"}},
            {"type": "counter", "name": "retries_total", "value": 3.0},
        ]),
    )
    .await;
    let firing = |name: &str| (name.to_owned(), "firing".to_owned());
    let want = [
        firing("Queue Backlog"),
        firing("STT Backlog"),
        firing("Retrying"),
    ];
    wait_for("the pushed values fire their rules", async || {
        rule_states(&app).await == want
    })
    .await;
    let (_, snapshot) = call(&app, "GET", "/api/v1/snapshot", READ).await;
    assert_eq!(snapshot["values"]["queue_size"], 12.0, "{snapshot}");
    assert_eq!(snapshot["values"]["stt_queue_depth"], 7.0, "{snapshot}");

    // A gauge set back below the threshold resolves its rule.
    push(
        &app,
        json!([{"type": "gauge", "name": "queue_size", "value": 2.0}]),
    )
    .await;
    wait_for("Queue Backlog back to ok", async || {
        rule_states(&app)
            .await
            .contains(&("Queue Backlog".to_owned(), "ok".to_owned()))
    })
    .await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_quality_from_a_scrape_check_wins_over_ingested_events() {
    // A LiveKit-like metrics endpoint on loopback.
    let exposition = "# TYPE livekit_quality_score gauge\nlivekit_quality_score 3.1\n";
    let sfu = mon_tests::Capture::start();
    sfu.answer(mon_tests::Answer::status(200).body(exposition));
    let addr = sfu.addr();
    let checks = format!(
        "checks:\n  - {{ name: sfu, type: prometheus, url: 'http://{addr}/metrics', interval: 1s, critical: false }}"
    );
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, &checks).await;
    let voice = json!([{"type": "voice_quality", "conversation_id": "c1", "latency_ms": 90.0,
        "packet_loss": 0.0, "jitter_ms": 3.0, "mos": 4.5}]);

    let avg_mos = async || {
        let (_, s) = call(&app, "GET", "/api/v1/snapshot", READ).await;
        (
            s["values"]["avg_mos"].as_f64(),
            s["windows"]["1m"]["mos"]["avg"].as_f64(),
        )
    };
    wait_for("the scraped avg_mos", async || {
        avg_mos().await.0 == Some(3.1)
    })
    .await;
    push(&app, voice.clone()).await;
    wait_for("the events' mos in the recorder", async || {
        avg_mos().await.1 == Some(4.5)
    })
    .await;
    // Over several publishes of both sources (each every second), rules see the check's
    // value every time, never the events'.
    for _ in 0..15 {
        push(&app, voice.clone()).await;
        assert_eq!(avg_mos().await.0, Some(3.1));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.shutdown().await;
}

/// The built-in rules on a server no application reports to, whose host check sees a
/// busy start-up (every CPU sample counts as critical here): after the first results
/// and evaluations nothing fires — the check rules are pending, waiting for their
/// `for` — and "No Requests" is `no_data`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_rules_stay_quiet_after_a_busy_start_without_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let text = "
server:
  listen: 127.0.0.1:0
  self_check: false
storage:
  path: {dir}/mon.db
checks:
  - { name: host, type: system, interval: 1s, critical: false, cpu_warning: 0, cpu_critical: 0 }
metrics:
  interval: 1s
alerting:
  evaluation_interval: 1s
  default_rules: true
";
    let app = start(text, &dir, &[]).await;
    let state = async |name: &str| {
        rule_states(&app)
            .await
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    };
    // Two results of the host check at least, evaluated: the condition holds.
    wait_for("Component Unhealthy pending", async || {
        let (_, results) = call(&app, "GET", "/api/v1/checks/host/results", None).await;
        results["count"].as_u64().unwrap_or(0) >= 2
            && state("Component Unhealthy").await.as_deref() == Some("pending")
    })
    .await;
    let (_, firing) = call(&app, "GET", "/api/v1/alerts?state=firing", None).await;
    assert_eq!(firing["alerts"], json!([]), "{firing}");
    assert_eq!(state("System Degraded").await.as_deref(), Some("pending"));
    assert_eq!(state("No Requests").await.as_deref(), Some("no_data"));
    app.shutdown().await;
}

/// Rules follow the data, not a timer: with `evaluation_interval: 1h` (one evaluation at
/// start, the next an hour away), a rule over each kind of variable — a pushed gauge, a
/// window over requests, calls, a check's status, a LiveKit webhook — fires after the
/// event that makes it hold: what changed is published and wakes the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_variable_fires_its_rule_without_waiting_for_the_interval() {
    let body = "
metrics:
  host: false
checks:
  - { name: target, type: tcp, address: '127.0.0.1:{port}', interval: 1s, timeout: 1s }
alerting:
  evaluation_interval: 1h
  default_rules: false
  custom_variables: [queue_size]
  rules:
    - { name: Gauge, expr: queue_size > 10 }
    - { name: Requests, expr: avg_api_latency_ms > 1000 }
    - { name: Calls, expr: active_calls > 0 }
    - { name: Check, expr: 'checks.target.status == \"unhealthy\"' }
    - { name: LiveKit, expr: rooms_started > 0 }
";
    // The check holds while this listener accepts connections.
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = target.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let app = start(
        &config(SELF_CHECK_OFF, body),
        &dir,
        &[("{port}", port.as_str())],
    )
    .await;
    let state = async |name: &str| {
        rule_states(&app)
            .await
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    };
    wait_for("the check's first result evaluated", async || {
        state("Check").await.as_deref() == Some("ok")
    })
    .await;
    let events = [
        (
            "Gauge",
            json!({"type": "gauge", "name": "queue_size", "value": 12.0}),
        ),
        (
            "Requests",
            json!({"type": "request", "endpoint": "/a", "method": "GET", "status": 200, "latency_ms": 2500.0}),
        ),
        ("Calls", json!({"type": "call_started", "call_id": "c1"})),
        (
            "LiveKit",
            json!({"type": "livekit", "event": "room_started", "payload": {"room": {"sid": "RM_1", "name": "r"}}}),
        ),
    ];
    for (rule, event) in events {
        assert_ne!(state(rule).await.as_deref(), Some("firing"), "{rule}");
        push(&app, json!([event])).await;
        wait_for(&format!("{rule} firing after its event"), async || {
            state(rule).await.as_deref() == Some("firing")
        })
        .await;
    }
    drop(target);
    wait_for("Check firing after the target went away", async || {
        state("Check").await.as_deref() == Some("firing")
    })
    .await;
    app.shutdown().await;
}

/// A heartbeat ping changes its check outside the scheduler's results: with the check
/// run and the rules evaluated once an hour, a rule over it still fires after a failed
/// ping (the ping wakes the publish of the checks, which wakes the engine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_ping_fires_its_rule_without_waiting_for_the_interval() {
    let body = "
metrics:
  host: false
checks:
  - { name: nightly, type: heartbeat, period: 1h, interval: 1h, failure_threshold: 1 }
alerting:
  evaluation_interval: 1h
  default_rules: false
  rules:
    - { name: Nightly Failed, expr: 'checks.nightly.status == \"unhealthy\"' }
";
    let dir = tempfile::tempdir().unwrap();
    let app = start(&config(SELF_CHECK_OFF, body), &dir, &[]).await;
    let state = async || {
        rule_states(&app)
            .await
            .into_iter()
            .find(|(n, _)| n == "Nightly Failed")
            .map(|(_, s)| s)
    };
    wait_for("the first run evaluated", async || {
        state().await.as_deref() == Some("ok")
    })
    .await;
    let (status, body) = call(&app, "POST", "/api/v1/heartbeat/nightly/fail", INGEST).await;
    assert_eq!(status, 200, "{body}");
    wait_for("the rule firing after the failed ping", async || {
        state().await.as_deref() == Some("firing")
    })
    .await;
    app.shutdown().await;
}
