//! [`Recorder`]: the application recorders (requests, calls, errors, voice quality, AI
//! usage, timers, custom counters/gauges/histograms) and their rolling windows.
//!
//! Concurrency: every series (an endpoint, an AI provider/service/model, an operation, a
//! custom label set) has its own small lock; a record takes a *shared* read lock on the
//! series map (exclusive only the first time a series appears) and that series' lock.
//! There is no global lock on the request hot path. Calls, errors and voice quality —
//! one event per call or turn, orders of magnitude rarer than requests — share one lock
//! per kind.

use crate::MetricsError;
use crate::window::{Acc, Ring, Window, WindowStats, current_slot, slot_of};
use chrono::{DateTime, Utc};
use mon_core::Event;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// Upper bounds of latency histograms, in seconds: 5, 10, 20, 30, 40 ms, then 10 %
/// geometric steps from 50 ms to 10.4 s (`0.05 × 1.1^k`, three significant digits),
/// then 15, 20, 30 and 60 s. Within 50 ms – 10 s a bucket is at most 10.5 % wide, so
/// Prometheus' `histogram_quantile` (linear within a bucket) lands within about 10 % of
/// the true percentile. 66 bounds: 68 series per histogram with `_sum` and `_count`.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.055, 0.0605, 0.0666, 0.0732, 0.0805, 0.0886, 0.0974,
    0.107, 0.118, 0.13, 0.143, 0.157, 0.173, 0.19, 0.209, 0.23, 0.253, 0.278, 0.306, 0.336, 0.37,
    0.407, 0.448, 0.492, 0.542, 0.596, 0.655, 0.721, 0.793, 0.872, 0.96, 1.06, 1.16, 1.28, 1.41,
    1.55, 1.7, 1.87, 2.06, 2.26, 2.49, 2.74, 3.01, 3.31, 3.64, 4.01, 4.41, 4.85, 5.34, 5.87, 6.46,
    7.1, 7.81, 8.59, 9.45, 10.4, 15.0, 20.0, 30.0, 60.0,
];
/// Upper bounds of the call duration histogram, in seconds.
pub(crate) const CALL_BUCKETS: &[f64] = &[5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];
/// Upper bounds of the MOS histogram.
pub(crate) const MOS_BUCKETS: &[f64] = &[1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0];

/// How the recorder behaves. Defaults: slow over 1 s, rules read the 5 m window, 100
/// slow requests and errors kept, 1,000 series per kind and 1,000 custom series in
/// total, label values up to 256 bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RecorderOptions {
    /// A request at least this slow is kept as a slow-request event.
    pub slow_request_threshold: Duration,
    /// The window the rule-snapshot variables (`avg_api_latency_ms`...) are computed over.
    pub rule_window: Window,
    /// How many recent slow requests and recent errors are kept.
    pub keep_recent: usize,
    /// At most this many series per kind (endpoints, AI models, operations, error
    /// kinds; beyond it new ones are folded into `other`) and this many custom series
    /// in total, over every custom metric name (beyond it new ones are refused), so a
    /// misbehaving client cannot exhaust memory or blow up a scrape.
    pub max_series: usize,
    /// The longest label value, in bytes: a longer custom label value is refused, a
    /// longer endpoint, method, error kind, AI provider/model or operation is cut to it.
    pub max_label_value_bytes: usize,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            slow_request_threshold: Duration::from_secs(1),
            rule_window: Window::FiveMinutes,
            keep_recent: 100,
            max_series: 1000,
            max_label_value_bytes: 256,
        }
    }
}

/// A cumulative histogram with fixed bucket bounds, for exposition.
#[derive(Debug, Clone)]
pub(crate) struct Histo {
    pub(crate) bounds: &'static [f64],
    /// Per-bucket counts (not cumulative); the last one is `+Inf`.
    pub(crate) counts: Vec<u64>,
    pub(crate) sum: f64,
    pub(crate) count: u64,
}

