//! `GET /api/v1/compare`: one stored metric in two periods, or before and after a
//! deployment, through the real router on a real SQLite file whose series were written
//! beforehand. The figures are those of `mon_metrics::stats` on the same values (which
//! tests/tests/stats.rs checks against scipy); here, that the right points of the right
//! series reach it.

mod common;
use axum::http::StatusCode;
use chrono::{TimeDelta, Utc};
use common::{INGEST, READ, SELF_CHECK_OFF, call, call_json, config, start};
use mon_metrics::stats::{Confidence, Sample as Values, compare_samples};
use mon_store::{Sample, Store, StoreOptions, WriteBatch};
use serde_json::json;
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metric_is_compared_between_periods_and_around_a_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    // One point a minute for two hours: 100-ish before the deployment an hour ago,
    // 130-ish after; another endpoint's series beside it stays flat.
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut samples = Vec::new();
    for minute in 1..=120 {
        let ts = now - TimeDelta::minutes(121 - minute);
        let wobble = f64::from((minute * 37 % 11) as u32);
        let value = if minute <= 60 { 100.0 } else { 130.0 } + wobble;
        if minute <= 60 {
            &mut before
        } else {
            &mut after
        }
        .push(value);
        for (endpoint, v) in [("/turn", value), ("/health", 5.0)] {
            samples.push(Sample {
                name: "endpoint_avg_latency_ms".into(),
                labels: BTreeMap::from([("endpoint".to_owned(), endpoint.to_owned())]),
                ts,
                value: v,
            });
        }
    }
    {
        let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
        store
            .write(WriteBatch::from_samples(samples))
            .await
            .unwrap();
        store.close().await.unwrap();
    }
    let app = start(
        &config(SELF_CHECK_OFF, "metrics:\n  host: false\n"),
        &dir,
        &[],
    )
    .await;
    let deployed = (now - TimeDelta::minutes(60) - TimeDelta::seconds(30)).to_rfc3339();
    let (status, answer) = call_json(
        &app,
        "POST",
        "/api/v1/events",
        Some(INGEST),
        Some(json!([{"type":"deployment","service":"voice-agent","version":"2.0.0","timestamp":deployed}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let expected = compare_samples(
        Values::new("a", &before),
        Values::new("b", &after),
        Confidence::default(),
    )
    .unwrap();
    let periods = "/api/v1/compare?metric=endpoint_avg_latency_ms&labels=endpoint%3D/turn&a=121m/60m30s&b=60m30s/now";
    let by_deployment = "/api/v1/compare?metric=endpoint_avg_latency_ms&labels=endpoint%3D/turn&deployment=voice-agent@2.0.0&window=2h";
    for path in [periods, by_deployment] {
        let (status, answer) = call(&app, "GET", path, Some(READ)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        assert_eq!(answer["a"]["points"], 60, "{path}: {answer}");
        assert_eq!(answer["b"]["points"], 60, "{path}: {answer}");
        // The same figures, to the rounding of the stored points' averages.
        let want = json!({ "means": expected.means, "ranks": expected.ranks });
        for figure in [
            "/means/a/mean",
            "/means/b/mean",
            "/means/difference",
            "/means/t",
            "/means/df",
            "/means/p_value",
            "/ranks/u",
            "/ranks/z",
            "/ranks/p_value",
        ] {
            let got = answer
                .pointer(figure)
                .and_then(|v| v.as_f64())
                .expect(figure);
            let want = want.pointer(figure).and_then(|v| v.as_f64()).expect(figure);
            assert!(
                (got - want).abs() <= 1e-9 * want.abs(),
                "{path}{figure}: {got} against {want}"
            );
        }
        assert_eq!(answer["means"]["significant"], true);
    }
    let (_, around) = call(&app, "GET", by_deployment, Some(READ)).await;
    assert_eq!(around["deployment"]["version"], "2.0.0", "{around}");

    for (path, status, needle) in [
        (
            "/api/v1/compare?a=1h/now&b=2h/1h",
            StatusCode::BAD_REQUEST,
            "metric=",
        ),
        (
            "/api/v1/compare?metric=x&a=1h&b=2h/1h",
            StatusCode::BAD_REQUEST,
            "a=\"1h\" must be a period FROM/TO",
        ),
        (
            "/api/v1/compare?metric=x&a=1h/2h&b=2h/1h",
            StatusCode::BAD_REQUEST,
            "ends",
        ),
        (
            "/api/v1/compare?metric=x&a=2h/1h",
            StatusCode::BAD_REQUEST,
            "either a= and b=",
        ),
        (
            "/api/v1/compare?metric=x&a=2h/1h&b=1h/now&deployment=v",
            StatusCode::BAD_REQUEST,
            "not both",
        ),
        (
            "/api/v1/compare?metric=nothing_stored&a=2h/1h&b=1h/now",
            StatusCode::NOT_FOUND,
            "no stored series",
        ),
        (
            "/api/v1/compare?metric=endpoint_avg_latency_ms&deployment=dialer",
            StatusCode::NOT_FOUND,
            "deployment=\"dialer\"",
        ),
        (
            "/api/v1/compare?metric=endpoint_avg_latency_ms&a=2h/1h&b=1h/now&confidence=2",
            StatusCode::BAD_REQUEST,
            "confidence=\"2\"",
        ),
    ] {
        let (got, bad) = call(&app, "GET", path, Some(READ)).await;
        assert_eq!(got, status, "{path}: {bad}");
        let message = bad["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{path}: {message}");
    }
}
