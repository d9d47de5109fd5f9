//! Alerts raised from outside the rules over HTTP: `POST /api/v1/alerts` (an
//! application's alert, [`RaiseAlertBody`]) and `POST /api/v2/alerts` (Alertmanager's
//! API, a JSON array of [`PostableAlert`]s, so Prometheus and other Alertmanager clients
//! send to mon), both read into [`RaisedAlert`]s for [`AlertEngine::raise`](crate::AlertEngine::raise).

use super::AlertsState;
use crate::RaisedAlert;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Utc};
use mon_api::answers::{AlertView, PostableAlert, RaiseAlertAnswer, RaiseAlertBody};
use mon_core::Severity;
use mon_http::params::parse_duration;
use mon_http::{ApiError, Json, TokenName};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long an Alertmanager alert without `endsAt` stays open unless it is posted
/// again: Alertmanager's default `resolve_timeout`.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Who posted: the token's name, `unknown` behind no token layer.
fn principal(token: Option<Extension<TokenName>>) -> String {
    super::token_name(token).unwrap_or_else(|| "unknown".to_string())
}

/// `POST /api/v1/alerts`: raises (or resolves) one alert; answers what it did.
pub(super) async fn raise(
    State(state): State<AlertsState>,
    token: Option<Extension<TokenName>>,
    Json(body): Json<RaiseAlertBody>,
) -> Result<Json<RaiseAlertAnswer>, ApiError> {
    let raised = from_body(body, format!("api:{}", principal(token)), Utc::now())?;
    let outcome = state.alerts.raise(vec![raised]).await?.pop();
    let (outcome, alert) =
        outcome.ok_or_else(|| ApiError::bad_request("the alert was not raised"))?;
    Ok(Json(RaiseAlertAnswer {
        outcome: outcome.as_str().to_string(),
        alert: alert.map(AlertView::from),
    }))
}

/// `POST /api/v2/alerts`, as Alertmanager answers it: 200 with no body once every alert
/// is taken; 400 naming each invalid alert by its index (the valid ones are taken).
pub(super) async fn raise_alertmanager(
    State(state): State<AlertsState>,
    token: Option<Extension<TokenName>>,
    Json(alerts): Json<Vec<PostableAlert>>,
) -> Result<StatusCode, ApiError> {
    let source = format!("alertmanager:{}", principal(token));
    let now = Utc::now();
    let mut raised = Vec::with_capacity(alerts.len());
    let mut invalid = Vec::new();
    for (i, alert) in alerts.into_iter().enumerate() {
        match from_postable(alert, &source, now) {
            Ok(alert) => raised.push(alert),
            Err(e) => invalid.push(format!("[{i}].{e}")),
        }
    }
    if !raised.is_empty() {
        state.alerts.raise(raised).await?;
    }
    if !invalid.is_empty() {
        return Err(ApiError::bad_request(invalid.join("; ")));
    }
    Ok(StatusCode::OK)
}

/// An application's alert, checked field by field (the error names the field).
fn from_body(
    body: RaiseAlertBody,
    source: String,
    now: DateTime<Utc>,
) -> Result<RaisedAlert, ApiError> {
    let bad = |message: String| ApiError::bad_request(message);
    if body.title.trim().is_empty() {
        return Err(bad("title: must not be blank".into()));
    }
    let resolved = match body.status.as_deref() {
        None | Some("firing") => false,
        Some("resolved") => true,
        Some(other) => {
            return Err(bad(format!(
                "status: {other:?} is not one of firing, resolved"
            )));
        }
    };
    let severity = match body.severity.as_deref() {
        Some(text) => Severity::parse(text).ok_or_else(|| {
            bad(format!(
                "severity: {text:?} is not one of info, warning, error, critical (or low, medium, high)"
            ))
        })?,
        None if resolved => Severity::Warning,
        None => {
            return Err(bad(
                "severity: required for a firing alert (info, warning, error or critical)".into(),
            ));
        }
    };
    let message = body.message.filter(|m| !m.trim().is_empty());
    if message.is_none() && !resolved {
        return Err(bad(
            "message: required for a firing alert, and not blank".into()
        ));
    }
    check_labels(&body.labels).map_err(bad)?;
    let mut annotations = BTreeMap::new();
    if let Some(metric) = body.metric {
        mon_core::check_metric_name(&metric).map_err(|e| bad(format!("metric: {e}")))?;
        annotations.insert("metric".to_string(), metric);
    }
    if let Some(threshold) = body.threshold {
        annotations.insert("threshold".to_string(), threshold.to_string());
    }
    if let Some(runbook) = body.runbook.filter(|r| !r.trim().is_empty()) {
        annotations.insert("runbook_url".to_string(), runbook);
    }
    if let Some(message) = message {
        annotations.insert("summary".to_string(), message);
    }
    let resolve_at = match body.resolve_after.as_deref() {
        Some(text) => {
            let after = parse_duration("resolve_after", text)?;
            if after.is_zero() {
                return Err(bad(format!(
                    "resolve_after={text:?}: must be longer than 0s"
                )));
            }
            Some(
                mon_core::duration::after(now, after)
                    .map_err(|e| bad(format!("resolve_after={text:?}: {e}")))?,
            )
        }
        None => None,
    };
    let mut alert = RaisedAlert::firing(body.title.trim(), severity, body.labels, source);
    alert.annotations = annotations;
    alert.value = body.value;
    alert.resolved = resolved;
    alert.resolve_at = resolve_at;
    Ok(alert)
}

