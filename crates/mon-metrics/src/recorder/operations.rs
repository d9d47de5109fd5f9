//! Timed operations: a series per operation name (what [`OperationTimer`] and
//! [`Recorder::record_duration`] record) and `mon_app_operation_duration_seconds`.
//!
//! Not to be confused with `mon_logging::perf_timer`, which writes a duration to the
//! performance log stream; this one feeds a Prometheus histogram.

use super::{Histo, LATENCY_BUCKETS, OVERFLOW_LABEL, Recorder, SeriesMap};
use super::{bounded, lock, ms, with_series};
use crate::report::histogram;
use crate::window::{Ring, current_slot};
use mon_core::LabelValue;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

/// One timed operation.
#[derive(Debug)]
struct OpState {
    ring: Ring,
    duration: Histo,
}

/// The operations' state: a series per name, each behind its own lock.
#[derive(Debug, Default)]
pub(crate) struct Operations(SeriesMap<String, OpState>);

impl Operations {
    /// The `mon_app_operation_duration_seconds` family.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let ops: Vec<_> = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), lock(v).duration.clone()))
            .collect();
        let mut f = encoder.encode_descriptor(
            "mon_app_operation_duration_seconds",
            "Duration of operations timed with operation_timer, in seconds",
            None,
            MetricType::Histogram,
        )?;
        for (op, h) in &ops {
            histogram(
                &mut f.encode_family(&[("operation", LabelValue(op.as_str()))])?,
                h,
            )?;
        }
        Ok(())
    }
}

impl Recorder {
    /// A timer for operation `name`: its duration is recorded when the guard is dropped
    /// (or [`OperationTimer::stop`] is called), as `mon_app_operation_duration_seconds`.
    pub fn operation_timer(&self, name: &str) -> OperationTimer {
        OperationTimer {
            recorder: self.clone(),
            name: name.to_owned(),
            started: Instant::now(),
            done: false,
        }
    }

    /// Records that operation `name` took `duration` (what [`OperationTimer`] does on drop).
    pub fn record_duration(&self, name: &str, duration: Duration) {
        let options = &self.inner.options;
        let name = bounded(name, options.max_label_value_bytes);
        let now = current_slot();
        with_series(
            &self.inner.operations.0,
            name,
            options.max_series,
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
}

/// Records the time from its creation ([`Recorder::operation_timer`]) to its drop as
/// operation `name`'s duration in `mon_app_operation_duration_seconds`.
#[derive(Debug)]
#[must_use = "the timer records when it is dropped; bind it with `let _timer = ...`"]
pub struct OperationTimer {
    recorder: Recorder,
    name: String,
    started: Instant,
    done: bool,
}

impl OperationTimer {
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

impl Drop for OperationTimer {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use crate::{Recorder, encode_openmetrics};
    use prometheus_client::registry::Registry;
    use std::time::Duration;

    #[test]
    fn operation_timer_records_on_drop_and_stop() {
        let rec = Recorder::default();
        {
            let _t = rec.operation_timer("stt");
        }
        let d = rec.operation_timer("stt").stop();
        assert!(d < Duration::from_secs(60));
        let mut registry = Registry::default();
        rec.register(&mut registry);
        let text = encode_openmetrics(&registry).expect("encodes");
        assert!(
            text.contains("mon_app_operation_duration_seconds_count{operation=\"stt\"} 2"),
            "{text}"
        );
    }
}
