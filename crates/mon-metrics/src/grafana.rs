//! Dashboards for Grafana: [`grafana_json`] turns a [`DashboardConfig`] into a Grafana
//! dashboard over a Prometheus data source, and [`promql`] gives, for a snapshot variable
//! or endpoint series, the PromQL over mon's `/metrics` families that yields the same value.

use crate::{DashboardConfig, PanelConfig, PanelKind};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The Grafana datasource reference every panel and target uses.
fn datasource() -> Value {
    json!({ "type": "prometheus", "uid": "${datasource}" })
}

/// The dashboard as Grafana JSON (schema version 39) over a Prometheus data source
/// chosen by the `datasource` template variable.
pub fn grafana_json(dashboard: &DashboardConfig) -> Value {
    let (mut x, mut y, mut row_height) = (0u32, 0u32, 0u32);
    let mut panels = Vec::new();
    for (i, panel) in dashboard.panels.iter().enumerate() {
        let (w, h) = (u32::from(panel.width), u32::from(panel.height));
        if x + w > 24 {
            x = 0;
            y += row_height;
            row_height = 0;
        }
        let grid = json!({ "x": x, "y": y, "w": w, "h": h });
        x += w;
        row_height = row_height.max(h);
        panels.push(grafana_panel(&dashboard.id, panel, i + 1, grid));
    }
    json!({
        "uid": format!("mon-{}", dashboard.id).chars().take(40).collect::<String>(),
        "title": format!("mon: {}", dashboard.title),
        "description": dashboard.description,
        "tags": ["mon"],
        "timezone": "browser",
        "editable": true,
        "schemaVersion": 39,
        "version": 1,
        "refresh": format!("{}s", dashboard.refresh_interval),
        "time": { "from": "now-6h", "to": "now" },
        "templating": { "list": [{
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "options": [],
        }]},
        "annotations": { "list": [] },
        "panels": panels,
    })
}

fn grafana_unit(unit: &str) -> &'static str {
    match unit {
        "percent" => "percent",
        "ratio" => "percentunit",
        "bytes" => "bytes",
        "bytes_per_second" => "Bps",
        "milliseconds" => "ms",
        "seconds" => "s",
        "usd" => "currencyUSD",
        _ => "short",
    }
}

fn grafana_panel(dashboard: &str, panel: &PanelConfig, id: usize, grid: Value) -> Value {
    let base = |kind: &str| {
        json!({
            "id": id,
            "type": kind,
            "title": panel.title,
            "description": panel.description,
            "gridPos": grid,
        })
    };
    match panel.kind {
        PanelKind::AlertList => {
            let mut p = base("alertlist");
            p["options"] =
                json!({ "stateFilter": { "firing": true, "pending": true }, "maxItems": 20 });
            p
        }
        PanelKind::StatusGrid => {
            let mut p = base("stat");
            p["datasource"] = datasource();
            p["targets"] = json!([{ "refId": "A", "datasource": datasource(), "expr": CHECK_STATE_PROMQL, "legendFormat": "{{check}}", "instant": true }]);
            p["fieldConfig"] = json!({ "defaults": {
                "mappings": [{ "type": "value", "options": {
                    "0": { "text": "UNHEALTHY", "color": "red" },
                    "1": { "text": "UNKNOWN", "color": "text" },
                    "2": { "text": "DEGRADED", "color": "yellow" },
                    "3": { "text": "HEALTHY", "color": "green" },
                }}],
                "color": { "mode": "thresholds" },
                "thresholds": { "mode": "absolute", "steps": [
                    { "color": "red", "value": null }, { "color": "text", "value": 1 },
                    { "color": "yellow", "value": 2 }, { "color": "green", "value": 3 },
                ]},
            }, "overrides": [] });
            p["options"] = json!({ "colorMode": "background", "graphMode": "none", "textMode": "value_and_name" });
            p
        }
        kind => {
            let metric = panel.metric.as_deref().unwrap_or_default();
            let Some(expr) = promql(metric, &panel.labels) else {
                let mut p = base("text");
                p["options"] = json!({ "mode": "markdown", "content": format!(
                    "`{metric}` is not exported on mon's `/metrics`; see `/api/v1/dashboards/{dashboard}`."
                )});
                return p;
            };
            let grafana_kind = match kind {
                PanelKind::Gauge => "gauge",
                PanelKind::Timeseries => "timeseries",
                PanelKind::Table => "table",
                _ => "stat",
            };
            let mut p = base(grafana_kind);
            let table = kind == PanelKind::Table;
            p["datasource"] = datasource();
            p["targets"] = json!([{
                "refId": "A",
                "datasource": datasource(),
                "expr": expr,
                "legendFormat": if metric.starts_with("endpoint_") { "{{endpoint}}" } else { "__auto" },
                "instant": table,
                "range": !table,
                "format": if table { "table" } else { "time_series" },
            }]);
            p["fieldConfig"] = json!({
                "defaults": { "unit": grafana_unit(panel.unit()), "thresholds": thresholds(panel) },
                "overrides": [],
            });
            p
        }
    }
}

