//! The alerting API over HTTP: [`router`] serves `/api/v1/alerts` (list with filters,
//! stats, get with history, ack, resolve), `/api/v1/silences` (create, list, expire),
//! `/api/v1/rules`, `/api/v1/channels` (+ test send), `GET /health/alerts` and
//! `POST /health/alerts/{id}/resolve`, from an [`AlertsState`]; an alert action's failure
//! answers by kind (`From<ActionError> for mon_http::ApiError`). Alerts raised from
//! outside the rules (`POST /api/v1/alerts`, Alertmanager's `POST /api/v2/alerts`) are
//! read in [`raise`].

use crate::{ActionError, AlertEngine, Matcher, Silence};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use mon_api::ErrorCode;
use mon_api::answers::{
    ActorBody, AlertAnswer, AlertEventView, AlertNotificationView, AlertStatsAnswer, AlertView,
    AlertsAnswer, ChannelTestAnswer, ChannelView, ChannelsAnswer, HealthAlertView,
    HealthAlertsAnswer, HealthAlertsSummary, MatcherView, RuleView, RulesAnswer, SilenceBody,
    SilenceView, SilencesAnswer,
};
use mon_api::quality::AlertQualityAnswer;
use mon_core::{Alert, AlertState, Notification, Severity, Transition};
use mon_http::params::{parse_duration, parse_limit, parse_time};
use mon_http::{ApiError, Json, TokenName};
use mon_store::Store;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

pub mod raise;

/// An alert action's failure: 404 for an alert that is not open, 409 for one whose state
/// refuses the action, the store's answer when the change could not be saved (429 for a
/// full queue), 500 (logged) otherwise.
impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NotFound(_) => ApiError::not_found(e.to_string()),
            ActionError::Conflict { .. } => ApiError::of(ErrorCode::Conflict, e.to_string()),
            ActionError::Store(store) => store.into(),
            e => ApiError::internal("the alert action failed", &e),
        }
    }
}

/// What the alerting routes read: the engine, and the store for resolved alerts and
/// their history.
#[derive(Clone, Debug)]
pub struct AlertsState {
    /// The alert engine: open alerts, actions, silences, rules and channels.
    pub alerts: AlertEngine,
    /// The store: resolved alerts and every alert's history.
    pub store: Store,
}

