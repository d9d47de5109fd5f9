//! `mon errors list/show` and `mon logs search`: what went wrong, and the log lines around it.

use crate::client::encode;
use crate::output::{print_json, status_word, table};
use crate::{Ctx, Format, Outcome};
use serde_json::Value;

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `?k=v&…` from the pairs whose value is set.
fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

pub(crate) fn errors_list(ctx: &Ctx, since: Option<&str>, limit: usize) -> Outcome {
    let limit = limit.to_string();
    let path = format!(
        "/api/v1/errors{}",
        query(&[("since", since), ("limit", Some(&limit))])
    );
    let answer = match ctx.client.get_json(&path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            let rows: Vec<Vec<String>> = answer["errors"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    vec![
                        s(&e["fingerprint"]),
                        s(&e["count"]),
                        s(&e["kind"]),
                        s(&e["last_seen"]),
                        s(&e["message"]),
                    ]
                })
                .collect();
            out!(
                "{}",
                table(
                    &["FINGERPRINT", "COUNT", "KIND", "LAST SEEN", "MESSAGE"],
                    &rows,
                    &[1]
                )
            );
        }
    }
    Outcome::Ok
}

pub(crate) fn errors_show(ctx: &Ctx, fingerprint: &str) -> Outcome {
    let e = match ctx
        .client
        .get_json(&format!("/api/v1/errors/{}", encode(fingerprint)))
    {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&e),
        Format::Table => {
            outln!(
                "{} ×{}  {}\n{}\nat {}\nfirst seen {}, last seen {}",
                s(&e["kind"]),
                s(&e["count"]),
                s(&e["fingerprint"]),
                s(&e["message"]),
                s(&e["location"]),
                s(&e["first_seen"]),
                s(&e["last_seen"])
            );
            for sample in e["samples"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                outln!("- {sample}");
            }
        }
    }
    Outcome::Ok
}

/// The filters of `mon logs search`.
#[derive(Debug)]
pub(crate) struct LogFilter<'a> {
    pub(crate) text: &'a str,
    pub(crate) level: Option<&'a str>,
    pub(crate) call_id: Option<&'a str>,
    pub(crate) since: Option<&'a str>,
    pub(crate) limit: usize,
}

pub(crate) fn logs_search(ctx: &Ctx, f: &LogFilter<'_>) -> Outcome {
    let limit = f.limit.to_string();
    let q = (!f.text.trim().is_empty()).then_some(f.text);
    let path = format!(
        "/api/v1/logs{}",
        query(&[
            ("q", q),
            ("level", f.level),
            ("call_id", f.call_id),
            ("since", f.since),
            ("limit", Some(&limit))
        ])
    );
    let answer = match ctx.client.get_json(&path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            let rows: Vec<Vec<String>> = answer["logs"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|l| {
                    let level = l["level"].as_str().unwrap_or("?").to_ascii_lowercase();
                    let word = match level.as_str() {
                        "error" => status_word("error", ctx.color),
                        "warn" => status_word("warning", ctx.color).replace("warning", "warn"),
                        other => other.to_string(),
                    };
                    vec![
                        s(&l["timestamp"]),
                        word,
                        s(&l["call_id"]),
                        s(&l["logger"]),
                        s(&l["message"]),
                    ]
                })
                .collect();
            out!(
                "{}",
                table(&["TIME", "LEVEL", "CALL", "LOGGER", "MESSAGE"], &rows, &[])
            );
        }
    }
    Outcome::Ok
}
