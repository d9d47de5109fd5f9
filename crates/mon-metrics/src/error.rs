//! `MetricsError`: what can go wrong in mon-metrics.

/// An error from mon-metrics.
///
/// Collecting host metrics never fails as a whole (a value the platform cannot
/// give is left out of the sample); errors are reserved for operations a caller
/// can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The metrics registry could not be written as OpenMetrics text.
    #[error(
        "could not encode the metrics registry as OpenMetrics text ({0}); \
         a metric or label value in the registry cannot be written, check custom collectors"
    )]
    Encode(#[from] std::fmt::Error),
    /// A custom metric cannot be recorded as asked.
    #[error("metric {name:?}: {reason}")]
    InvalidMetric {
        /// The metric name as given.
        name: String,
        /// What is wrong and what to send instead.
        reason: String,
    },
    /// The custom metrics reached their series limit (over every name).
    #[error(
        "metric {name:?}: the limit of {max} custom series (all names together) is reached; \
         use fewer distinct names or label values (metrics.max_series raises it)"
    )]
    TooManySeries {
        /// The metric name.
        name: String,
        /// The limit.
        max: usize,
    },
    /// A batch names an ingest source label beyond the number kept at once.
    #[error(
        "source {label:?}: {max} labelled sources are kept already; \
         delete one (DELETE /api/v1/sources/{{source}}) or send without ?source="
    )]
    TooManySources {
        /// The label as given.
        label: String,
        /// The limit.
        max: usize,
    },
    /// A custom metric's label value is longer than the limit.
    #[error(
        "metric {name:?}: the value of label {label:?} is {len} bytes, over the limit of {max} \
         (metrics.max_label_value_bytes)"
    )]
    LabelValueTooLong {
        /// The metric name.
        name: String,
        /// The label.
        label: String,
        /// The value's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A confidence level outside `(0, stats::MAX_CONFIDENCE]`.
    #[error(
        "confidence {value}: must be a level strictly between 0 and 1 (at most 0.999999), \
         e.g. 0.95 for 95 %"
    )]
    InvalidConfidence {
        /// The level as given.
        value: f64,
    },
    /// A group given to a statistical comparison cannot be compared.
    #[error("group {name:?}: {reason}")]
    InvalidSample {
        /// The group's name (variant or period).
        name: String,
        /// What is wrong with its figures.
        reason: String,
    },
    /// An exporter could not deliver.
    #[error("exporter {exporter}: {reason}")]
    Export {
        /// The exporter (`pushgateway`, `json_file`, `json_http`).
        exporter: &'static str,
        /// What failed.
        reason: String,
        /// Whether the next attempt may succeed (network, 5xx).
        retryable: bool,
    },
}

impl MetricsError {
    /// Whether trying the same operation again can help. Only a failed
    /// export can succeed later; encoding and bad input are deterministic.
    pub fn retryable(&self) -> bool {
        match self {
            MetricsError::Encode(_)
            | MetricsError::InvalidMetric { .. }
            | MetricsError::TooManySeries { .. }
            | MetricsError::TooManySources { .. }
            | MetricsError::LabelValueTooLong { .. }
            | MetricsError::InvalidConfidence { .. }
            | MetricsError::InvalidSample { .. } => false,
            MetricsError::Export { retryable, .. } => *retryable,
        }
    }
}
