//! `POST /api/v1/events`: application events in (JSON array or NDJSON, gzip accepted),
//! validated as one atomic batch, persisted, then handed to every part of mon that uses
//! them by [`dispatch`]. Each event is decoded and validated by its own `mon_core` struct
//! (`Event::from_json`, `Event::validate`); what stays here is HTTP (body decoding, answers)
//! and the batch's parts that depend on mon-server's configuration (configured heartbeat
//! checks, the custom series limit). Also `GET /api/v1/snapshot` and
//! `GET /api/v1/metrics[/query]`.
//!
//! `?source=demo` labels the batch: its application events and log records keep the
//! label, its error events carry it as `context.source`, its metrics go to the source's
//! own recorder (stored as series labelled `source=demo`, kept out of the rule snapshot
//! and `/metrics`), and `DELETE /api/v1/sources/{source}` removes them all (`mon demo
//! --delete`).
//!
//! Answers: 200 `{"accepted": n, "dropped": m, "dropped_reasons": {"series_limit": m}}`
//! (custom metric events that would create a series beyond `metrics.max_series` are
//! dropped, counted in `mon_ingest_dropped_total{reason}` and logged at most once a
//! minute); 400 `invalid_event` naming the event's index, field and reason (nothing of
//! the batch is kept); 413 over `server.limits.max_body_bytes` (compressed or not); 429
//! `busy` with `Retry-After` when the store writer is saturated.

use crate::app::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use mon_api::ErrorCode;
use mon_api::answers::{
    CallTotalsView, CheckSnapshotView, ErrorRecordView, EventsAnswer, LivekitTotalsView,
    SeriesListAnswer, SeriesView, SlowRequestView, SnapshotAnswer, WindowReportView,
    WindowStatsView,
};
use mon_core::Event;
use mon_http::ApiError;
use mon_http::Json;
use mon_metrics::{Recorder, Window, WindowStats};
use mon_store::{AppEventRow, WriteBatch};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

/// The ingest side of the server: the recorder events feed, and mon's own ingest counters.
#[derive(Debug, Clone)]
pub(crate) struct Ingest {
    /// The application recorders (rolling windows, `/metrics` families).
    pub(crate) recorder: Recorder,
    /// The largest body accepted after gzip decompression.
    pub(crate) max_body_bytes: usize,
    /// The exporters' last successes and errors (in `GET /api/v1/status`).
    pub(crate) exporters: mon_metrics::ExportStatus,
    /// OTLP exports into events (`/v1/metrics`, `/v1/logs`, `/v1/traces`).
    pub(crate) otlp: mon_metrics::OtlpMapper,
    events: Family<TypeLabel, Counter>,
    rejected: Family<ReasonLabel, Counter>,
    dropped: Family<ReasonLabel, Counter>,
    /// When a dropped event was last logged (one line a minute at most).
    drop_logged: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TypeLabel {
    r#type: mon_core::LabelValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: mon_core::LabelValue,
}

impl Ingest {
    /// Builds the ingest state and registers `mon_ingest_*` in `registry`.
    pub(crate) fn new(
        recorder: Recorder,
        max_body_bytes: usize,
        otlp: mon_metrics::OtlpMapper,
        registry: &mut Registry,
    ) -> Self {
        let events = Family::<TypeLabel, Counter>::default();
        let rejected = Family::<ReasonLabel, Counter>::default();
        let dropped = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "mon_ingest_events",
            "Application events accepted by POST /api/v1/events, by type",
            events.clone(),
        );
        registry.register(
            "mon_ingest_rejected_batches",
            "Event batches refused by POST /api/v1/events, by reason (invalid, busy, store)",
            rejected.clone(),
        );
        registry.register(
            "mon_ingest_dropped",
            "Events of accepted batches that were not recorded, by reason (series_limit, conflict)",
            dropped.clone(),
        );
        recorder.register(registry);
        Ingest {
            recorder,
            max_body_bytes,
            exporters: mon_metrics::ExportStatus::default(),
            otlp,
            events,
            rejected,
            dropped,
            drop_logged: Default::default(),
        }
    }