/// An Alertmanager alert with Alertmanager's semantics: `alertname` is the title,
/// `severity` the severity (`warning` when absent or unknown); `endsAt` in the past
/// resolves, in the future is when it resolves unless posted again, absent is
/// [`RESOLVE_TIMEOUT`] from now. The error names the field.
fn from_postable(
    alert: PostableAlert,
    source: &str,
    now: DateTime<Utc>,
) -> Result<RaisedAlert, String> {
    let mut labels = alert.labels;
    if labels.is_empty() {
        return Err("labels: at least one label is needed, alertname among them".into());
    }
    check_labels(&labels)?;
    let title = match labels.remove("alertname") {
        Some(name) if !name.trim().is_empty() => name,
        _ => return Err("labels.alertname: required (mon names the alert by it)".into()),
    };
    let severity = labels
        .get("severity")
        .and_then(|s| Severity::parse(s))
        .unwrap_or(Severity::Warning);
    // Go's zero time (year 1) is how Alertmanager clients say "not set".
    let set = |t: Option<DateTime<Utc>>| t.filter(|t| t.year() > 1);
    let (starts_at, ends_at) = (set(alert.starts_at), set(alert.ends_at));
    if let (Some(start), Some(end)) = (starts_at, ends_at)
        && start > end
    {
        return Err(format!(
            "startsAt: {} is after endsAt {}; the start must come first",
            start.to_rfc3339(),
            end.to_rfc3339()
        ));
    }
    let mut annotations = alert.annotations;
    if let Some(url) = alert.generator_url.filter(|u| !u.is_empty()) {
        annotations.insert("generator_url".to_string(), url);
    }
    let mut raised = RaisedAlert::firing(title, severity, labels, source);
    raised.annotations = annotations;
    match ends_at {
        Some(end) if end <= now => raised.resolved = true,
        Some(end) => raised.resolve_at = Some(end),
        None => {
            raised.resolve_at = Some(
                mon_core::duration::after(now, RESOLVE_TIMEOUT)
                    .map_err(|e| format!("endsAt: {e}"))?,
            );
        }
    }
    Ok(raised)
}

