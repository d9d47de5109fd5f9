//! Stakeholder reports: the scheduled report of each period (`reports:`), mailed through
//! the e-mail channels' durable outbox exactly once per period, across restarts, and the
//! API: `GET /api/v1/reports/latest` (the last one made) and `GET /api/v1/reports` (one
//! made now over a chosen period; what `mon report --since 7d` reads).
//!
//! Once per period: the end of the last period reported is kept in `kept_state` and is
//! written in the same transaction as the report's rows in the outbox, so a report is
//! either queued and remembered, or neither. After a restart the periods that ended
//! while the server was down are reported in order (the latest [`MAX_CATCH_UP`] of
//! them); a first start remembers the last boundary and reports from the next one on.

mod build;
mod mail;
mod svg;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use build::Period;
use chrono::{DateTime, TimeDelta, Utc};
use mon_alerting::AlertEngine;
use mon_api::reports::ReportAnswer;
use mon_config::{ReportSchedule, ReportsConfig};
use mon_http::params::{parse_time, query};
use mon_http::{ApiError, Json};
use mon_store::{KeptState, Store, WriteBatch};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The `kept_state` kind and name of the scheduled report's bookkeeping.
const KEPT_KIND: &str = "report";
const KEPT_NAME: &str = "scheduled";
/// Missed periods reported after a restart at most (the latest ones).
const MAX_CATCH_UP: i32 = 7;
/// The longest period a report made on request covers.
const MAX_PERIOD_DAYS: i64 = 400;
/// The period of a report made on request when `since=` is not given.
const DEFAULT_SINCE: &str = "7d";

/// What the scheduled report keeps across restarts.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    /// The end of the last period reported (or, on a first start, the boundary before it).
    last_end: DateTime<Utc>,
    /// The last report made, for `GET /api/v1/reports/latest`.
    report: Option<ReportAnswer>,
}

/// A period: from (included) to (excluded).
type Span = (DateTime<Utc>, DateTime<Utc>);

/// The periods of `schedule` to report, oldest first, when the last one reported ended at
/// `last_end` and the latest boundary due is `latest`: each starts where the one before
/// ended (after a change of schedule off the new grid, the first runs to the next
/// boundary), the latest [`MAX_CATCH_UP`] at most; and where the skipped ones end, if any.
fn due(
    schedule: ReportSchedule,
    last_end: DateTime<Utc>,
    latest: DateTime<Utc>,
) -> (Vec<Span>, Option<DateTime<Utc>>) {
    let length = schedule.length();
    let oldest = latest - length * MAX_CATCH_UP;
    let (mut from, skipped) = if last_end < oldest {
        (oldest, Some(oldest))
    } else {
        (last_end, None)
    };
    let mut periods = Vec::new();
    loop {
        let end = schedule.boundary_at_or_before(from) + length;
        if end > latest {
            return (periods, skipped);
        }
        periods.push((from, end));
        from = end;
    }
}

/// Builds reports and sends the scheduled ones. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Reports {
    store: Store,
    alerts: AlertEngine,
    /// The configured checks, by name (the uptime section).
    checks: Arc<Vec<String>>,
    config: Arc<ReportsConfig>,
    /// The web UI's reports page.
    ui_url: Arc<String>,
    /// Heads the reports' titles (`status_page.title`).
    name: Arc<String>,
}

impl Reports {
    pub(crate) fn new(
        store: Store,
        alerts: AlertEngine,
        checks: Vec<String>,
        config: ReportsConfig,
        external_url: &str,
        name: &str,
    ) -> Reports {
        Reports {
            store,
            alerts,
            checks: Arc::new(checks),
            config: Arc::new(config),
            ui_url: Arc::new(format!("{}/#/reports", external_url.trim_end_matches('/'))),
            name: Arc::new(name.to_owned()),
        }
    }

