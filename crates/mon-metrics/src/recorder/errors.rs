//! Application errors: counts by kind, a rolling window, the most recent ones, their
//! rule variables (`total_errors`, `errors_per_minute`) and `mon_app_errors`.

use super::{OVERFLOW_LABEL, Recorder, RecorderOptions, bounded, lock, system_time};
use crate::report::{Published, WindowReport, counter_u64};
use crate::vars;
use crate::window::{Ring, Window, current_slot, slot_of};
use chrono::{DateTime, Utc};
use mon_core::{ErrorEvent, LabelValue};
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::SystemTime;

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

#[derive(Debug, Default)]
struct ErrorState {
    ring: Ring,
    by_kind: BTreeMap<String, u64>,
    recent: VecDeque<ErrorRecord>,
}

/// The errors' state, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Errors(Mutex<ErrorState>);

impl Errors {
    fn record(
        &self,
        options: &RecorderOptions,
        at: SystemTime,
        kind: &str,
        message: &str,
        context: &BTreeMap<String, serde_json::Value>,
    ) {
        let now = current_slot();
        let (max, keep) = (options.max_series, options.keep_recent);
        let kind = bounded(kind, options.max_label_value_bytes);
        let mut errors = lock(&self.0);
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

    /// Fills the error statistics of `window` into `w`.
    pub(crate) fn window(&self, now: u64, window: Window, w: &mut WindowReport) {
        w.errors = lock(&self.0).ring.stats(now, window);
    }

    /// Error counts by kind, since mon started.
    pub(crate) fn by_kind(&self) -> BTreeMap<String, u64> {
        lock(&self.0).by_kind.clone()
    }

    /// The recent errors kept, oldest first.
    pub(crate) fn recent(&self) -> Vec<ErrorRecord> {
        lock(&self.0).recent.iter().cloned().collect()
    }

    /// The error variables of `w`.
    pub(crate) fn publish(&self, w: &WindowReport, out: &mut Published) {
        let total: u64 = lock(&self.0).by_kind.values().sum();
        out.put(vars::TOTAL_ERRORS, Some(total as f64));
        out.put(vars::ERRORS_PER_MINUTE, Some(w.errors.rate_per_min));
    }

    /// The `mon_app_errors` family.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let by_kind = self.by_kind();
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
        Ok(())
    }
}

impl Recorder {
    /// Records an application error of class `kind`.
    pub fn record_error(
        &self,
        kind: &str,
        message: &str,
        context: &BTreeMap<String, serde_json::Value>,
    ) {
        self.inner.errors.record(
            &self.inner.options,
            SystemTime::now(),
            kind,
            message,
            context,
        );
    }

    /// Records an ingested [`ErrorEvent`], at its own timestamp when it has one.
    pub fn record_error_event(&self, e: &ErrorEvent) {
        let at = system_time(e.timestamp);
        self.inner
            .errors
            .record(&self.inner.options, at, &e.kind, &e.message, &e.context);
    }

    /// The recent errors kept, oldest first.
    pub fn recent_errors(&self) -> Vec<ErrorRecord> {
        self.inner.errors.recent()
    }
}
