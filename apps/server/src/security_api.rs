//! The security API: [`router`] serves `GET /api/v1/security/summary` (from the
//! recorder's security windows: what mon knows now) and `GET /api/v1/security/events`
//! (from the events stored in `app_events`, for investigation).

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use mon_api::security::{
    SECURITY_EVENT_TYPES, SecurityActorView, SecurityBlockView, SecurityCounts, SecurityEventView,
    SecurityEventsAnswer, SecuritySummaryAnswer,
};
use mon_http::ApiError;
use mon_http::params::{parse_store_limit as limit, parse_time, query};
use mon_metrics::{Recorder, SecurityRow};
use mon_store::{SecurityEventQuery, Store};
use serde::Deserialize;
use std::net::IpAddr;

/// What the security handlers read: the recorder that ingest feeds, and the store.
#[derive(Debug, Clone)]
pub(crate) struct SecurityState {
    pub(crate) recorder: Recorder,
    pub(crate) store: Store,
}

/// `GET /api/v1/security/summary` and `GET /api/v1/security/events`.
pub(crate) fn router(state: SecurityState) -> Router {
    Router::new()
        .route("/api/v1/security/summary", get(summary))
        .route("/api/v1/security/events", get(events))
        .with_state(state)
}

fn time(secs: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::try_from(secs).unwrap_or(i64::MAX), 0).unwrap_or_default()
}

fn actor(r: &SecurityRow) -> SecurityActorView {
    SecurityActorView {
        kind: r.kind.as_str().to_string(),
        name: r.name.clone(),
        failed_logins: r.failed_logins,
        denied: r.denied,
        rate_limited: r.rate_limited,
        volume: r.volume,
        distinct_ips: r.distinct_ips,
        new_ips: r.new_ips,
        last_seen: time(r.last_seen),
    }
}

async fn summary(State(state): State<SecurityState>) -> Json<SecuritySummaryAnswer> {
    let s = state.recorder.security_summary();
    let actors = |rows: &[SecurityRow]| rows.iter().map(actor).collect::<Vec<_>>();
    Json(SecuritySummaryAnswer {
        window: mon_core::duration::format(s.window),
        max_failed_logins: state.recorder.options().security.max_failed_logins,
        counts: SecurityCounts {
            auth_attempts: s.totals.auth_attempts,
            failed_logins: s.totals.failed_logins,
            denied_ip_attempts: s.totals.denied,
            rate_limited: s.totals.rate_limited,
            security_events: s.totals.security_events,
            volume: s.totals.volume,
            untracked: s.totals.untracked,
        },
        top_ips_by_failures: actors(&s.top_ips_by_failures),
        top_ips_by_volume: actors(&s.top_ips_by_volume),
        top_principals_by_failures: actors(&s.top_principals_by_failures),
        top_principals_by_volume: actors(&s.top_principals_by_volume),
        blocks: s
            .blocks
            .iter()
            .filter_map(|r| {
                let (at, reason) = r.last_block?;
                Some(SecurityBlockView {
                    kind: r.kind.as_str().to_string(),
                    name: r.name.clone(),
                    reason: reason.to_string(),
                    at: time(at),
                    denied: r.denied,
                    rate_limited: r.rate_limited,
                })
            })
            .collect(),
    })
}

/// `?type=&ip=&principal=&since=&limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    r#type: Option<String>,
    ip: Option<String>,
    principal: Option<String>,
    since: Option<String>,
    limit: Option<String>,
}

async fn events(
    State(state): State<SecurityState>,
    q: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SecurityEventsAnswer>, ApiError> {
    let q = query(q)?;
    if let Some(kind) = q.r#type.as_deref()
        && !SECURITY_EVENT_TYPES.contains(&kind)
    {
        return Err(ApiError::bad_request(format!(
            "type={kind:?} is not a security event type; use {}",
            SECURITY_EVENT_TYPES.join(", ")
        )));
    }
    // Canonical text, as the events were stored (`::ffff:1.2.3.4` and `1.2.3.4` differ).
    let ip =
        q.ip.as_deref()
            .map(|text| {
                text.parse::<IpAddr>()
                    .map(|ip| ip.to_string())
                    .map_err(|_| {
                        ApiError::bad_request(format!("ip={text:?} is not an IPv4 or IPv6 address"))
                    })
            })
            .transpose()?;
    let query = SecurityEventQuery {
        kind: q.r#type,
        ip,
        principal: q.principal.filter(|p| !p.is_empty()),
        since: q
            .since
            .as_deref()
            .map(|t| parse_time("since", t, Utc::now()))
            .transpose()?,
        limit: limit(q.limit.as_deref())?,
    };
    let text = |body: &serde_json::Value, key: &str| body[key].as_str().map(str::to_string);
    let events: Vec<SecurityEventView> = state
        .store
        .security_events(query)
        .await?
        .into_iter()
        .map(|row| SecurityEventView {
            timestamp: row.ts,
            ip: text(&row.body, "ip"),
            principal: text(&row.body, "principal"),
            kind: row.kind,
            event: row.body,
        })
        .collect();
    Ok(Json(SecurityEventsAnswer {
        count: events.len(),
        events,
    }))
}