impl Histo {
    fn new(bounds: &'static [f64]) -> Histo {
        Histo {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        // The first bound ≥ v (bounds ascend), or the +Inf bucket.
        let i = self.bounds.partition_point(|b| *b < v);
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }
}

/// One endpoint: its rolling latency window and cumulative counters.
#[derive(Debug)]
pub(crate) struct EndpointState {
    pub(crate) ring: Ring,
    /// Requests by (method, status).
    pub(crate) by_status: Vec<(String, u16, u64)>,
    pub(crate) duration: Histo,
    pub(crate) request_bytes: u64,
    pub(crate) response_bytes: u64,
    pub(crate) slow: u64,
}

/// One AI provider/service/model.
#[derive(Debug)]
pub(crate) struct AiState {
    pub(crate) ring: Ring,
    pub(crate) requests: u64,
    pub(crate) units: f64,
    pub(crate) cost_usd: f64,
    pub(crate) latency: Histo,
}

/// One timed operation (`perf_timer`).
#[derive(Debug)]
pub(crate) struct OpState {
    pub(crate) ring: Ring,
    pub(crate) duration: Histo,
}

/// Calls: the active set and rolling windows.
#[derive(Debug, Default)]
pub(crate) struct CallState {
    pub(crate) active: HashMap<String, SystemTime>,
    pub(crate) started: Ring,
    /// Durations (seconds) of ended calls; a failed call is a failure.
    pub(crate) ended: Ring,
    pub(crate) started_total: u64,
    pub(crate) succeeded_total: u64,
    pub(crate) failed_total: u64,
    pub(crate) duration: Option<Histo>,
}

/// Errors by kind and the most recent ones.
#[derive(Debug, Default)]
pub(crate) struct ErrorState {
    pub(crate) ring: Ring,
    pub(crate) by_kind: BTreeMap<String, u64>,
    pub(crate) recent: VecDeque<ErrorRecord>,
}

/// Voice quality windows.
#[derive(Debug, Default)]
pub(crate) struct VoiceState {
    pub(crate) mos: Ring,
    pub(crate) latency_ms: Ring,
    pub(crate) packet_loss: Ring,
    pub(crate) jitter_ms: Ring,
    pub(crate) mos_histo: Option<Histo>,
    pub(crate) samples_total: u64,
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

/// An application error as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The error class, e.g. `STT_TIMEOUT`.
    pub kind: String,
    /// What went wrong.
    pub message: String,
    /// Extra context (call id...).
    pub context: BTreeMap<String, serde_json::Value>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// The kind of a custom metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CustomKind {
    /// Only goes up.
    Counter,
    /// Set to the current value.
    Gauge,
    /// A distribution of observed values (latency buckets, in base units).
    Histogram,
}

/// The value cell of one custom series.
#[derive(Debug)]
pub(crate) enum CustomCell {
    /// An `f64` stored as bits: counters add with a compare-and-swap loop, gauges store.
    Value(AtomicU64),
    Histogram(Mutex<Histo>),
}

/// A custom series' labels, sorted by name.
pub(crate) type LabelPairs = Vec<(String, String)>;

/// A custom metric: its kind and its series by label set.
#[derive(Debug)]
pub(crate) struct CustomFamily {
    pub(crate) kind: CustomKind,
    pub(crate) series: RwLock<HashMap<LabelPairs, Arc<CustomCell>>>,
}

/// Series keyed by name, each behind its own lock.
pub(crate) type SeriesMap<K, V> = RwLock<HashMap<K, Arc<Mutex<V>>, foldhash::fast::RandomState>>;

/// The shared state of a [`Recorder`].
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) options: RecorderOptions,
    pub(crate) endpoints: SeriesMap<String, EndpointState>,
    pub(crate) ai: SeriesMap<(String, String, String), AiState>,
    pub(crate) ops: SeriesMap<String, OpState>,
    pub(crate) calls: Mutex<CallState>,
    pub(crate) errors: Mutex<ErrorState>,
    pub(crate) voice: Mutex<VoiceState>,
    pub(crate) slow: Mutex<VecDeque<SlowRequest>>,
    pub(crate) custom: RwLock<BTreeMap<String, Arc<CustomFamily>>>,
    /// Custom series in all families (bounded by `max_series`).
    pub(crate) custom_series: std::sync::atomic::AtomicUsize,
}

/// The application recorders: what a voice agent calls to record its requests, calls,
/// errors, voice quality and AI usage, and what `POST /api/v1/events` feeds.
///
/// Cloning is cheap (an `Arc`); every clone records into the same state. Rolling windows
/// (1 m, 5 m, 15 m) come from [`Recorder::report`], the rule-snapshot variables from
/// [`Recorder::snapshot_values`], and the Prometheus families from registering
/// [`Recorder::register`].
///
/// ```
/// use mon_metrics::Recorder;
/// use std::time::Duration;
///
/// let rec = Recorder::default();
/// rec.track_request("/api/rooms", "POST", 201, Duration::from_millis(84), 512, 128);
/// rec.call_started("call-1");
/// rec.call_ended("call-1", Duration::from_secs(61), true);
/// {
///     let _timer = rec.perf_timer("stt_transcribe"); // recorded when dropped
/// }
/// rec.counter("retries_total", &[("provider", "deepgram")], 1.0).unwrap();
/// assert_eq!(rec.snapshot_values()["active_calls"], 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct Recorder {
    pub(crate) inner: Arc<Inner>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new(RecorderOptions::default())
    }
}

