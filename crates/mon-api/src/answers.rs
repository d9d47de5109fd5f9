//! Typed answers and request bodies of the API. The server builds them; the CLI reads them. Each keeps the
//! JSON's field names; a reader ignores fields it does not know, so the server may add some.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// `GET /api/v1/status`: the server at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusAnswer {
    /// The overall status: `healthy`, `degraded`, `unhealthy` or `unknown`.
    pub status: String,
    /// When the summary was made.
    pub timestamp: DateTime<Utc>,
    /// The server's version.
    pub version: String,
    /// When the server started.
    pub started_at: DateTime<Utc>,
    /// Seconds since `started_at`.
    pub uptime_seconds: i64,
    /// How many checks are healthy.
    pub checks: CheckCounts,
    /// How many alerts fire.
    pub alerts: AlertCounts,
    /// The store's write queue.
    pub store: StoreState,
    /// Each exporter's state, by name.
    #[schema(value_type = Object)]
    pub exporters: serde_json::Value,
    /// The rule variables now, by name.
    #[schema(value_type = Object)]
    pub snapshot: serde_json::Value,
}

/// The `checks` counts of a [`StatusAnswer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckCounts {
    /// How many checks are healthy.
    pub healthy: usize,
    /// How many checks there are.
    pub total: usize,
    /// `healthy / total * 100`, one decimal; 100 without checks.
    pub health_percentage: f64,
}

/// The `alerts` counts of a [`StatusAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AlertCounts {
    /// How many alerts are active (firing or acknowledged).
    pub active: usize,
}

/// The `store` part of a [`StatusAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoreState {
    /// Write batches waiting for the store's writer.
    pub queue_depth: usize,
}

/// One check as the API shows it (`/api/v1/checks`, `/api/v1/checks/{name}`,
/// `/health/detailed`, `/health/checks/{name}`, heartbeat pings). The answers carry more
/// fields (`observed_status`, `depends_on`, `details`...); these are the ones clients read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckView {
    /// The check's unique name.
    pub name: String,
    /// The check kind (`http`, `system`...).
    pub kind: String,
    /// Whether the check failing makes the system unhealthy.
    pub critical: bool,
    /// The reported status, `unknown` until the check has run.
    pub status: String,
    /// How long the latest run took, in milliseconds.
    pub latency_ms: Option<f64>,
    /// What the latest run observed.
    pub message: Option<String>,
    /// When the latest run finished.
    pub observed_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/checks`: every check, ordered by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChecksAnswer {
    /// The checks.
    pub checks: Vec<CheckView>,
}

/// One stored result of a check (`GET /api/v1/checks/{name}/results`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResultView {
    /// The status of that run.
    pub status: String,
    /// How long the run took, in milliseconds.
    pub latency_ms: Option<f64>,
    /// What the run observed.
    #[serde(default)]
    pub message: String,
    /// When the run finished.
    pub observed_at: DateTime<Utc>,
}

/// `GET /api/v1/checks/{name}/results`: the newest results first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckResultsAnswer {
    /// The check's name.
    pub check: String,
    /// How many results follow.
    pub count: usize,
    /// The results, newest first.
    pub results: Vec<ResultView>,
}

/// `GET /api/v1/auth/whoami`: the role of the presented token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WhoamiAnswer {
    /// `read`, `ingest` or `admin`; `null` without a token.
    pub role: Option<String>,
    /// Whether reads need no token.
    pub reads_open: bool,
}

/// The optional body of `POST /api/v1/alerts/{id}/ack` and `.../resolve`: who acts
/// (default `api`) and what they said. Other fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActorBody {
    /// Who acts.
    pub by: Option<String>,
    /// Why.
    pub comment: Option<String>,
}

/// One alert (`/api/v1/alerts`, `POST .../ack`, `.../resolve`): a rule firing for one set
/// of labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    /// Unique id of this instance.
    pub id: String,
    /// Stable hash of rule and labels.
    pub fingerprint: String,
    /// The rule's name.
    pub rule: String,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: String,
    /// `pending`, `firing`, `acknowledged` or `resolved`.
    pub state: String,
    /// Identifying labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Descriptive text: `summary`, `description`, `runbook_url`...
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The value that crossed the threshold, when there is one.
    pub value: Option<f64>,
    /// When the condition was first seen.
    pub started_at: DateTime<Utc>,
    /// When the alert last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Whether a silence mutes its notifications.
    #[serde(default)]
    pub silenced: bool,
}

impl From<mon_core::Alert> for AlertView {
    fn from(a: mon_core::Alert) -> Self {
        AlertView {
            id: a.id,
            fingerprint: a.fingerprint,
            rule: a.rule,
            severity: a.severity.as_str().to_string(),
            state: a.state.as_str().to_string(),
            labels: a.labels,
            annotations: a.annotations,
            value: a.value,
            started_at: a.started_at,
            updated_at: a.updated_at,
            resolved_at: a.resolved_at,
            acknowledged_by: a.acknowledged_by,
            silenced: a.silenced,
        }
    }
}

/// `GET /api/v1/alerts`: the alerts asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertsAnswer {
    /// The alerts.
    pub alerts: Vec<AlertView>,
}

/// One transition in an alert's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AlertEventView {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened (`firing`, `acknowledged`, `resolved`...).
    pub kind: String,
    /// Who or what did it, or why.
    pub detail: String,
}

/// `GET /api/v1/alerts/{id}`: the alert and its history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertAnswer {
    /// The alert's fields.
    #[serde(flatten)]
    pub alert: AlertView,
    /// Its transitions, oldest first.
    pub history: Vec<AlertEventView>,
}

/// One condition of a silence: label `name` (or `alertname`, `severity`) equals `value`
/// (`isEqual`, the default) or differs from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MatcherView {
    /// A label name, `alertname` or `severity`.
    pub name: String,
    /// The value compared with.
    pub value: String,
    /// `true`: must be equal; `false`: must differ.
    #[serde(rename = "isEqual", alias = "equal", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

/// One silence (`GET /api/v1/silences`, `POST /api/v1/silences`, `DELETE .../{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SilenceView {
    /// Its id.
    pub id: String,
    /// What it mutes.
    pub matchers: Vec<MatcherView>,
    /// From when.
    pub starts_at: DateTime<Utc>,
    /// Until when.
    pub ends_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
    /// Whether it is in effect now.
    pub active: bool,
}

/// `GET /api/v1/silences`: every silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SilencesAnswer {
    /// The silences.
    pub silences: Vec<SilenceView>,
}

