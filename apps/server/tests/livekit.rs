//! LiveKit in the server: `POST /api/v1/webhooks/livekit` accepts only a correctly signed
//! webhook (and records nothing otherwise), LK1301 errors and forwarded `livekit` events
//! feed the snapshot, and check-reported variables (a `prometheus` scrape) reach it too.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{
    ADMIN, INGEST, SELF_CHECK_OFF, call, call_json, call_text, config, send, start, wait_for,
};
use mon_config::{Environment, load_text};
use mon_health::livekit_token::{body_sha256, webhook_token, webhook_token_valid_for};
use mon_server::App;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

const KEY: &str = "APIwebhookKey";
const SECRET: &str = "webhook-secret-abcdef0123456789";
/// LiveKit's parts come in `{extra}`.
const BODY: &str = "
metrics:
  host: false
{extra}
";

async fn app(dir: &tempfile::TempDir, extra: &str) -> App {
    start(&config(SELF_CHECK_OFF, BODY), dir, &[("{extra}", extra)]).await
}

fn webhook_config() -> String {
    format!("livekit:\n  webhook:\n    api_key: {KEY}\n    api_secret: {SECRET}\n")
}

/// Posts `body` to the webhook endpoint with `authorization` (if any), as LiveKit does.
async fn post_webhook(app: &App, authorization: Option<&str>, body: &str) -> (StatusCode, Value) {
    post_webhook_to(app, "/api/v1/webhooks/livekit", authorization, body).await
}

/// [`post_webhook`] to `uri` (the endpoint with a query).
async fn post_webhook_to(
    app: &App,
    uri: &str,
    authorization: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::post(uri).header("content-type", "application/webhook+json");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let answer = send(app, request.body(Body::from(body.to_owned())).unwrap()).await;
    (answer.status, answer.json())
}

async fn snapshot(app: &App) -> Value {
    let (status, body) = call(app, "GET", "/api/v1/snapshot", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK);
    body
}

async fn metrics_text(app: &App) -> String {
    call_text(app, "/metrics", Some(ADMIN)).await.1
}

fn joined(identity: &str) -> String {
    json!({
        "event": "participant_joined",
        "room": {"sid": "RM_1", "name": "support", "creationTime": "1700000000"},
        "participant": {"sid": "PA_1", "identity": identity, "joinedAt": "1700000005"},
        "id": "EV_1",
        "createdAt": "1700000005"
    })
    .to_string()
}

#[tokio::test]
async fn only_a_correctly_signed_webhook_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, &webhook_config()).await;
    let body = joined("caller");
    let now = SystemTime::now();
    let good = webhook_token(KEY, SECRET, body.as_bytes(), now).unwrap();

    // Valid: accepted without any bearer token (the signature is the authentication).
    let (status, answer) = post_webhook(&app, Some(&good), &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"accepted": true, "duplicate": false, "event": "participant_joined"})
    );
    let snap = snapshot(&app).await;
    assert_eq!(snap["values"]["participants_joined"], 1.0, "{snap}");
    assert_eq!(snap["values"]["connection_success_rate"], 1.0, "{snap}");
    assert_eq!(snap["livekit"]["participants_joined"], 1, "{snap}");

    // Everything else: 401 and nothing recorded.
    let altered = joined("intruder");
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        (
            "wrong secret",
            Some(webhook_token(KEY, "another-secret", body.as_bytes(), now).unwrap()),
            &body,
        ),
        (
            "wrong key",
            Some(webhook_token("APIother", SECRET, body.as_bytes(), now).unwrap()),
            &body,
        ),
        ("body altered after signing", Some(good.clone()), &altered),
        (
            "expired token",
            Some(
                webhook_token(
                    KEY,
                    SECRET,
                    body.as_bytes(),
                    now - Duration::from_secs(10 * 60),
                )
                .unwrap(),
            ),
            &body,
        ),
        ("missing header", None, &body),
        ("Bearer prefix", Some(format!("Bearer {good}")), &body),
        (
            "bearer token of mon",
            Some(format!("Bearer {ADMIN}")),
            &body,
        ),
        ("garbage", Some("not.a.jwt".to_owned()), &body),
    ];
    for (what, authorization, body) in &cases {
        let (status, answer) = post_webhook(&app, authorization.as_deref(), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "unauthorized", "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(!message.contains(SECRET), "{what}: {message}");
    }
    let snap = snapshot(&app).await;
    assert_eq!(
        snap["values"]["participants_joined"], 1.0,
        "nothing more recorded: {snap}"
    );
    assert_eq!(snap["livekit"]["events"], 1, "{snap}");
    let text = metrics_text(&app).await;
    assert!(
        text.contains("mon_livekit_participants_joined_total 1"),
        "{text}"
    );
    assert!(
        text.contains("mon_livekit_webhook_events_total{event=\"participant_joined\"} 1"),
        "{text}"
    );

    // The body hash claim is what ties the token to the body.
    assert_eq!(body_sha256(body.as_bytes()).len(), 44);
}

