//! `mon experiments list|show`: the variants of each experiment (events tagged
//! `experiment` and `variant`, `GET /api/v1/experiments`) and one experiment's variants
//! against its control (`GET /api/v1/experiments/{name}`). How to read the figures:
//! docs/experiments.md.

use crate::client::encode;
use crate::format::{maybe, time, unit_of};
use crate::output::{print_json, table};
use crate::{Ctx, Format, Outcome};
use clap::Subcommand;
use mon_api::experiments::{ExperimentAnswer, ExperimentsAnswer};
use mon_api::stats::{Interval, RateComparison, SampleComparison};
use mon_core::catalog::Unit;

/// `mon experiments …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ExperimentsCommand {
    /// Experiments seen since a time: each variant with its events, first and last seen.
    #[command(after_help = "Examples:\n  mon experiments list\n  mon experiments list --since 7d")]
    List {
        /// Events since (RFC 3339 time or a duration ago: 24h, 30d) [default: 30d].
        #[arg(long, value_parser = crate::time_arg)]
        since: Option<String>,
    },
    /// One experiment: the findings, then each variant against the control, metric by metric.
    #[command(
        after_help = "Examples:\n  mon experiments show prompt-v2\n  mon experiments show prompt-v2 --control a --confidence 0.99 --since 7d"
    )]
    Show {
        /// The experiment's name (as `experiments list` shows it).
        name: String,
        /// Events since (RFC 3339 time or a duration ago) [default: 30d].
        #[arg(long, value_parser = crate::time_arg)]
        since: Option<String>,
        /// The variant the others are compared with [default: `control`, else the first by name].
        #[arg(long)]
        control: Option<String>,
        /// The confidence level, e.g. 0.90, 0.95 or 0.99 [default: 0.95].
        #[arg(long)]
        confidence: Option<String>,
    },
}

/// Runs one `mon experiments` command.
pub(crate) fn run(ctx: &Ctx, command: ExperimentsCommand) -> Outcome {
    match command {
        ExperimentsCommand::List { since } => list(ctx, since.as_deref()),
        ExperimentsCommand::Show {
            name,
            since,
            control,
            confidence,
        } => {
            let mut query: Vec<String> = Vec::new();
            for (key, value) in [
                ("since", since),
                ("control", control),
                ("confidence", confidence),
            ] {
                if let Some(v) = value {
                    query.push(format!("{key}={}", encode(&v)));
                }
            }
            let mut path = format!("/api/v1/experiments/{}", encode(&name));
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            match ctx.client.get_answer::<ExperimentAnswer>(&path) {
                Ok((json, answer)) => {
                    match ctx.format {
                        Format::Json => print_json(&json),
                        Format::Table => print_experiment(&answer),
                    }
                    Outcome::Ok
                }
                Err(o) => o,
            }
        }
    }
}

fn list(ctx: &Ctx, since: Option<&str>) -> Outcome {
    let path = format!(
        "/api/v1/experiments?since={}",
        encode(since.unwrap_or("30d"))
    );
    let (json, answer) = match ctx.client.get_answer::<ExperimentsAnswer>(&path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&json),
        Format::Table if answer.experiments.is_empty() => outln!(
            "no experiments: tag events with \"experiment\" and \"variant\" (docs/experiments.md)"
        ),
        Format::Table => {
            let rows: Vec<Vec<String>> = answer
                .experiments
                .iter()
                .flat_map(|x| {
                    x.variants.iter().map(|v| {
                        vec![
                            x.name.clone(),
                            v.variant.clone(),
                            v.events.to_string(),
                            time(&v.first_seen),
                            time(&v.last_seen),
                        ]
                    })
                })
                .collect();
            out!(
                "{}",
                table(
                    &["EXPERIMENT", "VARIANT", "EVENTS", "FIRST SEEN", "LAST SEEN"],
                    &rows,
                    &[2]
                )
            );
        }
    }
    Outcome::Ok
}

