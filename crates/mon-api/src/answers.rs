//! Typed answers and request bodies of the API. The server builds them; the CLI reads them. Each keeps the
//! JSON's field names; a reader ignores fields it does not know, so the server may add some.

use chrono::{DateTime, Utc};
use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
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
/// (default: the name of the token that posts it) and what they said. Other fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct ActorBody {
    /// Who acts (default: the name of the token that posts it).
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
    /// `rule` for a rule's alert; who raised it otherwise: `api:<token name>`
    /// (`POST /api/v1/alerts`) or `alertmanager:<token name>` (`POST /api/v2/alerts`).
    #[serde(default = "rule_source")]
    pub source: String,
}

fn rule_source() -> String {
    "rule".to_string()
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
            source: a.source.unwrap_or_else(rule_source),
        }
    }
}

/// The body of `POST /api/v1/alerts`: an alert an application raises, or resolves.
/// Title and labels identify it: a repeat post of the same title and labels is the same
/// alert (refreshed, not notified again). Other fields are refused.
#[derive(Debug, Clone, Default, PartialEq, ToSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct RaiseAlertBody {
    /// `info`, `warning`, `error` or `critical` (`low`, `medium`, `high` accepted);
    /// required unless `status` is `resolved`.
    #[serde(default)]
    pub severity: Option<String>,
    /// What it is about (the alert's `rule` in answers), e.g. `TTS provider down`.
    #[schema(pattern = "\\S")]
    pub title: String,
    /// What happened (the `summary` annotation); required unless `status` is `resolved`.
    #[serde(default)]
    pub message: Option<String>,
    /// Identifying labels (Prometheus label names), e.g. `{"service": "agent"}`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The metric the value is of (the `metric` annotation).
    #[serde(default)]
    pub metric: Option<String>,
    /// The value observed.
    #[serde(default)]
    pub value: Option<f64>,
    /// The threshold it crossed (the `threshold` annotation).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// A link to what to do (the `runbook_url` annotation).
    #[serde(default)]
    pub runbook: Option<String>,
    /// `firing` (the default) or `resolved`.
    #[serde(default)]
    pub status: Option<String>,
    /// A duration (`30s`, `10m`, `1h`): the alert resolves unless it is posted again
    /// within it. Without it, it stays open until resolved.
    #[serde(default)]
    pub resolve_after: Option<String>,
}

/// `POST /api/v1/alerts`: what the post did and the alert after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RaiseAlertAnswer {
    /// `opened` (a new alert fires), `refreshed` (it was open: text, value and
    /// `resolve_after` updated, nothing notified), `resolved`, or `not_open` (a resolve
    /// for an alert that is not open).
    pub outcome: String,
    /// The alert after the post; `null` for `not_open`.
    pub alert: Option<AlertView>,
}

/// One alert of `POST /api/v2/alerts`, Alertmanager's `postableAlert`: what Prometheus,
/// Grafana and other Alertmanager clients send.
#[derive(Debug, Clone, Default, PartialEq, ToSchema, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct PostableAlert {
    /// Identifying labels; `alertname` is the alert's title and `severity` its severity.
    pub labels: BTreeMap<String, String>,
    /// Descriptive text: `summary`, `description`, `runbook_url`...
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started (informative: mon starts the alert when it first hears it).
    #[serde(default, rename = "startsAt")]
    pub starts_at: Option<DateTime<Utc>>,
    /// When it ends: in the past, the alert is resolved; in the future, it resolves
    /// then unless posted again; absent, it resolves 5 minutes after the post
    /// (Alertmanager's default `resolve_timeout`) unless posted again.
    #[serde(default, rename = "endsAt")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Where it comes from (the `generator_url` annotation).
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
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

