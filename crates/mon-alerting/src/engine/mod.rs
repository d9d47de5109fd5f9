//! [`AlertEngine`]: evaluates rules against snapshots, keeps their alert instances
//! through pending → firing → acknowledged → resolved, applies silences, routes
//! notifications to the outbox, and persists everything to the store when it has one.
//!
//! One module per responsibility: this one holds the engine's state (a slot per
//! rule, its open alert instances), its construction and the read side (alerts,
//! rule states, statistics, metrics); `lifecycle` evaluates rules and moves alert
//! instances along (pending → firing → resolved, `for`, `keep_firing_for`,
//! reminders, what is held back); `record` persists changes and queues their
//! notifications; `actions` are the operations people call through the API
//! (acknowledge, resolve, silences); `restore` brings open alerts, silences,
//! notification bookkeeping and the outbox back at start; `run` is the evaluation loop;
//! `baselines` keeps and restores the anomaly baselines and reads them for the API;
//! `raised` holds the alerts raised from outside the rules (applications, Alertmanager
//! clients) and resolves them when they are not repeated in time.

mod actions;
mod baselines;
mod lifecycle;
mod raised;
mod record;
mod restore;
mod run;

pub use actions::ActionError;
pub use baselines::KEEP_EVERY as BASELINE_KEEP_EVERY;
pub use lifecycle::{AlertChange, ChangeKind};
pub use raised::{RaiseOutcome, RaisedAlert};
pub use run::SnapshotSource;

use crate::anomaly::Baselines;
use crate::channels::Channel;
use crate::delivery::{ChannelStatus, Outbox, RetryPolicy};
use crate::routing::{Inhibition, Route};
use crate::rule::{EachMemo, Rule};
use crate::silence::{MaintenanceWindow, Silence};
use chrono::{DateTime, Utc};
use mon_core::{Alert, Severity};
use mon_store::{ResponseTimes, Store};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
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
    /// The top-level snapshot variables its expression reads, sorted (none for a
    /// condition written in code).
    #[serde(default)]
    pub variables: Vec<String>,
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
    /// Open alerts raised from outside the rules, by fingerprint.
    raised: BTreeMap<String, Instance>,
    silences: Vec<Silence>,
    /// Until when alerts restored from the store are held open while their data is
    /// missing (set at the first evaluation: then + `restart_grace`).
    grace_until: Option<DateTime<Utc>>,
    /// The anomaly baselines of the variables rules may read.
    baselines: Baselines,
    /// When the baselines were last written to the store.
    baselines_kept_at: Option<DateTime<Utc>>,
}

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
    /// For an alert raised from outside the rules: when it resolves unless it is
    /// raised again before (`None`: only a resolve does).
    resolve_at: Option<DateTime<Utc>>,
}

impl Inner {
    /// Every open alert instance: the rules' and the raised ones.
    fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.slots
            .iter()
            .flat_map(|s| s.instances.values())
            .chain(self.raised.values())
    }

    /// The slot of the rule whose alert `alert` is (`None` for a raised alert).
    fn slot_of(&self, alert: &Alert) -> Option<&Slot> {
        if alert.source.is_some() {
            return None;
        }
        self.slots.iter().find(|s| s.rule.name() == alert.rule)
    }
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
        let mut raised = BTreeMap::new();
        let mut baselines = Baselines::new(
            slots
                .iter()
                .flat_map(|s| s.rule.anomaly_variables().iter().cloned()),
        );
        if let Some(store) = &options.store {
            restore::load(store, &mut slots, &mut raised, &mut silences, &outbox);
            baselines::load(store, &mut baselines);
        }
        let engine = AlertEngine {
            inner: Arc::new(Mutex::new(Inner {
                slots,
                raised,
                silences,
                grace_until: None,
                baselines,
                baselines_kept_at: None,
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
            .instances()
            .map(|i| &i.alert)
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
                variables: s.rule.variables().to_vec(),
            })
            .collect()
    }

    /// The configured rules, in rule order.
    pub(crate) fn rules(&self) -> Vec<Rule> {
        self.lock().slots.iter().map(|s| s.rule.clone()).collect()
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
            .instances()
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
