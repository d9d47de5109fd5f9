//! The answers of `GET /api/v1/deployments` (the deployment markers drawn on charts) and
//! `DELETE /api/v1/sources/{source}` (every stored row of one ingest source label, which
//! `mon demo --delete` calls).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::ComponentsBuilder;

/// One deployment of `GET /api/v1/deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentView {
    /// When it went live (the event's timestamp, or when mon received it).
    pub timestamp: DateTime<Utc>,
    /// The service that was deployed.
    pub service: String,
    /// The version now running.
    pub version: String,
    /// The source revision, when given.
    pub commit: Option<String>,
    /// Where it was deployed, when given.
    pub environment: Option<String>,
    /// The ingest source label of its batch (`demo` for `mon demo`), when it had one.
    pub source: Option<String>,
}

/// `GET /api/v1/deployments`: deployments within the range, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentsAnswer {
    /// How many deployments follow.
    pub count: usize,
    /// The deployments.
    pub deployments: Vec<DeploymentView>,
}

/// How many rows of each kind `DELETE /api/v1/sources/{source}` removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SourceDeletedCounts {
    /// Application events.
    pub app_events: u64,
    /// Log records (error records included).
    pub logs: u64,
    /// Error groups.
    pub errors: u64,
    /// Stored series labelled `source=<label>` (charts, dashboards, range queries).
    pub series: u64,
    /// Their points: raw samples and 1-minute and 1-hour rollup rows.
    pub points: u64,
}

/// `DELETE /api/v1/sources/{source}`: what was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SourceDeletedAnswer {
    /// The source label.
    pub source: String,
    /// Rows deleted, by kind.
    pub deleted: SourceDeletedCounts,
}

/// Adds these answers' schemas to the OpenAPI components.
pub(crate) fn components(builder: ComponentsBuilder) -> ComponentsBuilder {
    builder
        .schema_from::<DeploymentView>()
        .schema_from::<DeploymentsAnswer>()
        .schema_from::<SourceDeletedCounts>()
        .schema_from::<SourceDeletedAnswer>()
}
