//! `/metrics` whatever was ingested: hostile label values in every labelled field of
//! `POST /api/v1/events` leave both expositions (OpenMetrics and the classic text format)
//! parseable with every value read back intact; custom metric names that collide are
//! refused at ingest naming the event and field; label values over the limit are refused;
//! custom series beyond the total bound are dropped and counted; `mon_check_status` tells
//! healthy, degraded and unhealthy checks apart.

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{INGEST, READ, SELF_CHECK_OFF, call, call_json, config, send, start, wait_for};
use mon_server::App;
use serde_json::{Value, json};
use std::collections::BTreeMap;

async fn app(dir: &tempfile::TempDir, extra: &str) -> App {
    start(&config(SELF_CHECK_OFF, extra), dir, &[]).await
}

/// `GET /metrics` with `accept`: (content type, body).
/// `POST /api/v1/events` with an ingest token: (status, answer).
async fn ingest(app: &App, events: Value) -> (StatusCode, Value) {
    call_json(app, "POST", "/api/v1/events", Some(INGEST), Some(events)).await
}

async fn scrape(app: &App, accept: &str) -> (String, String) {
    let request = common::request("GET", "/metrics", Some(READ)).header("accept", accept);
    let answer = send(app, request.body(Body::empty()).expect("request")).await;
    assert_eq!(answer.status, StatusCode::OK);
    (answer.header("content-type").to_owned(), answer.text)
}

/// One sample line: name, labels (unescaped), value.
type Sample = (String, Vec<(String, String)>, f64);

/// A strict reader of the text formats: every line is a comment mon writes (`# HELP`,
/// `# TYPE`, `# UNIT`, `# EOF`) or a sample `name{label="value",...} number`, label values
/// using only the escapes `\\`, `\"` and `\n`; every sample belongs to the family of the
/// last `# TYPE`; with `openmetrics`, the text ends with `# EOF`.
fn parse(text: &str, openmetrics: bool) -> Result<Vec<Sample>, String> {
    fn name_ok(name: &str, first: fn(char) -> bool) -> bool {
        let mut chars = name.chars();
        chars.next().is_some_and(first) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }
    let metric_first = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
    let label_first = |c: char| c.is_ascii_alphabetic() || c == '_';
    let mut samples = Vec::new();
    let mut family = String::new();
    let mut eof = false;
    for (n, line) in text.lines().enumerate() {
        let at = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
        if eof {
            return Err(at("text after # EOF"));
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match (words.next(), words.next()) {
                (Some("EOF"), None) if openmetrics => eof = true,
                (Some("TYPE"), Some(name)) => {
                    let kind = words.next().unwrap_or_default();
                    if !["counter", "gauge", "histogram", "info", "unknown"].contains(&kind) {
                        return Err(at("unknown TYPE"));
                    }
                    family = name.to_owned();
                }
                (Some("HELP" | "UNIT"), Some(name)) if name_ok(name, metric_first) => {}
                _ => return Err(at("not a comment of the format")),
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value"))?;
        let name = &line[..name_end];
        if !name_ok(name, metric_first) {
            return Err(at("bad metric name"));
        }
        let suffix = name.strip_prefix(family.as_str()).unwrap_or("-");
        if ![
            "", "_total", "_created", "_bucket", "_sum", "_count", "_info",
        ]
        .contains(&suffix)
        {
            return Err(at(&format!("sample outside its family {family:?}")));
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(inner) = rest.strip_prefix('{') {
            rest = inner;
            loop {
                if let Some(after) = rest.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let eq = rest.find("=\"").ok_or_else(|| at("label without =\""))?;
                let label = &rest[..eq];
                if !name_ok(label, label_first) {
                    return Err(at(&format!("bad label name {label:?}")));
                }
                let mut value = String::new();
                let mut chars = rest[eq + 2..].char_indices();
                let end = loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            _ => return Err(at("bad escape in a label value")),
                        },
                        Some((i, '"')) => break eq + 2 + i + 1,
                        Some((_, c)) => value.push(c),
                        None => return Err(at("unterminated label value")),
                    }
                };
                labels.push((label.to_owned(), value));
                rest = &rest[end..];
                rest = rest.strip_prefix(',').unwrap_or(rest);
            }
        }
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("no space before the value"))?;
        let value = value.split(' ').next().unwrap_or_default();
        let number = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse::<f64>().map_err(|e| at(&format!("value: {e}")))?,
        };
        samples.push((name.to_owned(), labels, number));
    }
    if openmetrics && !eof {
        return Err("no # EOF at the end".to_owned());
    }
    Ok(samples)
}

