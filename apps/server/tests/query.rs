//! Range queries over a real SQLite file: the full answer (`/api/v1/metrics/query`) and the
//! compact one (`/api/v1/metrics/range`) agree point by point, gaps are `null`, the step
//! chooses the resolution, and bad parameters are 400 naming the parameter.

mod common;
use axum::http::StatusCode;
use chrono::{DateTime, Duration as Delta, SecondsFormat, Utc};
use common::{READ, SELF_CHECK_OFF, config, start};
use mon_server::App;
use serde_json::Value;
use std::collections::BTreeMap;

const BODY: &str = "metrics:\n  host: false\n";
const HOUR: i64 = 3_600_000;

/// The start of the data: three whole hours before the current hour.
fn base() -> DateTime<Utc> {
    let now = Utc::now().timestamp_millis();
    DateTime::from_timestamp_millis(now / HOUR * HOUR - 3 * HOUR).expect("time")
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Writes 2 hours of 10-second samples of `q_latency` for peers a, b, c into the store
/// file before the server starts: a has no samples from minute 30 to 40, c only in the
/// first 10 minutes; then rolls them up as the server's maintenance would.
async fn fill(dir: &tempfile::TempDir, base: DateTime<Utc>) {
    let store = mon_store::Store::open(
        &dir.path().join("mon.db"),
        mon_store::StoreOptions::default(),
    )
    .expect("open");
    let mut samples = Vec::new();
    for i in 0..720i64 {
        let ts = base + Delta::seconds(10 * i);
        for (peer, present) in [("a", !(180..240).contains(&i)), ("b", true), ("c", i < 60)] {
            if present {
                samples.push(mon_store::Sample {
                    name: "q_latency".to_owned(),
                    labels: BTreeMap::from([("peer".to_owned(), peer.to_owned())]),
                    ts,
                    value: (i % 17) as f64 + 0.25,
                });
            }
        }
    }
    store
        .write(mon_store::WriteBatch::from_samples(samples))
        .await
        .expect("write");
    let policy = mon_store::SeriesPolicy::default();
    for m in (0..=124).step_by(2) {
        store
            .series_maintenance(&policy, base + Delta::minutes(m))
            .await
            .expect("rollup");
    }
    store.close().await.expect("close");
}

async fn app(dir: &tempfile::TempDir) -> App {
    start(&config(SELF_CHECK_OFF, BODY), dir, &[]).await
}

async fn get(app: &App, uri: &str) -> (StatusCode, Value, String) {
    let answer = common::send(
        app,
        common::request("GET", uri, Some(READ))
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await;
    let content_type = answer.header("content-type").to_owned();
    (answer.status, answer.json(), content_type)
}

/// Every point of the full answer is the compact answer's bucket at the same time, with
/// the same statistics; every other compact bucket is a gap.
fn assert_agree(full: &Value, compact: &Value) {
    let start = compact["start_ms"].as_i64().expect("start_ms");
    let step = compact["step_ms"].as_i64().expect("step_ms");
    let buckets = compact["buckets"].as_u64().expect("buckets") as usize;
    let full_series = full["series"].as_array().expect("series");
    let compact_series = compact["series"].as_array().expect("series");
    assert_eq!(full_series.len(), compact_series.len());
    for (f, c) in full_series.iter().zip(compact_series) {
        assert_eq!(f["labels"], c["labels"]);
        let values = c["values"].as_array().expect("values");
        assert_eq!(values.len(), buckets);
        let mut seen = vec![false; buckets];
        for p in f["points"].as_array().expect("points") {
            let ts: DateTime<Utc> = p["ts"].as_str().expect("ts").parse().expect("time");
            let i = ((ts.timestamp_millis() - start) / step) as usize;
            assert_eq!(ts.timestamp_millis(), start + i as i64 * step, "{p}");
            seen[i] = true;
            assert_eq!(values[i], p["avg"], "avg at {ts}");
            for stat in ["min", "max", "count", "sum"] {
                assert_eq!(c[stat][i], p[stat], "{stat} at {ts}");
            }
        }
        for (i, seen) in seen.iter().enumerate() {
            if !seen {
                assert!(values[i].is_null(), "bucket {i}: {}", values[i]);
                assert_eq!(c["count"][i], 0);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_and_compact_answers_agree_point_by_point() {
    let dir = tempfile::tempdir().expect("dir");
    let base = base();
    fill(&dir, base).await;
    let app = app(&dir).await;
    let range = format!(
        "name=q_latency&from={}&to={}",
        rfc(base),
        rfc(base + Delta::hours(2))
    );
    let stats = "stats=min,max,count,sum";

    // Every raw sample (about 280 kB: several chunks of the stream) against 10 s buckets.
    let (status, full, content_type) = get(&app, &format!("/api/v1/metrics/query?{range}")).await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert_eq!(content_type, "application/json");
    assert_eq!(full["name"], "q_latency");
    let lengths: Vec<usize> = full["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|s| s["points"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(lengths, [660, 720, 60]);
    let (status, compact, _) = get(
        &app,
        &format!("/api/v1/metrics/range?{range}&step=10s&{stats}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{compact}");
    assert_eq!(compact["resolution"], "raw");
    assert_eq!(compact["buckets"], 721);
    assert_agree(&full, &compact);
    // Peer a's gap: buckets 180..240 are null.
    let a = &compact["series"][0];
    assert_eq!(a["labels"]["peer"], "a");
    assert!(a["values"][179].is_number() && a["values"][180].is_null());
    assert!(a["values"][239].is_null() && a["values"][240].is_number());

    // Steps: one minute (raw, 6 samples a bucket) and one hour (hourly rollups).
    for (step, resolution, buckets) in [("1m", "raw", 121), ("1h", "1h", 3)] {
        let (_, full, _) = get(&app, &format!("/api/v1/metrics/query?{range}&step={step}")).await;
        let (_, compact, _) = get(
            &app,
            &format!("/api/v1/metrics/range?{range}&step={step}&{stats}"),
        )
        .await;
        assert_eq!(compact["resolution"], resolution, "step {step}");
        assert_eq!(full["series"][1]["resolution"], resolution, "step {step}");
        assert_eq!(compact["buckets"], buckets, "step {step}");
        assert_agree(&full, &compact);
    }
    let (_, hourly, _) = get(
        &app,
        &format!("/api/v1/metrics/range?{range}&step=1h&{stats}"),
    )
    .await;
    assert_eq!(
        hourly["series"][1]["count"],
        serde_json::json!([360, 360, 0])
    );

    // Without a step, over 8 hours: 1-minute rollups, one bucket a minute; only the
    // means unless statistics are asked for.
    let (status, compact, _) = get(
        &app,
        &format!(
            "/api/v1/metrics/range?name=q_latency&labels=peer=b&from={}&to={}",
            rfc(base - Delta::hours(6)),
            rfc(base + Delta::hours(2))
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{compact}");
    assert_eq!(compact["resolution"], "1m");
    assert_eq!(compact["step_ms"], 60_000);
    assert_eq!(compact["buckets"], 481);
    let series = compact["series"].as_array().expect("series");
    assert_eq!(series.len(), 1);
    assert!(series[0].get("min").is_none() && series[0].get("count").is_none());
    let filled = series[0]["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter(|v| v.is_number())
        .count();
    assert_eq!(filled, 120);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_range_parameters_are_400_naming_the_parameter() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(&dir).await;
    for (uri, needle) in [
        ("/api/v1/metrics/range?from=1h", "name"),
        ("/api/v1/metrics/range?name=x&stats=p99", "stats"),
        ("/api/v1/metrics/range?name=x&step=soon", "step"),
        ("/api/v1/metrics/range?name=x&from=6h&step=1s", "step"),
        ("/api/v1/metrics/range?name=x&from=yesterday", "from"),
        ("/api/v1/metrics/range?name=x&labels=nopair", "labels"),
        ("/api/v1/metrics/range?name=x&format=compact", "format"),
        ("/api/v1/metrics/query?name=x&stats=min", "stats"),
        ("/api/v1/metrics/query?name=x&from=6h&step=1s", "step"),
    ] {
        let (status, body, _) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{uri}: {message}");
    }
    // An unknown series is an empty list, not an error.
    let (status, body, _) = get(&app, "/api/v1/metrics/range?name=nothing").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["series"], serde_json::json!([]));
    app.shutdown().await;
}
