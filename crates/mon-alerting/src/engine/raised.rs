//! Alerts raised from outside the rules — by an application (`POST /api/v1/alerts`,
//! the agents' library, `mon alerts send`) or by an Alertmanager client such as
//! Prometheus (`POST /api/v2/alerts`): deduplicated by fingerprint (title and labels),
//! held back by silences, maintenance windows and inhibitions, stored and notified
//! like rules' alerts; resolved by a post saying so, by hand, or when they are not
//! raised again before their `resolve_at`. When each one resolves is kept in the store
//! with it, so a restart neither resolves early nor notifies again.

use super::{ActionError, AlertChange, AlertEngine, ChangeKind, Inner, Instance};
use chrono::{DateTime, Utc};
use mon_core::{Alert, AlertState, Severity};
use mon_store::{KeptState, Store, WriteBatch};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `kind` of the raised alerts' bookkeeping in the store's kept state.
const KEPT_RAISED: &str = "raised";
/// Its one document's name.
const KEPT_NAME: &str = "open";

/// An alert raised from outside the rules, as [`AlertEngine::raise`] takes it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RaisedAlert {
    /// What it is about; the alert's [`rule`](Alert::rule). With the labels, it makes
    /// the fingerprint that deduplicates.
    pub title: String,
    /// How bad it is.
    pub severity: Severity,
    /// Identifying labels (routes, silences and inhibitions match them).
    pub labels: BTreeMap<String, String>,
    /// Descriptive text: `summary`, `runbook_url`, `metric`, `threshold`...
    pub annotations: BTreeMap<String, String>,
    /// The value observed, when there is one.
    pub value: Option<f64>,
    /// Whether this post resolves the alert instead of raising it.
    pub resolved: bool,
    /// When the alert resolves unless it is raised again before (`None`: only a
    /// resolve does).
    pub resolve_at: Option<DateTime<Utc>>,
    /// Who raised it (see [`Alert::source`]).
    pub source: String,
}

impl RaisedAlert {
    /// A firing alert `title` of `severity` for `labels`, raised by `source`, without
    /// annotations, value or `resolve_at`.
    pub fn firing(
        title: impl Into<String>,
        severity: Severity,
        labels: BTreeMap<String, String>,
        source: impl Into<String>,
    ) -> RaisedAlert {
        RaisedAlert {
            title: title.into(),
            severity,
            labels,
            annotations: BTreeMap::new(),
            value: None,
            resolved: false,
            resolve_at: None,
            source: source.into(),
        }
    }
}

/// What a raised alert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaiseOutcome {
    /// A new alert fires.
    Opened,
    /// The alert was open: its text, value and `resolve_at` are updated, nothing is notified.
    Refreshed,
    /// The open alert is resolved.
    Resolved,
    /// A resolve for an alert that is not open: nothing to do.
    NotOpen,
}

impl RaiseOutcome {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RaiseOutcome::Opened => "opened",
            RaiseOutcome::Refreshed => "refreshed",
            RaiseOutcome::Resolved => "resolved",
            RaiseOutcome::NotOpen => "not_open",
        }
    }
}

impl AlertEngine {
    /// Raises (or resolves) `alerts` in order, records the changes (store, outbox) and
    /// answers what each did with the alert after it (`None` for
    /// [`RaiseOutcome::NotOpen`]).
    pub async fn raise(
        &self,
        alerts: Vec<RaisedAlert>,
    ) -> Result<Vec<(RaiseOutcome, Option<Alert>)>, ActionError> {
        let _order = self.order.lock().await;
        let now = Utc::now();
        let (changes, mut outcomes, kept) = {
            let mut inner = self.lock();
            let mut changes = Vec::new();
            let outcomes: Vec<(RaiseOutcome, Option<Alert>)> = alerts
                .into_iter()
                .map(|a| inner.raise_one(a, now, &mut changes))
                .collect();
            self.hold_back(&inner, &mut changes, now);
            inner.account(&changes);
            self.update_gauge(&inner);
            (changes, outcomes, kept(&inner.raised, now))
        };
        for (_, alert) in &mut outcomes {
            if let Some(alert) = alert
                && let Some(change) = changes.iter().find(|c| c.alert.id == alert.id)
            {
                alert.silenced = change.alert.silenced;
            }
        }
        match &self.store {
            // A refresh moves `resolve_at`, which a restart must see.
            Some(store) if changes.is_empty() => store.write(WriteBatch::from_kept(kept)).await?,
            _ => self.record(&changes).await?,
        }
        Ok(outcomes)
    }
}