/// Whether a sample `name` has label `label` = `value`.
fn has(samples: &[Sample], name: &str, label: &str, value: &str) -> bool {
    samples
        .iter()
        .any(|(n, l, _)| n == name && l.iter().any(|(k, v)| k == label && v == value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_label_values_in_every_field_keep_both_formats_parseable() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, "metrics:\n  host: false\n").await;
    let at_limit = "é".repeat(128); // 256 bytes: exactly the default limit
    let mut hostile: Vec<&str> = mon_tests::HOSTILE_LABEL_VALUES.to_vec();
    hostile.extend(["  ", &at_limit]);
    // Every labelled field of every event type, and the sample/label it lands in.
    let mut events = Vec::new();
    let mut expected: Vec<(&str, &str, String)> = Vec::new();
    for (i, v) in hostile.iter().enumerate() {
        let v = (*v).to_owned();
        // Required fields refuse a blank value; custom label values take it.
        if !v.trim().is_empty() {
            events.push(
                json!({"type":"request","endpoint":v,"method":"GET","status":200,"latency_ms":12}),
            );
            events.push(
                json!({"type":"request","endpoint":"/m","method":v,"status":200,"latency_ms":12}),
            );
            events.push(json!({"type":"error","kind":v,"message":"m"}));
            events.push(json!({"type":"ai_usage","provider":v,"service":"llm","model":"m","units":1,"cost_usd":0,"latency_ms":5}));
            events.push(json!({"type":"ai_usage","provider":"p","service":"tts","model":v,"units":1,"cost_usd":0,"latency_ms":5}));
            expected.push(("mon_app_requests_total", "endpoint", v.clone()));
            expected.push((
                "mon_app_request_duration_seconds_bucket",
                "endpoint",
                v.clone(),
            ));
            expected.push(("mon_app_requests_total", "method", v.clone()));
            expected.push(("mon_app_errors_total", "kind", v.clone()));
            expected.push(("mon_app_ai_requests_total", "provider", v.clone()));
            expected.push(("mon_app_ai_latency_seconds_bucket", "model", v.clone()));
        }
        events.push(json!({"type":"gauge","name":"hostile_gauge","value":i,"labels":{"k":v}}));
        events.push(json!({"type":"counter","name":"hostile_events_total","labels":{"k":v}}));
        expected.push(("hostile_gauge", "k", v.clone()));
        expected.push(("hostile_events_total", "k", v));
    }
    events.push(json!({"type":"gauge","name":"hostile_gauge","value":1,"labels":{"k":""}}));
    expected.push(("hostile_gauge", "k", String::new()));
    let n = events.len();
    let (status, answer) = ingest(&app, Value::from(events)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"accepted": n, "dropped": 0, "dropped_reasons": {}})
    );

    for (accept, openmetrics, content_type) in [
        (
            "application/openmetrics-text; version=1.0.0",
            true,
            "application/openmetrics-text",
        ),
        (
            "text/plain; version=0.0.4",
            false,
            "text/plain; version=0.0.4",
        ),
    ] {
        let (ct, text) = scrape(&app, accept).await;
        assert!(ct.starts_with(content_type), "{ct}");
        let samples = parse(&text, openmetrics).unwrap_or_else(|e| panic!("{accept}: {e}"));
        for (name, label, value) in &expected {
            assert!(
                has(&samples, name, label, value),
                "{accept}: no {name}{{{label}={value:?}}} read back"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colliding_or_reserved_names_and_long_values_are_refused_naming_event_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, "metrics:\n  host: false\n").await;
    let ok = json!({"type":"call_started","call_id":"c"});
    let (status, _) = ingest(&app, json!([{"type":"counter","name":"retries"}])).await;
    assert_eq!(status, StatusCode::OK);
    let long = "x".repeat(257);
    let cases: Vec<(Value, &str)> = vec![
        // A gauge retries_total beside the counter retries (recorded above).
        (
            json!({"type":"gauge","name":"retries_total","value":1}),
            "event 1, field \"name\": metric \"retries_total\": only a counter's samples end in _total",
        ),
        (
            json!({"type":"gauge","name":"retries","value":1}),
            "event 1, field \"name\": metric \"retries\": it is already a counter",
        ),
        (
            json!({"type":"gauge","name":"queue_created","value":1}),
            "event 1, field \"name\": metric \"queue_created\": only a counter's samples end in _created",
        ),
        (
            json!({"type":"gauge","name":"up","value":1}),
            "event 1, field \"name\": metric \"up\": up, scrape_*",
        ),
        (
            json!({"type":"counter","name":"scrape_samples_scraped"}),
            "event 1, field \"name\": metric \"scrape_samples_scraped\": up, scrape_*",
        ),
        (
            json!({"type":"gauge","name":"mon_check_up","value":1}),
            "event 1, field \"name\": metric \"mon_check_up\": names starting with mon_ are reserved",
        ),
        (
            json!({"type":"gauge","name":"9lives","value":1}),
            "event 1, field \"name\": metric \"9lives\": a metric name must match",
        ),
        (
            json!({"type":"gauge","name":"g","value":1,"labels":{"bad-label":"v"}}),
            "event 1, field \"labels\": metric \"g\": label name \"bad-label\" must match",
        ),
        (
            json!({"type":"gauge","name":"g","value":1,"labels":{"__name__":"v"}}),
            "event 1, field \"labels\": metric \"g\": label name \"__name__\"",
        ),
        (
            json!({"type":"gauge","name":"g","value":1,"labels":{"instance":"v"}}),
            "event 1, field \"labels\": metric \"g\": label name \"instance\"",
        ),
        (
            json!({"type":"gauge","name":"g","value":1,"labels":{"k":long}}),
            "event 1, field \"labels.k\": 257 bytes, over the label value limit of 256",
        ),
        (
            json!({"type":"request","endpoint":long,"method":"GET","status":200,"latency_ms":1}),
            "event 1, field \"endpoint\": 257 bytes",
        ),
        (
            json!({"type":"request","endpoint":"/","method":long,"status":200,"latency_ms":1}),
            "event 1, field \"method\": 257 bytes",
        ),
        (
            json!({"type":"error","kind":long,"message":"m"}),
            "event 1, field \"kind\": 257 bytes",
        ),
        (
            json!({"type":"ai_usage","provider":long,"service":"llm","model":"m","units":1,"cost_usd":0,"latency_ms":5}),
            "event 1, field \"provider\": 257 bytes",
        ),
        (
            json!({"type":"ai_usage","provider":"p","service":"llm","model":long,"units":1,"cost_usd":0,"latency_ms":5}),
            "event 1, field \"model\": 257 bytes",
        ),
    ];
    for (event, want) in cases {
        let (status, answer) = ingest(&app, json!([ok, event])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{event}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_event", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(want),
            "{event}:\n{message}\nwanted {want}"
        );
    }
    // Two new families that collide with each other inside one batch.
    let (status, answer) = ingest(
        &app,
        json!([
            {"type":"counter","name":"hangups"},
            ok,
            {"type":"gauge","name":"hangups","value":1}
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"].as_str().is_some_and(|m| m
            .starts_with("event 2, field \"name\": metric \"hangups\": it is already a counter")),
        "{answer}"
    );
    // Nothing of a refused batch was recorded.
    let (_, text) = scrape(&app, "text/plain").await;
    assert!(!text.contains("hangups"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_series_beyond_the_total_bound_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, "metrics:\n  host: false\n  max_series: 5\n").await;
    // 3 names × 3 label values = 9 new series; the bound is over all names together.
    let events: Vec<Value> = (0..9)
        .map(|i| json!({"type":"gauge","name":format!("g{}", i / 3),"value":i,"labels":{"k":(i % 3).to_string()}}))
        .chain([json!({"type":"call_started","call_id":"c"})])
        .collect();
    let (status, answer) = ingest(&app, Value::from(events)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"accepted": 6, "dropped": 4, "dropped_reasons": {"series_limit": 4}})
    );
    // A series that exists still takes new values; a new one is dropped.
    let (_, answer) = ingest(
        &app,
        json!([
            {"type":"gauge","name":"g0","value":42,"labels":{"k":"0"}},
            {"type":"gauge","name":"g9","value":1}
        ]),
    )
    .await;
    assert_eq!(
        answer,
        json!({"accepted": 1, "dropped": 1, "dropped_reasons": {"series_limit": 1}})
    );
    let (_, text) = scrape(&app, "text/plain").await;
    let samples = parse(&text, false).expect("parses");
    let custom = samples
        .iter()
        .filter(|(n, ..)| n.starts_with('g') && n.len() == 2)
        .count();
    assert_eq!(custom, 5, "{text}");
    assert!(text.contains("g0{k=\"0\"} 42"), "{text}");
    let dropped = samples
        .iter()
        .find(|(n, l, _)| {
            n == "mon_ingest_dropped_total"
                && l == &[("reason".to_owned(), "series_limit".to_owned())]
        })
        .map(|s| s.2);
    assert_eq!(dropped, Some(5.0), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_status_tells_healthy_degraded_and_unhealthy_apart() {
    let dir = tempfile::tempdir().unwrap();
    let config = "metrics:\n  host: false\nchecks:\n  \
        - { name: calm, type: heartbeat, period: 1h, interval: 1s }\n  \
        - { name: busy, type: heartbeat, period: 1m, grace: 1h, interval: 1s }\n  \
        - { name: closed, type: tcp, address: \"127.0.0.1:9\", interval: 1s, timeout: 1s }\n";
    let app = app(&dir, config).await;
    // A ping now keeps `calm` up; `busy`'s last ping, 2 minutes ago, is late (degraded).
    let ago = (chrono::Utc::now() - chrono::Duration::minutes(2)).to_rfc3339();
    let (status, answer) = ingest(
        &app,
        json!([
            {"type":"heartbeat","name":"calm"},
            {"type":"heartbeat","name":"busy","timestamp":ago}
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let want = BTreeMap::from([
        ("busy", "degraded"),
        ("calm", "healthy"),
        ("closed", "unhealthy"),
    ]);
    wait_for("every check to report", async || {
        for (name, status) in &want {
            let uri = format!("/api/v1/checks/{name}");
            let (_, check) = call(&app, "GET", &uri, Some(READ)).await;
            if check["status"] != *status {
                return false;
            }
        }
        true
    })
    .await;
    let (_, text) = scrape(&app, "application/openmetrics-text").await;
    let samples = parse(&text, true).expect("parses");
    for (check, current) in &want {
        for state in ["healthy", "degraded", "unhealthy", "unknown"] {
            let value = samples.iter().find(|(n, l, _)| {
                n == "mon_check_status"
                    && l == &[
                        ("check".to_owned(), (*check).to_owned()),
                        ("status".to_owned(), state.to_owned()),
                    ]
            });
            let expected = f64::from(u8::from(state == *current));
            assert_eq!(
                value.map(|s| s.2),
                Some(expected),
                "{check} {state}:\n{text}"
            );
        }
        // mon_check_up stays "serving": degraded counts as up.
        let up = samples
            .iter()
            .find(|(n, l, _)| n == "mon_check_up" && l[0].1 == *check)
            .map(|s| s.2);
        assert_eq!(
            up,
            Some(f64::from(u8::from(*current != "unhealthy"))),
            "{check}"
        );
    }
}
