//! Reading a [`Recorder`]: the rule-snapshot variables, the JSON report with per-window
//! and per-endpoint maps, the task that publishes them into the [`SnapshotHub`], and the
//! Prometheus collector of the application families (`mon_app_*` and custom metrics).

use crate::recorder::{CustomCell, CustomKind, Histo, Recorder, lock};
use crate::snapshot::SnapshotHub;
use crate::vars;
use crate::window::{Acc, Window, WindowStats, slot_of};
use chrono::{DateTime, Utc};
use mon_core::LabelValue;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
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
}

/// Cumulative call counters, since mon started.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CallTotals {
    /// Calls started.
    pub total_calls: u64,
    /// Calls in progress.
    pub active_calls: u64,
    /// Calls that ended successfully.
    pub successful_calls: u64,
    /// Calls that ended unsuccessfully.
    pub failed_calls: u64,
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

impl Recorder {
    /// The overall statistics of `window`.
    pub fn window_report(&self, window: Window) -> WindowReport {
        let now = slot_of(SystemTime::now());
        let (requests, _) = self.request_stats(window);
        let mut ai = Acc::default();
        for state in self
            .inner
            .ai
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            lock(state).ring.accumulate(now, window, &mut ai);
        }
        let calls = lock(&self.inner.calls);
        let (calls_started, calls_ended) = (
            calls.started.stats(now, window),
            calls.ended.stats(now, window),
        );
        drop(calls);
        let errors = lock(&self.inner.errors).ring.stats(now, window);
        let voice = lock(&self.inner.voice);
        WindowReport {
            requests,
            calls_started,
            calls_ended,
            errors,
            ai: ai.finish(window),
            mos: voice.mos.stats(now, window),
            voice_latency_ms: voice.latency_ms.stats(now, window),
            packet_loss: voice.packet_loss.stats(now, window),
            jitter_ms: voice.jitter_ms.stats(now, window),
        }
    }

    /// The cumulative call counters.
    pub fn call_totals(&self) -> CallTotals {
        let calls = lock(&self.inner.calls);
        CallTotals {
            total_calls: calls.started_total,
            active_calls: calls.active.len() as u64,
            successful_calls: calls.succeeded_total,
            failed_calls: calls.failed_total,
        }
    }

    /// The rule-snapshot variables over the rule window, and the custom gauges and
    /// counters. A mean or percentile of a window with no data is absent (rules see "no
    /// data"), and so is `request_rate_per_min` until the first request; other counts and
    /// rates are always present.
    pub fn snapshot_values(&self) -> BTreeMap<String, f64> {
        let w = self.window_report(self.options().rule_window);
        let slow = self.slow_in_window(self.options().rule_window);
        self.values_from(&w, slow)
    }

    fn values_from(&self, w: &WindowReport, slow: u64) -> BTreeMap<String, f64> {
        let totals = self.call_totals();
        let total_errors: u64 = lock(&self.inner.errors).by_kind.values().sum();
        let ai_cost: f64 = self
            .inner
            .ai
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|s| lock(s).cost_usd)
            .sum();
        let mut out = BTreeMap::new();
        let mut put = |name: &str, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                out.insert(name.to_owned(), v);
            }
        };
        let r = &w.requests;
        put(vars::AVG_API_LATENCY_MS, r.avg);
        put(vars::P50_API_LATENCY_MS, r.p50);
        put(vars::P95_API_LATENCY_MS, r.p95);
        put(vars::P99_API_LATENCY_MS, r.p99);
        put(
            vars::ERROR_RATE_PERCENT,
            (r.count > 0).then_some(r.failure_percent),
        );
        // No traffic is "no data" until a request has been seen: a server nothing
        // reports to is not an outage.
        let requests_seen = !self
            .inner
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty();
        put(
            vars::REQUEST_RATE_PER_MIN,
            requests_seen.then_some(r.rate_per_min),
        );
        put(vars::SLOW_REQUESTS, Some(slow as f64));
        put(vars::ACTIVE_CALLS, Some(totals.active_calls as f64));
        put(vars::TOTAL_CALLS, Some(totals.total_calls as f64));
        put(vars::SUCCESSFUL_CALLS, Some(totals.successful_calls as f64));
        put(vars::FAILED_CALLS, Some(totals.failed_calls as f64));
        let ended = &w.calls_ended;
        put(
            vars::CALL_SUCCESS_RATE,
            (ended.count > 0).then(|| ended.success_percent / 100.0),
        );
        put(vars::AVG_CALL_DURATION_SECONDS, ended.avg);
        put(vars::CALLS_PER_MINUTE, Some(w.calls_started.rate_per_min));
        put(vars::AVG_RESPONSE_TIME_MS, w.ai.avg);
        put(vars::TOTAL_ERRORS, Some(total_errors as f64));
        put(vars::ERRORS_PER_MINUTE, Some(w.errors.rate_per_min));
        put(vars::AVG_MOS, w.mos.avg);
        put(vars::AVG_VOICE_LATENCY_MS, w.voice_latency_ms.avg);
        put(vars::AVG_PACKET_LOSS, w.packet_loss.avg);
        put(vars::AVG_JITTER_MS, w.jitter_ms.avg);
        put(vars::AI_COST_USD, Some(ai_cost));
        self.custom_values(&mut out);
        out
    }

    /// The custom gauges and counters as rule variables (`alerting.custom_variables`):
    /// each under its name — a counter also as `<name>_total` — with the sum of its
    /// series over every label set. A name the catalog documents stays its built-in
    /// producer's.
    fn custom_values(&self, out: &mut BTreeMap<String, f64>) {
        let families: Vec<_> = self
            .inner
            .custom
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, family)| (name.clone(), Arc::clone(family)))
            .collect();
        for (name, family) in families {
            let names = match family.kind {
                CustomKind::Gauge => vec![name.clone()],
                CustomKind::Counter => vec![format!("{name}_total"), name],
                CustomKind::Histogram => continue,
            };
            let sum: f64 = family
                .series
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .filter_map(|cell| match &**cell {
                    CustomCell::Value(v) => Some(f64::from_bits(v.load(Ordering::Relaxed))),
                    CustomCell::Histogram(_) => None,
                })
                .sum();
            for name in names {
                if sum.is_finite() && crate::catalog::lookup(&name).is_none() {
                    out.insert(name, sum);
                }
            }
        }
    }

    fn slow_in_window(&self, window: Window) -> u64 {
        let since = Utc::now() - window.duration();
        lock(&self.inner.slow)
            .iter()
            .filter(|s| s.at >= since)
            .count() as u64
    }

    /// The full report: every window, per endpoint, calls, errors and slow requests.
    pub fn report(&self) -> MetricsReport {
        let windows: BTreeMap<Window, WindowReport> = Window::ALL
            .into_iter()
            .map(|w| (w, self.window_report(w)))
            .collect();
        let rule_window = self.options().rule_window;
        let values = windows.get(&rule_window).map_or_else(BTreeMap::new, |w| {
            self.values_from(w, self.slow_in_window(rule_window))
        });
        let mut endpoints: BTreeMap<String, BTreeMap<Window, WindowStats>> = BTreeMap::new();
        for w in Window::ALL {
            for (endpoint, stats) in self.request_stats(w).1 {
                endpoints.entry(endpoint).or_default().insert(w, stats);
            }
        }
        let errors_by_kind = lock(&self.inner.errors).by_kind.clone();
        MetricsReport {
            taken_at: Utc::now(),
            rule_window,
            values,
            windows,
            endpoints,
            calls: self.call_totals(),
            errors_by_kind,
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

/// Publishes the recorder's variables into `hub` under [`INGEST_SOURCE`] every
/// `interval`, until `stop` completes.
pub fn spawn_publisher(
    recorder: Recorder,
    hub: SnapshotHub,
    interval: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    crate::snapshot::spawn_every(interval, stop, move || {
        hub.publish_values(INGEST_SOURCE, recorder.snapshot_values());
    })
}

/// The Prometheus view of a [`Recorder`].
#[derive(Debug)]
struct AppCollector(Recorder);

fn histogram(enc: &mut MetricEncoder<'_>, h: &Histo) -> Result<(), std::fmt::Error> {
    let buckets: Vec<(f64, u64)> = h
        .bounds
        .iter()
        .copied()
        .chain(std::iter::once(f64::MAX))
        .zip(h.counts.iter().copied())
        .collect();
    enc.encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)
}

fn counter_u64(enc: &mut MetricEncoder<'_>, v: u64) -> Result<(), std::fmt::Error> {
    enc.encode_counter::<NoLabelSet, _, u64>(&v, None)
}

fn counter_f64(enc: &mut MetricEncoder<'_>, v: f64) -> Result<(), std::fmt::Error> {
    enc.encode_counter::<NoLabelSet, _, f64>(&v, None)
}

fn custom_value(
    enc: &mut MetricEncoder<'_>,
    cell: &CustomCell,
    kind: CustomKind,
) -> Result<(), std::fmt::Error> {
    match (cell, kind) {
        (CustomCell::Value(v), CustomKind::Counter) => {
            counter_f64(enc, f64::from_bits(v.load(Ordering::Relaxed)))
        }
        (CustomCell::Value(v), _) => enc.encode_gauge(&f64::from_bits(v.load(Ordering::Relaxed))),
        (CustomCell::Histogram(h), _) => histogram(enc, &lock(h)),
    }
}

impl prometheus_client::collector::Collector for AppCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let inner = &self.0.inner;
        let endpoints: Vec<_> = inner
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| {
                let s = lock(v);
                (
                    k.clone(),
                    s.by_status.clone(),
                    s.duration.clone(),
                    (s.request_bytes, s.response_bytes, s.slow),
                )
            })
            .collect();

        let mut f = encoder.encode_descriptor(
            "mon_app_requests",
            "API requests recorded by the application, by endpoint, method and status",
            None,
            MetricType::Counter,
        )?;
        for (endpoint, by_status, _, _) in &endpoints {
            for (method, status, n) in by_status {
                let status = status.to_string();
                let labels = [
                    ("endpoint", LabelValue(endpoint.as_str())),
                    ("method", LabelValue(method.as_str())),
                    ("status", LabelValue(status.as_str())),
                ];
                counter_u64(&mut f.encode_family(&labels)?, *n)?;
            }
        }
        let mut f = encoder.encode_descriptor(
            "mon_app_request_duration_seconds",
            "Latency of API requests recorded by the application, in seconds",
            None,
            MetricType::Histogram,
        )?;
        for (endpoint, _, h, _) in &endpoints {
            histogram(
                &mut f.encode_family(&[("endpoint", LabelValue(endpoint.as_str()))])?,
                h,
            )?;
        }
        for (name, help, pick) in [
            (
                "mon_app_request_bytes",
                "Request body bytes of API requests recorded by the application",
                0usize,
            ),
            (
                "mon_app_response_bytes",
                "Response body bytes of API requests recorded by the application",
                1,
            ),
            (
                "mon_app_slow_requests",
                "API requests at least metrics.slow_request_threshold long",
                2,
            ),
        ] {
            let mut f = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (endpoint, _, _, sizes) in &endpoints {
                let v = [sizes.0, sizes.1, sizes.2][pick];
                counter_u64(
                    &mut f.encode_family(&[("endpoint", LabelValue(endpoint.as_str()))])?,
                    v,
                )?;
            }
        }

        let totals = self.0.call_totals();
        let call_duration = lock(&inner.calls).duration.clone();
        let mut f = encoder.encode_descriptor(
            "mon_app_calls_active",
            "Calls in progress",
            None,
            MetricType::Gauge,
        )?;
        f.encode_gauge(&(totals.active_calls as i64))?;
        let f = encoder.encode_descriptor(
            "mon_app_calls_started",
            "Calls started",
            None,
            MetricType::Counter,
        )?;
        counter_u64(&mut { f }, totals.total_calls)?;
        let mut f = encoder.encode_descriptor(
            "mon_app_calls_ended",
            "Calls ended, by result (success or failure)",
            None,
            MetricType::Counter,
        )?;
        counter_u64(
            &mut f.encode_family(&[("result", LabelValue("success"))])?,
            totals.successful_calls,
        )?;
        counter_u64(
            &mut f.encode_family(&[("result", LabelValue("failure"))])?,
            totals.failed_calls,
        )?;
        if let Some(h) = &call_duration {
            let mut f = encoder.encode_descriptor(
                "mon_app_call_duration_seconds",
                "Duration of ended calls, in seconds",
                None,
                MetricType::Histogram,
            )?;
            histogram(&mut f, h)?;
        }

        let by_kind = lock(&inner.errors).by_kind.clone();
        let mut f = encoder.encode_descriptor(
            "mon_app_errors",
            "Application errors, by kind",
            None,
            MetricType::Counter,
        )?;
        for (kind, n) in &by_kind {
            counter_u64(
                &mut f.encode_family(&[("kind", LabelValue(kind.as_str()))])?,
                *n,
            )?;
        }

        let (mos, voice_total) = {
            let v = lock(&inner.voice);
            (v.mos_histo.clone(), v.samples_total)
        };
        let f = encoder.encode_descriptor(
            "mon_app_voice_quality_samples",
            "Voice quality measurements recorded",
            None,
            MetricType::Counter,
        )?;
        counter_u64(&mut { f }, voice_total)?;
        if let Some(h) = &mos {
            let mut f = encoder.encode_descriptor(
                "mon_app_voice_mos",
                "Mean opinion score of voice quality measurements (1-5)",
                None,
                MetricType::Histogram,
            )?;
            histogram(&mut f, h)?;
        }

        let ai: Vec<_> = inner
            .ai
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| {
                let s = lock(v);
                (
                    k.clone(),
                    s.requests,
                    s.units,
                    s.cost_usd,
                    s.latency.clone(),
                )
            })
            .collect();
        let mut requests = encoder.encode_descriptor(
            "mon_app_ai_requests",
            "AI provider requests, by provider, service (stt, llm, tts) and model",
            None,
            MetricType::Counter,
        )?;
        for ((p, s, m), n, _, _, _) in &ai {
            let labels = ai_labels(p, s, m);
            counter_u64(&mut requests.encode_family(&labels)?, *n)?;
        }
        let mut units = encoder.encode_descriptor(
            "mon_app_ai_units",
            "AI provider units consumed (tokens, characters or audio seconds)",
            None,
            MetricType::Counter,
        )?;
        for ((p, s, m), _, u, _, _) in &ai {
            let labels = ai_labels(p, s, m);
            counter_f64(&mut units.encode_family(&labels)?, *u)?;
        }
        let mut cost = encoder.encode_descriptor(
            "mon_app_ai_cost_usd",
            "AI provider cost, in US dollars",
            None,
            MetricType::Counter,
        )?;
        for ((p, s, m), _, _, c, _) in &ai {
            let labels = ai_labels(p, s, m);
            counter_f64(&mut cost.encode_family(&labels)?, *c)?;
        }
        let mut latency = encoder.encode_descriptor(
            "mon_app_ai_latency_seconds",
            "AI provider response time, in seconds",
            None,
            MetricType::Histogram,
        )?;
        for ((p, s, m), _, _, _, h) in &ai {
            let labels = ai_labels(p, s, m);
            histogram(&mut latency.encode_family(&labels)?, h)?;
        }

        let ops: Vec<_> = inner
            .ops
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), lock(v).duration.clone()))
            .collect();
        let mut f = encoder.encode_descriptor(
            "mon_app_operation_duration_seconds",
            "Duration of operations timed with perf_timer, in seconds",
            None,
            MetricType::Histogram,
        )?;
        for (op, h) in &ops {
            histogram(
                &mut f.encode_family(&[("operation", LabelValue(op.as_str()))])?,
                h,
            )?;
        }

        let custom: Vec<_> = inner
            .custom
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), std::sync::Arc::clone(v)))
            .collect();
        for (name, family) in custom {
            let (metric_type, help) = match family.kind {
                CustomKind::Counter => (
                    MetricType::Counter,
                    "Custom counter recorded by the application",
                ),
                CustomKind::Gauge => (
                    MetricType::Gauge,
                    "Custom gauge recorded by the application",
                ),
                CustomKind::Histogram => (
                    MetricType::Histogram,
                    "Custom histogram recorded by the application",
                ),
            };
            let series: Vec<_> = family
                .series
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|(k, v)| (k.clone(), std::sync::Arc::clone(v)))
                .collect();
            let mut f = encoder.encode_descriptor(&name, help, None, metric_type)?;
            for (labels, cell) in series {
                if labels.is_empty() {
                    custom_value(&mut f, &cell, family.kind)?;
                } else {
                    let labels: Vec<(&str, LabelValue<&str>)> = labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), LabelValue(v.as_str())))
                        .collect();
                    custom_value(&mut f.encode_family(&labels)?, &cell, family.kind)?;
                }
            }
        }
        Ok(())
    }
}