/// A participant joined: with `id` as LiveKit sends it, or without one.
fn joined_event(id: Option<&str>, identity: &str) -> String {
    let mut event = json!({
        "event": "participant_joined",
        "room": {"sid": "RM_1", "name": "support"},
        "participant": {"sid": format!("PA_{identity}"), "identity": identity},
    });
    if let Some(id) = id {
        event["id"] = json!(id);
    }
    event.to_string()
}

/// Replays and long-lived tokens, in order against one server: each row is what is
/// posted, how it is signed, the answer (status, `duplicate` or a message fragment) and
/// how many joins are counted afterwards. The server still answers after every row.
#[tokio::test]
async fn webhook_replays_count_once_and_long_lived_tokens_are_refused() {
    struct Case {
        what: &'static str,
        body: String,
        /// Seconds the token was signed before now, and how long it is valid.
        signed_ago: u64,
        valid_for: u64,
        status: StatusCode,
        /// `duplicate` for 200, a message fragment for errors.
        expect: &'static str,
        joined: f64,
    }
    let case = |what, body: &str, signed_ago, valid_for, status, expect, joined| Case {
        what,
        body: body.to_owned(),
        signed_ago,
        valid_for,
        status,
        expect,
        joined,
    };
    let a = joined_event(Some("EV_a"), "alice");
    let b = joined_event(Some("EV_b"), "bob");
    let no_id = joined_event(None, "carol");
    let ok = StatusCode::OK;
    let refused = StatusCode::UNAUTHORIZED;
    let cases = [
        case("first delivery", &a, 0, 300, ok, "false", 1.0),
        case("the same request again", &a, 0, 300, ok, "true", 1.0),
        case("a retry: same id, new token", &a, 30, 300, ok, "true", 1.0),
        case("another event", &b, 0, 300, ok, "false", 2.0),
        case("no id: first delivery", &no_id, 0, 300, ok, "false", 3.0),
        case(
            "no id: the same body again",
            &no_id,
            5,
            300,
            ok,
            "true",
            3.0,
        ),
        case(
            "token valid for 2h",
            &joined_event(Some("EV_c"), "dan"),
            0,
            7200,
            refused,
            "valid for 2h, longer than livekit.webhook.max_token_lifetime (1h)",
            3.0,
        ),
        case(
            "token valid for 1h and 1s",
            &joined_event(Some("EV_d"), "erin"),
            0,
            3601,
            refused,
            "max_token_lifetime",
            3.0,
        ),
        case(
            "token valid for a year, signed long ago",
            &joined_event(Some("EV_e"), "fay"),
            86_400,
            365 * 86_400,
            refused,
            "max_token_lifetime",
            3.0,
        ),
        case(
            "token valid for exactly 1h",
            &joined_event(Some("EV_f"), "gus"),
            0,
            3600,
            ok,
            "false",
            4.0,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let server = app(&dir, &webhook_config()).await;
    for c in &cases {
        let signed = SystemTime::now() - Duration::from_secs(c.signed_ago);
        let token = webhook_token_valid_for(
            KEY,
            SECRET,
            c.body.as_bytes(),
            signed,
            Duration::from_secs(c.valid_for),
        )
        .unwrap();
        let (status, answer) = post_webhook(&server, Some(&token), &c.body).await;
        assert_eq!(status, c.status, "{}: {answer}", c.what);
        if status == StatusCode::OK {
            assert_eq!(
                answer["duplicate"].to_string(),
                c.expect,
                "{}: {answer}",
                c.what
            );
        } else {
            assert_eq!(
                answer["error"]["code"], "unauthorized",
                "{}: {answer}",
                c.what
            );
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(message.contains(c.expect), "{}: {message}", c.what);
            assert!(!message.contains(SECRET), "{}: {message}", c.what);
        }
        let snap = snapshot(&server).await;
        assert_eq!(
            snap["values"]["participants_joined"], c.joined,
            "{}: {snap}",
            c.what
        );
        let (live, _) = call(&server, "GET", "/health/live", None).await;
        assert_eq!(live, StatusCode::OK, "{}: the server still answers", c.what);
    }

    // A lower configured maximum refuses what the default accepts.
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{}    max_token_lifetime: 5m\n", webhook_config());
    let strict = app(&dir, &config).await;
    for (valid_for, status) in [(300, StatusCode::OK), (600, StatusCode::UNAUTHORIZED)] {
        let body = joined_event(Some(&format!("EV_{valid_for}")), "hal");
        let token = webhook_token_valid_for(
            KEY,
            SECRET,
            body.as_bytes(),
            SystemTime::now(),
            Duration::from_secs(valid_for),
        )
        .unwrap();
        let (got, answer) = post_webhook(&strict, Some(&token), &body).await;
        assert_eq!(
            got, status,
            "valid for {valid_for}s under a 5m maximum: {answer}"
        );
    }
}

#[tokio::test]
async fn webhooks_update_rooms_aborts_egress_and_durations() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, &webhook_config()).await;
    let events = [
        json!({"event": "room_started", "room": {"sid": "RM_9", "name": "sales", "creationTime": "1700000000"}, "createdAt": "1700000000"}),
        json!({"event": "participant_joined", "room": {"sid": "RM_9"}, "participant": {"identity": "a"}}),
        json!({"event": "participant_joined", "room": {"sid": "RM_9"}, "participant": {"identity": "b"}}),
        json!({"event": "participant_joined", "room": {"sid": "RM_9"}, "participant": {"identity": "c"}}),
        json!({"event": "participant_connection_aborted", "room": {"sid": "RM_9"}, "participant": {"identity": "d"}}),
        json!({"event": "participant_left", "room": {"sid": "RM_9"}, "participant": {"identity": "a"}}),
        json!({"event": "egress_ended", "egressInfo": {"egressId": "EG_1", "status": "EGRESS_FAILED", "error": "upload failed"}}),
        json!({"event": "room_finished", "room": {"sid": "RM_9", "name": "sales", "creationTime": "1700000000"}, "createdAt": "1700000090"}),
    ];
    for event in &events {
        let body = event.to_string();
        let token = webhook_token(KEY, SECRET, body.as_bytes(), SystemTime::now()).unwrap();
        let (status, answer) = post_webhook(&app, Some(&token), &body).await;
        assert_eq!(status, StatusCode::OK, "{event}: {answer}");
    }
    let values = snapshot(&app).await["values"].clone();
    for (name, want) in [
        ("rooms_started", 1.0),
        ("rooms_finished", 1.0),
        ("participants_joined", 3.0),
        ("participants_left", 1.0),
        ("participants_aborted", 1.0),
        ("egress_failures", 1.0),
        ("connection_success_rate", 0.75),
        ("avg_room_duration_seconds", 90.0),
    ] {
        assert_eq!(values[name].as_f64(), Some(want), "{name}: {values}");
    }
    // A signed body that is not a webhook: 400, nothing recorded.
    let body = "{\"room\": {}}";
    let token = webhook_token(KEY, SECRET, body.as_bytes(), SystemTime::now()).unwrap();
    let (status, _) = post_webhook(&app, Some(&token), body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn room_creation_errors_and_forwarded_events_reach_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, "").await;
    let events = json!([
        {"type": "error", "kind": "LK1301", "message": "room creation failed"},
        {"type": "error", "kind": "RoomError", "message": "room creation failed", "context": {"error_code": "LK1301"}},
        {"type": "error", "kind": "LK1302", "message": "room not found"},
        {"type": "livekit", "event": "participant_joined", "payload": {}},
        {"type": "livekit", "event": "participant_connection_aborted", "payload": {}},
    ]);
    let (status, answer) =
        call_json(&app, "POST", "/api/v1/events", Some(INGEST), Some(events)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let values = snapshot(&app).await["values"].clone();
    assert_eq!(values["room_creation_failures"], 2.0, "{values}");
    assert_eq!(values["connection_success_rate"], 0.5, "{values}");
    let text = metrics_text(&app).await;
    assert!(
        text.contains("mon_livekit_room_creation_failures_total 2"),
        "{text}"
    );

    // Without livekit.webhook nor a livekit check, webhooks are refused.
    let body = joined("x");
    let token = webhook_token(KEY, SECRET, body.as_bytes(), SystemTime::now()).unwrap();
    let (status, answer) = post_webhook(&app, Some(&token), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
}

/// The last value of each stored series of `name` over the last hour, by its labels
/// (as JSON text).
async fn stored(app: &App, name: &str) -> std::collections::BTreeMap<String, f64> {
    stored_points(app, name)
        .await
        .into_iter()
        .map(|(labels, (last, _))| (labels, last))
        .collect()
}

/// The last value and the number of points of each stored series of `name`.
async fn stored_points(app: &App, name: &str) -> std::collections::BTreeMap<String, (f64, usize)> {
    let uri = format!("/api/v1/metrics/query?name={name}&from=1h&step=1s");
    let (status, answer) = call(app, "GET", &uri, Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["series"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let points = s["points"].as_array()?;
            let last = points.last()?["max"].as_f64()?;
            Some((s["labels"].to_string(), (last, points.len())))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_sources_livekit_activity_is_its_own_and_is_stored_as_series() {
    let dir = tempfile::tempdir().unwrap();
    // Sampled every second, so the test waits for a tick rather than 10 s.
    let body = "metrics:\n  host: false\n  resolution: 1s\n{extra}";
    let app = start(
        &config(SELF_CHECK_OFF, body),
        &dir,
        &[("{extra}", &webhook_config())],
    )
    .await;
    // The real traffic: one forwarded room start.
    let real = json!([{"type": "livekit", "event": "room_started", "payload": {}}]);
    let (status, answer) =
        call_json(&app, "POST", "/api/v1/events", Some(INGEST), Some(real)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // The demo's: forwarded events, an LK1301 error and signed webhooks, all labelled.
    let demo = json!([
        {"type": "livekit", "event": "room_started", "payload": {}},
        {"type": "livekit", "event": "room_started", "payload": {}},
        {"type": "error", "kind": "LK1301", "message": "room creation failed"},
    ]);
    let (status, answer) = call_json(
        &app,
        "POST",
        "/api/v1/events?source=demo",
        Some(INGEST),
        Some(demo),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let body = json!({"event": "room_started", "room": {"sid": "RM_D", "name": "demo"}, "id": "EV_D1", "createdAt": "1700000000"}).to_string();
    let token = webhook_token(KEY, SECRET, body.as_bytes(), SystemTime::now()).unwrap();
    let uri = "/api/v1/webhooks/livekit?source=demo";
    let (status, answer) = post_webhook_to(&app, uri, Some(&token), &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Unsigned, a label starts nothing; a bad label is refused before the signature.
    let (status, _) =
        post_webhook_to(&app, "/api/v1/webhooks/livekit?source=other", None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = post_webhook_to(
        &app,
        "/api/v1/webhooks/livekit?source=a%20b",
        Some(&token),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    // The snapshot and /metrics count the real room only.
    let values = snapshot(&app).await["values"].clone();
    assert_eq!(values["rooms_started"], 1.0, "{values}");
    assert!(
        values["room_creation_failures"]
            .as_f64()
            .is_none_or(|v| v == 0.0),
        "{values}"
    );
    let text = metrics_text(&app).await;
    assert!(
        text.contains("mon_livekit_rooms_started_total 1\n"),
        "{text}"
    );
    assert!(
        text.contains("mon_livekit_room_creation_failures_total 0\n"),
        "{text}"
    );
    // Both are stored as series, apart.
    wait_for("the labelled LiveKit series", async || {
        stored(&app, "rooms_started").await.len() == 2
    })
    .await;
    let rooms = stored(&app, "rooms_started").await;
    assert_eq!(rooms.get("{}"), Some(&1.0), "{rooms:?}");
    assert_eq!(rooms.get(r#"{"source":"demo"}"#), Some(&3.0), "{rooms:?}");
    let failures = stored(&app, "room_creation_failures").await;
    assert_eq!(
        failures.get(r#"{"source":"demo"}"#),
        Some(&1.0),
        "{failures:?}"
    );
    assert!(
        !stored(&app, "rooms_started")
            .await
            .keys()
            .any(|k| k.contains("other"))
    );

    // Deleted with the source; later ticks do not write them back.
    let (status, answer) = call(&app, "DELETE", "/api/v1/sources/demo", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let ticks = |points: &std::collections::BTreeMap<String, (f64, usize)>| {
        points.get("{}").map_or(0, |p| p.1)
    };
    let before = ticks(&stored_points(&app, "rooms_started").await);
    wait_for("two more sampler ticks", async || {
        ticks(&stored_points(&app, "rooms_started").await) >= before + 2
    })
    .await;
    let rooms = stored(&app, "rooms_started").await;
    assert_eq!(rooms.keys().collect::<Vec<_>>(), ["{}"], "{rooms:?}");

    // Over the source limit, a webhook is refused before its event is accepted: delivered
    // again without the label, it still counts (it is no replay).
    for i in 0..mon_metrics::MAX_SOURCES {
        let uri = format!("/api/v1/events?source=s{i}");
        let one = json!([{"type": "call_started", "call_id": "c"}]);
        let (status, answer) = call_json(&app, "POST", &uri, Some(INGEST), Some(one)).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {answer}");
    }
    let late = json!({"event": "room_started", "room": {"sid": "RM_L"}, "id": "EV_L1", "createdAt": "1700000000"}).to_string();
    let token = webhook_token(KEY, SECRET, late.as_bytes(), SystemTime::now()).unwrap();
    let full = "/api/v1/webhooks/livekit?source=one-more";
    let (status, answer) = post_webhook_to(&app, full, Some(&token), &late).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer.to_string().contains("16 labelled sources"),
        "{answer}"
    );
    let (status, answer) = post_webhook(&app, Some(&token), &late).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["duplicate"], false, "{answer}");
    app.shutdown().await;
}

#[tokio::test]
async fn webhook_keys_default_to_the_first_livekit_check() {
    let dir = tempfile::tempdir().unwrap();
    let closed = format!("127.0.0.1:{}", mon_tests::free_port());
    let extra = format!(
        "checks:\n  - {{ name: livekit, type: livekit, url: 'http://{closed}', api_key: {KEY}, api_secret: {SECRET}, interval: 1h, timeout: 1s }}\n"
    );
    let app = app(&dir, &extra).await;
    let body = joined("agent");
    let token = webhook_token(KEY, SECRET, body.as_bytes(), SystemTime::now()).unwrap();
    let (status, answer) = post_webhook(&app, Some(&token), &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // The check itself runs against a closed port: /health/livekit shows it down.
    wait_for("the livekit check's first result", async || {
        let (_, answer) = call(&app, "GET", "/health/livekit", Some(ADMIN)).await;
        answer["services"]["room"].is_object()
    })
    .await;
    let (status, answer) = call(&app, "GET", "/health/livekit", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["status"], "unhealthy", "{answer}");
    assert_eq!(
        answer["services"]["room"]["status"], "unhealthy",
        "{answer}"
    );
    assert_eq!(
        answer["services"]["room"]["error_code"], "connect",
        "{answer}"
    );
    assert_eq!(answer["active_rooms"], Value::Null, "{answer}");
    assert!(!answer.to_string().contains(SECRET));
}

#[test]
fn an_empty_webhook_secret_is_a_config_error() {
    let text = "livekit:\n  webhook:\n    api_key: k\n    api_secret: ${LK_SECRET:-}\n";
    let err = load_text(text, "mon.yaml", &Environment::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("livekit.webhook.api_secret"), "{err}");
}

/// A loopback Prometheus endpoint with LiveKit's quality metrics.
fn exposition_server() -> std::net::SocketAddr {
    let text = "# TYPE livekit_quality_score gauge\nlivekit_quality_score{room=\"a\"} 4.2\n# TYPE livekit_jitter_us gauge\nlivekit_jitter_us 12000\n";
    let server = mon_tests::Capture::start();
    server.answer(mon_tests::Answer::status(200).body(text));
    server.addr()
}

#[tokio::test]
async fn a_prometheus_scrape_fills_snapshot_variables() {
    let dir = tempfile::tempdir().unwrap();
    let addr = exposition_server();
    let extra = format!(
        "checks:\n  - {{ name: lk-metrics, type: prometheus, url: 'http://{addr}/metrics', interval: 1h }}\n"
    );
    let app = app(&dir, &extra).await;
    wait_for("the scraped values in the snapshot", async || {
        snapshot(&app).await["values"].get("avg_mos").is_some()
    })
    .await;
    let values = snapshot(&app).await["values"].clone();
    assert_eq!(values["avg_mos"], 4.2, "{values}");
    assert_eq!(values["avg_jitter_ms"], 12.0, "{values}");
    assert!(
        values.get("avg_packet_loss").is_none(),
        "absent series stay absent: {values}"
    );
}

#[tokio::test]
async fn seed_rules_fire_on_webhook_and_error_data() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "{}alerting:\n  evaluation_interval: 1s\n  default_rules: false\n  rules:\n    - {{ name: Low Success Rate, expr: connection_success_rate < 0.8, severity: error, labels: {{ service: connection }}, cooldown: 10m }}\n    - {{ name: Room Creation Failures, expr: room_creation_failures > 5, severity: critical, labels: {{ service: room }}, cooldown: 5m }}\n",
        webhook_config()
    );
    let app = app(&dir, &extra).await;
    for event in ["participant_joined", "participant_connection_aborted"] {
        let body = json!({"event": event, "room": {"sid": "RM_1"}}).to_string();
        let token = webhook_token(KEY, SECRET, body.as_bytes(), SystemTime::now()).unwrap();
        assert_eq!(
            post_webhook(&app, Some(&token), &body).await.0,
            StatusCode::OK
        );
    }
    let errors: Vec<Value> = (0..6)
        .map(|i| json!({"type": "error", "kind": "LK1301", "message": format!("room {i} not created")}))
        .collect();
    let (status, _) = call_json(
        &app,
        "POST",
        "/api/v1/events",
        Some(INGEST),
        Some(Value::Array(errors)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let firing = async || -> Vec<String> {
        let (_, alerts) = call(&app, "GET", "/api/v1/alerts?state=firing", Some(ADMIN)).await;
        alerts["alerts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["rule"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_for("two firing alerts", async || firing().await.len() == 2).await;
    let mut rules = firing().await;
    rules.sort();
    assert_eq!(rules, ["Low Success Rate", "Room Creation Failures"]);
}