/// Locks a mutex, ignoring poisoning: every update leaves the state consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` on the series `key` of `map`, created with `new` when absent. When the map
/// already holds `max` series, an absent key is replaced by `overflow` (or nothing is
/// done and `None` returned). An existing series is updated under the map's shared lock
/// and its own: no reference count is touched on the hot path.
fn with_series<K, V, Q, R>(
    map: &SeriesMap<K, V>,
    key: &Q,
    max: usize,
    overflow: impl FnOnce() -> Option<K>,
    to_owned: impl FnOnce(&Q) -> K,
    new: impl Fn() -> V,
    f: impl FnOnce(&mut V) -> R,
) -> Option<R>
where
    K: Hash + Eq + std::borrow::Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    {
        let read = map.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = read.get(key) {
            return Some(f(&mut lock(s)));
        }
    }
    let mut w = map.write().unwrap_or_else(PoisonError::into_inner);
    let owned = if w.contains_key(key) {
        None
    } else if w.len() >= max {
        Some(overflow()?)
    } else {
        Some(to_owned(key))
    };
    let state = match owned {
        Some(owned) => w
            .entry(owned)
            .or_insert_with(|| Arc::new(Mutex::new(new()))),
        None => w.get(key)?,
    };
    Some(f(&mut lock(state)))
}

/// The label value that stands for series beyond `max_series`.
pub const OVERFLOW_LABEL: &str = "other";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A custom event's labels as the recorder takes them.
fn label_pairs(labels: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
    labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn system_time(ts: Option<DateTime<Utc>>) -> SystemTime {
    ts.map_or_else(SystemTime::now, SystemTime::from)
}

/// Checks a custom metric name ([`mon_core::check_metric_name`]).
///
/// # Errors
/// [`MetricsError::InvalidMetric`] saying what is wrong.
pub fn validate_name(name: &str) -> Result<(), MetricsError> {
    mon_core::check_metric_name(name).map_err(|reason| MetricsError::InvalidMetric {
        name: name.to_owned(),
        reason,
    })
}

/// Checks a custom metric's label name ([`mon_core::check_label_name`]).
///
/// # Errors
/// [`MetricsError::InvalidMetric`] saying what is wrong.
pub fn validate_label_name(metric: &str, label: &str) -> Result<(), MetricsError> {
    mon_core::check_label_name(label).map_err(|reason| MetricsError::InvalidMetric {
        name: metric.to_owned(),
        reason,
    })
}

/// The names a custom family takes in an exposition: its own and its samples'.
fn exposed_names(name: &str, kind: CustomKind) -> Vec<String> {
    let suffixes: &[&str] = match kind {
        CustomKind::Counter => &["", "_total", "_created"],
        CustomKind::Gauge => &[""],
        CustomKind::Histogram => &["", "_bucket", "_sum", "_count", "_created"],
    };
    suffixes.iter().map(|s| format!("{name}{s}")).collect()
}

fn kind_name(kind: CustomKind) -> &'static str {
    match kind {
        CustomKind::Counter => "counter",
        CustomKind::Gauge => "gauge",
        CustomKind::Histogram => "histogram",
    }
}

