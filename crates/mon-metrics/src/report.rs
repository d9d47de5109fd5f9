//! Reading a [`Recorder`]: the rule-snapshot variables, the JSON report with per-window
//! and per-endpoint maps, the task that publishes them into the [`SnapshotHub`], and the
//! Prometheus collector of the application families (`mon_app_*` and custom metrics).
//! Each kind of data (requests, calls, errors, voice, AI, operations, custom metrics)
//! gives its own part: this module only puts the parts together.

use crate::recorder::{CallTotals, Histo, Recorder};
use crate::snapshot::SnapshotHub;
use crate::window::{Window, WindowStats, slot_of};
use chrono::{DateTime, Utc};
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The hub source under which [`spawn_publisher`] publishes the recorder's variables.
pub const INGEST_SOURCE: &str = "ingest";

/// The statistics of every kind of application event over one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WindowReport {
    /// API requests: values are latencies in milliseconds; failures are status ≥ 500.
    pub requests: WindowStats,
    /// Calls started (count and rate; values are all 1).
    pub calls_started: WindowStats,
    /// Calls ended: values are durations in seconds; failures are unsuccessful calls.
    pub calls_ended: WindowStats,
    /// Application errors (count and rate).
    pub errors: WindowStats,
    /// AI provider calls: values are latencies in milliseconds.
    pub ai: WindowStats,
    /// Voice quality: mean opinion score.
    pub mos: WindowStats,
    /// Voice quality: latency in milliseconds.
    pub voice_latency_ms: WindowStats,
    /// Voice quality: packet loss, 0–1.
    pub packet_loss: WindowStats,
    /// Voice quality: jitter in milliseconds.
    pub jitter_ms: WindowStats,
    /// Voice quality: speech level heard, 0–1.
    pub audio_level: WindowStats,
    /// Voice quality: background noise level, 0–1.
    pub noise_level: WindowStats,
    /// User sessions started (count and rate).
    pub sessions_started: WindowStats,
    /// User sessions ended: values are 1 when abandoned, else 0; failures are the
    /// abandoned ones.
    pub sessions_ended: WindowStats,
    /// Durations of ended sessions, in seconds.
    pub session_duration: WindowStats,
    /// Turns of ended sessions.
    pub session_turns: WindowStats,
    /// Feedback ratings (1–5); failures are ratings below 4.
    pub ratings: WindowStats,
    /// Every piece of feedback: values are 1 when satisfied (a rating of 4 or 5, or a
    /// thumbs up), else 0 (a failure).
    pub feedback: WindowStats,
    /// Feature uses, all features: values are durations in seconds (0 when not given).
    pub feature_uses: WindowStats,
}

/// Everything the recorder knows, for `GET /api/v1/snapshot`, exporters and dashboards.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct MetricsReport {
    /// When the report was taken.
    pub taken_at: DateTime<Utc>,
    /// The window the rule variables use.
    pub rule_window: Window,
    /// The rule-snapshot variables the recorder publishes (see the catalog).
    pub values: BTreeMap<String, f64>,
    /// Overall statistics by window (`1m`, `5m`, `15m`).
    pub windows: BTreeMap<Window, WindowReport>,
    /// Request statistics per endpoint, then by window.
    pub endpoints: BTreeMap<String, BTreeMap<Window, WindowStats>>,
    /// Call counters.
    pub calls: CallTotals,
    /// Error counts by kind, since mon started.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// The most recent errors, oldest first.
    pub recent_errors: Vec<crate::ErrorRecord>,
    /// The most recent slow requests, oldest first.
    pub slow_requests: Vec<crate::SlowRequest>,
}

/// The rule variables being gathered: a value that is absent or not finite is left out
/// (rules see "no data").
#[derive(Debug, Default)]
pub(crate) struct Published(BTreeMap<String, f64>);

impl Published {
    /// Publishes `name` when `v` is a finite number.
    pub(crate) fn put(&mut self, name: &str, v: Option<f64>) {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            self.0.insert(name.to_owned(), v);
        }
    }

    /// Publishes `name`, replacing what was there.
    pub(crate) fn insert(&mut self, name: String, v: f64) {
        self.0.insert(name, v);
    }
}