    /// Counts `n` events dropped for `reason`, logging at most one line a minute.
    fn drop_events(&self, reason: &str, n: u64) {
        if n == 0 {
            return;
        }
        self.dropped
            .get_or_create(&ReasonLabel {
                reason: reason.into(),
            })
            .inc_by(n);
        let mut last = self
            .drop_logged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
            *last = Some(std::time::Instant::now());
            tracing::warn!(
                reason,
                dropped = n,
                "ingested events were dropped (logged once a minute; mon_ingest_dropped_total counts them all)"
            );
        }
    }

    pub(crate) fn reject(&self, reason: &str) {
        self.rejected
            .get_or_create(&ReasonLabel {
                reason: reason.into(),
            })
            .inc();
    }
}

/// The ingest, snapshot (also at the seeds' `/health/metrics` and `/monitoring/metrics`)
/// and series routes.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/events", post(ingest))
        .route("/api/v1/snapshot", get(snapshot))
        .route("/api/v1/metrics", get(series_list))
        .route("/api/v1/metrics/query", get(series_query))
        .route("/api/v1/metrics/range", get(series_range))
        // The seeds' names for the rule variables now.
        .route("/health/metrics", get(snapshot))
        .route("/monitoring/metrics", get(snapshot))
        .with_state(state)
}

/// Hands one accepted (and already persisted) event to every part of mon that uses it
/// in memory (recorders, LiveKit counters, heartbeats). What is stored was written with
/// the batch by [`batch_writes`] before the answer.
///
/// One arm per event kind: to give a kind more consumers, add a call in its arm.
/// `labelled` is a labelled source's own recorder ([`Recorder::source`]), whose figures
/// (LiveKit's too) stay out of the snapshot; `None` records into the ingest recorder.
fn dispatch(state: &AppState, labelled: Option<&Recorder>, event: &Event, now: DateTime<Utc>) {
    let recorder = labelled.unwrap_or(&state.ingest.recorder);
    let hub = labelled.is_none().then_some(&state.hub);
    let ts = event.timestamp().unwrap_or(now);
    let record = |event: &Event| {
        // Validation ran before the batch was accepted; only a series limit reached, or a
        // colliding family created, meanwhile by a concurrent batch can land here.
        match recorder.record(event) {
            Ok(()) => {}
            Err(mon_metrics::MetricsError::TooManySeries { .. }) => {
                state.ingest.drop_events(SERIES_LIMIT, 1);
            }
            Err(_) => state.ingest.drop_events("conflict", 1),
        }
    };
    match event {
        Event::Request(_)
        | Event::CallStarted(_)
        | Event::CallEnded(_)
        | Event::VoiceQuality(_)
        | Event::AiUsage(_)
        | Event::Gauge(_)
        | Event::Counter(_)
        | Event::Auth(_)
        | Event::Security(_)
        | Event::Session(_)
        | Event::Feedback(_)
        | Event::Feature(_) => record(event),
        Event::Error(e) => {
            // Metrics (errors by kind, errors_per_minute); the group and the search
            // record were stored with the batch.
            record(event);
            // LK1301 also counts into room_creation_failures.
            crate::livekit::error_event(recorder.livekit(), hub, &e.kind, &e.context, ts.into());
        }
        // Stored with the batch; nothing kept in memory.
        Event::Log(_) | Event::Deployment(_) => {}
        Event::Heartbeat(e) => {
            if let Err(err) =
                state
                    .health
                    .heartbeat(&e.name, mon_health::HeartbeatSignal::Success, Some(ts))
            {
                tracing::warn!(error = %err, "an ingested heartbeat could not be recorded");
            }
        }
        // Already verified by the application that forwards it (with an ingest token);
        // LiveKit's own webhooks go to POST /api/v1/webhooks/livekit.
        Event::Livekit(e) => {
            crate::livekit::webhook_event(recorder.livekit(), hub, &e.event, &e.payload, ts.into());
        }
    }
}

