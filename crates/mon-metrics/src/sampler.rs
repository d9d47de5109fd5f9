//! The ingest sampler: every resolution tick, the recorder's rule variables and its
//! per-endpoint request figures become stored time series (`GET /api/v1/metrics/query`,
//! dashboards' history).

use crate::{Recorder, Window};
use chrono::{DateTime, Utc};
use mon_store::{Sample, Store, WriteBatch};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// The samples the recorder contributes every resolution tick: the rule variables it
/// publishes and those of its LiveKit activity (no labels), and per-endpoint request
/// figures of the 1-minute window
/// (`endpoint_requests_per_min`, `endpoint_avg_latency_ms`, `endpoint_p95_latency_ms`,
/// `endpoint_error_rate_percent`, labelled `endpoint`), and the user-experience figures
/// of the rule window per name ([`crate::EXPERIENCE_SERIES`]); then the same for each labelled
/// ingest source ([`Recorder::source`]), every sample of which also carries `source=<label>`.
pub fn recorder_samples(recorder: &Recorder, now: DateTime<Utc>) -> Vec<Sample> {
    let mut out = Vec::new();
    push_samples(recorder, &BTreeMap::new(), now, &mut out);
    for (label, source) in recorder.sources() {
        let labels = BTreeMap::from([("source".to_owned(), label)]);
        push_samples(&source, &labels, now, &mut out);
    }
    out
}

/// One recorder's samples, each with `base` among its labels.
fn push_samples(
    recorder: &Recorder,
    base: &BTreeMap<String, String>,
    now: DateTime<Utc>,
    out: &mut Vec<Sample>,
) {
    out.extend(
        recorder
            .snapshot_values()
            .into_iter()
            .chain(recorder.livekit().snapshot_values())
            .map(|(name, value)| Sample {
                name,
                labels: base.clone(),
                ts: now,
                value,
            }),
    );
    let labelled = |label: &str, value: String| {
        let mut labels = base.clone();
        labels.insert(label.to_owned(), value);
        move |name: &str, v: Option<f64>| {
            v.filter(|v| v.is_finite()).map(|value| Sample {
                name: name.to_owned(),
                labels: labels.clone(),
                ts: now,
                value,
            })
        }
    };
    for (endpoint, stats) in recorder.request_stats(Window::OneMinute).1 {
        let push = labelled("endpoint", endpoint);
        out.extend(
            [
                push("endpoint_requests_per_min", Some(stats.rate_per_min)),
                push("endpoint_avg_latency_ms", stats.avg),
                push("endpoint_p95_latency_ms", stats.p95),
                push(
                    "endpoint_error_rate_percent",
                    (stats.count > 0).then_some(stats.failure_percent),
                ),
            ]
            .into_iter()
            .flatten(),
        );
    }
    let x = recorder.experience_breakdown(recorder.options().rule_window);
    for (feature, stats) in x.features {
        out.extend(labelled("feature", feature)(
            "feature_uses_per_min",
            Some(stats.rate_per_min),
        ));
    }
    for (category, stats) in x.feedback_by_category {
        let push = labelled("category", category);
        out.extend(
            [
                push("feedback_per_min", Some(stats.rate_per_min)),
                push(
                    "category_csat_percent",
                    (stats.count > 0).then_some(stats.success_percent),
                ),
            ]
            .into_iter()
            .flatten(),
        );
    }
    for (band, stats) in x.rating_by_mos_band {
        out.extend(labelled("mos_band", band)(
            "avg_rating_by_mos_band",
            stats.avg,
        ));
    }
    for (band, stats) in x.rating_by_latency_band {
        out.extend(labelled("latency_band", band)(
            "avg_rating_by_latency_band",
            stats.avg,
        ));
    }
}

