//! Custom metrics: counters, gauges and histograms named by the application, their
//! validation (names, collisions between families, label names and value lengths, the
//! series limit over every name), the rule variables they publish
//! (`alerting.custom_variables`) and their exposition.
//!
//! The three kinds share one path: [`CustomKind`] says what differs (the family name, the
//! values it takes, the names it shows), [`Recorder::record_custom`] finds or creates the
//! series and [`CustomCell::record`] applies the value.

use super::{Histo, LATENCY_BUCKETS, Recorder, lock, validate_label_name, validate_name};
use crate::MetricsError;
use crate::report::{Published, counter_f64, histogram};
use mon_core::{CounterEvent, Event, GaugeEvent, LabelValue};
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder};
use prometheus_client::metrics::MetricType;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

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

impl CustomKind {
    /// The kind as messages and the exposition name it.
    fn as_str(self) -> &'static str {
        match self {
            CustomKind::Counter => "counter",
            CustomKind::Gauge => "gauge",
            CustomKind::Histogram => "histogram",
        }
    }

    /// The family name of a metric `name` of this kind: a counter's name without a
    /// trailing `_total`.
    fn family_name(self, name: &str) -> &str {
        match self {
            CustomKind::Counter => name.strip_suffix("_total").unwrap_or(name),
            CustomKind::Gauge | CustomKind::Histogram => name,
        }
    }

    /// The names a family `name` of this kind takes in an exposition: its own and its
    /// samples'.
    fn exposed_names(self, name: &str) -> Vec<String> {
        let suffixes: &[&str] = match self {
            CustomKind::Counter => &["", "_total", "_created"],
            CustomKind::Gauge => &[""],
            CustomKind::Histogram => &["", "_bucket", "_sum", "_count", "_created"],
        };
        suffixes.iter().map(|s| format!("{name}{s}")).collect()
    }

    /// Its type and help text in an exposition.
    fn descriptor(self) -> (MetricType, &'static str) {
        match self {
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
        }
    }

    /// Refuses a value metric `name` of this kind cannot take: a non-finite one, and for a
    /// counter a negative increment.
    fn check_value(self, name: &str, value: f64) -> Result<(), MetricsError> {
        let reason = match self {
            CustomKind::Counter if !(value.is_finite() && value >= 0.0) => {
                format!("a counter only goes up: the increment {value} must be a finite number ≥ 0")
            }
            _ if !value.is_finite() => format!("the value {value} is not a finite number"),
            CustomKind::Counter | CustomKind::Gauge | CustomKind::Histogram => return Ok(()),
        };
        Err(MetricsError::InvalidMetric {
            name: name.to_owned(),
            reason,
        })
    }

    /// A new, empty series of this kind.
    fn new_cell(self) -> CustomCell {
        match self {
            CustomKind::Counter => CustomCell::Counter(AtomicU64::new(0f64.to_bits())),
            CustomKind::Gauge => CustomCell::Gauge(AtomicU64::new(0f64.to_bits())),
            CustomKind::Histogram => CustomCell::Histogram(Mutex::new(Histo::new(LATENCY_BUCKETS))),
        }
    }
}

/// The value cell of one custom series; its variant is its family's kind.
#[derive(Debug)]
pub(crate) enum CustomCell {
    /// An `f64` stored as bits, added to with a compare-and-swap loop.
    Counter(AtomicU64),
    /// An `f64` stored as bits, replaced by each value.
    Gauge(AtomicU64),
    Histogram(Mutex<Histo>),
}

