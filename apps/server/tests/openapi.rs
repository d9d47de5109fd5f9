//! `GET /api/openapi.json` against the real router: the document lists every routed
//! method and path (read from the routers' sources, so a route added without a row in
//! `mon_api::ENDPOINTS` fails here), each endpoint's documented access is the one the
//! server enforces, and the typed answers read what the server answers.

mod common;
use axum::http::StatusCode;
use common::{call_json, wait_for};
use mon_api::answers::{
    AlertStatsAnswer, AlertsAnswer, ChannelsAnswer, CheckResultsAnswer, ChecksAnswer,
    DashboardsAnswer, ErrorGroupView, ErrorsAnswer, EventsAnswer, HealthAlertsAnswer,
    HealthAlertsSummary, LogsAnswer, MatcherBody, RulesAnswer, SeriesListAnswer, SeriesQueryAnswer,
    SilenceBody, SilenceView, SilencesAnswer, SnapshotAnswer, StatusAnswer, WhoamiAnswer,
};
use mon_api::{Access, ENDPOINTS, ErrorAnswer, ErrorCode};
use mon_server::App;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

/// The app these tests read: the same as the API tests' ([`common::HOST`]).
async fn app(dir: &tempfile::TempDir) -> App {
    common::start_host(dir).await
}

/// `METHOD path` of every `.route(path, method(..).method(..))` in the non-test part of
/// `source`.
fn routes_in(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut routes = Vec::new();
    for part in code.split(".route(").skip(1) {
        let Some((_, rest)) = part.split_once('"') else {
            continue;
        };
        let Some((path, rest)) = rest.split_once('"') else {
            continue;
        };
        // The methods of this route: up to the next builder call on the router.
        let end = [
            ".with_state",
            ".merge",
            ".layer",
            ".fallback",
            ".route_layer",
        ]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .unwrap_or(rest.len());
        let methods = &rest[..end];
        for (method, call) in [("GET", "get("), ("POST", "post("), ("DELETE", "delete(")] {
            let routed = methods.match_indices(call).any(|(at, _)| {
                at == 0
                    || !methods[..at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if routed {
                routes.push(format!("{method} {path}"));
            }
        }
    }
    routes
}

/// Every route the server serves, from the sources of its routers and the crates' ones.
fn routed() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Every source file of the server, modules in directories included.
    let mut files = Vec::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    // The routers that live in the crates owning their data, and the kit's whoami.
    for file in [
        "mon-health/src/router.rs",
        "mon-alerting/src/http.rs",
        "mon-logging/src/http.rs",
        "mon-http/src/auth.rs",
    ] {
        files.push(root.join("../../crates").join(file));
    }
    let mut routes = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("read a source file");
        routes.extend(routes_in(&source));
    }
    routes
}

#[test]
fn the_route_scanner_reads_methods_and_multi_line_routes() {
    let source = r#"
        Router::new()
            .route("/a/{id}", get(list).post(create))
            .route(
                "/b",
                post(|s, p| ping(s, p, Signal::Start)),
            )
            .with_state(state)
        #[cfg(test)]
        .route("/test-only", get(x))
    "#;
    assert_eq!(
        routes_in(source),
        ["GET /a/{id}", "POST /a/{id}", "POST /b"]
    );
}

#[test]
fn every_routed_method_and_path_is_documented_and_every_documented_one_routed() {
    let routed = routed();
    assert!(
        routed.len() > 40,
        "the scan found too few routes: {routed:?}"
    );
    let documented: BTreeSet<String> = ENDPOINTS
        .iter()
        .map(|e| format!("{} {}", e.method.as_str(), e.path))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routed without a row in mon_api::ENDPOINTS: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
}

/// A concrete path for a documented one: `x` for each parameter.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with('{') {
                "x".to_string()
            } else {
                s.replace("{check}", "x")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_covers_every_endpoint_with_the_access_the_server_enforces() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir).await;

    let (status, document) = call_json(&app, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK, "public, like the UI: {document}");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for endpoint in ENDPOINTS {
        let method = endpoint.method.as_str();
        let operation = &document["paths"][endpoint.path][method.to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {} not in the document",
            endpoint.path
        );

        // Without a token: bearer endpoints refuse with 401, public ones never do.
        let path = concrete(endpoint.path);
        let (status, body) = call_json(&app, method, &path, None, None).await;
        match endpoint.access {
            Access::Read | Access::Ingest | Access::Admin => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
                let error: ErrorAnswer =
                    serde_json::from_value(body).expect("the error answer's shape");
                assert_eq!(error.error.code, ErrorCode::Unauthorized);
            }
            // Public by default: in server.public_paths.
            Access::Public | Access::PublicByDefault => {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{method} {path} is public: {status} {body}"
                );
            }
            // Refused for want of a signature (no webhook is configured here), not a token.
            Access::LiveKitSignature => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
            }
        }
        // The read token: enough for reads, 403 for ingest and admin calls.
        let (status, body) = call_json(&app, method, &path, Some("read-token-456"), None).await;
        let forbidden = matches!(endpoint.access, Access::Ingest | Access::Admin);
        assert_eq!(
            status == StatusCode::FORBIDDEN,
            forbidden,
            "{method} {path} with the read token: {status} {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_answers_read_what_the_server_answers() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir).await;
    let token = Some("read-token-456");

    let (status, body) = call_json(&app, "GET", "/api/v1/status", token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: StatusAnswer = serde_json::from_value(body.clone()).expect("a StatusAnswer");
    assert_eq!(answer.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(answer.checks.total, 2, "host and mon: {body}");
    // Byte-compatible: the typed answer writes back the same JSON.
    assert_eq!(serde_json::to_value(&answer).expect("serialize"), body);

    let (_, body) = call_json(&app, "GET", "/api/v1/checks", token, None).await;
    let checks: ChecksAnswer = serde_json::from_value(body.clone()).expect("a ChecksAnswer");
    let names: Vec<_> = checks.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["host", "mon"], "{body}");

    let (_, body) = call_json(&app, "GET", "/api/v1/checks/host/results", token, None).await;
    let results: CheckResultsAnswer =
        serde_json::from_value(body.clone()).expect("a CheckResultsAnswer");
    assert_eq!(
        (results.check.as_str(), results.count),
        ("host", results.results.len())
    );

    let (_, body) = call_json(&app, "GET", "/api/v1/auth/whoami", token, None).await;
    let whoami: WhoamiAnswer = serde_json::from_value(body.clone()).expect("a WhoamiAnswer");
    assert_eq!(whoami.role.as_deref(), Some("read"), "{body}");

    // Ingest: a request (a series) and an error (a tracked error group).
    let events = json!([
        {"type": "request", "endpoint": "/api/rooms", "method": "POST", "status": 201, "latency_ms": 80.0},
        {"type": "error", "kind": "STT_TIMEOUT", "message": "speech recognition timed out"}
    ]);
    let answer: EventsAnswer = read(&app, "POST", "/api/v1/events", ADMIN, Some(events)).await;
    assert_eq!((answer.accepted, answer.dropped), (2, 0));

    let mut errors = ErrorsAnswer {
        count: 0,
        errors: Vec::new(),
    };
    wait_for("the tracked error", async || {
        errors = read(&app, "GET", "/api/v1/errors", token, None).await;
        errors.count > 0
    })
    .await;
    assert_eq!(errors.errors[0].kind, "STT_TIMEOUT");
    let path = format!("/api/v1/errors/{}", errors.errors[0].fingerprint);
    let group: ErrorGroupView = read(&app, "GET", &path, token, None).await;
    assert_eq!(group.count, errors.errors[0].count);

    let mut series = SeriesListAnswer {
        count: 0,
        series: Vec::new(),
    };
    wait_for("a stored series", async || {
        series = read(&app, "GET", "/api/v1/metrics", token, None).await;
        series.count > 0
    })
    .await;
    assert_eq!(series.count, series.series.len());
    let name = &series.series[0].name;
    let path = format!("/api/v1/metrics/query?name={name}&from=1h");
    let query: SeriesQueryAnswer = read(&app, "GET", &path, token, None).await;
    assert_eq!(&query.name, name);

    // A silence: created (201), listed, expired.
    let new = json!({"matchers": [{"name": "service", "value": "api", "isEqual": false}],
                     "duration": "1h", "created_by": "ops", "comment": "deploy"});
    let created: SilenceView = read(&app, "POST", "/api/v1/silences", ADMIN, Some(new)).await;
    assert!(created.active && !created.matchers[0].is_equal);
    let listed: SilencesAnswer = read(&app, "GET", "/api/v1/silences", token, None).await;
    assert_eq!(listed.silences, std::slice::from_ref(&created));
    let path = format!("/api/v1/silences/{}", created.id);
    let expired: SilenceView = read(&app, "DELETE", &path, ADMIN, None).await;
    assert!(!expired.active, "an expired silence is not active");

    let alerts: AlertsAnswer = read(&app, "GET", "/api/v1/alerts?state=all", token, None).await;
    assert!(alerts.alerts.iter().all(|a| !a.id.is_empty()));
    let rules: RulesAnswer = read(&app, "GET", "/api/v1/rules", token, None).await;
    assert!(rules.rules.iter().all(|r| !r.name.is_empty()));
    let channels: ChannelsAnswer = read(&app, "GET", "/api/v1/channels", token, None).await;
    assert!(channels.channels.iter().all(|c| !c.name.is_empty()));
    let logs: LogsAnswer = read(&app, "GET", "/api/v1/logs", token, None).await;
    assert_eq!(logs.count, logs.logs.len());
}

const ADMIN: Option<&str> = Some("admin-token-123");

/// Calls `path`, expects success, reads the answer as a `T` and checks that the `T`
/// writes back the same JSON (the typed answer is byte-compatible with the server's).
async fn read<T: DeserializeOwned + Serialize>(
    app: &App,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> T {
    let (status, body) = call_json(app, method, path, token, body).await;
    assert!(status.is_success(), "{method} {path}: {status} {body}");
    let answer: T = serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}: {body}"));
    assert_eq!(
        serde_json::to_value(&answer).expect("serialize"),
        body,
        "{method} {path}"
    );
    answer
}

/// The app of [`app`] with [`FIRING`].
async fn firing_app(dir: &tempfile::TempDir) -> App {
    let body = format!("{}{FIRING}", common::HOST);
    common::start(&common::config("", &body), dir, &[]).await
}

/// A rule that fires as soon as host metrics are sampled, for the alerting answers.
const FIRING: &str = "
alerting:
  evaluation_interval: 1s
  default_rules: false
  rules:
    - name: Busy Host
      expr: cpu_percent >= 0
      severity: critical
      labels: { service: api }
      annotations: { summary: 'CPU at {{ value }}%' }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_alerting_answers_and_silence_body_read_what_the_server_reads_and_answers() {
    let dir = tempfile::tempdir().expect("dir");
    let app = firing_app(&dir).await;
    let token = Some("read-token-456");

    let mut health = HealthAlertsAnswer {
        alerts: Vec::new(),
        summary: HealthAlertsSummary {
            active_by_severity: Default::default(),
            total_active: 0,
            total_resolved: 0,
        },
    };
    wait_for("the firing alert", async || {
        health = read(&app, "GET", "/health/alerts", token, None).await;
        health.summary.total_active > 0
    })
    .await;
    keys_in_sorted_order(&health);
    let alert = &health.alerts[0];
    assert_eq!(
        (
            alert.name.as_str(),
            alert.component.as_deref(),
            alert.status.as_str()
        ),
        ("Busy Host", Some("api"), "active")
    );
    assert!(alert.message.starts_with("CPU at "), "{alert:?}");
    assert_eq!(health.summary.active_by_severity.get("critical"), Some(&1));
    assert_eq!(health.summary.active_by_severity.len(), 4, "every severity");

    let stats: AlertStatsAnswer = read(&app, "GET", "/api/v1/alerts/stats", token, None).await;
    assert_eq!(stats.by_severity.get("critical"), Some(&1), "{stats:?}");
    assert_eq!(stats.by_state.get("firing"), Some(&1), "{stats:?}");
    let path = format!("/api/v1/alerts/{}/resolve", alert.id);
    let _: mon_api::answers::AlertView = read(&app, "POST", &path, ADMIN, None).await;
    let mut stats = stats;
    wait_for("the resolution in the stored history", async || {
        stats = read(&app, "GET", "/api/v1/alerts/stats?since=1h", token, None).await;
        stats.resolved > 0
    })
    .await;
    assert!(stats.mean_time_to_resolve_seconds.is_some(), "{stats:?}");
    keys_in_sorted_order(&stats);

    // The typed silence body is what the server reads; a field it does not know, at the
    // top or in a matcher, is refused as before.
    let body = SilenceBody {
        matchers: vec![MatcherBody {
            name: "service".into(),
            value: "api".into(),
            is_equal: true,
        }],
        starts_at: None,
        ends_at: None,
        duration: Some("30m".into()),
        created_by: Some("ops".into()),
        comment: "deploy".into(),
    };
    let json = serde_json::to_value(&body).expect("serialize");
    let created: SilenceView =
        read(&app, "POST", "/api/v1/silences", ADMIN, Some(json.clone())).await;
    assert_eq!(
        (created.created_by.as_str(), created.comment.as_str()),
        ("ops", "deploy")
    );
    assert!(created.matchers[0].is_equal);
    for pointer in ["", "/matchers/0"] {
        let mut refused = json.clone();
        if let Some(Value::Object(fields)) = refused.pointer_mut(pointer) {
            fields.insert("extra".into(), json!(1));
        }
        let (status, answer) =
            call_json(&app, "POST", "/api/v1/silences", ADMIN, Some(refused)).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "extra field at {pointer:?}: {answer}"
        );
    }
    app.shutdown().await;
}