/// Every label name is valid as Alertmanager validates alerts' labels
/// (`[a-zA-Z_][a-zA-Z0-9_]*`; `job` and `instance` are fine here, unlike in mon's own
/// metric families); the error names the first that is not.
fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), String> {
    for name in labels.keys() {
        let mut chars = name.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "labels.{name}: a label name must match [a-zA-Z_][a-zA-Z0-9_]*"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn postable(labels: &[(&str, &str)]) -> PostableAlert {
        PostableAlert {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..PostableAlert::default()
        }
    }

    #[test]
    fn an_alertmanager_alert_reads_with_alertmanagers_semantics() {
        let now = Utc::now();
        let mut alert = postable(&[("alertname", "Up"), ("severity", "page"), ("job", "x")]);
        alert.generator_url = Some("http://prom/graph".into());
        let raised = from_postable(alert.clone(), "alertmanager:p", now).expect("valid");
        assert_eq!(raised.title, "Up");
        assert_eq!(raised.severity, Severity::Warning, "unknown severity");
        assert!(!raised.labels.contains_key("alertname"));
        assert_eq!(raised.labels["severity"], "page");
        assert_eq!(raised.annotations["generator_url"], "http://prom/graph");
        assert_eq!(raised.resolve_at, Some(now + TimeDelta::seconds(300)));
        assert!(!raised.resolved);

        alert.labels.insert("severity".into(), "critical".into());
        alert.ends_at = Some(now - TimeDelta::seconds(1));
        let raised = from_postable(alert.clone(), "s", now).expect("valid");
        assert!(raised.resolved, "endsAt in the past resolves");
        assert_eq!(raised.severity, Severity::Critical);

        alert.ends_at = Some(now + TimeDelta::seconds(40));
        let raised = from_postable(alert.clone(), "s", now).expect("valid");
        assert_eq!(raised.resolve_at, Some(now + TimeDelta::seconds(40)));

        // Go's zero time is "not set".
        alert.ends_at = DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
            .ok()
            .map(|t| t.with_timezone(&Utc));
        let raised = from_postable(alert, "s", now).expect("valid");
        assert_eq!(raised.resolve_at, Some(now + TimeDelta::seconds(300)));
    }

    #[test]
    fn a_bad_alertmanager_alert_names_its_field() {
        let now = Utc::now();
        let mut backwards = postable(&[("alertname", "A")]);
        backwards.starts_at = Some(now);
        backwards.ends_at = Some(now - TimeDelta::seconds(5));
        for (alert, want) in [
            (postable(&[]), "labels: at least one label"),
            (postable(&[("job", "x")]), "labels.alertname: required"),
            (
                postable(&[("alertname", " ")]),
                "labels.alertname: required",
            ),
            (
                postable(&[("alertname", "A"), ("bad-name", "x")]),
                "labels.bad-name:",
            ),
            (backwards, "startsAt:"),
        ] {
            let error = from_postable(alert, "s", now).expect_err(want);
            assert!(
                error.starts_with(want),
                "{error:?} should start with {want:?}"
            );
        }
    }

    fn body(title: &str) -> RaiseAlertBody {
        RaiseAlertBody {
            title: title.to_string(),
            severity: Some("critical".into()),
            message: Some("TTS is down".into()),
            ..RaiseAlertBody::default()
        }
    }

    #[test]
    fn an_application_alert_maps_its_fields_to_annotations() {
        let now = Utc::now();
        let mut b = body("TTS down");
        b.metric = Some("tts_errors_total".into());
        b.threshold = Some(5.0);
        b.value = Some(7.5);
        b.runbook = Some("https://runbooks/tts".into());
        b.resolve_after = Some("10m".into());
        let raised = from_body(b, "api:agent".into(), now).expect("valid");
        assert_eq!(raised.annotations["summary"], "TTS is down");
        assert_eq!(raised.annotations["metric"], "tts_errors_total");
        assert_eq!(raised.annotations["threshold"], "5");
        assert_eq!(raised.annotations["runbook_url"], "https://runbooks/tts");
        assert_eq!(raised.value, Some(7.5));
        assert_eq!(raised.resolve_at, Some(now + TimeDelta::minutes(10)));
        assert_eq!(raised.source, "api:agent");

        let mut resolve = body("TTS down");
        resolve.severity = None;
        resolve.message = None;
        resolve.status = Some("resolved".into());
        assert!(from_body(resolve, "s".into(), now).expect("valid").resolved);
    }

    #[test]
    fn a_bad_application_alert_names_its_field() {
        let now = Utc::now();
        let case = |change: fn(&mut RaiseAlertBody)| {
            let mut b = body("T");
            change(&mut b);
            from_body(b, "s".into(), now)
                .expect_err("invalid")
                .message()
                .to_string()
        };
        for (message, want) in [
            (case(|b| b.title = "  ".into()), "title:"),
            (case(|b| b.severity = None), "severity: required"),
            (
                case(|b| b.severity = Some("urgent".into())),
                "severity: \"urgent\"",
            ),
            (case(|b| b.message = None), "message: required"),
            (case(|b| b.status = Some("open".into())), "status: \"open\""),
            (
                case(|b| {
                    b.labels.insert("9x".into(), "v".into());
                }),
                "labels.9x:",
            ),
            (case(|b| b.metric = Some("a b".into())), "metric:"),
            (
                case(|b| b.resolve_after = Some("soon".into())),
                "resolve_after=\"soon\"",
            ),
            (
                case(|b| b.resolve_after = Some("0s".into())),
                "resolve_after=\"0s\"",
            ),
        ] {
            assert!(
                message.starts_with(want),
                "{message:?} should start with {want:?}"
            );
        }
    }
}
