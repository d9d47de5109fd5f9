//! `mon events send` and `mon heartbeat NAME`: push data to a server, for shell and cron users.

use crate::output::print_json;
use crate::{Ctx, Format, Outcome};
use mon_api::answers::EventsAnswer;
use serde_json::{Map, Value, json};
use std::io::Read;

/// Builds the events to send: from `--type` and `--set key=value` flags, or from stdin
/// (a JSON array, one JSON object, or NDJSON).
pub(crate) fn events_from(
    event_type: Option<&str>,
    fields: &[String],
    stdin: &mut dyn Read,
) -> Result<Value, Outcome> {
    if let Some(event_type) = event_type {
        let mut event = Map::new();
        event.insert("type".into(), Value::from(event_type));
        for field in fields {
            let (key, raw) = field
                .split_once('=')
                .ok_or_else(|| Outcome::Usage(format!("--set {field:?}: expected key=value")))?;
            // Numbers and booleans are sent as such; `labels.k=v` fills a map.
            let value = serde_json::from_str::<Value>(raw)
                .ok()
                .filter(|v| v.is_number() || v.is_boolean())
                .unwrap_or_else(|| Value::from(raw));
            match key.split_once('.') {
                Some((map, sub)) => {
                    let entry = event
                        .entry(map)
                        .or_insert_with(|| Value::Object(Map::new()));
                    match entry.as_object_mut() {
                        Some(m) => {
                            m.insert(sub.to_string(), value);
                        }
                        None => {
                            return Err(Outcome::Usage(format!(
                                "--set {field:?}: `{map}` is already a value"
                            )));
                        }
                    }
                }
                None => {
                    event.insert(key.to_string(), value);
                }
            }
        }
        return Ok(json!([Value::Object(event)]));
    }
    if !fields.is_empty() {
        return Err(Outcome::Usage("--set needs --type".into()));
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .map_err(|e| Outcome::Usage(format!("cannot read events from stdin: {e}")))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Outcome::Usage(
            "no events: pipe JSON to stdin or use --type and --set".into(),
        ));
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Ok(match value {
            Value::Array(_) => value,
            other => json!([other]),
        });
    }
    let mut events = Vec::new();
    for (i, line) in trimmed
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let event = serde_json::from_str::<Value>(line)
            .map_err(|e| Outcome::Usage(format!("stdin line {}: not JSON: {e}", i + 1)))?;
        events.push(event);
    }
    Ok(Value::Array(events))
}

pub(crate) fn send_events(ctx: &Ctx, event_type: Option<&str>, fields: &[String]) -> Outcome {
    let events = match events_from(event_type, fields, &mut std::io::stdin()) {
        Ok(events) => events,
        Err(outcome) => return outcome,
    };
    match ctx
        .client
        .post_answer::<EventsAnswer>("/api/v1/events", &events)
    {
        Ok((json, answer)) => {
            match ctx.format {
                Format::Json => print_json(&json),
                Format::Table => {
                    let accepted = answer.accepted;
                    match answer.dropped {
                        0 => outln!("accepted {accepted} event(s)"),
                        dropped => outln!(
                            "accepted {accepted} event(s), dropped {dropped} ({})",
                            json!(answer.dropped_reasons)
                        ),
                    }
                }
            }
            Outcome::Ok
        }
        Err(outcome) => outcome,
    }
}

pub(crate) fn heartbeat(ctx: &Ctx, name: &str, start: bool, fail: bool) -> Outcome {
    let suffix = match (start, fail) {
        (true, _) => "/start",
        (_, true) => "/fail",
        _ => "",
    };
    let path = format!("/api/v1/heartbeat/{}{suffix}", crate::client::encode(name));
    match ctx.client.post_json(&path, None) {
        Ok(answer) => {
            match ctx.format {
                Format::Json => print_json(&answer),
                Format::Table => outln!("heartbeat {name}{suffix}: recorded"),
            }
            Outcome::Ok
        }
        Err(outcome) => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(t: Option<&str>, fields: &[&str], stdin: &str) -> Result<Value, String> {
        let fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        events_from(t, &fields, &mut stdin.as_bytes()).map_err(|o| format!("{o:?}"))
    }

    #[test]
    fn builds_events_from_flags_and_stdin() {
        assert_eq!(
            from(
                Some("gauge"),
                &["name=queue_depth", "value=3", "labels.queue=stt"],
                ""
            )
            .unwrap(),
            json!([{"type": "gauge", "name": "queue_depth", "value": 3, "labels": {"queue": "stt"}}])
        );
        assert_eq!(
            from(None, &[], r#"{"type":"heartbeat","name":"x"}"#).unwrap(),
            json!([{"type":"heartbeat","name":"x"}])
        );
        assert_eq!(from(None, &[], "[1,2]").unwrap(), json!([1, 2]));
        assert_eq!(
            from(None, &[], "{\"type\":\"a\"}\n\n{\"type\":\"b\"}\n").unwrap(),
            json!([{"type":"a"},{"type":"b"}])
        );
        assert!(from(None, &[], "").unwrap_err().contains("no events"));
        assert!(
            from(None, &[], "{\"a\":1}\nnot json")
                .unwrap_err()
                .contains("stdin line 2")
        );
        assert!(
            from(None, &["a=1"], "")
                .unwrap_err()
                .contains("--set needs --type")
        );
        assert!(
            from(Some("x"), &["novalue"], "")
                .unwrap_err()
                .contains("expected key=value")
        );
    }
}