/// Checks that a new custom family `name` of `kind` (a counter's name without `_total`)
/// can stand beside `existing` ones: a valid name, no counter suffix on another kind, and
/// no name in common with another family's exposition (a gauge `retries_total` beside a
/// counter `retries`, a gauge `latency_count` beside a histogram `latency`).
fn check_new_family<'a>(
    name: &str,
    kind: CustomKind,
    existing: impl IntoIterator<Item = (&'a str, CustomKind)>,
) -> Result<(), MetricsError> {
    validate_name(name)?;
    let invalid = |reason: String| MetricsError::InvalidMetric {
        name: name.to_owned(),
        reason,
    };
    if kind != CustomKind::Counter
        && let Some(suffix) = ["_total", "_created"]
            .into_iter()
            .find(|s| name.ends_with(s))
    {
        return Err(invalid(format!(
            "only a counter's samples end in {suffix}; a {} must be named otherwise",
            kind_name(kind)
        )));
    }
    let mine = exposed_names(name, kind);
    for (other, other_kind) in existing {
        if other == name && other_kind != kind {
            return Err(invalid(format!(
                "it is already a {} and cannot be recorded as a {}",
                kind_name(other_kind),
                kind_name(kind)
            )));
        }
        let theirs = exposed_names(other, other_kind);
        if let Some(clash) = mine.iter().find(|n| theirs.contains(n)) {
            return Err(invalid(format!(
                "its series {clash} would collide with the {} {other:?}; two metrics cannot share a name",
                kind_name(other_kind)
            )));
        }
    }
    Ok(())
}