impl Recorder {
    /// The overall statistics of `window`.
    pub fn window_report(&self, window: Window) -> WindowReport {
        let now = slot_of(SystemTime::now());
        let inner = &self.inner;
        let mut w = WindowReport {
            requests: inner.requests.stats(window).0,
            ..WindowReport::default()
        };
        inner.calls.window(now, window, &mut w);
        inner.errors.window(now, window, &mut w);
        inner.ai.window(now, window, &mut w);
        inner.voice.window(now, window, &mut w);
        inner.experience.window(now, window, &mut w);
        w
    }

    /// The rule-snapshot variables over the rule window, and the custom gauges and
    /// counters. A mean or percentile of a window with no data is absent (rules see "no
    /// data"), and so is `request_rate_per_min` until the first request; other counts and
    /// rates are always present.
    pub fn snapshot_values(&self) -> BTreeMap<String, f64> {
        let window = self.options().rule_window;
        self.values_from(&self.window_report(window), window)
    }

    /// The variables of every kind, from `w`, the statistics of `window`.
    fn values_from(&self, w: &WindowReport, window: Window) -> BTreeMap<String, f64> {
        let inner = &self.inner;
        let mut out = Published::default();
        inner.requests.publish(w, window, &mut out);
        inner.calls.publish(w, &mut out);
        inner.ai.publish(w, &mut out);
        inner.errors.publish(w, &mut out);
        inner.voice.publish(w, &mut out);
        inner.experience.publish(w, &mut out);
        inner.custom.publish(&mut out);
        inner.security.publish(&mut out);
        out.0
    }

    /// The [`report`](Recorder::report) as JSON at each call, as the JSON exporter reads it.
    pub fn report_source(&self) -> crate::export::JsonSource {
        let recorder = self.clone();
        std::sync::Arc::new(move || serde_json::to_value(recorder.report()).unwrap_or_default())
    }

    /// The full report: every window, per endpoint, calls, errors and slow requests.
    pub fn report(&self) -> MetricsReport {
        let windows: BTreeMap<Window, WindowReport> = Window::ALL
            .into_iter()
            .map(|w| (w, self.window_report(w)))
            .collect();
        let rule_window = self.options().rule_window;
        let values = windows
            .get(&rule_window)
            .map_or_else(BTreeMap::new, |w| self.values_from(w, rule_window));
        MetricsReport {
            taken_at: Utc::now(),
            rule_window,
            values,
            windows,
            endpoints: self.inner.requests.by_endpoint(),
            calls: self.call_totals(),
            errors_by_kind: self.inner.errors.by_kind(),
            recent_errors: self.recent_errors(),
            slow_requests: self.slow_requests(),
        }
    }

    /// Registers the application families (`mon_app_*` and the custom metrics) in
    /// `registry`; they are read from the recorder at each scrape.
    pub fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(AppCollector(self.clone())));
    }
}

/// Publishes the recorder's variables (and its security offenders) into `hub` under
/// [`INGEST_SOURCE`]: at once, soon after each [`Recorder::record`] (a burst of events
/// in one publish per [`PUBLISH_COALESCE`](mon_core::snapshot::PUBLISH_COALESCE)), and every
/// `interval` so that windows age out without new events — until `stop` completes.
pub fn spawn_publisher(
    recorder: Recorder,
    hub: SnapshotHub,
    interval: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let changed = Some(recorder.inner.changed.clone());
    crate::snapshot::spawn_every(interval, changed, stop, move || {
        hub.publish_values(INGEST_SOURCE, recorder.snapshot_values());
        hub.set_offenders(recorder.security_offenders());
    })
}

/// The Prometheus view of a [`Recorder`]: every kind's families in turn.
#[derive(Debug)]
struct AppCollector(Recorder);

impl prometheus_client::collector::Collector for AppCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let inner = &self.0.inner;
        inner.requests.encode(&mut encoder)?;
        inner.calls.encode(&mut encoder)?;
        inner.errors.encode(&mut encoder)?;
        inner.voice.encode(&mut encoder)?;
        inner.experience.encode(&mut encoder)?;
        inner.ai.encode(&mut encoder)?;
        inner.operations.encode(&mut encoder)?;
        inner.security.encode(&mut encoder)?;
        inner.custom.encode(&mut encoder)
    }
}

