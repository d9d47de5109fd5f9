//! mon-core: the model and the traits every other mon crate speaks.
//!
//! This crate is deliberately small and stable so that an extension crate (a new
//! notification channel, a new check kind) can depend on it alone. It has no
//! runtime, no HTTP server, no database: only data types (including [`Secret`], a string
//! that never prints), two traits, [`HealthCheck`] and [`Notifier`], and [`Kinds`], the
//! registry that turns a `type:` in `mon.yaml` into one of them.

mod alert;
mod check;
pub mod duration;
mod event;
mod exposition;
mod kind;
mod notify;
mod secret;
mod status;
mod suggest;

pub use alert::{Alert, AlertState, Severity};
pub use check::{CheckOutcome, HealthCheck};
pub use event::Event;
pub use exposition::{LabelValue, escape_label_value};
pub use kind::{ChannelFactory, ChannelSpec, CheckFactory, CheckSpec, KindError, KindSpec, Kinds};
pub use notify::{Notification, Notifier, NotifyError, NotifyErrorKind, Transition};
pub use secret::{Secret, redact_url, redact_urls};
pub use status::Status;
pub use suggest::closest;

/// Re-exported so that implementors of [`HealthCheck`] and [`Notifier`] use the
/// same macro version as mon itself.
pub use async_trait::async_trait;
