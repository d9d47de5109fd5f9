//! Rolling windows of 1, 5 and 15 minutes: a ring of 5-second slots, each with a count,
//! a failure count, a sum and a DDSketch of the values, merged on demand.
//!
//! Recording touches one slot (no sorting, no allocation once the slot's sketch exists);
//! reading merges the slots of the window into one sketch, so p50/p95/p99 carry the
//! sketch's relative error (1 %) instead of the cost of keeping every sample.

use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config as SketchConfig, DDSketch};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The length of one slot, in seconds.
pub(crate) const SLOT_SECONDS: u64 = 5;
/// Slots kept: enough for the longest window.
const SLOTS: usize = (15 * 60 / SLOT_SECONDS) as usize;

/// A rolling window length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Window {
    /// The last minute.
    #[serde(rename = "1m")]
    OneMinute,
    /// The last five minutes.
    #[serde(rename = "5m")]
    FiveMinutes,
    /// The last fifteen minutes.
    #[serde(rename = "15m")]
    FifteenMinutes,
}

impl Window {
    /// Every window, shortest first.
    pub const ALL: [Window; 3] = [
        Window::OneMinute,
        Window::FiveMinutes,
        Window::FifteenMinutes,
    ];

    /// How long the window is.
    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Window::OneMinute => 60,
            Window::FiveMinutes => 300,
            Window::FifteenMinutes => 900,
        })
    }

    /// Its name in JSON and config: `1m`, `5m` or `15m`.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::OneMinute => "1m",
            Window::FiveMinutes => "5m",
            Window::FifteenMinutes => "15m",
        }
    }

    fn slots(self) -> u64 {
        self.duration().as_secs() / SLOT_SECONDS
    }
}

/// The slot number of a point in time (5-second steps since the Unix epoch).
pub(crate) fn slot_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / SLOT_SECONDS)
}

/// The slot number of now. On Linux it reads the coarse real-time clock (a few
/// milliseconds of resolution, plenty for 5-second slots, and a fraction of the cost
/// of a precise clock read on the recorders' hot path).
pub(crate) fn current_slot() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        u64::try_from(now.tv_sec).map_or(0, |secs| secs / SLOT_SECONDS)
    }
    #[cfg(not(target_os = "linux"))]
    {
        slot_of(SystemTime::now())
    }
}

/// What a window saw: counts, rates, mean and percentiles of the recorded values.
///
/// Percentiles are absent when the window is empty; they come from a DDSketch with
/// 1 % relative accuracy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WindowStats {
    /// Values recorded in the window.
    pub count: u64,
    /// Of those, how many were failures (HTTP status ≥ 500, a failed call...).
    pub failures: u64,
    /// `count` per minute over the whole window.
    pub rate_per_min: f64,
    /// Share of failures, 0–100 (0 for an empty window).
    pub failure_percent: f64,
    /// Share of successes, 0–100 (100 for an empty window: nothing failed).
    pub success_percent: f64,
    /// Sum of the values.
    pub sum: f64,
    /// Mean of the values.
    pub avg: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

#[derive(Clone)]
struct Slot {
    /// Which slot number this entry holds; a stale one is reset before reuse.
    id: u64,
    count: u64,
    failures: u64,
    sum: f64,
    sketch: Option<DDSketch>,
}

/// The ring of slots behind one rolling metric.
#[derive(Clone)]
pub(crate) struct Ring {
    slots: Box<[Slot]>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring").finish_non_exhaustive()
    }
}

impl Default for Ring {
    fn default() -> Self {
        let empty = Slot {
            id: u64::MAX,
            count: 0,
            failures: 0,
            sum: 0.0,
            sketch: None,
        };
        Ring {
            slots: vec![empty; SLOTS].into_boxed_slice(),
        }
    }
}

impl Ring {
    /// Records `value` in slot `slot` (see [`slot_of`]). `now_slot` is the current slot:
    /// values older than the longest window are ignored, values from the future count now.
    pub(crate) fn record(&mut self, slot: u64, now_slot: u64, value: f64, failed: bool) {
        let slot = slot.min(now_slot);
        if now_slot - slot >= SLOTS as u64 || !value.is_finite() {
            return;
        }
        let entry = &mut self.slots[(slot % SLOTS as u64) as usize];
        if entry.id != slot {
            entry.id = slot;
            entry.count = 0;
            entry.failures = 0;
            entry.sum = 0.0;
            entry.sketch = None;
        }
        entry.count += 1;
        entry.failures += u64::from(failed);
        entry.sum += value;
        entry
            .sketch
            .get_or_insert_with(|| DDSketch::new(SketchConfig::defaults()))
            .add(value);
    }

    /// Adds what `window` (ending with slot `now_slot`, included) saw to `acc`.
    pub(crate) fn accumulate(&self, now_slot: u64, window: Window, acc: &mut Acc) {
        let oldest = now_slot.saturating_sub(window.slots() - 1);
        for slot in self
            .slots
            .iter()
            .filter(|s| s.id != u64::MAX && s.id >= oldest && s.id <= now_slot)
        {
            acc.count += slot.count;
            acc.failures += slot.failures;
            acc.sum += slot.sum;
            if let Some(sketch) = &slot.sketch {
                match &mut acc.sketch {
                    // Every sketch has the default config, so merging cannot fail.
                    Some(m) => {
                        let _ = m.merge(sketch);
                    }
                    None => acc.sketch = Some(sketch.clone()),
                }
            }
        }
    }