/// The body of `POST /api/v1/silences`: what to mute, from when (default now), until when
/// (`ends_at`, or `duration` from `starts_at` such as `2h`: exactly one of the two), who
/// silences and why. Other fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    /// What it mutes: at least one matcher.
    pub matchers: Vec<MatcherBody>,
    /// From when (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// Until when; or give `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// How long from `starts_at` (`2h`); or give `ends_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Who silences (not blank).
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

/// One matcher of a [`SilenceBody`]: a [`MatcherView`] as a request writes it, other
/// fields refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatcherBody {
    /// A label name, `alertname` or `severity`.
    pub name: String,
    /// The value compared with.
    pub value: String,
    /// `true` (the default): must be equal; `false`: must differ.
    #[serde(rename = "isEqual", alias = "equal", default = "yes")]
    pub is_equal: bool,
}

/// `GET /api/v1/alerts/stats`: open alerts by state and severity, and how fast alerts that
/// fired since `since` were handled. Fields in the order the answer writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertStatsAnswer {
    /// Alerts acknowledged (fired since `since`).
    pub acknowledged: u64,
    /// Open (firing or acknowledged) alerts by severity.
    pub by_severity: BTreeMap<String, usize>,
    /// Open alerts by state.
    pub by_state: BTreeMap<String, usize>,
    /// Mean seconds from firing to acknowledgement; `null` without any.
    pub mean_time_to_acknowledge_seconds: Option<f64>,
    /// Mean seconds from firing to resolution; `null` without any.
    pub mean_time_to_resolve_seconds: Option<f64>,
    /// Alerts resolved after firing (fired since `since`).
    pub resolved: u64,
}

/// One active alert in `GET /health/alerts`. Fields in the order the answer writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthAlertView {
    /// The `check` label, else the `service` label.
    pub component: Option<String>,
    /// When the condition was first seen.
    pub created_at: DateTime<Utc>,
    /// The alert's id.
    pub id: String,
    /// Identifying labels.
    pub labels: BTreeMap<String, String>,
    /// The `summary` annotation, else `description`, else the rule's name.
    pub message: String,
    /// The rule's name.
    pub name: String,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: String,
    /// `firing` or `acknowledged`.
    pub state: String,
    /// Always `active`.
    pub status: String,
    /// When the alert last changed.
    pub updated_at: DateTime<Utc>,
    /// The value that crossed the threshold, when there is one.
    pub value: Option<f64>,
}

/// The `summary` of a [`HealthAlertsAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthAlertsSummary {
    /// Active alerts by severity, every severity listed.
    pub active_by_severity: BTreeMap<String, usize>,
    /// Active (firing or acknowledged) alerts.
    pub total_active: usize,
    /// Alerts resolved after firing, from the stored history.
    pub total_resolved: u64,
}

/// `GET /health/alerts`: the active alerts, most severe first, and a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthAlertsAnswer {
    /// The active alerts.
    pub alerts: Vec<HealthAlertView>,
    /// Counts.
    pub summary: HealthAlertsSummary,
}

