//! `GET /api/v1/check-history` (every check by name: its stored results in equal buckets: the
//! history bars of the UI's check tiles and of the status page) and the incidents API:
//! `GET /api/v1/incidents` and `GET /api/v1/incidents/{id}` (read), `POST /api/v1/incidents` and
//! `POST /api/v1/incidents/{id}/updates` (admin). Incidents are kept in the store and
//! shown on the public status page (their title, status and updates only).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::Utc;
use mon_alerting::AlertEngine;
use mon_api::incidents::{
    CheckHistoryView, ChecksHistoryAnswer, HistoryBucketView, IncidentBody, IncidentUpdateBody,
    IncidentUpdateView, IncidentView, IncidentsAnswer,
};
use mon_core::Severity;
use mon_health::HealthRegistry;
use mon_http::{ApiError, Json, TokenName};
use mon_store::{HistoryBucket, Incident, IncidentStatus, IncidentUpdate, NewIncident, Store};
use serde::Deserialize;
use std::time::Duration;

/// The longest title an incident takes, in characters.
const MAX_TITLE: usize = 200;
/// The longest update message, in characters.
const MAX_MESSAGE: usize = 5000;
/// The longest history window.
const MAX_WINDOW: Duration = Duration::from_secs(90 * 24 * 3600);

/// What these routes read.
#[derive(Clone, Debug)]
pub(crate) struct IncidentsState {
    pub(crate) store: Store,
    pub(crate) health: HealthRegistry,
    /// Open alerts, which an incident may start from.
    pub(crate) alerts: AlertEngine,
}

/// The routes (behind the token layer).
pub(crate) fn router(state: IncidentsState) -> Router {
    Router::new()
        .route("/api/v1/check-history", get(history))
        .route("/api/v1/incidents", get(list).post(create))
        .route("/api/v1/incidents/{id}", get(one))
        .route("/api/v1/incidents/{id}/updates", post(add_update))
        .with_state(state)
}

/// The history answer of `checks` over `window` in `buckets` buckets ending now.
pub(crate) async fn check_history(
    store: &Store,
    checks: Vec<String>,
    window: Duration,
    buckets: u32,
) -> Result<ChecksHistoryAnswer, ApiError> {
    let to = Utc::now();
    let history = store
        .check_history(checks.clone(), window, buckets, to)
        .await?;
    let width = window.as_secs_f64() / f64::from(buckets);
    let view = |b: &HistoryBucket| HistoryBucketView {
        start: b.start,
        runs: b.runs,
        up: b.up,
        degraded: b.degraded,
        down: b.down,
        state: b.state().to_owned(),
        uptime_percent: b.percent(),
    };
    Ok(ChecksHistoryAnswer {
        from: history
            .first()
            .and_then(|h| h.first())
            .map_or(to, |b| b.start),
        to,
        bucket_seconds: width,
        checks: checks
            .into_iter()
            .zip(history)
            .map(|(name, buckets)| {
                // The whole window as one bucket: its uptime.
                let whole = buckets.iter().fold(HistoryBucket::empty(to), |mut w, b| {
                    w.runs += b.runs;
                    w.up += b.up;
                    w
                });
                CheckHistoryView {
                    name,
                    uptime_percent: whole.percent(),
                    buckets: buckets.iter().map(view).collect(),
                }
            })
            .collect(),
    })
}

/// `?window=` (a duration, default `24h`, at most `90d`), `?buckets=` (1 to 1440,
/// default 48, at most one a second).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    window: Option<String>,
    buckets: Option<String>,
}

/// Reads `?window=` and `?buckets=`.
pub(crate) fn history_shape(
    window: Option<&str>,
    buckets: Option<&str>,
) -> Result<(Duration, u32), ApiError> {
    let window = window.map_or(Ok(Duration::from_secs(24 * 3600)), |w| {
        mon_http::params::parse_duration("window", w)
    })?;
    if window > MAX_WINDOW {
        return Err(ApiError::bad_request(format!(
            "window={}s is longer than 90d",
            window.as_secs()
        )));
    }
    let buckets = match buckets {
        None => 48,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1440).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "buckets={text:?} must be a whole number from 1 to 1440"
                ))
            })?,
    };
    if window.as_secs() < u64::from(buckets) {
        return Err(ApiError::bad_request(format!(
            "window={}s is too short for buckets={buckets}: a bucket lasts at least 1s",
            window.as_secs()
        )));
    }
    Ok((window, buckets))
}

