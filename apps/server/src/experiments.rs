//! Experiments and comparisons: `GET /api/v1/experiments` (every experiment seen, with
//! its variants), `GET /api/v1/experiments/{name}` (each variant against the control on
//! rates, latencies, durations, ratings, abandonment and AI cost per call, through
//! [`mon_metrics::experiment`]) and `GET /api/v1/compare` (one stored metric in two
//! periods, or before and after a deployment, through [`mon_metrics::stats`]).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use chrono::{DateTime, Duration as TimeDelta, Utc};
use mon_api::experiments::{
    CompareAnswer, ComparedPeriod, ExperimentAnswer, ExperimentView, ExperimentsAnswer, VariantView,
};
use mon_api::sources::DeploymentView;
use mon_core::Event;
use mon_http::params::{parse_duration, parse_time, query};
use mon_http::{ApiError, Json};
use mon_metrics::experiment::{ArmData, compare_arms};
use mon_metrics::stats::{Confidence, Sample, compare_samples, percentiles};
use mon_store::Store;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The most events of one experiment read for a comparison; an answer built from fewer
/// than the experiment has says so (`truncated`).
pub(crate) const MAX_EXPERIMENT_EVENTS: u32 = 1_000_000;

/// The period an experiment is read over when `since=` is not given.
const DEFAULT_SINCE: &str = "30d";

/// The routes (read role, behind the token layer).
pub(crate) fn router(store: Store) -> Router {
    Router::new()
        .route("/api/v1/experiments", get(list))
        .route("/api/v1/experiments/{name}", get(show))
        .route("/api/v1/compare", get(compare))
        .with_state(store)
}

/// `?since=` (RFC 3339 or a duration ago; default 30 days).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    since: Option<String>,
}

fn since(text: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    parse_time("since", text.unwrap_or(DEFAULT_SINCE), now)
}

fn confidence(text: Option<&str>) -> Result<Confidence, ApiError> {
    let Some(text) = text else {
        return Ok(Confidence::default());
    };
    text.parse::<f64>()
        .ok()
        .and_then(|level| Confidence::new(level).ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "confidence={text:?} must be a level between 0 and 1 (0.95 for 95 %), at most {}",
                mon_metrics::stats::MAX_CONFIDENCE
            ))
        })
}

/// `GET /api/v1/experiments`.
async fn list(
    State(store): State<Store>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ExperimentsAnswer>, ApiError> {
    let q = query(q)?;
    let since = since(q.since.as_deref(), Utc::now())?;
    let mut experiments: BTreeMap<String, Vec<VariantView>> = BTreeMap::new();
    for arm in store.experiment_arms(since).await? {
        experiments
            .entry(arm.experiment)
            .or_default()
            .push(VariantView {
                variant: arm.variant,
                events: arm.events,
                first_seen: arm.first_seen,
                last_seen: arm.last_seen,
                unattributed_ai_cost_usd: None,
            });
    }
    let experiments: Vec<ExperimentView> = experiments
        .into_iter()
        .map(|(name, variants)| ExperimentView { name, variants })
        .collect();
    Ok(Json(ExperimentsAnswer {
        since,
        count: experiments.len(),
        experiments,
    }))
}

/// `?since=`, `?control=` (default: the variant named `control`, else the first by
/// name), `?confidence=` (default 0.95).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowQuery {
    since: Option<String>,
    control: Option<String>,
    confidence: Option<String>,
}

/// `GET /api/v1/experiments/{name}`.
async fn show(
    State(store): State<Store>,
    Path(name): Path<String>,
    q: Result<Query<ShowQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ExperimentAnswer>, ApiError> {
    let q = query(q)?;
    let now = Utc::now();
    let since = since(q.since.as_deref(), now)?;
    let confidence = confidence(q.confidence.as_deref())?;
    experiment(&store, name, (since, None), q.control, confidence)
        .await
        .map(Json)
}

/// Experiment `name`'s variants compared with `control` (default: the variant named
/// `control`, else the first by name) over the events of `period` (from, and until
/// when given); 404 when it has none there.
pub(crate) async fn experiment(
    store: &Store,
    name: String,
    period: (DateTime<Utc>, Option<DateTime<Utc>>),
    control: Option<String>,
    confidence: Confidence,
) -> Result<ExperimentAnswer, ApiError> {
    let (since, until) = period;
    let rows = store
        .experiment_events(&name, since, until, MAX_EXPERIMENT_EVENTS)
        .await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!(
            "no events of experiment {name:?} since {since}; GET /api/v1/experiments lists them"
        )));
    }
    let truncated = rows.len() as u32 >= MAX_EXPERIMENT_EVENTS;
    let mut arms: BTreeMap<String, ArmData> = BTreeMap::new();
    let mut seen: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for row in rows {
        // Stored events were validated on the way in; one that no longer decodes (an
        // older shape) is left out rather than failing the whole answer.
        let Ok(event) = serde_json::from_str::<Event>(&row.body) else {
            continue;
        };
        arms.entry(row.variant.clone()).or_default().add(&event);
        let span = seen.entry(row.variant).or_insert((row.ts, row.ts));
        span.1 = row.ts;
    }
    let control = match control {
        Some(c) if arms.contains_key(&c) => c,
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "control={c:?} is not a variant of {name:?}; its variants: {}",
                arms.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        None if arms.contains_key("control") => "control".to_owned(),
        None => arms.keys().next().cloned().unwrap_or_default(),
    };
    let comparisons = compare_arms(&arms, &control, confidence)
        .map_err(|e| ApiError::internal("comparing the variants", &e))?;
    let variants: Vec<VariantView> = arms
        .iter()
        .map(|(variant, arm)| {
            let (first_seen, last_seen) = seen.get(variant).copied().unwrap_or_default();
            VariantView {
                variant: variant.clone(),
                events: arm.events,
                first_seen,
                last_seen,
                unattributed_ai_cost_usd: Some(arm.unattributed_cost_usd),
            }
        })
        .collect();
    let mut warnings: Vec<String> = Vec::new();
    if arms.len() < 2 {
        warnings.push(format!(
            "only one variant ({control}) has events: nothing to compare yet"
        ));
    }
    if truncated {
        warnings.push(format!(
            "read the first {MAX_EXPERIMENT_EVENTS} events only: narrow since= to read them all"
        ));
    }
    Ok(ExperimentAnswer {
        experiment: name,
        since,
        control,
        confidence: confidence.level(),
        truncated,
        variants,
        comparisons,
        warnings,
    })
}