/// The one store write of a whole batch: every event kept in `app_events`, and the
/// error-tracking and log-search rows of `error` and `log` events (masked). Committed in
/// one transaction before the answer, so a batch is stored whole or not at all.
fn batch_writes(
    state: &AppState,
    events: &[Event],
    now: DateTime<Utc>,
    source: Option<&str>,
) -> WriteBatch {
    let mut batch = WriteBatch::default();
    for event in events {
        let ts = event.timestamp().unwrap_or(now);
        let row = |event: &Event| AppEventRow {
            ts,
            kind: event.type_name().to_owned(),
            body: serde_json::to_string(event).unwrap_or_default(),
            source: source.map(str::to_owned),
            arm: event
                .arm()
                .map(|a| (a.experiment.to_owned(), a.variant.to_owned())),
        };
        // Errors and logs are stored (masked) in error tracking and log search instead
        // of `app_events`; heartbeats by their check; LiveKit events as their counters.
        match event {
            Event::Request(_)
            | Event::CallStarted(_)
            | Event::CallEnded(_)
            | Event::VoiceQuality(_)
            | Event::AiUsage(_)
            | Event::Gauge(_)
            | Event::Counter(_)
            | Event::Auth(_)
            | Event::Security(_)
            | Event::Deployment(_)
            | Event::Session(_)
            | Event::Feedback(_)
            | Event::Feature(_) => batch.app_events.push(row(event)),
            Event::Error(e) => batch
                .logs
                .extend(state.logs.error_writes(&e.kind, &e.message, &e.context, ts)),
            Event::Log(e) => batch.logs.extend(state.logs.log_write(
                &e.level,
                &e.message,
                e.call_id.as_deref(),
                &e.fields,
                ts,
            )),
            Event::Heartbeat(_) | Event::Livekit(_) => {}
        }
    }
    if let Some(source) = source {
        for write in &mut batch.logs {
            if let mon_store::LogWrite::Log(row) = write {
                row.source = source.to_owned();
            }
        }
    }
    batch
}

/// The sink of the security layer on mon's own API (`server.security`): its auth and
/// security events (bad tokens, refusals, blocks) take the path of ingested ones — masked,
/// stored with [`batch_writes`], then [`dispatch`]ed — in batches, one store write in
/// flight at a time, at most [`MAX_PENDING`] waiting (beyond, they are dropped and
/// counted in `mon_ingest_dropped_total{reason="internal_overflow"}`). Its request events
/// are left out: mon's own traffic is not the monitored application's.
pub(crate) fn security_sink(state: AppState) -> impl Fn(Event) + Send + Sync + 'static {
    let pending = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), false)));
    move |event: Event| {
        match event {
            Event::Auth(_) | Event::Security(_) => {}
            Event::Request(_)
            | Event::CallStarted(_)
            | Event::CallEnded(_)
            | Event::Error(_)
            | Event::VoiceQuality(_)
            | Event::AiUsage(_)
            | Event::Gauge(_)
            | Event::Counter(_)
            | Event::Heartbeat(_)
            | Event::Log(_)
            | Event::Livekit(_)
            | Event::Deployment(_)
            | Event::Session(_)
            | Event::Feedback(_)
            | Event::Feature(_) => return,
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut guard = pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (events, flushing): &mut (Vec<Event>, bool) = &mut guard;
        if events.len() >= MAX_PENDING {
            state.ingest.drop_events("internal_overflow", 1);
            return;
        }
        events.push(event);
        if !std::mem::replace(flushing, true) {
            let (state, pending) = (state.clone(), pending.clone());
            runtime.spawn(async move {
                loop {
                    let batch = {
                        let mut guard = pending
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if guard.0.is_empty() {
                            guard.1 = false;
                            return;
                        }
                        std::mem::take(&mut guard.0)
                    };
                    record_internal(&state, batch).await;
                }
            });
        }
    }
}