/// Every `resolution` (at least a second), writes [`recorder_samples`] to `store`, until
/// `stop` completes. A failed write is logged and the next tick tries again.
pub fn spawn_sampler(
    recorder: Recorder,
    store: Store,
    resolution: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(resolution.max(Duration::from_secs(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = ticker.tick() => {
                    // The turn is held until the write is committed (see forget_source).
                    let _turn = recorder.inner.sources.1.lock().await;
                    let samples = recorder_samples(&recorder, Utc::now());
                    if let Err(e) = store.write(WriteBatch::from_samples(samples)).await {
                        tracing::warn!(error = %e, "writing application series failed");
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mon_store::StoreOptions;

    #[test]
    fn samples_hold_the_variables_and_per_endpoint_figures() {
        let rec = Recorder::default();
        rec.track_request("/a", "GET", 500, Duration::from_millis(20), 0, 0);
        rec.track_request("/a", "GET", 200, Duration::from_millis(40), 0, 0);
        let now = Utc::now();
        let samples = recorder_samples(&rec, now);
        let get = |name: &str, endpoint: Option<&str>| {
            samples
                .iter()
                .find(|s| {
                    s.name == name && s.labels.get("endpoint").map(String::as_str) == endpoint
                })
                .map(|s| s.value)
        };
        assert_eq!(get("avg_api_latency_ms", None), Some(30.0));
        assert_eq!(get("endpoint_avg_latency_ms", Some("/a")), Some(30.0));
        assert_eq!(get("endpoint_error_rate_percent", Some("/a")), Some(50.0));
        assert_eq!(get("endpoint_requests_per_min", Some("/a")), Some(2.0));
        assert!(samples.iter().all(|s| s.ts == now));
        assert!(samples.iter().all(|s| !s.labels.contains_key("source")));
    }

    #[tokio::test]
    async fn a_labelled_source_gives_its_own_series() {
        let rec = Recorder::default();
        rec.track_request("/a", "GET", 200, Duration::from_millis(20), 0, 0);
        let demo = rec.source("demo").expect("a label");
        demo.track_request("/a", "GET", 200, Duration::from_millis(80), 0, 0);
        let samples = recorder_samples(&rec, Utc::now());
        let get = |name: &str, labels: &[(&str, &str)]| {
            let labels: BTreeMap<String, String> = labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            samples
                .iter()
                .find(|s| s.name == name && s.labels == labels)
                .map(|s| s.value)
        };
        assert_eq!(get("avg_api_latency_ms", &[]), Some(20.0));
        assert_eq!(get("avg_api_latency_ms", &[("source", "demo")]), Some(80.0));
        assert_eq!(
            get(
                "endpoint_avg_latency_ms",
                &[("endpoint", "/a"), ("source", "demo")]
            ),
            Some(80.0)
        );
        assert_eq!(
            get("endpoint_avg_latency_ms", &[("endpoint", "/a")]),
            Some(20.0)
        );
        rec.forget_source("demo").await;
        let after = recorder_samples(&rec, Utc::now());
        assert!(after.iter().all(|s| !s.labels.contains_key("source")));
    }

    #[tokio::test]
    async fn livekit_activity_is_sampled_with_its_recorder() {
        let rec = Recorder::default();
        let now = std::time::SystemTime::now();
        rec.livekit()
            .record_webhook("room_started", &serde_json::json!({}), now);
        let demo = rec.source("demo").expect("a label");
        for _ in 0..3 {
            demo.livekit()
                .record_webhook("room_started", &serde_json::json!({}), now);
        }
        let samples = recorder_samples(&rec, Utc::now());
        let rooms = |source: Option<&str>| {
            samples
                .iter()
                .find(|s| {
                    s.name == "rooms_started"
                        && s.labels.get("source").map(String::as_str) == source
                })
                .map(|s| s.value)
        };
        assert_eq!(rooms(None), Some(1.0));
        assert_eq!(rooms(Some("demo")), Some(3.0));
        assert_eq!(
            rec.livekit().totals().rooms_started,
            1,
            "the source's are its own"
        );
        rec.forget_source("demo").await;
        assert_eq!(rooms(None), Some(1.0));
        let after = recorder_samples(&rec, Utc::now());
        assert!(after.iter().all(|s| !s.labels.contains_key("source")));
    }

    #[tokio::test]
    async fn the_sampler_writes_series_to_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("mon.db"), StoreOptions::default()).expect("store opens");
        let rec = Recorder::default();
        rec.track_request("/a", "GET", 200, Duration::from_millis(40), 0, 0);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = spawn_sampler(rec, store.clone(), Duration::from_secs(1), async {
            let _ = rx.await;
        });
        // The first tick is immediate; wait until its write is visible.
        let names: Vec<String> = mon_tests::eventually_async(
            "the first tick's series to be stored",
            Duration::from_secs(10),
            async || {
                let names: Vec<String> = store
                    .series_list()
                    .await
                    .expect("lists")
                    .into_iter()
                    .map(|s| s.name)
                    .collect();
                if names.iter().any(|n| n == "endpoint_avg_latency_ms") {
                    Ok(names)
                } else {
                    Err(format!("only {names:?}"))
                }
            },
        )
        .await;
        assert!(names.iter().any(|n| n == "avg_api_latency_ms"), "{names:?}");
        let _ = tx.send(());
        task.await.expect("sampler stops");
    }
}
