//! The public status page and its SVG badges as data and markup: which public checks
//! show, with what status and uptime, and the HTML page and shields-style badges that
//! show them. The page has no script and no external assets ([`PAGE_POLICY`]).
//!
//! An application serves these (mon's server at `GET /status` and
//! `GET /badge/{check}/status.svg` / `uptime.svg`); this module does no HTTP.

use crate::{HealthRegistry, Uptime};
use chrono::{DateTime, Utc};
use mon_core::Status;
use mon_core::escape_markup;
use mon_store::{HistoryBucket, Incident, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The status page's content security policy: no script at all, its own inline
/// styles, no framing.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

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
    /// The history bars ([`add_history`]); empty until read.
    pub history: Vec<HistoryBucket>,
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
            history: Vec::new(),
            name,
        })
        .collect())
}

fn status_colour(status: Status) -> &'static str {
    match status {
        Status::Healthy => "#2e7d32",
        Status::Degraded => "#b26a00",
        Status::Unhealthy => "#c62828",
        _ => "#6b6b6b",
    }
}

/// `99.95%`, cut rather than rounded below 100 so that a failed run never reads `100.00%`.
fn percent_text(p: Option<f64>) -> String {
    p.map_or_else(
        || "n/a".to_owned(),
        |p| {
            let p = if p < 100.0 {
                (p * 100.0).floor() / 100.0
            } else {
                p
            };
            format!("{p:.2}%")
        },
    )
}

/// `status_page:` — the public status page's heading (docs/status-page.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusPageConfig {
    /// The page's heading and title (at most 100 characters).
    pub title: String,
    /// A line under the heading (at most 500 characters).
    pub description: Option<String>,
    /// A logo shown beside the heading. The page's policy loads images from mon's own
    /// origin or `data:` URLs only: a `data:image/...` URL (e.g. `data:image/svg+xml;base64,...`),
    /// or an absolute path on mon's origin (`/logo.svg`, served by a proxy in front of mon).
    pub logo_url: Option<String>,
}

impl Default for StatusPageConfig {
    fn default() -> Self {
        StatusPageConfig {
            title: "Service status".to_owned(),
            description: None,
            logo_url: None,
        }
    }
}

/// The image types a `data:` logo may have.
const LOGO_TYPES: [&str; 5] = [
    "data:image/svg+xml",
    "data:image/png",
    "data:image/jpeg",
    "data:image/gif",
    "data:image/webp",
];

impl StatusPageConfig {
    /// `(key, message)` for each problem (keys relative to `status_page`).
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 100 {
            errors.push((
                "title".to_owned(),
                format!("{:?} must be 1 to 100 characters", self.title),
            ));
        }
        if let Some(d) = &self.description
            && d.chars().count() > 500
        {
            errors.push((
                "description".to_owned(),
                "must be at most 500 characters".to_owned(),
            ));
        }
        if let Some(url) = &self.logo_url {
            let data = LOGO_TYPES.iter().any(|t| {
                url.strip_prefix(t)
                    .is_some_and(|rest| rest.starts_with(';') || rest.starts_with(','))
            });
            let path = url.starts_with('/')
                && !url.starts_with("//")
                && !url.contains(['\\', '"', '<', '>', ' ']);
            if !(data || path) {
                let shown: String = url.chars().take(40).collect();
                errors.push((
                    "logo_url".to_owned(),
                    format!(
                        "{shown:?} is neither a data:image/... URL nor an absolute path on mon's \
                         origin (/logo.svg); the page's policy loads no image from elsewhere. \
                         Inline a file with: logo_url: \"data:image/svg+xml;base64,$(base64 -w0 logo.svg)\""
                    ),
                ));
            }
        }
        errors
    }
}

/// One upcoming or ongoing maintenance period the page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenancePeriod {
    /// The window's name.
    pub name: String,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends.
    pub ends_at: DateTime<Utc>,
}

/// What the status page shows.
#[derive(Debug, Clone, Copy)]
pub struct PageContent<'a> {
    /// Title, description and logo.
    pub config: &'a StatusPageConfig,
    /// The public checks, each with its history.
    pub checks: &'a [PublicCheck],
    /// Open incidents and recently resolved ones, newest first.
    pub incidents: &'a [Incident],
    /// Ongoing and upcoming maintenance.
    pub maintenance: &'a [MaintenancePeriod],
    /// The "Updated" time.
    pub now: DateTime<Utc>,
}

