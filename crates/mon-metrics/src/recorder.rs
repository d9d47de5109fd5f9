//! [`Recorder`]: the application recorders and their rolling windows, one module per
//! kind of data — `requests`, `calls`, `errors`, `voice`, `ai`,
//! `operations` (timers), `custom` metrics, `security` (auth and security events) and
//! `experience` (sessions, feedback, feature use) — each owning its state, its
//! recording, its part of the report and rule variables, and its exposition. The
//! `Recorder` composes them and [`Recorder::record`] dispatches an [`Event`] to its kind.
//!
//! Concurrency: every series (an endpoint, an AI provider/service/model, an operation, a
//! custom label set) has its own small lock; a record takes a *shared* read lock on the
//! series map (exclusive only the first time a series appears) and that series' lock.
//! There is no global lock on the request hot path, except for requests that name a
//! principal or a client address, which also take the security lock (one short update
//! of bounded maps). Calls, errors, voice quality and security events —
//! orders of magnitude rarer than requests — share one lock per kind.

mod ai;
mod calls;
mod custom;
mod errors;
mod experience;
mod operations;
mod requests;
mod security;
mod sources;
mod voice;

pub use calls::CallTotals;
pub use custom::{CounterHandle, CustomAdmission, CustomBatch, CustomKind};
pub use errors::ErrorRecord;
pub use experience::{ExperienceBreakdown, LATENCY_BANDS, MOS_BANDS, NO_CATEGORY};
pub use operations::OperationTimer;
pub use requests::SlowRequest;
pub use security::{SecurityConfig, SecurityRow, SecuritySummary, Totals as SecurityTotals};
pub use sources::MAX_SOURCES;

use crate::MetricsError;
use crate::window::Window;
use chrono::{DateTime, Utc};
use mon_core::Event;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

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
    /// What is computed from auth and security events (`security:`).
    pub security: SecurityConfig,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            slow_request_threshold: Duration::from_secs(1),
            rule_window: Window::FiveMinutes,
            keep_recent: 100,
            max_series: 1000,
            max_label_value_bytes: 256,
            security: SecurityConfig::default(),
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

/// Series keyed by name, each behind its own lock.
pub(crate) type SeriesMap<K, V> = RwLock<HashMap<K, Arc<Mutex<V>>, foldhash::fast::RandomState>>;

/// The shared state of a [`Recorder`]: one part per kind.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) options: RecorderOptions,
    pub(crate) requests: requests::Requests,
    pub(crate) calls: calls::Calls,
    pub(crate) errors: errors::Errors,
    pub(crate) voice: voice::Voice,
    pub(crate) experience: experience::Experience,
    pub(crate) ai: ai::Ai,
    pub(crate) operations: operations::Operations,
    pub(crate) custom: custom::Custom,
    pub(crate) security: security::Security,
    /// LiveKit activity: webhooks and applications' room-creation errors.
    pub(crate) livekit: crate::LivekitMetrics,
    /// The recorders of labelled ingest sources (`?source=`), kept apart.
    pub(crate) sources: sources::Sources,
    /// Notified by [`Recorder::record`]: wakes [`spawn_publisher`](crate::spawn_publisher).
    pub(crate) changed: Arc<tokio::sync::Notify>,
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
///     let _timer = rec.operation_timer("stt_transcribe"); // recorded when dropped
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

impl Recorder {
    /// A recorder with nothing recorded yet.
    pub fn new(options: RecorderOptions) -> Recorder {
        Recorder {
            inner: Arc::new(Inner {
                security: security::Security::new(options.security.clone()),
                livekit: crate::LivekitMetrics::new(options.rule_window),
                options,
                requests: Default::default(),
                calls: Default::default(),
                errors: Default::default(),
                voice: Default::default(),
                experience: Default::default(),
                ai: Default::default(),
                operations: Default::default(),
                custom: Default::default(),
                sources: Default::default(),
                changed: Default::default(),
            }),
        }
    }

    /// The options it was built with.
    pub fn options(&self) -> &RecorderOptions {
        &self.inner.options
    }

    /// The LiveKit activity recorded beside the application's (webhooks, room-creation
    /// errors): a labelled source's are its own, like its other figures. The sampler
    /// stores their variables as series; publishing them to the snapshot and
    /// registering their counters for `/metrics` is the owner's choice.
    pub fn livekit(&self) -> &crate::LivekitMetrics {
        &self.inner.livekit
    }

    /// Records one application [`Event`] with its kind's recorder call, at the event's
    /// own timestamp when it has one. Events that carry no metrics (heartbeat, log,
    /// LiveKit, deployment) are not recorded here; their own subsystems handle them. Wakes
    /// [`spawn_publisher`](crate::spawn_publisher), which publishes the change soon after.
    ///
    /// # Errors
    /// [`MetricsError::InvalidMetric`] / [`MetricsError::TooManySeries`] for a custom
    /// gauge or counter that cannot be recorded.
    pub fn record(&self, event: &Event) -> Result<(), MetricsError> {
        let recorded = self.record_event(event);
        self.inner.changed.notify_one();
        recorded
    }

    fn record_event(&self, event: &Event) -> Result<(), MetricsError> {
        match event {
            Event::Request(e) => {
                self.record_request(e);
                self.record_request_security(e);
            }
            Event::CallStarted(e) => self.record_call_started(e),
            Event::CallEnded(e) => self.record_call_ended(e),
            Event::Error(e) => self.record_error_event(e),
            Event::VoiceQuality(e) => self.record_voice_quality(e),
            Event::AiUsage(e) => self.record_ai_usage(e),
            Event::Gauge(e) => self.record_gauge(e)?,
            Event::Counter(e) => self.record_counter(e)?,
            Event::Auth(e) => self.record_auth(e),
            Event::Security(e) => self.record_security(e),
            Event::Session(e) => self.record_session(e),
            Event::Feedback(e) => self.record_feedback(e),
            Event::Feature(e) => self.record_feature(e),
            Event::Heartbeat(_) | Event::Log(_) | Event::Livekit(_) | Event::Deployment(_) => {}
        }
        Ok(())
    }
}
