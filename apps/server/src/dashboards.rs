//! `GET /api/v1/dashboards[/{id}[/grafana]]`: the built-in and configured dashboards
//! with current values, colours and series from the store, and as Grafana JSON
//! (`mon_metrics::grafana_json`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use mon_api::answers::{DashboardSummary, DashboardsAnswer};
use mon_http::ApiError;
use mon_http::Json;
use mon_metrics::{DashboardConfig, PanelKind};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// What the dashboard routes read: the definitions, and the parts their panels show.
#[derive(Clone, Debug)]
pub(crate) struct DashboardsState {
    /// The built-in dashboards followed by the configured ones.
    pub(crate) dashboards: Arc<Vec<DashboardConfig>>,
    /// When the definitions were loaded (with the configuration).
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) hub: mon_metrics::SnapshotHub,
    pub(crate) store: mon_store::Store,
    pub(crate) alerts: mon_alerting::AlertEngine,
    pub(crate) health: mon_health::HealthRegistry,
}

/// The dashboard routes (read role, behind the token layer).
pub(crate) fn router(state: DashboardsState) -> Router {
    Router::new()
        .route("/api/v1/dashboards", get(list))
        .route("/api/v1/dashboards/{id}", get(show))
        .route("/api/v1/dashboards/{id}/grafana", get(grafana))
        .with_state(state)
}

fn find<'a>(state: &'a DashboardsState, id: &str) -> Result<&'a DashboardConfig, ApiError> {
    state.dashboards.iter().find(|d| d.id == id).ok_or_else(|| {
        ApiError::not_found(format!(
            "no dashboard with id {id:?}; GET /api/v1/dashboards lists them"
        ))
    })
}

/// `GET /api/v1/dashboards`: every dashboard, built-in ones first.
async fn list(State(state): State<DashboardsState>) -> Json<DashboardsAnswer> {
    let dashboards = state
        .dashboards
        .iter()
        .map(|d| DashboardSummary {
            builtin: mon_metrics::BUILTIN_IDS.contains(&d.id.as_str()),
            description: d.description.clone(),
            id: d.id.clone(),
            panels: d.panels.len(),
            title: d.title.clone(),
            // Definitions are loaded with the configuration, at start.
            updated_at: state.started_at,
        })
        .collect();
    Json(DashboardsAnswer { dashboards })
}

/// `?range=` (a duration back from now: `1h`, `24h`, `7d`) or `?from=` / `?to=`
/// (RFC 3339 or a duration ago); default the last hour.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn parse_range(
    q: &RangeQuery,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    if let Some(range) = q.range.as_deref() {
        if q.from.is_some() || q.to.is_some() {
            return Err(ApiError::bad_request(
                "give either range= or from=/to=, not both",
            ));
        }
        let length = mon_http::params::parse_duration("range", range)?;
        if length.is_zero() || length > mon_metrics::MAX_DASHBOARD_RANGE {
            return Err(ApiError::bad_request(format!(
                "range={range:?} must be a duration from 1s to 90d (1h, 24h, 7d)"
            )));
        }
        let from = mon_core::duration::ago(now, length)
            .map_err(|e| ApiError::bad_request(format!("range={range:?}: {e}")))?;
        return Ok((from, now));
    }
    mon_http::params::parse_from_to(q.from.as_deref(), q.to.as_deref(), now)
}

async fn show(
    State(state): State<DashboardsState>,
    Path(id): Path<String>,
    query: Result<Query<RangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = mon_http::params::query(query)?;
    let dashboard = find(&state, &id)?;
    let now = Utc::now();
    let (from, to) = parse_range(&query, now)?;
    let step = mon_metrics::series_step(from, to);
    let snapshot = state.hub.current();
    let mut panels = Vec::with_capacity(dashboard.panels.len());
    for panel in &dashboard.panels {
        let mut out = panel.header_json();
        match panel.kind {
            PanelKind::StatusGrid => out["checks"] = status_grid(&state),
            PanelKind::AlertList => out["alerts"] = json!(state.alerts.active_alerts()),
            _ => {
                let metric = panel.metric.as_deref().unwrap_or_default();
                let series = state
                    .store
                    .query_series(metric, &panel.labels, from, to, step)
                    .await?;
                let current = panel
                    .labels
                    .is_empty()
                    .then(|| snapshot.get(metric))
                    .flatten();
                out["metrics"] = panel.metrics_json(series, current, snapshot.taken_at);
            }
        }
        panels.push(out);
    }
    Ok(Json(json!({
        "id": dashboard.id,
        "title": dashboard.title,
        "description": dashboard.description,
        "refresh_interval": dashboard.refresh_interval,
        "created_at": state.started_at,
        "updated_at": now,
        "range": { "from": from, "to": to },
        "panels": panels,
    })))
}

fn status_grid(state: &DashboardsState) -> Value {
    let checks: Vec<Value> = state
        .health
        .detailed()
        .checks
        .into_iter()
        .map(|c| {
            json!({
                "name": c.name,
                "kind": c.kind,
                "status": c.status,
                "color": mon_metrics::status_grid_colour(c.status),
                "critical": c.critical,
                "latency_ms": c.latency_ms,
                "message": c.message,
                "uptime": c.uptime,
            })
        })
        .collect();
    json!(checks)
}

async fn grafana(
    State(state): State<DashboardsState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dashboard = find(&state, &id)?;
    Ok(Json(mon_metrics::grafana_json(dashboard)))
}
