//! The error answer of every failed API request: `{"error": {"code", "message"}}`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What went wrong, as a stable machine-readable code; each has one HTTP status
/// ([`ErrorCode::status`]). Serialized in snake_case (`"bad_request"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is malformed (a query parameter, a path, a JSON body of the wrong shape).
    BadRequest,
    /// 400: an ingested event is invalid; nothing of its batch was accepted.
    InvalidEvent,
    /// 400: an ingest body is not JSON (or a line of NDJSON is not).
    MalformedJson,
    /// 401: no token, a malformed `Authorization` header, an unknown token, or a bad webhook signature.
    Unauthorized,
    /// 403: the token's role does not allow the call, or no token with that role is configured.
    Forbidden,
    /// 404: no such endpoint, check, alert, silence, rule, channel, dashboard or error group.
    NotFound,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 408: the request took longer than `server.limits.request_timeout`.
    RequestTimeout,
    /// 409: the change conflicts with the current state (acknowledging a resolved alert).
    Conflict,
    /// 413: the body is over `server.limits.max_body_bytes`.
    PayloadTooLarge,
    /// 414: the request target is over `server.limits.max_uri_bytes`.
    UriTooLong,
    /// 415: the body is not JSON, or its content encoding is not supported.
    UnsupportedMediaType,
    /// 429: the store's write queue is full or the database is busy; retry after the
    /// `Retry-After` seconds.
    Busy,
    /// 429: a `server.security` rate limit, or a block after failed authentications;
    /// retry after the `Retry-After` seconds.
    RateLimited,
    /// 431: the request headers are over `server.limits.max_header_bytes`.
    HeadersTooLarge,
    /// 500: a fault of the server; the details are in its log.
    Internal,
    /// 502: a channel refused a test notification.
    ChannelFailed,
    /// 503: the store is closed (the server is shutting down).
    Unavailable,
    /// 504: a channel did not answer a test notification in time.
    ChannelTimeout,
}

impl ErrorCode {
    /// Every code, in the order of the docs' table.
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::BadRequest,
        ErrorCode::InvalidEvent,
        ErrorCode::MalformedJson,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::RequestTimeout,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UriTooLong,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::Busy,
        ErrorCode::RateLimited,
        ErrorCode::HeadersTooLarge,
        ErrorCode::Internal,
        ErrorCode::ChannelFailed,
        ErrorCode::Unavailable,
        ErrorCode::ChannelTimeout,
    ];

    /// The HTTP status a failure with this code answers.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::InvalidEvent | ErrorCode::MalformedJson => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UriTooLong => 414,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::Busy | ErrorCode::RateLimited => 429,
            ErrorCode::HeadersTooLarge => 431,
            ErrorCode::Internal => 500,
            ErrorCode::ChannelFailed => 502,
            ErrorCode::Unavailable => 503,
            ErrorCode::ChannelTimeout => 504,
        }
    }

    /// The code as it appears in answers (`"bad_request"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::InvalidEvent => "invalid_event",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Busy => "busy",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::Internal => "internal",
            ErrorCode::ChannelFailed => "channel_failed",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::ChannelTimeout => "channel_timeout",
        }
    }

    /// The code an answer of `status` without a code of its own gets (the plain-text
    /// refusals of layers and extractors): the code of that status, else `internal` for
    /// a 5xx and `bad_request` for anything else.
    pub fn for_status(status: u16) -> ErrorCode {
        let generic = [
            ErrorCode::MethodNotAllowed,
            ErrorCode::RequestTimeout,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UriTooLong,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::HeadersTooLarge,
            ErrorCode::NotFound,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::Conflict,
            ErrorCode::Busy,
            ErrorCode::Unavailable,
        ];
        match generic.into_iter().find(|c| c.status() == status) {
            Some(code) => code,
            None if status >= 500 => ErrorCode::Internal,
            None => ErrorCode::BadRequest,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer of every failed request: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorAnswer {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The `error` object of an [`ErrorAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The machine-readable code.
    pub code: ErrorCode,
    /// What went wrong and what to do, for people; never contains secrets.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_as_its_str_and_reads_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).expect("serialize");
            assert_eq!(json, serde_json::Value::from(code.as_str()));
            let back: ErrorCode = serde_json::from_value(json).expect("deserialize");
            assert_eq!(back, code);
        }
    }

    #[test]
    fn a_status_without_its_own_code_gets_the_generic_one() {
        assert_eq!(ErrorCode::for_status(405), ErrorCode::MethodNotAllowed);
        assert_eq!(ErrorCode::for_status(429), ErrorCode::Busy);
        assert_eq!(ErrorCode::for_status(418), ErrorCode::BadRequest);
        assert_eq!(ErrorCode::for_status(502), ErrorCode::Internal);
        assert_eq!(ErrorCode::for_status(400), ErrorCode::BadRequest);
    }

    #[test]
    fn docs_api_md_lists_every_code_with_its_status() {
        let docs = include_str!("../../../docs/api.md");
        for code in ErrorCode::ALL {
            let row = format!("| `{code}` | {} |", code.status());
            assert!(docs.contains(&row), "docs/api.md has no row {row}");
        }
    }

    #[test]
    fn the_error_answer_keeps_its_shape() {
        let answer = ErrorAnswer {
            error: ErrorBody {
                code: ErrorCode::Busy,
                message: "retry".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&answer).expect("serialize"),
            serde_json::json!({"error": {"code": "busy", "message": "retry"}})
        );
    }
}
