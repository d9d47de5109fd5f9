//! Context ids travel across `.await`, into instrumented spawned tasks, through nested
//! scopes, and from the `request_id` middleware.

mod support;

use mon_logging::{Format, LoggingConfig, call_scope, operation_scope};
use support::handle;
use tower::ServiceExt as _;
use tracing::Instrument as _;
use tracing_subscriber::EnvFilter;

// Current-thread runtime: `set_default` is per thread, and spawned tasks run on this one.
#[tokio::test]
async fn ids_cross_await_and_spawn() {
    let (logs, buffer) = handle(&LoggingConfig::default(), Format::Json);
    // A `warn` filter: the scopes still carry their ids.
    let filter = EnvFilter::builder().parse("warn").unwrap();
    let _guard = tracing::subscriber::set_default(mon_logging::subscriber(filter, &logs));
    async {
        tokio::task::yield_now().await;
        tracing::warn!("after await");
        let op = async {
            tokio::task::yield_now().await;
            tracing::warn!("in operation");
        }
        .instrument(operation_scope("stt_transcription", "stt"));
        tokio::spawn(op.in_current_span()).await.unwrap();
        tokio::spawn(async { tracing::warn!("spawned plain") }.in_current_span())
            .await
            .unwrap();
    }
    .instrument(call_scope("call-7"))
    .await;
    tracing::warn!("outside");

    let lines = buffer.json_lines();
    let by_message = |m: &str| lines.iter().find(|l| l["message"] == m).unwrap().clone();
    assert_eq!(by_message("after await")["call_id"], "call-7");
    let op = by_message("in operation");
    assert_eq!(op["call_id"], "call-7");
    assert_eq!(op["operation"], "stt_transcription");
    assert_eq!(op["service"], "stt");
    assert_eq!(op["operation_id"].as_str().unwrap().len(), 16);
    let plain = by_message("spawned plain");
    assert_eq!(plain["call_id"], "call-7");
    assert!(plain.get("operation").is_none(), "{plain}");
    assert!(by_message("outside").get("call_id").is_none());
}

#[test]
fn nested_calls_and_event_fields_override() {
    let (logs, buffer) = handle(&LoggingConfig::default(), Format::Json);
    support::with_logs(&logs, "info", || {
        let _a = call_scope("outer").entered();
        {
            let _b = call_scope("inner").entered();
            tracing::info!("inner");
        }
        tracing::info!(call_id = "explicit", "explicit");
        tracing::info!("outer");
    });
    let ids: Vec<_> = buffer
        .json_lines()
        .iter()
        .map(|l| l["call_id"].clone())
        .collect();
    assert_eq!(ids, ["inner", "explicit", "outer"]);
}

#[tokio::test]
async fn request_id_middleware_keeps_or_generates_ids() {
    let (logs, buffer) = handle(&LoggingConfig::default(), Format::Json);
    let filter = EnvFilter::builder().parse("info").unwrap();
    let _guard = tracing::subscriber::set_default(mon_logging::subscriber(filter, &logs));
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async {
                tracing::info!("handling");
                "ok"
            }),
        )
        .layer(axum::middleware::from_fn(mon_logging::request_id_layer));
    let request = |id: Option<&str>| {
        let mut r = axum::http::Request::builder().uri("/");
        if let Some(id) = id {
            r = r.header("x-request-id", id);
        }
        r.body(axum::body::Body::empty()).unwrap()
    };
    let kept = app.clone().oneshot(request(Some("req-abc"))).await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "req-abc");
    let made = app.clone().oneshot(request(None)).await.unwrap();
    let made_id = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(made_id.len(), 16);
    let bad = app.oneshot(request(Some("has space"))).await.unwrap();
    assert_ne!(bad.headers()["x-request-id"], "has space");

    let ids: Vec<_> = buffer
        .json_lines()
        .iter()
        .map(|l| l["request_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids[0], "req-abc");
    assert_eq!(ids[1], made_id);
}
