//! Dashboards, Grafana export, the public status page and badges, against a real
//! server on a real SQLite file, fed through `POST /api/v1/events`.

mod common;
use axum::http::StatusCode;
use common::{
    INGEST, READ, SELF_CHECK_OFF, call, call_json, call_text, config, http_get, serve, start,
    wait_for,
};
use mon_config::{Environment, load_text};
use mon_server::App;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A public check on a real service, a private one on a closed port, a team board.
const BODY: &str = "
checks:
  - name: api
    type: tcp
    address: {open}
    interval: 200ms
    failure_threshold: 1
    public: true
  - name: secret-db
    type: tcp
    address: {closed}
    interval: 200ms
    timeout: 1s
    failure_threshold: 1
metrics:
  interval: 1s
  resolution: 1s
dashboards:
  - id: team
    title: Team board
    panels:
      - { id: rooms_latency, title: Rooms latency, kind: timeseries, metric: endpoint_p95_latency_ms, labels: { endpoint: /api/rooms }, warning: 100, critical: 500, width: 12 }
";

struct Server {
    app: App,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().expect("dir");
    // A real loopback service for the `api` check.
    let open = mon_tests::Capture::start();
    let closed = mon_tests::free_port();
    let (open, closed) = (open.addr().to_string(), format!("127.0.0.1:{closed}"));
    let vars = [("{open}", open.as_str()), ("{closed}", closed.as_str())];
    let app = start(&config(SELF_CHECK_OFF, BODY), &dir, &vars).await;
    Server { app, _dir: dir }
}

