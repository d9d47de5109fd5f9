//! `GET /api/v1/alerts/quality`: the alert-quality report, one row per rule — how often
//! it fired and how its alerts were handled, a verdict (`noisy`, `ok`, `quiet`) with its
//! reasons, and a threshold or `for` suggested from the recorded values.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::ComponentsBuilder;

/// The report over alerts that fired since `since`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertQualityAnswer {
    /// The period's start (`since=`, default 7 days ago).
    pub since: DateTime<Utc>,
    /// The period's end: when the report was made.
    pub until: DateTime<Utc>,
    /// An alert the rule resolved within this many minutes of firing, without
    /// acknowledgement, counts as self-resolved (`flap_minutes=`, default 5).
    pub flap_minutes: u32,
    /// One row per configured rule, in rule order, then rules no longer configured that
    /// fired in the period.
    pub rules: Vec<RuleQualityView>,
}

/// What the report makes of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// It fired often and most of its alerts went unacknowledged.
    Noisy,
    /// It fired, and not noisily.
    Ok,
    /// It never fired in the period.
    Quiet,
}

impl Verdict {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Noisy => "noisy",
            Verdict::Ok => "ok",
            Verdict::Quiet => "quiet",
        }
    }
}

/// One rule's alert quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleQualityView {
    /// The rule's name.
    pub rule: String,
    /// Its expression (`(code)` for a rule written in code; absent for a rule no longer
    /// configured).
    pub expr: Option<String>,
    /// Whether the rule is in the configuration now.
    pub configured: bool,
    /// Alerts that fired in the period.
    pub fired: u64,
    /// Of those, alerts someone acknowledged.
    pub acknowledged: u64,
    /// `acknowledged / fired × 100`; absent when it never fired.
    pub acknowledged_percent: Option<f64>,
    /// Alerts that resolved without anyone acknowledging them.
    pub unacknowledged: u64,
    /// Of those, alerts the rule resolved within `flap_minutes` of firing.
    pub self_resolved: u64,
    /// `self_resolved / fired × 100`; absent when it never fired.
    pub self_resolved_percent: Option<f64>,
    /// Alerts whose notifications a silence or maintenance window held back.
    pub silenced: u64,
    /// Alerts still open.
    pub open: u64,
    /// Median seconds from firing to resolution.
    pub median_firing_seconds: Option<f64>,
    /// Median seconds the self-resolved alerts lasted.
    pub median_self_resolved_seconds: Option<f64>,
    /// Mean seconds from firing to acknowledgement.
    pub mean_time_to_acknowledge_seconds: Option<f64>,
    /// Mean seconds from firing to resolution.
    pub mean_time_to_resolve_seconds: Option<f64>,
    /// `noisy`, `ok` or `quiet`.
    pub verdict: Verdict,
    /// Why, in plain words.
    pub reasons: Vec<String>,
    /// What to change, or why nothing is suggested; absent for a rule that is not noisy.
    pub suggestion: Option<String>,
    /// The threshold at which the rule would have fired about 1 % of the period (a
    /// simple comparison of a recorded variable with a constant only).
    pub suggested_threshold: Option<f64>,
    /// A `for` longer than the median self-resolved alert (`2m`, `5m`...).
    pub suggested_for: Option<String>,
}

/// The report's schemas, for the OpenAPI document.
pub(crate) fn components(builder: ComponentsBuilder) -> ComponentsBuilder {
    builder
        .schema_from::<Verdict>()
        .schema_from::<RuleQualityView>()
        .schema_from::<AlertQualityAnswer>()
}