impl CustomCell {
    /// Records `value` (already checked by [`CustomKind::check_value`]): a counter adds
    /// it, a gauge takes it, a histogram observes it.
    fn record(&self, value: f64) {
        match self {
            CustomCell::Counter(v) => {
                let _ = v.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                    Some((f64::from_bits(bits) + value).to_bits())
                });
            }
            CustomCell::Gauge(v) => v.store(value.to_bits(), Ordering::Relaxed),
            CustomCell::Histogram(h) => lock(h).observe(value),
        }
    }

    /// The current value of a counter or gauge; `None` for a histogram.
    fn value(&self) -> Option<f64> {
        match self {
            CustomCell::Counter(v) | CustomCell::Gauge(v) => {
                Some(f64::from_bits(v.load(Ordering::Relaxed)))
            }
            CustomCell::Histogram(_) => None,
        }
    }

    /// Writes the series' samples.
    fn encode(&self, enc: &mut MetricEncoder<'_>) -> std::fmt::Result {
        match self {
            CustomCell::Counter(v) => counter_f64(enc, f64::from_bits(v.load(Ordering::Relaxed))),
            CustomCell::Gauge(v) => enc.encode_gauge(&f64::from_bits(v.load(Ordering::Relaxed))),
            CustomCell::Histogram(h) => histogram(enc, &lock(h)),
        }
    }
}

/// A custom series' labels, sorted by name.
pub(crate) type LabelPairs = Vec<(String, String)>;

/// A custom metric: its kind and its series by label set.
#[derive(Debug)]
pub(crate) struct CustomFamily {
    pub(crate) kind: CustomKind,
    pub(crate) series: RwLock<HashMap<LabelPairs, Arc<CustomCell>>>,
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
            kind.as_str()
        )));
    }
    let mine = kind.exposed_names(name);
    for (other, other_kind) in existing {
        if other == name && other_kind != kind {
            return Err(invalid(format!(
                "it is already a {} and cannot be recorded as a {}",
                other_kind.as_str(),
                kind.as_str()
            )));
        }
        let theirs = other_kind.exposed_names(other);
        if let Some(clash) = mine.iter().find(|n| theirs.contains(n)) {
            return Err(invalid(format!(
                "its series {clash} would collide with the {} {other:?}; two metrics cannot share a name",
                other_kind.as_str()
            )));
        }
    }
    Ok(())
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

/// The custom families, and the number of series in all of them (bounded by
/// `max_series`).
#[derive(Debug, Default)]
pub(crate) struct Custom {
    families: RwLock<BTreeMap<String, Arc<CustomFamily>>>,
    series: AtomicUsize,
}

impl Custom {
    /// The family called `name`, if there is one.
    fn family(&self, name: &str) -> Option<Arc<CustomFamily>> {
        self.families
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// The families by name, taken out of the lock.
    fn families(&self) -> Vec<(String, Arc<CustomFamily>)> {
        self.families
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, family)| (name.clone(), Arc::clone(family)))
            .collect()
    }

    /// The custom gauges and counters as rule variables (`alerting.custom_variables`):
    /// each under its name — a counter also as `<name>_total` — with the sum of its
    /// series over every label set. A name the catalog documents stays its built-in
    /// producer's.
    pub(crate) fn publish(&self, out: &mut Published) {
        for (name, family) in self.families() {
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
                .filter_map(|cell| cell.value())
                .sum();
            for name in names {
                if sum.is_finite() && crate::catalog::lookup(&name).is_none() {
                    out.insert(name, sum);
                }
            }
        }
    }

    /// The custom families, as the application named them.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        for (name, family) in self.families() {
            let (metric_type, help) = family.kind.descriptor();
            let series: Vec<_> = family
                .series
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|(k, v)| (k.clone(), Arc::clone(v)))
                .collect();
            let mut f = encoder.encode_descriptor(&name, help, None, metric_type)?;
            for (labels, cell) in series {
                if labels.is_empty() {
                    cell.encode(&mut f)?;
                } else {
                    let labels: Vec<(&str, LabelValue<&str>)> = labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), LabelValue(v.as_str())))
                        .collect();
                    cell.encode(&mut f.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}

impl Recorder {
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
        let name = kind.family_name(name);
        let family = self.inner.custom.family(name);
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
                        .families
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
        let total = self.inner.custom.series.load(Ordering::Relaxed) + batch.series.len();
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

