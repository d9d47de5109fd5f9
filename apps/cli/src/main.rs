//! `mon`: the command-line client of mon-server, and local tools that need no server.
//!
//! Exit codes: 0 ok, 1 unhealthy (where that is the question), 2 usage or configuration
//! error, 3 server unreachable or the request refused.

// The CLI's output is its interface.
// Output goes through `out!`/`outln!` and `err!`/`errln!`, which never panic on a closed pipe.
#![deny(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
mod output;
mod alerts;
mod backup;
mod checks;
mod client;
mod config_cmd;
mod demo;
mod experiments;
mod format;
mod incidents;
mod metrics;
mod observe;
mod probe;
mod push;
mod report;
mod security;
mod status;
mod watch;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Operate a mon server, or check configuration and probe dependencies locally.
#[derive(Debug, Parser)]
#[command(name = "mon", version, about, propagate_version = true)]
struct Cli {
    /// The server's base URL [default: http://127.0.0.1:8480; an empty value means the default].
    #[arg(long, global = true, env = "MON_SERVER")]
    server: Option<String>,
    /// A bearer token (needed when the server has tokens configured; an empty value means none).
    #[arg(long, global = true, env = "MON_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    /// Never colour the output (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    no_color: bool,
    #[command(subcommand)]
    command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people.
    Table,
    /// Stable JSON for scripts.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the server's overall status and every check (exit 1 when unhealthy).
    #[command(
        after_help = "Examples:\n  mon status\n  mon status --server http://10.0.0.5:8480 --json"
    )]
    Status {
        /// Print JSON (the same as --output json).
        #[arg(long)]
        json: bool,
    },
    /// A live status view: checks, firing alerts and voice figures, redrawn every --interval.
    #[command(
        after_help = "Examples:\n  mon watch\n  mon watch --interval 10s\n  mon watch --once   # one frame, exit 1 when unhealthy"
    )]
    Watch {
        /// How often to redraw.
        #[arg(long, default_value = "5s", value_parser = duration_arg)]
        interval: String,
        /// Print one frame and exit (no screen clearing), with the exit code of `mon status`.
        #[arg(long)]
        once: bool,
    },
    /// List checks, or show one check's recent results.
    #[command(subcommand)]
    Checks(ChecksCommand),
    /// List, show, acknowledge and resolve alerts.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Mute notifications for matching alerts for a while.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Incidents on the public status page: list, show, open, post updates.
    #[command(subcommand)]
    Incidents(incidents::IncidentsCommand),
    /// Experiments: their variants, and each variant against the control with its statistics.
    #[command(subcommand)]
    Experiments(experiments::ExperimentsCommand),
    /// A stakeholder report: uptime, incidents, calls, voice quality, CSAT, AI cost,
    /// top errors, experiments and deployments over a period.
    Report(report::ReportArgs),
    /// Alert rules and their current state.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Notification channels: their health, and a test send.
    #[command(subcommand)]
    Channels(ChannelsCommand),
    /// Stored time series: list them, query one as a table or a terminal chart.
    #[command(subcommand)]
    Metrics(MetricsCommand),
    /// Tracked errors, grouped by fingerprint.
    #[command(subcommand)]
    Errors(ErrorsCommand),
    /// Search stored log records (WARN and above by default, and ingested `log` events).
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Authentication and security: the summary now, and the stored events.
    #[command(subcommand)]
    Security(security::SecurityCommand),
    /// Work with configuration files (no server needed).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the checks of a configuration once, here, and print a table (exit 1 when any is unhealthy).
    #[command(
        after_help = "Examples:\n  mon probe -c mon.yaml\n  mon probe -c mon.yaml --only api --only cache"
    )]
    Probe {
        /// The configuration file whose checks to run.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// Run only this check (repeatable).
        #[arg(long, value_name = "NAME")]
        only: Vec<String>,
    },
    /// Push application events to the server (`POST /api/v1/events`; needs an ingest token).
    #[command(
        after_help = "Examples:\n  mon events send --type gauge --set name=queue_depth --set value=3 --set labels.queue=stt\n  \
echo '{\"type\":\"call_started\",\"call_id\":\"c1\"}' | mon events send\n  mon events send < events.ndjson"
    )]
    #[command(subcommand)]
    Events(EventsCommand),
    /// Ping a heartbeat check (for cron jobs: `--start` before, plain ping after success, `--fail` on failure).
    #[command(
        after_help = "Example:\n  mon heartbeat nightly-backup --start && backup.sh && mon heartbeat nightly-backup || mon heartbeat nightly-backup --fail"
    )]
    Heartbeat {
        /// The heartbeat check's name.
        name: String,
        /// The job started (measures its run time).
        #[arg(long, conflicts_with = "fail")]
        start: bool,
        /// The job failed.
        #[arg(long)]
        fail: bool,
    },
    /// Send a few minutes of realistic voice-agent traffic to a running server (labelled
    /// source=demo), or delete it again with --delete.
    #[command(
        after_help = "Examples:\n  MON_TOKEN=$MON_ADMIN_TOKEN mon demo           # 3 minutes at real pace\n  mon demo --fast                                # the last hour, replayed in seconds\n  mon demo --livekit-key APIxxx --livekit-secret ...   # LiveKit events as signed webhooks\n  mon demo --delete                              # remove every row labelled source=demo (admin token)"
    )]
    Demo {
        /// Minutes of traffic to send at real pace.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1440))]
        minutes: u32,
        /// Replay the last hour in seconds (timestamped events) instead.
        #[arg(long, conflicts_with = "minutes")]
        fast: bool,
        /// The LiveKit webhook API key the server verifies (`livekit.webhook.api_key`):
        /// LiveKit events go as signed webhooks to /api/v1/webhooks/livekit.
        #[arg(long, env = "LIVEKIT_API_KEY", requires = "livekit_secret")]
        livekit_key: Option<String>,
        /// The matching API secret.
        #[arg(
            long,
            env = "LIVEKIT_API_SECRET",
            hide_env_values = true,
            requires = "livekit_key"
        )]
        livekit_secret: Option<String>,
        /// Delete every stored row labelled source=demo instead (needs an admin token).
        #[arg(long, conflicts_with_all = ["fast", "minutes"])]
        delete: bool,
    },
    /// Print a shell completion script.
    /// Save an online, consistent copy of the server's store to FILE (a new file; admin token).
    /// Restore: stop mon-server, put the copy in place of `storage.path` (and remove that
    /// file's `-wal` and `-shm` companions), start it again.
    #[command(
        after_help = "Example:\n  MON_TOKEN=$ADMIN_TOKEN mon backup /var/backups/mon-$(date +%F).db"
    )]
    Backup {
        /// Where to write the copy; it must not exist.
        file: PathBuf,
    },
    #[command(after_help = "Example:\n  mon completions bash > /etc/bash_completion.d/mon")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum ChecksCommand {
    /// Every check with its status, latency and message.
    #[command(after_help = "Example:\n  mon checks list")]
    List,
    /// One check: its state and recent results with a latency sparkline.
    #[command(after_help = "Example:\n  mon checks show api --limit 50")]
    Show {
        /// The check's name.
        name: String,
        /// How many recent results to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
    /// Open alerts (exit 1 when any is firing), or filtered by state and severity.
    #[command(
        after_help = "Examples:\n  mon alerts list\n  mon alerts list --state all --severity critical"
    )]
    List {
        /// pending | firing | acknowledged | resolved | all (default: the open ones).
        #[arg(long)]
        state: Option<String>,
        /// info | warning | error | critical.
        #[arg(long)]
        severity: Option<String>,
    },
    /// One alert with its history.
    #[command(after_help = "Example:\n  mon alerts show 7f3a…")]
    Show {
        /// The alert's id.
        id: String,
    },
    /// Acknowledge a firing alert: reminders stop (needs an admin token).
    #[command(
        after_help = "Example:\n  mon alerts ack 7f3a… --comment \"restarting the SIP trunk\""
    )]
    Ack {
        /// The alert's id.
        id: String,
        /// Why, for the alert's history.
        #[arg(long)]
        comment: Option<String>,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Resolve an open alert by hand (needs an admin token).
    #[command(after_help = "Example:\n  mon alerts resolve 7f3a… --comment \"fixed\"")]
    Resolve {
        /// The alert's id.
        id: String,
        /// Why, for the alert's history.
        #[arg(long)]
        comment: Option<String>,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Raise an alert without a rule (or resolve it with --resolve): deduplicated by
    /// title and labels, routed, silenced and notified like rules' alerts (needs an
    /// ingest token).
    #[command(
        after_help = "Examples:\n  mon alerts send --severity critical --title \"TTS down\" --message \"ElevenLabs answers 503\" --label service=agent\n  mon alerts send --title \"TTS down\" --label service=agent --resolve"
    )]
    Send(alerts::SendArgs),
    /// Per rule: how often it fired, how often it was acknowledged or resolved on its
    /// own, a verdict (noisy, ok, quiet) and a suggested threshold or `for`.
    #[command(
        after_help = "Examples:\n  mon alerts quality\n  mon alerts quality --since 30d --flap-minutes 10"
    )]
    Quality {
        /// Alerts that fired since (RFC 3339 time or a duration ago: 24h, 7d).
        #[arg(long, default_value = "7d", value_parser = time_arg)]
        since: String,
        /// An unacknowledged alert that resolves on its own within this many minutes
        /// of firing counts as self-resolved (1 to 1440).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1440))]
        flap_minutes: u32,
    },
}

