//! The sections of a report, each read from the store over the period: uptime from the
//! check results, incidents from the alert history (`mon_alerting::quality`), calls,
//! voice quality, AI cost and deployments from the application events (added up in SQL,
//! `Store::event_totals`), satisfaction from the feedback events (one definition of
//! "satisfied": `FeedbackEvent::satisfied`), top errors from error tracking, and
//! experiments through the experiments' own comparison.

use super::Reports;
use super::svg;
use chrono::{DateTime, TimeDelta, Utc};
use mon_api::reports::{
    ChartBar, ReportChart, ReportFigure, ReportSection, ReportTable, SectionId,
};
use mon_core::Event;
use mon_http::ApiError;
use mon_store::{Aggregate, EventTotals, EventTotalsQuery};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Bucket lengths a report's columns use: the shortest that cuts the period into at
/// most [`MAX_COLUMNS`].
const STEPS: [i64; 13] = [
    1,
    5,
    15,
    60,
    300,
    900,
    3_600,
    3 * 3_600,
    6 * 3_600,
    86_400,
    7 * 86_400,
    30 * 86_400,
    365 * 86_400,
];
const MAX_COLUMNS: i64 = 24;
/// Rows of a section's table at most (the largest first).
const MAX_ROWS: usize = 10;
/// Feedback events read for the satisfaction section at most.
const MAX_FEEDBACK: u32 = 200_000;
/// Deployments listed at most.
const MAX_DEPLOYMENTS: u32 = 1_000;
/// Experiments compared at most.
const MAX_EXPERIMENTS: usize = 20;
/// A mean opinion score below this is poor (ITU-T G.107: many users dissatisfied).
const POOR_MOS: f64 = 3.6;

/// The period and how its columns are cut.
#[derive(Debug, Clone, Copy)]
pub(super) struct Period {
    pub(super) from: DateTime<Utc>,
    pub(super) to: DateTime<Utc>,
    /// Columns in the period.
    pub(super) buckets: u32,
    /// Each column's length in seconds.
    pub(super) step: i64,
}

impl Period {
    pub(super) fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Period {
        let length = (to - from).num_seconds().max(1);
        let step = STEPS
            .iter()
            .copied()
            .find(|s| (length + s - 1) / s <= MAX_COLUMNS)
            .unwrap_or(365 * 86_400);
        Period {
            from,
            to,
            buckets: u32::try_from((length + step - 1) / step)
                .unwrap_or(1)
                .max(1),
            step,
        }
    }

    /// The column `t` falls in.
    fn bucket(&self, t: DateTime<Utc>) -> usize {
        usize::try_from((t - self.from).num_seconds().max(0) / self.step).unwrap_or(0)
    }

    /// A columns chart of `values` (one per column).
    fn columns(&self, unit: &str, values: Vec<Option<f64>>) -> ReportChart {
        ReportChart::Columns {
            unit: unit.to_owned(),
            start: self.from,
            step_seconds: u64::try_from(self.step).unwrap_or(1),
            values,
        }
    }

    /// The store query of `kind` over the period in its columns (or as one total).
    fn totals(
        &self,
        kind: &str,
        source: Option<&str>,
        columns: bool,
        aggregates: Vec<Aggregate>,
    ) -> EventTotalsQuery {
        EventTotalsQuery {
            kind: kind.to_owned(),
            from: self.from,
            // The store cuts `to - from` into equal buckets: ask for whole columns.
            to: if columns {
                self.from + TimeDelta::seconds(self.step * i64::from(self.buckets))
            } else {
                self.to
            },
            buckets: if columns { self.buckets } else { 1 },
            group_by: None,
            source: source.map(str::to_owned),
            aggregates,
        }
    }
}

/// A figure with its text.
fn figure(label: &str, value: Option<f64>, text: impl FnOnce(f64) -> String) -> ReportFigure {
    ReportFigure {
        label: label.to_owned(),
        value,
        text: value.map_or_else(|| "—".to_owned(), text),
    }
}

