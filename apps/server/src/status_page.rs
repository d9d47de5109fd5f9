//! The public status page `GET /status` and SVG badges `GET /badge/{check}/status.svg`
//! and `/badge/{check}/uptime.svg`, rendered by [`mon_health::status_page`].
//!
//! Mounted outside the token layer. Only checks with `public: true` appear; any other
//! name answers the same 404 as a name that does not exist, so nothing leaks. The page
//! also lists open incidents (and those resolved in the last 7 days: title, status and
//! updates, not who wrote them nor the alert behind them) and the ongoing or next period
//! of each public maintenance window.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mon_health::status_page::{self as render, PublicCheck, UPTIME_WINDOW_NAMES};
use mon_http::ApiError;
use serde::Deserialize;
use std::sync::Arc;

/// What the status page and badges read.
#[derive(Clone, Debug)]
pub(crate) struct StatusPageState {
    pub(crate) health: mon_health::HealthRegistry,
    /// Uptime is counted from the stored results.
    pub(crate) store: mon_store::Store,
    /// Names of the checks marked `public: true`, in config order.
    pub(crate) public_checks: Arc<Vec<String>>,
    /// Title, description, logo.
    pub(crate) config: Arc<render::StatusPageConfig>,
    /// Every maintenance window; the page lists the public ones.
    pub(crate) maintenance: Arc<Vec<mon_alerting::MaintenanceWindow>>,
}

/// How long a resolved incident stays on the page, under "Past incidents".
const PAST_INCIDENTS: chrono::Duration = chrono::Duration::days(7);
/// The most incidents the page lists.
const MAX_INCIDENTS: u32 = 20;

/// The public routes: status page and badges.
pub(crate) fn router(state: StatusPageState) -> Router {
    Router::new()
        .route("/status", get(page))
        .route("/badge/{check}/status.svg", get(status_badge))
        .route("/badge/{check}/uptime.svg", get(uptime_badge))
        .with_state(state)
}

async fn public_checks(
    state: &StatusPageState,
    only: Option<&str>,
) -> Result<Vec<PublicCheck>, ApiError> {
    Ok(render::public_checks(&state.health, &state.store, &state.public_checks, only).await?)
}

/// The one public check named `check`, or the 404 every other name answers.
async fn public_check(state: &StatusPageState, check: &str) -> Result<PublicCheck, ApiError> {
    public_checks(state, Some(check))
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("no public check with that name"))
}

fn no_cache(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn page(State(state): State<StatusPageState>) -> Result<Response, ApiError> {
    let now = chrono::Utc::now();
    let mut checks = public_checks(&state, None).await?;
    render::add_history(&state.store, &mut checks).await?;
    let incidents = state
        .store
        .incidents(Some(now - PAST_INCIDENTS), MAX_INCIDENTS)
        .await?;
    let mut maintenance: Vec<render::MaintenancePeriod> = state
        .maintenance
        .iter()
        .filter(|w| w.shown_publicly(&state.public_checks))
        .filter_map(|w| {
            let (starts_at, ends_at) = w.next_period(now)?;
            Some(render::MaintenancePeriod {
                name: w.name.clone(),
                starts_at,
                ends_at,
            })
        })
        .collect();
    maintenance.sort_by_key(|m| m.starts_at);
    let html = render::page_html(&render::PageContent {
        config: &state.config,
        checks: &checks,
        incidents: &incidents,
        maintenance: &maintenance,
        now,
    });
    let mut page = no_cache("text/html; charset=utf-8", html);
    page.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(render::PAGE_POLICY),
    );
    Ok(page)
}

async fn status_badge(
    State(state): State<StatusPageState>,
    Path(check): Path<String>,
) -> Result<Response, ApiError> {
    let c = public_check(&state, &check).await?;
    Ok(no_cache("image/svg+xml", render::status_badge(&c)))
}

/// `?window=` `1h`, `24h` (default), `7d` or `30d`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowQuery {
    window: Option<String>,
}

async fn uptime_badge(
    State(state): State<StatusPageState>,
    Path(check): Path<String>,
    query: Result<Query<WindowQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let query = mon_http::params::query(query)?;
    let window = query.window.as_deref().unwrap_or("24h");
    let index = UPTIME_WINDOW_NAMES
        .iter()
        .position(|w| *w == window)
        .ok_or_else(|| {
            ApiError::bad_request(format!("window={window:?} must be 1h, 24h, 7d or 30d"))
        })?;
    let c = public_check(&state, &check).await?;
    Ok(no_cache("image/svg+xml", render::uptime_badge(&c, index)))
}
