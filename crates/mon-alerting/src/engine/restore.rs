//! Restart safety: open alerts, silences and undelivered notifications are loaded
//! from the store at start, and each rule's notification bookkeeping (cooldown,
//! `max_per_hour`, reminders) is kept in the store with every change and taken back,
//! as is the bookkeeping of raised alerts (when each resolves unless raised again).

use super::{AlertChange, AlertEngine, Instance, Slot};
use crate::delivery::Outbox;
use crate::silence::Silence;
use chrono::{DateTime, Utc};
use mon_store::{KeptState, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The `kind` of a rule's bookkeeping in the store's kept state.
const KEPT_RULE: &str = "rule";

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

/// Loads open alerts, silences and undelivered notifications from the store.
pub(super) fn load(
    store: &Store,
    slots: &mut [Slot],
    raised: &mut BTreeMap<String, Instance>,
    silences: &mut Vec<Silence>,
    outbox: &Outbox,
) {
    match store.open_alerts_blocking() {
        Ok(alerts) => {
            for alert in alerts {
                if alert.source.is_some() {
                    raised.insert(alert.fingerprint.clone(), super::raised::restored(alert));
                    continue;
                }
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
                        resolve_at: None,
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
    super::raised::load_kept(store, raised);
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

impl AlertEngine {
    /// The bookkeeping of every rule that `changes` touch, to store with them.
    pub(super) fn kept_rules(&self, changes: &[AlertChange], now: DateTime<Utc>) -> Vec<KeptState> {
        let inner = self.lock();
        let rules: BTreeSet<&str> = changes
            .iter()
            .filter(|c| c.alert.source.is_none())
            .map(|c| c.alert.rule.as_str())
            .collect();
        let mut kept: Vec<KeptState> = inner
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
            .collect();
        if changes.iter().any(|c| c.alert.source.is_some()) {
            kept.extend(super::raised::kept(&inner.raised, now));
        }
        kept
    }
}

impl Slot {
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
}
