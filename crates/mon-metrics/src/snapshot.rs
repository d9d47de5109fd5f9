//! The producers' side of the rule snapshot: mon-core's snapshot types, which every
//! producer of this crate publishes into, and the periodic publish task.

pub use mon_core::snapshot::{
    CHECK_SOURCE_PREFIX, CHECKS_SOURCE, CheckSnapshot, Snapshot, SnapshotHub, SnapshotSubscription,
};

/// Calls `publish` at once and then every `interval`, until `stop` completes: the
/// periodic publishers of the recorders' variables (so that windows age out).
pub(crate) fn spawn_every(
    interval: std::time::Duration,
    stop: impl Future<Output = ()> + Send + 'static,
    publish: impl Fn() + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = ticker.tick() => publish(),
            }
        }
    })
}
