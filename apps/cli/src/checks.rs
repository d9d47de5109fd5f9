//! `mon checks list` and `mon checks show NAME`.

use crate::output::{latency, print_json, sparkline, status_word, table};
use crate::status::{check_views, checks_table};
use crate::{Ctx, Format, Outcome};
use serde_json::json;

pub(crate) fn list(ctx: &Ctx) -> Outcome {
    let checks = match ctx.client.get_json("/api/v1/checks") {
        Ok(v) => v["checks"].clone(),
        Err(outcome) => return outcome,
    };
    match ctx.format {
        Format::Json => print_json(&json!({ "checks": checks })),
        Format::Table => match check_views(checks) {
            Ok(views) => out!("{}", checks_table(&views, ctx.color)),
            Err(outcome) => return outcome,
        },
    }
    Outcome::Ok
}

pub(crate) fn show(ctx: &Ctx, name: &str, limit: usize) -> Outcome {
    let encoded = crate::client::encode(name);
    let check = match ctx.client.get_json(&format!("/api/v1/checks/{encoded}")) {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    let results = match ctx
        .client
        .get_json(&format!("/api/v1/checks/{encoded}/results?limit={limit}"))
    {
        Ok(v) => v["results"].clone(),
        Err(outcome) => return outcome,
    };
    match ctx.format {
        Format::Json => print_json(&json!({ "check": check, "results": results })),
        Format::Table => {
            let results = results.as_array().cloned().unwrap_or_default();
            // Oldest first, so the sparkline reads left to right.
            let latencies: Vec<f64> = results
                .iter()
                .rev()
                .map(|r| r["latency_ms"].as_f64().unwrap_or(f64::NAN))
                .collect();
            outln!(
                "{name}: {} ({}, critical: {})\n{}",
                status_word(check["status"].as_str().unwrap_or("unknown"), ctx.color),
                check["kind"].as_str().unwrap_or("?"),
                check["critical"],
                check["message"].as_str().unwrap_or("")
            );
            outln!("latency, last {}: {}", results.len(), sparkline(&latencies));
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|r| {
                    vec![
                        r["observed_at"].as_str().unwrap_or("").to_string(),
                        status_word(r["status"].as_str().unwrap_or("unknown"), ctx.color),
                        latency(r["latency_ms"].as_f64()),
                        r["message"].as_str().unwrap_or("").to_string(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table(&["OBSERVED", "STATUS", "LATENCY", "MESSAGE"], &rows, &[2])
            );
        }
    }
    if check["status"] == "unhealthy" {
        Outcome::Unhealthy
    } else {
        Outcome::Ok
    }
}
