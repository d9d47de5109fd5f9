//! `mon alerts …` (with `mon alerts quality`), `mon silence …`, `mon rules list`, `mon channels …`.

use crate::client::encode;
use crate::format::{expr_unit, id_prefix_len, maybe, number, or_dash, prefix, resolve_id, time};
use crate::output::{print_json, status_word, table};
use crate::{Ctx, Format, Outcome};
use mon_api::answers::{
    ActorBody, AlertAnswer, AlertView, AlertsAnswer, ChannelsAnswer, MatcherBody, RaiseAlertAnswer,
    RaiseAlertBody, RulesAnswer, SilenceBody, SilenceView, SilencesAnswer,
};
use mon_api::quality::{AlertQualityAnswer, Verdict};
use serde_json::Value;
use std::collections::BTreeMap;

/// Prints `value` as JSON, or `rows` of `columns` as a table.
fn emit(ctx: &Ctx, value: &Value, headers: &[&str], rows: Vec<Vec<String>>) {
    match ctx.format {
        Format::Json => print_json(value),
        Format::Table => out!("{}", table(headers, &rows, &[])),
    }
}

/// Labels as `k=v,k2=v2`.
pub(crate) fn labels(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn list(ctx: &Ctx, state: Option<&str>, severity: Option<&str>) -> Outcome {
    let mut query = Vec::new();
    if let Some(s) = state {
        query.push(format!("state={}", encode(s)));
    }
    if let Some(s) = severity {
        query.push(format!("severity={}", encode(s)));
    }
    let path = if query.is_empty() {
        "/api/v1/alerts".to_string()
    } else {
        format!("/api/v1/alerts?{}", query.join("&"))
    };
    let (answer, AlertsAnswer { alerts }) = match ctx.client.get_answer(&path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let ids: Vec<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
    let short = id_prefix_len(&ids);
    let rows = alerts
        .iter()
        .map(|a| {
            vec![
                prefix(&a.id, short).to_string(),
                status_word(&a.state, ctx.color),
                status_word(&a.severity, ctx.color),
                a.rule.clone(),
                labels(&a.labels),
                time(&a.started_at),
            ]
        })
        .collect();
    emit(
        ctx,
        &answer,
        &["ID", "STATE", "SEVERITY", "RULE", "LABELS", "STARTED"],
        rows,
    );
    // "Is anything firing?" is the question `alerts list` answers for scripts.
    if alerts.iter().any(|a| a.state == "firing") {
        Outcome::Unhealthy
    } else {
        Outcome::Ok
    }
}

/// The full id of the alert `given` names: itself, or the one open or recent alert
/// whose id it is a unique prefix of (`mon alerts show 3f9c2a1b`).
pub(crate) fn full_id(ctx: &Ctx, given: &str) -> Result<String, Outcome> {
    let mut ids = Vec::new();
    for path in ["/api/v1/alerts", "/api/v1/alerts?state=all&limit=10000"] {
        let AlertsAnswer { alerts } = ctx.client.get_as(path)?;
        ids.extend(alerts.into_iter().map(|a| a.id));
    }
    unique_id(given, ids)
}

/// The one of `ids` that `given` names ([`resolve_id`]); an ambiguous prefix is a usage
/// error (exit 2) listing the candidates.
fn unique_id(given: &str, mut ids: Vec<String>) -> Result<String, Outcome> {
    ids.sort();
    ids.dedup();
    resolve_id(given, &ids)
        .map(String::from)
        .map_err(Outcome::Usage)
}

/// The full id of the silence `given` names: itself, or the one silence whose id it is
/// a unique prefix of (`mon silence expire 17323700`).
fn full_silence_id(ctx: &Ctx, given: &str) -> Result<String, Outcome> {
    let SilencesAnswer { silences } = ctx.client.get_as("/api/v1/silences")?;
    unique_id(given, silences.into_iter().map(|s| s.id).collect())
}

/// The unit of rule `name`'s value, from its expression's variables.
fn rule_unit(ctx: &Ctx, name: &str) -> Option<mon_core::catalog::Unit> {
    let RulesAnswer { rules } = ctx.client.get_as("/api/v1/rules").ok()?;
    rules
        .iter()
        .find(|r| r.name == name)
        .and_then(|r| expr_unit(&r.expr))
}

pub(crate) fn show(ctx: &Ctx, id: &str) -> Outcome {
    let id = match full_id(ctx, id) {
        Ok(id) => id,
        Err(o) => return o,
    };
    let (json, AlertAnswer { alert, history, .. }) = match ctx
        .client
        .get_answer(&format!("/api/v1/alerts/{}", encode(&id)))
    {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&json),
        Format::Table => {
            outln!(
                "{} [{}] {} — {}\nlabels: {}\nstarted: {}  updated: {}  value: {}",
                alert.id,
                status_word(&alert.severity, ctx.color),
                alert.rule,
                status_word(&alert.state, ctx.color),
                labels(&alert.labels),
                time(&alert.started_at),
                time(&alert.updated_at),
                maybe(alert.value, rule_unit(ctx, &alert.rule)),
            );
            if let Some(summary) = alert.annotations.get("summary") {
                outln!("{summary}");
            }
            let rows: Vec<Vec<String>> = history
                .iter()
                .map(|e| vec![time(&e.at), e.kind.clone(), e.detail.clone()])
                .collect();
            if !rows.is_empty() {
                out!("{}", table(&["WHEN", "WHAT", "BY"], &rows, &[]));
            }
        }
    }
    Outcome::Ok
}

/// Who acts, for the alert's history and the silence's `created_by`: `--by`, else the
/// login name (`$USER`, then `$LOGNAME`), else `mon-cli`; empty values count as unset.
pub(crate) fn who(by: Option<&str>) -> String {
    let set = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    set(by.map(String::from))
        .or_else(|| set(std::env::var("USER").ok()))
        .or_else(|| set(std::env::var("LOGNAME").ok()))
        .unwrap_or_else(|| "mon-cli".to_string())
}

/// `ack` or `resolve`, with who and why.
pub(crate) fn act(
    ctx: &Ctx,
    id: &str,
    action: &str,
    by: Option<&str>,
    comment: Option<&str>,
) -> Outcome {
    let id = match full_id(ctx, id) {
        Ok(id) => id,
        Err(o) => return o,
    };
    let body = ActorBody {
        by: Some(who(by)),
        comment: comment.map(String::from),
    };
    match ctx
        .client
        .post_answer::<AlertView>(&format!("/api/v1/alerts/{}/{action}", encode(&id)), &body)
    {
        Ok((json, alert)) => {
            match ctx.format {
                Format::Json => print_json(&json),
                Format::Table => outln!(
                    "{} {}: now {}{}",
                    alert.rule,
                    alert.id,
                    alert.state,
                    alert
                        .acknowledged_by
                        .as_deref()
                        .map(|by| format!(" (by {by})"))
                        .unwrap_or_default()
                ),
            }
            Outcome::Ok
        }
        Err(o) => o,
    }
}

/// `mon alerts send`: what `POST /api/v1/alerts` reads.
#[derive(Debug, clap::Args)]
pub(crate) struct SendArgs {
    /// info | warning | error | critical (required unless --resolve).
    #[arg(long)]
    severity: Option<String>,
    /// What it is about; with the labels, it identifies the alert.
    #[arg(long)]
    title: String,
    /// What happened (required unless --resolve).
    #[arg(long)]
    message: Option<String>,
    /// A label, `name=value` (repeatable).
    #[arg(long = "label", value_name = "K=V")]
    labels: Vec<String>,
    /// The metric the value is of.
    #[arg(long)]
    metric: Option<String>,
    /// The value observed.
    #[arg(long)]
    value: Option<f64>,
    /// The threshold it crossed.
    #[arg(long)]
    threshold: Option<f64>,
    /// A link to what to do.
    #[arg(long)]
    runbook: Option<String>,
    /// Resolves unless sent again within this duration (e.g. 10m).
    #[arg(long)]
    resolve_after: Option<String>,
    /// Resolve the alert of this title and labels instead of raising it.
    #[arg(long)]
    resolve: bool,
}

pub(crate) fn send(ctx: &Ctx, args: SendArgs) -> Outcome {
    let mut labels = BTreeMap::new();
    for label in &args.labels {
        let Some((name, value)) = label.split_once('=') else {
            return Outcome::Usage(format!("--label {label:?}: expected name=value"));
        };
        labels.insert(name.to_string(), value.to_string());
    }
    let body = RaiseAlertBody {
        severity: args.severity,
        title: args.title,
        message: args.message,
        labels,
        metric: args.metric,
        value: args.value,
        threshold: args.threshold,
        runbook: args.runbook,
        status: args.resolve.then(|| "resolved".to_string()),
        resolve_after: args.resolve_after,
    };
    match ctx
        .client
        .post_answer::<RaiseAlertAnswer>("/api/v1/alerts", &body)
    {
        Ok((json, answer)) => {
            match ctx.format {
                Format::Json => print_json(&json),
                Format::Table => match &answer.alert {
                    Some(a) => outln!("{} {}: {} ({})", a.rule, a.id, answer.outcome, a.state),
                    None => outln!("{}: {}", body.title, answer.outcome),
                },
            }
            Outcome::Ok
        }
        Err(o) => o,
    }
}

pub(crate) fn silence_add(
    ctx: &Ctx,
    matchers: &[String],
    duration: &str,
    comment: &str,
    by: Option<&str>,
) -> Outcome {
    let mut parsed = Vec::new();
    for m in matchers {
        let (name, value, equal) = if let Some((n, v)) = m.split_once("!=") {
            (n, v, false)
        } else if let Some((n, v)) = m.split_once('=') {
            (n, v, true)
        } else {
            return Outcome::Usage(format!(
                "--match {m:?}: expected label=value or label!=value"
            ));
        };
        parsed.push(MatcherBody {
            name: name.to_string(),
            value: value.to_string(),
            is_equal: equal,
        });
    }
    if parsed.is_empty() {
        return Outcome::Usage("a silence needs at least one --match label=value".into());
    }
    let body = SilenceBody {
        matchers: parsed,
        starts_at: None,
        ends_at: None,
        duration: Some(duration.to_string()),
        created_by: Some(who(by)),
        comment: comment.to_string(),
    };
    match ctx
        .client
        .post_answer::<SilenceView>("/api/v1/silences", &body)
    {
        Ok((json, s)) => {
            match ctx.format {
                Format::Json => print_json(&json),
                Format::Table => outln!("silence {} until {}", s.id, time(&s.ends_at)),
            }
            Outcome::Ok
        }
        Err(o) => o,
    }
}

pub(crate) fn silence_list(ctx: &Ctx) -> Outcome {
    let (answer, SilencesAnswer { silences }) = match ctx.client.get_answer("/api/v1/silences") {
        Ok(v) => v,
        Err(o) => return o,
    };
    let ids: Vec<&str> = silences.iter().map(|s| s.id.as_str()).collect();
    let short = id_prefix_len(&ids);
    let rows = silences
        .iter()
        .map(|s| {
            let matchers = s
                .matchers
                .iter()
                .map(|m| {
                    let op = if m.is_equal { "=" } else { "!=" };
                    format!("{}{op}{}", m.name, m.value)
                })
                .collect::<Vec<_>>()
                .join(",");
            vec![
                prefix(&s.id, short).to_string(),
                if s.active { "active" } else { "ended" }.into(),
                matchers,
                time(&s.ends_at),
                s.created_by.clone(),
                s.comment.clone(),
            ]
        })
        .collect();
    emit(
        ctx,
        &answer,
        &["ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT"],
        rows,
    );
    Outcome::Ok
}

pub(crate) fn silence_expire(ctx: &Ctx, id: &str) -> Outcome {
    let id = match full_silence_id(ctx, id) {
        Ok(id) => id,
        Err(o) => return o,
    };
    match ctx
        .client
        .delete_json(&format!("/api/v1/silences/{}", encode(&id)))
    {
        Ok(v) => {
            match ctx.format {
                Format::Json => print_json(&v),
                Format::Table => outln!("silence {id} expired"),
            }
            Outcome::Ok
        }
        Err(o) => o,
    }
}

pub(crate) fn rules(ctx: &Ctx) -> Outcome {
    let (answer, RulesAnswer { rules }) = match ctx.client.get_answer("/api/v1/rules") {
        Ok(v) => v,
        Err(o) => return o,
    };
    let rows = rules
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                status_word(&r.state, ctx.color),
                r.severity.clone(),
                r.expr.clone(),
                maybe(r.last_value, expr_unit(&r.expr)),
            ]
        })
        .collect();
    emit(
        ctx,
        &answer,
        &["RULE", "STATE", "SEVERITY", "EXPR", "VALUE"],
        rows,
    );
    Outcome::Ok
}

