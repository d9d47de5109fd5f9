//! `mon probe -c FILE [--only NAME]`: run the configured checks once, here, and print a table.

use crate::format::latency;
use crate::output::{print_json, status_word, table};
use crate::{Ctx, Format, Outcome};
use mon_health::{HealthRegistry, Scheduler, SchedulerOptions};
use serde_json::json;
use std::io::IsTerminal;
use std::path::Path;

pub(crate) fn run(ctx: &Ctx, file: &Path, only: &[String]) -> Outcome {
    let config = match crate::config_cmd::load(Some(file)) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    if let Some(unknown) = only
        .iter()
        .find(|n| !config.checks.iter().any(|c| &c.name == *n))
    {
        let names: Vec<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
        return Outcome::Usage(format!(
            "no check named {unknown:?} in {}; it has: {}",
            file.display(),
            names.join(", ")
        ));
    }
    let mut scheduler = Scheduler::new(HealthRegistry::new(), SchedulerOptions::default());
    for check in config
        .checks
        .iter()
        .filter(|c| only.is_empty() || only.contains(&c.name))
    {
        if let Err(e) = scheduler.add_config(check) {
            return Outcome::Usage(format!("check {:?}: {e}", check.name));
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Outcome::Usage(format!("cannot start: {e}")),
    };
    let progress = std::io::stderr().is_terminal();
    if progress {
        err!(
            "probing {} check(s)…",
            if only.is_empty() {
                config.checks.len()
            } else {
                only.len()
            }
        );
    }
    let results = runtime.block_on(scheduler.run_once());
    if progress {
        err!("\r\x1b[2K");
    }
    let unhealthy = results
        .iter()
        .any(|r| r.outcome.status == mon_core::Status::Unhealthy);
    match ctx.format {
        Format::Json => {
            let items: Vec<_> = results
                .iter()
                .map(|r| json!({ "check": r.check, "outcome": r.outcome }))
                .collect();
            print_json(&json!({ "results": items, "unhealthy": unhealthy }));
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|r| {
                    vec![
                        r.check.clone(),
                        status_word(r.outcome.status.as_str(), ctx.color),
                        latency(Some(r.outcome.latency.as_secs_f64() * 1000.0)),
                        r.outcome.message.clone(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table(&["CHECK", "STATUS", "LATENCY", "MESSAGE"], &rows, &[2])
            );
        }
    }
    if unhealthy {
        Outcome::Unhealthy
    } else {
        Outcome::Ok
    }
}
