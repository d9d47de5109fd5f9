//! A report section's chart as a small standalone SVG document: labelled horizontal
//! bars, or columns over the period. Plain shapes and text with inline attributes only
//! (no script, no style sheet, no external reference), so that mail clients and the web
//! UI draw it the same way.

use mon_api::reports::{ChartBar, ReportChart};
use mon_core::escape_markup;
use std::fmt::Write;

/// The drawing's width in pixels.
const WIDTH: f64 = 520.0;
/// Bars drawn at most; the rest are in the section's table.
pub(crate) const MAX_BARS: usize = 10;
/// The bar and column colour.
const FILL: &str = "#3b82f6";
/// Text colour.
const INK: &str = "#374151";

/// A number as the chart writes it: at most two decimals, thousands as `k`.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1_000_000.0 {
        format!("{:.1}M", v / 1_000_000.0)
    } else if a >= 10_000.0 {
        format!("{:.1}k", v / 1_000.0)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Cuts `label` to `max` characters, marking the cut.
fn clip(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn open(out: &mut String, height: f64, title: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" font-family=\"sans-serif\" \
         font-size=\"11\"><title>{}</title>",
        escape_markup(title)
    );
}

/// `chart` as SVG, titled `title` (read by screen readers and shown on hover).
pub(crate) fn render(chart: &ReportChart, title: &str) -> String {
    match chart {
        ReportChart::Bars { unit, bars } => render_bars(bars, unit, title),
        ReportChart::Columns {
            unit,
            start,
            step_seconds,
            values,
        } => render_columns(values, unit, *start, *step_seconds, title),
    }
}

/// Nothing to draw: a short line of text in place of the chart.
fn empty(title: &str) -> String {
    let mut out = String::new();
    open(&mut out, 24.0, title);
    let _ = write!(
        out,
        "<text x=\"0\" y=\"16\" fill=\"#6b7280\">No data in this period</text></svg>"
    );
    out
}

fn render_bars(bars: &[ChartBar], unit: &str, title: &str) -> String {
    let bars: Vec<&ChartBar> = bars
        .iter()
        .filter(|b| b.value.is_finite())
        .take(MAX_BARS)
        .collect();
    if bars.is_empty() {
        return empty(title);
    }
    let (label_width, value_width, row) = (170.0, 80.0, 22.0);
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let span = WIDTH - label_width - value_width;
    let height = row * bars.len() as f64 + 4.0;
    let mut out = String::new();
    open(&mut out, height, title);
    for (i, bar) in bars.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let length = if max > 0.0 {
            (bar.value.max(0.0) / max * span).max(1.0)
        } else {
            1.0
        };
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{ty}\" fill=\"{INK}\">{label}</text>\
             <rect x=\"{label_width}\" y=\"{y}\" width=\"{length:.1}\" height=\"16\" rx=\"2\" fill=\"{FILL}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\" fill=\"{INK}\">{value} {unit}</text>",
            ty = y + 12.0,
            label = escape_markup(&clip(&bar.label, 28)),
            vx = label_width + length + 4.0,
            value = short(bar.value),
            unit = escape_markup(unit),
        );
    }
    out.push_str("</svg>");
    out
}

fn render_columns(
    values: &[Option<f64>],
    unit: &str,
    start: chrono::DateTime<chrono::Utc>,
    step_seconds: u64,
    title: &str,
) -> String {
    let finite: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if finite.is_empty() {
        return empty(title);
    }
    let (top, plot, bottom, left) = (16.0, 90.0, 18.0, 4.0);
    let height = top + plot + bottom;
    let max = finite.iter().copied().fold(0.0_f64, f64::max);
    let slot = (WIDTH - left) / values.len().max(1) as f64;
    let mut out = String::new();
    open(&mut out, height, title);
    let _ = write!(
        out,
        "<text x=\"{left}\" y=\"11\" fill=\"{INK}\">max {} {}</text>\
         <line x1=\"{left}\" y1=\"{base}\" x2=\"{WIDTH}\" y2=\"{base}\" stroke=\"#d1d5db\"/>",
        short(max),
        escape_markup(unit),
        base = top + plot,
    );
    for (i, value) in values.iter().enumerate() {
        let Some(v) = value.filter(|v| v.is_finite()) else {
            continue;
        };
        let h = if max > 0.0 {
            (v.max(0.0) / max * plot).max(1.0)
        } else {
            1.0
        };
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{FILL}\">\
             <title>{v}</title></rect>",
            x = left + i as f64 * slot + slot * 0.1,
            y = top + plot - h,
            w = (slot * 0.8).max(1.0),
            v = escape_markup(&format!("{} {unit}", short(v))),
        );
    }
    let end = start
        + chrono::TimeDelta::seconds(
            i64::try_from(step_seconds).unwrap_or(0) * values.len() as i64,
        );
    let format = if step_seconds >= 86_400 {
        "%d %b"
    } else {
        "%d %b %H:%M"
    };
    let _ = write!(
        out,
        "<text x=\"{left}\" y=\"{y}\" fill=\"#6b7280\">{}</text>\
         <text x=\"{WIDTH}\" y=\"{y}\" fill=\"#6b7280\" text-anchor=\"end\">{}</text></svg>",
        start.format(format),
        end.format(format),
        y = height - 4.0,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn bars_escape_labels_and_scale_to_the_largest() {
        let chart = ReportChart::Bars {
            unit: "%".into(),
            bars: vec![
                ChartBar {
                    label: "api <eu> & \"us\"".into(),
                    value: 50.0,
                },
                ChartBar {
                    label: "db".into(),
                    value: 100.0,
                },
            ],
        };
        let svg = render(&chart, "Uptime");
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(svg.contains("api &lt;eu&gt; &amp; &quot;us&quot;"), "{svg}");
        assert!(!svg.contains("<eu>"));
        // The largest bar spans the plot (520 - 170 - 80), the other half of it.
        assert!(svg.contains("width=\"270.0\""), "{svg}");
        assert!(svg.contains("width=\"135.0\""), "{svg}");
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn columns_leave_gaps_and_label_the_period() {
        let start: DateTime<Utc> = "2026-11-30T00:00:00Z".parse().unwrap();
        let chart = ReportChart::Columns {
            unit: "calls".into(),
            start,
            step_seconds: 86_400,
            values: vec![Some(4.0), None, Some(8.0)],
        };
        let svg = render(&chart, "Calls");
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.contains("max 8 calls"), "{svg}");
        assert!(
            svg.contains(">30 Nov<") && svg.contains(">03 Dec<"),
            "{svg}"
        );
    }

    #[test]
    fn nothing_to_draw_says_so() {
        let chart = ReportChart::Bars {
            unit: "%".into(),
            bars: vec![],
        };
        assert!(render(&chart, "Uptime").contains("No data in this period"));
    }
}