/// One rule in `GET /api/v1/rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleView {
    /// The rule's name.
    pub name: String,
    /// Its expression (`(code)` for rules written in code).
    pub expr: String,
    /// The severity of its alerts.
    pub severity: String,
    /// How long the condition must hold before firing (`5m`).
    #[serde(rename = "for")]
    pub for_duration: String,
    /// Whether it is evaluated.
    pub enabled: bool,
    /// `ok`, `pending`, `firing`, `no_data` or `error`.
    pub state: String,
    /// The value seen at the last evaluation.
    pub last_value: Option<f64>,
    /// When it was last evaluated.
    pub last_evaluated: Option<DateTime<Utc>>,
    /// Why the last evaluation failed.
    pub error: Option<String>,
}

/// `GET /api/v1/rules`: every rule with its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RulesAnswer {
    /// The rules.
    pub rules: Vec<RuleView>,
}

/// `POST /api/v1/channels/{name}/test`: the channel delivered the test notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelTestAnswer {
    /// The channel's name.
    pub channel: String,
    /// Always `true` (a failure answers an error).
    pub ok: bool,
}

/// One channel in `GET /api/v1/channels`: its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelView {
    /// The channel's name.
    pub name: String,
    /// Its kind (`webhook`, `slack`...).
    pub kind: String,
    /// When a notification was last delivered.
    pub last_success: Option<DateTime<Utc>>,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When the last failure happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Notifications waiting.
    pub queued: usize,
    /// Delivered since start.
    pub delivered: u64,
    /// Given up on since start.
    pub failed: u64,
}

/// `GET /api/v1/channels`: every channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelsAnswer {
    /// The channels.
    pub channels: Vec<ChannelView>,
}

/// A group of tracked errors sharing a fingerprint (`GET /api/v1/errors/{fingerprint}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorGroupView {
    /// The fingerprint.
    pub fingerprint: String,
    /// The error kind.
    pub kind: String,
    /// The normalised message.
    pub message: String,
    /// Where it happens.
    pub location: String,
    /// Occurrences counted.
    pub count: u64,
    /// The first occurrence.
    pub first_seen: DateTime<Utc>,
    /// The latest occurrence.
    pub last_seen: DateTime<Utc>,
    /// Sample contexts, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub samples: Vec<serde_json::Value>,
}

/// `GET /api/v1/errors`: error groups, most recent first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorsAnswer {
    /// How many groups follow.
    pub count: usize,
    /// The groups.
    pub errors: Vec<ErrorGroupView>,
}

/// One stored log record (`GET /api/v1/logs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogView {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The logger (target) or the application that sent it.
    pub logger: String,
    /// The message.
    pub message: String,
    /// The call it belongs to.
    pub call_id: Option<String>,
    /// `mon` (the server's own logs) or `ingest`.
    pub source: String,
    /// The other fields and context ids.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
}

/// `GET /api/v1/logs`: the matching records, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogsAnswer {
    /// How many records follow.
    pub count: usize,
    /// The records.
    pub logs: Vec<LogView>,
}

/// A stored series: a name and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SeriesView {
    /// The metric name.
    pub name: String,
    /// The series labels.
    pub labels: BTreeMap<String, String>,
}

/// `GET /api/v1/metrics`: every stored series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SeriesListAnswer {
    /// How many series follow.
    pub count: usize,
    /// The series.
    pub series: Vec<SeriesView>,
}

/// One point of a queried series: the aggregate of a bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PointView {
    /// The bucket's start.
    pub ts: DateTime<Utc>,
    /// The mean.
    pub avg: Option<f64>,
    /// The least value.
    pub min: Option<f64>,
    /// The greatest value.
    pub max: Option<f64>,
    /// How many samples.
    pub count: u64,
    /// Their sum.
    pub sum: Option<f64>,
}

/// One series of a query answer, its points oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesPointsView {
    /// The metric name.
    pub name: String,
    /// The series labels.
    pub labels: BTreeMap<String, String>,
    /// The resolution read (`raw`, `1m`, `1h`).
    pub resolution: String,
    /// The points, oldest first.
    pub points: Vec<PointView>,
}

/// `GET /api/v1/metrics/query`: the points of the series of a name over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesQueryAnswer {
    /// The metric name asked for.
    pub name: String,
    /// The range's start.
    pub from: DateTime<Utc>,
    /// The range's end.
    pub to: DateTime<Utc>,
    /// Each matching series.
    pub series: Vec<SeriesPointsView>,
}

/// `POST /api/v1/events`: what was kept of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventsAnswer {
    /// Events kept.
    pub accepted: usize,
    /// Events dropped.
    pub dropped: usize,
    /// Dropped events by reason (`series_limit`).
    pub dropped_reasons: BTreeMap<String, usize>,
}