/// Grafana threshold steps from the panel's; low-is-bad thresholds are reversed.
fn thresholds(panel: &PanelConfig) -> Value {
    let mut steps = Vec::new();
    match (panel.warning, panel.critical) {
        (Some(w), Some(c)) if c < w => {
            steps.push(json!({ "color": "red", "value": null }));
            steps.push(json!({ "color": "yellow", "value": c }));
            steps.push(json!({ "color": "green", "value": w }));
        }
        (w, c) => {
            steps.push(json!({ "color": "green", "value": null }));
            if let Some(w) = w {
                steps.push(json!({ "color": "yellow", "value": w }));
            }
            if let Some(c) = c {
                steps.push(json!({ "color": "red", "value": c }));
            }
        }
    }
    json!({ "mode": "absolute", "steps": steps })
}

/// One number per check for the status grid, from `mon_check_status`: 3 healthy,
/// 2 degraded, 1 unknown (not run yet), 0 unhealthy.
pub const CHECK_STATE_PROMQL: &str = "3 * sum by (check) (mon_check_status{status=\"healthy\"}) \
     + 2 * sum by (check) (mon_check_status{status=\"degraded\"}) \
     + sum by (check) (mon_check_status{status=\"unknown\"})";

/// The label matcher of an endpoint series' labels, e.g. `{endpoint="/api/rooms"}`.
fn matcher(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", mon_core::escape_label_value(v)))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// PromQL over mon's `/metrics` families giving the same value, in the same unit, as a
/// snapshot variable or endpoint series; `None` for those with no exported family.
pub fn promql(metric: &str, labels: &BTreeMap<String, String>) -> Option<String> {
    let rate = |name: &str| format!("sum(rate({name}[5m]))");
    let mean = |hist: &str, scale: &str| {
        format!("{scale}sum(rate({hist}_sum[5m])) / sum(rate({hist}_count[5m]))")
    };
    let quantile = |q: &str, sel: &str, by: &str| {
        format!(
            "1000 * histogram_quantile({q}, sum by (le{by}) (rate(mon_app_request_duration_seconds_bucket{sel}[5m])))"
        )
    };
    let checks = |status: &str| format!("sum(mon_check_status{{status=\"{status}\"}})");
    let m = matcher(labels);
    let expr = match metric {
        "cpu_percent" => "100 * mon_host_cpu_usage_ratio".to_owned(),
        "memory_percent" => {
            "100 * mon_host_memory_used_bytes / mon_host_memory_total_bytes".to_owned()
        }
        "memory_used_bytes" => "mon_host_memory_used_bytes".to_owned(),
        "memory_available_bytes" => "mon_host_memory_available_bytes".to_owned(),
        "memory_total_bytes" => "mon_host_memory_total_bytes".to_owned(),
        "swap_percent" => "100 * mon_host_swap_used_ratio".to_owned(),
        "disk_percent" => "100 * mon_host_disk_used_ratio".to_owned(),
        "disk_free_bytes" => "mon_host_disk_free_bytes".to_owned(),
        "disk_total_bytes" => "mon_host_disk_total_bytes".to_owned(),
        "load_average_1m" => "mon_host_load1".to_owned(),
        "load_average_5m" => "mon_host_load5".to_owned(),
        "load_average_15m" => "mon_host_load15".to_owned(),
        "network_rx_bytes_per_second" => "mon_host_network_receive_bytes_per_second".to_owned(),
        "network_tx_bytes_per_second" => "mon_host_network_transmit_bytes_per_second".to_owned(),
        "process_cpu_percent" => "100 * mon_process_cpu_usage_ratio".to_owned(),
        "process_resident_memory_bytes" => "mon_process_resident_memory_bytes".to_owned(),
        // A check counts as healthy only when its status is healthy (not degraded), as in
        // the snapshot; every check has one series per status.
        "health_percentage" => format!(
            "100 * {} / {}",
            checks("healthy"),
            "count(mon_check_status{status=\"healthy\"})"
        ),
        "healthy_checks" => checks("healthy"),
        "degraded_checks" => checks("degraded"),
        "unhealthy_checks" => checks("unhealthy"),
        "total_checks" => "count(mon_check_status{status=\"healthy\"})".to_owned(),
        "request_rate_per_min" => format!("60 * {}", rate("mon_app_requests_total")),
        "error_rate_percent" => format!(
            "100 * {} / {}",
            rate("mon_app_requests_total{status=~\"5..\"}"),
            rate("mon_app_requests_total")
        ),
        "avg_api_latency_ms" => mean("mon_app_request_duration_seconds", "1000 * "),
        "p50_api_latency_ms" => quantile("0.5", "", ""),
        "p95_api_latency_ms" => quantile("0.95", "", ""),
        "p99_api_latency_ms" => quantile("0.99", "", ""),
        "slow_requests" => "sum(increase(mon_app_slow_requests_total[5m]))".to_owned(),
        "active_calls" => "mon_app_calls_active".to_owned(),
        "total_calls" => "mon_app_calls_started_total".to_owned(),
        "successful_calls" => "sum(mon_app_calls_ended_total{result=\"success\"})".to_owned(),
        "failed_calls" => "sum(mon_app_calls_ended_total{result=\"failure\"})".to_owned(),
        "calls_per_minute" => format!("60 * {}", rate("mon_app_calls_started_total")),
        "call_success_rate" => format!(
            "{} / {}",
            rate("mon_app_calls_ended_total{result=\"success\"}"),
            rate("mon_app_calls_ended_total")
        ),
        "avg_call_duration_seconds" => mean("mon_app_call_duration_seconds", ""),
        "avg_mos" => mean("mon_app_voice_mos", ""),
        "avg_response_time_ms" => mean("mon_app_ai_latency_seconds", "1000 * "),
        "ai_cost_usd" => "sum(mon_app_ai_cost_usd_total)".to_owned(),
        "total_errors" => "sum(mon_app_errors_total)".to_owned(),
        "errors_per_minute" => format!("60 * {}", rate("mon_app_errors_total")),
        // The `livekit` checks' ListRooms, summed over checks as `/health/livekit` does.
        "active_rooms" => "sum(mon_livekit_rooms_active)".to_owned(),
        "active_participants" => "sum(mon_livekit_participants_active)".to_owned(),
        "connection_success_rate" => format!(
            "{} / ({} + {})",
            rate("mon_livekit_participants_joined_total"),
            rate("mon_livekit_participants_joined_total"),
            rate("mon_livekit_participants_aborted_total")
        ),
        "room_creation_failures" => {
            "increase(mon_livekit_room_creation_failures_total[5m])".to_owned()
        }
        "rooms_started" => "increase(mon_livekit_rooms_started_total[5m])".to_owned(),
        "rooms_finished" => "increase(mon_livekit_rooms_finished_total[5m])".to_owned(),
        "participants_joined" => "increase(mon_livekit_participants_joined_total[5m])".to_owned(),
        "participants_left" => "increase(mon_livekit_participants_left_total[5m])".to_owned(),
        "participants_aborted" => "increase(mon_livekit_participants_aborted_total[5m])".to_owned(),
        "egress_failures" => "increase(mon_livekit_egress_failures_total[5m])".to_owned(),
        "avg_room_duration_seconds" => mean("mon_livekit_room_duration_seconds", ""),
        // Security: the 5 m increase of the counters stands for the security window.
        "failed_logins" => {
            "sum(increase(mon_auth_attempts_total{result=\"failure\"}[5m]))".to_owned()
        }
        "security_events" => "sum(increase(mon_security_events_total[5m]))".to_owned(),
        "denied_ip_attempts" => {
            "sum(increase(mon_security_events_total{event=\"ip_denied\"}[5m]))".to_owned()
        }
        "rate_limited_per_min" => format!(
            "60 * {}",
            rate("mon_security_events_total{event=\"rate_limited\"}")
        ),
        // User experience: the session, feedback and feature counters.
        "active_sessions" => "mon_app_sessions_active".to_owned(),
        "total_sessions" => "mon_app_sessions_started_total".to_owned(),
        "sessions_per_minute" => format!("60 * {}", rate("mon_app_sessions_started_total")),
        "session_abandonment_rate" => format!(
            "{} / {}",
            rate("mon_app_sessions_ended_total{outcome=\"abandoned\"}"),
            rate("mon_app_sessions_ended_total")
        ),
        "csat_percent" => format!(
            "100 * {} / {}",
            rate("mon_app_feedback_satisfied_total"),
            rate("mon_app_feedback_total")
        ),
        "feedback_per_minute" => format!("60 * {}", rate("mon_app_feedback_total")),
        "feature_uses_per_minute" => format!("60 * {}", rate("mon_app_feature_uses_total")),
        "feedback_per_min" => {
            format!("60 * sum by (category) (rate(mon_app_feedback_total{m}[5m]))")
        }
        "category_csat_percent" => format!(
            "100 * sum by (category) (rate(mon_app_feedback_satisfied_total{m}[5m])) / sum by (category) (rate(mon_app_feedback_total{m}[5m]))"
        ),
        "feature_uses_per_min" => {
            format!("60 * sum by (feature) (rate(mon_app_feature_uses_total{m}[5m]))")
        }
        "endpoint_requests_per_min" => {
            format!("60 * sum by (endpoint) (rate(mon_app_requests_total{m}[5m]))")
        }
        "endpoint_avg_latency_ms" => format!(
            "1000 * sum by (endpoint) (rate(mon_app_request_duration_seconds_sum{m}[5m])) / sum by (endpoint) (rate(mon_app_request_duration_seconds_count{m}[5m]))"
        ),
        "endpoint_p95_latency_ms" => quantile("0.95", &m, ", endpoint"),
        "endpoint_error_rate_percent" => {
            let mut failed = labels.clone();
            failed.insert("status".to_owned(), String::new());
            let failed = matcher(&failed).replace("status=\"\"", "status=~\"5..\"");
            format!(
                "100 * sum by (endpoint) (rate(mon_app_requests_total{failed}[5m])) / sum by (endpoint) (rate(mon_app_requests_total{m}[5m]))"
            )
        }
        _ => return None,
    };
    Some(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_positions_wrap_at_24_columns() {
        let d = &crate::builtin_dashboards()[0];
        let g = grafana_json(d);
        let pos: Vec<(u64, u64)> = g["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["gridPos"]["x"].as_u64().unwrap(),
                    p["gridPos"]["y"].as_u64().unwrap(),
                )
            })
            .collect();
        // widths 6, 12, 6 | 8, 8, 8
        assert_eq!(pos, [(0, 0), (6, 0), (18, 0), (0, 6), (8, 6), (16, 6)]);
    }

    #[test]
    fn low_is_bad_thresholds_reverse_the_grafana_steps() {
        let d = &crate::builtin_dashboards()[0];
        let t = thresholds(&d.panels[0]); // health 80 / 60
        assert_eq!(t["steps"][0]["color"], "red");
        assert_eq!(t["steps"][2]["value"], 80.0);
        assert_eq!(d.panels[0].colour(70.0), crate::Colour::Yellow);
    }

    #[test]
    fn endpoint_labels_become_matchers() {
        let labels = BTreeMap::from([("endpoint".to_owned(), "/a\"b".to_owned())]);
        let e = promql("endpoint_error_rate_percent", &labels).unwrap();
        assert!(e.contains(r#"{endpoint="/a\"b",status=~"5.."}"#), "{e}");
        assert_eq!(promql("no_such", &labels), None);
    }

    #[test]
    fn every_livekit_panel_is_a_query() {
        let livekit = crate::builtin_dashboards()
            .into_iter()
            .find(|d| d.id == "livekit")
            .unwrap();
        let exported = grafana_json(&livekit);
        for panel in exported["panels"].as_array().unwrap() {
            assert_ne!(panel["type"], "text", "{panel}");
            assert!(panel["targets"][0]["expr"].is_string(), "{panel}");
        }
    }
}