    /// The report of `from..to`, named after `period` (`weekly`, `custom`...).
    pub(crate) async fn build(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        period: String,
        source: Option<String>,
    ) -> Result<ReportAnswer, ApiError> {
        let cut = Period::new(from, to);
        let sections = self.sections(&cut, source.as_deref()).await?;
        let kind = match period.as_str() {
            "daily" => "Daily report".to_owned(),
            "weekly" => "Weekly report".to_owned(),
            _ => "Report".to_owned(),
        };
        let last = to - TimeDelta::seconds(1);
        let dates = if from.date_naive() == last.date_naive() {
            from.format("%-d %b %Y").to_string()
        } else {
            format!("{} – {}", from.format("%-d %b"), last.format("%-d %b %Y"))
        };
        Ok(ReportAnswer {
            title: format!("{}: {kind}, {dates}", self.name),
            period,
            from,
            to,
            generated_at: Utc::now(),
            source,
            sections,
        })
    }

    async fn kept(&self) -> Option<Kept> {
        let store = self.store.clone();
        let rows = tokio::task::spawn_blocking(move || store.kept_states_blocking(KEPT_KIND))
            .await
            .ok()?
            .inspect_err(
                |e| tracing::warn!(error = %e, "the reports' kept state could not be read"),
            )
            .ok()?;
        let row = rows.into_iter().find(|r| r.name == KEPT_NAME)?;
        serde_json::from_value(row.body).ok()
    }

    fn kept_row(kept: &Kept) -> KeptState {
        KeptState {
            kind: KEPT_KIND.to_owned(),
            name: KEPT_NAME.to_owned(),
            body: serde_json::to_value(kept).unwrap_or_default(),
            at: Utc::now(),
        }
    }

    /// Reports every period of `schedule` that ended (plus `delay`) by `now` and was not
    /// reported yet, oldest first.
    async fn send_due(&self, schedule: ReportSchedule, now: DateTime<Utc>) -> Result<(), String> {
        let delay = TimeDelta::from_std(self.config.delay).unwrap_or(TimeDelta::zero());
        let latest = schedule.boundary_at_or_before(now - delay);
        let Some(kept) = self.kept().await else {
            // First start: nothing was reported; the period under way is the first.
            let kept = Kept {
                last_end: latest,
                report: None,
            };
            return self
                .store
                .write(WriteBatch::from_kept(vec![Self::kept_row(&kept)]))
                .await
                .map_err(|e| e.to_string());
        };
        let (periods, skipped) = due(schedule, kept.last_end, latest);
        if let Some(skipped_to) = skipped {
            tracing::warn!(
                skipped_from = %kept.last_end,
                %skipped_to,
                "reports of periods missed while the server was down are skipped: the latest {MAX_CATCH_UP} are sent"
            );
        }
        for (from, end) in periods {
            let report = self
                .build(from, end, schedule.name(), None)
                .await
                .map_err(|e| e.message().to_owned())?;
            let message = mail::message(&report, &self.ui_url);
            let key = format!("report:{}-{}", from.timestamp(), end.timestamp());
            let kept = Kept {
                last_end: end,
                report: Some(report),
            };
            self.alerts
                .send_message(
                    &self.config.channels,
                    message,
                    &key,
                    vec![Self::kept_row(&kept)],
                )
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(from = %from, to = %end, channels = ?self.config.channels, "report queued");
        }
        Ok(())
    }

    /// The scheduled reports until `stop`: checks what is due every few seconds (a
    /// tenth of the period, between one second and a minute).
    pub(crate) async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let Some(schedule) = self.config.schedule else {
            return;
        };
        let tick = (schedule.length().to_std().unwrap_or_default() / 10)
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.send_due(schedule, Utc::now()).await {
                tracing::error!(error = %e, "the scheduled report could not be made; trying again");
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(tick) => {}
            }
        }
    }
}