fn count(label: &str, n: u64) -> ReportFigure {
    figure(label, Some(n as f64), |v| format!("{v:.0}"))
}

fn percent(v: f64) -> String {
    if (99.0..100.0).contains(&v) {
        format!("{v:.2} %")
    } else {
        format!("{v:.1} %")
    }
}

/// Dollars to the cent (the figure's `value` keeps the exact amount).
fn usd(v: f64) -> String {
    if v > 0.0 && v < 0.005 {
        "< $0.01".to_owned()
    } else {
        format!("${v:.2}")
    }
}

/// A p-value to 2 decimals, as every figure of the report.
fn p_value(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 0.01 => "p < 0.01".to_owned(),
        Some(p) => format!("p = {p:.2}"),
        None => "no p-value".to_owned(),
    }
}

/// The significant differences of one variant from the control, in words with at most
/// two decimals: rates in %, samples by their means.
fn findings(c: &mon_api::experiments::ArmComparisonView) -> Vec<String> {
    let rates = c
        .rates
        .iter()
        .filter(|(_, r)| r.significant)
        .map(|(metric, r)| {
            let pct = |e: &mon_api::stats::RateEstimate| {
                e.rate
                    .map_or_else(|| "—".to_owned(), |v| percent(v * 100.0))
            };
            format!(
                "{metric}: {} {} vs {} {} ({})",
                c.variant,
                pct(&r.b),
                c.control,
                pct(&r.a),
                p_value(r.p_value)
            )
        });
    let samples = c
        .samples
        .iter()
        .filter(|(_, s)| s.means.significant)
        .map(|(metric, s)| {
            let mean = |e: &mon_api::stats::MeanEstimate| {
                e.mean.map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"))
            };
            format!(
                "{metric}: mean {} {} vs {} {} ({})",
                c.variant,
                mean(&s.means.b),
                c.control,
                mean(&s.means.a),
                p_value(s.means.p_value)
            )
        });
    rates.chain(samples).collect()
}

/// Seconds as people read them, to the second (`1m 12s`, `3h 5m`), as mon writes every
/// duration.
fn seconds(v: f64) -> String {
    mon_core::duration::format(Duration::from_secs(v.max(0.0).round() as u64))
}

fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole)
}

/// The per-column values of `rows` (from a columns query), `value` of each row.
fn by_column(
    period: &Period,
    rows: &[EventTotals],
    value: impl Fn(&EventTotals) -> Option<f64>,
) -> Vec<Option<f64>> {
    let mut out = vec![None; period.buckets as usize];
    for row in rows {
        if let Some(slot) = out.get_mut(row.bucket as usize) {
            *slot = value(row);
        }
    }
    out
}

/// A section with its chart drawn.
fn section(
    id: SectionId,
    figures: Vec<ReportFigure>,
    table: ReportTable,
    chart: ReportChart,
    note: Option<String>,
) -> ReportSection {
    let chart_svg = svg::render(&chart, id.title());
    ReportSection {
        id,
        title: id.title().to_owned(),
        figures,
        table,
        chart,
        chart_svg,
        note,
    }
}

fn table(columns: &[&str], rows: Vec<Vec<String>>) -> ReportTable {
    ReportTable {
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows,
    }
}

impl Reports {
    /// Every section of the period, in [`SectionId::ALL`] order.
    pub(super) async fn sections(
        &self,
        period: &Period,
        source: Option<&str>,
    ) -> Result<Vec<ReportSection>, ApiError> {
        let calls = self.calls(period, source).await?;
        let calls_ended = calls.figures.first().and_then(|f| f.value).unwrap_or(0.0);
        Ok(vec![
            self.uptime(period).await?,
            self.incidents(period).await?,
            calls,
            self.voice(period, source).await?,
            self.csat(period, source).await?,
            self.ai_cost(period, source, calls_ended).await?,
            self.top_errors(period).await?,
            self.experiments(period).await?,
            self.deployments(period, source).await?,
        ])
    }

