//! An example voice agent instrumented with mon-logging: one `init`, then a call scope,
//! operation scopes, LiveKit error codes, perf timers, audit logging and error tracking;
//! and its HTTP API behind mon's security layer, whose events feed a mon-metrics recorder
//! and, with `MON_URL` set, a mon-server (so its brute-force rule sees the failed logins).
//!
//! ```sh
//! ENVIRONMENT=production cargo run -p voice-agent            # JSON lines on stderr
//! MON_LOG_DIR=/tmp/agent-logs cargo run -p voice-agent       # and app/ errors/ audit/ performance/ files
//! VOICE_AGENT_LISTEN=127.0.0.1:9000 cargo run -p voice-agent # then serve the API there
//! MON_URL=http://127.0.0.1:8080 MON_INGEST_TOKEN=... cargo run -p voice-agent # events to mon
//! ```

use axum::Router;
use axum::routing::{get, post};
use mon_logging::codes::livekit;
use mon_logging::{LoggingConfig, audit_log, call_scope, operation_scope, perf_timer};
use serde_json::json;
use std::time::Duration;
use tower::ServiceExt as _;
use tracing::Instrument as _;

/// What can fail in this toy agent.
#[derive(Debug, thiserror::Error)]
enum AgentError {
    /// The text-to-speech provider did not answer.
    #[error("TTS provider timed out after {0} ms")]
    TtsTimeout(u64),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mon_logging::LoggingError> {
    let config = LoggingConfig {
        app: Some("voice-agent".into()),
        dir: std::env::var_os("MON_LOG_DIR").map(Into::into),
        ..LoggingConfig::default()
    };
    let logs = mon_logging::init(&config)?;
    for (call_id, caller) in [("ast-123-456", "+15550100"), ("ast-123-457", "+15550101")] {
        handle_call(call_id, caller)
            .instrument(call_scope(call_id))
            .await;
    }
    tracing::info!(
        room_creation_failures = logs.stats().code_count(livekit::ROOM_CREATION_FAILED.code),
        "done"
    );
    serve_api().await;
    logs.flush();
    Ok(())
}

/// The agent's HTTP API behind the security layer: rate limits on SIP registration (a toll
/// fraud target), and every request recorded into the metrics recorder and, when given,
/// forwarded to mon-server.
fn api(recorder: mon_metrics::Recorder, forward: Option<mon_metrics::ForwarderHandle>) -> Router {
    let policy = mon_security::SecurityPolicy {
        rate_limits: [(
            "/sip/register".to_owned(),
            mon_security::RateLimit {
                limit: 10,
                window: Duration::from_secs(60),
            },
        )]
        .into(),
        ..mon_security::SecurityPolicy::default()
    };
    Router::new()
        .route("/api/calls/{id}", get(|| async { "in progress" }))
        .route("/sip/register", post(|| async { "registered" }))
        .layer(mon_security::SecurityLayer::new(policy, move |event| {
            if let Some(forward) = &forward {
                forward.send(event.clone());
            }
            let _ = recorder.record(&event);
        }))
}

/// Drives two requests through the API in process; with `VOICE_AGENT_LISTEN`, serves it.
async fn serve_api() {
    let recorder = mon_metrics::Recorder::default();
    // With MON_URL (and MON_INGEST_TOKEN when mon-server has auth), the layer's events also
    // go to mon-server's POST /api/v1/events.
    let forwarder = std::env::var("MON_URL").ok().map(|url| {
        let token = std::env::var("MON_INGEST_TOKEN")
            .ok()
            .map(mon_core::Secret::new);
        mon_metrics::EventForwarder::start(mon_metrics::ForwarderOptions::new(url, token))
    });
    let app = api(recorder.clone(), forwarder.as_ref().map(|f| f.handle()));
    for uri in ["/api/calls/ast-123-456", "/api/calls/ast-123-457"] {
        let request = axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .unwrap_or_default();
        let Ok(answer) = app.clone().oneshot(request).await;
        tracing::info!(uri, status = answer.status().as_u16(), "API answered");
    }
    tracing::info!(metrics = ?recorder.snapshot_values(), "recorded by the security layer");
    if let Ok(listen) = std::env::var("VOICE_AGENT_LISTEN") {
        serve(app, &listen).await;
    }
    if let Some(forwarder) = forwarder {
        forwarder.shutdown(Duration::from_secs(5)).await;
    }
}

/// Serves `app` on `listen` until it stops.
async fn serve(app: Router, listen: &str) {
    match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => {
            tracing::info!(listen, "serving the API");
            let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            if let Err(e) = axum::serve(listener, service).await {
                tracing::error!(error = %e, "the API stopped");
            }
        }
        Err(e) => tracing::error!(error = %e, listen, "cannot listen"),
    }
}

/// One SIP call: every line logged in here carries its `call_id`.
async fn handle_call(call_id: &str, caller: &str) {
    tracing::info!(caller, "SIP call received");
    let room = format!("sip-call-{call_id}");
    mon_logging::log_room_event("room_created", &room, &json!({ "participants_limit": 2 }));
    mon_logging::log_sip_event("call_connected", call_id, &json!({ "trunk": "main-trunk" }));

    // Operation scopes add `operation`, `service` and a generated `operation_id`; spawned
    // work keeps them when instrumented with the current span.
    let transcript = tokio::spawn(
        async {
            let _timer = perf_timer("stt_transcription");
            tokio::time::sleep(Duration::from_millis(20)).await;
            "hello".to_string()
        }
        .instrument(operation_scope("transcribe", "stt")),
    )
    .await
    .unwrap_or_default();
    tracing::info!(transcript = transcript.as_str(), "transcribed");

    let speech = async {
        let timer = perf_timer("tts_synthesis");
        tokio::time::sleep(Duration::from_millis(10)).await;
        let elapsed = timer.stop();
        if call_id.ends_with('7') {
            Err(AgentError::TtsTimeout(elapsed.as_millis() as u64 + 5000))
        } else {
            Ok(())
        }
    }
    .instrument(operation_scope("synthesize", "tts"))
    .await;
    if let Err(e) = speech {
        // Grouped by kind + normalised message + location in mon's error tracking.
        mon_logging::record_error("TtsTimeout", &e);
        tracing::error!(error_code = %livekit::ROOM_CREATION_FAILED, room = room.as_str(), "could not move the call to a fallback room");
    }

    // Secrets are masked in every output.
    tracing::info!(api_key = "sk-live-abcdef", "provider configured");
    audit_log(
        "Call completed",
        &json!({ "call_id": call_id, "caller": caller, "duration_sec": 42.5, "cost_usd": 0.031 }),
    );
}
