//! `mon metrics list` and `mon metrics query NAME --since 1h [--label k=v]`: series as a table
//! or a terminal chart.

use crate::alerts::labels;
use crate::client::encode;
use crate::format::{maybe, time, unit_of, value};
use crate::output::{print_json, sparkline, table};
use crate::{Ctx, Format, Outcome};
use mon_api::answers::{PointView, SeriesListAnswer, SeriesQueryAnswer};
use mon_core::catalog::Unit;

pub(crate) fn list(ctx: &Ctx) -> Outcome {
    let (answer, SeriesListAnswer { series, .. }) = match ctx.client.get_answer("/api/v1/metrics") {
        Ok(v) => v,
        Err(o) => return o,
    };
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table => {
            let rows: Vec<Vec<String>> = series
                .iter()
                .map(|s| vec![s.name.clone(), labels(&s.labels)])
                .collect();
            out!("{}", table(&["NAME", "LABELS"], &rows, &[]));
        }
    }
    Outcome::Ok
}

/// What to query.
#[derive(Debug)]
pub(crate) struct SeriesQuery<'a> {
    pub(crate) name: &'a str,
    pub(crate) since: &'a str,
    pub(crate) labels: &'a [String],
    pub(crate) step: Option<&'a str>,
    pub(crate) chart: bool,
    /// Every point, not the most recent [`SUMMARY_ROWS`].
    pub(crate) all: bool,
}

/// How many points of a series a table shows without `--all` (the most recent).
pub(crate) const SUMMARY_ROWS: usize = 20;

pub(crate) fn query(ctx: &Ctx, q: &SeriesQuery<'_>) -> Outcome {
    if let Some(bad) = q.labels.iter().find(|l| !l.contains('=')) {
        return Outcome::Usage(format!("--label {bad:?}: expected key=value"));
    }
    let mut path = format!(
        "/api/v1/metrics/query?name={}&from={}",
        encode(q.name),
        encode(q.since)
    );
    if !q.labels.is_empty() {
        path.push_str(&format!("&labels={}", encode(&q.labels.join(","))));
    }
    if let Some(step) = q.step {
        path.push_str(&format!("&step={}", encode(step)));
    }
    let (answer, SeriesQueryAnswer { series, .. }) = match ctx.client.get_answer(&path) {
        Ok(v) => v,
        Err(o) => return o,
    };
    if series.is_empty()
        && let Some(outcome) = unknown_name(ctx, q.name)
    {
        return outcome;
    }
    match ctx.format {
        Format::Json => print_json(&answer),
        Format::Table if series.is_empty() => outln!("no data for {} since {}", q.name, q.since),
        Format::Table => {
            for s in &series {
                let points = &s.points;
                let values: Vec<f64> = points.iter().map(|p| p.avg.unwrap_or(f64::NAN)).collect();
                let unit = unit_of(&s.name);
                outln!(
                    "{}{{{}}} ({} resolution, {} points) {}",
                    s.name,
                    labels(&s.labels),
                    s.resolution,
                    points.len(),
                    sparkline(&values)
                );
                if q.chart {
                    out!("{}", chart(&values, 8, unit));
                } else {
                    out!("{}", points_table(points, unit, q.all));
                }
            }
        }
    }
    Outcome::Ok
}

/// When no stored series has this name: a usage error that names the closest one
/// (`cpu_percnt` → `cpu_percent`), so a typo is not mistaken for "no data".
fn unknown_name(ctx: &Ctx, name: &str) -> Option<Outcome> {
    let list: SeriesListAnswer = ctx.client.get_as("/api/v1/metrics").ok()?;
    let mut names: Vec<&str> = list.series.iter().map(|s| s.name.as_str()).collect();
    names.dedup();
    if names.contains(&name) {
        return None;
    }
    let hint = match mon_core::closest(name, names.iter().copied()) {
        Some(close) => format!("did you mean {close:?}? "),
        None => String::new(),
    };
    Some(Outcome::Usage(format!(
        "no series named {name:?}; {hint}(`mon metrics list` shows every series)"
    )))
}

/// The points of one series as a table, oldest first: the most recent [`SUMMARY_ROWS`]
/// and a footer counting the others, or every point with `all`.
fn points_table(points: &[PointView], unit: Option<Unit>, all: bool) -> String {
    let skipped = if all {
        0
    } else {
        points.len().saturating_sub(SUMMARY_ROWS)
    };
    let rows: Vec<Vec<String>> = points[skipped..]
        .iter()
        .map(|p| {
            vec![
                time(&p.ts),
                maybe(p.avg, unit),
                maybe(p.min, unit),
                maybe(p.max, unit),
                p.count.to_string(),
            ]
        })
        .collect();
    let mut out = table(
        &["TIME", "AVG", "MIN", "MAX", "COUNT"],
        &rows,
        &[1, 2, 3, 4],
    );
    if skipped > 0 {
        let plural = if skipped == 1 { "" } else { "s" };
        out.push_str(&format!(
            "{skipped} more row{plural} (older); --all for every row\n"
        ));
    }
    out
}

/// A `height`-row bar chart of `values` (oldest left), with the max and min on the axis.
pub(crate) fn chart(values: &[f64], height: usize, unit: Option<Unit>) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (Some(min), Some(max)) = (
        finite.iter().copied().reduce(f64::min),
        finite.iter().copied().reduce(f64::max),
    ) else {
        return String::new();
    };
    let span = if max > min { max - min } else { 1.0 };
    let levels: Vec<usize> = values
        .iter()
        .map(|v| {
            if v.is_finite() {
                1 + (((v - min) / span) * (height - 1) as f64).round() as usize
            } else {
                0
            }
        })
        .collect();
    let (top, bottom) = (value(max, unit), value(min, unit));
    let label_width = top.chars().count().max(bottom.chars().count());
    let mut out = String::new();
    for row in (1..=height).rev() {
        let label = match row {
            r if r == height => top.clone(),
            1 => bottom.clone(),
            _ => String::new(),
        };
        let bars: String = levels
            .iter()
            .map(|&l| if l >= row { '█' } else { ' ' })
            .collect();
        out.push_str(&format!("{label:>label_width$} │{}\n", bars.trim_end()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_between_min_and_max() {
        assert_eq!(chart(&[1.0, 2.0, 3.0], 3, None), "3 │  █\n  │ ██\n1 │███\n");
        assert_eq!(chart(&[], 3, None), "");
        assert_eq!(
            chart(&[5.0, f64::NAN], 2, Some(Unit::Percent)),
            "5 % │\n5 % │█\n"
        );
    }
}
