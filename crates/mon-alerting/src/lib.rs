//! mon-alerting: rules (CEL expressions or closures) evaluated against the
//! metrics snapshot, alert instances through pending → firing → acknowledged →
//! resolved, silences, maintenance windows, inhibitions, routing, and delivery to
//! channels through a durable outbox.
//!
//! ```no_run
//! # async fn run(hub: mon_metrics::SnapshotHub) -> Result<(), mon_alerting::AlertingError> {
//! let config = mon_alerting::AlertingConfig::default(); // built-in rules, a log channel
//! let engine = config.build()?;
//! let _task = engine.clone().spawn(hub, config.evaluation_interval, std::future::pending());
//! # Ok(()) }
//! ```
//!
//! Map of the crate: `rule` ([`RuleConfig`], [`Rule`], [`default_rules`]), `expr`
//! (CEL conditions: parsing, variables, evaluation), `template` (annotation
//! placeholders), `engine` ([`AlertEngine`]: evaluation, lifecycle, actions,
//! statistics, persistence), `silence` ([`Silence`], [`MaintenanceWindow`]),
//! `routing` ([`Route`], [`Inhibition`]), `delivery` (the outbox: one worker per
//! channel, retries), `run` (the evaluation loop), [`channels`] (one module per
//! channel kind, registered by name in a [`Kinds`](mon_core::Kinds) registry: [`channel_kinds`])
//! and `config` ([`AlertingConfig`]).

pub mod channels;
mod config;
mod delivery;
mod engine;
mod error;
mod expr;
mod routing;
mod rule;
mod run;
mod silence;
mod template;

pub use channels::{Channel, ChannelConfig, Links, channel_kinds};
pub use config::AlertingConfig;
pub use delivery::{ChannelStatus, RetryPolicy, WorkerStart};
pub use engine::{
    ActionError, AlertChange, AlertEngine, AlertStats, ChangeKind, DEFAULT_RESTART_GRACE,
    EngineOptions, RuleState, RuleStatus,
};
pub use error::AlertingError;
pub use expr::{Expr, ExprError};
/// The snapshot types rules read, from mon-metrics.
pub use mon_metrics::{CheckSnapshot, Snapshot, SnapshotHub, SnapshotSubscription};
pub use routing::{Inhibition, Route};
pub use rule::{
    DEFAULT_SEVERITY, Each, NoDataPolicy, Rule, RuleCondition, RuleConfig, RuleFn, RuleValue,
    default_rules,
};
pub use run::SnapshotSource;
pub use silence::{MaintenanceWindow, Matcher, Silence};
