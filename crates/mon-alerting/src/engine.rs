//! [`AlertEngine`]: evaluates rules against snapshots, keeps their alert instances
//! through pending → firing → acknowledged → resolved, applies silences, routes
//! notifications to the outbox, and persists everything to the store when it has one.

use crate::Snapshot;
use crate::channels::Channel;
use crate::delivery::{ChannelStatus, Outbox, RetryPolicy};
use crate::expr::{self, Outcome};
use crate::routing::{Inhibition, Route};
use crate::rule::{EachMemo, NoDataPolicy, Rule};
use crate::silence::{MaintenanceWindow, Silence};
use chrono::{DateTime, TimeDelta, Utc};
use mon_core::{Alert, AlertState, Notification, Severity, Transition};
use mon_store::{AlertWrite, KeptState, ResponseTimes, Store, WriteBatch};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Where a rule stands after its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    /// The condition does not hold (or the rule is disabled).
    Ok,
    /// The condition holds, but not yet for the rule's `for`.
    Pending,
    /// The condition has held long enough: an alert is firing.
    Firing,
    /// A variable the rule needs has no value, or the rule has not been evaluated
    /// since the start: nothing to decide on.
    NoData,
    /// The condition could not be evaluated (see [`RuleStatus::error`]).
    Error,
}

impl RuleState {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Ok => "ok",
            RuleState::Pending => "pending",
            RuleState::Firing => "firing",
            RuleState::NoData => "no_data",
            RuleState::Error => "error",
        }
    }
}

impl fmt::Display for RuleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule and where it stands, for the API and the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStatus {
    /// The rule's name.
    pub name: String,
    /// Its expression (`(code)` for rules written in code).
    pub expr: String,
    /// The severity of its alerts.
    pub severity: Severity,
    /// How long the condition must hold before firing.
    #[serde(rename = "for", with = "mon_core::duration")]
    pub for_duration: Duration,
    /// Whether it is evaluated.
    pub enabled: bool,
    /// Where it stands (the worst of its instances).
    pub state: RuleState,
    /// The value seen at the last evaluation, when there was one.
    pub last_value: Option<f64>,
    /// When it was last evaluated.
    pub last_evaluated: Option<DateTime<Utc>>,
    /// Why the last evaluation failed, in state `error`.
    pub error: Option<String>,
}

/// How an alert changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The condition started holding; the alert waits for the rule's `for`.
    Pending,
    /// The alert started firing.
    Firing,
    /// Still firing and not acknowledged after the rule's `repeat_interval`.
    Reminder,
    /// Someone acknowledged it.
    Acknowledged,
    /// It stopped: the condition no longer holds, its data is gone, or someone resolved it.
    Resolved,
    /// A pending alert went away before it fired.
    Cleared,
}

impl ChangeKind {
    /// The notification this change sends, if any.
    pub fn notification(self) -> Option<Transition> {
        match self {
            ChangeKind::Firing => Some(Transition::Firing),
            ChangeKind::Reminder => Some(Transition::Reminder),
            ChangeKind::Acknowledged => Some(Transition::Acknowledged),
            ChangeKind::Resolved => Some(Transition::Resolved),
            ChangeKind::Pending | ChangeKind::Cleared => None,
        }
    }

    /// The snake_case name, as kept in the alert's history.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Pending => "pending",
            ChangeKind::Firing => "firing",
            ChangeKind::Reminder => "reminder",
            ChangeKind::Acknowledged => "acknowledged",
            ChangeKind::Resolved => "resolved",
            ChangeKind::Cleared => "cleared",
        }
    }
}

/// One alert change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertChange {
    /// What happened.
    pub kind: ChangeKind,
    /// The alert after the change.
    pub alert: Alert,
    /// Why no notification goes out for it (cooldown, max_per_hour, silenced,
    /// inhibited), or `None` when it is notified (if its kind notifies at all).
    pub held_back: Option<String>,
    /// Who or what made the change (`rule` for evaluations, a user for API calls).
    pub by: String,
    /// What the person said about it (acknowledge and resolve from the API or CLI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl AlertChange {
    /// The key a receiver uses to drop duplicates: fingerprint, transition, start
    /// time (and the reminder's time), so a retry of the same delivery carries the
    /// same key and the next time the rule fires gets a new one.
    pub fn idempotency_key(&self) -> String {
        let transition = self.kind.notification().map_or("none", Transition::as_str);
        let mut key = format!(
            "{}:{transition}:{}",
            self.alert.fingerprint,
            self.alert.started_at.timestamp_millis()
        );
        if self.kind == ChangeKind::Reminder {
            key.push_str(&format!(":{}", self.alert.updated_at.timestamp_millis()));
        }
        key
    }
}

