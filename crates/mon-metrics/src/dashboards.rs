//! Dashboards as data: the panel model, the seven built-in templates and the validation
//! of custom dashboards from `mon.yaml`.
//!
//! A panel reads one metric — a snapshot variable of [`crate::CATALOG`] or a stored
//! per-endpoint series such as `endpoint_p95_latency_ms` — with optional labels, and
//! colours its current value by its `warning` / `critical` thresholds. `panel_values.rs`
//! turns a panel into values and series, `grafana.rs` a [`DashboardConfig`] into Grafana JSON.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The stored series with labels (per endpoint) a panel may read besides the snapshot variables.
pub const ENDPOINT_SERIES: &[&str] = &[
    "endpoint_requests_per_min",
    "endpoint_avg_latency_ms",
    "endpoint_p95_latency_ms",
    "endpoint_error_rate_percent",
];

/// The stored series with labels of user experience, over the rule window: uses per
/// feature, feedback and CSAT per category, the average rating per MOS and per voice
/// latency band.
pub const EXPERIENCE_SERIES: &[&str] = &[
    "feature_uses_per_min",
    "feedback_per_min",
    "category_csat_percent",
    "avg_rating_by_mos_band",
    "avg_rating_by_latency_band",
];

/// How a panel shows its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    /// One big number.
    Stat,
    /// One number on a dial between 0 and a maximum.
    Gauge,
    /// A line chart of the series over the chosen range.
    Timeseries,
    /// One row per labelled series (per endpoint), with its latest value.
    Table,
    /// Every check as a coloured tile; needs no metric.
    StatusGrid,
    /// The active alerts; needs no metric.
    AlertList,
}

impl PanelKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [PanelKind; 6] = [
        PanelKind::Stat,
        PanelKind::Gauge,
        PanelKind::Timeseries,
        PanelKind::Table,
        PanelKind::StatusGrid,
        PanelKind::AlertList,
    ];

    /// The snake_case name used in config and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PanelKind::Stat => "stat",
            PanelKind::Gauge => "gauge",
            PanelKind::Timeseries => "timeseries",
            PanelKind::Table => "table",
            PanelKind::StatusGrid => "status_grid",
            PanelKind::AlertList => "alert_list",
        }
    }

    /// Whether the kind reads a metric (`status_grid` and `alert_list` do not).
    pub fn needs_metric(self) -> bool {
        !matches!(self, PanelKind::StatusGrid | PanelKind::AlertList)
    }
}

/// One panel of a dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelConfig {
    /// Unique id within the dashboard (letters, digits, `_`, `-`).
    pub id: String,
    /// The title shown above the panel.
    pub title: String,
    /// One sentence on what the panel shows (default empty).
    #[serde(default)]
    pub description: String,
    /// `stat`, `gauge`, `timeseries`, `table`, `status_grid` or `alert_list`.
    pub kind: PanelKind,
    /// The snapshot variable (`cpu_percent`) or stored series (`endpoint_p95_latency_ms`)
    /// the panel reads; required except for `status_grid` and `alert_list`.
    #[serde(default)]
    pub metric: Option<String>,
    /// Labels the stored series must carry (e.g. `endpoint: /api/rooms`); default none.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The unit shown with the value (default: the variable's unit in the catalog).
    #[serde(default)]
    pub unit: Option<String>,
    /// Value from which the panel is yellow. When `critical` is below `warning`,
    /// low values are the bad ones (e.g. a success rate).
    #[serde(default)]
    pub warning: Option<f64>,
    /// Value from which the panel is red.
    #[serde(default)]
    pub critical: Option<f64>,
    /// Width on a 24-column grid, 1–24 (default 6).
    #[serde(default = "default_width")]
    pub width: u8,
    /// Height in grid rows, 1–32 (default 4).
    #[serde(default = "default_height")]
    pub height: u8,
}

fn default_width() -> u8 {
    6
}

fn default_height() -> u8 {
    4
}

/// A dashboard: an id, a title and its panels in reading order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardConfig {
    /// Unique id, used in URLs (`/api/v1/dashboards/{id}`); letters, digits, `_`, `-`.
    pub id: String,
    /// The title.
    pub title: String,
    /// One sentence on what the dashboard is for (default empty).
    #[serde(default)]
    pub description: String,
    /// Seconds between refreshes a client should use (default 30).
    #[serde(default = "default_refresh")]
    pub refresh_interval: u32,
    /// The panels, in reading order.
    pub panels: Vec<PanelConfig>,
}