pub(crate) fn channels(ctx: &Ctx) -> Outcome {
    let (answer, ChannelsAnswer { channels }) = match ctx.client.get_answer("/api/v1/channels") {
        Ok(v) => v,
        Err(o) => return o,
    };
    let rows = channels
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.kind.clone(),
                or_dash(c.last_success.as_ref().map(time)),
                or_dash(c.last_error.as_ref()),
                c.consecutive_failures.to_string(),
                c.queued.to_string(),
            ]
        })
        .collect();
    emit(
        ctx,
        &answer,
        &[
            "CHANNEL",
            "KIND",
            "LAST SUCCESS",
            "LAST ERROR",
            "FAILURES",
            "QUEUED",
        ],
        rows,
    );
    Outcome::Ok
}

pub(crate) fn channel_test(ctx: &Ctx, name: &str) -> Outcome {
    match ctx
        .client
        .post_json(&format!("/api/v1/channels/{}/test", encode(name)), None)
    {
        Ok(v) => {
            match ctx.format {
                Format::Json => print_json(&v),
                Format::Table => outln!("channel {name}: test notification delivered"),
            }
            Outcome::Ok
        }
        Err(o) => o,
    }
}

/// A share of alerts for a table cell: `40 %`, `-` when the rule never fired.
fn share(percent: Option<f64>) -> String {
    or_dash(percent.map(|p| format!("{p:.0} %")))
}

