//! mon-alerting: rules (CEL expressions or closures) evaluated against the
//! metrics snapshot, alert instances through pending → firing → acknowledged →
//! resolved, silences, maintenance windows, inhibitions, routing, and delivery to
//! channels through a durable outbox.
//!
//! ```no_run
//! # async fn run(hub: mon_core::snapshot::SnapshotHub) -> Result<(), mon_alerting::AlertingError> {
//! let config = mon_alerting::AlertingConfig::default(); // built-in rules, a log channel
//! let engine = config.build()?;
//! let _task = engine.clone().spawn(hub, config.evaluation_interval, std::future::pending());
//! # Ok(()) }
//! ```
//!
//! Map of the crate: [`anomaly`] (a baseline per variable and the score rules read
//! with `anomaly("…")`), `rule` ([`Rule`] and its evaluation; `rule::config`:
//! [`RuleConfig`] and [`default_rules`], data in `default_rules.yaml`), `expr` (CEL conditions:
//! parsing, variables, evaluation), `template` (annotation placeholders), `engine`
//! ([`AlertEngine`]: its state and read side, with one submodule each for
//! `lifecycle` (evaluation, pending → firing → resolved, what is held back),
//! `record` (store and outbox), `actions` (acknowledge, resolve, silences),
//! `restore` (start-up restore, restart grace bookkeeping) and `run` (the
//! evaluation loop)), `silence` ([`Silence`], [`MaintenanceWindow`]), `routing`
//! ([`Route`], [`Inhibition`]), `delivery` (the outbox: one worker per channel,
//! retries), [`channels`] (one module per channel kind, registered by
//! name in a [`Kinds`](mon_core::Kinds) registry: [`channel_kinds`]), `config` ([`AlertingConfig`]) and
//! [`quality`] (the alert-quality report: noisy rules, suggested thresholds) and
//! [`http`] (the alerting API's router, [`http::router`]).

pub mod anomaly;
pub mod channels;
mod config;
mod delivery;
mod engine;
mod error;
mod expr;
pub mod http;
pub mod quality;
mod routing;
mod rule;
mod silence;
mod template;

pub use channels::{Channel, ChannelConfig, Links, channel_kinds};
pub use config::AlertingConfig;
pub use delivery::{ChannelStatus, RetryPolicy, WorkerStart};
pub use engine::{
    ActionError, AlertChange, AlertEngine, AlertStats, BASELINE_KEEP_EVERY, ChangeKind,
    DEFAULT_RESTART_GRACE, EngineOptions, RaiseOutcome, RaisedAlert, RuleState, RuleStatus,
    SnapshotSource,
};
pub use error::AlertingError;
pub use expr::{Expr, ExprError};
/// The snapshot types rules read, from mon-core.
pub use mon_core::snapshot::{CheckSnapshot, Snapshot, SnapshotHub, SnapshotSubscription};
pub use routing::{Inhibition, Route};
pub use rule::{
    DEFAULT_SEVERITY, Each, NoDataPolicy, Rule, RuleCondition, RuleConfig, RuleFn, RuleValue,
    default_rules,
};
pub use silence::{MaintenanceWindow, Matcher, Silence};