/// `GET /api/v1/alerts/{id}`: the alert, its history (transitions, oldest first), the
/// notifications sent about it and, for a rule's alert, what the rule reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertAnswer {
    /// The alert's fields.
    #[serde(flatten)]
    pub alert: AlertView,
    /// Its transitions, oldest first.
    pub history: Vec<AlertEventView>,
    /// The notifications queued about it, oldest first, with their delivery result.
    #[serde(default)]
    pub notifications: Vec<AlertNotificationView>,
    /// The rule's expression, for a rule's alert whose rule is still configured.
    #[serde(default)]
    pub expr: Option<String>,
    /// The catalog variable the rule reads (the first one it reads): the metric to chart
    /// around the alert with `GET /api/v1/metrics/query?name=`.
    #[serde(default)]
    pub variable: Option<String>,
    /// The unit of `variable` and of the alert's value (`percent`, `milliseconds`...).
    #[serde(default)]
    pub unit: Option<String>,
}

/// One notification about an alert (`GET /api/v1/alerts/{id}`): which channel, why, and
/// how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AlertNotificationView {
    /// The channel's name.
    pub channel: String,
    /// Why it was sent: `firing`, `reminder`, `acknowledged`, `resolved`.
    pub transition: String,
    /// `pending` (will be tried again), `delivered` or `failed` (given up).
    pub state: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When its state last changed.
    pub updated_at: DateTime<Utc>,
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
#[serde(deny_unknown_fields, remote = "Self")]
pub struct SilenceBody {
    /// What it mutes: at least one matcher.
    #[schema(min_items = 1)]
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
    /// Who silences (not blank); default: the name of the token that posts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "\\S")]
    pub created_by: Option<String>,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

/// One matcher of a [`SilenceBody`]: a [`MatcherView`] as a request writes it, other
/// fields refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct MatcherBody {
    /// A label name, `alertname` or `severity`.
    pub name: String,
    /// The value compared with.
    pub value: String,
    /// `true` (the default): must be equal; `false`: must differ.
    #[serde(rename = "isEqual", default = "yes")]
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
    /// The top-level snapshot variables its expression reads, sorted (`cpu_percent`,
    /// `checks`...; none for a rule written in code): the charts its alerts belong on.
    #[serde(default)]
    pub variables: Vec<String>,
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

/// One series of a compact range answer: its values in the answer's buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompactSeriesView {
    /// The series labels.
    pub labels: BTreeMap<String, String>,
    /// The mean of each bucket, oldest first; `null` where the bucket holds no sample.
    /// Bucket `i` starts at `start_ms + i * step_ms`.
    pub values: Vec<Option<f64>>,
    /// Each bucket's least value (only with `stats=min`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Vec<Option<f64>>>,
    /// Each bucket's greatest value (only with `stats=max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Vec<Option<f64>>>,
    /// Each bucket's sample count, 0 for a gap (only with `stats=count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Vec<u64>>,
    /// Each bucket's sum (only with `stats=sum`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<Vec<Option<f64>>>,
}

/// `GET /api/v1/metrics/range`: the series of a name over a range, compact: the bucket
/// times once for the whole answer, each series' values as an array. Fields in the order
/// the answer writes them (`series` last: the answer is streamed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompactRangeAnswer {
    /// The metric name asked for.
    pub name: String,
    /// The range's start.
    pub from: DateTime<Utc>,
    /// The range's end.
    pub to: DateTime<Utc>,
    /// The resolution read (`raw`, `1m`, `1h`).
    pub resolution: String,
    /// The first bucket's start, unix milliseconds.
    pub start_ms: i64,
    /// The bucket width in milliseconds.
    pub step_ms: i64,
    /// How many buckets each series' arrays hold.
    pub buckets: u64,
    /// Each matching series, by labels.
    pub series: Vec<CompactSeriesView>,
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

/// One dashboard in `GET /api/v1/dashboards`. Fields in the order the answer writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DashboardSummary {
    /// Whether it is one of the built-in dashboards.
    pub builtin: bool,
    /// One sentence on what it is for (may be empty).
    pub description: String,
    /// Its id, for `/api/v1/dashboards/{id}`.
    pub id: String,
    /// How many panels it has.
    pub panels: usize,
    /// Its title.
    pub title: String,
    /// When its definition was loaded (with the configuration, at start).
    pub updated_at: DateTime<Utc>,
}