/// Writes `h` as a histogram sample.
pub(crate) fn histogram(enc: &mut MetricEncoder<'_>, h: &Histo) -> Result<(), std::fmt::Error> {
    let buckets: Vec<(f64, u64)> = h
        .bounds
        .iter()
        .copied()
        .chain(std::iter::once(f64::MAX))
        .zip(h.counts.iter().copied())
        .collect();
    enc.encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)
}

/// Writes an integer counter sample.
pub(crate) fn counter_u64(enc: &mut MetricEncoder<'_>, v: u64) -> Result<(), std::fmt::Error> {
    enc.encode_counter::<NoLabelSet, _, u64>(&v, None)
}

/// Writes a float counter sample.
pub(crate) fn counter_f64(enc: &mut MetricEncoder<'_>, v: f64) -> Result<(), std::fmt::Error> {
    enc.encode_counter::<NoLabelSet, _, f64>(&v, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RecorderOptions, encode_openmetrics, encode_prometheus_text};
    use mon_core::Event;
    use serde_json::{Value, json};

    fn event(v: serde_json::Value) -> Event {
        serde_json::from_value(v).expect("valid event")
    }

    #[test]
    fn snapshot_values_follow_the_seed_metrics() {
        let rec = Recorder::new(RecorderOptions {
            slow_request_threshold: Duration::from_millis(500),
            ..RecorderOptions::default()
        });
        for i in 0..100u64 {
            let status = if i < 5 { 503 } else { 200 };
            rec.track_request(
                "/api/rooms",
                "GET",
                status,
                Duration::from_millis(10 + i),
                100,
                200,
            );
        }
        rec.track_request("/api/slow", "POST", 201, Duration::from_millis(900), 0, 0);
        rec.call_started("a");
        rec.call_started("b");
        rec.call_started("c");
        rec.call_ended("a", Duration::from_secs(30), true);
        rec.call_ended("b", Duration::from_secs(10), false);
        rec.voice_quality("a", 180.0, 0.02, 10.0, 4.0);
        rec.voice_quality("a", 220.0, 0.04, 30.0, 3.0);
        rec.ai_usage(
            "openai",
            "llm",
            "gpt",
            800.0,
            0.004,
            Duration::from_millis(600),
        );
        rec.ai_usage(
            "deepgram",
            "stt",
            "nova",
            12.0,
            0.001,
            Duration::from_millis(200),
        );
        rec.record_error("STT_TIMEOUT", "timed out", &BTreeMap::new());

        let v = rec.snapshot_values();
        let get = |k: &str| {
            v.get(k)
                .copied()
                .unwrap_or_else(|| panic!("{k} missing: {v:?}"))
        };
        assert_eq!(get("request_rate_per_min"), 101.0 / 5.0);
        assert!((get("error_rate_percent") - 5.0 / 101.0 * 100.0).abs() < 1e-9);
        let avg = (100.0 * 10.0 + 4950.0 + 900.0) / 101.0;
        assert!((get("avg_api_latency_ms") - avg).abs() < 1e-6);
        assert!((get("p95_api_latency_ms") - 105.0).abs() <= 105.0 * 0.02);
        assert_eq!(get("slow_requests"), 1.0);
        assert_eq!(get("active_calls"), 1.0);
        assert_eq!(get("total_calls"), 3.0);
        assert_eq!(get("successful_calls"), 1.0);
        assert_eq!(get("failed_calls"), 1.0);
        assert_eq!(get("call_success_rate"), 0.5);
        assert_eq!(get("avg_call_duration_seconds"), 20.0);
        assert_eq!(get("calls_per_minute"), 3.0 / 5.0);
        assert_eq!(get("avg_mos"), 3.5);
        assert_eq!(get("avg_voice_latency_ms"), 200.0);
        assert!((get("avg_packet_loss") - 0.03).abs() < 1e-12);
        assert_eq!(get("avg_jitter_ms"), 20.0);
        assert_eq!(get("avg_response_time_ms"), 400.0);
        assert!((get("ai_cost_usd") - 0.005).abs() < 1e-12);
        assert_eq!(get("total_errors"), 1.0);
        // Every published name is documented in the catalog.
        for name in v.keys() {
            assert!(crate::lookup(name).is_some(), "{name} is not in CATALOG");
        }

        let report = rec.report();
        assert_eq!(report.values, v);
        assert_eq!(
            report.endpoints["/api/rooms"][&Window::OneMinute].count,
            100
        );
        assert_eq!(
            report.endpoints["/api/rooms"][&Window::OneMinute].failures,
            5
        );
        assert_eq!(report.slow_requests.len(), 1);
        assert_eq!(report.slow_requests[0].endpoint, "/api/slow");
        assert_eq!(report.errors_by_kind["STT_TIMEOUT"], 1);
        let json = serde_json::to_value(&report).expect("serialises");
        assert_eq!(json["windows"]["15m"]["requests"]["count"], 101);
    }

    #[test]
    fn an_idle_recorder_publishes_counts_but_no_means() {
        let v = Recorder::default().snapshot_values();
        assert_eq!(v.get("active_calls"), Some(&0.0));
        for absent in [
            // No traffic is no data until a request was seen.
            "request_rate_per_min",
            "avg_api_latency_ms",
            "p95_api_latency_ms",
            "error_rate_percent",
            "avg_mos",
            "call_success_rate",
        ] {
            assert_eq!(v.get(absent), None, "{absent}");
        }
    }

    #[test]
    fn request_rate_is_published_once_a_request_was_seen() {
        let rec = Recorder::default();
        assert_eq!(rec.snapshot_values().get("request_rate_per_min"), None);
        // A request outside every window: traffic was seen, none is recent.
        let long_ago = Utc::now() - chrono::TimeDelta::hours(1);
        rec.record(
            &serde_json::from_value(json!({"type":"request","endpoint":"/x","method":"GET",
                "status":200,"latency_ms":5.0,"timestamp":long_ago}))
            .expect("event"),
        )
        .expect("recorded");
        assert_eq!(
            rec.snapshot_values().get("request_rate_per_min"),
            Some(&0.0)
        );
    }

    /// Custom gauges and counters reach the rule variables: (events, variable, value).
    #[test]
    fn custom_gauges_and_counters_are_rule_variables() {
        let cases: &[(&[Value], &str, Option<f64>)] = &[
            (
                &[json!({"type":"gauge","name":"queue_size","value":7.0})],
                "queue_size",
                Some(7.0),
            ),
            (
                &[
                    json!({"type":"gauge","name":"stt_queue_depth","value":3.0,"labels":{"provider":"a"}}),
                    json!({"type":"gauge","name":"stt_queue_depth","value":4.0,"labels":{"provider":"b"}}),
                    json!({"type":"gauge","name":"stt_queue_depth","value":5.0,"labels":{"provider":"a"}}),
                ],
                "stt_queue_depth",
                Some(9.0),
            ),
            (
                &[
                    json!({"type":"counter","name":"retries_total","value":2.0}),
                    json!({"type":"counter","name":"retries","value":1.0}),
                ],
                "retries_total",
                Some(3.0),
            ),
            (
                &[json!({"type":"counter","name":"retries_total","value":2.0})],
                "retries",
                Some(2.0),
            ),
            // A documented variable stays its producer's.
            (
                &[json!({"type":"gauge","name":"cpu_percent","value":99.0})],
                "cpu_percent",
                None,
            ),
        ];
        for (events, name, want) in cases {
            let rec = Recorder::default();
            for e in *events {
                rec.record(&serde_json::from_value(e.clone()).expect("event"))
                    .expect("recorded");
            }
            assert_eq!(rec.snapshot_values().get(*name).copied(), *want, "{name}");
        }
    }

    #[test]
    fn events_record_like_the_library_calls() {
        let rec = Recorder::default();
        for e in [
            json!({"type":"request","endpoint":"/x","method":"GET","status":500,"latency_ms":20.0}),
            json!({"type":"call_started","call_id":"c1"}),
            json!({"type":"call_ended","call_id":"c1","duration_seconds":5.0,"success":true}),
            json!({"type":"error","kind":"LLM_ERROR","message":"boom"}),
            json!({"type":"voice_quality","conversation_id":"c1","latency_ms":100.0,"packet_loss":0.0,"jitter_ms":1.0,"mos":4.5}),
            json!({"type":"ai_usage","provider":"p","service":"tts","model":"m","units":1.0,"cost_usd":0.5,"latency_ms":50.0}),
            json!({"type":"gauge","name":"queue_depth","value":3.0,"labels":{"queue":"stt"}}),
            json!({"type":"counter","name":"retries_total","value":2.0}),
            json!({"type":"counter","name":"retries"}),
            json!({"type":"heartbeat","name":"backup"}),
        ] {
            rec.record(&event(e)).expect("recorded");
        }
        let v = rec.snapshot_values();
        assert_eq!(v["error_rate_percent"], 100.0);
        assert_eq!(v["call_success_rate"], 1.0);
        assert_eq!(v["total_errors"], 1.0);
        assert_eq!(v["avg_mos"], 4.5);

        let mut registry = Registry::default();
        rec.register(&mut registry);
        let text = encode_openmetrics(&registry).expect("encodes");
        for line in [
            "mon_app_requests_total{endpoint=\"/x\",method=\"GET\",status=\"500\"} 1",
            "mon_app_request_duration_seconds_bucket{le=\"0.02\",endpoint=\"/x\"} 1",
            "mon_app_calls_active 0",
            "mon_app_calls_ended_total{result=\"success\"} 1",
            "mon_app_errors_total{kind=\"LLM_ERROR\"} 1",
            "mon_app_ai_cost_usd_total{provider=\"p\",service=\"tts\",model=\"m\"} 0.5",
            "queue_depth{queue=\"stt\"} 3.0",
            "retries_total 3.0",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
        for family in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
            let name = family.split(' ').next().unwrap_or_default();
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "no HELP for {name}"
            );
        }
        let classic = encode_prometheus_text(&registry).expect("encodes");
        assert!(
            classic.contains("# TYPE retries_total counter"),
            "{classic}"
        );
    }

    #[tokio::test]
    async fn the_publisher_fills_the_hub() {
        let rec = Recorder::default();
        rec.call_started("x");
        let hub = SnapshotHub::new();
        let mut sub = hub.subscribe();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = spawn_publisher(rec, hub.clone(), Duration::from_millis(10), async {
            let _ = rx.await;
        });
        let s = tokio::time::timeout(Duration::from_secs(10), sub.changed())
            .await
            .expect("published in time")
            .expect("hub alive");
        assert_eq!(s.get("active_calls"), Some(1.0));
        let _ = tx.send(());
        task.await.expect("publisher stops");
    }

    /// Publish on change: with an interval no test waits for (an hour), every kind of
    /// recorded event still reaches the hub, through the publisher woken by `record`.
    #[tokio::test]
    async fn recorded_events_are_published_without_waiting_for_the_interval() {
        let rec = Recorder::default();
        let hub = SnapshotHub::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = spawn_publisher(rec.clone(), hub.clone(), Duration::from_secs(3600), async {
            let _ = rx.await;
        });
        // The first publish is at once; the interval's next one is an hour away.
        mon_tests::eventually_async("the first publish", Duration::from_secs(10), async || {
            hub.current().get("active_calls") == Some(0.0)
        })
        .await;
        let cases = [
            (
                json!({"type": "request", "endpoint": "/a", "method": "GET", "status": 200, "latency_ms": 250.0}),
                "avg_api_latency_ms",
                250.0,
            ),
            (
                json!({"type": "call_started", "call_id": "c1"}),
                "active_calls",
                1.0,
            ),
            (
                json!({"type": "gauge", "name": "queue_depth", "value": 42.0}),
                "queue_depth",
                42.0,
            ),
            (
                json!({"type": "counter", "name": "retries", "value": 3.0}),
                "retries_total",
                3.0,
            ),
            (
                json!({"type": "voice_quality", "conversation_id": "c1", "latency_ms": 120.0, "packet_loss": 0.0, "jitter_ms": 5.0, "mos": 2.5}),
                "avg_mos",
                2.5,
            ),
        ];
        for (event, variable, value) in cases {
            let event = Event::from_json(event).expect("a valid event");
            rec.record(&event).expect("recorded");
            mon_tests::eventually_async(
                &format!("{variable} = {value} in the hub"),
                Duration::from_secs(10),
                async || hub.current().get(variable) == Some(value),
            )
            .await;
        }
        let _ = tx.send(());
        task.await.expect("publisher stops");
    }
}
