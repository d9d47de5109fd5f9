//! `deployment` events listed by `GET /api/v1/deployments`, batches labelled with
//! `POST /api/v1/events?source=` and their rows deleted by `DELETE /api/v1/sources/{source}`
//! (admin only), through the real router on a real SQLite file.

mod common;
use axum::http::StatusCode;
use common::{ADMIN, INGEST, READ, SELF_CHECK_OFF, call, call_json, config, start, wait_for};
use serde_json::json;

const BODY: &str = "metrics:\n  host: false\n";

fn count(dir: &tempfile::TempDir, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.path().join("mon.db")).expect("open db");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_are_listed_newest_first_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&config(SELF_CHECK_OFF, BODY), &dir, &[]).await;
    let now = chrono::Utc::now();
    let at = |minutes: i64| (now - chrono::TimeDelta::minutes(minutes)).to_rfc3339();
    let batch = json!([
        {"type":"deployment","service":"voice-agent","version":"1.4.1","timestamp":at(50)},
        {"type":"deployment","service":"voice-agent","version":"1.4.2","commit":"9c01f36","environment":"production","timestamp":at(10)},
        {"type":"deployment","service":"dialer","version":"0.9.0","timestamp":at(20)},
        {"type":"deployment","service":"voice-agent","version":"1.3.0","timestamp":at(180)},
    ]);
    let (status, answer) =
        call_json(&app, "POST", "/api/v1/events", Some(INGEST), Some(batch)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // The last hour by default, newest first.
    let (status, list) = call(&app, "GET", "/api/v1/deployments", Some(READ)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let versions: Vec<&str> = list["deployments"]
        .as_array()
        .expect("deployments")
        .iter()
        .map(|d| d["version"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(versions, ["1.4.2", "0.9.0", "1.4.1"], "{list}");
    assert_eq!(list["count"], 3);
    assert_eq!(list["deployments"][0]["commit"], "9c01f36");
    assert_eq!(list["deployments"][0]["environment"], "production");
    assert_eq!(list["deployments"][0]["source"], json!(null));

    let (_, one) = call(
        &app,
        "GET",
        "/api/v1/deployments?service=dialer&from=4h",
        Some(READ),
    )
    .await;
    assert_eq!(one["count"], 1, "{one}");
    let (_, all) = call(&app, "GET", "/api/v1/deployments?from=4h", Some(READ)).await;
    assert_eq!(all["count"], 4, "{all}");

    // Bad parameters and a bad event are refused, naming what is wrong.
    let (status, bad) = call(&app, "GET", "/api/v1/deployments?limit=0", Some(READ)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("limit"),
        "{bad}"
    );
    let (status, bad) = call_json(
        &app,
        "POST",
        "/api/v1/events",
        Some(INGEST),
        Some(json!([{"type":"deployment","service":"a","version":""}])),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("event 0, field \"version\": must not be empty"),
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_label_marks_the_rows_it_left_and_delete_removes_only_them() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(&config(SELF_CHECK_OFF, BODY), &dir, &[]).await;
    let batch = |tag: &str| {
        json!([
            {"type":"request","endpoint":"/api/rooms","method":"POST","status":201,"latency_ms":80.0},
            {"type":"deployment","service":"voice-agent","version":tag},
            {"type":"log","level":"warn","message":format!("call dropped {tag}"),"call_id":"c1"},
            {"type":"error","kind":"LK1301","message":format!("room creation failed {tag}")},
        ])
    };
    for (uri, tag) in [
        ("/api/v1/events?source=demo", "demo"),
        ("/api/v1/events", "real"),
    ] {
        let (status, answer) = call_json(&app, "POST", uri, Some(INGEST), Some(batch(tag))).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {answer}");
    }
    assert_eq!(
        count(
            &dir,
            "SELECT COUNT(*) FROM app_events WHERE source = 'demo'"
        ),
        2
    );
    assert_eq!(
        count(&dir, "SELECT COUNT(*) FROM logs WHERE source = 'demo'"),
        2
    );
    assert_eq!(count(&dir, "SELECT COUNT(*) FROM errors"), 2);
    let (_, list) = call(&app, "GET", "/api/v1/deployments", Some(READ)).await;
    assert_eq!(list["count"], 2, "{list}");

    // Bad labels are refused before anything is kept.
    for uri in [
        "/api/v1/events?source=",
        "/api/v1/events?source=a%20b",
        "/api/v1/events?source=mon",
        "/api/v1/events?origin=demo",
    ] {
        let (status, answer) = call_json(&app, "POST", uri, Some(INGEST), Some(batch("bad"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {answer}");
    }
    assert_eq!(count(&dir, "SELECT COUNT(*) FROM app_events"), 4);

    // Deleting needs the admin role.
    for token in [READ, INGEST] {
        let (status, answer) = call(&app, "DELETE", "/api/v1/sources/demo", Some(token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    }
    let (status, answer) = call(&app, "DELETE", "/api/v1/sources/demo", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"source": "demo", "deleted": {"app_events": 2, "logs": 2, "errors": 1, "series": 0, "points": 0}})
    );
    // Only the labelled rows went (the refused deletes left auth events of their own).
    let kept = "SELECT COUNT(*) FROM app_events WHERE type IN ('request', 'deployment')";
    assert_eq!(count(&dir, kept), 2);
    assert_eq!(
        count(
            &dir,
            "SELECT COUNT(*) FROM app_events WHERE source IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        count(&dir, "SELECT COUNT(*) FROM logs WHERE source = 'demo'"),
        0
    );
    assert_eq!(
        count(&dir, "SELECT COUNT(*) FROM logs WHERE source = 'ingest'"),
        2
    );
    assert_eq!(
        count(
            &dir,
            "SELECT COUNT(*) FROM errors WHERE message LIKE '%real%'"
        ),
        1
    );
    assert_eq!(count(&dir, "SELECT COUNT(*) FROM errors"), 1);
    let (_, list) = call(&app, "GET", "/api/v1/deployments", Some(READ)).await;
    assert_eq!(list["deployments"][0]["version"], "real", "{list}");
    assert_eq!(list["count"], 1, "{list}");
    // Again: nothing left to delete; a reserved label is refused.
    let (_, again) = call(&app, "DELETE", "/api/v1/sources/demo", Some(ADMIN)).await;
    assert_eq!(
        again["deleted"],
        json!({"app_events": 0, "logs": 0, "errors": 0, "series": 0, "points": 0})
    );
    let (status, _) = call(&app, "DELETE", "/api/v1/sources/ingest", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The built-in dashboard with the per-endpoint latency table.
const DASHBOARD: &str = "/api/v1/dashboards/api_performance";

/// The series of `name` a range query answers, as (labels, last value).
async fn series_of(app: &mon_server::App, name: &str) -> Vec<(serde_json::Value, f64)> {
    let uri = format!("/api/v1/metrics/query?name={name}&from=1h");
    let (status, answer) = call(app, "GET", &uri, Some(READ)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut out: Vec<(serde_json::Value, f64)> = answer["series"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let last = s["points"].as_array()?.last()?["max"].as_f64()?;
            Some((s["labels"].clone(), last))
        })
        .collect();
    out.sort_by_key(|(labels, _)| labels.to_string());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_source_is_sampled_apart_and_delete_removes_its_series_and_windows() {
    let dir = tempfile::tempdir().unwrap();
    // Sampled every second, so a test waits for a tick rather than 10 s.
    let body = "metrics:\n  host: false\n  resolution: 1s\n";
    let app = start(&config(SELF_CHECK_OFF, body), &dir, &[]).await;
    let batch = |endpoint: &str, latency: f64| {
        json!([
            {"type":"request","endpoint":endpoint,"method":"GET","status":200,"latency_ms":latency},
            {"type":"call_started","call_id":format!("call-{endpoint}")},
        ])
    };
    for (uri, body) in [
        ("/api/v1/events", batch("/real", 20.0)),
        ("/api/v1/events?source=demo", batch("/demo", 300.0)),
    ] {
        let (status, answer) = call_json(&app, "POST", uri, Some(INGEST), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {answer}");
    }

    // Sampled apart: one unlabelled series, one labelled source=demo, each its own value.
    wait_for("both latency series to be sampled", async || {
        series_of(&app, "avg_api_latency_ms").await.len() == 2
    })
    .await;
    assert_eq!(
        series_of(&app, "avg_api_latency_ms").await,
        [(json!({"source": "demo"}), 300.0), (json!({}), 20.0)]
    );
    assert_eq!(
        series_of(&app, "endpoint_avg_latency_ms").await,
        [
            (json!({"endpoint": "/demo", "source": "demo"}), 300.0),
            (json!({"endpoint": "/real"}), 20.0),
        ]
    );
    // The rule variables and /metrics hold the unlabelled traffic only.
    let (_, snapshot) = call(&app, "GET", "/api/v1/snapshot", Some(READ)).await;
    assert_eq!(
        snapshot["values"]["avg_api_latency_ms"],
        json!(20.0),
        "{snapshot}"
    );
    assert_eq!(snapshot["values"]["active_calls"], json!(1.0), "{snapshot}");
    let exposition = common::send(
        &app,
        common::request("GET", "/metrics", Some(READ))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        exposition.text.contains("endpoint=\"/real\""),
        "{}",
        exposition.text
    );
    assert!(!exposition.text.contains("/demo"), "{}", exposition.text);
    // The built-in dashboards show the demo's series beside the unlabelled one.
    let (_, dashboard) = call(&app, "GET", DASHBOARD, Some(READ)).await;
    let endpoints = |dashboard: &serde_json::Value| -> Vec<String> {
        dashboard["panels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["id"] == "endpoint_latency")
            .flat_map(|p| p["metrics"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| m["labels"]["endpoint"].as_str().map(str::to_owned))
            .collect()
    };
    let mut shown = endpoints(&dashboard);
    shown.sort();
    assert_eq!(shown, ["/demo", "/real"], "{dashboard}");

    let (status, answer) = call(&app, "DELETE", "/api/v1/sources/demo", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let deleted = &answer["deleted"];
    assert_eq!(deleted["app_events"], 2, "{answer}");
    assert!(
        deleted["series"].as_u64().is_some_and(|n| n >= 5),
        "{answer}"
    );
    assert!(
        deleted["points"].as_u64() >= deleted["series"].as_u64(),
        "{answer}"
    );
    let labelled = "SELECT COUNT(*) FROM series WHERE json_extract(labels, '$.source') IS NOT NULL";
    assert_eq!(count(&dir, labelled), 0);

    // Later ticks write the unlabelled series only: the demo's windows are gone.
    let before = count(&dir, "SELECT COUNT(*) FROM samples");
    wait_for("two more sampler ticks", async || {
        count(&dir, "SELECT COUNT(*) FROM samples") > before + 2 * 10
    })
    .await;
    assert_eq!(count(&dir, labelled), 0);
    assert_eq!(
        series_of(&app, "avg_api_latency_ms").await,
        [(json!({}), 20.0)]
    );
    let (_, dashboard) = call(&app, "GET", DASHBOARD, Some(READ)).await;
    assert_eq!(endpoints(&dashboard), ["/real"], "{dashboard}");
    // A new labelled batch starts from nothing: no call left over from before.
    let (status, _) = call_json(
        &app,
        "POST",
        "/api/v1/events?source=demo",
        Some(INGEST),
        Some(json!([{"type":"request","endpoint":"/demo","method":"GET","status":200,"latency_ms":50.0}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    wait_for("the new demo series", async || {
        series_of(&app, "avg_api_latency_ms").await.len() == 2
    })
    .await;
    let demo_calls = "/api/v1/metrics/query?name=active_calls&labels=source=demo&from=1h";
    let (_, calls) = call(&app, "GET", demo_calls, Some(READ)).await;
    assert_eq!(
        calls["series"][0]["points"]
            .as_array()
            .and_then(|p| p.last())
            .map(|p| p["max"].clone()),
        Some(json!(0.0)),
        "{calls}"
    );
    // More labels than kept at once are refused, naming the limit.
    for i in 1..mon_metrics::MAX_SOURCES {
        let uri = format!("/api/v1/events?source=s{i}");
        let (status, answer) = call_json(
            &app,
            "POST",
            &uri,
            Some(INGEST),
            Some(json!([{"type":"call_started","call_id":"c"}])),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{uri}: {answer}");
    }
    let (status, answer) = call_json(
        &app,
        "POST",
        "/api/v1/events?source=one-more",
        Some(INGEST),
        Some(json!([{"type":"call_started","call_id":"c"}])),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("16 labelled sources"),
        "{answer}"
    );
    app.shutdown().await;
}
