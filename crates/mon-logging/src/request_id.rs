//! [`request_id_layer`]: an axum middleware that gives every request a `request_id` (from
//! the `x-request-id` header, or a new one), logs inside carry it, and the response
//! echoes it.
//!
//! ```
//! let app: axum::Router = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "ok" }))
//!     .layer(axum::middleware::from_fn(mon_logging::request_id_layer));
//! ```

use crate::context::{new_id, request_scope};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The request and response header carrying the id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The middleware function: mount it with `axum::middleware::from_fn(request_id_layer)`.
/// A client's id is kept when it is 1–128 visible ASCII characters; otherwise a new one
/// is generated.
pub async fn request_id_layer(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(new_id, str::to_string);
    let mut response = next.run(request).instrument(request_scope(&id)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}