/// The alerting routes; mount them behind the token layer (`mon_http::require_role`),
/// which requires ingest for `POST /api/v1/alerts` and `/api/v2/alerts` and admin for
/// every other POST and DELETE here:
/// `.merge(mon_alerting::http::router(state))`.
pub fn router(state: AlertsState) -> Router {
    Router::new()
        .route("/api/v1/alerts", get(list_alerts).post(raise::raise))
        .route("/api/v2/alerts", post(raise::raise_alertmanager))
        .route("/api/v1/alerts/stats", get(stats))
        .route("/api/v1/alerts/quality", get(quality))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/alerts/{id}/ack", post(ack))
        .route("/api/v1/alerts/{id}/resolve", post(resolve))
        .route("/api/v1/silences", get(list_silences).post(create_silence))
        .route("/api/v1/silences/{id}", delete(expire_silence))
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/channels", get(channels))
        .route("/api/v1/channels/{name}/test", post(test_channel))
        .route("/health/alerts", get(health_alerts))
        // The seeds' name for the same list.
        .route("/monitoring/alerts", get(health_alerts))
        .route("/health/alerts/{id}/resolve", post(resolve))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertFilter {
    /// pending | firing | acknowledged | resolved | all (default: open ones).
    state: Option<String>,
    severity: Option<String>,
    rule: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/alerts`: open alerts (most severe first), or with
/// `state=resolved|all` the most recent from the store; filtered by severity and rule.
async fn list_alerts(
    State(state): State<AlertsState>,
    Query(filter): Query<AlertFilter>,
) -> Result<Json<AlertsAnswer>, ApiError> {
    let limit = parse_limit(filter.limit.as_deref())?;
    let severity = filter
        .severity
        .as_deref()
        .map(|s| {
            Severity::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "severity={s:?} is not one of info, warning, error, critical"
                ))
            })
        })
        .transpose()?;
    let wanted: Option<AlertState> = match filter.state.as_deref() {
        None | Some("all") => None,
        Some(s) => Some(serde_json::from_value(json!(s)).map_err(|_| {
            ApiError::bad_request(format!(
                "state={s:?} is not one of pending, firing, acknowledged, resolved, all"
            ))
        })?),
    };
    let from_store = matches!(filter.state.as_deref(), Some("all" | "resolved"));
    let alerts: Vec<Alert> = if from_store {
        state.store.recent_alerts(limit.saturating_mul(4)).await?
    } else {
        state.alerts.alerts()
    };
    let alerts = alerts
        .into_iter()
        .filter(|a| wanted.is_none_or(|w| a.state == w))
        .filter(|a| severity.is_none_or(|s| a.severity == s))
        .filter(|a| filter.rule.as_deref().is_none_or(|r| a.rule == r))
        .take(limit)
        .map(AlertView::from)
        .collect();
    Ok(Json(AlertsAnswer { alerts }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsQuery {
    /// Response times of alerts that fired since then (default: 30 days ago).
    since: Option<String>,
}

/// `GET /api/v1/alerts/stats?since=`: open alerts by state and severity; mean
/// times to acknowledge and to resolve (from the stored history).
async fn stats(
    State(state): State<AlertsState>,
    Query(query): Query<StatsQuery>,
) -> Result<Json<AlertStatsAnswer>, ApiError> {
    let since = match query.since.as_deref() {
        Some(text) => parse_time("since", text, Utc::now())?,
        None => Utc::now() - chrono::TimeDelta::days(30),
    };
    let stats = state.alerts.stats(since).await;
    Ok(Json(AlertStatsAnswer {
        acknowledged: stats.response.acknowledged,
        by_severity: stats.by_severity,
        by_state: stats.by_state,
        mean_time_to_acknowledge_seconds: stats.response.mean_time_to_acknowledge_seconds,
        mean_time_to_resolve_seconds: stats.response.mean_time_to_resolve_seconds,
        resolved: stats.response.resolved,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QualityQuery {
    /// Alerts that fired since then (default: 7 days ago).
    since: Option<String>,
    /// Minutes within which an unacknowledged alert resolving on its own counts as
    /// self-resolved (default 5).
    flap_minutes: Option<String>,
}

/// The most minutes `flap_minutes=` takes: a day.
const MAX_FLAP_MINUTES: u64 = 1440;

/// `GET /api/v1/alerts/quality?since=&flap_minutes=`: per rule, how often it fired and
/// how its alerts were handled, its verdict and a suggestion ([`crate::quality`]).
async fn quality(
    State(state): State<AlertsState>,
    Query(query): Query<QualityQuery>,
) -> Result<Json<AlertQualityAnswer>, ApiError> {
    let now = Utc::now();
    let since = match query.since.as_deref() {
        Some(text) => parse_time("since", text, now)?,
        None => now - chrono::TimeDelta::days(7),
    };
    let flap_minutes = match query.flap_minutes.as_deref() {
        None => 5,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|m| (1..=MAX_FLAP_MINUTES).contains(m))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "flap_minutes={text:?} is not a whole number of minutes from 1 to {MAX_FLAP_MINUTES}"
                ))
            })?,
    };
    let flap = std::time::Duration::from_secs(flap_minutes * 60);
    let report = crate::quality::report(&state.alerts, &state.store, since, now, flap).await?;
    Ok(Json(report))
}

/// `GET /api/v1/alerts/{id}`: the alert (open or from history), its transitions, the
/// notifications sent about it and, for a rule's alert, the rule's expression and the
/// catalog variable (with its unit) it reads.
async fn get_alert(
    State(state): State<AlertsState>,
    Path(id): Path<String>,
) -> Result<Json<AlertAnswer>, ApiError> {
    let alert = match state.alerts.alert(&id) {
        Some(alert) => Some(alert),
        None => state.store.alert(&id).await?,
    };
    let Some(alert) = alert else {
        return Err(ApiError::not_found(format!("no alert with id {id:?}")));
    };
    let history = state
        .store
        .alert_events(&id)
        .await?
        .into_iter()
        .map(|e| AlertEventView {
            at: e.at,
            kind: e.kind,
            detail: e.detail,
        })
        .collect();
    let notifications = state
        .store
        .alert_notifications(&id)
        .await?
        .into_iter()
        .map(|n| AlertNotificationView {
            channel: n.channel,
            transition: n.transition,
            state: n.state,
            attempts: n.attempts,
            last_error: n.last_error,
            queued_at: n.queued_at,
            updated_at: n.updated_at,
        })
        .collect();
    let rule = alert
        .source
        .is_none()
        .then(|| {
            state
                .alerts
                .rules_status()
                .into_iter()
                .find(|r| r.name == alert.rule)
        })
        .flatten();
    let variable = rule.as_ref().and_then(|r| {
        r.variables
            .iter()
            .find_map(|v| mon_core::catalog::lookup(v))
    });
    Ok(Json(AlertAnswer {
        alert: alert.into(),
        history,
        notifications,
        expr: rule.map(|r| r.expr),
        variable: variable.map(|v| v.name.to_string()),
        unit: variable.map(|v| v.unit.as_str().to_string()),
    }))
}

/// What an operator does to an open alert.
#[derive(Debug, Clone, Copy)]
enum Action {
    Acknowledge,
    Resolve,
}

/// The name (never the secret) of the token a request presented; `None` behind no
/// token layer.
fn token_name(token: Option<Extension<TokenName>>) -> Option<String> {
    token.map(|Extension(TokenName(name))| name)
}

/// Who acts: `by` when the request names someone, else the name of the token it
/// presented (`api` behind no token layer).
fn actor(by: Option<String>, token: Option<Extension<TokenName>>) -> String {
    by.filter(|b| !b.trim().is_empty())
        .or_else(|| token_name(token))
        .unwrap_or_else(|| "api".to_string())
}

/// Applies `action` to the alert `id`, by whoever the body names (default: the token's
/// name) with its comment (blank ones dropped).
async fn act(
    state: AlertsState,
    id: String,
    token: Option<Extension<TokenName>>,
    body: Option<Json<ActorBody>>,
    action: Action,
) -> Result<Json<AlertView>, ApiError> {
    let Json(a) = body.unwrap_or_default();
    let by = actor(a.by, token);
    let comment = a.comment.filter(|c| !c.trim().is_empty());
    let alerts = &state.alerts;
    match action {
        Action::Acknowledge => alerts.acknowledge(&id, &by, comment.as_deref()).await,
        Action::Resolve => alerts.resolve(&id, &by, comment.as_deref()).await,
    }
    .map(|a| Json(a.into()))
    .map_err(ApiError::from)
}

/// `POST /api/v1/alerts/{id}/ack`.
async fn ack(
    State(state): State<AlertsState>,
    Path(id): Path<String>,
    token: Option<Extension<TokenName>>,
    body: Option<Json<ActorBody>>,
) -> Result<Json<AlertView>, ApiError> {
    act(state, id, token, body, Action::Acknowledge).await
}

/// `POST /api/v1/alerts/{id}/resolve` and the seed's `POST /health/alerts/{id}/resolve`.
async fn resolve(
    State(state): State<AlertsState>,
    Path(id): Path<String>,
    token: Option<Extension<TokenName>>,
    body: Option<Json<ActorBody>>,
) -> Result<Json<AlertView>, ApiError> {
    act(state, id, token, body, Action::Resolve).await
}

/// `GET /api/v1/silences`: every silence, with `active` computed now.
async fn list_silences(State(state): State<AlertsState>) -> Json<SilencesAnswer> {
    let now = Utc::now();
    let silences = state
        .alerts
        .silences()
        .into_iter()
        .map(|s| silence_view(s, now))
        .collect();
    Json(SilencesAnswer { silences })
}

/// A silence as answers show it, `active` at `now`.
fn silence_view(s: Silence, now: DateTime<Utc>) -> SilenceView {
    SilenceView {
        active: s.active(now),
        id: s.id,
        matchers: s
            .matchers
            .into_iter()
            .map(|m| MatcherView {
                name: m.name,
                value: m.value,
                is_equal: m.equal,
            })
            .collect(),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        created_by: s.created_by,
        comment: s.comment,
    }
}

static SILENCE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `POST /api/v1/silences` → 201 with the silence, created by `created_by` or else the
/// token's name.
async fn create_silence(
    State(state): State<AlertsState>,
    token: Option<Extension<TokenName>>,
    Json(new): Json<SilenceBody>,
) -> Result<(StatusCode, Json<SilenceView>), ApiError> {
    if new.matchers.is_empty() {
        return Err(ApiError::bad_request(
            "a silence needs at least one matcher, e.g. {\"name\": \"service\", \"value\": \"api\"}",
        ));
    }
    if new
        .created_by
        .as_deref()
        .is_some_and(|b| b.trim().is_empty())
    {
        return Err(ApiError::bad_request("created_by must name who silences"));
    }
    let created_by = actor(new.created_by, token);
    let in_range = |name: &str, t: DateTime<Utc>| {
        mon_core::duration::check_time(t).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
    };
    let starts_at = in_range("starts_at", new.starts_at.unwrap_or_else(Utc::now))?;
    let ends_at = match (new.ends_at, new.duration.as_deref()) {
        (Some(end), None) => in_range("ends_at", end)?,
        (None, Some(text)) => {
            let d = parse_duration("duration", text)?;
            mon_core::duration::after(starts_at, d)
                .map_err(|e| ApiError::bad_request(format!("duration={text:?}: {e}")))?
        }
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of ends_at (RFC 3339) or duration (e.g. 2h)",
            ));
        }
    };
    if ends_at <= starts_at {
        return Err(ApiError::bad_request("ends_at must be after starts_at"));
    }
    let n = SILENCE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let silence = Silence {
        id: format!("sil-{:x}-{n}", Utc::now().timestamp_millis()),
        matchers: new
            .matchers
            .into_iter()
            .map(|m| Matcher {
                name: m.name,
                value: m.value,
                equal: m.is_equal,
            })
            .collect(),
        starts_at,
        ends_at,
        created_by,
        comment: new.comment,
    };
    state.alerts.add_silence(silence.clone()).await?;
    Ok((StatusCode::CREATED, Json(silence_view(silence, Utc::now()))))
}

/// `DELETE /api/v1/silences/{id}`: ends it now.
async fn expire_silence(
    State(state): State<AlertsState>,
    Path(id): Path<String>,
) -> Result<Json<SilenceView>, ApiError> {
    state
        .alerts
        .expire_silence(&id)
        .await?
        .map(|s| Json(silence_view(s, Utc::now())))
        .ok_or_else(|| ApiError::not_found(format!("no silence with id {id:?}")))
}

/// `GET /api/v1/rules`.
async fn rules(State(state): State<AlertsState>) -> Json<RulesAnswer> {
    let rules = state
        .alerts
        .rules_status()
        .into_iter()
        .map(|r| RuleView {
            name: r.name,
            expr: r.expr,
            severity: r.severity.as_str().to_string(),
            for_duration: mon_core::duration::format(r.for_duration),
            enabled: r.enabled,
            state: r.state.as_str().to_string(),
            last_value: r.last_value,
            last_evaluated: r.last_evaluated,
            error: r.error,
            variables: r.variables,
        })
        .collect();
    Json(RulesAnswer { rules })
}

/// `GET /api/v1/channels`: each channel's delivery state.
async fn channels(State(state): State<AlertsState>) -> Json<ChannelsAnswer> {
    let channels = state
        .alerts
        .channels_status()
        .into_iter()
        .map(|c| ChannelView {
            name: c.name,
            kind: c.kind,
            last_success: c.last_success,
            last_error: c.last_error,
            last_error_at: c.last_error_at,
            consecutive_failures: c.consecutive_failures,
            queued: c.queued,
            delivered: c.delivered,
            failed: c.failed,
        })
        .collect();
    Json(ChannelsAnswer { channels })
}

/// `POST /api/v1/channels/{name}/test`: sends a test notification now (not
/// through the outbox) and reports the channel's answer.
async fn test_channel(
    State(state): State<AlertsState>,
    Path(name): Path<String>,
) -> Result<Json<ChannelTestAnswer>, ApiError> {
    let Some(channel) = state
        .alerts
        .channels()
        .into_iter()
        .find(|c| c.name() == name)
    else {
        return Err(ApiError::not_found(format!("no channel named {name:?}")));
    };
    let now = Utc::now();
    let labels = BTreeMap::from([("test".to_string(), "true".to_string())]);
    let mut alert = Alert::new("mon test notification", Severity::Info, labels, now)
        .with_state(AlertState::Firing)
        .with_annotation(
            "summary",
            "A test notification from mon: this channel works.",
        );
    alert.id = format!("test-{}", now.timestamp_millis());
    let key = format!("{}:test:{}", alert.fingerprint, now.timestamp_millis());
    let notification = Notification::new(Transition::Test, vec![alert], key);
    match tokio::time::timeout(channel.timeout, channel.notifier.send(&notification)).await {
        Ok(Ok(())) => Ok(Json(ChannelTestAnswer {
            channel: name,
            ok: true,
        })),
        Ok(Err(e)) => Err(ApiError::of(
            ErrorCode::ChannelFailed,
            format!("channel {name:?}: {e}"),
        )),
        Err(_) => Err(ApiError::of(
            ErrorCode::ChannelTimeout,
            format!("channel {name:?} did not answer in time"),
        )),
    }
}

/// `GET /health/alerts` in the seed's shape: active alerts and a summary.
async fn health_alerts(State(state): State<AlertsState>) -> Json<HealthAlertsAnswer> {
    let active = state.alerts.active_alerts();
    let stats = state.alerts.stats(DateTime::<Utc>::UNIX_EPOCH).await;
    let active_by_severity = Severity::ALL
        .iter()
        .map(|s| {
            let count = active.iter().filter(|a| a.severity == *s).count();
            (s.as_str().to_string(), count)
        })
        .collect();
    let summary = HealthAlertsSummary {
        active_by_severity,
        total_active: active.len(),
        total_resolved: stats.response.resolved,
    };
    let alerts = active
        .into_iter()
        .map(|a| HealthAlertView {
            component: a
                .labels
                .get("check")
                .or_else(|| a.labels.get("service"))
                .cloned(),
            created_at: a.started_at,
            message: a
                .annotations
                .get("summary")
                .or_else(|| a.annotations.get("description"))
                .cloned()
                .unwrap_or_else(|| a.rule.clone()),
            id: a.id,
            labels: a.labels,
            name: a.rule,
            severity: a.severity.as_str().to_string(),
            state: a.state.as_str().to_string(),
            status: "active".to_string(),
            updated_at: a.updated_at,
            value: a.value,
        })
        .collect();
    Json(HealthAlertsAnswer { alerts, summary })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use mon_store::StoreError;

    #[test]
    fn an_action_on_a_full_store_queue_is_a_429_to_retry() {
        let error = ApiError::from(ActionError::Store(StoreError::Busy { capacity: 8 }));
        assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error.code(), ErrorCode::Busy);
        assert_eq!(error.retry_after(), Some(1));
        assert!(
            error.message().contains("8 batches queued"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn an_action_maps_the_store_error_as_the_store_does() {
        let closed = ApiError::from(ActionError::Store(StoreError::Closed));
        assert_eq!(closed.code(), ErrorCode::Unavailable);
        assert_eq!(closed.status(), ApiError::from(StoreError::Closed).status());
        let missing = ApiError::from(ActionError::NotFound("a1".to_string()));
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let encode = ApiError::from(ActionError::Encode("bad".to_string()));
        assert_eq!(encode.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
