//! Stakeholder reports (`GET /api/v1/reports/latest`, `GET /api/v1/reports`): one period
//! of the service in nine sections — uptime per check, incidents, calls, voice quality,
//! satisfaction, AI cost, top errors, experiments and deployments — each with its
//! headline figures, a table and one small chart, drawn server-side as SVG so that the
//! same report reads the same in a mail client, the web UI and `mon report`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::ComponentsBuilder;

/// One report: a period and its sections, in [`SectionId::ALL`] order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportAnswer {
    /// The report's title (`Weekly report, 23 Nov – 30 Nov 2026`).
    pub title: String,
    /// `daily`, `weekly`, `every <duration>` for a scheduled report; `custom` for one
    /// made on request over a chosen period.
    pub period: String,
    /// The period's start (included).
    pub from: DateTime<Utc>,
    /// The period's end (excluded).
    pub to: DateTime<Utc>,
    /// When it was made.
    pub generated_at: DateTime<Utc>,
    /// The ingest source label whose events it counts (`demo`...); absent: the events
    /// sent without a label, the service's own.
    pub source: Option<String>,
    /// The sections, in a fixed order.
    pub sections: Vec<ReportSection>,
}

/// Which section a [`ReportSection`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SectionId {
    /// Uptime per check (healthy or degraded runs of all runs).
    Uptime,
    /// Alerts that fired, with the mean times to acknowledge and to resolve.
    Incidents,
    /// Calls ended and their success rate.
    Calls,
    /// Mean opinion score and voice latency.
    VoiceQuality,
    /// Customer satisfaction from feedback.
    Csat,
    /// AI cost, per call and per provider.
    AiCost,
    /// The error groups seen most.
    TopErrors,
    /// Experiments with events in the period, and what they concluded.
    Experiments,
    /// Deployments.
    Deployments,
}

impl SectionId {
    /// Every section, in the order a report lists them.
    pub const ALL: [SectionId; 9] = [
        SectionId::Uptime,
        SectionId::Incidents,
        SectionId::Calls,
        SectionId::VoiceQuality,
        SectionId::Csat,
        SectionId::AiCost,
        SectionId::TopErrors,
        SectionId::Experiments,
        SectionId::Deployments,
    ];

    /// The snake_case name (`voice_quality`).
    pub fn as_str(self) -> &'static str {
        match self {
            SectionId::Uptime => "uptime",
            SectionId::Incidents => "incidents",
            SectionId::Calls => "calls",
            SectionId::VoiceQuality => "voice_quality",
            SectionId::Csat => "csat",
            SectionId::AiCost => "ai_cost",
            SectionId::TopErrors => "top_errors",
            SectionId::Experiments => "experiments",
            SectionId::Deployments => "deployments",
        }
    }

    /// The heading people read (`Voice quality`).
    pub fn title(self) -> &'static str {
        match self {
            SectionId::Uptime => "Uptime",
            SectionId::Incidents => "Incidents",
            SectionId::Calls => "Calls",
            SectionId::VoiceQuality => "Voice quality",
            SectionId::Csat => "Customer satisfaction",
            SectionId::AiCost => "AI cost",
            SectionId::TopErrors => "Top errors",
            SectionId::Experiments => "Experiments",
            SectionId::Deployments => "Deployments",
        }
    }
}

/// One section of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportSection {
    /// Which section it is.
    pub id: SectionId,
    /// Its heading.
    pub title: String,
    /// The headline figures.
    pub figures: Vec<ReportFigure>,
    /// The detail, as rows of text (empty when there is nothing to list).
    pub table: ReportTable,
    /// What the chart shows, as data.
    pub chart: ReportChart,
    /// The chart drawn as a standalone SVG document (no script, no external reference),
    /// for mail clients and the web UI.
    pub chart_svg: String,
    /// A sentence for people when the period holds nothing for this section
    /// (`No calls ended in this period.`).
    pub note: Option<String>,
}

/// One headline figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportFigure {
    /// What it is (`Success rate`).
    pub label: String,
    /// The number; absent when the period has nothing to compute it from.
    pub value: Option<f64>,
    /// The number as people read it (`98.2 %`, `1m 12s`, `$14.20`, `—`).
    pub text: String,
}

/// The detail of a section: named columns and rows of text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportTable {
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

/// What a section's chart draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReportChart {
    /// Labelled horizontal bars (one per check, rule, error...).
    Bars {
        /// The unit of the values (`%`, `alerts`, `USD`...).
        unit: String,
        /// The bars, largest or worst first.
        bars: Vec<ChartBar>,
    },
    /// Values over the period in equal buckets (oldest first), drawn as columns.
    Columns {
        /// The unit of the values.
        unit: String,
        /// The first bucket's start (the period's start).
        start: DateTime<Utc>,
        /// Each bucket's length in seconds.
        step_seconds: u64,
        /// One value per bucket; absent where the bucket had nothing.
        values: Vec<Option<f64>>,
    },
}

/// One bar of a [`ReportChart::Bars`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChartBar {
    /// What it is.
    pub label: String,
    /// Its length.
    pub value: f64,
}

/// The reports' schemas, for the OpenAPI document.
pub(crate) fn components(builder: ComponentsBuilder) -> ComponentsBuilder {
    builder
        .schema_from::<SectionId>()
        .schema_from::<ReportFigure>()
        .schema_from::<ReportTable>()
        .schema_from::<ChartBar>()
        .schema_from::<ReportChart>()
        .schema_from::<ReportSection>()
        .schema_from::<ReportAnswer>()
}