/// Why an API action on an alert failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// No open alert has this id.
    #[error("no open alert with id {0:?}")]
    NotFound(String),
    /// The alert is not in a state that allows it (e.g. acknowledging a pending alert).
    #[error("alert {id:?} is {state}; {message}")]
    Conflict {
        /// The alert's id.
        id: String,
        /// Its state.
        state: AlertState,
        /// What is allowed.
        message: String,
    },
    /// The store refused the write.
    #[error("the alert state could not be saved: {0}")]
    Store(String),
}

/// Alert counts and response times, for `/api/v1/alerts/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertStats {
    /// Open alerts by state.
    pub by_state: BTreeMap<String, usize>,
    /// Open (firing or acknowledged) alerts by severity.
    pub by_severity: BTreeMap<String, usize>,
    /// Mean times to acknowledge and to resolve, from the stored history (empty
    /// without a store).
    #[serde(flatten)]
    pub response: ResponseTimes,
}

/// Evaluates rules and notifies channels. Cheap to clone: clones share state.
///
/// [`AlertEngine::evaluate`] is data in, data out; [`AlertEngine::record`]
/// persists changes and queues their notifications in the outbox;
/// [`AlertEngine::spawn`] runs the loop and the delivery workers.
#[derive(Clone)]
pub struct AlertEngine {
    inner: Arc<Mutex<Inner>>,
    pub(crate) outbox: Outbox,
    routes: Arc<[Route]>,
    inhibitions: Arc<[Inhibition]>,
    windows: Arc<[MaintenanceWindow]>,
    store: Option<Store>,
    history_retention: Duration,
    restart_grace: Duration,
    firing: Gauge,
    /// Held from a state change until its write is committed, so that writes reach
    /// the store in the order the changes were made (an acknowledgement is never
    /// overwritten by an evaluation that started before it).
    order: Arc<tokio::sync::Mutex<()>>,
}

struct Inner {
    slots: Vec<Slot>,
    silences: Vec<Silence>,
    /// Until when alerts restored from the store are held open while their data is
    /// missing (set at the first evaluation: then + `restart_grace`).
    grace_until: Option<DateTime<Utc>>,
}

/// The `kind` of a rule's bookkeeping in the store's kept state.
const KEPT_RULE: &str = "rule";

/// A rule with its evaluation state and its open alert instances by fingerprint.
struct Slot {
    rule: Rule,
    state: RuleState,
    last_value: Option<f64>,
    last_evaluated: Option<DateTime<Utc>>,
    error: Option<String>,
    instances: BTreeMap<String, Instance>,
    /// When firing notifications went out, for `max_per_hour`.
    sent: VecDeque<DateTime<Utc>>,
    /// The last firing notification per fingerprint, for `cooldown`.
    last_fired: BTreeMap<String, DateTime<Utc>>,
    /// Outcomes per check of an `each: checks` rule, kept between evaluations.
    memo: EachMemo,
}

struct Instance {
    alert: Alert,
    /// Last time the condition held (for `keep_firing_for`).
    last_held: DateTime<Utc>,
    /// Last notification (firing or reminder), for `repeat_interval`.
    last_notified: Option<DateTime<Utc>>,
    /// Whether its firing was notified (a held-back firing has no resolved notice either).
    notified: bool,
    /// Restored from the store and not evaluated on data since: missing data holds it
    /// open (instead of resolving it) until the restart grace has passed.
    restored: bool,
}

/// A rule's notification bookkeeping as kept in the store, so that cooldown,
/// max_per_hour and reminders go on across restarts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct KeptRule {
    /// Firing notifications of the last hour.
    sent: Vec<DateTime<Utc>>,
    /// The last firing notification per fingerprint.
    last_fired: BTreeMap<String, DateTime<Utc>>,
    /// Per open alert (by fingerprint): its last notification and whether its firing was notified.
    alerts: BTreeMap<String, KeptAlert>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeptAlert {
    last_notified: Option<DateTime<Utc>>,
    notified: bool,
}

