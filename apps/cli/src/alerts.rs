//! `mon alerts …`, `mon silence …`, `mon rules list`, `mon channels …`.

use crate::client::encode;
use crate::output::{print_json, status_word, table};
use crate::{Ctx, Format, Outcome};
use serde_json::{Value, json};

fn str_of(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints `value` as JSON, or `rows` of `columns` as a table.
fn emit(ctx: &Ctx, value: &Value, headers: &[&str], rows: Vec<Vec<String>>) {
    match ctx.format {
        Format::Json => print_json(value),
        Format::Table => out!("{}", table(headers, &rows, &[])),
    }
}

fn labels(v: &Value) -> String {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", str_of(v)))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
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
    let answer = match ctx.client.get_json(&path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let alerts = answer["alerts"].as_array().cloned().unwrap_or_default();
    let rows = alerts
        .iter()
        .map(|a| {
            vec![
                str_of(&a["id"]),
                status_word(a["state"].as_str().unwrap_or("?"), ctx.color),
                status_word(a["severity"].as_str().unwrap_or("?"), ctx.color),
                str_of(&a["rule"]),
                labels(&a["labels"]),
                str_of(&a["started_at"]),
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
    if alerts.iter().any(|a| a["state"] == "firing") {
        Outcome::Unhealthy
    } else {
        Outcome::Ok
    }
}

pub(crate) fn show(ctx: &Ctx, id: &str) -> Outcome {
    let alert = match ctx
        .client
        .get_json(&format!("/api/v1/alerts/{}", encode(id)))
    {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&alert),
        Format::Table => {
            outln!(
                "{} [{}] {} — {}\nlabels: {}\nstarted: {}  updated: {}  value: {}",
                str_of(&alert["id"]),
                status_word(alert["severity"].as_str().unwrap_or("?"), ctx.color),
                str_of(&alert["rule"]),
                status_word(alert["state"].as_str().unwrap_or("?"), ctx.color),
                labels(&alert["labels"]),
                str_of(&alert["started_at"]),
                str_of(&alert["updated_at"]),
                str_of(&alert["value"]),
            );
            if let Some(summary) = alert["annotations"]["summary"].as_str() {
                outln!("{summary}");
            }
            let rows: Vec<Vec<String>> = alert["history"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|e| vec![str_of(&e["ts"]), str_of(&e["kind"]), str_of(&e["detail"])])
                .collect();
            if !rows.is_empty() {
                out!("{}", table(&["WHEN", "WHAT", "BY"], &rows, &[]));
            }
        }
    }
    Outcome::Ok
}

/// `ack` or `resolve`, with who and why.
pub(crate) fn act(
    ctx: &Ctx,
    id: &str,
    action: &str,
    by: Option<&str>,
    comment: Option<&str>,
) -> Outcome {
    let by = by
        .map(String::from)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".to_string());
    let body = json!({ "by": by, "comment": comment });
    match ctx.client.post_json(
        &format!("/api/v1/alerts/{}/{action}", encode(id)),
        Some(&body),
    ) {
        Ok(alert) => {
            match ctx.format {
                Format::Json => print_json(&alert),
                Format::Table => outln!(
                    "{} {}: now {}",
                    str_of(&alert["rule"]),
                    str_of(&alert["id"]),
                    str_of(&alert["state"])
                ),
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
        parsed.push(json!({ "name": name, "value": value, "isEqual": equal }));
    }
    if parsed.is_empty() {
        return Outcome::Usage("a silence needs at least one --match label=value".into());
    }
    let by = by
        .map(String::from)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".to_string());
    let body =
        json!({ "matchers": parsed, "duration": duration, "created_by": by, "comment": comment });
    match ctx.client.post_json("/api/v1/silences", Some(&body)) {
        Ok(s) => {
            match ctx.format {
                Format::Json => print_json(&s),
                Format::Table => outln!(
                    "silence {} until {}",
                    str_of(&s["id"]),
                    str_of(&s["ends_at"])
                ),
            }
            Outcome::Ok
        }
        Err(o) => o,
    }
}

pub(crate) fn silence_list(ctx: &Ctx) -> Outcome {
    let answer = match ctx.client.get_json("/api/v1/silences") {
        Ok(v) => v,
        Err(o) => return o,
    };
    let rows = answer["silences"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let matchers = s["matchers"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|m| {
                    format!(
                        "{}{}{}",
                        str_of(&m["name"]),
                        if m["isEqual"] == false { "!=" } else { "=" },
                        str_of(&m["value"])
                    )
                })
                .collect::<Vec<_>>()
                .join(",");
            vec![
                str_of(&s["id"]),
                if s["active"] == true {
                    "active".into()
                } else {
                    "ended".into()
                },
                matchers,
                str_of(&s["ends_at"]),
                str_of(&s["created_by"]),
                str_of(&s["comment"]),
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
    match ctx
        .client
        .delete_json(&format!("/api/v1/silences/{}", encode(id)))
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
    let answer = match ctx.client.get_json("/api/v1/rules") {
        Ok(v) => v,
        Err(o) => return o,
    };
    let rows = answer["rules"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            vec![
                str_of(&r["name"]),
                status_word(r["state"].as_str().unwrap_or("?"), ctx.color),
                str_of(&r["severity"]),
                str_of(&r["expr"]),
                str_of(&r["last_value"]),
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
    let answer = match ctx.client.get_json("/api/v1/channels") {
        Ok(v) => v,
        Err(o) => return o,
    };
    let rows = answer["channels"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            vec![
                str_of(&c["name"]),
                str_of(&c["kind"]),
                str_of(&c["last_success"]),
                str_of(&c["last_error"]),
                str_of(&c["consecutive_failures"]),
                str_of(&c["queued"]),
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