fn print_experiment(answer: &ExperimentAnswer) {
    let variants: Vec<String> = answer
        .variants
        .iter()
        .map(|v| format!("{} ({} events)", v.variant, v.events))
        .collect();
    outln!(
        "experiment {}: control {}, confidence {} %\nvariants: {}",
        answer.experiment,
        answer.control,
        crate::format::number(answer.confidence * 100.0),
        variants.join(", ")
    );
    for w in &answer.warnings {
        outln!("warning: {w}");
    }
    let findings: Vec<&String> = answer
        .comparisons
        .iter()
        .flat_map(|c| &c.findings)
        .collect();
    if findings.is_empty() {
        outln!(
            "\nfindings: none (no variant differs significantly from {})",
            answer.control
        );
    } else {
        outln!("\nfindings:");
        for f in findings {
            outln!("  {f}");
        }
    }
    if answer.comparisons.is_empty() {
        outln!("\nonly one variant: nothing to compare");
    }
    for c in &answer.comparisons {
        outln!("\n{} against {}:", c.variant, c.control);
        let rows: Vec<Vec<String>> = c
            .rates
            .iter()
            .map(|(name, r)| rate_row(name, r))
            .chain(c.samples.iter().map(|(name, s)| sample_row(name, s)))
            .collect();
        out!(
            "{}",
            table(
                &[
                    "METRIC",
                    "CONTROL",
                    "VARIANT",
                    "DIFFERENCE [INTERVAL]",
                    "P",
                    "SIGNIFICANT"
                ],
                &rows,
                &[]
            )
        );
        for w in &c.warnings {
            outln!("warning: {w}");
        }
    }
}

/// A p-value to 3 decimals, `<0.001` below.
fn p(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 0.001 => "<0.001".to_string(),
        Some(v) => format!("{v:.3}"),
        None => "-".to_string(),
    }
}

fn yes_no(significant: bool) -> String {
    if significant { "yes" } else { "no" }.to_string()
}

/// `+2.9 pts [0.6, 5.2]` (a rate difference) or `+12 ms [3 ms, 21 ms]`.
fn difference(d: Option<f64>, interval: Option<Interval>, show: impl Fn(f64) -> String) -> String {
    let Some(d) = d else {
        return "-".to_string();
    };
    let sign = if d > 0.0 { "+" } else { "" };
    match interval {
        Some(i) => format!("{sign}{} [{}, {}]", show(d), show(i.low), show(i.high)),
        None => format!("{sign}{}", show(d)),
    }
}

fn rate_row(name: &str, r: &RateComparison) -> Vec<String> {
    let side = |e: &mon_api::stats::RateEstimate| {
        let rate = e
            .rate
            .map_or_else(|| "-".to_string(), |r| format!("{:.1} %", r * 100.0));
        format!("{rate} ({}/{})", e.successes, e.trials)
    };
    vec![
        name.to_string(),
        side(&r.a),
        side(&r.b),
        difference(r.difference, r.difference_interval, |v| {
            format!("{:.1} pts", v * 100.0)
        }),
        p(r.p_value),
        yes_no(r.significant),
    ]
}

fn sample_row(name: &str, s: &SampleComparison) -> Vec<String> {
    let unit = if name == "mos" {
        Some(Unit::Mos)
    } else {
        unit_of(name)
    };
    let show = |v: f64| maybe(Some(v), unit);
    let side = |m: &mon_api::stats::MeanEstimate, r: &mon_api::stats::RankEstimate| {
        let spread = r.percentiles.map_or_else(String::new, |q| {
            format!(", p50 {}, p95 {}", show(q.p50), show(q.p95))
        });
        format!("mean {}{spread} (n {})", maybe(m.mean, unit), m.n)
    };
    vec![
        name.to_string(),
        side(&s.means.a, &s.ranks.a),
        side(&s.means.b, &s.ranks.b),
        difference(s.means.difference, s.means.difference_interval, show),
        format!("{} (ranks {})", p(s.means.p_value), p(s.ranks.p_value)),
        yes_no(s.means.significant),
    ]
}
