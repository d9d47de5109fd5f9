//! The web UI: `GET /` and its static assets under `/ui/`, embedded in the binary so the
//! server works offline (no CDN, no build step).
//!
//! Mounted outside the token layer: the page and scripts hold no data; the page's own
//! API calls carry the token the user entered. The security headers (CSP without inline
//! script, no framing, nosniff) are added to every answer by `mon_http::serving_layers`.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX: &str = include_str!("../assets/index.html");
const APP_CSS: &str = include_str!("../assets/app.css");
const UPLOT_JS: &str = include_str!("../assets/vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../assets/vendor/uplot/uPlot.min.css");

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Revalidate on every load: the page and app change with each release.
const NO_CACHE: &str = "no-cache";
/// The vendored library changes only with a new mon version; a day is safe.
const LONG: &str = "public, max-age=86400";

/// The UI routes.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/", get(|| async { asset(INDEX, HTML, NO_CACHE) }))
        // The seeds' name for the dashboard.
        .route(
            "/monitoring/dashboard",
            get(|| async { asset(INDEX, HTML, NO_CACHE) }),
        )
        // The page's ES modules: one per concern, each page under views/.
        .route(
            "/ui/app.js",
            get(|| async { script(include_str!("../assets/app.js")) }),
        )
        .route(
            "/ui/core.js",
            get(|| async { script(include_str!("../assets/core.js")) }),
        )
        .route(
            "/ui/format.js",
            get(|| async { script(include_str!("../assets/format.js")) }),
        )
        .route(
            "/ui/chart.js",
            get(|| async { script(include_str!("../assets/chart.js")) }),
        )
        .route(
            "/ui/views/overview.js",
            get(|| async { script(include_str!("../assets/views/overview.js")) }),
        )
        .route(
            "/ui/views/dashboards.js",
            get(|| async { script(include_str!("../assets/views/dashboards.js")) }),
        )
        .route(
            "/ui/views/checks.js",
            get(|| async { script(include_str!("../assets/views/checks.js")) }),
        )
        .route(
            "/ui/views/alerts.js",
            get(|| async { script(include_str!("../assets/views/alerts.js")) }),
        )
        .route(
            "/ui/views/errors.js",
            get(|| async { script(include_str!("../assets/views/errors.js")) }),
        )
        .route(
            "/ui/views/logs.js",
            get(|| async { script(include_str!("../assets/views/logs.js")) }),
        )
        .route(
            "/ui/views/experiments.js",
            get(|| async { script(include_str!("../assets/views/experiments.js")) }),
        )
        .route(
            "/ui/views/reports.js",
            get(|| async { script(include_str!("../assets/views/reports.js")) }),
        )
        .route(
            "/ui/views/incidents.js",
            get(|| async { script(include_str!("../assets/views/incidents.js")) }),
        )
        .route(
            "/ui/app.css",
            get(|| async { asset(APP_CSS, CSS, NO_CACHE) }),
        )
        .route(
            "/ui/favicon.svg",
            get(|| async { asset(include_str!("../assets/favicon.svg"), SVG, NO_CACHE) }),
        )
        .route(
            "/ui/vendor/uplot.js",
            get(|| async { asset(UPLOT_JS, JS, LONG) }),
        )
        .route(
            "/ui/vendor/uplot.css",
            get(|| async { asset(UPLOT_CSS, CSS, LONG) }),
        )
}

/// One of the page's own scripts: revalidated on every load.
fn script(body: &'static str) -> Response {
    asset(body, JS, NO_CACHE)
}

fn asset(body: &'static str, content_type: &'static str, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}
