//! Helpers every check kind shares: how a URL is shown, how a latency is written, what
//! an API's error answer says, and the sub-results of kinds that probe several parts.

use mon_core::Status;
use serde_json::{Map, Value, json};
use std::time::Duration;
use url::Url;

/// The URL as it may be shown ([`mon_core::redact_url`]: no password, query values or tokens).
pub(crate) fn redact_url(url: &Url) -> String {
    mon_core::redact_url(url.as_str())
}

/// Formats a latency for messages: `3.2ms`, `1.25s`.
pub(crate) fn format_latency(latency: Duration) -> String {
    let ms = latency.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// The longest text taken from an answer into a message.
const ANSWER_TEXT_LIMIT: usize = 200;

/// What an error answer says, for a message: the `message` (or `msg`, `error_description`,
/// `error`) of a JSON object, the `message`s of a GraphQL `errors` list, or the text itself,
/// shortened. Empty when the body is.
pub(crate) fn answer_message(body: &[u8]) -> String {
    let said = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => {
            let graphql: Vec<&str> = map
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| {
                    errors
                        .iter()
                        .filter_map(|e| e.get("message").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            let field = ["message", "msg", "error_description", "error"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str));
            match (graphql.is_empty(), field) {
                (false, _) => graphql.join("; "),
                (true, Some(text)) => text.to_owned(),
                (true, None) => String::from_utf8_lossy(body).into_owned(),
            }
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
    match said.char_indices().nth(ANSWER_TEXT_LIMIT) {
        Some((cut, _)) => format!("{}…", &said[..cut]),
        None => said,
    }
}

/// One part of a check that probes several (a service, an API): shown under
/// `details.services.<name>` as `status`, `latency_ms`, `message` and the part's facts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubResult {
    pub(crate) status: Status,
    pub(crate) latency: Duration,
    pub(crate) message: String,
    /// Part-specific facts (status code, version, deployment id...).
    pub(crate) facts: Map<String, Value>,
}

impl SubResult {
    pub(crate) fn new(status: Status, latency: Duration, message: impl Into<String>) -> Self {
        SubResult {
            status,
            latency,
            message: message.into(),
            facts: Map::new(),
        }
    }

    /// The same result with the fact `key` set.
    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.facts.insert(key.to_owned(), value.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut out = json!({
            "status": self.status,
            "latency_ms": self.latency.as_secs_f64() * 1000.0,
            "message": self.message,
        });
        if let Value::Object(map) = &mut out {
            map.extend(self.facts.clone());
        }
        out
    }
}

/// The verdict of a check over its named parts: the worst status, a message that names
/// each part that is not healthy with its message (worst first), and the parts as the
/// `services` object of the details.
pub(crate) fn combine(
    what: &str,
    parts: &[(String, SubResult)],
    latency: Duration,
) -> (Status, String, Value) {
    let status = Status::worst(parts.iter().map(|(_, p)| p.status));
    let took = format_latency(latency);
    let mut failing: Vec<&(String, SubResult)> = parts
        .iter()
        .filter(|(_, p)| p.status != Status::Healthy)
        .collect();
    failing.sort_by_key(|(_, p)| std::cmp::Reverse(p.status));
    let message = if failing.is_empty() {
        let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
        format!("{what}: {} healthy in {took}", names.join(", "))
    } else {
        let listed: Vec<String> = failing
            .iter()
            .map(|(name, p)| format!("{name} {} ({})", p.status, p.message))
            .collect();
        format!("{what} {status} in {took}: {}", listed.join("; "))
    };
    let services: Map<String, Value> = parts
        .iter()
        .map(|(name, p)| (name.clone(), p.to_json()))
        .collect();
    (status, message, Value::Object(services))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_cases() {
        let cases = [
            ("http://a:b@host/p", "http://***@host/p"),
            (
                "https://host/p?x=1&token=abc",
                "https://host/p?x=***&token=***",
            ),
            (
                "https://host/p?Signature=abc&X-Amz-Credential=def",
                "https://host/p?Signature=***&X-Amz-Credential=***",
            ),
            ("http://host/#frag", "http://host/"),
            ("http://host:8080/health", "http://host:8080/health"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(&input.parse().unwrap()), want, "{input}");
        }
    }

    #[test]
    fn latencies_read_in_milliseconds_then_seconds() {
        for (latency, want) in [
            (Duration::from_micros(3_240), "3.2ms"),
            (Duration::from_millis(999), "999.0ms"),
            (Duration::from_millis(1_250), "1.25s"),
        ] {
            assert_eq!(format_latency(latency), want, "{latency:?}");
        }
    }

    #[test]
    fn answer_messages_come_from_json_graphql_or_text() {
        let cases: [(&[u8], &str); 6] = [
            (
                br#"{"message":"Invalid API key","hint":"x"}"#,
                "Invalid API key",
            ),
            (br#"{"code":401,"msg":"no apikey"}"#, "no apikey"),
            (
                br#"{"errors":[{"message":"Not Authorized"},{"message":"again"}],"data":null}"#,
                "Not Authorized; again",
            ),
            (b"upstream\n  down", "upstream down"),
            (b"", ""),
            (br#"{"other":1}"#, r#"{"other":1}"#),
        ];
        for (body, want) in cases {
            assert_eq!(
                answer_message(body),
                want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let long = "x".repeat(500);
        assert_eq!(answer_message(long.as_bytes()).chars().count(), 201);
    }

    #[test]
    fn combine_names_what_is_not_healthy_worst_first() {
        let ms = Duration::from_millis(5);
        let parts = vec![
            ("a".to_owned(), SubResult::new(Status::Healthy, ms, "fine")),
            (
                "b".to_owned(),
                SubResult::new(Status::Degraded, ms, "BUILDING"),
            ),
            (
                "c".to_owned(),
                SubResult::new(Status::Unhealthy, ms, "FAILED").with("code", 1),
            ),
        ];
        let (status, message, services) = combine("X", &parts, ms);
        assert_eq!(status, Status::Unhealthy);
        assert_eq!(
            message,
            "X unhealthy in 5.0ms: c unhealthy (FAILED); b degraded (BUILDING)"
        );
        assert_eq!(services["c"]["code"], 1);
        assert_eq!(services["a"]["status"], "healthy");
        let (status, message, _) = combine("X", &parts[..1], ms);
        assert_eq!(
            (status, message.as_str()),
            (Status::Healthy, "X: a healthy in 5.0ms")
        );
    }
}