/// The most internal events waiting for the store.
const MAX_PENDING: usize = 10_000;

/// Events mon produced about itself, validated, masked, stored and dispatched as an
/// ingested batch is.
async fn record_internal(state: &AppState, mut events: Vec<Event>) {
    let max_label_bytes = state.ingest.recorder.options().max_label_value_bytes;
    events.retain(|e| e.validate(max_label_bytes).is_ok());
    events.iter_mut().for_each(|e| state.logs.mask_event(e));
    let now = Utc::now();
    let committed = match state
        .store
        .try_write(batch_writes(state, &events, now, None))
    {
        Ok(ticket) => ticket.await,
        Err(e) => Err(e),
    };
    if let Err(e) = committed {
        tracing::warn!(error = %e, events = events.len(), "the security layer's events could not be stored");
        state.ingest.drop_events("store", events.len() as u64);
        return;
    }
    for event in &events {
        dispatch(state, None, event, now);
    }
}

fn invalid(index: usize, field: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError::of(
        ErrorCode::InvalidEvent,
        format!("event {index}, field {field:?}: {reason}; nothing of the batch was accepted"),
    )
}

fn too_large(limit: usize) -> ApiError {
    ApiError::of(
        ErrorCode::PayloadTooLarge,
        format!(
            "the decompressed body is over {limit} bytes (server.limits.max_body_bytes); send smaller batches"
        ),
    )
}

/// The body as sent, or gunzipped when `Content-Encoding: gzip` (bounded by `limit`).
pub(crate) fn decode_body(
    headers: &HeaderMap,
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "identity" | "" => Ok(body.to_vec()),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            let read = flate2::read::GzDecoder::new(body)
                .take(limit as u64 + 1)
                .read_to_end(&mut out);
            match read {
                Ok(n) if n > limit => Err(too_large(limit)),
                Ok(_) => Ok(out),
                Err(e) => Err(ApiError::bad_request(format!(
                    "the body is not valid gzip ({e}); send it uncompressed or with Content-Encoding: gzip"
                ))),
            }
        }
        other => Err(ApiError::of(
            ErrorCode::UnsupportedMediaType,
            format!("Content-Encoding {other:?} is not supported; use gzip or none"),
        )),
    }
}

/// Parses a JSON array or NDJSON body into events, validating every one (label values
/// up to `max_label_bytes`).
pub(crate) fn parse_events(body: &[u8], max_label_bytes: usize) -> Result<Vec<Event>, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
    let values: Vec<Value> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|e| {
            ApiError::of(
                ErrorCode::MalformedJson,
                format!("the body is not a JSON array of events: {e}"),
            )
        })?
    } else {
        let mut values = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            values.push(serde_json::from_str(line).map_err(|e| {
                ApiError::of(
                    ErrorCode::MalformedJson,
                    format!(
                        "line {} (event {}) is not a JSON object: {e}",
                        n + 1,
                        values.len()
                    ),
                )
            })?);
        }
        values
    };
    if values.is_empty() {
        return Err(ApiError::bad_request(
            "the body holds no events; send a JSON array or one JSON object per line",
        ));
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| to_event(i, v, max_label_bytes))
        .collect()
}

/// Turns one JSON value into a validated event, or says which field is wrong.
fn to_event(index: usize, value: Value, max_label_bytes: usize) -> Result<Event, ApiError> {
    Event::from_json(value)
        .and_then(|event| event.validate(max_label_bytes).map(|()| event))
        .map_err(|e| invalid(index, &e.field, e.reason))
}

/// `?source=`: a label for the batch's stored rows (`demo`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IngestQuery {
    source: Option<String>,
}