    /// The events of `kind` over the period added up: their count and one value per
    /// aggregate (zeroes when there were none), and the same per column.
    async fn totals_and_columns(
        &self,
        period: &Period,
        kind: &str,
        source: Option<&str>,
        aggregates: Vec<Aggregate>,
    ) -> Result<((u64, Vec<f64>), Vec<EventTotals>), ApiError> {
        let n = aggregates.len();
        let totals = self
            .store
            .event_totals(period.totals(kind, source, false, aggregates.clone()))
            .await?;
        let columns = self
            .store
            .event_totals(period.totals(kind, source, true, aggregates))
            .await?;
        let total = totals
            .first()
            .map_or((0, vec![0.0; n]), |r| (r.events, r.values.clone()));
        Ok((total, columns))
    }

    async fn uptime(&self, period: &Period) -> Result<ReportSection, ApiError> {
        let window = (period.to - period.from)
            .to_std()
            .unwrap_or(Duration::from_secs(1));
        let history = self
            .store
            .check_history(self.checks.to_vec(), window, period.buckets, period.to)
            .await?;
        let mut rows: Vec<(String, u64, u64)> = self
            .checks
            .iter()
            .zip(&history)
            .map(|(name, buckets)| {
                let runs = buckets.iter().map(|b| b.runs).sum();
                let up = buckets.iter().map(|b| b.up).sum();
                (name.clone(), runs, up)
            })
            .filter(|(_, runs, _)| *runs > 0)
            .collect();
        let uptime = |runs: u64, up: u64| up as f64 * 100.0 / runs.max(1) as f64;
        rows.sort_by(|a, b| {
            uptime(a.1, a.2)
                .total_cmp(&uptime(b.1, b.2))
                .then(a.0.cmp(&b.0))
        });
        let (runs, up) = rows
            .iter()
            .fold((0, 0), |(r, u), row| (r + row.1, u + row.2));
        let figures = vec![
            count("Checks", rows.len() as u64),
            figure(
                "Overall uptime",
                ratio(up as f64 * 100.0, runs as f64),
                percent,
            ),
            figure("Lowest", rows.first().map(|r| uptime(r.1, r.2)), percent),
        ];
        let chart = ReportChart::Bars {
            unit: "%".into(),
            bars: rows
                .iter()
                .map(|(name, r, u)| ChartBar {
                    label: name.clone(),
                    value: uptime(*r, *u),
                })
                .collect(),
        };
        let table = table(
            &["Check", "Uptime", "Runs", "Down runs"],
            rows.iter()
                .take(MAX_ROWS)
                .map(|(name, r, u)| {
                    vec![
                        name.clone(),
                        percent(uptime(*r, *u)),
                        r.to_string(),
                        (r - u).to_string(),
                    ]
                })
                .collect(),
        );
        let note = rows
            .is_empty()
            .then(|| "No check ran in this period.".to_owned());
        Ok(section(SectionId::Uptime, figures, table, chart, note))
    }

