//! `GET /api/v1/deployments` (the `deployment` events kept in the store, the markers drawn
//! on charts) and `DELETE /api/v1/sources/{source}` (every stored row an ingest source
//! label left: `POST /api/v1/events?source=demo` from `mon demo`, removed by `mon demo
//! --delete`). What is in memory (the recorder's windows and totals) is not labelled: it
//! ages out of the windows (15 minutes at most) and is gone with a restart.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{delete, get};
use chrono::Utc;
use mon_api::sources::{
    DeploymentView, DeploymentsAnswer, SourceDeletedAnswer, SourceDeletedCounts,
};
use mon_http::{ApiError, Json};
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

/// The routes (`read` for the list, `admin` for the delete, behind the token layer).
pub(crate) fn router(store: Store) -> Router {
    Router::new()
        .route("/api/v1/deployments", get(deployments))
        .route("/api/v1/sources/{source}", delete(delete_source))
        .with_state(store)
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
    State(store): State<Store>,
    query: Result<Query<DeploymentsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeploymentsAnswer>, ApiError> {
    let q = mon_http::params::query(query)?;
    let (from, to) =
        mon_http::params::parse_from_to(q.from.as_deref(), q.to.as_deref(), Utc::now())?;
    let limit = mon_http::params::parse_store_limit(q.limit.as_deref())?;
    let text =
        |v: &serde_json::Value, key: &str| v.get(key).and_then(|s| s.as_str()).map(str::to_owned);
    let deployments: Vec<DeploymentView> = store
        .app_events("deployment", from, to, limit)
        .await?
        .into_iter()
        .filter_map(|row| {
            Some(DeploymentView {
                timestamp: row.ts,
                service: text(&row.body, "service")?,
                version: text(&row.body, "version")?,
                commit: text(&row.body, "commit"),
                environment: text(&row.body, "environment"),
                source: row.source,
            })
        })
        .filter(|d| q.service.as_deref().is_none_or(|s| s == d.service))
        .collect();
    Ok(Json(DeploymentsAnswer {
        count: deployments.len(),
        deployments,
    }))
}

/// `DELETE /api/v1/sources/{source}`.
async fn delete_source(
    State(store): State<Store>,
    Path(source): Path<String>,
) -> Result<Json<SourceDeletedAnswer>, ApiError> {
    check_source(&source)?;
    let deleted = store.delete_source(&source).await?;
    tracing::info!(
        source,
        app_events = deleted.app_events,
        logs = deleted.logs,
        errors = deleted.errors,
        "deleted the rows of an ingest source"
    );
    Ok(Json(SourceDeletedAnswer {
        source,
        deleted: SourceDeletedCounts {
            app_events: deleted.app_events,
            logs: deleted.logs,
            errors: deleted.errors,
        },
    }))
}
