//! `mon watch`: a live status view for a terminal left open during an incident — the
//! checks, the firing alerts and the key voice figures, redrawn every `--interval`.

use crate::alerts::labels;
use crate::format::{id_prefix_len, maybe, prefix, time, unit_of};
use crate::output::{status_word, table};
use crate::status::checks_table;
use crate::{Ctx, Outcome};
use mon_api::answers::{AlertsAnswer, ChecksAnswer, SnapshotAnswer, StatusAnswer};
use mon_core::vars;
use std::time::Duration;

/// Clears the screen and moves the cursor home (ANSI), before each frame on a terminal.
const CLEAR: &str = "\x1b[H\x1b[2J";

/// The voice figures the view shows, by snapshot variable, with their labels.
const VOICE: [(&str, &str); 5] = [
    ("calls", vars::TOTAL_CALLS),
    ("active", vars::ACTIVE_CALLS),
    ("success rate", vars::CALL_SUCCESS_RATE),
    ("latency p95", vars::P95_API_LATENCY_MS),
    ("MOS", vars::AVG_MOS),
];

/// Draws frames until interrupted; with `once`, one frame and the exit code of
/// `mon status` (1 when unhealthy). On a terminal each frame replaces the last.
pub(crate) fn run(ctx: &Ctx, interval: Duration, once: bool, terminal: bool) -> Outcome {
    loop {
        let (text, outcome) = match frame(ctx) {
            Ok(v) => v,
            // One frame asked for: the error is the answer. Live: say it and retry.
            Err(outcome) if once => return outcome,
            Err(Outcome::Unreachable(message) | Outcome::Usage(message)) => {
                (format!("{}\n{message}\n", ctx.client.server()), Outcome::Ok)
            }
            Err(outcome) => return outcome,
        };
        if terminal {
            out!("{CLEAR}");
        }
        out!("{text}");
        if once {
            return outcome;
        }
        if !terminal {
            outln!();
        }
        std::thread::sleep(interval);
    }
}

/// One frame of the view, and whether the server is healthy.
fn frame(ctx: &Ctx) -> Result<(String, Outcome), Outcome> {
    let status: StatusAnswer = ctx.client.get_as("/api/v1/status")?;
    let ChecksAnswer { checks } = ctx.client.get_as("/api/v1/checks")?;
    let AlertsAnswer { alerts } = ctx.client.get_as("/api/v1/alerts?state=firing")?;
    let snapshot: SnapshotAnswer = ctx.client.get_as("/api/v1/snapshot")?;
    let mut out = format!(
        "{} — {} — {}/{} checks healthy, {} firing — {}\n\n",
        ctx.client.server(),
        status_word(&status.status, ctx.color),
        status.checks.healthy,
        status.checks.total,
        alerts.len(),
        time(&snapshot.taken_at),
    );
    out.push_str(&checks_table(&checks, ctx.color));
    out.push('\n');
    if alerts.is_empty() {
        out.push_str("no firing alerts\n");
    } else {
        let ids: Vec<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
        let short = id_prefix_len(&ids);
        let rows: Vec<Vec<String>> = alerts
            .iter()
            .map(|a| {
                vec![
                    prefix(&a.id, short).to_string(),
                    status_word(&a.severity, ctx.color),
                    a.rule.clone(),
                    labels(&a.labels),
                    time(&a.started_at),
                ]
            })
            .collect();
        out.push_str(&table(
            &["FIRING", "SEVERITY", "RULE", "LABELS", "SINCE"],
            &rows,
            &[],
        ));
    }
    out.push('\n');
    out.push_str(&voice_line(&snapshot));
    let outcome = if status.status == "unhealthy" {
        Outcome::Unhealthy
    } else {
        Outcome::Ok
    };
    Ok((out, outcome))
}

/// `calls 12 · active 3 · success rate 86 % · latency p95 230 ms · MOS 4.2 (rule window 5m)`;
/// `-` for a figure nothing has reported yet.
fn voice_line(snapshot: &SnapshotAnswer) -> String {
    let figures: Vec<String> = VOICE
        .iter()
        .map(|(label, name)| {
            let v = snapshot.values.get(*name).copied();
            format!("{label} {}", maybe(v, unit_of(name)))
        })
        .collect();
    format!(
        "voice: {} (rule window {})\n",
        figures.join(" · "),
        snapshot.rule_window
    )
}
