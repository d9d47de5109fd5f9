//! Typed answers and request bodies of the API. The server builds them; the CLI reads them. Each keeps the
//! JSON's field names; a reader ignores fields it does not know, so the server may add some.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/v1/status`: the server at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusAnswer {
    /// The overall status: `healthy`, `degraded`, `unhealthy` or `unknown`.
    pub status: String,
    /// When the summary was made.
    pub timestamp: DateTime<Utc>,
    /// The server's version.
    pub version: String,
    /// When the server started.
    pub started_at: DateTime<Utc>,
    /// Seconds since `started_at`.
    pub uptime_seconds: i64,
    /// How many checks are healthy.
    pub checks: CheckCounts,
    /// How many alerts fire.
    pub alerts: AlertCounts,
    /// The store's write queue.
    pub store: StoreState,
    /// Each exporter's state, by name.
    #[schema(value_type = Object)]
    pub exporters: serde_json::Value,
    /// The rule variables now, by name.
    #[schema(value_type = Object)]
    pub snapshot: serde_json::Value,
}

/// The `checks` counts of a [`StatusAnswer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckCounts {
    /// How many checks are healthy.
    pub healthy: usize,
    /// How many checks there are.
    pub total: usize,
    /// `healthy / total * 100`, one decimal; 100 without checks.
    pub health_percentage: f64,
}

/// The `alerts` counts of a [`StatusAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AlertCounts {
    /// How many alerts are active (firing or acknowledged).
    pub active: usize,
}

/// The `store` part of a [`StatusAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoreState {
    /// Write batches waiting for the store's writer.
    pub queue_depth: usize,
}

/// One check as the API shows it (`/api/v1/checks`, `/api/v1/checks/{name}`,
/// `/health/detailed`, `/health/checks/{name}`, heartbeat pings). The answers carry more
/// fields (`observed_status`, `depends_on`, `details`...); these are the ones clients read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckView {
    /// The check's unique name.
    pub name: String,
    /// The check kind (`http`, `system`...).
    pub kind: String,
    /// Whether the check failing makes the system unhealthy.
    pub critical: bool,
    /// The reported status, `unknown` until the check has run.
    pub status: String,
    /// How long the latest run took, in milliseconds.
    pub latency_ms: Option<f64>,
    /// What the latest run observed.
    pub message: Option<String>,
    /// When the latest run finished.
    pub observed_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/checks`: every check, ordered by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChecksAnswer {
    /// The checks.
    pub checks: Vec<CheckView>,
}

/// One stored result of a check (`GET /api/v1/checks/{name}/results`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResultView {
    /// The status of that run.
    pub status: String,
    /// How long the run took, in milliseconds.
    pub latency_ms: Option<f64>,
    /// What the run observed.
    #[serde(default)]
    pub message: String,
    /// When the run finished.
    pub observed_at: DateTime<Utc>,
}

/// `GET /api/v1/checks/{name}/results`: the newest results first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckResultsAnswer {
    /// The check's name.
    pub check: String,
    /// How many results follow.
    pub count: usize,
    /// The results, newest first.
    pub results: Vec<ResultView>,
}

/// `GET /api/v1/auth/whoami`: the role of the presented token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WhoamiAnswer {
    /// `read`, `ingest` or `admin`; `null` without a token.
    pub role: Option<String>,
    /// Whether reads need no token.
    pub reads_open: bool,
}

/// The optional body of `POST /api/v1/alerts/{id}/ack` and `.../resolve`: who acts
/// (default `api`) and what they said. Other fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActorBody {
    /// Who acts.
    pub by: Option<String>,
    /// Why.
    pub comment: Option<String>,
}