/// `GET /api/v1/check-history`.
async fn history(
    State(state): State<IncidentsState>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ChecksHistoryAnswer>, ApiError> {
    let q = mon_http::params::query(query)?;
    let (window, buckets) = history_shape(q.window.as_deref(), q.buckets.as_deref())?;
    let names = state.health.briefs().into_iter().map(|c| c.name).collect();
    Ok(Json(
        check_history(&state.store, names, window, buckets).await?,
    ))
}

/// The API's view of a stored incident.
pub(crate) fn incident_view(incident: Incident) -> IncidentView {
    IncidentView {
        id: incident.id,
        title: incident.title,
        severity: incident.severity.as_str().to_owned(),
        status: incident.status.as_str().to_owned(),
        alert_id: incident.alert_id,
        created_at: incident.created_at,
        updated_at: incident.updated_at,
        resolved_at: incident.resolved_at,
        updates: incident
            .updates
            .into_iter()
            .map(|u| IncidentUpdateView {
                at: u.at,
                status: u.status.as_str().to_owned(),
                message: u.message,
                author: u.author,
            })
            .collect(),
    }
}

/// `?limit=` (default 100).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
}

/// `GET /api/v1/incidents`.
async fn list(
    State(state): State<IncidentsState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<IncidentsAnswer>, ApiError> {
    let q = mon_http::params::query(query)?;
    let limit = mon_http::params::parse_store_limit(q.limit.as_deref())?;
    let incidents: Vec<IncidentView> = state
        .store
        .incidents(None, limit)
        .await?
        .into_iter()
        .map(incident_view)
        .collect();
    Ok(Json(IncidentsAnswer {
        count: incidents.len(),
        incidents,
    }))
}

/// `text` trimmed, when it is not blank and at most `max` characters; else a 400 naming `field`.
fn text_field(field: &str, text: &str, max: usize) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::bad_request(format!("{field} must not be empty")));
    }
    if text.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(text.to_owned())
}

fn status_field(text: &str) -> Result<IncidentStatus, ApiError> {
    IncidentStatus::parse(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "status={text:?} must be investigating, identified, monitoring or resolved"
        ))
    })
}

fn author(token: Option<Extension<TokenName>>) -> String {
    token.map_or_else(|| "anonymous".to_owned(), |Extension(TokenName(name))| name)
}

/// `POST /api/v1/incidents`.
async fn create(
    State(state): State<IncidentsState>,
    token: Option<Extension<TokenName>>,
    Json(body): Json<IncidentBody>,
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    let alert =
        match body.alert_id.as_deref() {
            None => None,
            Some(id) => Some(match state.alerts.alert(id) {
                Some(alert) => alert,
                None => state.store.alert(id).await?.ok_or_else(|| {
                    ApiError::bad_request(format!("alert_id={id:?} names no alert"))
                })?,
            }),
        };
    let title = match (body.title.as_deref(), &alert) {
        (Some(title), _) => text_field("title", title, MAX_TITLE)?,
        (None, Some(alert)) => {
            let summary = alert.annotations.get("summary").unwrap_or(&alert.rule);
            summary.chars().take(MAX_TITLE).collect()
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "title must be given (or alert_id, whose summary becomes the title)",
            ));
        }
    };
    let severity = match (body.severity.as_deref(), &alert) {
        (Some(text), _) => Severity::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "severity={text:?} must be info, warning, error or critical"
            ))
        })?,
        (None, Some(alert)) => alert.severity,
        (None, None) => Severity::Warning,
    };
    let status = body
        .status
        .as_deref()
        .map_or(Ok(IncidentStatus::Investigating), status_field)?;
    let message = text_field("message", &body.message, MAX_MESSAGE)?;
    let incident = state
        .store
        .create_incident(NewIncident {
            title,
            severity,
            alert_id: alert.map(|a| a.id),
            update: IncidentUpdate {
                at: Utc::now(),
                status,
                message,
                author: author(token),
            },
        })
        .await?;
    tracing::info!(id = incident.id, "incident opened");
    Ok((StatusCode::CREATED, Json(incident_view(incident))))
}

/// `POST /api/v1/incidents/{id}/updates`.
/// The incident number `id` names; a 404 naming it when it names none.
fn incident_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| missing(id))
}

fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("no incident with id {id:?}"))
}

/// `GET /api/v1/incidents/{id}`.
async fn one(
    State(state): State<IncidentsState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    let incident = state
        .store
        .incident(incident_id(&id)?)
        .await?
        .ok_or_else(|| missing(&id))?;
    Ok(Json(incident_view(incident)))
}

async fn add_update(
    State(state): State<IncidentsState>,
    token: Option<Extension<TokenName>>,
    Path(id): Path<String>,
    Json(body): Json<IncidentUpdateBody>,
) -> Result<Json<IncidentView>, ApiError> {
    let number = incident_id(&id)?;
    let update = IncidentUpdate {
        at: Utc::now(),
        status: status_field(&body.status)?,
        message: text_field("message", &body.message, MAX_MESSAGE)?,
        author: author(token),
    };
    let incident = state
        .store
        .add_incident_update(number, update)
        .await?
        .ok_or_else(|| missing(&id))?;
    Ok(Json(incident_view(incident)))
}
