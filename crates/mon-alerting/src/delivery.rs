//! The delivery outbox: one queue and one worker per channel. A notification is
//! committed to the store's `notifications` table before it is tried; the worker
//! sends the head of its queue with the channel's timeout, gives up at once on
//! refusals, and records every outcome. A retryable failure makes the whole lane
//! wait (exponential backoff with jitter, or the receiver's `Retry-After`) before
//! the head is tried again: what is queued behind the head waits for it, in order,
//! and goes out right after it once the receiver answers. Channels never wait for
//! each other.
//!
//! A crash during a send leaves the notification queued: the next start sends it
//! again with the same idempotency key (at least once, never silently lost).

use crate::channels::Channel;
use chrono::{DateTime, Utc};
use mon_core::{Alert, Notification, Transition};
use mon_store::{AlertWrite, OutboxState, PendingNotification, Store, WriteBatch};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How failed deliveries are retried (`alerting.retry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Wait before the first retry; doubles on each failure.
    #[serde(with = "mon_core::duration")]
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    #[serde(with = "mon_core::duration")]
    pub max_backoff: Duration,
    /// Give up after this many attempts (`0`: never give up on a retryable error).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            max_attempts: 0,
        }
    }
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts: `initial * 2^(attempts-1)`, capped,
    /// with ±20 % jitter so that channels recovering together do not retry in step.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let base = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let nanos = Utc::now().timestamp_subsec_nanos();
        let jitter = 0.8 + 0.4 * f64::from(nanos % 1000) / 1000.0;
        base.mul_f64(jitter)
    }
}

/// Labels of `mon_notifications_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SendLabels {
    pub(crate) channel: mon_core::LabelValue,
    pub(crate) result: mon_core::LabelValue<&'static str>,
}

/// Counters shared by every worker.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeliveryMetrics {
    pub(crate) sent: Family<SendLabels, Counter>,
}

impl DeliveryMetrics {
    fn count(&self, channel: &str, result: &'static str) {
        self.sent
            .get_or_create(&SendLabels {
                channel: channel.into(),
                result: mon_core::LabelValue(result),
            })
            .inc();
    }
}

/// A channel's delivery state, for `/api/v1/channels` and `/health/detailed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelStatus {
    /// The channel's name.
    pub name: String,
    /// Its kind (`webhook`, `slack`...).
    pub kind: String,
    /// When a notification was last delivered.
    pub last_success: Option<DateTime<Utc>>,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When the last failure happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Notifications waiting (including the one being retried).
    pub queued: usize,
    /// Delivered since start.
    pub delivered: u64,
    /// Given up on since start.
    pub failed: u64,
}

struct Queued {
    notification: Arc<Notification>,
    /// Attempts made so far (for `max_attempts` and the store).
    attempts: u32,
    /// Whether it has a row in the store (re-sends of open alerts have none).
    durable: bool,
}

struct Lane {
    channel: Channel,
    queue: Mutex<VecDeque<Queued>>,
    wake: Notify,
    status: Mutex<ChannelStatus>,
    /// When open alerts were last queued for a re-send (channels with a `resend_interval`).
    last_resend: Mutex<Option<Instant>>,
}

/// Spawns one channel's delivery worker; called again to restart it after a panic.
pub type WorkerStart = Box<dyn FnMut() -> JoinHandle<()> + Send>;

