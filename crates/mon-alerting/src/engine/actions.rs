//! What people do to alerts through the API and the CLI: acknowledge, resolve by
//! hand, and add or expire silences.

use super::{AlertChange, AlertEngine, ChangeKind, Inner, Instance};
use crate::silence::Silence;
use chrono::{DateTime, Utc};
use mon_core::{Alert, AlertState};
use mon_store::{AlertWrite, StoreError, WriteBatch};
use std::collections::BTreeMap;

/// Why an API action on an alert failed.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The store refused the write; the store's error is the source, so that a
    /// caller tells a full queue (retry) from a failure.
    #[error("the alert state could not be saved")]
    Store(#[from] StoreError),
    /// A silence could not be encoded for the store.
    #[error("the silence could not be encoded: {0}")]
    Encode(String),
}

impl AlertEngine {
    /// Acknowledges a firing alert: no more reminders; channels hear `acknowledged`.
    pub async fn acknowledge(
        &self,
        id: &str,
        by: &str,
        comment: Option<&str>,
    ) -> Result<Alert, ActionError> {
        self.act(id, |instances, fingerprint, now| {
            let Some(instance) = instances.get_mut(&fingerprint) else {
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
            let alert = instance.alert.clone();
            Ok(by_hand(
                ChangeKind::Acknowledged,
                alert,
                instance.notified,
                by,
                comment,
            ))
        })
        .await
    }

    /// Resolves an open alert by hand (seed: `POST /health/alerts/{id}/resolve`).
    /// If the condition still holds, the next evaluation opens a new alert.
    pub async fn resolve(
        &self,
        id: &str,
        by: &str,
        comment: Option<&str>,
    ) -> Result<Alert, ActionError> {
        self.act(id, |instances, fingerprint, now| {
            let Some(instance) = instances.remove(&fingerprint) else {
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
            Ok(by_hand(kind, alert, instance.notified, by, comment))
        })
        .await
    }

    /// Changes the open alert `id` with `change` (given the open instances it is
    /// among, its fingerprint and the time), in the order of every state change, records the
    /// change and answers the alert after it.
    async fn act(
        &self,
        id: &str,
        change: impl FnOnce(
            &mut BTreeMap<String, Instance>,
            String,
            DateTime<Utc>,
        ) -> Result<AlertChange, ActionError>,
    ) -> Result<Alert, ActionError> {
        let _order = self.order.lock().await;
        let now = Utc::now();
        let change = {
            let mut inner = self.lock();
            let (instances, fingerprint) = find_open(&mut inner, id)?;
            let mut change = change(instances, fingerprint, now)?;
            // A silence (or window, or inhibition) mutes what people do to the alert too:
            // its acknowledgement or resolution is kept, not notified.
            self.hold_back(&inner, std::slice::from_mut(&mut change), now);
            self.update_gauge(&inner);
            change
        };
        self.record(std::slice::from_ref(&change)).await?;
        Ok(change.alert)
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
        let body = serde_json::to_value(silence).map_err(|e| ActionError::Encode(e.to_string()))?;
        let batch = WriteBatch::from_alerting(vec![AlertWrite::Silence {
            id: silence.id.clone(),
            body,
        }]);
        Ok(store.write(batch).await?)
    }

    /// Every silence, newest end first.
    pub fn silences(&self) -> Vec<Silence> {
        let mut silences = self.lock().silences.clone();
        silences.sort_by_key(|s| std::cmp::Reverse(s.ends_at));
        silences
    }
}

/// A change made by a person: notified unless the alert's firing was not.
fn by_hand(
    kind: ChangeKind,
    alert: Alert,
    notified: bool,
    by: &str,
    comment: Option<&str>,
) -> AlertChange {
    AlertChange {
        kind,
        alert,
        held_back: (!notified).then(|| "its firing was not notified".into()),
        by: by.to_string(),
        comment: comment.map(String::from),
    }
}

/// The open instances (a rule's, or the raised ones) holding the alert `id`, and its
/// fingerprint.
fn find_open<'a>(
    inner: &'a mut Inner,
    id: &str,
) -> Result<(&'a mut BTreeMap<String, Instance>, String), ActionError> {
    let maps = inner
        .slots
        .iter_mut()
        .map(|s| &mut s.instances)
        .chain(std::iter::once(&mut inner.raised));
    for instances in maps {
        if let Some(fingerprint) = instances
            .iter()
            .find(|(_, i)| i.alert.id == id)
            .map(|(f, _)| f.clone())
        {
            return Ok((instances, fingerprint));
        }
    }
    Err(ActionError::NotFound(id.to_string()))
}
