//! [`Principal`]: who the application says the caller is; [`claim`], which tells the layer
//! and applies the per-principal policy; [`Refusal`], the layer's 403 and 429 answers.

use crate::layer::Shared;
use axum::http::{Extensions, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Who made a request, as the application authenticated them (or as a login attempt
/// claims): a user id, an API key's or token's name. Never a secret.
///
/// Give it to the layer with [`claim`] (before the handler's work, so the per-principal
/// limits apply), or insert it in the response's extensions (recorded only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    name: String,
    method: Option<String>,
}

impl Principal {
    /// A principal by name.
    pub fn new(name: impl Into<String>) -> Self {
        Principal {
            name: name.into(),
            method: None,
        }
    }

    /// With how it authenticated (`token`, `password`, `api_key`...): the `method` of the
    /// auth events recorded for it. Without one, the `Authorization` scheme (`bearer`,
    /// `basic`) or `http`.
    #[must_use]
    pub fn with_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How it authenticated, when the application said.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }
}

/// What the layer puts in a request's extensions for [`claim`].
#[derive(Debug, Clone)]
pub(crate) struct Slot(pub(crate) Arc<SlotInner>);

#[derive(Debug)]
pub(crate) struct SlotInner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) ip: Option<IpAddr>,
    pub(crate) endpoint: crate::layer::Endpoint,
    pub(crate) principal: OnceLock<Principal>,
}

/// Tells the [`SecurityLayer`](crate::SecurityLayer) around this request who the caller is
/// or claims to be (`extensions` of the request: axum's `Request::extensions`, or
/// `http::request::Parts`), and applies the per-principal policy: a blocked principal or
/// one over `principal_rate_limit` gets the returned [`Refusal`] (answer it). The first
/// claim of a request is the one recorded. Without the layer it does nothing.
///
/// A login handler claims the user name it was given before checking the password, so
/// the failed attempts count against that user as well as against the address.
///
/// # Errors
/// The refusal to answer with (429 and `Retry-After`).
pub fn claim(extensions: &Extensions, principal: Principal) -> Result<(), Refusal> {
    let Some(Slot(slot)) = extensions.get::<Slot>() else {
        return Ok(());
    };
    let name = principal.name.clone();
    let _ = slot.principal.set(principal);
    slot.shared.admit_principal(&name, slot.ip, &slot.endpoint)
}

/// A request the layer refuses: 403 (address not allowed) or 429 with `Retry-After`
/// (a rate limit, or a block after failed authentications). Answers JSON
/// `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    status: StatusCode,
    retry_after: Option<Duration>,
    message: &'static str,
}

impl Refusal {
    pub(crate) fn forbidden(message: &'static str) -> Self {
        Refusal {
            status: StatusCode::FORBIDDEN,
            retry_after: None,
            message,
        }
    }

    pub(crate) fn too_many(retry_after: Duration, message: &'static str) -> Self {
        Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(retry_after),
            message,
        }
    }

    /// 403 or 429.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// When a 429's client may try again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// Whole seconds, rounded up, at least 1: a client retrying then is not refused again.
pub(crate) fn retry_after_seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let code = if self.status == StatusCode::FORBIDDEN {
            "forbidden"
        } else {
            "rate_limited"
        };
        let body = serde_json::json!({"error": {"code": code, "message": self.message}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(d) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_seconds(d)),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        for (d, want) in [
            (Duration::ZERO, 1),
            (Duration::from_millis(1), 1),
            (Duration::from_secs(1), 1),
            (Duration::from_millis(1_001), 2),
            (Duration::from_millis(59_999), 60),
        ] {
            assert_eq!(retry_after_seconds(d), want, "{d:?}");
        }
    }

    #[test]
    fn claim_without_the_layer_does_nothing() {
        assert_eq!(claim(&Extensions::new(), Principal::new("u")), Ok(()));
    }
}
