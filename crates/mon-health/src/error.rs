//! `HealthError`: what can go wrong while configuring checks (never while running them).

/// An error in check configuration or registration.
///
/// Running a check never produces an error: a failed probe is a
/// [`CheckOutcome`](mon_core::CheckOutcome) with `status: unhealthy`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// A config field has a value mon cannot use.
    #[error("check {check:?}: invalid `{field}`: {message}")]
    InvalidConfig {
        /// The check's name (empty if the name itself is missing).
        check: String,
        /// The field, as written in config (`url`, `headers.X-Token`, `cpu_warning`...).
        field: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// A check's entry as a whole cannot make a check of its kind (a field is missing,
    /// the probe cannot be set up).
    #[error("check {check:?}: {message}")]
    InvalidKind {
        /// The check's name.
        check: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// Two checks share a name.
    #[error(
        "check {check:?} is defined more than once: check names must be unique, rename one of them"
    )]
    DuplicateCheck {
        /// The repeated name.
        check: String,
    },
    /// A heartbeat ping named a check that is not a `heartbeat` check.
    #[error(
        "there is no heartbeat check named {check:?}; add one with `type: heartbeat` to checks"
    )]
    UnknownHeartbeat {
        /// The name in the ping.
        check: String,
    },
    /// The check's client or probe could not be set up.
    #[error("check {check:?}: cannot set up the {kind} check: {message}")]
    Build {
        /// The check's name.
        check: String,
        /// The check kind (`http`, `system`...).
        kind: String,
        /// What failed.
        message: String,
    },
}

impl HealthError {
    /// Shorthand for [`HealthError::InvalidConfig`].
    pub(crate) fn invalid(
        check: &str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> HealthError {
        HealthError::InvalidConfig {
            check: check.to_owned(),
            field: field.into(),
            message: message.into(),
        }
    }
}
