//! Calls: the active set, rolling windows of starts and ends, cumulative counters, their
//! rule variables (`active_calls`, `call_success_rate`...) and the `mon_app_call*` families.

use super::{Histo, Recorder, RecorderOptions, lock, system_time};
use crate::report::{Published, WindowReport, counter_u64, histogram};
use crate::vars;
use crate::window::{Ring, Window, current_slot, slot_of};
use mon_core::{CallEndedEvent, CallStartedEvent, LabelValue};
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Upper bounds of the call duration histogram, in seconds.
const CALL_BUCKETS: &[f64] = &[5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];

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

#[derive(Debug, Default)]
struct CallState {
    active: HashMap<String, SystemTime>,
    started: Ring,
    /// Durations (seconds) of ended calls; a failed call is a failure.
    ended: Ring,
    started_total: u64,
    succeeded_total: u64,
    failed_total: u64,
    duration: Option<Histo>,
}

/// The calls' state, behind one lock (one event per call: far rarer than requests).
#[derive(Debug, Default)]
pub(crate) struct Calls(Mutex<CallState>);

impl Calls {
    fn started(&self, options: &RecorderOptions, at: SystemTime, call_id: &str) {
        let now = current_slot();
        let mut calls = lock(&self.0);
        calls.started.record(slot_of(at), now, 1.0, false);
        calls.started_total += 1;
        // A call that never ends must not grow the set forever.
        if calls.active.len() < options.max_series.saturating_mul(100) {
            calls.active.insert(call_id.to_owned(), at);
        }
    }

    fn ended(&self, at: SystemTime, call_id: &str, seconds: f64, success: bool) {
        let now = current_slot();
        let mut calls = lock(&self.0);
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

    /// Fills the call statistics of `window` into `w`.
    pub(crate) fn window(&self, now: u64, window: Window, w: &mut WindowReport) {
        let calls = lock(&self.0);
        w.calls_started = calls.started.stats(now, window);
        w.calls_ended = calls.ended.stats(now, window);
    }

    pub(crate) fn totals(&self) -> CallTotals {
        let calls = lock(&self.0);
        CallTotals {
            total_calls: calls.started_total,
            active_calls: calls.active.len() as u64,
            successful_calls: calls.succeeded_total,
            failed_calls: calls.failed_total,
        }
    }

    /// The call variables of `w`.
    pub(crate) fn publish(&self, w: &WindowReport, out: &mut Published) {
        let totals = self.totals();
        out.put(vars::ACTIVE_CALLS, Some(totals.active_calls as f64));
        out.put(vars::TOTAL_CALLS, Some(totals.total_calls as f64));
        out.put(vars::SUCCESSFUL_CALLS, Some(totals.successful_calls as f64));
        out.put(vars::FAILED_CALLS, Some(totals.failed_calls as f64));
        let ended = &w.calls_ended;
        out.put(
            vars::CALL_SUCCESS_RATE,
            (ended.count > 0).then(|| ended.success_percent / 100.0),
        );
        out.put(vars::AVG_CALL_DURATION_SECONDS, ended.avg);
        out.put(vars::CALLS_PER_MINUTE, Some(w.calls_started.rate_per_min));
    }

    /// The `mon_app_call*` families.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let totals = self.totals();
        let call_duration = lock(&self.0).duration.clone();
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
        Ok(())
    }
}

impl Recorder {
    /// Records that call `call_id` began.
    pub fn call_started(&self, call_id: &str) {
        self.inner
            .calls
            .started(&self.inner.options, SystemTime::now(), call_id);
    }

    /// Records an ingested [`CallStartedEvent`], at its own timestamp when it has one.
    pub fn record_call_started(&self, e: &CallStartedEvent) {
        let at = system_time(e.timestamp);
        self.inner
            .calls
            .started(&self.inner.options, at, &e.call_id);
    }

    /// Records that call `call_id` ended after `duration`, successfully or not.
    pub fn call_ended(&self, call_id: &str, duration: Duration, success: bool) {
        self.inner
            .calls
            .ended(SystemTime::now(), call_id, duration.as_secs_f64(), success);
    }

    /// Records an ingested [`CallEndedEvent`], at its own timestamp when it has one.
    pub fn record_call_ended(&self, e: &CallEndedEvent) {
        let at = system_time(e.timestamp);
        self.inner
            .calls
            .ended(at, &e.call_id, e.duration_seconds, e.success);
    }

    /// The cumulative call counters.
    pub fn call_totals(&self) -> CallTotals {
        self.inner.calls.totals()
    }
}
