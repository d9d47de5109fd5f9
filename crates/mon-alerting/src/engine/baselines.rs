//! The engine's anomaly baselines ([`crate::anomaly`]): learned during evaluation,
//! kept in the store every [`KEEP_EVERY`] (and when the loop stops), restored at start,
//! and read by the API to draw a variable's band.

use super::AlertEngine;
use crate::anomaly::{Baseline, Baselines, KEPT_BASELINE};
use chrono::{DateTime, TimeDelta, Utc};
use mon_store::{Store, WriteBatch};

/// How often learned baselines are written to the store: a crash loses at most this
/// much learning.
pub const KEEP_EVERY: TimeDelta = TimeDelta::minutes(5);

/// Baselines kept in the store, or none (logged) when they cannot be read.
pub(super) fn load(store: &Store, baselines: &mut Baselines) {
    match store.kept_states_blocking(KEPT_BASELINE) {
        Ok(rows) => baselines.restore(rows),
        Err(e) => {
            tracing::error!(error = %e, "anomaly baselines could not be restored; they learn afresh")
        }
    }
}

impl AlertEngine {
    /// The baseline of `variable`, if it has one (a copy: it goes on learning).
    pub fn baseline(&self, variable: &str) -> Option<Baseline> {
        self.lock().baselines.get(variable).cloned()
    }

    /// Whether `variable` can have a baseline: a catalog variable, or a custom one a
    /// rule reads with `anomaly()`.
    pub fn watches_baseline(&self, variable: &str) -> bool {
        self.lock().baselines.is_watched(variable)
    }

    /// Writes the baselines to the store when [`KEEP_EVERY`] has passed since the last
    /// write (always with `force`) and something was learned since. Without a store:
    /// nothing.
    pub async fn keep_baselines(&self, now: DateTime<Utc>, force: bool) {
        let Some(store) = &self.store else {
            return;
        };
        let kept = {
            let mut inner = self.lock();
            let due = inner
                .baselines_kept_at
                .is_none_or(|at| now.signed_duration_since(at) >= KEEP_EVERY);
            if !(due || force) {
                return;
            }
            inner.baselines_kept_at = Some(now);
            inner.baselines.kept(now)
        };
        if kept.is_empty() {
            return;
        }
        if let Err(e) = store.write(WriteBatch::from_kept(kept)).await {
            tracing::warn!(error = %e, "anomaly baselines could not be saved; retried at the next write");
        }
    }
}
