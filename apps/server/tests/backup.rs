//! `POST /api/v1/admin/backup` through the real router on a real SQLite file: admin only,
//! an SQLite file that passes `integrity_check` and holds what was ingested, taken while
//! ingest goes on, and nothing left beside the store.

mod common;
use axum::body::Body;
use axum::http::StatusCode;
use common::{ADMIN, INGEST, READ, SELF_CHECK_OFF, call, call_json, config, request, start};
use serde_json::json;
use tower::ServiceExt;

fn requests(n: usize) -> serde_json::Value {
    json!((0..n)
        .map(|i| json!({"type":"request","endpoint":"/api/rooms","method":"GET","status":200,"latency_ms":i as f64}))
        .collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_downloads_a_consistent_copy_while_ingest_goes_on() {
    let dir = tempfile::tempdir().expect("dir");
    let app = start(&config(SELF_CHECK_OFF, ""), &dir, &[]).await;
    let (status, _) = call_json(
        &app,
        "POST",
        "/api/v1/events",
        Some(INGEST),
        Some(requests(100)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Only the admin role may take a copy.
    for (token, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(READ), StatusCode::FORBIDDEN),
        (Some(INGEST), StatusCode::FORBIDDEN),
    ] {
        let (status, body) = call(&app, "POST", "/api/v1/admin/backup", token).await;
        assert_eq!(status, expected, "{token:?}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }

    let ingest = tokio::spawn({
        let router = app.router();
        async move {
            for _ in 0..20 {
                let post = request("POST", "/api/v1/events", Some(INGEST))
                    .header("content-type", "application/json")
                    .body(Body::from(requests(10).to_string()))
                    .expect("request");
                let answer = router.clone().oneshot(post).await.expect("response");
                assert_eq!(answer.status(), StatusCode::OK);
            }
        }
    });
    let response = app
        .router()
        .oneshot(
            request("POST", "/api/v1/admin/backup", Some(ADMIN))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header("content-type"), mon_api::SQLITE_MEDIA_TYPE);
    assert!(header("content-disposition").starts_with("attachment; filename=\"mon-backup-"));
    let length: usize = header("content-length").parse().expect("content-length");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    ingest.await.expect("ingest");
    assert_eq!(bytes.len(), length);
    assert!(bytes.starts_with(b"SQLite format 3\0"));

    let copy = dir.path().join("copy.db");
    std::fs::write(&copy, &bytes).expect("write the copy");
    let conn = rusqlite::Connection::open(&copy).expect("open the copy");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM app_events", [], |r| r.get(0))
        .expect("count");
    assert!((100..=300).contains(&rows), "{rows} events in the copy");

    // The temporary copy beside the store is gone.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".mon-backup-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
