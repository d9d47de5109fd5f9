//! The `prometheus` check against a loopback server serving a text exposition.

use mon_core::Status;
use mon_health::CheckConfig;
use mon_tests::{Answer, Capture};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// A LiveKit-like exposition: histograms for packet loss and jitter, a gauge for quality.
const EXPOSITION: &str = r#"# HELP livekit_packet_loss_percent Packet loss percentage
# TYPE livekit_packet_loss_percent histogram
livekit_packet_loss_percent_bucket{direction="incoming",kind="audio",le="1"} 3
livekit_packet_loss_percent_bucket{direction="incoming",kind="audio",le="+Inf"} 4
livekit_packet_loss_percent_sum{direction="incoming",kind="audio"} 6
livekit_packet_loss_percent_count{direction="incoming",kind="audio"} 4
livekit_packet_loss_percent_bucket{direction="outgoing",kind="audio",le="1"} 0
livekit_packet_loss_percent_bucket{direction="outgoing",kind="audio",le="+Inf"} 1
livekit_packet_loss_percent_sum{direction="outgoing",kind="audio"} 4
livekit_packet_loss_percent_count{direction="outgoing",kind="audio"} 1
# HELP livekit_jitter_us Jitter in microseconds
# TYPE livekit_jitter_us histogram
livekit_jitter_us_bucket{kind="audio",le="+Inf"} 2
livekit_jitter_us_sum{kind="audio"} 50000
livekit_jitter_us_count{kind="audio"} 2
# HELP livekit_quality_score Connection quality score
# TYPE livekit_quality_score gauge
livekit_quality_score{room="a"} 4.5
livekit_quality_score{room="b"} 3.5
# TYPE livekit_room_total gauge
livekit_room_total{node_id="ND_1"} 7
"#;

/// An exporter answering `status` with `body` in the text format.
fn serve(body: &str, status: u16) -> (SocketAddr, Capture) {
    let exporter = Capture::start();
    exporter.answer(
        Answer::status(status)
            .header("Content-Type", "text/plain; version=0.0.4")
            .body(body),
    );
    (exporter.addr(), exporter)
}

fn config(addr: SocketAddr, extra: Value) -> CheckConfig {
    let mut value = json!({"name": "lk-metrics", "type": "prometheus", "url": format!("http://{addr}/metrics")});
    if let (Value::Object(v), Value::Object(extra)) = (&mut value, extra) {
        v.extend(extra);
    }
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn livekit_defaults_map_quality_metrics_to_voice_variables() {
    let (addr, exporter) = serve(EXPOSITION, 200);
    let outcome = config(addr, json!({}))
        .build(&mon_health::check_kinds())
        .unwrap()
        .check()
        .await;
    assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
    let vars = &outcome.variables;
    // Packet loss: (6 + 4) / (4 + 1) = 2 % → 0.02; jitter 25000 µs → 25 ms; quality mean 4.0.
    let value = |name: &str| vars.get(name).copied().unwrap_or(f64::NAN);
    assert!((value("avg_packet_loss") - 0.02).abs() < 1e-12, "{vars:?}");
    assert!((value("avg_jitter_ms") - 25.0).abs() < 1e-9, "{vars:?}");
    assert_eq!(value("avg_mos"), 4.0, "{vars:?}");
    // Shown to people in the details too.
    assert_eq!(outcome.details["variables"]["avg_mos"], 4.0);
    assert_eq!(outcome.details["missing"], json!([]));
    assert!(
        outcome.message.contains("3 of 3 series mapped"),
        "{}",
        outcome.message
    );
    assert!(
        exporter.requests()[0]
            .header("accept")
            .unwrap_or_default()
            .starts_with("text/plain"),
        "asks for the text format"
    );
}

#[tokio::test]
async fn chosen_series_with_labels_and_aggregates() {
    let (addr, _) = serve(EXPOSITION, 200);
    let series = json!({"series": [
        {"metric": "livekit_packet_loss_percent", "labels": {"direction": "outgoing"}, "variable": "outgoing_loss_percent"},
        {"metric": "livekit_quality_score", "aggregate": "min", "variable": "worst_quality"},
        {"metric": "livekit_room_total", "aggregate": "sum", "variable": "livekit_rooms"},
        {"metric": "livekit_not_there", "variable": "nothing"},
    ]});
    let outcome = config(addr, series)
        .build(&mon_health::check_kinds())
        .unwrap()
        .check()
        .await;
    assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
    assert_eq!(
        outcome.variables,
        BTreeMap::from([
            ("outgoing_loss_percent".to_owned(), 4.0),
            ("worst_quality".to_owned(), 3.5),
            ("livekit_rooms".to_owned(), 7.0)
        ])
    );
    assert_eq!(outcome.details["missing"], json!(["livekit_not_there"]));
}

#[tokio::test]
async fn errors_and_non_expositions_are_unhealthy() {
    let (addr, _) = serve(EXPOSITION, 503);
    let outcome = config(addr, json!({}))
        .build(&mon_health::check_kinds())
        .unwrap()
        .check()
        .await;
    assert_eq!(outcome.status, Status::Unhealthy);
    assert!(outcome.message.contains("HTTP 503"), "{}", outcome.message);
    assert!(outcome.variables.is_empty(), "{outcome:?}");

    let (addr, _) = serve("<html>hello</html>\n", 200);
    let outcome = config(addr, json!({}))
        .build(&mon_health::check_kinds())
        .unwrap()
        .check()
        .await;
    assert_eq!(outcome.status, Status::Unhealthy);
    assert!(
        outcome.message.contains("no samples"),
        "{}",
        outcome.message
    );
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        (json!({"series": []}), "series"),
        (
            json!({"series": [{"metric": "a-b", "variable": "x"}]}),
            "series[0].metric",
        ),
        (
            json!({"series": [{"metric": "a", "variable": "Bad Name"}]}),
            "series[0].variable",
        ),
        (
            json!({"series": [{"metric": "a", "variable": "x", "scale": 0.0}]}),
            "series[0].scale",
        ),
        (
            json!({"series": [{"metric": "a", "variable": "x"}, {"metric": "b", "variable": "x"}]}),
            "series[1].variable",
        ),
        (json!({"url": "ftp://x/metrics"}), "url"),
    ];
    for (change, field) in cases {
        let mut value =
            json!({"name": "p", "type": "prometheus", "url": "http://127.0.0.1:6789/metrics"});
        if let (Value::Object(v), Value::Object(c)) = (&mut value, change) {
            v.extend(c);
        }
        let config: CheckConfig = serde_json::from_value(value).unwrap();
        match config.validate(&mon_health::check_kinds()) {
            Err(mon_health::HealthError::InvalidConfig { field: got, .. }) => {
                assert_eq!(got, field)
            }
            other => panic!("{field}: {other:?}"),
        }
    }
}