/// Asserts that `answer` writes its keys in sorted order at every level, as the answers
/// built with `json!` did: with [`read`]'s check, the typed answer's bytes are the old ones.
fn keys_in_sorted_order<T: Serialize>(answer: &T) {
    let written = serde_json::to_string(answer).expect("serialize");
    let sorted = serde_json::to_value(answer)
        .and_then(|v| serde_json::to_string(&v))
        .expect("serialize");
    assert_eq!(written, sorted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_snapshot_and_dashboards_list_read_what_the_server_answers() {
    let dir = tempfile::tempdir().expect("dir");
    let app = firing_app(&dir).await;
    let token = Some("read-token-456");

    // A slow request, a call and an error, so that every part of the report has data.
    let events = json!([
        {"type": "request", "endpoint": "/api/rooms", "method": "POST", "status": 503, "latency_ms": 1500.0},
        {"type": "call_started", "call_id": "c1"},
        {"type": "error", "kind": "STT_TIMEOUT", "message": "speech recognition timed out",
         "context": {"call_id": "c1"}}
    ]);
    let answer: EventsAnswer = read(&app, "POST", "/api/v1/events", ADMIN, Some(events)).await;
    assert_eq!(answer.dropped, 0, "{answer:?}");
    let mut snapshot: Option<SnapshotAnswer> = None;
    wait_for("the report and the checks in the snapshot", async || {
        let s: SnapshotAnswer = read(&app, "GET", "/api/v1/snapshot", token, None).await;
        let done = !s.recent_errors.is_empty() && s.checks.contains_key("host");
        snapshot = Some(s);
        done
    })
    .await;
    let Some(snapshot) = snapshot else {
        panic!("no snapshot read");
    };
    keys_in_sorted_order(&snapshot);
    assert_eq!(snapshot.recent_errors[0].kind, "STT_TIMEOUT");
    assert_eq!(snapshot.slow_requests[0].status, 503);
    assert_eq!(snapshot.calls.total_calls, 1);
    assert_eq!(
        snapshot.windows.len(),
        3,
        "1m, 5m, 15m: {:?}",
        snapshot.windows.keys()
    );
    let requests = &snapshot.endpoints["/api/rooms"][&snapshot.rule_window];
    assert_eq!((requests.count, requests.failures), (1, 1));

    let list: DashboardsAnswer = read(&app, "GET", "/api/v1/dashboards", token, None).await;
    keys_in_sorted_order(&list);
    assert_eq!(
        list.dashboards.len(),
        mon_metrics::BUILTIN_IDS.len(),
        "the built-in ones"
    );
    assert!(list.dashboards.iter().all(|d| d.builtin && d.panels > 0));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_and_resolve_accept_the_bodies_their_schema_allows_and_refuse_the_others() {
    let dir = tempfile::tempdir().expect("dir");
    let app = firing_app(&dir).await;
    let token = Some("read-token-456");
    let mut id = String::new();
    wait_for("the firing alert", async || {
        let alerts: AlertsAnswer = read(&app, "GET", "/api/v1/alerts", token, None).await;
        id = alerts
            .alerts
            .first()
            .map(|a| a.id.clone())
            .unwrap_or_default();
        !id.is_empty()
    })
    .await;

    // Not an object (serde would read an array as the fields in order), an unknown field,
    // a wrong type: refused before the alert is touched, whatever the path.
    for path in [
        "/api/v1/alerts/{id}/ack",
        "/api/v1/alerts/{id}/resolve",
        "/health/alerts/{id}/resolve",
    ] {
        let path = path.replace("{id}", &id);
        for body in [
            json!(["ops", "why"]),
            json!([null, null]),
            json!("ops"),
            json!(null),
            json!({"by": "ops", "extra": 1}),
            json!({"by": 1}),
        ] {
            let (status, answer) = call_json(&app, "POST", &path, ADMIN, Some(body.clone())).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        }
    }
    let path = format!("/api/v1/alerts/{id}/ack");
    let acked: mon_api::answers::AlertView = read(
        &app,
        "POST",
        &path,
        ADMIN,
        Some(json!({"by": null, "comment": "on it"})),
    )
    .await;
    assert_eq!(
        (acked.state.as_str(), acked.acknowledged_by.as_deref()),
        ("acknowledged", Some("ops")),
        "without `by`, who acts is the token's name"
    );
    // No body at all: the token's name resolves.
    let path = format!("/api/v1/alerts/{id}/resolve");
    let resolved: mon_api::answers::AlertView = read(&app, "POST", &path, ADMIN, None).await;
    assert_eq!(resolved.state, "resolved");
    app.shutdown().await;
}
