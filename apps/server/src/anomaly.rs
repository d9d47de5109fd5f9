//! `GET /api/v1/anomaly/{variable}`: a variable's anomaly baseline (mon-alerting's
//! `anomaly` module, learned by the alert engine) and its band, expected ± k deviations,
//! over a range; the web UI draws it behind the variable's chart.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use chrono::{TimeDelta, Utc};
use mon_alerting::AlertEngine;
use mon_api::anomaly::{AnomalyAnswer, AnomalyBandPoint};
use mon_core::snapshot::SnapshotHub;
use mon_http::params::{parse_duration, parse_from_to};
use mon_http::{ApiError, Json};
use serde::Deserialize;

/// What the anomaly route reads: the engine (its baselines) and the snapshot (the value now).
#[derive(Clone, Debug)]
pub(crate) struct AnomalyState {
    pub(crate) alerts: AlertEngine,
    pub(crate) hub: SnapshotHub,
}

/// The anomaly route.
pub(crate) fn router(state: AnomalyState) -> Router {
    Router::new()
        .route("/api/v1/anomaly/{variable}", get(anomaly))
        .with_state(state)
}

/// The band's half-width in deviations by default: the built-in rule's threshold.
const DEFAULT_K: f64 = 4.0;
/// The most points of a band: a longer range gets a coarser step.
const MAX_POINTS: i64 = 2000;
/// Points in a band when no `step=` is given.
const DEFAULT_POINTS: i32 = 240;

/// `from=` / `to=` (RFC 3339 or a duration ago; default the last hour), `step=` (a
/// duration; default a 240th of the range, at least a minute), `k=` (deviations, default 4).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BandQuery {
    from: Option<String>,
    to: Option<String>,
    step: Option<String>,
    k: Option<String>,
}

/// `GET /api/v1/anomaly/{variable}`.
async fn anomaly(
    State(state): State<AnomalyState>,
    Path(variable): Path<String>,
    query: Result<Query<BandQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AnomalyAnswer>, ApiError> {
    let q = mon_http::params::query(query)?;
    if !state.alerts.watches_baseline(&variable) {
        return Err(ApiError::not_found(format!(
            "{variable:?} has no anomaly baseline: baselines are kept for the variables of \
             the metrics catalog and the custom variables a rule reads with anomaly()"
        )));
    }
    let k = match q.k.as_deref() {
        None => DEFAULT_K,
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|k| k.is_finite() && *k > 0.0 && *k <= 100.0)
            .ok_or_else(|| {
                ApiError::bad_request(format!("k={text:?}: give a number above 0, at most 100"))
            })?,
    };
    let now = Utc::now();
    let (from, to) = parse_from_to(q.from.as_deref(), q.to.as_deref(), now)?;
    let span = to - from;
    let least = TimeDelta::minutes(1).max(span / i32::try_from(MAX_POINTS).unwrap_or(i32::MAX));
    let step = match q.step.as_deref() {
        Some(text) => TimeDelta::from_std(parse_duration("step", text)?)
            .map_err(|_| ApiError::bad_request(format!("step={text:?} is too long")))?,
        None => span / DEFAULT_POINTS,
    }
    .max(least);
    let baseline = state.alerts.baseline(&variable);
    let value = state.hub.current().get(&variable);
    let mut band = Vec::new();
    if let Some(b) = &baseline {
        let mut ts = from;
        while ts <= to {
            if let (Some(expected), Some(deviation)) = (b.expected(ts), b.deviation(ts)) {
                band.push(AnomalyBandPoint {
                    ts,
                    expected,
                    lower: expected - k * deviation,
                    upper: expected + k * deviation,
                });
            }
            ts += step;
        }
    }
    Ok(Json(AnomalyAnswer {
        k,
        samples: baseline.as_ref().map_or(0, |b| b.samples()),
        warm: baseline.as_ref().is_some_and(|b| b.is_warm()),
        seasonal: baseline.as_ref().is_some_and(|b| b.is_seasonal()),
        last_sample: baseline.as_ref().and_then(|b| b.last_sample()),
        expected: baseline.as_ref().and_then(|b| b.expected(now)),
        deviation: baseline.as_ref().and_then(|b| b.deviation(now)),
        score: baseline
            .as_ref()
            .zip(value)
            .and_then(|(b, v)| b.score(now, v)),
        value,
        from,
        to,
        band,
        variable,
    }))
}