/// `POST /api/v1/events`.
async fn ingest(
    State(state): State<AppState>,
    query: Result<Query<IngestQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<EventsAnswer>, Response> {
    let ingest = &state.ingest;
    let source = mon_http::params::query(query)
        .and_then(|q| {
            q.source
                .map(|s| crate::sources::check_source(&s).map(|()| s))
                .transpose()
        })
        .map_err(|e| {
            ingest.reject("invalid");
            e.into_response()
        })?;
    let body = decode_body(&headers, &body, ingest.max_body_bytes).map_err(|e| {
        ingest.reject("invalid");
        e.into_response()
    })?;
    let max_label_bytes = ingest.recorder.options().max_label_value_bytes;
    let events = parse_events(&body, max_label_bytes).map_err(|e| {
        ingest.reject("invalid");
        e.into_response()
    })?;
    accept(&state, events, source).await.map(Json)
}

/// Accepts validated events as `POST /api/v1/events` does: masked, checked (heartbeat
/// names, the custom series limit), stored in one commit, then recorded; `source`
/// labels the batch. An error answer is ready to send.
pub(crate) async fn accept(
    state: &AppState,
    mut events: Vec<Event>,
    source: Option<String>,
) -> Result<EventsAnswer, Response> {
    let ingest = &state.ingest;
    // Secrets an application put in an error or log never reach the store, the
    // snapshot or the exporters.
    events.iter_mut().for_each(|e| state.logs.mask_event(e));
    if let Some(source) = &source {
        for event in &mut events {
            if let Event::Error(e) = event {
                e.context
                    .insert("source".to_owned(), Value::String(source.clone()));
            }
        }
    }
    if let Some((i, name)) = events.iter().enumerate().find_map(|(i, e)| {
        let Event::Heartbeat(h) = e else { return None };
        state
            .health
            .check(&h.name)
            .is_none()
            .then_some((i, &h.name))
    }) {
        ingest.reject("invalid");
        return Err(invalid(
            i,
            "name",
            format!("no heartbeat check named {name:?} is configured"),
        )
        .into_response());
    }
    // A labelled batch records apart, into its source's own recorder.
    let labelled = match &source {
        Some(label) => Some(ingest.recorder.source(label).map_err(|e| {
            ingest.reject("invalid");
            ApiError::bad_request(e.to_string()).into_response()
        })?),
        None => None,
    };
    let recorder = labelled.as_ref().unwrap_or(&ingest.recorder);
    let dropped = match recorder.admit_custom(&events) {
        Ok(over) => {
            let mut index = 0;
            events.retain(|_| {
                index += 1;
                !over.contains(&(index - 1))
            });
            over.len()
        }
        Err((i, e)) => {
            ingest.reject("invalid");
            return Err(invalid(i, "name", e).into_response());
        }
    };
    let now = Utc::now();
    let batch = batch_writes(state, &events, now, source.as_deref());
    let errors = mon_logging::LogIngest::errors_in(&batch.logs);
    let committed = match state.store.try_write(batch) {
        Ok(ticket) => ticket.await,
        Err(e) => Err(e),
    };
    match committed {
        Ok(()) => state.logs.errors_committed(errors),
        Err(e) => {
            ingest.reject(if e.is_retryable() { "busy" } else { "store" });
            return Err(ApiError::from(e).into_response());
        }
    }
    for event in &events {
        dispatch(state, labelled.as_ref(), event, now);
        ingest
            .events
            .get_or_create(&TypeLabel {
                r#type: event.type_name().into(),
            })
            .inc();
    }
    // Heartbeat pings are kept (stored) before the answer, as `/api/v1/heartbeat` keeps them.
    let pinged: std::collections::BTreeSet<&str> = events
        .iter()
        .filter_map(|e| {
            let Event::Heartbeat(h) = e else { return None };
            Some(h.name.as_str())
        })
        .collect();
    for name in pinged {
        state.health.keep(name).await;
    }
    ingest.drop_events(SERIES_LIMIT, dropped as u64);
    let mut dropped_reasons = BTreeMap::new();
    if dropped > 0 {
        dropped_reasons.insert(SERIES_LIMIT.to_string(), dropped);
    }
    Ok(EventsAnswer {
        accepted: events.len(),
        dropped,
        dropped_reasons,
    })
}

/// The drop reason of a custom metric event beyond `metrics.max_series` series.
const SERIES_LIMIT: &str = "series_limit";

/// `GET /api/v1/snapshot`: the rule snapshot (every source) plus the recorder's report
/// (windows, per-endpoint maps, calls, errors, slow requests).
async fn snapshot(State(state): State<AppState>) -> Json<SnapshotAnswer> {
    let snapshot = state.hub.current();
    let report = state.ingest.recorder.report();
    let livekit = state.ingest.recorder.livekit().totals();
    let by_window = |stats: BTreeMap<Window, WindowStats>| {
        stats
            .into_iter()
            .map(|(w, s)| (w.as_str().to_string(), window_stats(s)))
            .collect()
    };
    Json(SnapshotAnswer {
        calls: CallTotalsView {
            active_calls: report.calls.active_calls,
            failed_calls: report.calls.failed_calls,
            successful_calls: report.calls.successful_calls,
            total_calls: report.calls.total_calls,
        },
        checks: snapshot
            .checks
            .into_iter()
            .map(|(name, c)| {
                let view = CheckSnapshotView {
                    critical: c.critical,
                    latency_ms: c.latency_ms,
                    status: c.status.as_str().to_string(),
                };
                (name, view)
            })
            .collect(),
        endpoints: report
            .endpoints
            .into_iter()
            .map(|(endpoint, stats)| (endpoint, by_window(stats)))
            .collect(),
        errors_by_kind: report.errors_by_kind,
        livekit: LivekitTotalsView {
            egress_failures: livekit.egress_failures,
            events: livekit.events,
            participants_aborted: livekit.participants_aborted,
            participants_joined: livekit.participants_joined,
            participants_left: livekit.participants_left,
            room_creation_failures: livekit.room_creation_failures,
            rooms_finished: livekit.rooms_finished,
            rooms_started: livekit.rooms_started,
        },
        recent_errors: report
            .recent_errors
            .into_iter()
            .map(|e| ErrorRecordView {
                at: e.at,
                context: e.context,
                kind: e.kind,
                message: e.message,
            })
            .collect(),
        rule_window: report.rule_window.as_str().to_string(),
        slow_requests: report
            .slow_requests
            .into_iter()
            .map(|r| SlowRequestView {
                at: r.at,
                endpoint: r.endpoint,
                latency_ms: r.latency_ms,
                method: r.method,
                status: r.status,
            })
            .collect(),
        taken_at: snapshot.taken_at,
        values: snapshot.values,
        windows: report
            .windows
            .into_iter()
            .map(|(w, r)| {
                let view = WindowReportView {
                    ai: window_stats(r.ai),
                    calls_ended: window_stats(r.calls_ended),
                    calls_started: window_stats(r.calls_started),
                    errors: window_stats(r.errors),
                    jitter_ms: window_stats(r.jitter_ms),
                    mos: window_stats(r.mos),
                    packet_loss: window_stats(r.packet_loss),
                    requests: window_stats(r.requests),
                    voice_latency_ms: window_stats(r.voice_latency_ms),
                    audio_level: window_stats(r.audio_level),
                    noise_level: window_stats(r.noise_level),
                    sessions_started: window_stats(r.sessions_started),
                    sessions_ended: window_stats(r.sessions_ended),
                    session_duration: window_stats(r.session_duration),
                    session_turns: window_stats(r.session_turns),
                    ratings: window_stats(r.ratings),
                    feedback: window_stats(r.feedback),
                    feature_uses: window_stats(r.feature_uses),
                };
                (w.as_str().to_string(), view)
            })
            .collect(),
    })
}

/// One window's statistics as the snapshot answer shows them.
fn window_stats(s: WindowStats) -> WindowStatsView {
    WindowStatsView {
        avg: s.avg,
        count: s.count,
        failure_percent: s.failure_percent,
        failures: s.failures,
        max: s.max,
        min: s.min,
        p50: s.p50,
        p95: s.p95,
        p99: s.p99,
        rate_per_min: s.rate_per_min,
        success_percent: s.success_percent,
        sum: s.sum,
    }
}

/// `GET /api/v1/metrics`: every stored series.
async fn series_list(State(state): State<AppState>) -> Result<Json<SeriesListAnswer>, ApiError> {
    let series: Vec<SeriesView> = state
        .store
        .series_list()
        .await?
        .into_iter()
        .map(|s| SeriesView {
            name: s.name,
            labels: s.labels,
        })
        .collect();
    Ok(Json(SeriesListAnswer {
        count: series.len(),
        series,
    }))
}

/// `?name=` (required), `labels=k=v,k2=v2`, `from=` / `to=` (RFC 3339 or a duration ago;
/// default the last hour), `step=` (a duration); `stats=min,max,count,sum` for the
/// compact answer only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesQuery {
    name: Option<String>,
    labels: Option<String>,
    from: Option<String>,
    to: Option<String>,
    step: Option<String>,
    stats: Option<String>,
}