    /// The cell of custom series `name{labels}` (`name` a family name) of kind `kind`,
    /// created on first use.
    fn custom_cell(
        &self,
        name: &str,
        kind: CustomKind,
        labels: &[(&str, &str)],
    ) -> Result<Arc<CustomCell>, MetricsError> {
        let family = match self.inner.custom.family(name) {
            Some(f) => f,
            None => {
                let mut w = self
                    .inner
                    .custom
                    .families
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                match w.get(name) {
                    Some(f) => Arc::clone(f),
                    None => {
                        check_new_family(name, kind, w.iter().map(|(n, f)| (n.as_str(), f.kind)))?;
                        self.label_key(name, labels)?;
                        if self.inner.custom.series.load(Ordering::Relaxed)
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
            check_new_family(name, kind, [(name, family.kind)])?;
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
            .custom
            .series
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
        Ok(Arc::clone(
            w.entry(key).or_insert_with(|| Arc::new(kind.new_cell())),
        ))
    }

    /// Records `value` in custom `kind` `name{labels}`: the one path of
    /// [`Recorder::counter`], [`Recorder::gauge`] and [`Recorder::histogram`].
    fn record_custom(
        &self,
        kind: CustomKind,
        name: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) -> Result<(), MetricsError> {
        kind.check_value(name, value)?;
        self.custom_cell(kind.family_name(name), kind, labels)?
            .record(value);
        Ok(())
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
        self.record_custom(CustomKind::Counter, name, labels, by)
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
        let kind = CustomKind::Counter;
        let cell = self.custom_cell(kind.family_name(name), kind, labels)?;
        Ok(CounterHandle(cell))
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
        self.record_custom(CustomKind::Gauge, name, labels, value)
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
        self.record_custom(CustomKind::Histogram, name, labels, value)
    }

    /// Checks a batch's custom metric events (gauges and counters) as
    /// [`Recorder::check_custom`] does, in order, each seeing the families and series of
    /// those before it, and returns the indexes of those that would create a series
    /// beyond `max_series` (they can be dropped; the rest of the batch fits).
    ///
    /// # Errors
    /// The index of the first event that cannot be recorded (a bad or colliding name or
    /// label), and why.
    pub fn admit_custom(&self, events: &[Event]) -> Result<Vec<usize>, (usize, MetricsError)> {
        let mut batch = CustomBatch::default();
        let mut over = Vec::new();
        for (i, event) in events.iter().enumerate() {
            let (name, kind, labels) = match event {
                Event::Gauge(e) => (&e.name, CustomKind::Gauge, &e.labels),
                Event::Counter(e) => (&e.name, CustomKind::Counter, &e.labels),
                Event::Request(_)
                | Event::CallStarted(_)
                | Event::CallEnded(_)
                | Event::Error(_)
                | Event::VoiceQuality(_)
                | Event::AiUsage(_)
                | Event::Heartbeat(_)
                | Event::Log(_)
                | Event::Livekit(_)
                | Event::Auth(_)
                | Event::Security(_)
                | Event::Deployment(_)
                | Event::Session(_)
                | Event::Feedback(_)
                | Event::Feature(_) => continue,
            };
            match self.check_custom(&mut batch, name, kind, &label_pairs(labels)) {
                Ok(CustomAdmission::Fits) => {}
                Ok(CustomAdmission::OverSeriesLimit) => over.push(i),
                Err(e) => return Err((i, e)),
            }
        }
        Ok(over)
    }

    /// Sets an ingested [`GaugeEvent`].
    ///
    /// # Errors
    /// As [`Recorder::gauge`].
    pub fn record_gauge(&self, e: &GaugeEvent) -> Result<(), MetricsError> {
        self.gauge(&e.name, &label_pairs(&e.labels), e.value)
    }

    /// Adds an ingested [`CounterEvent`].
    ///
    /// # Errors
    /// As [`Recorder::counter`].
    pub fn record_counter(&self, e: &CounterEvent) -> Result<(), MetricsError> {
        self.counter(&e.name, &label_pairs(&e.labels), e.value)
    }
}

/// A custom event's labels as the recorder takes them.
fn label_pairs(labels: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
    labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// A custom counter series, incremented without a lookup (one atomic operation).
#[derive(Debug, Clone)]
pub struct CounterHandle(Arc<CustomCell>);

impl CounterHandle {
    /// Adds `by`; a negative or non-finite increment is ignored.
    pub fn inc_by(&self, by: f64) {
        if CustomKind::Counter.check_value("", by).is_ok() {
            self.0.record(by);
        }
    }

    /// The current total.
    pub fn get(&self) -> f64 {
        self.0.value().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CustomAdmission, CustomBatch, RecorderOptions};

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

    /// Each kind through the one path: a counter adds, a gauge keeps the last value, a
    /// histogram observes; the rule variables and the exposition show each as its kind.
    #[test]
    fn each_kind_records_as_its_kind() {
        let rec = Recorder::default();
        let labels: &[(&str, &str)] = &[("k", "v")];
        for value in [1.0, 2.5] {
            rec.counter("retries_total", labels, value)
                .expect("counter");
            rec.gauge("queue", labels, value).expect("gauge");
            rec.histogram("wait_seconds", labels, value)
                .expect("histogram");
        }
        let values = rec.snapshot_values();
        for (name, want) in [("retries", 3.5), ("retries_total", 3.5), ("queue", 2.5)] {
            assert_eq!(values.get(name), Some(&want), "{name}: {values:?}");
        }
        assert!(!values.contains_key("wait_seconds"), "{values:?}");
        let mut registry = prometheus_client::registry::Registry::default();
        rec.register(&mut registry);
        let text = crate::encode_openmetrics(&registry).expect("encodes");
        for line in [
            "# TYPE retries counter",
            "retries_total{k=\"v\"} 3.5",
            "# TYPE queue gauge",
            "queue{k=\"v\"} 2.5",
            "# TYPE wait_seconds histogram",
            "wait_seconds_count{k=\"v\"} 2",
            "wait_seconds_sum{k=\"v\"} 3.5",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
        // A value the kind cannot take changes nothing.
        assert!(rec.counter("retries", labels, -1.0).is_err());
        assert!(
            rec.histogram("wait_seconds", labels, f64::INFINITY)
                .is_err()
        );
        let again = rec.snapshot_values();
        assert_eq!(again.get("retries"), Some(&3.5));
    }

    /// Two families whose expositions share a name are refused, whichever comes first,
    /// by the recorder and by a batch check alike.
    #[test]
    fn colliding_custom_families_are_refused() {
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

    /// A batch's custom events: the first bad one is refused by index, those over the
    /// series limit are listed, the others fit.
    #[test]
    fn a_batch_of_events_is_admitted_by_index() {
        let rec = Recorder::new(RecorderOptions {
            max_series: 2,
            ..RecorderOptions::default()
        });
        let events: Vec<Event> = [
            serde_json::json!({"type":"call_started","call_id":"c"}),
            serde_json::json!({"type":"gauge","name":"a","value":1.0}),
            serde_json::json!({"type":"counter","name":"b"}),
            serde_json::json!({"type":"gauge","name":"c","value":1.0}),
            serde_json::json!({"type":"gauge","name":"a","value":2.0}),
        ]
        .into_iter()
        .map(|v| serde_json::from_value(v).expect("event"))
        .collect();
        assert_eq!(rec.admit_custom(&events).expect("valid"), vec![3]);
        let clash: Vec<Event> = [
            serde_json::json!({"type":"gauge","name":"q","value":1.0}),
            serde_json::json!({"type":"counter","name":"q"}),
        ]
        .into_iter()
        .map(|v| serde_json::from_value(v).expect("event"))
        .collect();
        let (index, err) = rec.admit_custom(&clash).expect_err("collision");
        assert_eq!(index, 1);
        assert!(err.to_string().contains("already a gauge"), "{err}");
    }

    #[test]
    fn a_batch_check_counts_new_series_against_the_total() {
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
}
