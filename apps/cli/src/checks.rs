//! `mon checks list` and `mon checks show NAME`.

use crate::format::latency;
use crate::format::time;
use crate::output::{print_json, sparkline, status_word, table};
use crate::status::checks_table;
use crate::{Ctx, Format, Outcome};
use mon_api::answers::{CheckResultsAnswer, CheckView, ChecksAnswer};
use serde_json::json;

pub(crate) fn list(ctx: &Ctx) -> Outcome {
    let (json, ChecksAnswer { checks }) = match ctx.client.get_answer("/api/v1/checks") {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    match ctx.format {
        Format::Json => print_json(&json!({ "checks": json.get("checks") })),
        Format::Table => out!("{}", checks_table(&checks, ctx.color)),
    }
    Outcome::Ok
}

pub(crate) fn show(ctx: &Ctx, name: &str, limit: usize) -> Outcome {
    let encoded = crate::client::encode(name);
    let (check_json, check) = match ctx
        .client
        .get_answer::<CheckView>(&format!("/api/v1/checks/{encoded}"))
    {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    let (results_json, CheckResultsAnswer { results, .. }) = match ctx
        .client
        .get_answer(&format!("/api/v1/checks/{encoded}/results?limit={limit}"))
    {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    match ctx.format {
        Format::Json => {
            print_json(&json!({ "check": check_json, "results": results_json.get("results") }))
        }
        Format::Table => {
            // Oldest first, so the sparkline reads left to right.
            let latencies: Vec<f64> = results
                .iter()
                .rev()
                .map(|r| r.latency_ms.unwrap_or(f64::NAN))
                .collect();
            outln!(
                "{name}: {} ({}, critical: {})\n{}",
                status_word(&check.status, ctx.color),
                check.kind,
                check.critical,
                check.message.as_deref().unwrap_or("")
            );
            outln!("latency, last {}: {}", results.len(), sparkline(&latencies));
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|r| {
                    vec![
                        time(&r.observed_at),
                        status_word(&r.status, ctx.color),
                        latency(r.latency_ms),
                        r.message.clone(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table(&["OBSERVED", "STATUS", "LATENCY", "MESSAGE"], &rows, &[2])
            );
        }
    }
    if check.status == "unhealthy" {
        Outcome::Unhealthy
    } else {
        Outcome::Ok
    }
}
