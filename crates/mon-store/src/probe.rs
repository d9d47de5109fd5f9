//! The store's own health as a self check reads it: does it answer reads, and how is its
//! writer doing (failed writes, queue depth)?

use crate::{Store, StoreError, StoreStats};
use std::time::{Duration, Instant};

/// What one [`Store::probe`] found.
#[derive(Debug)]
#[non_exhaustive]
pub struct StoreProbe {
    /// The read through the read pool: `Err` when the store does not answer reads.
    pub read: Result<(), StoreError>,
    /// How long that read took.
    pub latency: Duration,
    /// The writer's counters, taken after the read.
    pub stats: StoreStats,
    /// Batches waiting in the write queue.
    pub queue_depth: usize,
    /// The write queue's capacity, in batches.
    pub queue_capacity: usize,
}

impl StoreProbe {
    /// The writer is falling behind: its queue is at least 90 % full.
    pub fn falling_behind(&self) -> bool {
        self.queue_depth * 10 >= self.queue_capacity * 9
    }
}

impl Store {
    /// Probes the store: reads the latest stored result of `check` through the read pool
    /// (a self check reads its own), then takes the writer's counters and queue depth.
    /// Every check result is itself a write, so a dead writer shows up in
    /// [`StoreStats::write_errors`].
    pub async fn probe(&self, check: &str) -> StoreProbe {
        let started = Instant::now();
        let read = self.check_results(check, None, 1).await.map(drop);
        StoreProbe {
            read,
            latency: started.elapsed(),
            stats: self.stats(),
            queue_depth: self.queue_depth(),
            queue_capacity: self.queue_capacity(),
        }
    }
}
