//! [`LoggingError`]: what can go wrong while setting up logging.

/// What can go wrong while setting up logging.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// A level or filter directive could not be parsed.
    #[error(
        "{origin}={value:?}: {reason}; use a level (trace, debug, info, warn, error, off) \
         or directives such as \"info,mon_store=debug\""
    )]
    InvalidDirective {
        /// Where the value came from: `RUST_LOG`, `LOG_LEVEL` or `logging.level`.
        origin: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A global subscriber was installed before (by an earlier `init` or by another library).
    #[error(
        "a global tracing subscriber is already installed ({reason}); call mon_logging::init \
         once, at the start of main, before anything else sets one"
    )]
    AlreadyInitialized {
        /// What tracing reported.
        reason: String,
    },
    /// A `logging.mask_patterns` entry is not a valid regular expression.
    #[error(
        "logging.mask_patterns: mask pattern {pattern:?} is not a valid regular expression: {reason}"
    )]
    InvalidMaskPattern {
        /// The pattern as given.
        pattern: String,
        /// What the regex parser said.
        reason: String,
    },
    /// Another `logging` value is out of range.
    #[error("logging.{key}: {reason}")]
    InvalidConfig {
        /// The key path under `logging`.
        key: String,
        /// What is wrong and what to use instead.
        reason: String,
    },
    /// The log directory could not be prepared.
    #[error("logging.dir {path}: {reason}; check that the directory is writable")]
    Files {
        /// The directory or file.
        path: std::path::PathBuf,
        /// The OS error.
        reason: String,
    },
}
