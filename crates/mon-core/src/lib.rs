//! mon-core: the model and the traits every other mon crate speaks.
//!
//! This crate is deliberately small and stable so that an extension crate (a new
//! notification channel, a new check kind) can depend on it alone. It has no
//! runtime, no HTTP server, no database: only data types (including [`Secret`], a string
//! that never prints), two traits, [`HealthCheck`] and [`Notifier`], and [`Kinds`], the
//! registry that turns a `type:` in `mon.yaml` into one of them.
//!
//! It also holds the contract between the producers of metrics and the alert rules:
//! the rule [`snapshot`] (a flat map of named values plus a per-check map, shared through
//! a [`snapshot::SnapshotHub`]) and the [`catalog`] of its variables, whose names are
//! the constants of [`vars`]. The hub wakes its readers through `tokio::sync::watch`:
//! mon-core uses tokio's `sync` feature only, never its runtime.

mod alert;
pub mod catalog;
mod check;
pub mod duration;
mod event;
mod exposition;
mod kind;
mod markup;
mod notify;
pub mod privacy;
mod secret;
pub mod snapshot;
mod status;
mod suggest;

pub use alert::{Alert, AlertState, Severity};
pub use catalog::vars;
pub use check::{CheckOutcome, HealthCheck};
pub use event::{
    AiUsageEvent, Arm, AuthEvent, CallEndedEvent, CallStartedEvent, CounterEvent, DeploymentEvent,
    ErrorEvent, Event, FeatureEvent, FeedbackEvent, FreeText, GaugeEvent, HeartbeatEvent,
    InvalidEvent, LivekitEvent, LogEvent, MAX_COMMENT_BYTES, RequestEvent, SecurityEvent,
    SessionEvent, SessionOutcome, SessionPhase, Thumbs, VoiceQualityEvent,
};
pub use exposition::{LabelValue, check_label_name, check_metric_name, escape_label_value};
pub use kind::{ChannelFactory, ChannelSpec, CheckFactory, CheckSpec, KindError, KindSpec, Kinds};
pub use markup::escape_markup;
pub use notify::{Message, Notification, Notifier, NotifyError, NotifyErrorKind, Transition};
pub use privacy::Privacy;
pub use secret::{Secret, redact_url, redact_urls};
pub use status::Status;
pub use suggest::closest;

/// Re-exported so that implementors of [`HealthCheck`] and [`Notifier`] use the
/// same macro version as mon itself.
pub use async_trait::async_trait;