/// `GET /api/v1/dashboards`: the built-in dashboards, then the configured ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DashboardsAnswer {
    /// The dashboards.
    pub dashboards: Vec<DashboardSummary>,
}

/// `GET /api/v1/snapshot`: the rule variables and check states now, and the recorder's
/// report. Fields in the order the answer writes them; windows are named `1m`, `5m`, `15m`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotAnswer {
    /// Call counters since mon started.
    pub calls: CallTotalsView,
    /// The latest state of each check, by name.
    pub checks: BTreeMap<String, CheckSnapshotView>,
    /// Request statistics per endpoint, then by window.
    pub endpoints: BTreeMap<String, BTreeMap<String, WindowStatsView>>,
    /// Error counts by kind since mon started.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// LiveKit webhook counters since mon started.
    pub livekit: LivekitTotalsView,
    /// The most recent errors, oldest first.
    pub recent_errors: Vec<ErrorRecordView>,
    /// The window the rule variables use.
    pub rule_window: String,
    /// The most recent slow requests, oldest first.
    pub slow_requests: Vec<SlowRequestView>,
    /// When the newest data of the rule variables was published.
    pub taken_at: DateTime<Utc>,
    /// The rule variables by name (every source).
    pub values: BTreeMap<String, f64>,
    /// Overall statistics by window.
    pub windows: BTreeMap<String, WindowReportView>,
}

/// A check's state as rules see it, in a [`SnapshotAnswer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckSnapshotView {
    /// Whether the check is critical.
    pub critical: bool,
    /// The latest probe's latency in milliseconds, when it measured one.
    pub latency_ms: Option<f64>,
    /// The latest result's status.
    pub status: String,
}

/// Call counters of a [`SnapshotAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CallTotalsView {
    /// Calls in progress.
    pub active_calls: u64,
    /// Calls that ended unsuccessfully.
    pub failed_calls: u64,
    /// Calls that ended successfully.
    pub successful_calls: u64,
    /// Calls started.
    pub total_calls: u64,
}

/// LiveKit webhook counters of a [`SnapshotAnswer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LivekitTotalsView {
    /// `egress_ended` events with status `EGRESS_FAILED`.
    pub egress_failures: u64,
    /// Webhook events accepted.
    pub events: u64,
    /// `participant_connection_aborted` events.
    pub participants_aborted: u64,
    /// `participant_joined` events.
    pub participants_joined: u64,
    /// `participant_left` events.
    pub participants_left: u64,
    /// Room-creation errors reported by applications.
    pub room_creation_failures: u64,
    /// `room_finished` events.
    pub rooms_finished: u64,
    /// `room_started` events.
    pub rooms_started: u64,
}

/// A recorded application error in a [`SnapshotAnswer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorRecordView {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Extra context (call id...).
    #[schema(value_type = Object)]
    pub context: BTreeMap<String, serde_json::Value>,
    /// The error class (`STT_TIMEOUT`).
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

/// A request slower than the threshold, in a [`SnapshotAnswer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SlowRequestView {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The endpoint.
    pub endpoint: String,
    /// How long it took, in milliseconds.
    pub latency_ms: f64,
    /// The HTTP method.
    pub method: String,
    /// The response status.
    pub status: u16,
}

/// The statistics of every kind of application event over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WindowReportView {
    /// AI provider calls: latencies in milliseconds.
    pub ai: WindowStatsView,
    /// Voice quality: speech level heard, 0–1.
    pub audio_level: WindowStatsView,
    /// Calls ended: durations in seconds; failures are unsuccessful calls.
    pub calls_ended: WindowStatsView,
    /// Calls started.
    pub calls_started: WindowStatsView,
    /// Application errors.
    pub errors: WindowStatsView,
    /// Feature uses, all features: durations in seconds (0 when not given).
    pub feature_uses: WindowStatsView,
    /// All feedback: values 1 when satisfied, else 0 (a failure).
    pub feedback: WindowStatsView,
    /// Voice quality: jitter in milliseconds.
    pub jitter_ms: WindowStatsView,
    /// Voice quality: mean opinion score.
    pub mos: WindowStatsView,
    /// Voice quality: background noise level, 0–1.
    pub noise_level: WindowStatsView,
    /// Voice quality: packet loss, 0–1.
    pub packet_loss: WindowStatsView,
    /// Feedback ratings, 1–5; failures are ratings below 4.
    pub ratings: WindowStatsView,
    /// API requests: latencies in milliseconds; failures are status ≥ 500.
    pub requests: WindowStatsView,
    /// Durations of ended sessions, in seconds.
    pub session_duration: WindowStatsView,
    /// Turns of ended sessions.
    pub session_turns: WindowStatsView,
    /// User sessions ended: values 1 when abandoned, else 0; failures are the abandoned.
    pub sessions_ended: WindowStatsView,
    /// User sessions started.
    pub sessions_started: WindowStatsView,
    /// Voice quality: latency in milliseconds.
    pub voice_latency_ms: WindowStatsView,
}