/// How many buckets the page's history bars have, over [`HISTORY_WINDOW`].
pub const HISTORY_BUCKETS: u32 = 48;
/// The window the page's history bars cover.
pub const HISTORY_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// How often the page reloads itself, in seconds.
pub const REFRESH_SECONDS: u32 = 60;

/// Reads the history bars of `checks` from the store (one query for all).
///
/// # Errors
/// The store's error when the query fails.
pub async fn add_history(store: &Store, checks: &mut [PublicCheck]) -> Result<(), StoreError> {
    let names = checks.iter().map(|c| c.name.clone()).collect();
    let history = store
        .check_history(names, HISTORY_WINDOW, HISTORY_BUCKETS, chrono::Utc::now())
        .await?;
    for (check, history) in checks.iter_mut().zip(history) {
        check.history = history;
    }
    Ok(())
}

fn time_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn bars_html(out: &mut String, history: &[HistoryBucket]) {
    let width = chrono::Duration::seconds(
        i64::try_from(HISTORY_WINDOW.as_secs()).unwrap_or(0) / i64::from(HISTORY_BUCKETS),
    );
    out.push_str("<div class=\"bars\">");
    for b in history {
        let what = match b.state() {
            "none" => "no data".to_owned(),
            state => format!("{state}, uptime {}", percent_text(b.percent())),
        };
        let _ = write!(
            out,
            "<span class=\"b {state}\" title=\"{from} – {to}: {what}\"></span>",
            state = b.state(),
            from = b.start.format("%H:%M"),
            to = (b.start + width).format("%H:%M UTC"),
        );
    }
    out.push_str("</div>");
}

fn incident_html(out: &mut String, incident: &Incident) {
    let _ = write!(
        out,
        "<article class=\"incident {state}\"><h3>{title} <span class=\"tag\">{status}</span></h3><ol>",
        state = if incident.resolved_at.is_some() {
            "over"
        } else {
            "open"
        },
        title = escape_markup(&incident.title),
        status = incident.status.as_str(),
    );
    for u in incident.updates.iter().rev() {
        let _ = write!(
            out,
            "<li><b>{status}</b> {message} <time>{at}</time></li>",
            status = u.status.as_str(),
            message = escape_markup(&u.message),
            at = time_text(u.at),
        );
    }
    out.push_str("</ol></article>\n");
}

/// The lines of a check made public, shown when no check is.
const MAKE_PUBLIC: &str = "checks:\n  - name: api\n    type: http\n    url: http://127.0.0.1:9000/health\n    public: true";