fn panel<'a>(dashboard: &'a Value, id: &str) -> &'a Value {
    dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no panel {id} in {dashboard}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_list_and_show_values_series_and_colours() {
    let s = server().await;
    let app = &s.app;

    // Read role needed.
    let (status, body) = call(app, "GET", "/api/v1/dashboards", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let (status, body) = call(app, "GET", "/api/v1/dashboards", Some(READ)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["dashboards"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "system_overview",
            "api_performance",
            "ai_services",
            "infrastructure",
            "calls_voice_quality",
            "livekit",
            "security",
            "user_experience",
            "team"
        ]
    );
    assert_eq!(body["dashboards"][8]["panels"], 1, "{body}");
    assert_eq!(body["dashboards"][0]["title"], "System Overview");
    assert!(body["dashboards"][0]["updated_at"].is_string(), "{body}");

    // Requests to a slow endpoint, through the ingest API.
    let events: Vec<Value> = (0..20)
        .map(|i| {
            json!({"type": "request", "endpoint": "/api/rooms", "method": "POST",
                   "status": if i % 4 == 0 { 503 } else { 201 }, "latency_ms": 600.0})
        })
        .collect();
    let (status, body) = call_json(
        app,
        "POST",
        "/api/v1/events",
        Some(INGEST),
        Some(json!(events)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The sampler stores the per-endpoint series every second: wait for a point.
    let mut dashboard = Value::Null;
    wait_for("the team dashboard's series", async || {
        dashboard = call(app, "GET", "/api/v1/dashboards/team?range=1h", Some(READ))
            .await
            .1;
        panel(&dashboard, "rooms_latency")["metrics"][0]["series"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    })
    .await;
    let m = &panel(&dashboard, "rooms_latency")["metrics"][0];
    assert_eq!(m["labels"]["endpoint"], "/api/rooms", "{m}");
    assert!(m["value"].as_f64().is_some_and(|v| v >= 500.0), "{m}");
    assert_eq!(m["color"], "red", "{m}");
    assert_eq!(m["threshold_warning"], 100.0);
    assert_eq!(m["unit"], "milliseconds");
    assert!(m["series"][0]["ts"].is_string() && m["series"][0]["value"].is_number());
    assert_eq!(panel(&dashboard, "rooms_latency")["layout"]["width"], 12);

    // A built-in dashboard: current snapshot values, a status grid and an alert list.
    let mut api = Value::Null;
    wait_for("the request rate in the snapshot", async || {
        api = call(app, "GET", "/api/v1/dashboards/api_performance", Some(READ))
            .await
            .1;
        panel(&api, "error_rate")["metrics"][0]["value"].is_number()
    })
    .await;
    let error_rate = &panel(&api, "error_rate")["metrics"][0];
    assert_eq!(error_rate["value"], 25.0, "{error_rate}");
    assert_eq!(error_rate["color"], "red", "{error_rate}"); // 25% ≥ critical 10%
    assert_eq!(panel(&api, "error_rate")["panel_type"], "stat");
    let table = panel(&api, "endpoint_latency");
    assert!(
        table["metrics"]
            .as_array()
            .expect("rows")
            .iter()
            .any(|r| r["labels"]["endpoint"] == "/api/rooms"),
        "{table}"
    );
    let (_, overview) = call(app, "GET", "/api/v1/dashboards/system_overview", Some(READ)).await;
    let names: BTreeSet<&str> = panel(&overview, "component_status")["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, BTreeSet::from(["api", "secret-db"]));
    assert!(panel(&overview, "active_alerts")["alerts"].is_array());
    assert_eq!(panel(&overview, "system_health")["chart_type"], "gauge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_and_unknown_dashboards_answer_clear_errors() {
    let s = server().await;
    let app = &s.app;
    for range in ["1h", "24h", "7d"] {
        let (status, body) = call(
            app,
            "GET",
            &format!("/api/v1/dashboards/infrastructure?range={range}"),
            Some(READ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{range}: {body}");
        let from =
            chrono::DateTime::parse_from_rfc3339(body["range"]["from"].as_str().unwrap()).unwrap();
        let to =
            chrono::DateTime::parse_from_rfc3339(body["range"]["to"].as_str().unwrap()).unwrap();
        let expected = mon_core::duration::parse(range).unwrap();
        assert_eq!((to - from).to_std().unwrap(), expected, "{range}");
    }
    for uri in [
        "/api/v1/dashboards/infrastructure?from=2h&to=1h",
        // An empty range is valid too (no points).
        "/api/v1/dashboards/infrastructure?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        let (status, body) = call(app, "GET", uri, Some(READ)).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(body["id"], "infrastructure");
    }
    for (uri, needle) in [
        (
            "/api/v1/dashboards/infrastructure?range=forever",
            "range=\"forever\"",
        ),
        (
            "/api/v1/dashboards/infrastructure?range=1h&from=2h",
            "either range",
        ),
        (
            "/api/v1/dashboards/infrastructure?from=1h&to=2h",
            "is after",
        ),
        ("/api/v1/dashboards/infrastructure?colour=red", "colour"),
    ] {
        let (status, body) = call(app, "GET", uri, Some(READ)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{uri}: {message}");
    }
    for uri in ["/api/v1/dashboards/nope", "/api/v1/dashboards/nope/grafana"] {
        let (status, body) = call(app, "GET", uri, Some(READ)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("\"nope\""),
            "{body}"
        );
    }
}

/// The family names `/metrics` declares (`# TYPE name kind`), with the sample names
/// each kind produces.
fn exported_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("#") || words.next() != Some("TYPE") {
            continue;
        }
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            continue;
        };
        names.insert(name.to_owned());
        match kind {
            "counter" => {
                names.insert(format!("{}_total", name.trim_end_matches("_total")));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
            _ => {}
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_export_uses_only_metric_names_mon_exports() {
    let s = server().await;
    let app = &s.app;
    // Histograms appear on /metrics with their first observation: record one of each.
    let events = json!([
        {"type":"request","endpoint":"/api/rooms","method":"POST","status":201,"latency_ms":80.0},
        {"type":"call_started","call_id":"c1"},
        {"type":"call_ended","call_id":"c1","duration_seconds":42.0,"success":true},
        {"type":"voice_quality","conversation_id":"c1","latency_ms":150.0,"packet_loss":0.01,"jitter_ms":5.0,"mos":4.2},
        {"type":"ai_usage","provider":"openai","service":"llm","model":"gpt-4o","units":900.0,"cost_usd":0.01,"latency_ms":700.0},
        {"type":"error","kind":"STT_TIMEOUT","message":"speech recognition timed out"}
    ]);
    let (status, body) = call_json(app, "POST", "/api/v1/events", Some(INGEST), Some(events)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The disk families get their `mount` label at the first host collection.
    let mut text = String::new();
    wait_for("the first host collection on /metrics", async || {
        text = call_text(app, "/metrics", None).await.1;
        text.contains("mon_host_disk_used_ratio{")
    })
    .await;
    let exported = exported_names(&text);
    assert!(exported.contains("mon_check_up"), "{exported:?}");

    let (_, list) = call(app, "GET", "/api/v1/dashboards", Some(READ)).await;
    let mut exprs = 0;
    for d in list["dashboards"].as_array().expect("list") {
        let id = d["id"].as_str().expect("id");
        let (status, g) = call(
            app,
            "GET",
            &format!("/api/v1/dashboards/{id}/grafana"),
            Some(READ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{id}: {g}");
        assert!(g["schemaVersion"].as_u64().is_some_and(|v| v >= 30), "{g}");
        assert_eq!(g["uid"], format!("mon-{id}"));
        let var = &g["templating"]["list"][0];
        assert_eq!(
            (&var["name"], &var["type"], &var["query"]),
            (
                &json!("datasource"),
                &json!("datasource"),
                &json!("prometheus")
            )
        );
        let panels = g["panels"].as_array().expect("panels");
        assert_eq!(panels.len(), d["panels"].as_u64().unwrap() as usize, "{id}");
        for p in panels {
            let pos = &p["gridPos"];
            let (x, w) = (pos["x"].as_u64().unwrap(), pos["w"].as_u64().unwrap());
            assert!(x + w <= 24 && pos["h"].as_u64().unwrap() > 0, "{p}");
            for t in p["targets"].as_array().into_iter().flatten() {
                assert_eq!(t["datasource"]["uid"], "${datasource}");
                let expr = t["expr"].as_str().expect("expr");
                exprs += 1;
                let names: Vec<&str> = expr
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .filter(|w| w.starts_with("mon_"))
                    .collect();
                assert!(!names.is_empty(), "{id}: {expr}");
                for name in names {
                    assert!(
                        exported.contains(name),
                        "{id}: {name} in {expr} is not on /metrics"
                    );
                }
            }
        }
    }
    assert!(exprs >= 35, "only {exprs} PromQL targets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_and_badges_show_public_checks_only_without_a_token() {
    let s = server().await;
    let addr = serve(&s.app).await;

    let mut page = String::new();
    wait_for("the public check to be healthy with uptime", async || {
        let (code, _, body) = http_get(addr, "/status").await;
        page = body;
        code == 200 && page.contains("healthy") && page.contains("100.00%")
    })
    .await;
    assert!(page.contains("<span class=\"name\">api</span>"), "{page}");
    assert!(!page.contains("secret-db"), "{page}");
    assert!(page.contains("name=\"viewport\""));
    assert!(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"));
    let (_, head, _) = http_get(addr, "/status").await;
    assert!(head.contains("content-type: text/html"), "{head}");

    let (code, head, svg) = http_get(addr, "/badge/api/status.svg").await;
    assert_eq!(code, 200, "{svg}");
    assert!(head.contains("content-type: image/svg+xml"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(
        svg.starts_with("<svg") && svg.contains("api: healthy"),
        "{svg}"
    );

    let (code, head, svg) = http_get(addr, "/badge/api/uptime.svg?window=24h").await;
    assert_eq!(code, 200, "{svg}");
    assert!(head.contains("content-type: image/svg+xml"), "{head}");
    assert!(svg.contains("uptime 24h: 100.00%"), "{svg}");

    // A non-public check answers exactly like a missing one and is never named.
    for path in [
        "/badge/secret-db/status.svg",
        "/badge/secret-db/uptime.svg",
        "/badge/missing/status.svg",
    ] {
        let (code, _, body) = http_get(addr, path).await;
        assert_eq!(code, 404, "{path}: {body}");
        assert!(body.contains("no public check with that name"), "{body}");
        assert!(!body.contains("secret-db"), "{body}");
    }
    let (code, _, body) = http_get(addr, "/badge/api/uptime.svg?window=2d").await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("window=\\\"2d\\\""), "{body}");

    // The API itself still needs a token over the same socket.
    let (code, _, _) = http_get(addr, "/api/v1/dashboards").await;
    assert_eq!(code, 401);
}

#[test]
fn dashboard_config_errors_name_the_field_and_value() {
    let check = |yaml: &str, needle: &str| {
        let text = format!("dashboards:\n{yaml}");
        let e = load_text(&text, "test.yaml", &Environment::default())
            .expect_err("invalid config")
            .to_string();
        assert!(e.contains(needle), "{e}");
    };
    check(
        "  - { id: a, title: A, panels: [{ id: p, title: P, kind: stat, metric: cpu_precent }] }",
        "did you mean \"cpu_percent\"",
    );
    check(
        "  - { id: a, title: A, panels: [{ id: p, title: P, kind: pie, metric: cpu_percent }] }",
        "pie",
    );
    check(
        "  - { id: a, title: A, panels: [] }\n  - { id: a, title: B, panels: [] }",
        "duplicate dashboard id \"a\"",
    );
    check(
        "  - { id: livekit, title: A, panels: [] }",
        "dashboards[0].id",
    );
}
