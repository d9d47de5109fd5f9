//! The answers of `GET /api/v1/experiments` (every experiment with its variants),
//! `GET /api/v1/experiments/{name}` (each variant against the control) and
//! `GET /api/v1/compare` (one stored metric in two periods). mon-metrics' `experiment`
//! and `stats` modules build the comparisons; docs/experiments.md explains them.

use crate::sources::DeploymentView;
use crate::stats::{MeanComparison, Percentiles, RankComparison, RateComparison, SampleComparison};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa::openapi::ComponentsBuilder;

/// One variant of an experiment and the events kept for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VariantView {
    /// The variant.
    pub variant: String,
    /// Events kept for it since `since`.
    pub events: u64,
    /// The first of them.
    pub first_seen: DateTime<Utc>,
    /// The last of them.
    pub last_seen: DateTime<Utc>,
    /// AI cost of its `ai_usage` events that name no call (not in the cost per call);
    /// only in one experiment's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unattributed_ai_cost_usd: Option<f64>,
}

/// One experiment of `GET /api/v1/experiments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExperimentView {
    /// The experiment's name.
    pub name: String,
    /// Its variants, by name.
    pub variants: Vec<VariantView>,
}

/// `GET /api/v1/experiments`: every experiment with events since `since`, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExperimentsAnswer {
    /// The start of the period read.
    pub since: DateTime<Utc>,
    /// How many experiments follow.
    pub count: usize,
    /// The experiments.
    pub experiments: Vec<ExperimentView>,
}

/// One variant against the control: every rate and sample either of them has, by metric
/// name (`call_success_rate`, `request_latency_ms`...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ArmComparisonView {
    /// The variant.
    pub variant: String,
    /// The control it is compared with.
    pub control: String,
    /// The rates (two-proportion z-test).
    pub rates: BTreeMap<String, RateComparison>,
    /// The samples (Welch's t-test and Mann-Whitney U).
    pub samples: BTreeMap<String, SampleComparison>,
    /// Plain sentences: each difference that is significant, with its size.
    pub findings: Vec<String>,
    /// Plain sentences: each figure that cannot tell (too small a sample), by metric.
    pub warnings: Vec<String>,
}

/// `GET /api/v1/compare`: one stored metric in two periods, or before and after a
/// deployment — the means (Welch's t-test) and the distributions (Mann-Whitney U).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompareAnswer {
    /// The stored series' name.
    pub metric: String,
    /// Its labels, as selected (`labels=`).
    pub labels: BTreeMap<String, String>,
    /// The deployment the periods are around (`deployment=`); absent for two periods.
    pub deployment: Option<DeploymentView>,
    /// The first period (before the deployment).
    pub a: ComparedPeriod,
    /// The second period (after the deployment).
    pub b: ComparedPeriod,
    /// The confidence level of the intervals and verdicts.
    pub confidence: f64,
    /// The means compared (b − a).
    pub means: MeanComparison,
    /// The distributions compared.
    pub ranks: RankComparison,
}

/// One period of a [`CompareAnswer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ComparedPeriod {
    /// Its start.
    pub from: DateTime<Utc>,
    /// Its end.
    pub to: DateTime<Utc>,
    /// The stored points it holds.
    pub points: usize,
    /// Their percentiles; absent without points.
    pub percentiles: Option<Percentiles>,
}

/// `GET /api/v1/experiments/{name}`: each variant against the control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExperimentAnswer {
    /// The experiment.
    pub experiment: String,
    /// The start of the period read.
    pub since: DateTime<Utc>,
    /// The variant the others are compared with.
    pub control: String,
    /// The confidence level of every interval and of `significant`.
    pub confidence: f64,
    /// Whether more events exist than were read (narrow `since=`).
    pub truncated: bool,
    /// Every variant, by name.
    pub variants: Vec<VariantView>,
    /// Every variant but the control against it, by name.
    pub comparisons: Vec<ArmComparisonView>,
    /// Plain sentences about the whole answer (one variant only, truncated).
    pub warnings: Vec<String>,
}

/// Adds these answers' schemas to the OpenAPI components.
pub(crate) fn components(builder: ComponentsBuilder) -> ComponentsBuilder {
    use crate::stats::{Interval, MeanEstimate, RankEstimate, RateEstimate};
    builder
        .schema_from::<Interval>()
        .schema_from::<RateEstimate>()
        .schema_from::<RateComparison>()
        .schema_from::<MeanEstimate>()
        .schema_from::<MeanComparison>()
        .schema_from::<Percentiles>()
        .schema_from::<RankEstimate>()
        .schema_from::<RankComparison>()
        .schema_from::<SampleComparison>()
        .schema_from::<VariantView>()
        .schema_from::<ExperimentView>()
        .schema_from::<ExperimentsAnswer>()
        .schema_from::<ArmComparisonView>()
        .schema_from::<ExperimentAnswer>()
        .schema_from::<ComparedPeriod>()
        .schema_from::<CompareAnswer>()
}