impl fmt::Debug for AlertEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules: Vec<String> = self
            .lock()
            .slots
            .iter()
            .map(|s| s.rule.name().to_string())
            .collect();
        f.debug_struct("AlertEngine")
            .field("rules", &rules)
            .field("channels", &self.outbox.names())
            .finish()
    }
}

/// How long alerts restored at start stay open without data, by default.
pub const DEFAULT_RESTART_GRACE: Duration = Duration::from_secs(300);

/// What [`AlertEngine::new`] is built from besides rules and channels.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Routes in order; no route matching: every channel.
    pub routes: Vec<Route>,
    /// Inhibition rules.
    pub inhibitions: Vec<Inhibition>,
    /// Recurring maintenance windows.
    pub maintenance_windows: Vec<MaintenanceWindow>,
    /// How failed deliveries are retried.
    pub retry: RetryPolicy,
    /// How long history is kept in the store (zero: forever).
    pub history_retention: Duration,
    /// Where alert state and the outbox persist; `None`: memory only.
    pub store: Option<Store>,
    /// After a start, how long an alert restored from the store stays open while
    /// the data its rule reads is missing (checks not run yet, no host sample yet):
    /// missing data then means "not known yet", not "resolved". Data that arrives
    /// decides at once.
    pub restart_grace: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            routes: Vec::new(),
            inhibitions: Vec::new(),
            maintenance_windows: Vec::new(),
            retry: RetryPolicy::default(),
            history_retention: Duration::ZERO,
            store: None,
            restart_grace: DEFAULT_RESTART_GRACE,
        }
    }
}

impl AlertEngine {
    /// An engine for `rules` notifying `channels`, memory only, default retries.
    pub fn new(rules: Vec<Rule>, channels: Vec<Channel>) -> AlertEngine {
        AlertEngine::with_options(rules, channels, EngineOptions::default())
    }

    /// An engine with routes, inhibitions, windows, retries and a store. With a
    /// store, open alerts, silences and undelivered notifications are restored.
    pub fn with_options(
        rules: Vec<Rule>,
        channels: Vec<Channel>,
        options: EngineOptions,
    ) -> AlertEngine {
        let mut slots: Vec<Slot> = rules
            .into_iter()
            .map(|rule| Slot {
                state: if rule.enabled() {
                    RuleState::NoData
                } else {
                    RuleState::Ok
                },
                rule,
                last_value: None,
                last_evaluated: None,
                error: None,
                instances: BTreeMap::new(),
                sent: VecDeque::new(),
                last_fired: BTreeMap::new(),
                memo: EachMemo::default(),
            })
            .collect();
        let outbox = Outbox::new(channels, options.retry, options.store.clone());
        let mut silences = Vec::new();
        if let Some(store) = &options.store {
            restore(store, &mut slots, &mut silences, &outbox);
        }
        let engine = AlertEngine {
            inner: Arc::new(Mutex::new(Inner {
                slots,
                silences,
                grace_until: None,
            })),
            outbox,
            routes: options.routes.into(),
            inhibitions: options.inhibitions.into(),
            windows: options.maintenance_windows.into(),
            store: options.store,
            history_retention: options.history_retention,
            restart_grace: options.restart_grace,
            firing: Gauge::default(),
            order: Arc::new(tokio::sync::Mutex::new(())),
        };
        engine.update_gauge(&engine.lock());
        engine
    }

    /// Evaluates every enabled rule against `snapshot` at time `now` and returns
    /// the alert changes, in rule order. Persists and sends nothing: see
    /// [`AlertEngine::record`].
    ///
    /// Per instance: condition holds → pending until `for` has passed (at once for
    /// `for: 0s`), then firing, with reminders every `repeat_interval`; it stops
    /// holding (or its data is gone, unless `on_no_data: alerting`) → resolved after
    /// `keep_firing_for`, a pending one cleared. A failed evaluation → rule state
    /// `error`, and its alerts are left as they were.
    pub fn evaluate(&self, snapshot: &Snapshot, now: DateTime<Utc>) -> Vec<AlertChange> {
        let mut inner = self.lock();
        let context = {
            let read: BTreeSet<&str> = inner
                .slots
                .iter()
                .filter(|s| s.rule.enabled())
                .flat_map(|s| s.rule.variables().iter().map(String::as_str))
                .collect();
            expr::context(snapshot, Some(&read))
        };
        let grace = TimeDelta::from_std(self.restart_grace).unwrap_or(TimeDelta::MAX);
        let grace_until = *inner
            .grace_until
            .get_or_insert_with(|| now.checked_add_signed(grace).unwrap_or(now));
        let in_grace = now < grace_until;
        let mut changes = Vec::new();
        for slot in inner.slots.iter_mut().filter(|s| s.rule.enabled()) {
            slot.step(snapshot, &context, now, in_grace, &mut changes);
        }
        self.hold_back(&inner, &mut changes, now);
        for change in &changes {
            if let Some(slot) = inner
                .slots
                .iter_mut()
                .find(|s| s.rule.name() == change.alert.rule)
            {
                slot.account(change);
            }
        }
        self.update_gauge(&inner);
        changes
    }

