//! [`AlertingError`]: what can be wrong with alerting configuration.

/// What can be wrong with alerting configuration. Every message names the rule or
/// channel concerned and says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlertingError {
    /// A rule's `expr` could not be parsed.
    #[error(
        "rule {rule:?}: invalid expression {expr:?} at column {column}: {message} \
         (expressions are CEL, e.g. `cpu_percent > 80 && memory_percent > 90`)"
    )]
    InvalidExpression {
        /// The rule's name.
        rule: String,
        /// The expression as written.
        expr: String,
        /// 1-based column where parsing failed.
        column: usize,
        /// What was expected there.
        message: String,
    },
    /// A rule's `expr` reads a variable nothing provides.
    #[error(
        "rule {rule:?}: unknown variable `{variable}`; {}",
        match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => "use a variable of the metrics catalog (docs/alerting.md), \
                     `checks`, `check` with `each: checks`, or declare it in \
                     alerting.custom_variables".to_string(),
        }
    )]
    UnknownVariable {
        /// The rule's name.
        rule: String,
        /// The variable as written.
        variable: String,
        /// The closest known name, if one is close.
        suggestion: Option<String>,
    },
    /// An annotation template uses an unknown placeholder or is not closed.
    #[error("rule {rule:?}: annotation {annotation:?}: {message}")]
    InvalidTemplate {
        /// The rule's name.
        rule: String,
        /// The annotation's key.
        annotation: String,
        /// What is wrong.
        message: String,
    },
    /// A rule is inconsistent (no name, a field given twice...).
    #[error("rule {rule:?}: {message}")]
    InvalidRule {
        /// The rule's name (may be empty: that can be the problem).
        rule: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Two rules share a name.
    #[error("rule name {name:?} is used more than once; give each rule a unique name")]
    DuplicateRule {
        /// The name used twice.
        name: String,
    },
    /// A channel is misconfigured.
    #[error("channel {channel:?}: {message}")]
    InvalidChannel {
        /// The channel's name (may be empty: that can be the problem).
        channel: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A field of a channel is misconfigured.
    #[error("channel {channel:?}: invalid `{field}`: {message}")]
    InvalidChannelField {
        /// The channel's name.
        channel: String,
        /// The field, relative to the channel's entry (`url`, `headers.X-Team`).
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Two channels share a name.
    #[error("channel name {name:?} is used more than once; give each channel a unique name")]
    DuplicateChannel {
        /// The name used twice.
        name: String,
    },
    /// A route names a channel that is not configured.
    #[error(
        "routes[{route}]: no channel named {channel:?}{}",
        suggestion.as_ref().map(|s| format!("; did you mean {s:?}?")).unwrap_or_default()
    )]
    UnknownChannel {
        /// The route's index in `routes`.
        route: usize,
        /// The name as written.
        channel: String,
        /// The closest configured channel name.
        suggestion: Option<String>,
    },
    /// `evaluation_interval` is zero.
    #[error("alerting.evaluation_interval must be longer than zero; use a duration such as 15s")]
    ZeroEvaluationInterval,
}
