//! Rolling windows of 1, 5 and 15 minutes: a ring of 5-second slots, each with a count,
//! a failure count, a sum and the values themselves — exact while the slot holds at most
//! [`EXACT_MAX`] of them, a DDSketch beyond — merged on demand.
//!
//! Recording touches one slot (a push; no sorting). Reading gathers the window's values:
//! while the window holds at most [`EXACT_MAX`] values, p50/p95/p99 are exact by nearest
//! rank (the value at rank ⌈q·n⌉), so a service with a few calls a minute sees its slow
//! calls; above that they come from one merged DDSketch (1 % relative error), whose cost
//! does not grow with traffic.

use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config as SketchConfig, DDSketch};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The length of one slot, in seconds.
pub(crate) const SLOT_SECONDS: u64 = 5;
/// Slots kept: enough for the longest window.
const SLOTS: usize = (15 * 60 / SLOT_SECONDS) as usize;
/// Values per window up to which percentiles are exact (nearest rank).
pub(crate) const EXACT_MAX: usize = 1000;

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
/// Percentiles are absent when the window is empty. Up to 1,000 values they are
/// exact, by nearest rank (p95 of {84, 1800} is 1800); above, they come from a DDSketch
/// with 1 % relative accuracy. `min` and `max` are always exact.
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
    values: Values,
}

/// The values of a slot or of a window being read: every one while there are at most
/// [`EXACT_MAX`], a sketch of them beyond.
#[derive(Clone)]
enum Values {
    Exact(Vec<f64>),
    Sketch(Box<DDSketch>),
}

impl Default for Values {
    fn default() -> Self {
        Values::Exact(Vec::new())
    }
}

impl Values {
    fn add(&mut self, value: f64) {
        match self {
            Values::Exact(values) if values.len() < EXACT_MAX => values.push(value),
            Values::Exact(values) => {
                let mut sketch = sketch_of(values);
                sketch.add(value);
                *self = Values::Sketch(Box::new(sketch));
            }
            Values::Sketch(sketch) => sketch.add(value),
        }
    }

    /// Adds `other`'s values; turns into a sketch once there are more than [`EXACT_MAX`].
    fn merge(&mut self, other: &Values) {
        match (&mut *self, other) {
            (Values::Exact(mine), Values::Exact(theirs))
                if mine.len() + theirs.len() <= EXACT_MAX =>
            {
                mine.extend_from_slice(theirs);
            }
            (Values::Exact(mine), _) => {
                let mut sketch = sketch_of(mine);
                add_to_sketch(&mut sketch, other);
                *self = Values::Sketch(Box::new(sketch));
            }
            (Values::Sketch(sketch), other) => add_to_sketch(sketch, other),
        }
    }

    fn clear(&mut self) {
        match self {
            // Keeps the allocation for the slot's next use.
            Values::Exact(values) => values.clear(),
            Values::Sketch(_) => *self = Values::default(),
        }
    }
}

fn sketch_of(values: &[f64]) -> DDSketch {
    let mut sketch = DDSketch::new(SketchConfig::defaults());
    for v in values {
        sketch.add(*v);
    }
    sketch
}

fn add_to_sketch(sketch: &mut DDSketch, values: &Values) {
    match values {
        Values::Exact(values) => values.iter().for_each(|v| sketch.add(*v)),
        // Every sketch has the default config, so merging cannot fail.
        Values::Sketch(other) => {
            let _ = sketch.merge(other);
        }
    }
}

/// The value at nearest rank ⌈q·n⌉ of `sorted` (not empty).
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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
            values: Values::default(),
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
            entry.values.clear();
        }
        entry.count += 1;
        entry.failures += u64::from(failed);
        entry.sum += value;
        entry.values.add(value);
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
            acc.values.merge(&slot.values);
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
/// overall figures): counts add up and values gather (exact up to [`EXACT_MAX`], else
/// one merged sketch), so the overall percentiles are those of every value.
#[derive(Default)]
pub(crate) struct Acc {
    count: u64,
    failures: u64,
    sum: f64,
    values: Values,
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
        match self.values {
            Values::Exact(mut values) if !values.is_empty() => {
                values.sort_unstable_by(f64::total_cmp);
                let q = |q| Some(nearest_rank(&values, q));
                out.min = values.first().copied();
                out.max = values.last().copied();
                out.p50 = q(0.5);
                out.p95 = q(0.95);
                out.p99 = q(0.99);
            }
            Values::Exact(_) => {}
            Values::Sketch(sketch) => {
                let q = |q| sketch.quantile(q).ok().flatten();
                out.min = sketch.min();
                out.max = sketch.max();
                out.p50 = q(0.5);
                out.p95 = q(0.95);
                out.p99 = q(0.99);
            }
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

    /// Percentiles at low counts are exact, by nearest rank; one case per line:
    /// (values in one slot, p50, p95, p99).
    #[test]
    fn percentiles_at_low_counts_are_exact_by_nearest_rank() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        let mut skewed = vec![10.0; 97];
        skewed.extend([500.0, 900.0, 4000.0]);
        let cases: [(&[f64], f64, f64, f64); 7] = [
            (&[84.0, 1800.0], 84.0, 1800.0, 1800.0),
            (&[1800.0, 84.0], 84.0, 1800.0, 1800.0),
            (&[250.0], 250.0, 250.0, 250.0),
            (&[5.0, 1.0, 3.0], 3.0, 5.0, 5.0),
            (&hundred, 50.0, 95.0, 99.0),
            // p99 differs from p95 where the data does.
            (&skewed, 10.0, 10.0, 900.0),
            (&[0.0, 0.0, 7.5, 0.0], 0.0, 7.5, 7.5),
        ];
        for (values, p50, p95, p99) in cases {
            let mut ring = Ring::default();
            for v in values {
                ring.record(100, 100, *v, false);
            }
            let s = ring.stats(100, Window::OneMinute);
            assert_eq!(
                (s.p50, s.p95, s.p99),
                (Some(p50), Some(p95), Some(p99)),
                "{values:?}"
            );
            let (min, max) = values
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
            assert_eq!((s.min, s.max), (Some(min), Some(max)), "{values:?}");
        }
    }

    /// Exact up to EXACT_MAX values per window, across slots and rings; a sketch above.
    #[test]
    fn exact_up_to_the_limit_then_sketched() {
        for (n, exact) in [
            (EXACT_MAX, true),
            (EXACT_MAX + 1, false),
            (5 * EXACT_MAX, false),
        ] {
            // Spread over several slots of the last minute and two rings.
            let (mut a, mut b) = (Ring::default(), Ring::default());
            for i in 0..n {
                let ring = if i % 2 == 0 { &mut a } else { &mut b };
                ring.record(1000 - (i % 12) as u64, 1000, (i + 1) as f64, false);
            }
            let mut acc = Acc::default();
            a.accumulate(1000, Window::OneMinute, &mut acc);
            b.accumulate(1000, Window::OneMinute, &mut acc);
            let s = acc.finish(Window::OneMinute);
            assert_eq!(s.count, n as u64);
            let want = (0.95 * n as f64).ceil();
            if exact {
                assert_eq!(s.p95, Some(want), "{n}");
            } else {
                assert!(close(s.p95, want), "{n}: {s:?}");
            }
            assert_eq!(s.max, Some(n as f64), "{n}");
        }
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
