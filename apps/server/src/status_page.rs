//! The public status page `GET /status` (server-rendered HTML, no script, no external
//! assets) and SVG badges `GET /badge/{check}/status.svg` and `/badge/{check}/uptime.svg`.
//!
//! Mounted outside the token layer. Only checks with `public: true` appear; any other
//! name answers the same 404 as a name that does not exist, so nothing leaks.

use crate::error::ApiError;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mon_core::Status;
use mon_health::Uptime;
use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// What the status page and badges read.
#[derive(Clone, Debug)]
pub(crate) struct StatusPageState {
    pub(crate) health: mon_health::HealthRegistry,
    /// Uptime is counted from the stored results.
    pub(crate) store: mon_store::Store,
    /// Names of the checks marked `public: true`, in config order.
    pub(crate) public_checks: Arc<Vec<String>>,
}

/// The public routes: status page and badges.
pub(crate) fn router(state: StatusPageState) -> Router {
    Router::new()
        .route("/status", get(page))
        .route("/badge/{check}/status.svg", get(status_badge))
        .route("/badge/{check}/uptime.svg", get(uptime_badge))
        .with_state(state)
}

/// One public check as the page and badges show it.
struct PublicCheck {
    name: String,
    status: Status,
    /// Uptime percentages for 1h, 24h, 7d, 30d (`None`: no runs in the window).
    uptime: Vec<Option<f64>>,
}

/// The public checks, in config order, with their uptime counted from the store.
async fn public_checks(
    state: &StatusPageState,
    only: Option<&str>,
) -> Result<Vec<PublicCheck>, ApiError> {
    let names: Vec<String> = state
        .public_checks
        .iter()
        .filter(|n| only.is_none_or(|o| o == n.as_str()))
        .filter(|n| state.health.check(n).is_some())
        .cloned()
        .collect();
    let uptimes = state
        .store
        .check_uptimes(names.clone(), &Uptime::WINDOWS, chrono::Utc::now())
        .await?;
    Ok(names
        .into_iter()
        .zip(uptimes)
        .map(|(name, windows)| PublicCheck {
            status: state
                .health
                .check(&name)
                .map_or(Status::Unknown, |c| c.status()),
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

/// The status page's policy: no script at all, its own inline styles, no framing.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

fn no_cache(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn page(State(state): State<StatusPageState>) -> Result<Response, ApiError> {
    let checks = public_checks(&state, None).await?;
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
    for c in &checks {
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
    let html = format!(
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
        now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"),
    );
    let mut page = no_cache("text/html; charset=utf-8", html);
    page.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(PAGE_POLICY),
    );
    Ok(page)
}

fn not_public() -> ApiError {
    ApiError::not_found("no public check with that name")
}

async fn status_badge(
    State(state): State<StatusPageState>,
    Path(check): Path<String>,
) -> Result<Response, ApiError> {
    let c = public_checks(&state, Some(&check))
        .await?
        .pop()
        .ok_or_else(not_public)?;
    let colour = match c.status {
        Status::Healthy => "#4c1",
        Status::Degraded => "#dfb317",
        Status::Unhealthy => "#e05d44",
        _ => "#9f9f9f",
    };
    Ok(no_cache(
        "image/svg+xml",
        badge(&c.name, c.status.as_str(), colour),
    ))
}

/// `?window=` `1h`, `24h` (default), `7d` or `30d`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowQuery {
    window: Option<String>,
}

async fn uptime_badge(
    State(state): State<StatusPageState>,
    Path(check): Path<String>,
    query: Result<Query<WindowQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let window = query.window.as_deref().unwrap_or("24h");
    let index = ["1h", "24h", "7d", "30d"]
        .iter()
        .position(|w| *w == window)
        .ok_or_else(|| {
            ApiError::bad_request(format!("window={window:?} must be 1h, 24h, 7d or 30d"))
        })?;
    let c = public_checks(&state, Some(&check))
        .await?
        .pop()
        .ok_or_else(not_public)?;
    let percent = c.uptime.get(index).copied().flatten();
    let colour = match percent {
        None => "#9f9f9f",
        Some(p) if p >= 99.9 => "#4c1",
        Some(p) if p >= 99.0 => "#97ca00",
        Some(p) if p >= 95.0 => "#dfb317",
        Some(_) => "#e05d44",
    };
    let label = format!("uptime {window}");
    Ok(no_cache(
        "image/svg+xml",
        badge(&label, &percent_text(percent), colour),
    ))
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

    #[test]
    fn badges_escape_and_size_their_text() {
        let svg = badge("a<b", "99.00%", "#4c1");
        assert!(svg.contains("a&lt;b: 99.00%"), "{svg}");
        assert!(!svg.contains("a<b"));
        let short = badge("x", "up", "#4c1");
        assert!(svg.len() > short.len());
        assert!(text_width("uptime 24h") > text_width("up"));
    }
}