#[derive(Debug, Subcommand)]
enum SilenceCommand {
    /// Silence alerts whose labels match (needs an admin token).
    #[command(
        after_help = "Example:\n  mon silence add --match service=livekit --match severity!=critical --for 2h --comment \"maintenance\""
    )]
    Add {
        /// label=value or label!=value (repeatable; `alertname` and `severity` work too).
        #[arg(long = "match", value_name = "MATCHER", required = true)]
        matchers: Vec<String>,
        /// How long, e.g. 30m or 2h.
        #[arg(long = "for", value_name = "DURATION", value_parser = duration_arg)]
        duration: String,
        /// Why.
        #[arg(long, default_value = "")]
        comment: String,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Every silence, active or ended.
    #[command(after_help = "Example:\n  mon silence list --output json")]
    List,
    /// End a silence now (needs an admin token).
    #[command(
        after_help = "Example:\n  mon silence expire 1732370000000-1\n  mon silence expire 173237000  # a unique prefix, as `silence list` shows it"
    )]
    Expire {
        /// The silence's id, or a unique prefix of it (as `silence list` shows it).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Every rule: state (ok, pending, firing, no_data, error), severity, expression, last value.
    #[command(after_help = "Example:\n  mon rules list")]
    List,
}

#[derive(Debug, Subcommand)]
enum ChannelsCommand {
    /// Every channel: last success, last error, consecutive failures, queued notifications.
    #[command(after_help = "Example:\n  mon channels list")]
    List,
    /// Send a test notification through one channel (needs an admin token).
    #[command(after_help = "Example:\n  mon channels test ops_webhook")]
    Test {
        /// The channel's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum MetricsCommand {
    /// Every stored series (name and labels).
    #[command(after_help = "Example:\n  mon metrics list")]
    List,
    /// Points of one series over a time range (resolution chosen by range: raw, 1m or 1h).
    #[command(
        after_help = "Examples:\n  mon metrics query cpu_percent --since 1h --chart\n  \
mon metrics query request_latency_ms --since 24h --label endpoint=/api/rooms --step 1h"
    )]
    Query {
        /// The series name.
        name: String,
        /// Start of the range: a duration ago (1h, 7d) or an RFC 3339 time.
        #[arg(long, default_value = "1h", value_parser = time_arg)]
        since: String,
        /// A label the series must have (repeatable).
        #[arg(long = "label", value_name = "K=V")]
        labels: Vec<String>,
        /// Bucket size (default: the resolution's own).
        #[arg(long, value_parser = duration_arg)]
        step: Option<String>,
        /// Draw a chart instead of a table.
        #[arg(long)]
        chart: bool,
        /// Print every point (without it: the most recent 20 and a count of the others).
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ErrorsCommand {
    /// Error groups, most recent first: count, kind, last seen, message.
    #[command(after_help = "Example:\n  mon errors list --since 1h")]
    List {
        /// Only groups seen since (RFC 3339 time or a duration ago: 30m, 24h).
        #[arg(long, value_parser = time_arg)]
        since: Option<String>,
        /// At most this many groups.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One error group with its sample contexts.
    #[command(after_help = "Example:\n  mon errors show 3f9c2a1b7e4d5c60")]
    Show {
        /// The group's fingerprint.
        fingerprint: String,
    },
}

#[derive(Debug, Subcommand)]
enum LogsCommand {
    /// Full-text search; every word must match.
    #[command(
        after_help = "Examples:\n  mon logs search \"sip trunk\" --level error --since 1h\n  mon logs search \"\" --call-id c-42"
    )]
    Search {
        /// Words to find (empty: every record that matches the filters).
        query: String,
        /// The lowest level: trace, debug, info, warn or error.
        #[arg(long)]
        level: Option<String>,
        /// Only records of this call.
        #[arg(long)]
        call_id: Option<String>,
        /// Only records since (RFC 3339 time or a duration ago).
        #[arg(long, value_parser = time_arg)]
        since: Option<String>,
        /// At most this many records.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// Send events: from `--type` and `--set key=value` flags, or JSON / NDJSON on stdin.
    #[command(
        after_help = "Examples:\n  mon events send --type counter --set name=retries --set labels.provider=deepgram\n  mon events send < events.ndjson"
    )]
    Send {
        /// The event type (request, call_started, call_ended, error, voice_quality, ai_usage, gauge, counter, heartbeat, log).
        #[arg(long = "type", value_name = "TYPE")]
        event_type: Option<String>,
        /// A field of the event (repeatable); numbers and booleans are sent as such; `labels.k=v` fills a map.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        fields: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file; prints every error with line:column (exit 2 on errors).
    #[command(after_help = "Example:\n  mon config check mon.yaml")]
    Check {
        /// The file to check.
        file: PathBuf,
    },
    /// Print the resolved configuration (defaults, ${VAR} and MON__ overrides applied; secrets masked).
    #[command(after_help = "Example:\n  mon config show mon.yaml")]
    Show {
        /// The file to show; the built-in default without one.
        file: Option<PathBuf>,
    },
}