impl Inner {
    /// Raises or resolves one alert at `now`, pushing the change it makes.
    fn raise_one(
        &mut self,
        raised: RaisedAlert,
        now: DateTime<Utc>,
        changes: &mut Vec<AlertChange>,
    ) -> (RaiseOutcome, Option<Alert>) {
        let fingerprint = Alert::fingerprint_of(&raised.title, &raised.labels);
        if raised.resolved {
            let Some(instance) = self.raised.remove(&fingerprint) else {
                return (RaiseOutcome::NotOpen, None);
            };
            let change = resolution(instance, now, raised.source);
            let alert = change.alert.clone();
            changes.push(change);
            return (RaiseOutcome::Resolved, Some(alert));
        }
        if let Some(instance) = self.raised.get_mut(&fingerprint) {
            let alert = &mut instance.alert;
            alert.severity = raised.severity;
            alert.annotations = raised.annotations;
            alert.value = raised.value;
            instance.last_held = now;
            instance.resolve_at = raised.resolve_at;
            return (RaiseOutcome::Refreshed, Some(alert.clone()));
        }
        let mut alert = Alert::new(&raised.title, raised.severity, raised.labels, now)
            .with_state(AlertState::Firing)
            .with_value(raised.value)
            .with_source(&raised.source);
        alert.annotations = raised.annotations;
        self.raised.insert(
            fingerprint,
            Instance {
                alert: alert.clone(),
                last_held: now,
                last_notified: None,
                notified: false,
                restored: false,
                resolve_at: raised.resolve_at,
            },
        );
        changes.push(AlertChange {
            kind: ChangeKind::Firing,
            alert: alert.clone(),
            held_back: None,
            by: raised.source,
            comment: None,
        });
        (RaiseOutcome::Opened, Some(alert))
    }

    /// Resolves the raised alerts whose `resolve_at` has come (the evaluation loop calls it).
    pub(super) fn expire_raised(&mut self, now: DateTime<Utc>, changes: &mut Vec<AlertChange>) {
        let due: Vec<String> = self
            .raised
            .iter()
            .filter(|(_, i)| i.resolve_at.is_some_and(|t| t <= now))
            .map(|(f, _)| f.clone())
            .collect();
        for fingerprint in due {
            if let Some(instance) = self.raised.remove(&fingerprint) {
                changes.push(resolution(instance, now, "not raised again in time".into()));
            }
        }
    }
}

/// The resolution of a raised alert at `now` by `by`: notified unless its firing was not.
fn resolution(instance: Instance, now: DateTime<Utc>, by: String) -> AlertChange {
    let mut alert = instance.alert;
    alert.state = AlertState::Resolved;
    alert.updated_at = now;
    alert.resolved_at = Some(now);
    AlertChange {
        kind: ChangeKind::Resolved,
        alert,
        held_back: (!instance.notified).then(|| "its firing was not notified".into()),
        by,
        comment: None,
    }
}

/// A raised alert's bookkeeping as kept in the store.
#[derive(Debug, Serialize, Deserialize)]
struct KeptRaised {
    resolve_at: Option<DateTime<Utc>>,
    last_notified: Option<DateTime<Utc>>,
    notified: bool,
}

/// The bookkeeping of the open raised alerts, to store with their changes.
pub(super) fn kept(raised: &BTreeMap<String, Instance>, now: DateTime<Utc>) -> Vec<KeptState> {
    let body: BTreeMap<&str, KeptRaised> = raised
        .iter()
        .map(|(f, i)| {
            (
                f.as_str(),
                KeptRaised {
                    resolve_at: i.resolve_at,
                    last_notified: i.last_notified,
                    notified: i.notified,
                },
            )
        })
        .collect();
    serde_json::to_value(body)
        .ok()
        .map(|body| KeptState {
            kind: KEPT_RAISED.to_string(),
            name: KEPT_NAME.to_string(),
            body,
            at: now,
        })
        .into_iter()
        .collect()
}

/// An open raised alert read back from the store (its bookkeeping follows in [`load_kept`]).
pub(super) fn restored(alert: Alert) -> Instance {
    Instance {
        last_held: alert.updated_at,
        last_notified: Some(alert.updated_at),
        notified: !alert.silenced,
        restored: false,
        resolve_at: None,
        alert,
    }
}

/// Takes back the raised alerts' bookkeeping kept in the store (after the open alerts).
pub(super) fn load_kept(store: &Store, raised: &mut BTreeMap<String, Instance>) {
    let rows = match store.kept_states_blocking(KEPT_RAISED) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "the raised alerts' bookkeeping could not be restored");
            return;
        }
    };
    for row in rows.into_iter().filter(|r| r.name == KEPT_NAME) {
        match serde_json::from_value::<BTreeMap<String, KeptRaised>>(row.body) {
            Ok(kept) => {
                for (fingerprint, k) in kept {
                    if let Some(instance) = raised.get_mut(&fingerprint) {
                        instance.resolve_at = k.resolve_at;
                        instance.last_notified = k.last_notified;
                        instance.notified = k.notified;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the raised alerts' bookkeeping could not be read; they stay open until resolved");
            }
        }
    }
}
