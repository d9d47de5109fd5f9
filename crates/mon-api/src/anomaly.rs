//! `GET /api/v1/anomaly/{variable}`: a variable's anomaly baseline now and its band
//! (expected ± k × deviation) over a range, which the web UI draws behind the variable's
//! chart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A variable's baseline and band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnomalyAnswer {
    /// The variable (a rule snapshot variable).
    pub variable: String,
    /// The band's half-width in deviations (`k=`, default 4: the built-in rule's threshold).
    pub k: f64,
    /// Samples the baseline has learned (one a minute).
    pub samples: u64,
    /// Whether it scores values (past the warm-up); `anomaly()` is no data before.
    pub warm: bool,
    /// Whether the hour-of-week baseline is in use (after a week of data).
    pub seasonal: bool,
    /// When it last learned a sample.
    pub last_sample: Option<DateTime<Utc>>,
    /// The variable's value now, if it has one.
    pub value: Option<f64>,
    /// The value expected now.
    pub expected: Option<f64>,
    /// The deviation now, in the variable's unit.
    pub deviation: Option<f64>,
    /// `(value − expected) / deviation` now: what `anomaly("…")` reads (absent while warming up).
    pub score: Option<f64>,
    /// The range's start.
    pub from: DateTime<Utc>,
    /// The range's end.
    pub to: DateTime<Utc>,
    /// The band over the range, by the current model (its level and, once seasonal, the
    /// hour of the week); empty before the first sample.
    pub band: Vec<AnomalyBandPoint>,
}

/// One point of the band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnomalyBandPoint {
    /// When.
    pub ts: DateTime<Utc>,
    /// The expected value.
    pub expected: f64,
    /// expected − k × deviation.
    pub lower: f64,
    /// expected + k × deviation.
    pub upper: f64,
}
