//! Bearer-token authorization: `read` for GET, `ingest` for pushes, `admin` for state changes.
//!
//! Liveness and readiness are always public; `server.public_paths` lists more. With no
//! tokens configured, reads are open and state-changing calls are refused, because a
//! monitoring server must not accept changes from anyone who can reach it.

use crate::config::{AuthConfig, MetricsAccess, Role, TokenConfig};
use crate::error::{ApiError, Json};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use mon_api::ErrorCode;
use std::sync::Arc;

/// The configured tokens and public paths.
#[derive(Debug, Clone)]
pub struct Auth {
    tokens: Arc<Vec<TokenConfig>>,
    public_paths: Arc<Vec<String>>,
    /// `server.auth.metrics`: `read` takes `/metrics` out of the public paths.
    metrics: MetricsAccess,
}

/// Paths that are public whatever the configuration says: probes must always work.
const ALWAYS_PUBLIC: &[&str] = &[
    "/health/live",
    "/health/ready",
    "/health/liveness",
    "/health/readiness",
];

impl Auth {
    /// Builds the authorizer from `server.auth` and `server.public_paths`.
    pub fn new(auth: AuthConfig, public_paths: Vec<String>) -> Self {
        Auth {
            tokens: Arc::new(auth.tokens),
            public_paths: Arc::new(public_paths),
            metrics: auth.metrics,
        }
    }

    /// The role a request needs, by method and path.
    fn required_role(method: &Method, path: &str) -> Role {
        let ingest = path == "/api/v1/events"
            || path.starts_with("/api/v1/heartbeat/")
            || path == "/api/v1/alerts"
            || path == "/api/v2/alerts"
            || matches!(path, "/v1/metrics" | "/v1/logs" | "/v1/traces");
        match (method, ingest) {
            (&Method::GET | &Method::HEAD, _) => Role::Read,
            (_, true) => Role::Ingest,
            _ => Role::Admin,
        }
    }

    fn is_public(&self, path: &str) -> bool {
        if path == "/metrics" && self.metrics == MetricsAccess::Read {
            return false;
        }
        ALWAYS_PUBLIC.contains(&path) || self.public_paths.iter().any(|p| p == path)
    }

    /// The role of the presented token: `Ok(None)` without a token, `Err` for an unknown one.
    fn role_of(&self, request: &Request) -> Result<Option<Role>, ApiError> {
        Ok(self.token_of(request)?.map(|t| t.role))
    }

    /// The presented token: `Ok(None)` without one, `Err` for an unknown one.
    /// Comparison is constant-time in the token's content.
    fn token_of(&self, request: &Request) -> Result<Option<&TokenConfig>, ApiError> {
        let Some(value) = request.headers().get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?;
        self.tokens
            .iter()
            .find(|t| constant_time_eq(t.token.expose().as_bytes(), presented.as_bytes()))
            .map(Some)
            .ok_or_else(|| unauthorized("unknown token"))
    }

    fn authorize(&self, request: &Request) -> Result<(), ApiError> {
        let path = request.uri().path();
        let required = Self::required_role(request.method(), path);
        if required == Role::Read && (self.tokens.is_empty() || self.is_public(path)) {
            return Ok(());
        }
        match self.role_of(request)? {
            Some(role) if role.allows(required) => Ok(()),
            Some(role) => Err(ApiError::of(
                ErrorCode::Forbidden,
                format!("this call needs a token with the {required:?} role; yours has {role:?}")
                    .to_lowercase(),
            )),
            None if self.tokens.iter().any(|t| t.role.allows(required)) => Err(unauthorized(
                "this call needs a bearer token: send `Authorization: Bearer <token>`",
            )),
            None => Err(ApiError::of(
                ErrorCode::Forbidden,
                format!(
                    "this call needs a token with the {} role and none is configured: add one under server.auth.tokens",
                    format!("{required:?}").to_lowercase()
                ),
            )),
        }
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::of(ErrorCode::Unauthorized, message)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// `GET /api/v1/auth/whoami`: `{"role"}` of the presented token (`null` without one) and
/// `reads_open` (true when reads need no token). Behind the token layer like every GET, so an
/// unknown token is 401 there; the web UI uses it to show admin actions only to admins.
pub fn whoami_router(auth: Auth) -> axum::Router {
    axum::Router::new()
        .route("/api/v1/auth/whoami", axum::routing::get(whoami))
        .with_state(auth)
}

async fn whoami(
    State(auth): State<Auth>,
    request: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let role = auth.role_of(&request)?;
    let reads_open = auth.tokens.is_empty() || auth.is_public(request.uri().path());
    Ok(Json(
        serde_json::json!({ "role": role, "reads_open": reads_open }),
    ))
}

/// The axum middleware: mount it with
/// `.route_layer(axum::middleware::from_fn_with_state(auth, require_role))`, so only matched
/// routes need a token and an unknown path is 404 for everyone.
pub async fn require_role(
    State(auth): State<Auth>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // The token's name is the principal of the security layer (its limits, its records).
    let name = match auth.token_of(&request) {
        Ok(Some(token)) => {
            let principal = mon_security::Principal::new(&token.name).with_method("token");
            if let Err(refusal) = mon_security::claim(request.extensions(), principal) {
                return Ok(axum::response::IntoResponse::into_response(refusal));
            }
            Some(TokenName(token.name.clone()))
        }
        _ => None,
    };
    auth.authorize(&request)?;
    if let Some(name) = name {
        request.extensions_mut().insert(name);
    }
    Ok(next.run(request).await)
}

/// The name (never the secret) of the token a request presented, in the request's
/// extensions once [`require_role`] has let it through: handlers that record who acted
/// read it with `Option<axum::Extension<TokenName>>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenName(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_method_and_path() {
        for (method, path, want) in [
            (Method::GET, "/api/v1/status", Role::Read),
            (Method::POST, "/api/v1/events", Role::Ingest),
            (Method::POST, "/api/v1/heartbeat/backup", Role::Ingest),
            (Method::POST, "/api/v1/alerts", Role::Ingest),
            (Method::POST, "/api/v2/alerts", Role::Ingest),
            (Method::POST, "/api/v1/alerts/1/resolve", Role::Admin),
            (Method::POST, "/api/v1/alerts/1/ack", Role::Admin),
            (Method::DELETE, "/api/v1/silences/1", Role::Admin),
        ] {
            assert_eq!(Auth::required_role(&method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
