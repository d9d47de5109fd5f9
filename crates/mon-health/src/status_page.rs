//! The public status page and its SVG badges as data and markup: which public checks
//! show, with what status and uptime, and the HTML page and shields-style badges that
//! show them. The page has no script and no external assets ([`PAGE_POLICY`]).
//!
//! An application serves these (mon's server at `GET /status` and
//! `GET /badge/{check}/status.svg` / `uptime.svg`); this module does no HTTP.

use crate::{HealthRegistry, Uptime};
use mon_core::Status;
use mon_store::{Store, StoreError};
use std::fmt::Write as _;

/// The status page's content security policy: no script at all, its own inline
/// styles, no framing.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

/// The names of the uptime windows a badge may show, in the order of [`Uptime::WINDOWS`].
pub const UPTIME_WINDOW_NAMES: [&str; 4] = ["1h", "24h", "7d", "30d"];

/// One public check as the page and badges show it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicCheck {
    /// The check's name.
    pub name: String,
    /// Its current status.
    pub status: Status,
    /// Uptime percentages for 1h, 24h, 7d, 30d (`None`: no runs in the window).
    pub uptime: Vec<Option<f64>>,
}

/// The checks of `public` (names in config order) that `health` knows, narrowed to
/// `only` when given, with their status and their uptime counted from the stored results.
///
/// # Errors
/// The store's error when the uptime query fails.
pub async fn public_checks(
    health: &HealthRegistry,
    store: &Store,
    public: &[String],
    only: Option<&str>,
) -> Result<Vec<PublicCheck>, StoreError> {
    let names: Vec<String> = public
        .iter()
        .filter(|n| only.is_none_or(|o| o == n.as_str()))
        .filter(|n| health.check(n).is_some())
        .cloned()
        .collect();
    let uptimes = store
        .check_uptimes(names.clone(), &Uptime::WINDOWS, chrono::Utc::now())
        .await?;
    Ok(names
        .into_iter()
        .zip(uptimes)
        .map(|(name, windows)| PublicCheck {
            status: health.check(&name).map_or(Status::Unknown, |c| c.status()),
            uptime: windows.iter().map(|w| w.percent()).collect(),
            name,
        })
        .collect())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn status_colour(status: Status) -> &'static str {
    match status {
        Status::Healthy => "#2e7d32",
        Status::Degraded => "#b26a00",
        Status::Unhealthy => "#c62828",
        _ => "#6b6b6b",
    }
}

fn percent_text(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".to_owned(), |p| format!("{p:.2}%"))
}

