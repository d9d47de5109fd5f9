//! The answers and bodies of the status features: `GET /api/v1/check-history` (each
//! check's results in equal buckets, the coloured history bars) and the incidents API
//! (`GET /api/v1/incidents`, `POST /api/v1/incidents`, `POST /api/v1/incidents/{id}/updates`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::ComponentsBuilder;

/// One bucket of a [`CheckHistoryView`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryBucketView {
    /// The bucket's start; it lasts `bucket_seconds`.
    pub start: DateTime<Utc>,
    /// Runs in the bucket.
    pub runs: u64,
    /// Runs that were healthy or degraded.
    pub up: u64,
    /// Runs that were degraded.
    pub degraded: u64,
    /// Runs that were unhealthy.
    pub down: u64,
    /// What the bar shows: `up` (every run healthy), `degraded` (a run degraded or
    /// unknown), `down` (a run unhealthy) or `none` (no runs).
    pub state: String,
    /// `up / runs * 100`; absent without runs.
    pub uptime_percent: Option<f64>,
}

/// One check's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckHistoryView {
    /// The check's name.
    pub name: String,
    /// Uptime over the whole window; absent without runs.
    pub uptime_percent: Option<f64>,
    /// The buckets, oldest first.
    pub buckets: Vec<HistoryBucketView>,
}

/// `GET /api/v1/check-history`: every check's results in equal buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChecksHistoryAnswer {
    /// The window's start (the first bucket's).
    pub from: DateTime<Utc>,
    /// The window's end (now).
    pub to: DateTime<Utc>,
    /// Each bucket's length in seconds.
    pub bucket_seconds: f64,
    /// Every check, in config order.
    pub checks: Vec<CheckHistoryView>,
}

/// One update of an [`IncidentView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentUpdateView {
    /// When it was posted.
    pub at: DateTime<Utc>,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub status: String,
    /// What it says.
    pub message: String,
    /// Who posted it: the name of the token used.
    pub author: String,
}

/// An incident with its updates (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentView {
    /// Its id.
    pub id: i64,
    /// The headline.
    pub title: String,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: String,
    /// Its latest update's status.
    pub status: String,
    /// The alert it was started from, if any.
    pub alert_id: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its latest update was posted.
    pub updated_at: DateTime<Utc>,
    /// When it was resolved, if it is.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Its updates, oldest first.
    pub updates: Vec<IncidentUpdateView>,
}

/// `GET /api/v1/incidents`: incidents, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentsAnswer {
    /// How many follow.
    pub count: usize,
    /// The incidents.
    pub incidents: Vec<IncidentView>,
}

/// `POST /api/v1/incidents`: a new incident, written by hand (`title`) or from an alert
/// (`alert_id`: the title and severity are the alert's unless given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentBody {
    /// The headline (at most 200 characters); required without `alert_id`.
    #[serde(default)]
    pub title: Option<String>,
    /// `info`, `warning` (the default by hand), `error` or `critical`.
    #[serde(default)]
    pub severity: Option<String>,
    /// The alert the incident starts from.
    #[serde(default)]
    pub alert_id: Option<String>,
    /// The first update's status (default `investigating`).
    #[serde(default)]
    pub status: Option<String>,
    /// The first update's text (at most 5000 characters).
    pub message: String,
}

/// `POST /api/v1/incidents/{id}/updates`: a new update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentUpdateBody {
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub status: String,
    /// What it says (at most 5000 characters).
    pub message: String,
}

/// Adds these schemas to the OpenAPI components.
pub(crate) fn components(builder: ComponentsBuilder) -> ComponentsBuilder {
    builder
        .schema_from::<HistoryBucketView>()
        .schema_from::<CheckHistoryView>()
        .schema_from::<ChecksHistoryAnswer>()
        .schema_from::<IncidentUpdateView>()
        .schema_from::<IncidentView>()
        .schema_from::<IncidentsAnswer>()
        .schema_from::<IncidentBody>()
        .schema_from::<IncidentUpdateBody>()
}