/// The routes (read role, behind the token layer).
pub(crate) fn router(reports: Reports) -> Router {
    Router::new()
        .route("/api/v1/reports", get(on_request))
        .route("/api/v1/reports/latest", get(latest))
        .with_state(reports)
}

/// `GET /api/v1/reports/latest`.
async fn latest(State(reports): State<Reports>) -> Result<Json<ReportAnswer>, ApiError> {
    if let Some(report) = reports.kept().await.and_then(|k| k.report) {
        return Ok(Json(report));
    }
    Err(ApiError::not_found(match reports.config.schedule {
        None => "no report is scheduled (set reports.schedule); GET /api/v1/reports?since=7d makes one now".to_owned(),
        Some(s) => format!(
            "no {s} report has been made yet: the first covers the first whole period after the server started; GET /api/v1/reports?since=7d makes one now"
        ),
    }))
}

/// `?since=` (default 7 days ago) and `?to=` (default now): RFC 3339 or a duration ago;
/// `?source=` (an ingest source label).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    since: Option<String>,
    to: Option<String>,
    source: Option<String>,
}

/// `GET /api/v1/reports`.
async fn on_request(
    State(reports): State<Reports>,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ReportAnswer>, ApiError> {
    let q = query(q)?;
    let now = Utc::now();
    let from = parse_time("since", q.since.as_deref().unwrap_or(DEFAULT_SINCE), now)?;
    let to = match &q.to {
        Some(to) => parse_time("to", to, now)?,
        None => now,
    };
    if to <= from {
        return Err(ApiError::bad_request(format!(
            "the period ends ({to}) before it starts ({from})"
        )));
    }
    if to - from > TimeDelta::days(MAX_PERIOD_DAYS) {
        return Err(ApiError::bad_request(format!(
            "the period is longer than {MAX_PERIOD_DAYS} days: choose a shorter one"
        )));
    }
    if q.source.as_ref().is_some_and(|s| s.trim().is_empty()) {
        return Err(ApiError::bad_request(
            "source= is empty: give a source label or leave it out",
        ));
    }
    reports
        .build(from, to, "custom".to_owned(), q.source)
        .await
        .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn due_periods_follow_on_catch_up_and_realign() {
        let daily = ReportSchedule::Daily;
        // Nothing new within the period.
        let (none, _) = due(
            daily,
            at("2026-12-02T00:00:00Z"),
            at("2026-12-02T00:00:00Z"),
        );
        assert!(none.is_empty());
        // Two days down: both reported, in order.
        let (two, skipped) = due(
            daily,
            at("2026-11-30T00:00:00Z"),
            at("2026-12-02T00:00:00Z"),
        );
        assert_eq!(
            two,
            vec![
                (at("2026-11-30T00:00:00Z"), at("2026-12-01T00:00:00Z")),
                (at("2026-12-01T00:00:00Z"), at("2026-12-02T00:00:00Z")),
            ]
        );
        assert_eq!(skipped, None);
        // A month down: the latest seven only.
        let (seven, skipped) = due(
            daily,
            at("2026-11-01T00:00:00Z"),
            at("2026-12-02T00:00:00Z"),
        );
        assert_eq!(seven.len(), 7);
        assert_eq!(seven[0].0, at("2026-11-25T00:00:00Z"));
        assert_eq!(skipped, Some(at("2026-11-25T00:00:00Z")));
        // From every 5s to every 7s: the first period runs to the next 7s boundary.
        let seven_s = ReportSchedule::Every(Duration::from_secs(7));
        let last = DateTime::from_timestamp(1_800_000_005, 0).unwrap();
        let latest = seven_s.boundary_at_or_before(last + TimeDelta::seconds(20));
        let (realigned, _) = due(seven_s, last, latest);
        assert_eq!(realigned[0].0, last);
        assert_eq!(realigned[0].1.timestamp() % 7, 0);
        for pair in realigned.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
            assert_eq!((pair[1].1 - pair[1].0).num_seconds(), 7);
        }
    }
}
