//! Error tracking and log search over HTTP: [`router`] serves `GET /api/v1/errors`,
//! `/api/v1/errors/{fingerprint}` and `/api/v1/logs` from the store that
//! [`LogIngest`](crate::LogIngest) fills.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use mon_api::answers::{ErrorGroupView, ErrorsAnswer, LogView, LogsAnswer};
use mon_http::ApiError;
use mon_http::params::{parse_store_limit as limit, parse_time, query};
use mon_store::{ErrorGroup, LogQuery, Store};
use serde::Deserialize;

/// `GET /api/v1/errors`, `/api/v1/errors/{fingerprint}` and `/api/v1/logs`; mount them
/// behind the token layer: `.merge(mon_logging::http::router(store))`.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/api/v1/errors", get(errors))
        .route("/api/v1/errors/{fingerprint}", get(error))
        .route("/api/v1/logs", get(logs))
        .with_state(store)
}

/// `?since=` (RFC 3339 or a duration ago) and `?limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorsQuery {
    since: Option<String>,
    limit: Option<String>,
}

async fn errors(
    State(store): State<Store>,
    q: Result<Query<ErrorsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ErrorsAnswer>, ApiError> {
    let q = query(q)?;
    let since = q
        .since
        .as_deref()
        .map(|t| parse_time("since", t, Utc::now()))
        .transpose()?;
    let groups = store
        .error_groups(since, limit(q.limit.as_deref())?)
        .await?;
    let errors: Vec<ErrorGroupView> = groups.into_iter().map(error_view).collect();
    Ok(Json(ErrorsAnswer {
        count: errors.len(),
        errors,
    }))
}

async fn error(
    State(store): State<Store>,
    Path(fingerprint): Path<String>,
) -> Result<Json<ErrorGroupView>, ApiError> {
    let group = store.error_group(&fingerprint).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no error with fingerprint {fingerprint:?}; GET /api/v1/errors lists them"
        ))
    })?;
    Ok(Json(error_view(group)))
}

fn error_view(g: ErrorGroup) -> ErrorGroupView {
    ErrorGroupView {
        fingerprint: g.fingerprint,
        kind: g.kind,
        message: g.message,
        location: g.location,
        count: g.count,
        first_seen: g.first_seen,
        last_seen: g.last_seen,
        samples: g.samples,
    }
}

/// `?q=&level=&call_id=&since=&until=&limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsQuery {
    q: Option<String>,
    level: Option<String>,
    call_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
}

async fn logs(
    State(store): State<Store>,
    q: Result<Query<LogsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LogsAnswer>, ApiError> {
    let q = query(q)?;
    let min_level = match q.level.as_deref() {
        None => None,
        Some(l) => Some(
            mon_api::LOG_LEVELS
                .contains(&l)
                .then(|| crate::parse_level(l))
                .flatten()
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "level={l:?} is not a level; use trace, debug, info, warn or error"
                    ))
                })?
                .as_str()
                .to_ascii_lowercase(),
        ),
    };
    let query = LogQuery {
        text: q.q.filter(|t| !t.trim().is_empty()),
        min_level,
        call_id: q.call_id.filter(|c| !c.is_empty()),
        since: q
            .since
            .as_deref()
            .map(|t| parse_time("since", t, Utc::now()))
            .transpose()?,
        until: q
            .until
            .as_deref()
            .map(|t| parse_time("until", t, Utc::now()))
            .transpose()?,
        limit: limit(q.limit.as_deref())?,
    };
    let logs: Vec<LogView> = store
        .search_logs(query)
        .await?
        .into_iter()
        .map(|l| LogView {
            timestamp: l.timestamp,
            level: l.level,
            logger: l.logger,
            message: l.message,
            call_id: l.call_id,
            source: l.source,
            fields: l.fields,
        })
        .collect();
    Ok(Json(LogsAnswer {
        count: logs.len(),
        logs,
    }))
}