/// The queues and their workers. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Outbox {
    lanes: Arc<[Arc<Lane>]>,
    retry: RetryPolicy,
    store: Option<Store>,
    metrics: DeliveryMetrics,
    started: Arc<AtomicBool>,
    stop: Arc<watch::Sender<bool>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Outbox {
    pub(crate) fn new(channels: Vec<Channel>, retry: RetryPolicy, store: Option<Store>) -> Outbox {
        let lanes = channels
            .into_iter()
            .map(|channel| {
                Arc::new(Lane {
                    status: Mutex::new(ChannelStatus {
                        name: channel.name().to_string(),
                        kind: channel.kind.clone(),
                        ..ChannelStatus::default()
                    }),
                    channel,
                    queue: Mutex::new(VecDeque::new()),
                    wake: Notify::new(),
                    last_resend: Mutex::new(None),
                })
            })
            .collect();
        Outbox {
            lanes,
            retry,
            store,
            metrics: DeliveryMetrics::default(),
            started: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(watch::channel(false).0),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lanes.len()
    }

    pub(crate) fn channel(&self, lane: usize) -> &Channel {
        &self.lanes[lane].channel
    }

    pub(crate) fn name(&self, lane: usize) -> &str {
        self.lanes[lane].channel.name()
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.lanes
            .iter()
            .map(|l| l.channel.name().to_string())
            .collect()
    }

    pub(crate) fn metrics(&self) -> &DeliveryMetrics {
        &self.metrics
    }

    /// Queues `notification` (already in the store, when there is one) on `lane`
    /// and wakes its worker.
    pub(crate) fn push(&self, lane: usize, notification: Notification) {
        self.enqueue(lane, notification, true);
    }

    fn enqueue(&self, lane: usize, notification: Notification, durable: bool) {
        let lane = &self.lanes[lane];
        lock(&lane.queue).push_back(Queued {
            notification: Arc::new(notification),
            attempts: 0,
            durable,
        });
        lane.wake.notify_one();
    }

    /// The lanes whose channel has a `resend_interval` that has passed since their
    /// last re-send, and that have no re-send still queued (a receiver that is down
    /// gets one, not one per interval).
    pub(crate) fn resend_due(&self) -> Vec<usize> {
        let now = Instant::now();
        (0..self.lanes.len())
            .filter(|&i| {
                let lane = &self.lanes[i];
                lane.channel.resend_interval.is_some_and(|every| {
                    lock(&lane.last_resend).is_none_or(|last| now >= last + every)
                        && lock(&lane.queue).iter().all(|q| q.durable)
                })
            })
            .collect()
    }

    /// Queues a re-send of the open `alerts` on `lane`: one reminder holding them
    /// all, kept in memory only (after a restart the first re-send covers it).
    pub(crate) fn resend(&self, lane: usize, alerts: Vec<Alert>) {
        *lock(&self.lanes[lane].last_resend) = Some(Instant::now());
        if alerts.is_empty() {
            return;
        }
        let key = format!("resend:{}", Utc::now().timestamp_millis());
        let notification = Notification::new(Transition::Reminder, alerts, key);
        self.enqueue(lane, notification, false);
    }

    /// Queues a notification read back from the store (a channel that no longer
    /// exists is skipped).
    pub(crate) fn restore(&self, row: PendingNotification) {
        match self
            .lanes
            .iter()
            .position(|l| l.channel.name() == row.channel)
        {
            Some(lane) => {
                lock(&self.lanes[lane].queue).push_back(Queued {
                    notification: Arc::new(row.notification),
                    attempts: row.attempts,
                    durable: true,
                });
            }
            None => tracing::warn!(
                channel = %row.channel,
                key = %row.notification.idempotency_key,
                "a queued notification for a channel that no longer exists is dropped"
            ),
        }
    }

    pub(crate) fn statuses(&self) -> Vec<ChannelStatus> {
        self.lanes
            .iter()
            .map(|l| {
                let mut status = lock(&l.status).clone();
                status.queued = lock(&l.queue).len();
                status
            })
            .collect()
    }

    /// Starts one worker per channel (once; later calls return nothing).
    /// Must be called inside a Tokio runtime.
    pub(crate) fn start(&self) -> Vec<JoinHandle<()>> {
        self.workers()
            .into_iter()
            .map(|(_, mut start)| start())
            .collect()
    }

    /// One starter per channel, by channel name, each spawning that channel's worker
    /// (again, after a panic); once, like [`start`](Outbox::start).
    pub(crate) fn workers(&self) -> Vec<(String, WorkerStart)> {
        if self.started.swap(true, Ordering::AcqRel) {
            return Vec::new();
        }
        self.lanes
            .iter()
            .map(|lane| {
                let name = lane.channel.name().to_string();
                let (lane, retry, store, metrics, stop) = (
                    lane.clone(),
                    self.retry.clone(),
                    self.store.clone(),
                    self.metrics.clone(),
                    self.stop.subscribe(),
                );
                let start: WorkerStart = Box::new(move || {
                    let worker = Worker {
                        lane: lane.clone(),
                        retry: retry.clone(),
                        store: store.clone(),
                        metrics: metrics.clone(),
                        stop: stop.clone(),
                    };
                    tokio::spawn(worker.run())
                });
                (name, start)
            })
            .collect()
    }

    /// Tells the workers to stop after their current attempt; what is queued stays
    /// in the store for the next start.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }
}

struct Worker {
    lane: Arc<Lane>,
    retry: RetryPolicy,
    store: Option<Store>,
    metrics: DeliveryMetrics,
    stop: watch::Receiver<bool>,
}

/// What became of one attempt.
enum Attempt {
    Delivered,
    Retry(Duration, String),
    GiveUp(String),
}

impl Worker {
    async fn run(mut self) {
        // When the lane may try its head again after a retryable failure. The lane
        // waits, not each notification: once the head goes through, the rest of the
        // queue follows at once.
        let mut retry_at: Option<Instant> = None;
        // Retryable failures in a row, for the backoff.
        let mut streak: u32 = 0;
        loop {
            if *self.stop.borrow() {
                break;
            }
            let head = lock(&self.lane.queue)
                .front()
                .map(|q| (q.notification.clone(), q.attempts, q.durable));
            let Some((notification, attempts, durable)) = head else {
                tokio::select! {
                    () = self.lane.wake.notified() => continue,
                    _ = self.stop.changed() => break,
                }
            };
            if let Some(at) = retry_at.take()
                && at > Instant::now()
            {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    _ = self.stop.changed() => break,
                }
                continue;
            }
            let attempts = attempts + 1;
            let outcome = self.attempt(&notification, attempts, streak + 1).await;
            let now = Utc::now();
            let (state, error) = {
                let mut queue = lock(&self.lane.queue);
                let mut status = lock(&self.lane.status);
                match &outcome {
                    Attempt::Delivered => {
                        queue.pop_front();
                        streak = 0;
                        status.last_success = Some(now);
                        status.consecutive_failures = 0;
                        status.delivered += 1;
                        (OutboxState::Delivered, None)
                    }
                    Attempt::Retry(wait, message) => {
                        if let Some(head) = queue.front_mut() {
                            head.attempts = attempts;
                        }
                        streak += 1;
                        retry_at = Some(Instant::now() + *wait);
                        status.last_error = Some(message.clone());
                        status.last_error_at = Some(now);
                        status.consecutive_failures += 1;
                        (OutboxState::Pending, Some(message.clone()))
                    }
                    Attempt::GiveUp(message) => {
                        queue.pop_front();
                        streak = 0;
                        status.last_error = Some(message.clone());
                        status.last_error_at = Some(now);
                        status.consecutive_failures += 1;
                        status.failed += 1;
                        (OutboxState::Failed, Some(message.clone()))
                    }
                }
            };
            if let (Some(store), true) = (&self.store, durable) {
                let batch = WriteBatch::from_alerting(vec![AlertWrite::Attempt {
                    channel: self.lane.channel.name().to_string(),
                    key: notification.idempotency_key.clone(),
                    state,
                    attempts,
                    error,
                    at: now,
                }]);
                if let Err(e) = store.write(batch).await {
                    tracing::error!(error = %e, "a delivery outcome could not be saved");
                }
            }
        }
        tracing::debug!(
            channel = self.lane.channel.name(),
            "delivery worker stopped"
        );
    }

    /// One send of `notification` (its `attempts`-th); `streak` counts the lane's
    /// retryable failures in a row including this one, should it fail.
    async fn attempt(&self, notification: &Notification, attempts: u32, streak: u32) -> Attempt {
        let channel = &self.lane.channel;
        let name = channel.name();
        let rule = notification.alerts.first().map_or("", |a| a.rule.as_str());
        let transition = notification.transition.as_str();
        let result =
            tokio::time::timeout(channel.timeout, channel.notifier.send(notification)).await;
        let (error, retry_after, retryable, label) = match result {
            Ok(Ok(())) => {
                self.metrics.count(name, "ok");
                tracing::debug!(channel = name, rule, transition, "notification sent");
                return Attempt::Delivered;
            }
            Ok(Err(e)) => (e.to_string(), e.retry_after, e.retryable(), "error"),
            Err(_) => (
                format!(
                    "no answer within {}",
                    mon_core::duration::format(channel.timeout)
                ),
                None,
                true,
                "timeout",
            ),
        };
        self.metrics.count(name, label);
        let give_up =
            !retryable || (self.retry.max_attempts > 0 && attempts >= self.retry.max_attempts);
        tracing::warn!(
            channel = name,
            rule,
            transition,
            attempts,
            retryable,
            error = %error,
            "notification failed{}",
            if give_up { "; giving up" } else { "; will retry" }
        );
        if give_up {
            Attempt::GiveUp(error)
        } else {
            let wait = retry_after.unwrap_or_else(|| self.retry.backoff(streak));
            Attempt::Retry(wait, error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_attempts: 0,
        };
        for (attempts, base) in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (40, 60)] {
            let wait = policy.backoff(attempts).as_secs_f64();
            let base = f64::from(base);
            assert!(
                (base * 0.8..=base * 1.2).contains(&wait),
                "attempt {attempts}: {wait} s"
            );
        }
    }

    #[test]
    fn retry_config_reads_yaml_with_defaults() {
        let policy: RetryPolicy = serde_yaml_ng::from_str("max_attempts: 5\n").unwrap();
        assert_eq!(
            policy,
            RetryPolicy {
                max_attempts: 5,
                ..RetryPolicy::default()
            }
        );
        let err = serde_yaml_ng::from_str::<RetryPolicy>("initial_backoff: 5\n").unwrap_err();
        assert!(
            err.to_string().contains("expected a number with a unit"),
            "{err}"
        );
    }
}
