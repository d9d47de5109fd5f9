//! The producers' side of the rule snapshot: mon-core's snapshot types, which every
//! producer of this crate publishes into, and the publish task.

use mon_core::snapshot::PUBLISH_COALESCE;
pub use mon_core::snapshot::{
    CHECK_SOURCE_PREFIX, CHECKS_SOURCE, CheckSnapshot, Snapshot, SnapshotHub, SnapshotSubscription,
};
use std::sync::Arc;
use tokio::sync::Notify;

/// Calls `publish` at once, then every `interval` (so that windows age out) and soon
/// after each notification of `changed` (what was recorded reaches the rules without
/// waiting for the interval), at most once per [`PUBLISH_COALESCE`] — until `stop`
/// completes.
pub(crate) fn spawn_every(
    interval: std::time::Duration,
    changed: Option<Arc<Notify>>,
    stop: impl Future<Output = ()> + Send + 'static,
    publish: impl Fn() + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = tokio::time::Instant::now();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = ticker.tick() => {}
                () = notified(changed.as_deref()) => {
                    // A burst: what arrives meanwhile is published with this one.
                    tokio::select! {
                        () = &mut stop => return,
                        () = tokio::time::sleep_until(last + PUBLISH_COALESCE) => {}
                    }
                }
            }
            publish();
            last = tokio::time::Instant::now();
        }
    })
}

/// Resolves at the next notification of `changed`; never without one.
async fn notified(changed: Option<&Notify>) {
    match changed {
        Some(changed) => changed.notified().await,
        None => std::future::pending().await,
    }
}
