//! `mon status`: the overall status and a table of checks (or JSON).

use crate::format::{latency, value};
use crate::output::{print_json, status_word, table};
use crate::{Ctx, Format, Outcome};
use mon_api::answers::{CheckView, ChecksAnswer, StatusAnswer};
use mon_core::catalog::Unit;
use serde_json::{Value, json};

pub(crate) fn run(ctx: &Ctx) -> Outcome {
    let status: StatusAnswer = match ctx.client.get_as("/api/v1/status") {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    let (checks_json, ChecksAnswer { checks }) = match ctx.client.get_answer("/api/v1/checks") {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    match ctx.format {
        Format::Json => {
            let mut out = json!(status);
            if let Some(map) = out.as_object_mut() {
                map.insert(
                    "checks_detail".into(),
                    checks_json.get("checks").cloned().unwrap_or_default(),
                );
                map.insert("server".into(), Value::from(ctx.client.server()));
            }
            print_json(&out);
        }
        Format::Table => out!(
            "{}",
            render(ctx.client.server(), &status, &checks, ctx.color)
        ),
    }
    if status.status == "unhealthy" {
        Outcome::Unhealthy
    } else {
        Outcome::Ok
    }
}

pub(crate) fn render(
    server: &str,
    status: &StatusAnswer,
    checks: &[CheckView],
    color: bool,
) -> String {
    let summary = &status.checks;
    let mut out = format!(
        "{server}: {} ({}/{} checks healthy, {}), {} active alert(s)\n",
        status_word(&status.status, color),
        summary.healthy,
        summary.total,
        value(summary.health_percentage, Some(Unit::Percent)),
        status.alerts.active,
    );
    out.push_str(&checks_table(checks, color));
    out
}

pub(crate) fn checks_table(checks: &[CheckView], color: bool) -> String {
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                status_word(&c.status, color),
                latency(c.latency_ms),
                c.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(&["CHECK", "STATUS", "LATENCY", "MESSAGE"], &rows, &[2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_an_aligned_table() {
        let status: StatusAnswer = serde_json::from_value(json!({
            "status": "degraded", "timestamp": "2026-01-01T00:00:00Z", "version": "0.1.0",
            "started_at": "2026-01-01T00:00:00Z", "uptime_seconds": 0,
            "checks": {"healthy": 1, "total": 2, "health_percentage": 50.0},
            "alerts": {"active": 0}, "store": {"queue_depth": 0}, "exporters": {}, "snapshot": {}
        }))
        .expect("a status answer");
        let checks: Vec<CheckView> = serde_json::from_value(json!([
            {"name":"host","kind":"system","critical":false,"status":"healthy","latency_ms":201.4,"message":"cpu 3%","observed_at":null},
            {"name":"api-gateway","kind":"http","critical":true,"status":"unhealthy","latency_ms":null,"message":"connection refused","observed_at":null}
        ]))
        .expect("check views");
        assert_eq!(
            render("http://x", &status, &checks, false),
            "http://x: degraded (1/2 checks healthy, 50 %), 0 active alert(s)\n\
             CHECK        STATUS     LATENCY  MESSAGE\n\
             host         healthy     201 ms  cpu 3%\n\
             api-gateway  unhealthy        -  connection refused\n"
        );
    }
}
