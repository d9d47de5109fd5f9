//! `deployment` events listed by `GET /api/v1/deployments`, batches labelled with
//! `POST /api/v1/events?source=` and their rows deleted by `DELETE /api/v1/sources/{source}`
//! (admin only), through the real router on a real SQLite file.

mod common;
use axum::http::StatusCode;
use common::{ADMIN, INGEST, READ, SELF_CHECK_OFF, call, call_json, config, start};
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
        json!({"source": "demo", "deleted": {"app_events": 2, "logs": 2, "errors": 1}})
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
        json!({"app_events": 0, "logs": 0, "errors": 0})
    );
    let (status, _) = call(&app, "DELETE", "/api/v1/sources/ingest", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