    /// Marks changes that must not be notified: silenced, in a maintenance window,
    /// inhibited, in cooldown, over `max_per_hour`.
    fn hold_back(&self, inner: &Inner, changes: &mut [AlertChange], now: DateTime<Utc>) {
        let open: Vec<&Alert> = inner
            .slots
            .iter()
            .flat_map(|s| s.instances.values().map(|i| &i.alert))
            .filter(|a| a.state.is_active())
            .collect();
        for change in changes.iter_mut() {
            let alert = &change.alert;
            let Some(slot) = inner.slots.iter().find(|s| s.rule.name() == alert.rule) else {
                continue;
            };
            let reason = if change.held_back.is_some() {
                change.held_back.clone()
            } else if let Some(s) = inner.silences.iter().find(|s| s.mutes(alert, now)) {
                Some(format!("silenced by {}", s.id))
            } else if let Some(w) = self.windows.iter().find(|w| w.mutes(alert, now)) {
                Some(format!("maintenance window {}", w.name))
            } else if let Some(i) = self.inhibitions.iter().find(|i| i.mutes(alert, &open)) {
                Some(format!("inhibited ({})", i.describe()))
            } else if change.kind == ChangeKind::Firing {
                slot.firing_held_back(&alert.fingerprint, now)
            } else {
                None
            };
            if reason.is_some() {
                change.held_back = reason;
                change.alert.silenced = true;
            }
        }
    }

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
                result = Err(ActionError::Store(e.to_string()));
            }
        }
        for (lane, notification) in queued {
            self.outbox.push(lane, notification);
        }
        result
    }

    /// The bookkeeping of every rule that `changes` touch, to store with them.
    fn kept_rules(&self, changes: &[AlertChange], now: DateTime<Utc>) -> Vec<KeptState> {
        let inner = self.lock();
        let rules: BTreeSet<&str> = changes.iter().map(|c| c.alert.rule.as_str()).collect();
        inner
            .slots
            .iter()
            .filter(|s| rules.contains(s.rule.name()))
            .filter_map(|slot| {
                let body = serde_json::to_value(slot.kept()).ok()?;
                Some(KeptState {
                    kind: KEPT_RULE.to_string(),
                    name: slot.rule.name().to_string(),
                    body,
                    at: now,
                })
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
            .slots
            .iter()
            .flat_map(|s| s.instances.values())
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
        changes
    }

    /// Acknowledges a firing alert: no more reminders; channels hear `acknowledged`.
    pub async fn acknowledge(
        &self,
        id: &str,
        by: &str,
        comment: Option<&str>,
    ) -> Result<Alert, ActionError> {
        let _order = self.order.lock().await;
        let now = Utc::now();
        let change = {
            let mut inner = self.lock();
            let (slot, fingerprint) = find_open(&mut inner.slots, id)?;
            let Some(instance) = slot.instances.get_mut(&fingerprint) else {
                return Err(ActionError::NotFound(id.to_string()));
            };
            if instance.alert.state != AlertState::Firing {
                return Err(ActionError::Conflict {
                    id: id.to_string(),
                    state: instance.alert.state,
                    message: "only a firing alert can be acknowledged".to_string(),
                });
            }
            instance.alert.state = AlertState::Acknowledged;
            instance.alert.acknowledged_by = Some(by.to_string());
            instance.alert.updated_at = now;
            AlertChange {
                kind: ChangeKind::Acknowledged,
                alert: instance.alert.clone(),
                held_back: (!instance.notified).then(|| "its firing was not notified".into()),
                by: by.to_string(),
                comment: comment.map(String::from),
            }
        };
        self.record(std::slice::from_ref(&change)).await?;
        Ok(change.alert)
    }

    /// Resolves an open alert by hand (seed: `POST /health/alerts/{id}/resolve`).
    /// If the condition still holds, the next evaluation opens a new alert.
    pub async fn resolve(
        &self,
        id: &str,
        by: &str,
        comment: Option<&str>,
    ) -> Result<Alert, ActionError> {
        let _order = self.order.lock().await;
        let now = Utc::now();
        let change = {
            let mut inner = self.lock();
            let (slot, fingerprint) = find_open(&mut inner.slots, id)?;
            let Some(instance) = slot.instances.remove(&fingerprint) else {
                return Err(ActionError::NotFound(id.to_string()));
            };
            let mut alert = instance.alert;
            let kind = if alert.state == AlertState::Pending {
                ChangeKind::Cleared
            } else {
                ChangeKind::Resolved
            };
            alert.state = AlertState::Resolved;
            alert.updated_at = now;
            alert.resolved_at = Some(now);
            let change = AlertChange {
                kind,
                alert,
                held_back: (!instance.notified).then(|| "its firing was not notified".into()),
                by: by.to_string(),
                comment: comment.map(String::from),
            };
            self.update_gauge(&inner);
            change
        };
        self.record(std::slice::from_ref(&change)).await?;
        Ok(change.alert)
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

    /// Adds (or replaces, by id) a silence and persists it.
    pub async fn add_silence(&self, silence: Silence) -> Result<(), ActionError> {
        self.save_silence(&silence).await?;
        let mut inner = self.lock();
        inner.silences.retain(|s| s.id != silence.id);
        inner.silences.push(silence);
        Ok(())
    }

    /// Ends a silence now. `Ok(None)` when there is no such silence.
    pub async fn expire_silence(&self, id: &str) -> Result<Option<Silence>, ActionError> {
        let now = Utc::now();
        let expired = {
            let mut inner = self.lock();
            let Some(silence) = inner.silences.iter_mut().find(|s| s.id == id) else {
                return Ok(None);
            };
            if silence.ends_at > now {
                silence.ends_at = now;
            }
            silence.clone()
        };
        self.save_silence(&expired).await?;
        Ok(Some(expired))
    }

    async fn save_silence(&self, silence: &Silence) -> Result<(), ActionError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let body = serde_json::to_value(silence).map_err(|e| ActionError::Store(e.to_string()))?;
        let batch = WriteBatch::from_alerting(vec![AlertWrite::Silence {
            id: silence.id.clone(),
            body,
        }]);
        store
            .write(batch)
            .await
            .map_err(|e| ActionError::Store(e.to_string()))
    }

    /// Every silence, newest end first.
    pub fn silences(&self) -> Vec<Silence> {
        let mut silences = self.lock().silences.clone();
        silences.sort_by_key(|s| std::cmp::Reverse(s.ends_at));
        silences
    }

    /// Firing and acknowledged alerts, most severe first, then oldest first.
    pub fn active_alerts(&self) -> Vec<Alert> {
        self.alerts_where(|a| a.state.is_active())
    }

    /// Open alerts (pending, firing, acknowledged), most severe first, then oldest first.
    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts_where(|_| true)
    }

    /// One open alert by id.
    pub fn alert(&self, id: &str) -> Option<Alert> {
        self.alerts_where(|a| a.id == id).pop()
    }

    /// Open alerts that `keep` accepts, with `silenced` telling whether a silence
    /// or maintenance window mutes them now (one created after the alert fired too).
    fn alerts_where(&self, keep: impl Fn(&Alert) -> bool) -> Vec<Alert> {
        let now = Utc::now();
        let inner = self.lock();
        let mut alerts: Vec<Alert> = inner
            .slots
            .iter()
            .flat_map(|s| s.instances.values().map(|i| &i.alert))
            .filter(|a| keep(a))
            .map(|a| {
                let mut alert = a.clone();
                alert.silenced = inner.silences.iter().any(|s| s.mutes(a, now))
                    || self.windows.iter().any(|w| w.mutes(a, now));
                alert
            })
            .collect();
        drop(inner);
        alerts.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.started_at.cmp(&b.started_at))
        });
        alerts
    }

    /// Open alerts by state and severity, and (with a store) the mean times to
    /// acknowledge and to resolve alerts that fired since `since`.
    pub async fn stats(&self, since: DateTime<Utc>) -> AlertStats {
        let mut stats = AlertStats::default();
        for alert in self.alerts() {
            *stats.by_state.entry(alert.state.to_string()).or_default() += 1;
            if alert.state.is_active() {
                *stats
                    .by_severity
                    .entry(alert.severity.to_string())
                    .or_default() += 1;
            }
        }
        if let Some(store) = &self.store {
            match store.alert_response_times(since).await {
                Ok(response) => stats.response = response,
                Err(e) => tracing::warn!(error = %e, "alert response times could not be read"),
            }
        }
        stats
    }

    /// Every rule and where it stands, in rule order.
    pub fn rules_status(&self) -> Vec<RuleStatus> {
        self.lock()
            .slots
            .iter()
            .map(|s| RuleStatus {
                name: s.rule.name().to_string(),
                expr: s.rule.expr().to_string(),
                severity: s.rule.severity(),
                for_duration: s.rule.for_duration(),
                enabled: s.rule.enabled(),
                state: s.state,
                last_value: s.last_value,
                last_evaluated: s.last_evaluated,
                error: s.error.clone(),
            })
            .collect()
    }

    /// Each channel's delivery state: last success, last error, consecutive failures, queue.
    pub fn channels_status(&self) -> Vec<ChannelStatus> {
        self.outbox.statuses()
    }

    /// The configured channels.
    pub fn channels(&self) -> Vec<Channel> {
        (0..self.outbox.len())
            .map(|i| self.outbox.channel(i).clone())
            .collect()
    }

    /// Registers `mon_alerts_firing` (gauge) and `mon_notifications_total{channel,result}`
    /// (counter; result is `ok`, `error`, `timeout`, `retry` or `dropped`).
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "mon_alerts_firing",
            "Alerts currently firing",
            self.firing.clone(),
        );
        registry.register(
            "mon_notifications",
            "Notification attempts, by channel and result (ok, error, timeout)",
            self.outbox.metrics().sent.clone(),
        );
    }

    fn update_gauge(&self, inner: &Inner) {
        let firing = inner
            .slots
            .iter()
            .flat_map(|s| s.instances.values())
            .filter(|i| i.alert.state.is_active())
            .count();
        self.firing.set(i64::try_from(firing).unwrap_or(i64::MAX));
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Evaluation never leaves a slot half-updated in a way later evaluations
        // cannot repair (rule closures run under catch_unwind), so poisoning is ignored.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The slot and fingerprint of the open alert with `id`.
fn find_open<'a>(slots: &'a mut [Slot], id: &str) -> Result<(&'a mut Slot, String), ActionError> {
    for slot in slots.iter_mut() {
        if let Some(fingerprint) = slot
            .instances
            .iter()
            .find(|(_, i)| i.alert.id == id)
            .map(|(f, _)| f.clone())
        {
            return Ok((slot, fingerprint));
        }
    }
    Err(ActionError::NotFound(id.to_string()))
}

