//! `mon incidents list|show|open|update`: the incidents shown on the public status page
//! (`GET /api/v1/incidents`, `POST /api/v1/incidents`, `POST /api/v1/incidents/{id}/updates`).

use crate::format::{or_dash, time};
use crate::output::{print_json, status_word, table};
use crate::{Ctx, Format, Outcome};
use clap::Subcommand;
use mon_api::incidents::{IncidentBody, IncidentUpdateBody, IncidentView, IncidentsAnswer};

/// The statuses an update takes, in the order an incident usually goes through them.
const STATUSES: [&str; 4] = ["investigating", "identified", "monitoring", "resolved"];

/// `mon incidents …`.
#[derive(Debug, Subcommand)]
pub(crate) enum IncidentsCommand {
    /// Incidents, newest first: status, severity, title, last update.
    #[command(after_help = "Examples:\n  mon incidents list\n  mon incidents list --open")]
    List {
        /// Only those not resolved.
        #[arg(long)]
        open: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One incident with every update.
    #[command(after_help = "Example:\n  mon incidents show 3")]
    Show {
        /// The incident's id (as `incidents list` shows it).
        id: i64,
    },
    /// Open an incident, by hand or from an alert (needs an admin token).
    #[command(
        after_help = "Examples:\n  mon incidents open --title \"Calls drop after 30 s\" --severity critical --message \"We are looking into it\"\n  mon incidents open --alert 3f9c2a1b --message \"TTS provider answers 503\""
    )]
    Open {
        /// The headline (default with --alert: the alert's summary).
        #[arg(long)]
        title: Option<String>,
        /// info, warning (default by hand), error or critical (default with --alert: the alert's).
        #[arg(long)]
        severity: Option<String>,
        /// The alert it starts from: its id or a unique prefix (as `alerts list` shows it).
        #[arg(long = "alert", value_name = "ALERT_ID")]
        alert: Option<String>,
        /// The first update's status (default investigating).
        #[arg(long, value_parser = STATUSES)]
        status: Option<String>,
        /// The first update's text, as the status page shows it.
        #[arg(long)]
        message: String,
    },
    /// Post an update; `--status resolved` resolves the incident (needs an admin token).
    #[command(
        after_help = "Examples:\n  mon incidents update 3 --status identified --message \"The TTS provider is degraded\"\n  mon incidents update 3 --status resolved --message \"Calls are back to normal\""
    )]
    Update {
        /// The incident's id.
        id: i64,
        /// investigating, identified, monitoring or resolved.
        #[arg(long, value_parser = STATUSES)]
        status: String,
        /// What it says.
        #[arg(long)]
        message: String,
    },
}

/// Runs one `mon incidents` command.
pub(crate) fn run(ctx: &Ctx, command: IncidentsCommand) -> Outcome {
    match command {
        IncidentsCommand::List { open, limit } => list(ctx, open, limit),
        IncidentsCommand::Show { id } => show(ctx, id),
        IncidentsCommand::Open {
            title,
            severity,
            alert,
            status,
            message,
        } => {
            let alert_id = match alert {
                Some(given) => match crate::alerts::full_id(ctx, &given) {
                    Ok(id) => Some(id),
                    Err(o) => return o,
                },
                None => None,
            };
            let body = IncidentBody {
                title,
                severity,
                alert_id,
                status,
                message,
            };
            written(
                ctx,
                ctx.client
                    .post_answer::<IncidentView>("/api/v1/incidents", &body),
            )
        }
        IncidentsCommand::Update {
            id,
            status,
            message,
        } => written(
            ctx,
            ctx.client.post_answer::<IncidentView>(
                &format!("/api/v1/incidents/{id}/updates"),
                &IncidentUpdateBody { status, message },
            ),
        ),
    }
}

fn list(ctx: &Ctx, open: bool, limit: usize) -> Outcome {
    let (mut answer, IncidentsAnswer { incidents, .. }) = match ctx
        .client
        .get_answer(&format!("/api/v1/incidents?limit={limit}"))
    {
        Ok(v) => v,
        Err(o) => return o,
    };
    let shown: Vec<&IncidentView> = incidents
        .iter()
        .filter(|i| !open || i.resolved_at.is_none())
        .collect();
    match ctx.format {
        Format::Json => {
            if open {
                answer["incidents"] = serde_json::to_value(&shown).unwrap_or_default();
                answer["count"] = shown.len().into();
            }
            print_json(&answer);
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = shown
                .iter()
                .map(|i| {
                    vec![
                        i.id.to_string(),
                        status_word(&i.status, ctx.color),
                        status_word(&i.severity, ctx.color),
                        i.title.clone(),
                        time(&i.updated_at),
                        or_dash(i.alert_id.as_deref()),
                    ]
                })
                .collect();
            if rows.is_empty() {
                outln!("no {}incidents", if open { "open " } else { "" });
            } else {
                out!(
                    "{}",
                    table(
                        &["ID", "STATUS", "SEVERITY", "TITLE", "UPDATED", "ALERT"],
                        &rows,
                        &[]
                    )
                );
            }
        }
    }
    Outcome::Ok
}

fn show(ctx: &Ctx, id: i64) -> Outcome {
    written(
        ctx,
        ctx.client
            .get_answer::<IncidentView>(&format!("/api/v1/incidents/{id}")),
    )
}

/// Prints the incident an answer holds.
fn written(ctx: &Ctx, answer: Result<(serde_json::Value, IncidentView), Outcome>) -> Outcome {
    match answer {
        Ok((json, incident)) => {
            match ctx.format {
                Format::Json => print_json(&json),
                Format::Table => print_incident(ctx, &incident),
            }
            Outcome::Ok
        }
        Err(o) => o,
    }
}

fn print_incident(ctx: &Ctx, incident: &IncidentView) {
    outln!(
        "incident {} [{}] {} — {}\nopened: {}  updated: {}  resolved: {}  alert: {}",
        incident.id,
        status_word(&incident.severity, ctx.color),
        incident.title,
        status_word(&incident.status, ctx.color),
        time(&incident.created_at),
        time(&incident.updated_at),
        incident
            .resolved_at
            .as_ref()
            .map_or_else(|| "-".into(), time),
        or_dash(incident.alert_id.as_deref()),
    );
    let rows: Vec<Vec<String>> = incident
        .updates
        .iter()
        .map(|u| {
            vec![
                time(&u.at),
                u.status.clone(),
                u.author.clone(),
                u.message.clone(),
            ]
        })
        .collect();
    out!(
        "{}",
        table(&["WHEN", "STATUS", "BY", "MESSAGE"], &rows, &[])
    );
}
