//! `mon security summary|events`: what mon knows of authentication and security now
//! (`GET /api/v1/security/summary`), and the stored events behind it
//! (`GET /api/v1/security/events`).

use crate::format::{or_dash, time};
use crate::observe::query;
use crate::output::{print_json, table};
use crate::{Ctx, Format, Outcome};
use clap::Subcommand;
use mon_api::security::{SecurityActorView, SecurityEventsAnswer, SecuritySummaryAnswer};

/// `mon security …`.
#[derive(Debug, Subcommand)]
pub(crate) enum SecurityCommand {
    /// Counts over the security window, the top addresses and principals by failed
    /// logins and by volume, and current refusals.
    #[command(after_help = "Example:\n  mon security summary")]
    Summary,
    /// Stored auth and security events (and requests naming someone), newest first.
    #[command(
        after_help = "Examples:\n  mon security events --ip 203.0.113.7 --since 1h\n  mon security events --type request --principal svc-1"
    )]
    Events {
        /// `auth`, `security` or `request` (default: auth and security).
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Only events from this client address.
        #[arg(long)]
        ip: Option<String>,
        /// Only events naming this principal.
        #[arg(long)]
        principal: Option<String>,
        /// Only events since (RFC 3339 time or a duration ago: 30m, 24h).
        #[arg(long, value_parser = crate::time_arg)]
        since: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

/// Runs one `mon security` command.
pub(crate) fn run(ctx: &Ctx, command: &SecurityCommand) -> Outcome {
    match command {
        SecurityCommand::Summary => summary(ctx),
        SecurityCommand::Events {
            kind,
            ip,
            principal,
            since,
            limit,
        } => {
            let limit = limit.to_string();
            let path = format!(
                "/api/v1/security/events{}",
                query(&[
                    ("type", kind.as_deref()),
                    ("ip", ip.as_deref()),
                    ("principal", principal.as_deref()),
                    ("since", since.as_deref()),
                    ("limit", Some(&limit)),
                ])
            );
            events(ctx, &path)
        }
    }
}

fn summary(ctx: &Ctx) -> Outcome {
    let (json, s) = match ctx
        .client
        .get_answer::<SecuritySummaryAnswer>("/api/v1/security/summary")
    {
        Ok(v) => v,
        Err(o) => return o,
    };
    if ctx.format == Format::Json {
        print_json(&json);
        return Outcome::Ok;
    }
    let c = &s.counts;
    outln!(
        "last {}: {} auth attempts, {} failed (brute force above {} per address or principal), \
         {} denied-IP attempts, {} rate-limited, {} security events",
        s.window,
        c.auth_attempts,
        c.failed_logins,
        s.max_failed_logins,
        c.denied_ip_attempts,
        c.rate_limited,
        c.security_events
    );
    if c.untracked > 0 {
        outln!(
            "{} events named an address or principal beyond security.max_tracked",
            c.untracked
        );
    }
    for (title, rows) in [
        ("Addresses by failed logins", &s.top_ips_by_failures),
        ("Principals by failed logins", &s.top_principals_by_failures),
        ("Addresses by volume", &s.top_ips_by_volume),
        ("Principals by volume", &s.top_principals_by_volume),
    ] {
        if rows.is_empty() {
            continue;
        }
        outln!("\n{title}");
        out!("{}", actors(rows));
    }
    if !s.blocks.is_empty() {
        let rows: Vec<Vec<String>> = s
            .blocks
            .iter()
            .map(|b| {
                vec![
                    b.kind.clone(),
                    b.name.clone(),
                    b.reason.clone(),
                    time(&b.at),
                    b.denied.to_string(),
                    b.rate_limited.to_string(),
                ]
            })
            .collect();
        outln!("\nRefused (current blocks as far as mon knows)");
        out!(
            "{}",
            table(
                &["KIND", "NAME", "REASON", "LAST", "DENIED", "RATE LIMITED"],
                &rows,
                &[4, 5]
            )
        );
    }
    Outcome::Ok
}

fn actors(rows: &[SecurityActorView]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                a.failed_logins.to_string(),
                a.denied.to_string(),
                a.rate_limited.to_string(),
                a.volume.to_string(),
                a.distinct_ips.to_string(),
                time(&a.last_seen),
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "FAILED",
            "DENIED",
            "RATE LIMITED",
            "EVENTS",
            "ADDRESSES",
            "LAST SEEN",
        ],
        &rows,
        &[1, 2, 3, 4, 5],
    )
}

fn events(ctx: &Ctx, path: &str) -> Outcome {
    let (json, SecurityEventsAnswer { events, .. }) = match ctx.client.get_answer(path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    if ctx.format == Format::Json {
        print_json(&json);
        return Outcome::Ok;
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            // What happened, in a word: the auth result and method, the security event,
            // the request's status.
            let what = match e.kind.as_str() {
                "auth" => format!(
                    "{} {}",
                    if e.event["success"] == true {
                        "success"
                    } else {
                        "failure"
                    },
                    e.event["method"].as_str().unwrap_or_default()
                ),
                "security" => e.event["event"].as_str().unwrap_or_default().to_string(),
                _ => e.event["status"].to_string(),
            };
            let detail = e.event["reason"]
                .as_str()
                .or(e.event["detail"].as_str())
                .or(e.event["endpoint"].as_str());
            vec![
                time(&e.timestamp),
                e.kind.clone(),
                what,
                or_dash(e.ip.as_ref()),
                or_dash(e.principal.as_ref()),
                or_dash(detail),
            ]
        })
        .collect();
    out!(
        "{}",
        table(
            &["TIME", "TYPE", "WHAT", "IP", "PRINCIPAL", "DETAIL"],
            &rows,
            &[]
        )
    );
    Outcome::Ok
}