/// The statistics of one kind of value over one window; the mean, extremes and
/// percentiles are `null` for an empty window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WindowStatsView {
    /// Mean.
    pub avg: Option<f64>,
    /// Values recorded.
    pub count: u64,
    /// Share of failures, 0–100.
    pub failure_percent: f64,
    /// Failures among them.
    pub failures: u64,
    /// Largest value.
    pub max: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// `count` per minute over the window.
    pub rate_per_min: f64,
    /// Share of successes, 0–100.
    pub success_percent: f64,
    /// Sum of the values.
    pub sum: f64,
}

/// Reads a request body's struct from a JSON object only. serde's derive also reads a
/// struct from an array of its field values (`["ops", "why"]`), which the API's schemas
/// (`type: object`) do not allow, so the server would accept what its document refuses.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// `Serialize` as derived, and `Deserialize` as derived but from a JSON object only
/// ([`ObjectOnly`]), for request bodies (derived with `#[serde(remote = "Self")]`).
macro_rules! object_only {
    ($($body:ident),*) => {$(
        impl Serialize for $body {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $body::serialize(self, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $body {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $body::deserialize(ObjectOnly(deserializer))
            }
        }
    )*};
}

object_only!(
    ActorBody,
    SilenceBody,
    MatcherBody,
    RaiseAlertBody,
    PostableAlert
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_are_read_from_objects_only() {
        let actor: ActorBody =
            serde_json::from_str(r#"{"by": "ops", "comment": null}"#).expect("an object");
        assert_eq!(actor.by.as_deref(), Some("ops"));
        let silence = r#"{"matchers": [{"name": "service", "value": "api", "isEqual": false}],
                          "duration": "1h", "created_by": "ops"}"#;
        let silence: SilenceBody = serde_json::from_str(silence).expect("an object");
        assert!(!silence.matchers[0].is_equal && silence.comment.is_empty());
        let back = serde_json::to_value(&silence).expect("serialize");
        assert_eq!(back["matchers"][0]["isEqual"], false, "{back}");
        assert!(back.get("ends_at").is_none(), "{back}");

        for refused in [
            r#"["ops", "why"]"#,
            r#"[null, null]"#,
            r#""ops""#,
            r#"null"#,
            r#"{"by": "ops", "extra": 1}"#,
            r#"{"by": 1}"#,
        ] {
            let read = serde_json::from_str::<ActorBody>(refused);
            assert!(read.is_err(), "{refused} was read as {read:?}");
        }
        for refused in [
            r#"{"matchers": [["service", "api", true]], "duration": "1h", "created_by": "ops"}"#,
            r#"[[{"name": "service", "value": "api"}], null, null, "1h", "ops", ""]"#,
            r#"{"matchers": [{"name": "s", "value": "a", "x": 1}], "duration": "1h", "created_by": "ops"}"#,
            // The answer's matcher also reads the old name `equal`; the schema of a request
            // names `isEqual` only.
            r#"{"matchers": [{"name": "s", "value": "a", "equal": false}], "duration": "1h", "created_by": "ops"}"#,
        ] {
            let read = serde_json::from_str::<SilenceBody>(refused);
            assert!(read.is_err(), "{refused} was read as {read:?}");
        }
    }
}
