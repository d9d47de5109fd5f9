//! `mon status`: the overall status and a table of checks (or JSON).

use crate::output::{latency, print_json, status_word, table};
use crate::{Ctx, Format, Outcome};
use serde_json::Value;

pub(crate) fn run(ctx: &Ctx) -> Outcome {
    let status = match ctx.client.get_json("/api/v1/status") {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    let checks = match ctx.client.get_json("/api/v1/checks") {
        Ok(v) => v["checks"].clone(),
        Err(outcome) => return outcome,
    };
    let overall = status["status"].as_str().unwrap_or("unknown").to_string();
    match ctx.format {
        Format::Json => {
            let mut out = status;
            out["checks_detail"] = checks;
            out["server"] = Value::from(ctx.client.server());
            print_json(&out);
        }
        Format::Table => out!(
            "{}",
            render(ctx.client.server(), &status, &checks, ctx.color)
        ),
    }
    if overall == "unhealthy" {
        Outcome::Unhealthy
    } else {
        Outcome::Ok
    }
}

/// The human-readable view: a summary line and the checks table.
pub(crate) fn render(server: &str, status: &Value, checks: &Value, color: bool) -> String {
    let summary = &status["checks"];
    let mut out = format!(
        "{server}: {} ({}/{} checks healthy, {}%), {} active alert(s)\n",
        status_word(status["status"].as_str().unwrap_or("unknown"), color),
        summary["healthy"],
        summary["total"],
        summary["health_percentage"],
        status["alerts"]["active"],
    );
    out.push_str(&checks_table(checks, color));
    out
}

/// CHECK / STATUS / LATENCY / MESSAGE rows from `/api/v1/checks` entries.
pub(crate) fn checks_table(checks: &Value, color: bool) -> String {
    let rows: Vec<Vec<String>> = checks
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            vec![
                c["name"].as_str().unwrap_or("?").to_string(),
                status_word(c["status"].as_str().unwrap_or("unknown"), color),
                latency(c["latency_ms"].as_f64()),
                c["message"].as_str().unwrap_or("").to_string(),
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
        let status = json!({"status":"degraded","checks":{"healthy":1,"total":2,"health_percentage":50.0},"alerts":{"active":0}});
        let checks = json!([
            {"name":"host","status":"healthy","latency_ms":201.4,"message":"cpu 3%"},
            {"name":"api-gateway","status":"unhealthy","latency_ms":null,"message":"connection refused"}
        ]);
        assert_eq!(
            render("http://x", &status, &checks, false),
            "http://x: degraded (1/2 checks healthy, 50.0%), 0 active alert(s)\n\
             CHECK        STATUS     LATENCY  MESSAGE\n\
             host         healthy     201 ms  cpu 3%\n\
             api-gateway  unhealthy        -  connection refused\n"
        );
    }
}
