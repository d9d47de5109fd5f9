//! `ApiError`: every failed request answers JSON `{"error": {"code", "message"}}` (the
//! [`mon_api::ErrorAnswer`]) with an [`ErrorCode`]; store errors convert by kind (`From`); and
//! [`Json`], the one JSON body extractor every handler uses, whose refusals are `ApiError`s.

use axum::body::Bytes;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mon_api::{ErrorAnswer, ErrorBody, ErrorCode};
use mon_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An HTTP API failure. The message is for people and never contains secrets.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    /// `Retry-After` seconds, for a refusal that passes (a full store queue).
    retry_after: Option<u32>,
}

impl ApiError {
    /// Any status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `code` with its own status.
    pub fn of(code: ErrorCode, message: impl Into<String>) -> Self {
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, code, message)
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::of(ErrorCode::BadRequest, message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::of(ErrorCode::NotFound, message)
    }

    /// 500: our fault; the details go to the log, not the client.
    pub fn internal(context: &str, err: &dyn std::error::Error) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::of(
            ErrorCode::Internal,
            format!("{context}; see the server log"),
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message, for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `Retry-After` seconds the answer carries, if any.
    pub fn retry_after(&self) -> Option<u32> {
        self.retry_after
    }
}

/// A store failure, by its kind: a full write queue or a busy database is 429 `busy` with
/// `Retry-After: 1`; a closed store (shutting down) 503 `unavailable`; a write refused
/// before the database 400; anything else 500 `internal`, logged with its source.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidInput { reason } => ApiError::bad_request(reason),
            StoreError::Busy { capacity } => ApiError {
                retry_after: Some(1),
                ..ApiError::of(
                    ErrorCode::Busy,
                    format!(
                        "the store writer is saturated ({capacity} batches queued); retry after 1 second"
                    ),
                )
            },
            e if e.is_retryable() => ApiError {
                retry_after: Some(1),
                ..ApiError::of(
                    ErrorCode::Busy,
                    "the database is busy; retry after 1 second",
                )
            },
            StoreError::Closed => ApiError::of(
                ErrorCode::Unavailable,
                "the store is closed: the server is shutting down",
            ),
            e => ApiError::internal("the store failed", &e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorAnswer {
            error: ErrorBody {
                code: self.code,
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A JSON request body (extractor) or answer (response).
///
/// As an extractor it accepts `application/json`, `application/*+json`, no content type,
/// and curl's default `application/x-www-form-urlencoded` when the body is a JSON object or
/// array; another content type is 415. A body that is not JSON, or JSON of the wrong shape,
/// is 400 `bad_request` naming the field path, line and column. `Option<Json<T>>` is `None`
/// for an empty body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let (headers, body) = json_body(request, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request(
                "the request body is empty; send a JSON object",
            ));
        }
        parse_json(&headers, &body).map(Json)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let (headers, body) = json_body(request, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse_json(&headers, &body).map(|v| Some(Json(v)))
    }
}

/// The headers and the whole body (within the body limit: 413 beyond it).
async fn json_body<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<(HeaderMap, Bytes), ApiError> {
    let headers = request.headers().clone();
    let body = Bytes::from_request(request, state).await.map_err(|e| {
        let status = e.status();
        ApiError::new(
            status,
            ErrorCode::for_status(status.as_u16()),
            e.body_text(),
        )
    })?;
    Ok((headers, body))
}

/// Checks the content type against the body, then deserializes it.
fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    if let Some(value) = headers.get(header::CONTENT_TYPE) {
        let text = value.to_str().unwrap_or("");
        let essence = text
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let json = essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"));
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        // curl -d sends this type by default; a body that opens like JSON is JSON.
        let curl_default =
            essence == "application/x-www-form-urlencoded" && matches!(first, Some(b'{' | b'['));
        if !json && !curl_default {
            return Err(ApiError::of(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "the body must be JSON: send `Content-Type: application/json` (got {:?})",
                    text.chars().take(100).collect::<String>()
                ),
            ));
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let at = match e.path().to_string() {
            path if path == "." => String::new(),
            path => format!(" at `{path}`"),
        };
        ApiError::bad_request(format!("invalid JSON body{at}: {}", e.into_inner()))
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_answer_by_kind() {
        // (error, status, code, Retry-After)
        let cases = [
            (
                StoreError::Busy { capacity: 8 },
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::Busy,
                Some(1),
            ),
            (
                StoreError::Closed,
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                None,
            ),
            (
                StoreError::InvalidInput {
                    reason: "bad".into(),
                },
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                None,
            ),
        ];
        for (error, status, code, retry_after) in cases {
            let text = error.to_string();
            let answer = ApiError::from(error);
            assert_eq!(
                (answer.status(), answer.code(), answer.retry_after()),
                (status, code, retry_after),
                "{text}"
            );
        }
        let busy = ApiError::from(StoreError::Busy { capacity: 8 });
        assert!(busy.message().contains("8 batches queued"), "{busy:?}");
        let response = busy.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