    /// The statistics of `window` ending with slot `now_slot` (included).
    pub(crate) fn stats(&self, now_slot: u64, window: Window) -> WindowStats {
        let mut acc = Acc::default();
        self.accumulate(now_slot, window, &mut acc);
        acc.finish(window)
    }
}

/// Several rings' slots of one window added together (per-endpoint rings into the
/// overall figures): counts add up and sketches merge, so percentiles stay exact to
/// the sketch's accuracy.
#[derive(Default)]
pub(crate) struct Acc {
    count: u64,
    failures: u64,
    sum: f64,
    sketch: Option<DDSketch>,
}

impl Acc {
    /// The statistics of what was accumulated over `window`.
    pub(crate) fn finish(self, window: Window) -> WindowStats {
        let mut out = WindowStats {
            count: self.count,
            failures: self.failures,
            sum: self.sum,
            rate_per_min: self.count as f64 * 60.0 / window.duration().as_secs_f64(),
            ..WindowStats::default()
        };
        if out.count > 0 {
            out.failure_percent = out.failures as f64 * 100.0 / out.count as f64;
            out.avg = Some(out.sum / out.count as f64);
        }
        out.success_percent = 100.0 - out.failure_percent;
        if let Some(sketch) = self.sketch {
            let q = |q| sketch.quantile(q).ok().flatten();
            out.min = sketch.min();
            out.max = sketch.max();
            out.p50 = q(0.5);
            out.p95 = q(0.95);
            out.p99 = q(0.99);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= b.abs() * 0.02)
    }

    #[test]
    fn windows_count_only_their_slots_and_percentiles_are_accurate() {
        let mut ring = Ring::default();
        let now = 1_000_000;
        // 1..=1000 ms in the current slot, 10 failures.
        for v in 1..=1000 {
            ring.record(now, now, f64::from(v), v % 100 == 0);
        }
        // 100 values of 5000 ms four minutes ago: in 5m and 15m, not in 1m.
        for _ in 0..100 {
            ring.record(now - 48, now, 5000.0, false);
        }
        // 10 minutes ago: only in 15m. 20 minutes ago: nowhere.
        ring.record(now - 120, now, 7.0, true);
        ring.record(now - 240, now, 9.0, true);

        let m1 = ring.stats(now, Window::OneMinute);
        assert_eq!((m1.count, m1.failures), (1000, 10));
        assert!((m1.rate_per_min - 1000.0).abs() < 1e-9);
        assert!((m1.failure_percent - 1.0).abs() < 1e-9);
        assert!((m1.success_percent - 99.0).abs() < 1e-9);
        assert!(close(m1.avg, 500.5));
        assert!(close(m1.p50, 500.0), "{m1:?}");
        assert!(close(m1.p95, 950.0), "{m1:?}");
        assert!(close(m1.p99, 990.0), "{m1:?}");
        assert!(close(m1.max, 1000.0));
        assert!(close(m1.min, 1.0));

        let m5 = ring.stats(now, Window::FiveMinutes);
        assert_eq!(m5.count, 1100);
        assert!(close(m5.p99, 5000.0), "{m5:?}");
        let m15 = ring.stats(now, Window::FifteenMinutes);
        assert_eq!((m15.count, m15.failures), (1101, 11));
        assert!((m15.rate_per_min - 1101.0 / 15.0).abs() < 1e-9);
    }

    #[test]
    fn empty_window_and_slot_reuse() {
        let mut ring = Ring::default();
        let empty = ring.stats(50, Window::OneMinute);
        assert_eq!(empty.count, 0);
        assert_eq!(empty.avg, None);
        assert_eq!(empty.p95, None);
        assert_eq!(empty.success_percent, 100.0);

        ring.record(50, 50, 3.0, false);
        // The same ring position 15 minutes later starts from zero.
        let later = 50 + SLOTS as u64;
        ring.record(later, later, 4.0, false);
        let s = ring.stats(later, Window::FifteenMinutes);
        assert_eq!(s.count, 1);
        assert_eq!(s.sum, 4.0);
        // Too old is ignored; the future counts now; NaN is ignored.
        ring.record(later - SLOTS as u64, later, 1.0, false);
        ring.record(later + 10, later, 6.0, false);
        ring.record(later, later, f64::NAN, false);
        assert_eq!(ring.stats(later, Window::OneMinute).count, 2);
    }

    #[test]
    fn window_names() {
        for (w, name, secs) in [
            (Window::OneMinute, "1m", 60),
            (Window::FiveMinutes, "5m", 300),
            (Window::FifteenMinutes, "15m", 900),
        ] {
            assert_eq!(w.as_str(), name);
            assert_eq!(w.duration().as_secs(), secs);
            assert_eq!(serde_json::to_value(w).ok(), Some(name.into()));
        }
    }
}
