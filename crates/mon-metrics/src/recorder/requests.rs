//! Requests: per-endpoint rolling latency windows and counters, the slow requests kept,
//! their rule variables (`avg_api_latency_ms`, `error_rate_percent`...) and the
//! `mon_app_request*` families.

use super::{Histo, LATENCY_BUCKETS, OVERFLOW_LABEL, Recorder, RecorderOptions, SeriesMap};
use super::{bounded, lock, ms, with_series};
use crate::report::{Published, WindowReport, counter_u64, histogram};
use crate::vars;
use crate::window::{Acc, Ring, Window, WindowStats, current_slot, slot_of};
use chrono::{DateTime, Utc};
use mon_core::{LabelValue, RequestEvent};
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// One endpoint: its rolling latency window and cumulative counters.
#[derive(Debug)]
pub(crate) struct EndpointState {
    pub(crate) ring: Ring,
    /// Requests by (method, status).
    by_status: Vec<(String, u16, u64)>,
    pub(crate) duration: Histo,
    request_bytes: u64,
    response_bytes: u64,
    slow: u64,
}

/// A request slower than the threshold, kept as an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowRequest {
    /// The endpoint.
    pub endpoint: String,
    /// The HTTP method.
    pub method: String,
    /// The response status.
    pub status: u16,
    /// How long it took, in milliseconds.
    pub latency_ms: f64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// The requests' state: a series per endpoint, each behind its own lock, and the
/// recent slow requests.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    pub(crate) endpoints: SeriesMap<String, EndpointState>,
    slow: Mutex<VecDeque<SlowRequest>>,
}

/// One request as the recorder takes it.
struct Request<'a> {
    endpoint: &'a str,
    method: &'a str,
    status: u16,
    latency_ms: f64,
    request_bytes: u64,
    response_bytes: u64,
}

impl Requests {
    fn record(&self, options: &RecorderOptions, at: Option<SystemTime>, r: &Request<'_>) {
        let max_len = options.max_label_value_bytes;
        let (endpoint, method) = (bounded(r.endpoint, max_len), bounded(r.method, max_len));
        let (status, latency_ms) = (r.status, r.latency_ms);
        // One cheap clock read on the hot path: "now" is also the event's slot unless given.
        let now = current_slot();
        let slot = at.map_or(now, slot_of);
        let slow = latency_ms >= ms(options.slow_request_threshold);
        let recorded = with_series(
            &self.endpoints,
            endpoint,
            options.max_series,
            || Some(OVERFLOW_LABEL.to_owned()),
            str::to_owned,
            || EndpointState {
                ring: Ring::default(),
                by_status: Vec::new(),
                duration: Histo::new(LATENCY_BUCKETS),
                request_bytes: 0,
                response_bytes: 0,
                slow: 0,
            },
            |s| {
                s.ring.record(slot, now, latency_ms, status >= 500);
                let known = s.by_status.len();
                match s
                    .by_status
                    .iter_mut()
                    .find(|(m, st, _)| *st == status && m == method)
                {
                    Some(entry) => entry.2 += 1,
                    // Methods are few; an unbounded set of them folds into "other".
                    None if known < 64 => s.by_status.push((method.to_owned(), status, 1)),
                    None => match s
                        .by_status
                        .iter_mut()
                        .find(|(m, st, _)| *st == status && m == OVERFLOW_LABEL)
                    {
                        Some(entry) => entry.2 += 1,
                        None => s.by_status.push((OVERFLOW_LABEL.to_owned(), status, 1)),
                    },
                }
                s.duration.observe(latency_ms / 1000.0);
                s.request_bytes += r.request_bytes;
                s.response_bytes += r.response_bytes;
                s.slow += u64::from(slow);
            },
        );
        if recorded.is_none() || !slow {
            return;
        }
        let mut recent = lock(&self.slow);
        if recent.len() >= options.keep_recent {
            recent.pop_front();
        }
        if options.keep_recent > 0 {
            recent.push_back(SlowRequest {
                endpoint: endpoint.to_owned(),
                method: method.to_owned(),
                status,
                latency_ms,
                at: at.unwrap_or_else(SystemTime::now).into(),
            });
        }
    }