/// The status page's HTML: a banner with the worst status, then one row per check
/// with its status and 24h / 7d / 30d uptime; `now` is the "Updated" time shown.
pub fn page_html(checks: &[PublicCheck], now: chrono::DateTime<chrono::Utc>) -> String {
    let overall = checks
        .iter()
        .map(|c| c.status)
        .max_by_key(|s| match s {
            Status::Unhealthy => 3,
            Status::Degraded => 2,
            Status::Unknown => 1,
            _ => 0,
        })
        .unwrap_or(Status::Unknown);
    let headline = match overall {
        Status::Healthy => "All systems operational",
        Status::Degraded => "Some systems degraded",
        Status::Unhealthy => "Some systems down",
        _ => "No status yet",
    };
    let mut rows = String::new();
    for c in checks {
        let _ = writeln!(
            rows,
            "<tr><td>{name}</td><td><span class=\"dot\" style=\"background:{colour}\"></span>{status}</td>\
             <td>{d}</td><td>{w}</td><td>{m}</td></tr>",
            name = escape(&c.name),
            colour = status_colour(c.status),
            status = c.status.as_str(),
            d = percent_text(c.uptime.get(1).copied().flatten()),
            w = percent_text(c.uptime.get(2).copied().flatten()),
            m = percent_text(c.uptime.get(3).copied().flatten()),
        );
    }
    if checks.is_empty() {
        rows.push_str("<tr><td colspan=\"5\">No public checks are configured.</td></tr>\n");
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Status</title><style>\
body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:48rem;padding:1rem;color:#222}}\
h1{{font-size:1.4rem}}.banner{{padding:.8rem 1rem;border-radius:.4rem;color:#fff;background:{banner}}}\
table{{width:100%;border-collapse:collapse;margin-top:1rem}}th,td{{text-align:left;padding:.5rem .3rem;border-bottom:1px solid #ddd}}\
th{{font-size:.85rem;color:#555}}.dot{{display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin-right:.4rem}}\
@media (max-width:30rem){{td,th{{font-size:.85rem;padding:.4rem .15rem}}}}\
</style></head><body>\n<h1>Service status</h1>\n<p class=\"banner\">{headline}</p>\n\
<table><thead><tr><th>Service</th><th>Status</th><th>24h</th><th>7d</th><th>30d</th></tr></thead><tbody>\n{rows}</tbody></table>\n\
<p><small>Updated {now}</small></p>\n</body></html>\n",
        banner = status_colour(overall),
        now = now.format("%Y-%m-%d %H:%M:%S UTC"),
    )
}

/// The status badge of `check`: its name, and its status in the status's colour.
pub fn status_badge(check: &PublicCheck) -> String {
    let colour = match check.status {
        Status::Healthy => "#4c1",
        Status::Degraded => "#dfb317",
        Status::Unhealthy => "#e05d44",
        _ => "#9f9f9f",
    };
    badge(&check.name, check.status.as_str(), colour)
}

/// The uptime badge of `check` over the window [`UPTIME_WINDOW_NAMES`]`[index]`:
/// the percentage, coloured from green (99.9% and up) to red (under 95%); `n/a`
/// in grey without runs in the window.
pub fn uptime_badge(check: &PublicCheck, index: usize) -> String {
    let percent = check.uptime.get(index).copied().flatten();
    let colour = match percent {
        None => "#9f9f9f",
        Some(p) if p >= 99.9 => "#4c1",
        Some(p) if p >= 99.0 => "#97ca00",
        Some(p) if p >= 95.0 => "#dfb317",
        Some(_) => "#e05d44",
    };
    let window = UPTIME_WINDOW_NAMES.get(index).copied().unwrap_or_default();
    badge(&format!("uptime {window}"), &percent_text(percent), colour)
}

/// Width in pixels of `text` in 11px Verdana, estimated per character class.
fn text_width(text: &str) -> u32 {
    text.chars()
        .map(|c| match c {
            'i' | 'l' | '.' | ',' | ':' | '|' | '!' | '\'' => 4,
            'm' | 'w' | 'M' | 'W' | '%' => 10,
            c if c.is_ascii_uppercase() => 8,
            _ => 7,
        })
        .sum()
}

/// A flat badge in the shields.io style: a grey label and a coloured value.
fn badge(label: &str, value: &str, colour: &str) -> String {
    let (lw, vw) = (text_width(label) + 10, text_width(value) + 10);
    let total = lw + vw;
    let (label, value) = (escape(label), escape(value));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{label}: {value}\">\
<title>{label}: {value}</title>\
<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
<clipPath id=\"r\"><rect width=\"{total}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
<g clip-path=\"url(#r)\"><rect width=\"{lw}\" height=\"20\" fill=\"#555\"/><rect x=\"{lw}\" width=\"{vw}\" height=\"20\" fill=\"{colour}\"/><rect width=\"{total}\" height=\"20\" fill=\"url(#s)\"/></g>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">\
<text x=\"{lx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{label}</text><text x=\"{lx}\" y=\"14\">{label}</text>\
<text x=\"{vx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{value}</text><text x=\"{vx}\" y=\"14\">{value}</text></g></svg>",
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, status: Status, uptime: Vec<Option<f64>>) -> PublicCheck {
        PublicCheck {
            name: name.to_owned(),
            status,
            uptime,
        }
    }

    #[test]
    fn badges_escape_and_size_their_text() {
        let svg = badge("a<b", "99.00%", "#4c1");
        assert!(svg.contains("a&lt;b: 99.00%"), "{svg}");
        assert!(!svg.contains("a<b"));
        let short = badge("x", "up", "#4c1");
        assert!(svg.len() > short.len());
        assert!(text_width("uptime 24h") > text_width("up"));
    }

    #[test]
    fn uptime_badges_colour_by_percentage_and_name_their_window() {
        let c = check(
            "api",
            Status::Healthy,
            vec![Some(100.0), Some(99.5), Some(90.0), None],
        );
        let hour = uptime_badge(&c, 0);
        assert!(
            hour.contains("uptime 1h: 100.00%") && hour.contains("#4c1"),
            "{hour}"
        );
        assert!(uptime_badge(&c, 1).contains("#97ca00"));
        assert!(uptime_badge(&c, 2).contains("#e05d44"));
        let month = uptime_badge(&c, 3);
        assert!(
            month.contains("uptime 30d: n/a") && month.contains("#9f9f9f"),
            "{month}"
        );
        assert!(status_badge(&check("db", Status::Unhealthy, vec![])).contains("db: unhealthy"));
    }

    #[test]
    fn the_page_heads_with_the_worst_status_and_escapes_names() {
        let now = chrono::Utc::now();
        let html = page_html(
            &[
                check("<api>", Status::Healthy, vec![None, Some(99.0), None, None]),
                check("db", Status::Degraded, vec![]),
            ],
            now,
        );
        assert!(html.contains("Some systems degraded"), "{html}");
        assert!(html.contains("&lt;api&gt;") && !html.contains("<api>"));
        assert!(html.contains("<td>99.00%</td>"));
        assert!(page_html(&[], now).contains("No public checks are configured."));
    }
}
