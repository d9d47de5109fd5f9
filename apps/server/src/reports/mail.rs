//! A report as an e-mail: the subject, a plain-text body and an HTML body holding each
//! section's figures, its chart (inline SVG) and its table, with inline styles only.

use mon_api::reports::ReportAnswer;
use mon_core::Message;
use mon_core::escape_markup;
use std::fmt::Write;

/// The message of `report`, linking to the reports page under `ui_url`.
pub(crate) fn message(report: &ReportAnswer, ui_url: &str) -> Message {
    Message::new(
        report.title.clone(),
        text(report, ui_url),
        html(report, ui_url),
    )
}

fn period_line(report: &ReportAnswer) -> String {
    use chrono::Timelike;
    let format = if report.from.second() == 0 && report.to.second() == 0 {
        "%Y-%m-%d %H:%M"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    format!(
        "{} to {} (UTC){}",
        report.from.format(format),
        report.to.format(format),
        report
            .source
            .as_ref()
            .map_or_else(String::new, |s| format!(", source {s}"))
    )
}

/// The plain-text body: each section under `== Title ==`, figures as `label: value`,
/// table rows joined with ` | `.
pub(crate) fn text(report: &ReportAnswer, ui_url: &str) -> String {
    let mut out = format!("{}\n{}\n", report.title, period_line(report));
    for section in &report.sections {
        let _ = write!(out, "\n== {} ==\n", section.title);
        for figure in &section.figures {
            let _ = writeln!(out, "{}: {}", figure.label, figure.text);
        }
        if let Some(note) = &section.note {
            let _ = writeln!(out, "{note}");
        }
        if !section.table.rows.is_empty() {
            let _ = writeln!(out, "{}", section.table.columns.join(" | "));
            for row in &section.table.rows {
                let _ = writeln!(out, "{}", row.join(" | "));
            }
        }
    }
    let _ = write!(out, "\nReports in mon: {ui_url}\n");
    out
}

/// The HTML body: one `<section id="section-<id>">` per section.
pub(crate) fn html(report: &ReportAnswer, ui_url: &str) -> String {
    let cell = "padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:left";
    let mut out = format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif;color:#111827;max-width:640px\">\
         <h1 style=\"font-size:20px\">{}</h1><p style=\"color:#6b7280\">{}</p>",
        escape_markup(&report.title),
        escape_markup(&period_line(report))
    );
    for section in &report.sections {
        let _ = write!(
            out,
            "<section id=\"section-{}\"><h2 style=\"font-size:16px;margin-top:24px\">{}</h2><table><tr>",
            section.id.as_str(),
            escape_markup(&section.title)
        );
        for figure in &section.figures {
            let _ = write!(
                out,
                "<td style=\"padding:0 16px 8px 0\"><div style=\"font-size:18px;font-weight:bold\">{}</div>\
                 <div style=\"color:#6b7280;font-size:12px\">{}</div></td>",
                escape_markup(&figure.text),
                escape_markup(&figure.label)
            );
        }
        out.push_str("</tr></table>");
        if let Some(note) = &section.note {
            let _ = write!(
                out,
                "<p style=\"color:#6b7280\">{}</p>",
                escape_markup(note)
            );
        }
        let _ = write!(out, "<div>{}</div>", section.chart_svg);
        if !section.table.rows.is_empty() {
            out.push_str(
                "<table style=\"border-collapse:collapse;font-size:13px;margin-top:8px\"><tr>",
            );
            for column in &section.table.columns {
                let _ = write!(out, "<th style=\"{cell}\">{}</th>", escape_markup(column));
            }
            out.push_str("</tr>");
            for row in &section.table.rows {
                out.push_str("<tr>");
                for value in row {
                    let _ = write!(out, "<td style=\"{cell}\">{}</td>", escape_markup(value));
                }
                out.push_str("</tr>");
            }
            out.push_str("</table>");
        }
        out.push_str("</section>");
    }
    let _ = write!(
        out,
        "<p style=\"margin-top:24px\"><a href=\"{}\">Reports in mon</a></p></body></html>",
        escape_markup(ui_url)
    );
    out
}