/// The status page's HTML: heading, a banner with the worst status, incidents,
/// maintenance, then one row per public check with its history bars and uptime. No
/// script; it reloads itself every [`REFRESH_SECONDS`].
pub fn page_html(page: &PageContent<'_>) -> String {
    let checks = page.checks;
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
    let mut body = String::new();
    body.push_str("<header>");
    if let Some(logo) = &page.config.logo_url {
        let _ = write!(
            body,
            "<img class=\"logo\" src=\"{}\" alt=\"\">",
            escape_markup(logo)
        );
    }
    let _ = writeln!(
        body,
        "<h1>{}</h1></header>",
        escape_markup(&page.config.title)
    );
    if let Some(d) = &page.config.description {
        let _ = writeln!(body, "<p class=\"about\">{}</p>", escape_markup(d));
    }
    let _ = writeln!(
        body,
        "<p class=\"banner\" style=\"background:{}\">{headline}</p>",
        status_colour(overall)
    );
    let (open, over): (Vec<&Incident>, Vec<&Incident>) =
        page.incidents.iter().partition(|i| i.resolved_at.is_none());
    if !open.is_empty() {
        body.push_str("<section><h2>Incidents</h2>\n");
        open.iter().for_each(|i| incident_html(&mut body, i));
        body.push_str("</section>\n");
    }
    if !page.maintenance.is_empty() {
        body.push_str("<section><h2>Scheduled maintenance</h2><ul class=\"maintenance\">\n");
        for m in page.maintenance {
            let when = if m.starts_at <= page.now {
                "in progress"
            } else {
                "scheduled"
            };
            let _ = writeln!(
                body,
                "<li><b>{name}</b> <span class=\"tag\">{when}</span> {from} – {to}</li>",
                name = escape_markup(&m.name),
                from = time_text(m.starts_at),
                to = time_text(m.ends_at),
            );
        }
        body.push_str("</ul></section>\n");
    }
    body.push_str("<section><h2>Services</h2>\n");
    for c in checks {
        let _ = write!(
            body,
            "<div class=\"check\"><div class=\"row\"><span class=\"name\">{name}</span>\
             <span><span class=\"dot\" style=\"background:{colour}\"></span>{status}</span></div>",
            name = escape_markup(&c.name),
            colour = status_colour(c.status),
            status = c.status.as_str(),
        );
        bars_html(&mut body, &c.history);
        let _ = writeln!(
            body,
            "<div class=\"row small\"><span>24 h ago</span><span>uptime 24h {d} · 7d {w} · 30d {m}</span><span>now</span></div></div>",
            d = percent_text(c.uptime.get(1).copied().flatten()),
            w = percent_text(c.uptime.get(2).copied().flatten()),
            m = percent_text(c.uptime.get(3).copied().flatten()),
        );
    }
    if checks.is_empty() {
        let _ = writeln!(
            body,
            "<div class=\"empty\"><p>No check is public yet. A check appears here once its \
             configuration says <code>public: true</code>, for example:</p><pre>{MAKE_PUBLIC}</pre>\
             <p>Only public checks are shown; the others stay private.</p></div>"
        );
    }
    body.push_str("</section>\n");
    if !over.is_empty() {
        body.push_str("<section><h2>Past incidents</h2>\n");
        over.iter().for_each(|i| incident_html(&mut body, i));
        body.push_str("</section>\n");
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
<meta name=\"color-scheme\" content=\"light dark\">\
<link rel=\"icon\" href=\"/ui/favicon.svg\" type=\"image/svg+xml\">\
<title>{title}</title><style>\
:root{{--fg:#1d2330;--muted:#5b6475;--bg:#f6f7f9;--card:#fff;--line:#dde1e7;--up:#2e9d4f;--degraded:#d4a017;--down:#d64545;--none:#c5cad3}}\
@media (prefers-color-scheme:dark){{:root{{--fg:#e6e9ef;--muted:#9aa3b2;--bg:#12151b;--card:#1b1f27;--line:#2c323d;--up:#3fb866;--degraded:#e0b130;--down:#ef5f5f;--none:#3a404b}}}}\
*{{box-sizing:border-box}}body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:52rem;padding:1rem;color:var(--fg);background:var(--bg)}}\
header{{display:flex;align-items:center;gap:.8rem}}.logo{{max-height:2.5rem;max-width:8rem}}h1{{font-size:1.5rem;margin:.5rem 0}}\
h2{{font-size:1.05rem;margin:1.4rem 0 .5rem}}h3{{font-size:1rem;margin:0 0 .4rem}}.about{{color:var(--muted);margin:.2rem 0 1rem}}\
.banner{{padding:.8rem 1rem;border-radius:.4rem;color:#fff;font-weight:600}}\
.check,.incident,.empty,.maintenance{{background:var(--card);border:1px solid var(--line);border-radius:.4rem;padding:.7rem .8rem;margin:.5rem 0}}\
.row{{display:flex;justify-content:space-between;gap:.5rem;flex-wrap:wrap}}.name{{font-weight:600;overflow-wrap:anywhere}}\
.small{{font-size:.78rem;color:var(--muted)}}.dot{{display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin-right:.4rem}}\
.bars{{display:flex;gap:2px;height:1.9rem;margin:.45rem 0 .25rem}}.b{{flex:1 1 0;min-width:0;border-radius:2px;background:var(--none)}}\
.b.up{{background:var(--up)}}.b.degraded{{background:var(--degraded)}}.b.down{{background:var(--down)}}\
.tag{{font-size:.75rem;font-weight:600;padding:.1rem .45rem;border-radius:1rem;border:1px solid var(--line);color:var(--muted);white-space:nowrap}}\
.incident.open{{border-left:4px solid var(--down)}}.incident ol{{list-style:none;margin:0;padding:0}}\
.incident li{{padding:.3rem 0;border-top:1px solid var(--line);overflow-wrap:anywhere}}time{{display:block;font-size:.78rem;color:var(--muted)}}\
.maintenance{{list-style:none}}.maintenance li{{padding:.2rem 0}}\
pre{{background:var(--bg);border:1px solid var(--line);padding:.6rem;overflow-x:auto;font-size:.85rem}}\
footer{{margin-top:1.5rem;font-size:.8rem;color:var(--muted)}}\
@media (max-width:30rem){{body{{padding:.6rem}}.bars{{gap:1px}}}}\
</style></head><body>\n{body}<footer>Updated {now} · this page refreshes every {REFRESH_SECONDS} s</footer>\n</body></html>\n",
        title = escape_markup(&page.config.title),
        now = page.now.format("%Y-%m-%d %H:%M:%S UTC"),
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
    let (label, value) = (escape_markup(label), escape_markup(value));
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

    #[test]
    fn uptime_below_100_never_reads_100() {
        assert_eq!(percent_text(Some(99.999)), "99.99%");
        assert_eq!(percent_text(Some(99.5)), "99.50%");
        assert_eq!(percent_text(Some(100.0)), "100.00%");
        assert_eq!(percent_text(None), "n/a");
    }

    fn check(name: &str, status: Status, uptime: Vec<Option<f64>>) -> PublicCheck {
        PublicCheck {
            name: name.to_owned(),
            status,
            uptime,
            history: Vec::new(),
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
        let config = StatusPageConfig {
            title: "Acme <voice>".into(),
            description: Some("Calls & agents".into()),
            logo_url: Some("data:image/svg+xml;base64,PHN2Zz4=".into()),
        };
        let mut api = check("<api>", Status::Healthy, vec![None, Some(99.0), None, None]);
        api.history = vec![
            HistoryBucket::empty(now - chrono::Duration::hours(1)),
            HistoryBucket {
                runs: 2,
                up: 1,
                down: 1,
                ..HistoryBucket::empty(now)
            },
        ];
        let checks = [api, check("db", Status::Degraded, vec![])];
        let page = PageContent {
            config: &config,
            checks: &checks,
            incidents: &[],
            maintenance: &[MaintenancePeriod {
                name: "nightly <deploy>".into(),
                starts_at: now + chrono::Duration::hours(2),
                ends_at: now + chrono::Duration::hours(3),
            }],
            now,
        };
        let html = page_html(&page);
        assert!(html.contains("Some systems degraded"), "{html}");
        assert!(html.contains("&lt;api&gt;") && !html.contains("<api>"));
        assert!(html.contains("uptime 24h 99.00%"));
        assert!(html.contains("<h1>Acme &lt;voice&gt;</h1>"));
        assert!(html.contains("Calls &amp; agents"));
        assert!(html.contains("src=\"data:image/svg+xml;base64,PHN2Zz4=\""));
        assert!(html.contains("class=\"b none\"") && html.contains("class=\"b down\""));
        assert!(html.contains("down, uptime 50.00%"));
        assert!(html.contains("nightly &lt;deploy&gt;") && html.contains("scheduled"));
        assert!(html.contains("http-equiv=\"refresh\" content=\"60\""));
        assert!(html.contains("prefers-color-scheme:dark"));
        assert!(!html.contains("<script"));
        let empty = page_html(&PageContent {
            checks: &[],
            maintenance: &[],
            ..page
        });
        assert!(empty.contains("No check is public yet"), "{empty}");
        assert!(empty.contains("    public: true"));
    }

    #[test]
    fn the_status_page_config_names_what_is_wrong() {
        let bad = |title: &str, logo: Option<&str>| {
            StatusPageConfig {
                title: title.into(),
                description: None,
                logo_url: logo.map(str::to_owned),
            }
            .validate()
            .into_iter()
            .map(|(key, _)| key)
            .collect::<Vec<_>>()
        };
        assert!(bad("Status", None).is_empty());
        assert!(bad("Status", Some("/logo.svg")).is_empty());
        assert!(bad("Status", Some("data:image/png;base64,AAAA")).is_empty());
        assert_eq!(bad(" ", None), ["title"]);
        for logo in [
            "https://cdn.example.com/logo.png",
            "//cdn.example.com/logo.png",
            "data:text/html,<script>",
            "javascript:alert(1)",
            "logo.png",
        ] {
            assert_eq!(bad("Status", Some(logo)), ["logo_url"], "{logo}");
        }
    }
}