/// The label set of the `mon_app_ai_*` families.
fn ai_labels<'a>(
    provider: &'a str,
    service: &'a str,
    model: &'a str,
) -> [(&'static str, LabelValue<&'a str>); 3] {
    [
        ("provider", LabelValue(provider)),
        ("service", LabelValue(service)),
        ("model", LabelValue(model)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::CustomKind;
    use crate::{MetricsError, RecorderOptions, encode_openmetrics, encode_prometheus_text};
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

    #[test]
    fn custom_metrics_refuse_what_prometheus_cannot_show() {
        let rec = Recorder::new(RecorderOptions {
            max_series: 2,
            ..RecorderOptions::default()
        });
        type Labels<'a> = &'a [(&'a str, &'a str)];
        let long = "x".repeat(257);
        let cases: &[(&str, Labels<'_>, &str)] = &[
            ("9lives", &[], "must match"),
            ("mon_x", &[], "reserved"),
            ("up", &[], "write themselves"),
            ("scrape_duration_seconds", &[], "write themselves"),
            ("retries_total", &[], "only a counter"),
            ("x_created", &[], "only a counter"),
            ("ok", &[("__x", "v")], "label name"),
            ("ok", &[("le", "v")], "label name"),
            ("ok", &[("job", "v")], "label name"),
            ("ok", &[("bad-name", "v")], "label name"),
            ("ok", &[("k", long.as_str())], "over the limit of 256"),
        ];
        for (name, labels, want) in cases {
            let err = rec.gauge(name, labels, 1.0).expect_err(name).to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
        rec.gauge("g", &[], 1.0).expect("gauge");
        let err = rec
            .counter("g", &[], 1.0)
            .expect_err("kind clash")
            .to_string();
        assert!(err.contains("already a gauge"), "{err}");
        assert!(rec.counter("c", &[], -1.0).is_err());
        assert!(rec.gauge("g", &[], f64::NAN).is_err());
        rec.gauge("g", &[("a", "1")], 1.0).expect("second series");
        // The bound is over every custom name together, not per name.
        for (name, labels) in [("g", &[("a", "2")][..]), ("other", &[][..])] {
            assert!(matches!(
                rec.gauge(name, labels, 1.0),
                Err(MetricsError::TooManySeries { max: 2, .. })
            ));
        }
        let rec = Recorder::default();
        let handle = rec.counter_handle("hits", &[("k", "v")]).expect("handle");
        handle.inc_by(2.0);
        handle.inc_by(-5.0);
        assert_eq!(handle.get(), 2.0);
    }

    /// Two families whose expositions share a name are refused, whichever comes first,
    /// by the recorder and by a batch check alike.
    #[test]
    fn colliding_custom_families_are_refused() {
        use crate::{CustomAdmission, CustomBatch};
        let (c, g, h) = (
            CustomKind::Counter,
            CustomKind::Gauge,
            CustomKind::Histogram,
        );
        for (first, second, want) in [
            (("retries", c), ("retries_total", g), "only a counter"),
            (("retries_total", c), ("retries_total", g), "only a counter"),
            (("retries", c), ("retries", g), "already a counter"),
            (
                ("latency", h),
                ("latency_count", g),
                "collide with the histogram \"latency\"",
            ),
            (
                ("latency_count", g),
                ("latency", h),
                "collide with the gauge \"latency_count\"",
            ),
            (
                ("latency", h),
                ("latency_bucket", c),
                "collide with the histogram",
            ),
            (("q", g), ("q", c), "already a gauge"),
        ] {
            let record = |rec: &Recorder, (name, kind): (&str, CustomKind)| match kind {
                CustomKind::Counter => rec.counter(name, &[], 1.0),
                CustomKind::Gauge => rec.gauge(name, &[], 1.0),
                _ => rec.histogram(name, &[], 1.0),
            };
            let rec = Recorder::default();
            record(&rec, first).expect("first family");
            let err = record(&rec, second).expect_err("collision").to_string();
            assert!(err.contains(want), "{first:?} then {second:?}: {err}");
            // The same pair inside one batch, before anything is recorded.
            let rec = Recorder::default();
            let mut batch = CustomBatch::default();
            let fits = rec.check_custom(&mut batch, first.0, first.1, &[]);
            assert!(matches!(fits, Ok(CustomAdmission::Fits)), "{fits:?}");
            let err = rec
                .check_custom(&mut batch, second.0, second.1, &[])
                .expect_err("collision in a batch")
                .to_string();
            assert!(err.contains(want), "batch {first:?} then {second:?}: {err}");
        }
    }

    #[test]
    fn a_batch_check_counts_new_series_against_the_total() {
        use crate::{CustomAdmission, CustomBatch};
        let rec = Recorder::new(RecorderOptions {
            max_series: 3,
            ..RecorderOptions::default()
        });
        rec.gauge("a", &[], 1.0).expect("recorded");
        let mut batch = CustomBatch::default();
        let mut check = |name: &str, v: &str| {
            rec.check_custom(&mut batch, name, CustomKind::Gauge, &[("k", v)])
                .expect("valid")
        };
        assert_eq!(check("b", "1"), CustomAdmission::Fits);
        assert_eq!(check("b", "1"), CustomAdmission::Fits);
        assert_eq!(check("c", "1"), CustomAdmission::Fits);
        assert_eq!(check("c", "2"), CustomAdmission::OverSeriesLimit);
        assert_eq!(check("d", "1"), CustomAdmission::OverSeriesLimit);
        // An existing series always fits.
        let mut batch = CustomBatch::default();
        let fits = rec.check_custom(&mut batch, "a", CustomKind::Gauge, &[]);
        assert!(matches!(fits, Ok(CustomAdmission::Fits)));
    }

    /// Latencies that reach Prometheus through the histogram give, with
    /// `histogram_quantile`'s linear interpolation inside a bucket, the same percentile
    /// as mon's own within 10 % over the range of voice-AI latencies.
    #[test]
    fn bucket_interpolation_agrees_with_mons_percentile() {
        fn histogram_quantile(q: f64, h: &Histo) -> f64 {
            let rank = q * h.count as f64;
            let mut below = 0u64;
            for (i, n) in h.counts.iter().enumerate() {
                if (below + n) as f64 >= rank {
                    let lo = if i == 0 { 0.0 } else { h.bounds[i - 1] };
                    let hi = h.bounds[i];
                    return lo + (hi - lo) * (rank - below as f64) / *n as f64;
                }
                below += n;
            }
            f64::NAN
        }
        // Latencies spread ±10 % and ±25 % around a centre, within 50 ms – 10 s. (All of
        // them on one value is the worst case: up to one bucket width, 10 %, off.)
        let mut ms = 50.0;
        while ms <= 10_000.0 {
            for spread in [0.2, 0.5] {
                if ms * (1.0 - spread / 2.0) < 50.0 || ms * (1.0 + spread / 2.0) > 10_000.0 {
                    continue;
                }
                let rec = Recorder::default();
                for i in 0..100 {
                    let v = ms * (1.0 + spread * (f64::from(i) / 100.0 - 0.5));
                    rec.track_request("/x", "GET", 200, Duration::from_secs_f64(v / 1000.0), 0, 0);
                }
                let mon = rec.request_stats(Window::OneMinute).0.p95.expect("p95");
                let h = lock(&rec.inner.endpoints.read().expect("map")["/x"])
                    .duration
                    .clone();
                let prom = 1000.0 * histogram_quantile(0.95, &h);
                assert!(
                    (prom - mon).abs() <= 0.1 * mon,
                    "{ms} ms (spread {spread}): Prometheus {prom}, mon {mon}"
                );
            }
            ms *= 1.07;
        }
    }

    #[test]
    fn perf_timer_records_on_drop_and_stop() {
        let rec = Recorder::default();
        {
            let _t = rec.perf_timer("stt");
        }
        let d = rec.perf_timer("stt").stop();
        assert!(d < Duration::from_secs(60));
        let mut registry = Registry::default();
        rec.register(&mut registry);
        let text = encode_openmetrics(&registry).expect("encodes");
        assert!(
            text.contains("mon_app_operation_duration_seconds_count{operation=\"stt\"} 2"),
            "{text}"
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
}