/// `?metric=` (a stored series), `?labels=k=v,...`, and either `?a=` and `?b=` (each
/// `FROM/TO`, every end RFC 3339 or a duration ago, or `now`) or `?deployment=`
/// (`service` or `service@version`: its latest deployment) with `?window=` (default 1h)
/// on each side; `?confidence=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareQuery {
    metric: Option<String>,
    labels: Option<String>,
    a: Option<String>,
    b: Option<String>,
    deployment: Option<String>,
    window: Option<String>,
    confidence: Option<String>,
}

/// A period `FROM/TO` of parameter `param`.
fn period(
    param: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let (from, to) = text.split_once('/').ok_or_else(|| {
        ApiError::bad_request(format!(
            "{param}={text:?} must be a period FROM/TO, e.g. 14d/7d or 2026-11-01T00:00:00Z/now"
        ))
    })?;
    let end = |t: &str| match t.trim() {
        "now" => Ok(now),
        t => parse_time(param, t, now),
    };
    let (from, to) = (end(from)?, end(to)?);
    if to <= from {
        return Err(ApiError::bad_request(format!(
            "{param}={text:?}: the period ends ({to}) before it starts ({from})"
        )));
    }
    Ok((from, to))
}

/// `GET /api/v1/compare`.
async fn compare(
    State(store): State<Store>,
    q: Result<Query<CompareQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CompareAnswer>, ApiError> {
    let q = query(q)?;
    let now = Utc::now();
    let metric = q
        .metric
        .as_deref()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "metric= is required: a stored series; GET /api/v1/metrics lists them",
            )
        })?;
    let selector = mon_metrics::SeriesSelector::parse(metric, q.labels.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let confidence = confidence(q.confidence.as_deref())?;
    let (a, b, deployment) = match (&q.a, &q.b, &q.deployment) {
        (Some(a), Some(b), None) => (period("a", a, now)?, period("b", b, now)?, None),
        (None, None, Some(d)) => {
            let window = parse_duration("window", q.window.as_deref().unwrap_or("1h"))?;
            let window = TimeDelta::from_std(window)
                .map_err(|_| ApiError::bad_request("window= is too long"))?;
            let found = deployment(&store, d, now).await?;
            let at = found.timestamp;
            ((at - window, at), (at, at + window), Some(found))
        }
        _ => {
            return Err(ApiError::bad_request(
                "give either a= and b= (two periods FROM/TO) or deployment= (service or service@version), not both",
            ));
        }
    };
    let values = |(from, to): (DateTime<Utc>, DateTime<Utc>)| {
        let (store, selector) = (store.clone(), selector.clone());
        async move {
            let series = store
                .query_series(&selector.name, &selector.labels, from, to, None)
                .await?;
            let values: Vec<f64> = series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.avg))
                .filter(|v| v.is_finite())
                .collect();
            Ok::<_, ApiError>((values, series.len()))
        }
    };
    let ((va, sa), (vb, sb)) = (values(a).await?, values(b).await?);
    if sa + sb == 0 {
        return Err(ApiError::not_found(format!(
            "no stored series {metric:?} with those labels; GET /api/v1/metrics lists them"
        )));
    }
    let result = compare_samples(Sample::new("a", &va), Sample::new("b", &vb), confidence)
        .map_err(|e| ApiError::internal("comparing the periods", &e))?;
    let side = |(from, to): (DateTime<Utc>, DateTime<Utc>), v: &[f64]| ComparedPeriod {
        from,
        to,
        points: v.len(),
        percentiles: percentiles(v),
    };
    Ok(Json(CompareAnswer {
        metric: selector.name,
        labels: selector.labels,
        deployment,
        a: side(a, &va),
        b: side(b, &vb),
        confidence: confidence.level(),
        means: result.means,
        ranks: result.ranks,
    }))
}

/// The latest deployment of `spec` (`service` or `service@version`) up to `now`.
async fn deployment(
    store: &Store,
    spec: &str,
    now: DateTime<Utc>,
) -> Result<DeploymentView, ApiError> {
    let (service, version) = match spec.split_once('@') {
        Some((s, v)) => (s, Some(v)),
        None => (spec, None),
    };
    store
        .latest_deployment(service, version, now)
        .await?
        .and_then(crate::sources::deployment_view)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "deployment={spec:?}: no such deployment stored; GET /api/v1/deployments lists them"
            ))
        })
}
