//! `GET /api/v1/deployments` (the `deployment` events kept in the store, the markers drawn
//! on charts) and `DELETE /api/v1/sources/{source}` (everything an ingest source label
//! left: `POST /api/v1/events?source=demo` from `mon demo`, removed by `mon demo
//! --delete`). A labelled batch records into the source's own recorder
//! ([`mon_metrics::Recorder::source`]), whose figures the sampler stores as series
//! labelled `source=<label>`; the delete first drops that recorder (its windows and
//! totals), then the stored rows and series, so no later sampler tick writes them back.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{delete, get};
use chrono::Utc;
use mon_api::sources::{
    DeploymentView, DeploymentsAnswer, SourceDeletedAnswer, SourceDeletedCounts,
};
use mon_http::{ApiError, Json};
use mon_metrics::Recorder;
use mon_store::Store;
use serde::Deserialize;

/// The labels `POST /api/v1/events?source=` refuses: the log records' own sources.
const RESERVED: &[&str] = &["mon", "ingest"];

/// Checks an ingest source label: 1–64 ASCII letters, digits, `_`, `-` or `.`, not one of
/// the log records' own sources (`mon`, `ingest`).
///
/// # Errors
/// 400 naming the parameter and the offending value.
pub(crate) fn check_source(source: &str) -> Result<(), ApiError> {
    let fine = (1..=64).contains(&source.len())
        && source
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !fine {
        return Err(ApiError::bad_request(format!(
            "source={source:?} must be 1 to 64 letters, digits, '_', '-' or '.'"
        )));
    }
    if RESERVED.contains(&source) {
        return Err(ApiError::bad_request(format!(
            "source={source:?} is reserved for mon's own log records; choose another label"
        )));
    }
    Ok(())
}

/// What the routes read: the recorder ingest feeds (which holds the labelled sources'
/// recorders) and the store.
#[derive(Debug, Clone)]
pub(crate) struct SourcesState {
    pub(crate) recorder: Recorder,
    pub(crate) store: Store,
}

/// The routes (`read` for the list, `admin` for the delete, behind the token layer).
pub(crate) fn router(state: SourcesState) -> Router {
    Router::new()
        .route("/api/v1/deployments", get(deployments))
        .route("/api/v1/sources/{source}", delete(delete_source))
        .with_state(state)
}

/// `?service=`, `?from=` / `?to=` (RFC 3339 or a duration ago; default the last hour),
/// `?limit=` (default 100).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentsQuery {
    service: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/deployments`.
async fn deployments(
    State(SourcesState { store, .. }): State<SourcesState>,
    query: Result<Query<DeploymentsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeploymentsAnswer>, ApiError> {
    let q = mon_http::params::query(query)?;
    let (from, to) =
        mon_http::params::parse_from_to(q.from.as_deref(), q.to.as_deref(), Utc::now())?;
    let limit = mon_http::params::parse_store_limit(q.limit.as_deref())?;
    let deployments: Vec<DeploymentView> = store
        .app_events("deployment", from, to, limit)
        .await?
        .into_iter()
        .filter_map(deployment_view)
        .filter(|d| q.service.as_deref().is_none_or(|s| s == d.service))
        .collect();
    Ok(Json(DeploymentsAnswer {
        count: deployments.len(),
        deployments,
    }))
}

/// `DELETE /api/v1/sources/{source}`.
async fn delete_source(
    State(state): State<SourcesState>,
    Path(source): Path<String>,
) -> Result<Json<SourceDeletedAnswer>, ApiError> {
    check_source(&source)?;
    // The windows first: once forgotten, a tick under way has committed its samples
    // (deleted below) and no later tick writes any of the source.
    let windows = state.recorder.forget_source(&source).await;
    let deleted = state.store.delete_source(&source).await?;
    tracing::info!(
        source,
        windows,
        app_events = deleted.app_events,
        logs = deleted.logs,
        errors = deleted.errors,
        series = deleted.series,
        points = deleted.points,
        "deleted the rows, series and windows of an ingest source"
    );
    Ok(Json(SourceDeletedAnswer {
        source,
        deleted: SourceDeletedCounts {
            app_events: deleted.app_events,
            logs: deleted.logs,
            errors: deleted.errors,
            series: deleted.series,
            points: deleted.points,
        },
    }))
}

/// A stored `deployment` event as the API shows it; `None` for a row without a service or
/// a version (not written by mon's validated ingest).
pub(crate) fn deployment_view(row: mon_store::AppEventRecord) -> Option<DeploymentView> {
    let text = |key: &str| {
        row.body
            .get(key)
            .and_then(|s| s.as_str())
            .map(str::to_owned)
    };
    Some(DeploymentView {
        timestamp: row.ts,
        service: text("service")?,
        version: text("version")?,
        commit: text("commit"),
        environment: text("environment"),
        source: row.source,
    })
}
