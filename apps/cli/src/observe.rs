//! `mon errors list/show` and `mon logs search`: what went wrong, and the log lines around it.

use crate::client::encode;
use crate::format::{or_dash, time};
use crate::output::{print_json, status_word, table};
use crate::{Ctx, Format, Outcome};
use mon_api::answers::{ErrorGroupView, ErrorsAnswer, LogsAnswer};

/// `?k=v&…` from the pairs whose value is set.
pub(crate) fn query(pairs: &[(&str, Option<&str>)]) -> String {
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
    let (answer, ErrorsAnswer { errors, .. }) = match ctx.client.get_answer(&path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            let rows: Vec<Vec<String>> = errors
                .iter()
                .map(|e| {
                    vec![
                        e.fingerprint.clone(),
                        e.count.to_string(),
                        e.kind.clone(),
                        time(&e.last_seen),
                        e.message.clone(),
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
    let (json, e) = match ctx
        .client
        .get_answer::<ErrorGroupView>(&format!("/api/v1/errors/{}", encode(fingerprint)))
    {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&json),
        Format::Table => {
            outln!(
                "{} ×{}  {}\n{}\nat {}\nfirst seen {}, last seen {}",
                e.kind,
                e.count,
                e.fingerprint,
                e.message,
                e.location,
                time(&e.first_seen),
                time(&e.last_seen)
            );
            for sample in &e.samples {
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
    let (answer, LogsAnswer { logs, .. }) = match ctx.client.get_answer(&path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            let rows: Vec<Vec<String>> = logs
                .iter()
                .map(|l| {
                    let level = l.level.to_ascii_lowercase();
                    let word = match level.as_str() {
                        "error" => status_word("error", ctx.color),
                        "warn" => status_word("warning", ctx.color).replace("warning", "warn"),
                        other => other.to_string(),
                    };
                    vec![
                        time(&l.timestamp),
                        word,
                        or_dash(l.call_id.as_ref()),
                        l.logger.clone(),
                        l.message.clone(),
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
