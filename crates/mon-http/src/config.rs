//! The settings of the HTTP kit, as written under `server:` in `mon.yaml` (mon-config
//! embeds them): `server.auth` (bearer tokens and their [`Role`]s, who may scrape
//! `/metrics`) and `server.limits` (body, head, time and connection limits).

use mon_core::Secret;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `server.auth:` — who may call the API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The accepted bearer tokens. With none, reads are open and state-changing calls are refused.
    pub tokens: Vec<TokenConfig>,
    /// Who may read `/metrics`: `public` (default; it is in `public_paths`) or `read` (a token
    /// with the read role, whatever `public_paths` says). `/metrics` names every check.
    pub metrics: MetricsAccess,
}

/// `server.auth.metrics`: who may scrape `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsAccess {
    /// Anyone who can reach the server, when `/metrics` is in `server.public_paths`.
    #[default]
    Public,
    /// Only requests with a token of the `read` role or above.
    Read,
}

/// One bearer token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (shown in audit records, never the token itself).
    pub name: String,
    /// The token; write `${VAR}` rather than the value.
    pub token: Secret,
    /// What it may do.
    pub role: Role,
}

/// What a token may do. `admin` may do everything; `ingest` may push events and read; `read` may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// GET endpoints.
    Read,
    /// Event ingest and heartbeats, plus reads.
    Ingest,
    /// Everything, including state changes (ack, silence, resolve).
    Admin,
}

impl Role {
    /// The name as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Ingest => "ingest",
            Role::Admin => "admin",
        }
    }

    /// Whether a token of this role may do what `required` needs.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }
}

/// `server.limits:`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 408.
    #[serde(with = "mon_core::duration")]
    pub request_timeout: Duration,
    /// Longest request target (path and query), in bytes; longer ones are answered 414.
    pub max_uri_bytes: usize,
    /// Largest total size of a request's header names and values, in bytes; larger is 431.
    pub max_header_bytes: usize,
    /// Most open connections; further clients wait in the listen backlog until one closes.
    /// Keep it below the process's open-file limit (`ulimit -n`).
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, counted from the moment the
    /// connection is ready for a request; slower (or silent) connections are closed.
    #[serde(with = "mon_core::duration")]
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight before it is closed.
    #[serde(with = "mon_core::duration")]
    pub keep_alive_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 16 * 1024,
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(5),
        }
    }
}