/// What a command ended with.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Done; the answer is good.
    Ok,
    /// Done; something is unhealthy.
    Unhealthy,
    /// Bad usage or configuration (exit 2).
    Usage(String),
    /// The server could not be reached or refused the request (exit 3).
    Unreachable(String),
}

/// The server's address when neither `--server` nor `MON_SERVER` names one.
const DEFAULT_SERVER: &str = "http://127.0.0.1:8480";

/// What every command gets: where the server is and how to print.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) client: client::Client,
    pub(crate) format: Format,
    pub(crate) color: bool,
}

/// A duration argument, checked here as the server checks it (a unit, at most 100 years).
fn duration_arg(text: &str) -> Result<String, String> {
    mon_core::duration::parse(text).map(|_| text.to_string())
}

/// A time argument: RFC 3339 or a duration ago, checked as the server checks it.
fn time_arg(text: &str) -> Result<String, String> {
    mon_core::duration::parse_time(text, chrono::Utc::now()).map(|_| text.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color =
        !cli.no_color && std::env::var_os("NO_COLOR").is_none() && output::stdout_is_terminal();
    let format = match &cli.command {
        Command::Status { json: true } => Format::Json,
        _ => cli.output,
    };
    // An empty value (`MON_SERVER=""`) is no value, as for most Unix tools.
    let set = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let server = set(cli.server).unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let ctx = Ctx {
        client: client::Client::new(&server, set(cli.token).as_deref()),
        format,
        color,
    };
    let outcome = match cli.command {
        Command::Status { .. } => status::run(&ctx),
        Command::Watch { interval, once } => match mon_core::duration::parse(&interval) {
            Ok(every) => watch::run(&ctx, every, once, !once && output::stdout_is_terminal()),
            Err(e) => Outcome::Usage(format!("--interval {interval:?}: {e}")),
        },
        Command::Backup { file } => backup::run(&ctx, &file),
        Command::Checks(ChecksCommand::List) => checks::list(&ctx),
        Command::Checks(ChecksCommand::Show { name, limit }) => checks::show(&ctx, &name, limit),
        Command::Alerts(AlertsCommand::List { state, severity }) => {
            alerts::list(&ctx, state.as_deref(), severity.as_deref())
        }
        Command::Alerts(AlertsCommand::Show { id }) => alerts::show(&ctx, &id),
        Command::Alerts(AlertsCommand::Ack { id, comment, by }) => {
            alerts::act(&ctx, &id, "ack", by.as_deref(), comment.as_deref())
        }
        Command::Alerts(AlertsCommand::Resolve { id, comment, by }) => {
            alerts::act(&ctx, &id, "resolve", by.as_deref(), comment.as_deref())
        }
        Command::Alerts(AlertsCommand::Send(args)) => alerts::send(&ctx, args),
        Command::Alerts(AlertsCommand::Quality {
            since,
            flap_minutes,
        }) => alerts::quality(&ctx, &since, flap_minutes),
        Command::Silence(SilenceCommand::Add {
            matchers,
            duration,
            comment,
            by,
        }) => alerts::silence_add(&ctx, &matchers, &duration, &comment, by.as_deref()),
        Command::Silence(SilenceCommand::List) => alerts::silence_list(&ctx),
        Command::Silence(SilenceCommand::Expire { id }) => alerts::silence_expire(&ctx, &id),
        Command::Rules(RulesCommand::List) => alerts::rules(&ctx),
        Command::Channels(ChannelsCommand::List) => alerts::channels(&ctx),
        Command::Channels(ChannelsCommand::Test { name }) => alerts::channel_test(&ctx, &name),
        Command::Metrics(MetricsCommand::List) => metrics::list(&ctx),
        Command::Metrics(MetricsCommand::Query {
            name,
            since,
            labels,
            step,
            chart,
            all,
        }) => {
            let query = metrics::SeriesQuery {
                name: &name,
                since: &since,
                labels: &labels,
                step: step.as_deref(),
                chart,
                all,
            };
            metrics::query(&ctx, &query)
        }
        Command::Errors(ErrorsCommand::List { since, limit }) => {
            observe::errors_list(&ctx, since.as_deref(), limit)
        }
        Command::Errors(ErrorsCommand::Show { fingerprint }) => {
            observe::errors_show(&ctx, &fingerprint)
        }
        Command::Logs(LogsCommand::Search {
            query,
            level,
            call_id,
            since,
            limit,
        }) => {
            let filter = observe::LogFilter {
                text: &query,
                level: level.as_deref(),
                call_id: call_id.as_deref(),
                since: since.as_deref(),
                limit,
            };
            observe::logs_search(&ctx, &filter)
        }
        Command::Security(command) => security::run(&ctx, &command),
        Command::Incidents(command) => incidents::run(&ctx, command),
        Command::Experiments(command) => experiments::run(&ctx, command),
        Command::Report(args) => report::run(&ctx, args),
        Command::Config(ConfigCommand::Check { file }) => config_cmd::check(&file),
        Command::Config(ConfigCommand::Show { file }) => config_cmd::show(file.as_deref(), format),
        Command::Probe { config, only } => probe::run(&ctx, &config, &only),
        Command::Events(EventsCommand::Send { event_type, fields }) => {
            push::send_events(&ctx, event_type.as_deref(), &fields)
        }
        Command::Heartbeat { name, start, fail } => push::heartbeat(&ctx, &name, start, fail),
        Command::Demo { delete: true, .. } => demo::delete(&ctx).unwrap_or_else(|e| e),
        Command::Demo {
            minutes,
            fast,
            livekit_key,
            livekit_secret,
            delete: false,
        } => demo::run(
            &ctx,
            &demo::DemoArgs {
                minutes,
                fast,
                livekit: livekit_key.zip(livekit_secret),
            },
        )
        .unwrap_or_else(|e| e),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "mon", &mut script);
            output::write_stdout(&script);
            Outcome::Ok
        }
    };
    match outcome {
        Outcome::Ok => ExitCode::SUCCESS,
        Outcome::Unhealthy => ExitCode::from(1),
        Outcome::Usage(message) => {
            errln!("mon: {message}");
            ExitCode::from(2)
        }
        Outcome::Unreachable(message) => {
            errln!("mon: {message}");
            ExitCode::from(3)
        }
    }
}
