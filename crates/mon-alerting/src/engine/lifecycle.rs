//! Evaluation and the alert lifecycle: each rule's instances go pending → firing
//! (after `for`) → resolved (after `keep_firing_for`), with reminders every
//! `repeat_interval`; changes that must not be notified (silences, maintenance
//! windows, inhibitions, cooldown, `max_per_hour`) are marked held back.

use super::{AlertEngine, Inner, Instance, RuleState, Slot};
use crate::Snapshot;
use crate::expr::{self, Outcome};
use crate::rule::NoDataPolicy;
use chrono::{DateTime, TimeDelta, Utc};
use mon_core::{Alert, AlertState, Transition};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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

impl AlertEngine {
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
        let mut context = {
            let read: BTreeSet<&str> = inner
                .slots
                .iter()
                .filter(|s| s.rule.enabled())
                .flat_map(|s| s.rule.variables().iter().map(String::as_str))
                .collect();
            expr::context(snapshot, Some(&read))
        };
        let scores = inner.baselines.observe(snapshot, now);
        expr::add_anomaly_scores(&mut context, Arc::new(scores));
        let grace = TimeDelta::from_std(self.restart_grace).unwrap_or(TimeDelta::MAX);
        let grace_until = *inner
            .grace_until
            .get_or_insert_with(|| now.checked_add_signed(grace).unwrap_or(now));
        let in_grace = now < grace_until;
        let mut changes = Vec::new();
        for slot in inner.slots.iter_mut().filter(|s| s.rule.enabled()) {
            slot.step(snapshot, &context, now, in_grace, &mut changes);
        }
        inner.expire_raised(now, &mut changes);
        self.hold_back(&inner, &mut changes, now);
        inner.account(&changes);
        self.update_gauge(&inner);
        changes
    }

    /// Marks changes that must not be notified: silenced, in a maintenance window,
    /// inhibited, in cooldown, over `max_per_hour`.
    pub(super) fn hold_back(&self, inner: &Inner, changes: &mut [AlertChange], now: DateTime<Utc>) {
        let open: Vec<&Alert> = inner
            .instances()
            .map(|i| &i.alert)
            .filter(|a| a.state.is_active())
            .collect();
        for change in changes.iter_mut() {
            let alert = &change.alert;
            let slot = inner.slot_of(alert);
            if slot.is_none() && alert.source.is_none() {
                continue;
            }
            let reason = if change.held_back.is_some() {
                change.held_back.clone()
            } else if let Some(s) = inner.silences.iter().find(|s| s.mutes(alert, now)) {
                Some(format!("silenced by {}", s.id))
            } else if let Some(w) = self.windows.iter().find(|w| w.mutes(alert, now)) {
                Some(format!("maintenance window {}", w.name))
            } else if let Some(i) = self.inhibitions.iter().find(|i| i.mutes(alert, &open)) {
                Some(format!("inhibited ({})", i.describe()))
            } else if change.kind == ChangeKind::Firing {
                slot.and_then(|s| s.firing_held_back(&alert.fingerprint, now))
            } else {
                None
            };
            if reason.is_some() {
                change.held_back = reason;
                change.alert.silenced = true;
            }
        }
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
            .entry(fingerprint)
            .or_insert_with(|| Instance {
                alert: Alert::new(self.rule.name(), self.rule.severity(), labels, now),
                last_held: now,
                last_notified: None,
                notified: false,
                restored: false,
                resolve_at: None,
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

    /// Books a change's notification against cooldown and max_per_hour.
    fn account(&mut self, change: &AlertChange) {
        let now = change.alert.updated_at;
        let notified = change.held_back.is_none();
        account_instance(&mut self.instances, change);
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

impl Inner {
    /// Books each change's notification on its open instance, and for rules'
    /// alerts against cooldown and max_per_hour.
    pub(super) fn account(&mut self, changes: &[AlertChange]) {
        for change in changes {
            if change.alert.source.is_some() {
                account_instance(&mut self.raised, change);
            } else if let Some(slot) = self
                .slots
                .iter_mut()
                .find(|s| s.rule.name() == change.alert.rule)
            {
                slot.account(change);
            }
        }
    }
}

/// Marks the open instance of `change` silenced or not, and notified at its firing or reminder.
fn account_instance(instances: &mut BTreeMap<String, Instance>, change: &AlertChange) {
    let Some(instance) = instances.get_mut(&change.alert.fingerprint) else {
        return;
    };
    instance.alert.silenced = change.alert.silenced;
    if matches!(change.kind, ChangeKind::Firing | ChangeKind::Reminder) {
        instance.last_notified = Some(change.alert.updated_at);
        if change.kind == ChangeKind::Firing {
            instance.notified = change.held_back.is_none();
        }
    }
}