    async fn incidents(&self, period: &Period) -> Result<ReportSection, ApiError> {
        let quality = mon_alerting::quality::report(
            &self.alerts,
            &self.store,
            period.from,
            period.to,
            Duration::from_secs(300),
        )
        .await?;
        let mut rules: Vec<_> = quality.rules.into_iter().filter(|r| r.fired > 0).collect();
        rules.sort_by(|a, b| b.fired.cmp(&a.fired).then(a.rule.cmp(&b.rule)));
        let fired: u64 = rules.iter().map(|r| r.fired).sum();
        let acknowledged: u64 = rules.iter().map(|r| r.acknowledged).sum();
        let resolved: u64 = rules.iter().map(|r| r.fired - r.open).sum();
        let open: u64 = rules.iter().map(|r| r.open).sum();
        // Means per rule weighted by the alerts they are over: the mean of all alerts.
        let weighted = |pick: &dyn Fn(&mon_api::quality::RuleQualityView) -> (Option<f64>, u64),
                        n: u64| {
            let sum: f64 = rules
                .iter()
                .filter_map(|r| {
                    let (mean, k) = pick(r);
                    mean.map(|m| m * k as f64)
                })
                .sum();
            ratio(sum, n as f64)
        };
        let mtta = weighted(
            &|r| (r.mean_time_to_acknowledge_seconds, r.acknowledged),
            acknowledged,
        );
        let mttr = weighted(
            &|r| (r.mean_time_to_resolve_seconds, r.fired - r.open),
            resolved,
        );
        let figures = vec![
            count("Alerts fired", fired),
            figure(
                "Acknowledged",
                ratio(acknowledged as f64 * 100.0, fired as f64),
                percent,
            ),
            figure("MTTA", mtta, seconds),
            figure("MTTR", mttr, seconds),
            count("Still open", open),
        ];
        let chart = ReportChart::Bars {
            unit: "alerts".into(),
            bars: rules
                .iter()
                .map(|r| ChartBar {
                    label: r.rule.clone(),
                    value: r.fired as f64,
                })
                .collect(),
        };
        let dash = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), seconds);
        let table = table(
            &["Rule", "Fired", "Acknowledged", "MTTA", "MTTR"],
            rules
                .iter()
                .take(MAX_ROWS)
                .map(|r| {
                    vec![
                        r.rule.clone(),
                        r.fired.to_string(),
                        r.acknowledged.to_string(),
                        dash(r.mean_time_to_acknowledge_seconds),
                        dash(r.mean_time_to_resolve_seconds),
                    ]
                })
                .collect(),
        );
        let note = rules
            .is_empty()
            .then(|| "No alert fired in this period.".to_owned());
        Ok(section(SectionId::Incidents, figures, table, chart, note))
    }

    async fn calls(
        &self,
        period: &Period,
        source: Option<&str>,
    ) -> Result<ReportSection, ApiError> {
        let aggregates = vec![
            Aggregate::Equals("$.success".into(), json!(true)),
            Aggregate::Sum("$.duration_seconds".into()),
            Aggregate::Count("$.duration_seconds".into()),
        ];
        let ((calls, v), columns) = self
            .totals_and_columns(period, "call_ended", source, aggregates)
            .await?;
        let figures = vec![
            count("Calls ended", calls),
            figure("Success rate", ratio(v[0] * 100.0, calls as f64), percent),
            figure("Average duration", ratio(v[1], v[2]), seconds),
        ];
        let table = table(
            &["Outcome", "Calls"],
            if calls == 0 {
                Vec::new()
            } else {
                vec![
                    vec!["succeeded".into(), format!("{:.0}", v[0])],
                    vec!["failed".into(), format!("{:.0}", calls as f64 - v[0])],
                ]
            },
        );
        let chart = period.columns(
            "calls",
            by_column(period, &columns, |r| Some(r.events as f64)),
        );
        let note = (calls == 0).then(|| "No call ended in this period.".to_owned());
        Ok(section(SectionId::Calls, figures, table, chart, note))
    }

    async fn voice(
        &self,
        period: &Period,
        source: Option<&str>,
    ) -> Result<ReportSection, ApiError> {
        let aggregates = vec![
            Aggregate::Sum("$.mos".into()),
            Aggregate::Count("$.mos".into()),
            Aggregate::AtLeast("$.mos".into(), POOR_MOS),
            Aggregate::Sum("$.latency_ms".into()),
            Aggregate::Count("$.latency_ms".into()),
        ];
        let ((n, v), columns) = self
            .totals_and_columns(period, "voice_quality", source, aggregates)
            .await?;
        let figures = vec![
            count("Measurements", n),
            figure("Average MOS", ratio(v[0], v[1]), |m| format!("{m:.2}")),
            figure(
                "Poor (MOS below 3.6)",
                ratio((v[1] - v[2]) * 100.0, v[1]),
                percent,
            ),
            figure("Average latency", ratio(v[3], v[4]), |ms| {
                format!("{ms:.0} ms")
            }),
        ];
        let chart = period.columns(
            "MOS",
            by_column(period, &columns, |r| ratio(r.values[0], r.values[1])),
        );
        let note = (n == 0).then(|| "No voice-quality measurement in this period.".to_owned());
        Ok(section(
            SectionId::VoiceQuality,
            figures,
            ReportTable::default(),
            chart,
            note,
        ))
    }

    async fn csat(&self, period: &Period, source: Option<&str>) -> Result<ReportSection, ApiError> {
        let rows = self
            .store
            .app_events("feedback", period.from, period.to, MAX_FEEDBACK)
            .await?;
        let mut columns: Vec<(u64, u64)> = vec![(0, 0); period.buckets as usize];
        // category → (satisfied, feedback, rating sum, ratings)
        let mut categories: BTreeMap<String, (u64, u64, f64, u64)> = BTreeMap::new();
        let (mut satisfied, mut total, mut rating_sum, mut ratings) = (0, 0, 0.0, 0);
        for row in rows
            .iter()
            .filter(|r| r.source.as_deref() == source && r.ts < period.to)
        {
            let Ok(Event::Feedback(e)) = serde_json::from_value::<Event>(row.body.clone()) else {
                continue;
            };
            let ok = u64::from(e.satisfied());
            total += 1;
            satisfied += ok;
            let c = categories
                .entry(e.category.clone().unwrap_or_else(|| "(none)".into()))
                .or_default();
            c.0 += ok;
            c.1 += 1;
            if let Some(r) = e.rating {
                rating_sum += f64::from(r);
                ratings += 1;
                c.2 += f64::from(r);
                c.3 += 1;
            }
            if let Some(slot) = columns.get_mut(period.bucket(row.ts)) {
                slot.0 += ok;
                slot.1 += 1;
            }
        }
        let figures = vec![
            count("Feedback", total),
            figure(
                "CSAT (satisfied)",
                ratio(satisfied as f64 * 100.0, total as f64),
                percent,
            ),
            figure("Average rating", ratio(rating_sum, ratings as f64), |r| {
                format!("{r:.2} / 5")
            }),
        ];
        let mut by_category: Vec<_> = categories.into_iter().collect();
        by_category.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(&b.0)));
        let table = table(
            &["Category", "Feedback", "CSAT", "Average rating"],
            by_category
                .iter()
                .take(MAX_ROWS)
                .map(|(name, (s, n, sum, k))| {
                    vec![
                        name.clone(),
                        n.to_string(),
                        percent(*s as f64 * 100.0 / *n as f64),
                        ratio(*sum, *k as f64).map_or_else(|| "—".into(), |r| format!("{r:.2}")),
                    ]
                })
                .collect(),
        );
        let chart = period.columns(
            "% satisfied",
            columns
                .iter()
                .map(|(s, n)| ratio(*s as f64 * 100.0, *n as f64))
                .collect(),
        );
        let note = (total == 0).then(|| "No feedback in this period.".to_owned());
        Ok(section(SectionId::Csat, figures, table, chart, note))
    }

    async fn ai_cost(
        &self,
        period: &Period,
        source: Option<&str>,
        calls_ended: f64,
    ) -> Result<ReportSection, ApiError> {
        let cost = || vec![Aggregate::Sum("$.cost_usd".into())];
        let mut by_provider = period.totals("ai_usage", source, false, cost());
        by_provider.group_by = Some("$.provider".into());
        let mut providers = self.store.event_totals(by_provider).await?;
        let columns = self
            .store
            .event_totals(period.totals("ai_usage", source, true, cost()))
            .await?;
        providers.sort_by(|a, b| {
            b.values[0]
                .total_cmp(&a.values[0])
                .then(a.group.cmp(&b.group))
        });
        let spent: f64 = providers.iter().map(|p| p.values[0]).sum();
        let requests: u64 = providers.iter().map(|p| p.events).sum();
        let figures = vec![
            figure("Total", Some(spent), usd),
            figure("Per call ended", ratio(spent, calls_ended), usd),
            count("AI requests", requests),
        ];
        let name = |p: &EventTotals| p.group.clone().unwrap_or_else(|| "(unnamed)".into());
        let table = table(
            &["Provider", "Cost", "Requests", "Share"],
            providers
                .iter()
                .take(MAX_ROWS)
                .map(|p| {
                    vec![
                        name(p),
                        usd(p.values[0]),
                        p.events.to_string(),
                        ratio(p.values[0] * 100.0, spent).map_or_else(|| "—".into(), percent),
                    ]
                })
                .collect(),
        );
        let chart = period.columns("USD", by_column(period, &columns, |r| Some(r.values[0])));
        let note = (requests == 0).then(|| "No AI usage in this period.".to_owned());
        Ok(section(SectionId::AiCost, figures, table, chart, note))
    }

    async fn top_errors(&self, period: &Period) -> Result<ReportSection, ApiError> {
        let mut groups: Vec<_> = self
            .store
            .error_groups(Some(period.from), 1_000)
            .await?
            .into_iter()
            .filter(|g| g.first_seen < period.to)
            .collect();
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.fingerprint.cmp(&b.fingerprint))
        });
        let new = groups
            .iter()
            .filter(|g| g.first_seen >= period.from)
            .count();
        let figures = vec![
            count("Error groups seen", groups.len() as u64),
            count("New", new as u64),
        ];
        let label = |g: &mon_store::ErrorGroup| format!("{}: {}", g.kind, g.message);
        let chart = ReportChart::Bars {
            unit: "times".into(),
            bars: groups
                .iter()
                .map(|g| ChartBar {
                    label: label(g),
                    value: g.count as f64,
                })
                .collect(),
        };
        let table = table(
            &["Error", "Where", "Count", "First seen", "New"],
            groups
                .iter()
                .take(MAX_ROWS)
                .map(|g| {
                    vec![
                        label(g),
                        g.location.clone(),
                        g.count.to_string(),
                        g.first_seen.format("%Y-%m-%d %H:%M").to_string(),
                        if g.first_seen >= period.from {
                            "new".into()
                        } else {
                            String::new()
                        },
                    ]
                })
                .collect(),
        );
        let note = groups
            .is_empty()
            .then(|| "No error was tracked in this period.".to_owned());
        Ok(section(SectionId::TopErrors, figures, table, chart, note))
    }

    async fn experiments(&self, period: &Period) -> Result<ReportSection, ApiError> {
        let mut names: Vec<String> = self
            .store
            .experiment_arms(period.from)
            .await?
            .into_iter()
            .filter(|a| a.first_seen < period.to)
            .map(|a| a.experiment)
            .collect();
        names.dedup();
        let (mut rows, mut bars, mut concluded, mut compared) = (Vec::new(), Vec::new(), 0, 0);
        for name in names.into_iter().take(MAX_EXPERIMENTS) {
            let answer = match crate::experiments::experiment(
                &self.store,
                name.clone(),
                (period.from, Some(period.to)),
                None,
                mon_metrics::stats::Confidence::default(),
            )
            .await
            {
                Ok(answer) => answer,
                // No event of it falls in the period after all.
                Err(e) if e.status() == axum::http::StatusCode::NOT_FOUND => continue,
                Err(e) => return Err(e),
            };
            compared += 1;
            let events: u64 = answer.variants.iter().map(|v| v.events).sum();
            bars.push(ChartBar {
                label: name.clone(),
                value: events as f64,
            });
            let findings: Vec<String> = answer.comparisons.iter().flat_map(findings).collect();
            if !findings.is_empty() {
                concluded += 1;
            }
            let small = answer
                .warnings
                .iter()
                .chain(answer.comparisons.iter().flat_map(|c| &c.warnings));
            let verdict = if !findings.is_empty() {
                findings.join("; ")
            } else if answer.variants.len() < 2 {
                "one variant only: nothing to compare yet".to_owned()
            } else if small.clone().any(|w| w.contains("Too small a sample")) {
                "too few events to tell yet".to_owned()
            } else {
                "no significant difference".to_owned()
            };
            let variants = answer
                .variants
                .iter()
                .map(|v| v.variant.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            rows.push(vec![
                name,
                variants,
                events.to_string(),
                if findings.is_empty() {
                    "running".into()
                } else {
                    "concluded".into()
                },
                verdict,
            ]);
        }
        let figures = vec![
            count("Experiments", compared),
            count("Concluded", concluded),
            count("Still running", compared - concluded),
        ];
        let note = (compared == 0).then(|| "No experiment had events in this period.".to_owned());
        Ok(section(
            SectionId::Experiments,
            figures,
            table(
                &["Experiment", "Variants", "Events", "Status", "Result"],
                rows,
            ),
            ReportChart::Bars {
                unit: "events".into(),
                bars,
            },
            note,
        ))
    }

    async fn deployments(
        &self,
        period: &Period,
        source: Option<&str>,
    ) -> Result<ReportSection, ApiError> {
        // Newest first, as stored; the table lists them so.
        let rows: Vec<_> = self
            .store
            .app_events("deployment", period.from, period.to, MAX_DEPLOYMENTS)
            .await?
            .into_iter()
            .filter(|r| r.source.as_deref() == source && r.ts < period.to)
            .filter_map(crate::sources::deployment_view)
            .collect();
        let mut columns = vec![None; period.buckets as usize];
        for row in &rows {
            if let Some(slot) = columns.get_mut(period.bucket(row.timestamp)) {
                *slot = Some(slot.unwrap_or(0.0) + 1.0);
            }
        }
        let services: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.service.as_str()).collect();
        let figures = vec![
            count("Deployments", rows.len() as u64),
            count("Services", services.len() as u64),
        ];
        let table = table(
            &["Time", "Service", "Version", "Commit"],
            rows.iter()
                .take(MAX_ROWS * 2)
                .map(|r| {
                    vec![
                        r.timestamp.format("%Y-%m-%d %H:%M").to_string(),
                        r.service.clone(),
                        r.version.clone(),
                        r.commit.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        );
        let note = rows
            .is_empty()
            .then(|| "No deployment in this period.".to_owned());
        Ok(section(
            SectionId::Deployments,
            figures,
            table,
            period.columns("deployments", columns),
            note,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_cut_into_readable_columns() {
        let from: DateTime<Utc> = "2026-11-23T00:00:00Z".parse().unwrap();
        let week = Period::new(from, from + TimeDelta::days(7));
        assert_eq!((week.buckets, week.step), (7, 86_400));
        let day = Period::new(from, from + TimeDelta::days(1));
        assert_eq!((day.buckets, day.step), (24, 3_600));
        let short = Period::new(from, from + TimeDelta::seconds(10));
        assert_eq!((short.buckets, short.step), (10, 1));
        assert_eq!(day.bucket(from + TimeDelta::minutes(150)), 2);
    }

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(seconds(72.0), "1m 12s");
        assert_eq!(seconds(3.0 * 3600.0 + 300.0), "3h 5m");
        assert_eq!(percent(99.951), "99.95 %");
        assert_eq!(percent(50.0), "50.0 %");
        assert_eq!(usd(14.2), "$14.20");
        assert_eq!(usd(0.0125), "$0.01");
        assert_eq!(usd(0.0004), "< $0.01");
        assert_eq!(p_value(Some(0.0004)), "p < 0.01");
        assert_eq!(p_value(Some(0.1234)), "p = 0.12");
    }
}
