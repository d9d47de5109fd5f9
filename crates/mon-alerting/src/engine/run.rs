//! The evaluation loop: [`AlertEngine::spawn`] evaluates every interval and right
//! after the snapshot changes, and records the changes (store, outbox); and
//! [`AlertEngine::start_delivery`] for engines driven by hand.

use crate::{AlertEngine, Snapshot, SnapshotHub, SnapshotSubscription, WorkerStart};
use chrono::Utc;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Where the loop reads snapshots from.
#[derive(Clone)]
pub enum SnapshotSource {
    /// A hub: evaluated every interval and after every publish.
    Hub(SnapshotHub),
    /// A closure called every interval.
    Fn(Arc<dyn Fn() -> Snapshot + Send + Sync>),
}

impl SnapshotSource {
    /// A source that calls `f` for each evaluation.
    pub fn from_fn(f: impl Fn() -> Snapshot + Send + Sync + 'static) -> SnapshotSource {
        SnapshotSource::Fn(Arc::new(f))
    }
}

impl From<SnapshotHub> for SnapshotSource {
    fn from(hub: SnapshotHub) -> Self {
        SnapshotSource::Hub(hub)
    }
}

impl fmt::Debug for SnapshotSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotSource::Hub(hub) => f.debug_tuple("Hub").field(hub).finish(),
            SnapshotSource::Fn(_) => f.write_str("Fn(..)"),
        }
    }
}

/// How often stored alert history is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How often the loop looks for channels due a re-send of open alerts.
const RESEND_CHECK: Duration = Duration::from_secs(1);

/// The shortest interval the loop accepts (tokio refuses zero).
const MIN_INTERVAL: Duration = Duration::from_millis(10);

impl AlertEngine {
    /// Starts the evaluation loop on the current Tokio runtime: evaluates at once,
    /// then every `interval` and right after each publish to the hub, and records
    /// changes (store, outbox); every second it also queues the re-sends of open
    /// alerts that channels with a `resend_interval` are due. Starts the delivery
    /// workers too. Ends when `shutdown` completes, stopping the workers; what is
    /// still queued stays in the store for the next start.
    pub fn spawn(
        self,
        source: impl Into<SnapshotSource>,
        interval: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let source = source.into();
        tokio::spawn(async move {
            let workers = self.outbox.start();
            let mut reader = Reader::from(source);
            let mut ticker = tokio::time::interval(interval.max(MIN_INTERVAL));
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut prune = tokio::time::interval(PRUNE_EVERY);
            prune.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut resend = tokio::time::interval(RESEND_CHECK);
            resend.set_missed_tick_behavior(MissedTickBehavior::Delay);
            tokio::pin!(shutdown);
            loop {
                let snapshot = tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    _ = prune.tick() => {
                        self.prune_history(Utc::now()).await;
                        continue;
                    }
                    _ = resend.tick() => {
                        self.resend_open_alerts();
                        continue;
                    }
                    _ = ticker.tick() => reader.current(),
                    changed = reader.changed() => match changed {
                        Some(snapshot) => snapshot,
                        None => continue,
                    },
                };
                self.evaluate_and_record(&snapshot, Utc::now()).await;
            }
            self.keep_baselines(Utc::now(), true).await;
            self.outbox.stop();
            for worker in workers {
                let _ = worker.await;
            }
            tracing::debug!("alert evaluation loop stopped");
        })
    }
}

impl AlertEngine {
    /// Starts the delivery workers without the evaluation loop (for engines whose
    /// `evaluate`/`record` are called by hand; call
    /// [`resend_open_alerts`](AlertEngine::resend_open_alerts) every second too when a
    /// channel has a `resend_interval`). Idempotent: later calls, and a later
    /// [`spawn`](AlertEngine::spawn), start nothing more.
    pub fn start_delivery(&self) -> Vec<JoinHandle<()>> {
        self.outbox.start()
    }

    /// The delivery workers, one starter per channel (by name), for a caller that runs
    /// and restarts them itself; the evaluation loop then starts none. Once, like
    /// [`start_delivery`](AlertEngine::start_delivery). They stop with the loop.
    pub fn delivery_workers(&self) -> Vec<(String, WorkerStart)> {
        self.outbox.workers()
    }

    /// Stops the delivery workers after their current attempt.
    pub fn stop_delivery(&self) {
        self.outbox.stop();
    }
}

/// The loop's side of a [`SnapshotSource`].
enum Reader {
    /// Only a subscription is kept, so that the hub's lifetime stays with its producers.
    Hub {
        subscription: SnapshotSubscription,
        open: bool,
    },
    Fn(Arc<dyn Fn() -> Snapshot + Send + Sync>),
}

impl From<SnapshotSource> for Reader {
    fn from(source: SnapshotSource) -> Self {
        match source {
            SnapshotSource::Hub(hub) => Reader::Hub {
                subscription: hub.subscribe(),
                open: true,
            },
            SnapshotSource::Fn(f) => Reader::Fn(f),
        }
    }
}

impl Reader {
    fn current(&self) -> Snapshot {
        match self {
            Reader::Hub { subscription, .. } => subscription.current(),
            Reader::Fn(f) => f(),
        }
    }

    /// The next publish. Pending forever for a closure, and once every producer
    /// has dropped the hub (the loop then goes on with the last data, on the timer).
    async fn changed(&mut self) -> Option<Snapshot> {
        match self {
            Reader::Hub {
                subscription,
                open: open @ true,
            } => {
                let changed = subscription.changed().await;
                *open = changed.is_some();
                changed
            }
            _ => std::future::pending().await,
        }
    }
}