/// The parameters both range queries share: selector, range and step.
struct RangeParams {
    selector: mon_metrics::SeriesSelector,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Option<Duration>,
}

impl RangeParams {
    fn parse(q: &SeriesQuery) -> Result<RangeParams, ApiError> {
        let name = q.name.as_deref().filter(|n| !n.is_empty()).ok_or_else(|| {
            ApiError::bad_request("name= is required; GET /api/v1/metrics lists series")
        })?;
        let selector = mon_metrics::SeriesSelector::parse(name, q.labels.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let (from, to) =
            mon_http::params::parse_from_to(q.from.as_deref(), q.to.as_deref(), Utc::now())?;
        let step = q
            .step
            .as_deref()
            .map(|s| mon_http::params::parse_duration("step", s))
            .transpose()?;
        Ok(RangeParams {
            selector,
            from,
            to,
            step,
        })
    }
}

/// `GET /api/v1/metrics/query`: points with their times and aggregates, streamed.
async fn series_query(
    State(state): State<AppState>,
    query: Result<Query<SeriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = mon_http::params::query(query)?;
    if q.stats.is_some() {
        return Err(ApiError::bad_request(
            "stats= is only for GET /api/v1/metrics/range; this answer carries every statistic",
        ));
    }
    range_answer(&state, &q, crate::range::Shape::Full).await
}

/// `GET /api/v1/metrics/range`: the compact answer, streamed.
async fn series_range(
    State(state): State<AppState>,
    query: Result<Query<SeriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = mon_http::params::query(query)?;
    let stats = crate::range::Stats::parse(q.stats.as_deref().unwrap_or(""))?;
    range_answer(&state, &q, crate::range::Shape::Compact(stats)).await
}

/// The streamed answer of a range query in `shape`: the full one lists the buckets that hold
/// samples, the compact one every bucket of the range.
async fn range_answer(
    state: &AppState,
    q: &SeriesQuery,
    shape: crate::range::Shape,
) -> Result<Response, ApiError> {
    let p = RangeParams::parse(q)?;
    let plan = match shape {
        crate::range::Shape::Full => mon_store::RangePlan::new(p.from, p.to, p.step)?,
        crate::range::Shape::Compact(stats) => {
            let plan = mon_store::RangePlan::dense(p.from, p.to, p.step)?;
            if stats.extremes() {
                plan
            } else {
                plan.without_extremes()
            }
        }
    };
    crate::range::answer(
        &state.store,
        p.selector.name,
        p.selector.labels,
        (p.from, p.to),
        plan,
        shape,
    )
    .await
}