/// The family name of a custom metric: a counter's name without a trailing `_total`.
fn custom_family_name(name: &str, kind: CustomKind) -> &str {
    match kind {
        CustomKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        CustomKind::Gauge | CustomKind::Histogram => name,
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn bounded(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What [`Recorder::check_custom`] found out about one record of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CustomAdmission {
    /// It can be recorded (its series exists, or there is room for it).
    Fits,
    /// It would create a series beyond `max_series` custom series in total.
    OverSeriesLimit,
}

/// The custom families and series a batch would create, for [`Recorder::check_custom`].
#[derive(Debug, Default)]
pub struct CustomBatch {
    families: BTreeMap<String, CustomKind>,
    series: std::collections::HashSet<(String, LabelPairs)>,
}

impl Recorder {
    /// A recorder with nothing recorded yet.
    pub fn new(options: RecorderOptions) -> Recorder {
        Recorder {
            inner: Arc::new(Inner {
                options,
                endpoints: RwLock::default(),
                ai: RwLock::default(),
                ops: RwLock::default(),
                calls: Mutex::default(),
                errors: Mutex::default(),
                voice: Mutex::default(),
                slow: Mutex::default(),
                custom: RwLock::default(),
                custom_series: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    /// The options it was built with.
    pub fn options(&self) -> &RecorderOptions {
        &self.inner.options
    }

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
        self.request_at(
            None,
            endpoint,
            method,
            status,
            ms(latency),
            request_bytes,
            response_bytes,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn request_at(
        &self,
        at: Option<SystemTime>,
        endpoint: &str,
        method: &str,
        status: u16,
        latency_ms: f64,
        request_bytes: u64,
        response_bytes: u64,
    ) {
        let max_len = self.inner.options.max_label_value_bytes;
        let (endpoint, method) = (bounded(endpoint, max_len), bounded(method, max_len));
        // One cheap clock read on the hot path: "now" is also the event's slot unless given.
        let now = current_slot();
        let slot = at.map_or(now, slot_of);
        let slow = latency_ms >= ms(self.inner.options.slow_request_threshold);
        let recorded = with_series(
            &self.inner.endpoints,
            endpoint,
            self.inner.options.max_series,
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
                s.request_bytes += request_bytes;
                s.response_bytes += response_bytes;
                s.slow += u64::from(slow);
            },
        );
        if recorded.is_none() {
            return;
        }
        if slow {
            let mut recent = lock(&self.inner.slow);
            if recent.len() >= self.inner.options.keep_recent {
                recent.pop_front();
            }
            if self.inner.options.keep_recent > 0 {
                recent.push_back(SlowRequest {
                    endpoint: endpoint.to_owned(),
                    method: method.to_owned(),
                    status,
                    latency_ms,
                    at: at.unwrap_or_else(SystemTime::now).into(),
                });
            }
        }
    }

    /// Records that call `call_id` began.
    pub fn call_started(&self, call_id: &str) {
        self.call_started_at(SystemTime::now(), call_id);
    }

    fn call_started_at(&self, at: SystemTime, call_id: &str) {
        let now = current_slot();
        let mut calls = lock(&self.inner.calls);
        calls.started.record(slot_of(at), now, 1.0, false);
        calls.started_total += 1;
        // A call that never ends must not grow the set forever.
        if calls.active.len() < self.inner.options.max_series.saturating_mul(100) {
            calls.active.insert(call_id.to_owned(), at);
        }
    }

    /// Records that call `call_id` ended after `duration`, successfully or not.
    pub fn call_ended(&self, call_id: &str, duration: Duration, success: bool) {
        self.call_ended_at(SystemTime::now(), call_id, duration.as_secs_f64(), success);
    }

    fn call_ended_at(&self, at: SystemTime, call_id: &str, seconds: f64, success: bool) {
        let now = current_slot();
        let mut calls = lock(&self.inner.calls);
        calls.active.remove(call_id);
        calls.ended.record(slot_of(at), now, seconds, !success);
        if success {
            calls.succeeded_total += 1;
        } else {
            calls.failed_total += 1;
        }
        calls
            .duration
            .get_or_insert_with(|| Histo::new(CALL_BUCKETS))
            .observe(seconds);
    }

    /// Records an application error of class `kind`.
    pub fn record_error(
        &self,
        kind: &str,
        message: &str,
        context: &BTreeMap<String, serde_json::Value>,
    ) {
        self.error_at(SystemTime::now(), kind, message, context);
    }

    fn error_at(
        &self,
        at: SystemTime,
        kind: &str,
        message: &str,
        context: &BTreeMap<String, serde_json::Value>,
    ) {
        let now = current_slot();
        let max = self.inner.options.max_series;
        let keep = self.inner.options.keep_recent;
        let kind = bounded(kind, self.inner.options.max_label_value_bytes);
        let mut errors = lock(&self.inner.errors);
        errors.ring.record(slot_of(at), now, 1.0, true);
        let kind_key = if errors.by_kind.len() >= max && !errors.by_kind.contains_key(kind) {
            OVERFLOW_LABEL
        } else {
            kind
        };
        *errors.by_kind.entry(kind_key.to_owned()).or_default() += 1;
        if errors.recent.len() >= keep {
            errors.recent.pop_front();
        }
        if keep > 0 {
            errors.recent.push_back(ErrorRecord {
                kind: kind.to_owned(),
                message: message.to_owned(),
                context: context.clone(),
                at: at.into(),
            });
        }
    }

    /// Records the voice quality of a conversation turn.
    pub fn voice_quality(
        &self,
        conversation_id: &str,
        latency_ms: f64,
        packet_loss: f64,
        jitter_ms: f64,
        mos: f64,
    ) {
        self.voice_at(
            SystemTime::now(),
            conversation_id,
            latency_ms,
            packet_loss,
            jitter_ms,
            mos,
        );
    }

    fn voice_at(
        &self,
        at: SystemTime,
        _conversation_id: &str,
        latency_ms: f64,
        packet_loss: f64,
        jitter_ms: f64,
        mos: f64,
    ) {
        let (now, slot) = (current_slot(), slot_of(at));
        let mut v = lock(&self.inner.voice);
        v.mos.record(slot, now, mos, false);
        v.latency_ms.record(slot, now, latency_ms, false);
        v.packet_loss.record(slot, now, packet_loss, false);
        v.jitter_ms.record(slot, now, jitter_ms, false);
        v.mos_histo
            .get_or_insert_with(|| Histo::new(MOS_BUCKETS))
            .observe(mos);
        v.samples_total += 1;
    }

    /// Records one use of an AI provider: `service` is `stt`, `llm` or `tts`; `units` are
    /// tokens, characters or seconds of audio.
    pub fn ai_usage(
        &self,
        provider: &str,
        service: &str,
        model: &str,
        units: f64,
        cost_usd: f64,
        latency: Duration,
    ) {
        self.ai_at(
            SystemTime::now(),
            provider,
            service,
            model,
            units,
            cost_usd,
            ms(latency),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn ai_at(
        &self,
        at: SystemTime,
        provider: &str,
        service: &str,
        model: &str,
        units: f64,
        cost_usd: f64,
        latency_ms: f64,
    ) {
        let now = current_slot();
        let max_len = self.inner.options.max_label_value_bytes;
        let (provider, service, model) = (
            bounded(provider, max_len),
            bounded(service, max_len),
            bounded(model, max_len),
        );
        let key = (provider.to_owned(), service.to_owned(), model.to_owned());
        let overflow = (
            OVERFLOW_LABEL.to_owned(),
            service.to_owned(),
            OVERFLOW_LABEL.to_owned(),
        );
        with_series(
            &self.inner.ai,
            &key,
            self.inner.options.max_series,
            || Some(overflow),
            Clone::clone,
            || AiState {
                ring: Ring::default(),
                requests: 0,
                units: 0.0,
                cost_usd: 0.0,
                latency: Histo::new(LATENCY_BUCKETS),
            },
            |s| {
                s.ring.record(slot_of(at), now, latency_ms, false);
                s.requests += 1;
                if units.is_finite() {
                    s.units += units;
                }
                if cost_usd.is_finite() {
                    s.cost_usd += cost_usd;
                }
                s.latency.observe(latency_ms / 1000.0);
            },
        );
    }

    /// A timer for operation `name`: its duration is recorded when the guard is dropped
    /// (or [`PerfTimer::stop`] is called), as `mon_app_operation_duration_seconds`.
    pub fn perf_timer(&self, name: &str) -> PerfTimer {
        PerfTimer {
            recorder: self.clone(),
            name: name.to_owned(),
            started: Instant::now(),
            done: false,
        }
    }

    /// Records that operation `name` took `duration` (what [`PerfTimer`] does on drop).
    pub fn record_duration(&self, name: &str, duration: Duration) {
        let name = bounded(name, self.inner.options.max_label_value_bytes);
        let now = current_slot();
        with_series(
            &self.inner.ops,
            name,
            self.inner.options.max_series,
            || Some(OVERFLOW_LABEL.to_owned()),
            str::to_owned,
            || OpState {
                ring: Ring::default(),
                duration: Histo::new(LATENCY_BUCKETS),
            },
            |s| {
                s.ring.record(now, now, ms(duration), false);
                s.duration.observe(duration.as_secs_f64());
            },
        );
    }

    /// Checks a custom label value's length.
    fn check_label_value(&self, name: &str, label: &str, value: &str) -> Result<(), MetricsError> {
        let max = self.inner.options.max_label_value_bytes;
        if value.len() > max {
            return Err(MetricsError::LabelValueTooLong {
                name: name.to_owned(),
                label: label.to_owned(),
                len: value.len(),
                max,
            });
        }
        Ok(())
    }

    /// Checks what recording custom `kind` `name{labels}` would do, without recording:
    /// the same validation as [`Recorder::counter`], [`Recorder::gauge`] and
    /// [`Recorder::histogram`] (name, collisions, label names and value lengths), with
    /// the families and series of the batch's earlier records (in `batch`) counted as
    /// existing. A counter's `name` may end in `_total`.
    ///
    /// # Errors
    /// As [`Recorder::counter`], but a series beyond the limit is
    /// [`CustomAdmission::OverSeriesLimit`], not an error.
    pub fn check_custom(
        &self,
        batch: &mut CustomBatch,
        name: &str,
        kind: CustomKind,
        labels: &[(&str, &str)],
    ) -> Result<CustomAdmission, MetricsError> {
        let name = custom_family_name(name, kind);
        let family = self
            .inner
            .custom
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned();
        match (&family, batch.families.get(name)) {
            (Some(f), _) if f.kind != kind => {
                check_new_family(name, kind, [(name, f.kind)])?;
            }
            (None, Some(k)) if *k != kind => check_new_family(name, kind, [(name, *k)])?,
            (Some(_), _) | (None, Some(_)) => {}
            (None, None) => {
                {
                    let existing = self
                        .inner
                        .custom
                        .read()
                        .unwrap_or_else(PoisonError::into_inner);
                    check_new_family(
                        name,
                        kind,
                        existing
                            .iter()
                            .map(|(n, f)| (n.as_str(), f.kind))
                            .chain(batch.families.iter().map(|(n, k)| (n.as_str(), *k))),
                    )?;
                }
                batch.families.insert(name.to_owned(), kind);
            }
        }
        let key = self.label_key(name, labels)?;
        let exists = family.is_some_and(|f| {
            f.series
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(&key)
        });
        if exists || batch.series.contains(&(name.to_owned(), key.clone())) {
            return Ok(CustomAdmission::Fits);
        }
        let total = self.inner.custom_series.load(Ordering::Relaxed) + batch.series.len();
        if total >= self.inner.options.max_series {
            return Ok(CustomAdmission::OverSeriesLimit);
        }
        batch.series.insert((name.to_owned(), key));
        Ok(CustomAdmission::Fits)
    }

    /// The sorted label pairs of a custom series, label names and value lengths checked.
    fn label_key(&self, name: &str, labels: &[(&str, &str)]) -> Result<LabelPairs, MetricsError> {
        let mut key = Vec::with_capacity(labels.len());
        for (label, value) in labels {
            validate_label_name(name, label)?;
            self.check_label_value(name, label, value)?;
            key.push(((*label).to_owned(), (*value).to_owned()));
        }
        key.sort();
        Ok(key)
    }

    /// The cell of custom series `name{labels}` of kind `kind`, created on first use.
    fn custom_cell(
        &self,
        name: &str,
        kind: CustomKind,
        labels: &[(&str, &str)],
    ) -> Result<Arc<CustomCell>, MetricsError> {
        let family = {
            let read = self
                .inner
                .custom
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            read.get(name).cloned()
        };
        let family = match family {
            Some(f) => f,
            None => {
                let mut w = self
                    .inner
                    .custom
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                match w.get(name) {
                    Some(f) => Arc::clone(f),
                    None => {
                        check_new_family(name, kind, w.iter().map(|(n, f)| (n.as_str(), f.kind)))?;
                        self.label_key(name, labels)?;
                        if self.inner.custom_series.load(Ordering::Relaxed)
                            >= self.inner.options.max_series
                        {
                            return Err(MetricsError::TooManySeries {
                                name: name.to_owned(),
                                max: self.inner.options.max_series,
                            });
                        }
                        let f = Arc::new(CustomFamily {
                            kind,
                            series: RwLock::default(),
                        });
                        w.insert(name.to_owned(), Arc::clone(&f));
                        f
                    }
                }
            }
        };
        if family.kind != kind {
            return Err(MetricsError::InvalidMetric {
                name: name.to_owned(),
                reason: format!(
                    "it is already a {} and cannot be recorded as a {}",
                    kind_name(family.kind),
                    kind_name(kind)
                ),
            });
        }
        let mut key: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        key.sort();
        if let Some(cell) = family
            .series
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Arc::clone(cell));
        }
        let key = self.label_key(name, labels)?;
        let mut w = family
            .series
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(cell) = w.get(&key) {
            return Ok(Arc::clone(cell));
        }
        // Reserve a place in the total first, so concurrent creators never overshoot it.
        let max = self.inner.options.max_series;
        if self
            .inner
            .custom_series
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .is_err()
        {
            return Err(MetricsError::TooManySeries {
                name: name.to_owned(),
                max,
            });
        }
        Ok(Arc::clone(w.entry(key).or_insert_with(|| {
            Arc::new(match kind {
                CustomKind::Histogram => {
                    CustomCell::Histogram(Mutex::new(Histo::new(LATENCY_BUCKETS)))
                }
                CustomKind::Counter | CustomKind::Gauge => {
                    CustomCell::Value(AtomicU64::new(0f64.to_bits()))
                }
            })
        })))
    }

    /// Adds `by` (≥ 0) to custom counter `name{labels}`. Prometheus shows it as
    /// `name_total` (a trailing `_total` in `name` is not doubled).
    ///
    /// # Errors
    /// [`MetricsError::InvalidMetric`] for a bad name or label, a negative or non-finite
    /// increment, or a name already used by another kind; [`MetricsError::TooManySeries`].
    pub fn counter(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        by: f64,
    ) -> Result<(), MetricsError> {
        if !(by.is_finite() && by >= 0.0) {
            return Err(MetricsError::InvalidMetric {
                name: name.to_owned(),
                reason: format!(
                    "a counter only goes up: the increment {by} must be a finite number ≥ 0"
                ),
            });
        }
        let name = custom_family_name(name, CustomKind::Counter);
        let handle = CounterHandle(self.custom_cell(name, CustomKind::Counter, labels)?);
        handle.inc_by(by);
        Ok(())
    }

    /// A handle on custom counter `name{labels}` that increments without any lookup.
    ///
    /// # Errors
    /// As [`Recorder::counter`].
    pub fn counter_handle(
        &self,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Result<CounterHandle, MetricsError> {
        let name = custom_family_name(name, CustomKind::Counter);
        Ok(CounterHandle(self.custom_cell(
            name,
            CustomKind::Counter,
            labels,
        )?))
    }

    /// Sets custom gauge `name{labels}` to `value`.
    ///
    /// # Errors
    /// As [`Recorder::counter`] (a non-finite value is refused).
    pub fn gauge(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) -> Result<(), MetricsError> {
        if !value.is_finite() {
            return Err(MetricsError::InvalidMetric {
                name: name.to_owned(),
                reason: format!("the value {value} is not a finite number"),
            });
        }
        if let CustomCell::Value(v) = &*self.custom_cell(name, CustomKind::Gauge, labels)? {
            v.store(value.to_bits(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Observes `value` (in base units, e.g. seconds) in custom histogram `name{labels}`.
    ///
    /// # Errors
    /// As [`Recorder::gauge`].
    pub fn histogram(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) -> Result<(), MetricsError> {
        if !value.is_finite() {
            return Err(MetricsError::InvalidMetric {
                name: name.to_owned(),
                reason: format!("the value {value} is not a finite number"),
            });
        }
        if let CustomCell::Histogram(h) = &*self.custom_cell(name, CustomKind::Histogram, labels)? {
            lock(h).observe(value);
        }
        Ok(())
    }

    /// Records one application [`Event`] as the matching recorder call, at the event's
    /// own timestamp when it has one. Events that carry no metrics (heartbeat, log,
    /// LiveKit) are not recorded here; their own subsystems handle them.
    ///
    /// # Errors
    /// [`MetricsError::InvalidMetric`] / [`MetricsError::TooManySeries`] for a custom
    /// gauge or counter that cannot be recorded.
    pub fn record(&self, event: &Event) -> Result<(), MetricsError> {
        let at = system_time(event.timestamp());
        match event {
            Event::Request(e) => self.request_at(
                Some(at),
                &e.endpoint,
                &e.method,
                e.status,
                e.latency_ms,
                e.request_bytes.unwrap_or(0),
                e.response_bytes.unwrap_or(0),
            ),
            Event::CallStarted(e) => self.call_started_at(at, &e.call_id),
            Event::CallEnded(e) => {
                self.call_ended_at(at, &e.call_id, e.duration_seconds, e.success);
            }
            Event::Error(e) => self.error_at(at, &e.kind, &e.message, &e.context),
            Event::VoiceQuality(e) => self.voice_at(
                at,
                &e.conversation_id,
                e.latency_ms,
                e.packet_loss,
                e.jitter_ms,
                e.mos,
            ),
            Event::AiUsage(e) => self.ai_at(
                at,
                &e.provider,
                &e.service,
                &e.model,
                e.units,
                e.cost_usd,
                e.latency_ms,
            ),
            Event::Gauge(e) => self.gauge(&e.name, &label_pairs(&e.labels), e.value)?,
            Event::Counter(e) => self.counter(&e.name, &label_pairs(&e.labels), e.value)?,
            Event::Heartbeat(_) | Event::Log(_) | Event::Livekit(_) => {}
        }
        Ok(())
    }

    /// The slow requests kept, oldest first.
    pub fn slow_requests(&self) -> Vec<SlowRequest> {
        lock(&self.inner.slow).iter().cloned().collect()
    }

    /// The recent errors kept, oldest first.
    pub fn recent_errors(&self) -> Vec<ErrorRecord> {
        lock(&self.inner.errors).recent.iter().cloned().collect()
    }

    /// Request statistics of `window`, overall and per endpoint.
    pub fn request_stats(&self, window: Window) -> (WindowStats, BTreeMap<String, WindowStats>) {
        let now = current_slot();
        let endpoints: Vec<(String, Arc<Mutex<EndpointState>>)> = self
            .inner
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
}

/// Records the time from its creation to its drop as operation `name`'s duration.
#[derive(Debug)]
#[must_use = "the timer records when it is dropped; bind it with `let _timer = ...`"]
pub struct PerfTimer {
    recorder: Recorder,
    name: String,
    started: Instant,
    done: bool,
}

impl PerfTimer {
    /// Stops the timer now and returns the measured duration.
    pub fn stop(mut self) -> Duration {
        self.finish()
    }

    fn finish(&mut self) -> Duration {
        let elapsed = self.started.elapsed();
        if !self.done {
            self.done = true;
            self.recorder.record_duration(&self.name, elapsed);
        }
        elapsed
    }
}

impl Drop for PerfTimer {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A custom counter series, incremented without a lookup (one atomic operation).
#[derive(Debug, Clone)]
pub struct CounterHandle(Arc<CustomCell>);

impl CounterHandle {
    /// Adds `by`; a negative or non-finite increment is ignored.
    pub fn inc_by(&self, by: f64) {
        if !(by.is_finite() && by >= 0.0) {
            return;
        }
        if let CustomCell::Value(v) = &*self.0 {
            let _ = v.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + by).to_bits())
            });
        }
    }

    /// The current total.
    pub fn get(&self) -> f64 {
        match &*self.0 {
            CustomCell::Value(v) => f64::from_bits(v.load(Ordering::Relaxed)),
            CustomCell::Histogram(_) => 0.0,
        }
    }
}
