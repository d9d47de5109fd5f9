//! OTLP/HTTP in: `POST /v1/metrics`, `/v1/logs`, `/v1/traces` with the OpenTelemetry
//! exporters' bodies — protobuf (`application/x-protobuf`) or JSON
//! (`application/json`), gzip or not — behind the ingest role. `mon_metrics::OtlpMapper`
//! turns each export into mon's events, which are accepted as `POST /api/v1/events`
//! accepts them (masked, stored in one commit, recorded). The answer is the signal's
//! `Export*ServiceResponse` in the request's encoding; events that fail validation are
//! counted in its `partial_success` with the first reason, the others kept.

use crate::app::AppState;
use crate::ingest::{accept, decode_body};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mon_api::ErrorCode;
use mon_core::Event;
use mon_http::ApiError;
use mon_metrics::otlp::collector::{logs, metrics, trace};
use mon_metrics::{Mapped, OtlpMapper};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The OTLP routes.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/metrics", post(export_metrics))
        .route("/v1/logs", post(export_logs))
        .route("/v1/traces", post(export_traces))
        .with_state(state)
}

/// How the request (and so the answer) is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn of(headers: &HeaderMap) -> Result<Encoding, ApiError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match content_type.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
            "application/json" => Ok(Encoding::Json),
            other => Err(ApiError::of(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "Content-Type {other:?} is not an OTLP encoding; send application/x-protobuf or application/json"
                ),
            )),
        }
    }

    fn decode<T: Message + DeserializeOwned + Default>(self, body: &[u8]) -> Result<T, ApiError> {
        match self {
            Encoding::Protobuf => T::decode(body).map_err(|e| {
                ApiError::bad_request(format!("the body is not an OTLP protobuf message: {e}"))
            }),
            Encoding::Json => serde_json::from_slice(body).map_err(|e| {
                ApiError::of(
                    ErrorCode::MalformedJson,
                    format!("the body is not OTLP JSON: {e}"),
                )
            }),
        }
    }

    fn answer<T: Message + Serialize>(self, message: &T) -> Response {
        let (content_type, body) = match self {
            Encoding::Protobuf => ("application/x-protobuf", message.encode_to_vec()),
            Encoding::Json => (
                "application/json",
                serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec()),
            ),
        };
        let mut response = body.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }
}

/// Decodes an export of type `T` and turns it into events with `map`; then accepts
/// the valid ones, and only then keeps what the mapper learnt from them (so that an
/// export refused and sent again counts once). Returns the encoding and
/// `(rejected, first reason)` for the partial success.
async fn receive<T: Message + DeserializeOwned + Default>(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    map: impl FnOnce(&OtlpMapper, &T) -> Mapped,
) -> Result<(Encoding, i64, String), Response> {
    let ingest = &state.ingest;
    let refuse = |e: ApiError| {
        ingest.reject("invalid");
        e.into_response()
    };
    let encoding = Encoding::of(headers).map_err(refuse)?;
    let body = decode_body(headers, body, ingest.max_body_bytes).map_err(refuse)?;
    let request: T = encoding.decode(&body).map_err(refuse)?;
    let max_label_bytes = ingest.recorder.options().max_label_value_bytes;
    let mut rejected = 0;
    let mut reason = String::new();
    let mapper = &ingest.otlp;
    let mut mapped = map(mapper, &request);
    let events: Vec<Event> = std::mem::take(&mut mapped.events)
        .into_iter()
        .filter(|event| match event.validate(max_label_bytes) {
            Ok(()) => true,
            Err(e) => {
                if rejected == 0 {
                    reason = format!("a {} event: {}: {}", event.type_name(), e.field, e.reason);
                }
                rejected += 1;
                false
            }
        })
        .collect();
    if !events.is_empty() {
        let answer = accept(state, events, None).await?;
        rejected += answer.dropped as i64;
        if answer.dropped > 0 && reason.is_empty() {
            reason = "custom series beyond metrics.max_series were dropped".to_owned();
        }
    }
    mapper.keep(mapped);
    Ok((encoding, rejected, reason))
}

async fn export_metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let (encoding, rejected, error_message) = receive(
        &state,
        &headers,
        &body,
        |mapper: &OtlpMapper, r: &metrics::v1::ExportMetricsServiceRequest| mapper.metrics(r),
    )
    .await?;
    Ok(encoding.answer(&metrics::v1::ExportMetricsServiceResponse {
        partial_success: (rejected > 0).then_some(metrics::v1::ExportMetricsPartialSuccess {
            rejected_data_points: rejected,
            error_message,
        }),
    }))
}

async fn export_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let (encoding, rejected, error_message) = receive(
        &state,
        &headers,
        &body,
        |mapper: &OtlpMapper, r: &logs::v1::ExportLogsServiceRequest| mapper.logs(r),
    )
    .await?;
    Ok(encoding.answer(&logs::v1::ExportLogsServiceResponse {
        partial_success: (rejected > 0).then_some(logs::v1::ExportLogsPartialSuccess {
            rejected_log_records: rejected,
            error_message,
        }),
    }))
}

async fn export_traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let (encoding, rejected, error_message) = receive(
        &state,
        &headers,
        &body,
        |mapper: &OtlpMapper, r: &trace::v1::ExportTraceServiceRequest| mapper.traces(r),
    )
    .await?;
    Ok(encoding.answer(&trace::v1::ExportTraceServiceResponse {
        partial_success: (rejected > 0).then_some(trace::v1::ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message,
        }),
    }))
}