fn default_refresh() -> u32 {
    30
}

/// Green, yellow or red: a value against a panel's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    /// Below the warning threshold (or no thresholds).
    Green,
    /// At or past the warning threshold.
    Yellow,
    /// At or past the critical threshold.
    Red,
}

impl PanelConfig {
    /// The colour of `value` by the panel's thresholds; high values are bad unless
    /// `critical < warning`, then low values are.
    pub fn colour(&self, value: f64) -> Colour {
        let low_is_bad = matches!((self.warning, self.critical), (Some(w), Some(c)) if c < w);
        let past =
            |t: Option<f64>| t.is_some_and(|t| if low_is_bad { value <= t } else { value >= t });
        if past(self.critical) {
            Colour::Red
        } else if past(self.warning) {
            Colour::Yellow
        } else {
            Colour::Green
        }
    }

    /// The unit: the configured one, else the catalog's, else empty.
    pub fn unit(&self) -> &str {
        if let Some(unit) = &self.unit {
            return unit;
        }
        let Some(m) = self.metric.as_deref() else {
            return "";
        };
        if let Some(v) = crate::lookup(m) {
            v.unit.as_str()
        } else if m.ends_with("_ms") {
            "milliseconds"
        } else if m.ends_with("_percent") {
            "percent"
        } else if m.ends_with("_per_min") {
            "per_minute"
        } else {
            ""
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether a panel may read `name`: a catalog variable or a stored endpoint series.
pub fn known_metric(name: &str) -> bool {
    crate::lookup(name).is_some()
        || ENDPOINT_SERIES.contains(&name)
        || EXPERIENCE_SERIES.contains(&name)
}

/// The known metric closest to `name`, for "did you mean".
fn closest_metric(name: &str) -> Option<&'static str> {
    mon_core::closest(
        name,
        crate::CATALOG
            .iter()
            .map(|v| v.name)
            .chain(ENDPOINT_SERIES.iter().copied()),
    )
}

/// Checks custom dashboards: ids valid and unique (also against the built-in ones),
/// panels with known metrics and sane layout. Returns `(key path, message)` pairs
/// relative to the list (`[0].panels[1].metric`); empty when all is well.
pub fn validate_dashboards(dashboards: &[DashboardConfig]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let builtin: BTreeSet<&str> = BUILTIN_IDS.iter().copied().collect();
    let mut seen = BTreeMap::new();
    for (i, d) in dashboards.iter().enumerate() {
        let path = format!("[{i}]");
        if !valid_id(&d.id) {
            errors.push((
                format!("{path}.id"),
                format!(
                    "dashboard id {:?} must be non-empty letters, digits, '_' or '-'",
                    d.id
                ),
            ));
        }
        if builtin.contains(d.id.as_str()) {
            errors.push((
                format!("{path}.id"),
                format!(
                    "duplicate dashboard id {:?}: a built-in dashboard has it; choose another id",
                    d.id
                ),
            ));
        } else if let Some(first) = seen.insert(d.id.clone(), i) {
            errors.push((
                format!("{path}.id"),
                format!(
                    "duplicate dashboard id {:?} (also dashboards[{first}]): ids must be unique",
                    d.id
                ),
            ));
        }
        let mut panel_ids = BTreeMap::new();
        for (j, p) in d.panels.iter().enumerate() {
            let path = format!("{path}.panels[{j}]");
            if !valid_id(&p.id) {
                errors.push((
                    format!("{path}.id"),
                    format!(
                        "panel id {:?} must be non-empty letters, digits, '_' or '-'",
                        p.id
                    ),
                ));
            }
            if let Some(first) = panel_ids.insert(p.id.clone(), j) {
                errors.push((
                    format!("{path}.id"),
                    format!(
                        "duplicate panel id {:?} (also panels[{first}]): panel ids must be unique in a dashboard",
                        p.id
                    ),
                ));
            }
            match (&p.metric, p.kind.needs_metric()) {
                (None, true) => errors.push((
                    format!("{path}.metric"),
                    format!(
                        "a {} panel needs a metric (a snapshot variable such as cpu_percent)",
                        p.kind.as_str()
                    ),
                )),
                (Some(m), true) if !known_metric(m) => {
                    let hint = closest_metric(m)
                        .map(|c| format!("did you mean {c:?}? "))
                        .unwrap_or_default();
                    errors.push((
                        format!("{path}.metric"),
                        format!(
                            "unknown metric {m:?}; {hint}GET /api/v1/snapshot and docs/metrics.md list the variables"
                        ),
                    ));
                }
                _ => {}
            }
            if !(1..=24).contains(&p.width) {
                errors.push((
                    format!("{path}.width"),
                    format!("width {} must be from 1 to 24 (grid columns)", p.width),
                ));
            }
            if !(1..=32).contains(&p.height) {
                errors.push((
                    format!("{path}.height"),
                    format!("height {} must be from 1 to 32 (grid rows)", p.height),
                ));
            }
            for (field, v) in [("warning", p.warning), ("critical", p.critical)] {
                if v.is_some_and(|v| !v.is_finite()) {
                    errors.push((
                        format!("{path}.{field}"),
                        format!("{field} must be a finite number"),
                    ));
                }
            }
        }
    }
    errors
}

/// The ids of the built-in dashboards, in the order [`builtin_dashboards`] returns them.
pub const BUILTIN_IDS: [&str; 8] = [
    "system_overview",
    "api_performance",
    "ai_services",
    "infrastructure",
    "calls_voice_quality",
    "livekit",
    "security",
    "user_experience",
];

struct P(
    &'static str,
    &'static str,
    PanelKind,
    Option<&'static str>,
    Option<f64>,
    Option<f64>,
    u8,
    u8,
    &'static str,
);

fn panels(list: Vec<P>) -> Vec<PanelConfig> {
    list.into_iter()
        .map(
            |P(id, title, kind, metric, warning, critical, width, height, description)| {
                PanelConfig {
                    id: id.to_owned(),
                    title: title.to_owned(),
                    description: description.to_owned(),
                    kind,
                    metric: metric.map(str::to_owned),
                    labels: BTreeMap::new(),
                    unit: None,
                    warning,
                    critical,
                    width,
                    height,
                }
            },
        )
        .collect()
}

fn dashboard(id: &str, title: &str, description: &str, list: Vec<P>) -> DashboardConfig {
    DashboardConfig {
        id: id.to_owned(),
        title: title.to_owned(),
        description: description.to_owned(),
        refresh_interval: 30,
        panels: panels(list),
    }
}

/// The seven built-in dashboards: System Overview, API Performance, AI Services,
/// Infrastructure, Calls & Voice Quality, LiveKit and Security.
// Kept as a one-line-per-panel table: easier to read and review than rustfmt's layout.
#[rustfmt::skip]
pub fn builtin_dashboards() -> Vec<DashboardConfig> {
    use PanelKind::{AlertList, Gauge, Stat, StatusGrid, Table, Timeseries};
    vec![
        dashboard("system_overview", "System Overview", "High-level system health and performance metrics", vec![
            P("system_health", "System Health", Gauge, Some("health_percentage"), Some(80.0), Some(60.0), 6, 4, "Share of checks that are healthy."),
            P("component_status", "Component Status", StatusGrid, None, None, None, 12, 6, "Every check with its status and latency."),
            P("active_alerts", "Active Alerts", AlertList, None, None, None, 6, 6, "Alerts firing or acknowledged."),
            P("cpu", "CPU", Timeseries, Some("cpu_percent"), Some(75.0), Some(90.0), 8, 6, "Host CPU usage."),
            P("memory", "Memory", Timeseries, Some("memory_percent"), Some(80.0), Some(90.0), 8, 6, "Host memory in use."),
            P("api_latency", "API Latency (p95)", Timeseries, Some("p95_api_latency_ms"), Some(1000.0), Some(3000.0), 8, 6, "95th percentile API latency."),
        ]),
        dashboard("api_performance", "API Performance", "API usage, latency, and error metrics", vec![
            P("request_rate", "Request Rate", Timeseries, Some("request_rate_per_min"), None, None, 12, 6, "API requests per minute."),
            P("error_rate", "Error Rate", Stat, Some("error_rate_percent"), Some(5.0), Some(10.0), 6, 4, "Share of requests that failed (status 5xx)."),
            P("slow_requests", "Slow Requests", Stat, Some("slow_requests"), Some(10.0), Some(50.0), 6, 4, "Requests over the slow-request threshold."),
            P("latency_p50", "Latency p50", Timeseries, Some("p50_api_latency_ms"), Some(500.0), Some(2000.0), 8, 6, "Median API latency."),
            P("latency_p95", "Latency p95", Timeseries, Some("p95_api_latency_ms"), Some(1000.0), Some(3000.0), 8, 6, "95th percentile API latency."),
            P("latency_p99", "Latency p99", Timeseries, Some("p99_api_latency_ms"), Some(2000.0), Some(5000.0), 8, 6, "99th percentile API latency."),
            P("endpoint_latency", "Per-endpoint Latency (p95)", Table, Some("endpoint_p95_latency_ms"), Some(1000.0), Some(3000.0), 12, 6, "95th percentile latency of each endpoint over the last minute."),
            P("endpoint_errors", "Per-endpoint Error Rate", Table, Some("endpoint_error_rate_percent"), Some(5.0), Some(10.0), 12, 6, "Share of failed requests of each endpoint over the last minute."),
        ]),
        dashboard("ai_services", "AI Services", "STT, LLM and TTS latency, usage and cost", vec![
            P("ai_response_time", "AI Response Time", Timeseries, Some("avg_response_time_ms"), Some(1500.0), Some(3000.0), 12, 6, "Mean STT, LLM and TTS provider response time."),
            P("ai_response_time_now", "AI Response Time (now)", Stat, Some("avg_response_time_ms"), Some(1500.0), Some(3000.0), 6, 4, "Mean provider response time over the rule window."),
            P("ai_cost", "AI Cost", Stat, Some("ai_cost_usd"), None, None, 6, 4, "Provider cost recorded since mon started."),
            P("ai_cost_trend", "AI Cost Over Time", Timeseries, Some("ai_cost_usd"), None, None, 12, 6, "Cumulative provider cost."),
            P("ai_errors", "Errors per Minute", Timeseries, Some("errors_per_minute"), Some(5.0), Some(20.0), 12, 6, "Application errors (including AI provider errors) per minute."),
        ]),
        dashboard("infrastructure", "Infrastructure", "System resources, network and mon itself", vec![
            P("cpu", "CPU", Gauge, Some("cpu_percent"), Some(75.0), Some(90.0), 6, 4, "Host CPU usage."),
            P("memory", "Memory", Gauge, Some("memory_percent"), Some(80.0), Some(90.0), 6, 4, "Host memory in use."),
            P("disk", "Disk", Gauge, Some("disk_percent"), Some(85.0), Some(95.0), 6, 4, "Used space of the data filesystem."),
            P("load", "Load (1m)", Stat, Some("load_average_1m"), None, None, 6, 4, "Host load average over 1 minute."),
            P("cpu_trend", "CPU Over Time", Timeseries, Some("cpu_percent"), Some(75.0), Some(90.0), 12, 6, "Host CPU usage."),
            P("memory_trend", "Memory Over Time", Timeseries, Some("memory_percent"), Some(80.0), Some(90.0), 12, 6, "Host memory in use."),
            P("network_rx", "Network In", Timeseries, Some("network_rx_bytes_per_second"), None, None, 12, 6, "Bytes received per second."),
            P("network_tx", "Network Out", Timeseries, Some("network_tx_bytes_per_second"), None, None, 12, 6, "Bytes sent per second."),
            P("dependencies", "Dependencies", StatusGrid, None, None, None, 24, 6, "Database, Redis, LiveKit and other checks."),
        ]),
        dashboard("calls_voice_quality", "Calls & Voice Quality", "Calls in progress, success rate and voice quality", vec![
            P("active_calls", "Active Calls", Stat, Some("active_calls"), None, None, 6, 4, "Calls in progress."),
            P("call_success", "Call Success Rate", Gauge, Some("call_success_rate"), Some(0.95), Some(0.9), 6, 4, "Share of calls that ended successfully."),
            P("mos", "Voice Quality (MOS)", Gauge, Some("avg_mos"), Some(3.5), Some(3.0), 6, 4, "Mean opinion score, 1 to 5."),
            P("calls_per_minute", "Calls per Minute", Timeseries, Some("calls_per_minute"), None, None, 12, 6, "Calls started per minute."),
            P("call_duration", "Call Duration", Timeseries, Some("avg_call_duration_seconds"), None, None, 12, 6, "Mean duration of ended calls."),
            P("voice_latency", "Voice Latency", Timeseries, Some("avg_voice_latency_ms"), Some(300.0), Some(800.0), 8, 6, "Mean voice latency from voice-quality events."),
            P("packet_loss", "Packet Loss", Timeseries, Some("avg_packet_loss"), Some(0.02), Some(0.05), 8, 6, "Mean packet loss, 0 to 1."),
            P("jitter", "Jitter", Timeseries, Some("avg_jitter_ms"), Some(30.0), Some(60.0), 8, 6, "Mean jitter."),
        ]),
        dashboard("livekit", "LiveKit", "Rooms, participants, connection success and room errors", vec![
            P("active_rooms", "Active Rooms", Stat, Some("active_rooms"), None, None, 6, 4, "LiveKit rooms open."),
            P("active_participants", "Active Participants", Stat, Some("active_participants"), None, None, 6, 4, "LiveKit participants connected."),
            P("connection_success", "Connection Success", Gauge, Some("connection_success_rate"), Some(0.95), Some(0.9), 6, 4, "Share of connection attempts that succeeded."),
            P("room_creation_failures", "Room Creation Failures", Stat, Some("room_creation_failures"), Some(1.0), Some(5.0), 6, 4, "LK1301 errors over the rule window."),
            P("rooms_started", "Rooms Started", Timeseries, Some("rooms_started"), None, None, 12, 6, "Rooms started over the rule window."),
            P("participants_aborted", "Aborted Connections", Timeseries, Some("participants_aborted"), Some(1.0), Some(5.0), 12, 6, "Participant connections aborted over the rule window."),
            P("room_duration", "Room Duration", Timeseries, Some("avg_room_duration_seconds"), None, None, 12, 6, "Mean duration of finished rooms."),
            P("egress_failures", "Egress Failures", Stat, Some("egress_failures"), Some(1.0), Some(3.0), 12, 4, "Egress that ended with EGRESS_FAILED."),
        ]),
        dashboard("security", "Security", "Failed logins, refused and rate-limited requests, principals and their addresses (security.failed_login_window)", vec![
            P("failed_logins", "Failed Logins", Stat, Some("failed_logins"), Some(5.0), Some(20.0), 6, 4, "Failed authentications within the security window."),
            P("top_ip_failed_logins", "Worst Address", Stat, Some("top_ip_failed_logins"), Some(3.0), Some(5.0), 6, 4, "Failed logins from the worst client address (brute force above security.max_failed_logins)."),
            P("denied_ip_attempts", "Denied-IP Attempts", Stat, Some("denied_ip_attempts"), Some(5.0), Some(20.0), 6, 4, "Attempts refused by an IP deny list within the window."),
            P("top_principal_ips", "Addresses per Principal", Stat, Some("top_principal_ips"), Some(3.0), Some(5.0), 6, 4, "Distinct addresses of the principal seen from the most addresses."),
            P("failed_logins_trend", "Failed Logins Over Time", Timeseries, Some("failed_logins"), Some(5.0), Some(20.0), 12, 6, "Failed authentications within the window, over time."),
            P("rate_limited", "Rate-limited Requests", Timeseries, Some("rate_limited_per_min"), None, None, 12, 6, "Requests refused by a rate limit, per minute."),
            P("security_events", "Security Events", Timeseries, Some("security_events"), None, None, 12, 6, "Security events of any kind within the window."),
            P("new_principal_ips", "New Addresses for Principals", Timeseries, Some("new_principal_ips"), None, None, 12, 6, "Addresses first seen for a known principal within the window."),
            P("security_alerts", "Active Alerts", AlertList, None, None, None, 24, 6, "Alerts firing or acknowledged, brute force and the other security rules among them."),
        ]),
        dashboard("user_experience", "User Experience", "Sessions, satisfaction, feature use, and what voice quality costs in satisfaction", vec![
            P("active_sessions", "Active Sessions", Stat, Some("active_sessions"), None, None, 6, 4, "User sessions in progress."),
            P("csat", "CSAT", Gauge, Some("csat_percent"), Some(80.0), Some(60.0), 6, 4, "Share of feedback rated 4 or 5 (a thumbs up when unrated)."),
            P("avg_rating", "Average Rating", Stat, Some("avg_rating"), Some(4.0), Some(3.0), 6, 4, "Mean feedback rating, 1 to 5."),
            P("abandonment", "Abandonment Rate", Stat, Some("session_abandonment_rate"), Some(0.1), Some(0.25), 6, 4, "Share of ended sessions the caller abandoned."),
            P("sessions_per_minute", "Sessions per Minute", Timeseries, Some("sessions_per_minute"), None, None, 12, 6, "User sessions started per minute."),
            P("csat_trend", "CSAT Over Time", Timeseries, Some("csat_percent"), Some(80.0), Some(60.0), 12, 6, "Share of satisfied feedback over the rule window, over time."),
            P("session_duration", "Session Duration", Timeseries, Some("avg_session_duration_seconds"), None, None, 8, 6, "Mean duration of ended sessions."),
            P("session_turns", "Turns per Session", Timeseries, Some("avg_session_turns"), None, None, 8, 6, "Mean conversation turns of ended sessions."),
            P("noise_level", "Noise Level", Timeseries, Some("avg_noise_level"), Some(0.3), Some(0.5), 8, 6, "Mean background noise level of voice-quality events, 0 to 1."),
            P("rating_by_mos", "Rating per MOS Band", Table, Some("avg_rating_by_mos_band"), Some(4.0), Some(3.0), 12, 6, "Mean rating of sessions whose voice quality fell in each MOS band: what bad audio costs."),
            P("rating_by_latency", "Rating per Latency Band", Table, Some("avg_rating_by_latency_band"), Some(4.0), Some(3.0), 12, 6, "Mean rating of sessions whose voice latency fell in each band."),
            P("feedback_by_category", "Feedback per Category", Table, Some("feedback_per_min"), None, None, 12, 6, "Feedback received per minute, per category."),
            P("top_features", "Top Features", Table, Some("feature_uses_per_min"), None, None, 12, 6, "Uses per minute of each feature, most used first."),
        ]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_have_the_documented_ids_and_pass_validation() {
        let all = builtin_dashboards();
        let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, BUILTIN_IDS);
        // Validated as if they were custom, minus the clash with their own ids.
        for d in &all {
            let mut renamed = d.clone();
            renamed.id = format!("copy_{}", d.id);
            assert_eq!(validate_dashboards(&[renamed]), vec![], "{}", d.id);
            assert!(!d.panels.is_empty());
        }
    }

    #[test]
    fn colours_follow_thresholds_in_both_directions() {
        let mut p = builtin_dashboards()[0].panels[3].clone(); // cpu: 75 / 90
        for (v, c) in [
            (10.0, Colour::Green),
            (75.0, Colour::Yellow),
            (95.0, Colour::Red),
        ] {
            assert_eq!(p.colour(v), c, "{v}");
        }
        p.warning = Some(80.0);
        p.critical = Some(60.0);
        for (v, c) in [
            (100.0, Colour::Green),
            (70.0, Colour::Yellow),
            (50.0, Colour::Red),
        ] {
            assert_eq!(p.colour(v), c, "{v}");
        }
    }

    fn check(yaml_panel: PanelConfig, path: &str, needle: &str) {
        let d = DashboardConfig {
            id: "mine".into(),
            title: "Mine".into(),
            description: String::new(),
            refresh_interval: 30,
            panels: vec![yaml_panel],
        };
        let errors = validate_dashboards(&[d]);
        assert!(
            errors.iter().any(|(p, m)| p == path && m.contains(needle)),
            "{errors:?}"
        );
    }

    #[test]
    fn bad_panels_are_named() {
        let base = builtin_dashboards()[0].panels[3].clone();
        let mut p = base.clone();
        p.metric = Some("cpu_precent".into());
        check(p, "[0].panels[0].metric", "did you mean \"cpu_percent\"");
        let mut p = base.clone();
        p.width = 30;
        check(p, "[0].panels[0].width", "width 30");
        let mut p = base.clone();
        p.metric = None;
        check(p, "[0].panels[0].metric", "needs a metric");
        let mut d = builtin_dashboards().remove(0);
        d.panels.truncate(1);
        assert!(
            validate_dashboards(&[d])
                .iter()
                .any(|(p, m)| p == "[0].id" && m.contains("system_overview"))
        );
    }

    #[test]
    fn unknown_panel_kind_is_a_serde_error_naming_it() {
        let e = serde_json::from_str::<PanelConfig>(
            r#"{"id": "x", "title": "X", "kind": "pie", "metric": "cpu_percent"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("pie"), "{e}");
    }
}