    /// Request statistics of `window`, overall and per endpoint.
    pub(crate) fn stats(&self, window: Window) -> (WindowStats, BTreeMap<String, WindowStats>) {
        let now = current_slot();
        let endpoints: Vec<(String, Arc<Mutex<EndpointState>>)> = self
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        let mut overall = Acc::default();
        let mut per = BTreeMap::new();
        for (name, state) in endpoints {
            let s = lock(&state);
            s.ring.accumulate(now, window, &mut overall);
            per.insert(name, s.ring.stats(now, window));
        }
        (overall.finish(window), per)
    }

    /// Per-endpoint statistics of every window.
    pub(crate) fn by_endpoint(&self) -> BTreeMap<String, BTreeMap<Window, WindowStats>> {
        let mut endpoints: BTreeMap<String, BTreeMap<Window, WindowStats>> = BTreeMap::new();
        for w in Window::ALL {
            for (endpoint, stats) in self.stats(w).1 {
                endpoints.entry(endpoint).or_default().insert(w, stats);
            }
        }
        endpoints
    }

    /// The slow requests kept, oldest first.
    pub(crate) fn slow_requests(&self) -> Vec<SlowRequest> {
        lock(&self.slow).iter().cloned().collect()
    }

    /// The request variables of `w`, the statistics of `window`. No traffic is "no data"
    /// until a request has been seen: a server nothing reports to is not an outage.
    pub(crate) fn publish(&self, w: &WindowReport, window: Window, out: &mut Published) {
        let r = &w.requests;
        out.put(vars::AVG_API_LATENCY_MS, r.avg);
        out.put(vars::P50_API_LATENCY_MS, r.p50);
        out.put(vars::P95_API_LATENCY_MS, r.p95);
        out.put(vars::P99_API_LATENCY_MS, r.p99);
        out.put(
            vars::ERROR_RATE_PERCENT,
            (r.count > 0).then_some(r.failure_percent),
        );
        let requests_seen = !self
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty();
        out.put(
            vars::REQUEST_RATE_PER_MIN,
            requests_seen.then_some(r.rate_per_min),
        );
        let since = Utc::now() - window.duration();
        let slow = lock(&self.slow).iter().filter(|s| s.at >= since).count();
        out.put(vars::SLOW_REQUESTS, Some(slow as f64));
    }

    /// The `mon_app_request*` and `mon_app_slow_requests` families.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let endpoints: Vec<_> = self
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
        Ok(())
    }
}

impl Recorder {
    /// Records one HTTP/API request. A status ≥ 500 counts as a failure; a request at
    /// least `slow_request_threshold` long is also kept as a [`SlowRequest`].
    pub fn track_request(
        &self,
        endpoint: &str,
        method: &str,
        status: u16,
        latency: Duration,
        request_bytes: u64,
        response_bytes: u64,
    ) {
        let request = Request {
            endpoint,
            method,
            status,
            latency_ms: ms(latency),
            request_bytes,
            response_bytes,
        };
        self.inner
            .requests
            .record(&self.inner.options, None, &request);
    }

    /// Records an ingested [`RequestEvent`], at its own timestamp when it has one.
    pub fn record_request(&self, e: &RequestEvent) {
        let request = Request {
            endpoint: &e.endpoint,
            method: &e.method,
            status: e.status,
            latency_ms: e.latency_ms,
            request_bytes: e.request_bytes.unwrap_or(0),
            response_bytes: e.response_bytes.unwrap_or(0),
        };
        let at = super::system_time(e.timestamp);
        self.inner
            .requests
            .record(&self.inner.options, Some(at), &request);
    }

    /// The slow requests kept, oldest first.
    pub fn slow_requests(&self) -> Vec<SlowRequest> {
        self.inner.requests.slow_requests()
    }

    /// Request statistics of `window`, overall and per endpoint.
    pub fn request_stats(&self, window: Window) -> (WindowStats, BTreeMap<String, WindowStats>) {
        self.inner.requests.stats(window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                let h = lock(&rec.inner.requests.endpoints.read().expect("map")["/x"])
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
}