/// `mon alerts quality`: one row per rule, then each noisy rule's suggestion in full.
pub(crate) fn quality(ctx: &Ctx, since: &str, flap_minutes: u32) -> Outcome {
    let path = format!(
        "/api/v1/alerts/quality?since={}&flap_minutes={flap_minutes}",
        encode(since)
    );
    let (answer, report) = match ctx.client.get_answer::<AlertQualityAnswer>(&path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let rows: Vec<Vec<String>> = report
        .rules
        .iter()
        .map(|r| {
            let mut suggested = Vec::new();
            if let Some(t) = r.suggested_threshold {
                suggested.push(format!("threshold {}", number(t)));
            }
            if let Some(d) = &r.suggested_for {
                suggested.push(format!("for {d}"));
            }
            if suggested.is_empty() && r.suggestion.is_some() {
                suggested.push("see below".to_string());
            }
            vec![
                r.rule.clone(),
                r.fired.to_string(),
                share(r.acknowledged_percent),
                share(r.self_resolved_percent),
                r.silenced.to_string(),
                status_word(r.verdict.as_str(), ctx.color),
                or_dash((!suggested.is_empty()).then(|| suggested.join(", "))),
            ]
        })
        .collect();
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            out!(
                "{}",
                table(
                    &[
                        "RULE",
                        "FIRED",
                        "ACKED",
                        "SELF-RESOLVED",
                        "SILENCED",
                        "VERDICT",
                        "SUGGESTION"
                    ],
                    &rows,
                    &[1, 2, 3, 4],
                )
            );
            for r in report.rules.iter().filter(|r| r.verdict == Verdict::Noisy) {
                outln!("{}: {}", r.rule, r.reasons.join("; "));
                if let Some(suggestion) = &r.suggestion {
                    outln!("  suggestion: {suggestion}");
                }
            }
        }
    }
    Outcome::Ok
}
