//! Recording alert changes: their rows and history in the store, their
//! notifications routed to channels and queued in the outbox; re-sends of open
//! alerts and the pruning of old history.

use super::{ActionError, AlertChange, AlertEngine};
use crate::Snapshot;
use chrono::{DateTime, Utc};
use mon_core::{Alert, Message, Notification, Transition};
use mon_store::{AlertWrite, KeptState, WriteBatch};

impl AlertEngine {
    /// Persists `changes` (alert rows, history, and the bookkeeping of their rules)
    /// and queues their notifications in the outbox, routed to the channels that
    /// accept them. With a store, all of it is committed in one transaction before
    /// any send is tried; the error tells that it was not (the notifications are
    /// queued in memory anyway).
    pub async fn record(&self, changes: &[AlertChange]) -> Result<(), ActionError> {
        if changes.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut writes = Vec::new();
        let mut queued = Vec::new();
        for change in changes {
            writes.push(AlertWrite::Alert(change.alert.clone()));
            writes.push(AlertWrite::Event {
                alert_id: change.alert.id.clone(),
                at: change.alert.updated_at,
                kind: change.kind.as_str().to_string(),
                detail: {
                    let who = match &change.comment {
                        Some(comment) => format!("{}: {comment}", change.by),
                        None => change.by.clone(),
                    };
                    match &change.held_back {
                        Some(why) => format!("{who} (not notified: {why})"),
                        None => who,
                    }
                },
            });
            let Some(transition) = change.kind.notification() else {
                continue;
            };
            if change.held_back.is_some() {
                continue;
            }
            let notification = Notification::new(
                transition,
                vec![change.alert.clone()],
                change.idempotency_key(),
            );
            for lane in self.route(&change.alert, transition) {
                writes.push(AlertWrite::Enqueue {
                    channel: self.outbox.name(lane).to_string(),
                    notification: notification.clone(),
                    at: now,
                });
                queued.push((lane, notification.clone()));
            }
        }
        let mut result = Ok(());
        if let Some(store) = &self.store {
            let mut batch = WriteBatch::from_alerting(writes);
            batch.kept = self.kept_rules(changes, now);
            if let Err(e) = store.write(batch).await {
                tracing::error!(error = %e, "alert state could not be saved; notifications are sent anyway");
                result = Err(ActionError::Store(e));
            }
        }
        for (lane, notification) in queued {
            self.outbox.push(lane, notification);
        }
        result
    }

    /// Sends `message` (a stakeholder report) through each of `channels`, by name, as a
    /// [`Transition::Report`] notification keyed `key`: committed to the outbox in one
    /// transaction with `kept` (what its sender keeps to send it once), then queued.
    /// The outbox holds one row per channel and key, so the same key is never queued
    /// twice. Channels that are not configured are skipped with a warning. The e-mail
    /// channel sends the message as written; other kinds receive a notification about no
    /// alert, so name e-mail channels (`reports.channels` accepts no other kind).
    ///
    /// # Errors
    /// [`ActionError::Store`] when the store refused the batch: nothing was queued.
    pub async fn send_message(
        &self,
        channels: &[String],
        message: Message,
        key: &str,
        kept: Vec<KeptState>,
    ) -> Result<(), ActionError> {
        let now = Utc::now();
        let notification = Notification::message(message, key);
        let names = self.outbox.names();
        let lanes: Vec<usize> = channels
            .iter()
            .filter_map(|c| {
                let lane = names.iter().position(|n| n == c);
                if lane.is_none() {
                    tracing::warn!(channel = %c, key, "a message for a channel that is not configured is not sent");
                }
                lane
            })
            .collect();
        if let Some(store) = &self.store {
            let writes = lanes
                .iter()
                .map(|&lane| AlertWrite::Enqueue {
                    channel: self.outbox.name(lane).to_string(),
                    notification: notification.clone(),
                    at: now,
                })
                .collect();
            let mut batch = WriteBatch::from_alerting(writes);
            batch.kept = kept;
            store.write(batch).await.map_err(ActionError::Store)?;
        }
        for lane in lanes {
            self.outbox.push(lane, notification.clone());
        }
        Ok(())
    }

    /// [`evaluate`](AlertEngine::evaluate) then [`record`](AlertEngine::record).
    pub async fn evaluate_and_record(
        &self,
        snapshot: &Snapshot,
        now: DateTime<Utc>,
    ) -> Vec<AlertChange> {
        let _order = self.order.lock().await;
        let changes = self.evaluate(snapshot, now);
        // A failed write is logged by `record`; the next change writes the rows again.
        let _ = self.record(&changes).await;
        self.keep_baselines(now, false).await;
        changes
    }

    /// The lanes (channel indexes) a notification goes to: those of the first
    /// matching routes (all channels when none matches), filtered by each channel's
    /// severities and `send_resolved`.
    fn route(&self, alert: &Alert, transition: Transition) -> Vec<usize> {
        let mut names: Option<Vec<&str>> = None;
        for route in self.routes.iter().filter(|r| r.matches(alert)) {
            names
                .get_or_insert_with(Vec::new)
                .extend(route.channels.iter().map(String::as_str));
            if !route.continue_matching {
                break;
            }
        }
        (0..self.outbox.len())
            .filter(|&lane| {
                let channel = self.outbox.channel(lane);
                names.as_ref().is_none_or(|n| n.contains(&channel.name()))
                    && channel.accepts(alert.severity, transition)
            })
            .collect()
    }

    /// Queues a re-send of the open alerts whose firing was notified to each channel
    /// with a due `resend_interval` (Alertmanager forgets alerts it does not hear
    /// again); the evaluation loop calls it every second.
    pub fn resend_open_alerts(&self) {
        let lanes = self.outbox.resend_due();
        if lanes.is_empty() {
            return;
        }
        // Taken and queued under the lock: a resolution removes the alert under the
        // same lock and is queued after, so a re-send never overtakes it.
        let inner = self.lock();
        let open: Vec<&Alert> = inner
            .instances()
            .filter(|i| i.notified && i.alert.state.is_active())
            .map(|i| &i.alert)
            .collect();
        for lane in lanes {
            let alerts = open
                .iter()
                .filter(|a| self.route(a, Transition::Firing).contains(&lane))
                .map(|a| (*a).clone())
                .collect();
            self.outbox.resend(lane, alerts);
        }
    }

    /// Deletes stored history older than the retention (resolved alerts and their
    /// transitions, finished notifications, ended silences), in bounded passes.
    /// The evaluation loop calls it hourly.
    pub async fn prune_history(&self, now: DateTime<Utc>) {
        const LIMIT: u32 = 10_000;
        // A retention reaching before the year 0000 keeps everything.
        let (Some(store), Ok(before)) = (
            &self.store,
            mon_core::duration::ago(now, self.history_retention),
        ) else {
            return;
        };
        if self.history_retention.is_zero() {
            return;
        }
        let batch = WriteBatch::from_alerting(vec![AlertWrite::Prune {
            before,
            limit: LIMIT,
        }]);
        if let Err(e) = store.write(batch).await {
            tracing::warn!(error = %e, "pruning alert history failed; retrying in an hour");
        }
    }
}
