//! `mon report`: a stakeholder report — uptime, incidents, calls, voice quality,
//! satisfaction, AI cost, top errors, experiments and deployments — made now over a
//! period (`GET /api/v1/reports`), or the last scheduled one (`--latest`,
//! `GET /api/v1/reports/latest`). docs/reports.md.

use crate::client::encode;
use crate::format::time;
use crate::output::{print_json, table};
use crate::{Ctx, Format, Outcome};
use clap::Args;
use mon_api::reports::ReportAnswer;

/// `mon report`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  mon report --since 7d\n  mon report --since 24h --source demo\n  mon report --latest"
)]
pub(crate) struct ReportArgs {
    /// The period's start (RFC 3339 time or a duration ago: 24h, 7d) [default: 7d].
    #[arg(long, value_parser = crate::time_arg, conflicts_with = "latest")]
    since: Option<String>,
    /// Count the events of this ingest source label (`demo`) instead of the unlabelled ones.
    #[arg(long, conflicts_with = "latest")]
    source: Option<String>,
    /// The last scheduled report (`reports.schedule`) instead of one made now.
    #[arg(long)]
    latest: bool,
}

/// Runs `mon report`.
pub(crate) fn run(ctx: &Ctx, args: ReportArgs) -> Outcome {
    let path = if args.latest {
        "/api/v1/reports/latest".to_owned()
    } else {
        let mut path = format!(
            "/api/v1/reports?since={}",
            encode(args.since.as_deref().unwrap_or("7d"))
        );
        if let Some(source) = &args.source {
            path.push_str(&format!("&source={}", encode(source)));
        }
        path
    };
    match ctx.client.get_answer::<ReportAnswer>(&path) {
        Ok((json, report)) => {
            match ctx.format {
                Format::Json => print_json(&json),
                Format::Table => print_report(&report),
            }
            Outcome::Ok
        }
        Err(o) => o,
    }
}

fn print_report(report: &ReportAnswer) {
    outln!("{}", report.title);
    outln!("{} to {}", time(&report.from), time(&report.to));
    for section in &report.sections {
        outln!("\n{}", section.title.to_uppercase());
        let figures: Vec<Vec<String>> = section
            .figures
            .iter()
            .map(|f| vec![f.label.clone(), f.text.clone()])
            .collect();
        out!("{}", table(&["FIGURE", "VALUE"], &figures, &[1]));
        if let Some(note) = &section.note {
            outln!("{note}");
        }
        if !section.table.rows.is_empty() {
            let columns: Vec<String> = section
                .table
                .columns
                .iter()
                .map(|c| c.to_uppercase())
                .collect();
            let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
            out!("{}", table(&columns, &section.table.rows, &[]));
        }
    }
}