/// Loads open alerts, silences and undelivered notifications from the store.
fn restore(store: &Store, slots: &mut [Slot], silences: &mut Vec<Silence>, outbox: &Outbox) {
    match store.open_alerts_blocking() {
        Ok(alerts) => {
            for alert in alerts {
                let Some(slot) = slots.iter_mut().find(|s| s.rule.name() == alert.rule) else {
                    tracing::info!(rule = %alert.rule, id = %alert.id, "an open alert of a rule that no longer exists is dropped");
                    continue;
                };
                slot.instances.insert(
                    alert.fingerprint.clone(),
                    Instance {
                        last_held: alert.updated_at,
                        last_notified: Some(alert.updated_at),
                        notified: !alert.silenced,
                        restored: true,
                        alert,
                    },
                );
            }
        }
        Err(e) => tracing::error!(error = %e, "open alerts could not be restored"),
    }
    match store.kept_states_blocking(KEPT_RULE) {
        Ok(rows) => {
            for row in rows {
                let Some(slot) = slots.iter_mut().find(|s| s.rule.name() == row.name) else {
                    continue;
                };
                match serde_json::from_value::<KeptRule>(row.body) {
                    Ok(kept) => slot.restore(kept),
                    Err(e) => {
                        tracing::warn!(rule = %row.name, error = %e, "the rule's notification bookkeeping could not be read; it starts afresh");
                    }
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "rule bookkeeping could not be restored"),
    }
    match store.silences_blocking() {
        Ok(rows) => silences.extend(
            rows.into_iter()
                .filter_map(|v| serde_json::from_value(v).ok()),
        ),
        Err(e) => tracing::error!(error = %e, "silences could not be restored"),
    }
    match store.pending_notifications_blocking() {
        Ok(rows) => {
            for row in rows {
                outbox.restore(row);
            }
        }
        Err(e) => tracing::error!(error = %e, "the notification outbox could not be restored"),
    }
}

impl Slot {
    /// Evaluates the rule once and moves its instances along.
    fn step(
        &mut self,
        snapshot: &Snapshot,
        context: &cel::Context<'_, '_>,
        now: DateTime<Utc>,
        in_grace: bool,
        changes: &mut Vec<AlertChange>,
    ) {
        self.last_evaluated = Some(now);
        let outcomes = self.rule.evaluate(snapshot, context, &mut self.memo);
        let mut seen = Vec::with_capacity(outcomes.len());
        let (mut any_error, mut any_value, mut last_value) = (None, false, None);
        for (extra, outcome) in outcomes {
            let mut labels = self.rule.labels().clone();
            labels.extend(extra);
            let fingerprint = Alert::fingerprint_of(self.rule.name(), &labels);
            seen.push(fingerprint.clone());
            let holds = match outcome {
                Outcome::Error(message) => {
                    any_error = Some(message);
                    continue;
                }
                Outcome::NoData => match self.rule.on_no_data() {
                    NoDataPolicy::Alerting => Some((true, None)),
                    NoDataPolicy::NoData => None,
                },
                Outcome::Value { holds, value } => {
                    any_value = true;
                    last_value = value.or(last_value);
                    Some((holds, value))
                }
            };
            match holds {
                Some((true, value)) => self.hold(fingerprint, labels, value, now, changes),
                Some((false, value)) => self.release(&fingerprint, value, now, false, changes),
                None if in_grace && self.is_restored(&fingerprint) => {}
                None => self.release(&fingerprint, None, now, true, changes),
            }
        }
        // Instances whose check went away (or has not been seen since the start).
        let gone: Vec<String> = self
            .instances
            .iter()
            .filter(|(f, i)| !(seen.contains(f) || (in_grace && i.restored)))
            .map(|(f, _)| f.clone())
            .collect();
        for fingerprint in gone {
            self.release(&fingerprint, None, now, true, changes);
        }
        self.last_value = last_value;
        self.error = any_error.clone();
        self.state = if any_error.is_some() {
            RuleState::Error
        } else if self.instances.values().any(|i| i.alert.state.is_active()) {
            RuleState::Firing
        } else if !self.instances.is_empty() {
            RuleState::Pending
        } else if any_value {
            RuleState::Ok
        } else {
            RuleState::NoData
        };
    }

    /// Whether the open instance `fingerprint` was restored and has seen no data since.
    fn is_restored(&self, fingerprint: &str) -> bool {
        self.instances.get(fingerprint).is_some_and(|i| i.restored)
    }

    /// The condition holds: start, advance, refresh or remind.
    fn hold(
        &mut self,
        fingerprint: String,
        labels: BTreeMap<String, String>,
        value: Option<f64>,
        now: DateTime<Utc>,
        changes: &mut Vec<AlertChange>,
    ) {
        let for_duration = TimeDelta::from_std(self.rule.for_duration()).unwrap_or(TimeDelta::MAX);
        let repeat = TimeDelta::from_std(self.rule.repeat_interval()).unwrap_or(TimeDelta::MAX);
        let annotations = self.rule.render_annotations(value, &labels);
        let created = !self.instances.contains_key(&fingerprint);
        let instance = self
            .instances
            .entry(fingerprint.clone())
            .or_insert_with(|| Instance {
                alert: Alert::new(self.rule.name(), self.rule.severity(), labels, now),
                last_held: now,
                last_notified: None,
                notified: false,
                restored: false,
            });
        instance.last_held = now;
        instance.restored = false;
        let alert = &mut instance.alert;
        alert.value = value;
        alert.annotations = annotations;
        let due = now.signed_duration_since(alert.started_at) >= for_duration;
        let kind = match alert.state {
            AlertState::Pending if due => {
                alert.state = AlertState::Firing;
                alert.updated_at = now;
                ChangeKind::Firing
            }
            AlertState::Pending if created => ChangeKind::Pending,
            AlertState::Firing
                if !repeat.is_zero()
                    && instance
                        .last_notified
                        .is_some_and(|t| now.signed_duration_since(t) >= repeat) =>
            {
                alert.updated_at = now;
                ChangeKind::Reminder
            }
            _ => return,
        };
        changes.push(AlertChange {
            kind,
            alert: alert.clone(),
            held_back: None,
            by: "rule".to_string(),
            comment: None,
        });
    }

    /// The condition stopped holding (or its data is gone): clear or resolve,
    /// after `keep_firing_for` for a firing alert whose condition merely went false.
    fn release(
        &mut self,
        fingerprint: &str,
        value: Option<f64>,
        now: DateTime<Utc>,
        no_data: bool,
        changes: &mut Vec<AlertChange>,
    ) {
        let Some(instance) = self.instances.get_mut(fingerprint) else {
            return;
        };
        if !no_data && instance.restored {
            // Data is back: the restored alert is judged on it from now on, and
            // `keep_firing_for` counts from the start.
            instance.restored = false;
            instance.last_held = instance.last_held.max(now);
        }
        let keep = TimeDelta::from_std(self.rule.keep_firing_for()).unwrap_or(TimeDelta::MAX);
        if !no_data
            && instance.alert.state.is_active()
            && now.signed_duration_since(instance.last_held) < keep
        {
            return;
        }
        let Some(instance) = self.instances.remove(fingerprint) else {
            return;
        };
        let mut alert = instance.alert;
        let kind = match alert.state {
            AlertState::Pending => ChangeKind::Cleared,
            _ => ChangeKind::Resolved,
        };
        alert.annotations = self.rule.render_annotations(value, &alert.labels);
        alert.value = value;
        alert.state = AlertState::Resolved;
        alert.updated_at = now;
        alert.resolved_at = Some(now);
        changes.push(AlertChange {
            kind,
            alert,
            held_back: (!instance.notified && kind == ChangeKind::Resolved)
                .then(|| "its firing was not notified".to_string()),
            by: "rule".to_string(),
            comment: None,
        });
    }

    /// Why a firing of `fingerprint` at `now` is not notified, if it is not.
    fn firing_held_back(&self, fingerprint: &str, now: DateTime<Utc>) -> Option<String> {
        let cooldown = TimeDelta::from_std(self.rule.cooldown()).unwrap_or(TimeDelta::MAX);
        if !cooldown.is_zero()
            && self
                .last_fired
                .get(fingerprint)
                .is_some_and(|t| now.signed_duration_since(*t) < cooldown)
        {
            return Some(format!(
                "cooldown of {}",
                mon_core::duration::format(self.rule.cooldown())
            ));
        }
        let limit = self.rule.max_per_hour();
        let hour_ago = now - TimeDelta::hours(1);
        let recent = self.sent.iter().filter(|t| **t > hour_ago).count();
        if limit > 0 && recent >= limit as usize {
            return Some(format!("max_per_hour of {limit} reached"));
        }
        None
    }

    /// The bookkeeping to keep in the store.
    fn kept(&self) -> KeptRule {
        KeptRule {
            sent: self.sent.iter().copied().collect(),
            last_fired: self.last_fired.clone(),
            alerts: self
                .instances
                .iter()
                .map(|(f, i)| {
                    (
                        f.clone(),
                        KeptAlert {
                            last_notified: i.last_notified,
                            notified: i.notified,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Takes back the bookkeeping kept in the store (after the open alerts).
    fn restore(&mut self, kept: KeptRule) {
        self.sent = kept.sent.into_iter().collect();
        self.last_fired = kept.last_fired;
        for (fingerprint, alert) in kept.alerts {
            if let Some(instance) = self.instances.get_mut(&fingerprint) {
                instance.last_notified = alert.last_notified;
                instance.notified = alert.notified;
            }
        }
    }

    /// Books a change's notification against cooldown and max_per_hour.
    fn account(&mut self, change: &AlertChange) {
        let now = change.alert.updated_at;
        let notified = change.held_back.is_none();
        if let Some(instance) = self.instances.get_mut(&change.alert.fingerprint) {
            instance.alert.silenced = change.alert.silenced;
            if matches!(change.kind, ChangeKind::Firing | ChangeKind::Reminder) {
                instance.last_notified = Some(now);
                if change.kind == ChangeKind::Firing {
                    instance.notified = notified;
                }
            }
        }
        if change.kind == ChangeKind::Firing && notified {
            self.last_fired
                .insert(change.alert.fingerprint.clone(), now);
            self.sent.push_back(now);
            let hour_ago = now - TimeDelta::hours(1);
            while self.sent.front().is_some_and(|t| *t <= hour_ago) {
                self.sent.pop_front();
            }
        }
    }
}
