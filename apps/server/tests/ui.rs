//! The embedded web UI: `/` and its assets under `/ui/`, served without a token, offline
//! (no external URLs), small; every API call the page makes exists; `GET /api/v1/auth/whoami`.

mod common;
use axum::body::Body;
use axum::http::{StatusCode, header};
use common::{ADMIN, AUTH, READ, SELF_CHECK_OFF, call, call_json, config, send, start};
use mon_server::App;
use serde_json::{Value, json};

/// A check `api` on a real loopback service at `{open}`.
const BODY: &str = "
checks:
  - name: api
    type: tcp
    address: {open}
    interval: 200ms
metrics:
  interval: 1s
";

fn base() -> String {
    config(SELF_CHECK_OFF, BODY)
}

/// The assets as `mon_api::ENDPOINTS` declares them: `/` and everything under `/ui/`, with
/// the content type their name implies.
fn assets() -> Vec<(&'static str, &'static str)> {
    mon_api::ENDPOINTS
        .iter()
        .map(|e| e.path)
        .filter(|p| *p == "/" || p.starts_with("/ui/"))
        .map(|p| {
            let kind = if p.ends_with(".js") {
                "text/javascript"
            } else if p.ends_with(".css") {
                "text/css"
            } else if p.ends_with(".svg") {
                "image/svg+xml"
            } else {
                "text/html"
            };
            (p, kind)
        })
        .collect()
}

/// The page's own ES modules (not the vendored library).
fn modules() -> Vec<&'static str> {
    assets()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.ends_with(".js") && !p.starts_with("/ui/vendor/"))
        .collect()
}

struct Server {
    app: App,
    _dir: tempfile::TempDir,
}

async fn server(config: &str) -> Server {
    let dir = tempfile::tempdir().expect("dir");
    // A real loopback service for the `api` check.
    let open = mon_tests::Capture::start();
    let app = start(config, &dir, &[("{open}", &open.addr().to_string())]).await;
    Server { app, _dir: dir }
}

/// One GET without a token: status, content type, cache control and the body as text.
async fn get_raw(app: &App, uri: &str) -> (StatusCode, String, String, String) {
    let request = common::request("GET", uri, None).body(Body::empty());
    let answer = send(app, request.expect("request")).await;
    let content_type = answer.header(header::CONTENT_TYPE.as_str()).to_owned();
    let cache = answer.header(header::CACHE_CONTROL.as_str()).to_owned();
    (answer.status, content_type, cache, answer.text)
}

/// The values of `attr="..."` in an HTML text.
fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!("{attr}=\"");
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_served_without_a_token_offline_and_small() {
    let s = server(&base()).await;
    let mut total = 0;
    let mut bodies = Vec::new();
    let assets = assets();
    assert!(assets.len() >= 8, "declared assets: {assets:?}");
    for (path, want_type) in &assets {
        let (status, content_type, cache, body) = get_raw(&s.app, path).await;
        assert_eq!(status, StatusCode::OK, "{path} without a token");
        assert!(
            content_type.starts_with(want_type),
            "{path}: content type {content_type:?}, want {want_type}"
        );
        let want_cache = if path.starts_with("/ui/vendor/") {
            "max-age"
        } else {
            "no-cache"
        };
        assert!(
            cache.contains(want_cache),
            "{path}: cache-control {cache:?}"
        );
        assert!(!body.is_empty(), "{path} is empty");
        total += body.len();
        bodies.push((*path, body));
    }
    // Shown with `--nocapture`: the first-load size is worth seeing as it changes.
    #[allow(clippy::print_stdout)]
    {
        println!("first page load: {total} bytes (index, modules, styles, uPlot)");
    }
    assert!(
        total < 300 * 1024,
        "the first load is {total} bytes, over 300 KB"
    );

    for (path, body) in &bodies {
        // The vendored library opens with its license comment naming its home page.
        let checked = if *path == "/ui/vendor/uplot.js" {
            assert!(
                body.starts_with("/*!"),
                "uplot.js starts with its license comment"
            );
            let end = body.find("*/").expect("license comment ends");
            // The vendored README names the version that is really embedded.
            let readme = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("assets/vendor/uplot/README.md"),
            )
            .expect("vendor README");
            let version = body[..end]
                .split("(v")
                .nth(1)
                .and_then(|v| v.split(')').next())
                .expect("version in the license comment");
            assert!(
                readme.contains(&format!("uPlot {version} ")),
                "assets/vendor/uplot/README.md does not name uPlot {version}"
            );
            &body[end + 2..]
        } else {
            body.as_str()
        };
        // An SVG names its XML namespace by URL; nothing is fetched from it.
        let checked = checked.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for scheme in ["http://", "https://"] {
            assert!(
                !checked.contains(scheme),
                "{path} refers to an external URL ({scheme}): the UI must work offline"
            );
        }
    }

    // The page loads only assets under /ui/ and links to its own routes or the status page.
    let index = &bodies[0].1;
    let sources = attribute_values(index, "src");
    let styles: Vec<&str> = attribute_values(index, "href")
        .into_iter()
        .filter(|h| h.ends_with(".css"))
        .collect();
    assert_eq!(sources, ["/ui/vendor/uplot.js", "/ui/app.js"]);
    assert_eq!(styles, ["/ui/vendor/uplot.css", "/ui/app.css"]);
    // The tab's icon is one of the assets (no request for a missing /favicon.ico).
    assert!(
        index.contains(r#"<link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">"#),
        "index declares its icon"
    );
    for href in attribute_values(index, "href") {
        assert!(
            href.starts_with("/ui/") || href.starts_with('#') || href == "/status",
            "index links to {href:?}"
        );
    }
    // An unknown path under /ui/ is not an asset: 404 JSON, with or without a token.
    let (status, content_type, _, body) = get_raw(&s.app, "/ui/nope.js").await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::NOT_FOUND, "application/json")
    );
    assert!(body.contains("not_found"), "{body}");
}

/// The `from "./x.js"` imports of a module, resolved against its own path.
fn imports(module: &str, js: &str) -> Vec<String> {
    let dir = &module[..module.rfind('/').map_or(0, |i| i + 1)];
    js.lines()
        .filter(|l| l.starts_with("import "))
        .filter_map(|l| l.split(" from \"").nth(1)?.split('"').next())
        .map(|rel| {
            let mut parts: Vec<&str> = dir.trim_end_matches('/').split('/').collect();
            for seg in rel.split('/') {
                match seg {
                    "." => {}
                    ".." => {
                        parts.pop();
                    }
                    s => parts.push(s),
                }
            }
            parts.join("/")
        })
        .collect()
}

/// The page's modules form one graph from app.js: every import is a served module, and every
/// served module is imported (none is dead weight or missing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_module_import_is_served_and_every_module_is_used() {
    let s = server(&base()).await;
    let served = modules();
    let mut reached = std::collections::BTreeSet::from(["/ui/app.js".to_owned()]);
    let mut todo = vec!["/ui/app.js".to_owned()];
    while let Some(module) = todo.pop() {
        let (status, _, _, js) = get_raw(&s.app, &module).await;
        assert_eq!(status, StatusCode::OK, "{module}");
        for import in imports(&module, &js) {
            assert!(
                served.contains(&import.as_str()),
                "{module} imports {import}, which is not served"
            );
            if reached.insert(import.clone()) {
                todo.push(import);
            }
        }
    }
    let unused: Vec<_> = served.iter().filter(|m| !reached.contains(**m)).collect();
    assert!(unused.is_empty(), "served but never imported: {unused:?}");
}

/// The `["METHOD", "/api/v1/..."]` entries of core.js's API table.
fn api_table(js: &str) -> Vec<(String, String)> {
    js.lines()
        .filter_map(|line| {
            let line = line.trim();
            let (_, rest) = line.split_once(": [\"")?;
            let (method, rest) = rest.split_once("\", \"")?;
            let (path, _) = rest.split_once('"')?;
            Some((method.to_owned(), path.to_owned()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_call_of_the_page_exists() {
    let s = server(&base()).await;
    let table = api_table(&get_raw(&s.app, "/ui/core.js").await.3);
    assert!(table.len() >= 10, "API table of core.js: {table:?}");
    // Every API path in the scripts is in the table, so the checks below cover them all.
    let mut named = 0;
    for module in modules() {
        named += get_raw(&s.app, module)
            .await
            .3
            .matches("\"/api/v1/")
            .count();
    }
    assert_eq!(
        named,
        table.len(),
        "a module names an /api/v1/ path outside core.js's API table"
    );
    for (method, template) in &table {
        let path = if template.starts_with("/api/v1/dashboards/") {
            template.replace("{id}", "system_overview")
        } else {
            template
                .replace("{name}", "api")
                .replace("{variable}", "cpu_percent")
                .replace("{id}", "no-such-alert")
                .replace("{fingerprint}", "0000000000000000")
        };
        assert!(!path.contains('{'), "untested placeholder in {template}");
        match method.as_str() {
            // One alert, one error group, one experiment, a series in two periods, the
            // last scheduled report of a server without a schedule: the route exists, the
            // 404 is about the thing.
            "GET"
                if template.ends_with("/{id}") && path.contains("/alerts/")
                    || template.contains("{fingerprint}")
                    || template.starts_with("/api/v1/experiments/")
                    || template == "/api/v1/compare"
                    || template == "/api/v1/reports/latest" =>
            {
                let path = if template == "/api/v1/compare" {
                    format!("{path}?metric=no_such_series&a=14d/7d&b=7d/now")
                } else {
                    path
                };
                let (status, body) = call(&s.app, "GET", &path, Some(READ)).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}: {body}");
                let message = body["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    !message.contains("no such endpoint"),
                    "GET {path}: {message}"
                );
            }
            "GET" => {
                let uri = if path == "/api/v1/metrics/query" {
                    format!("{path}?name=cpu_percent&from=1h")
                } else {
                    path.clone()
                };
                let (status, body) = call(&s.app, "GET", &uri, Some(READ)).await;
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "GET {uri} with a read token: {body}"
                );
            }
            "POST" if path == "/api/v1/incidents" => {
                // The body the page sends when written by hand.
                let body = json!({"title": "Calls drop", "message": "Looking into it", "status": "investigating"});
                let (status, answer) =
                    call_json(&s.app, "POST", &path, Some(ADMIN), Some(body)).await;
                assert_eq!(status, StatusCode::CREATED, "POST {path}: {answer}");
            }
            "POST" if path.starts_with("/api/v1/incidents/") => {
                let body = json!({"status": "monitoring", "message": "Fix deployed"});
                let (status, answer) =
                    call_json(&s.app, "POST", &path, Some(ADMIN), Some(body)).await;
                // The route exists: the 404 is about the incident, not the endpoint.
                assert_eq!(status, StatusCode::NOT_FOUND, "POST {path}: {answer}");
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                assert!(message.contains("no incident"), "POST {path}: {message}");
            }
            "POST" if path == "/api/v1/silences" => {
                // The body the page sends: the alert's name and labels; who silences is
                // the token's name.
                let body = json!({
                    "matchers": [
                        { "name": "alertname", "value": "High CPU" },
                        { "name": "service", "value": "api" }
                    ],
                    "duration": "1h", "comment": "from the test",
                });
                let (status, answer) =
                    call_json(&s.app, "POST", &path, Some(ADMIN), Some(body)).await;
                assert_eq!(status, StatusCode::CREATED, "POST {path}: {answer}");
                assert_eq!(answer["created_by"], "ops", "POST {path}: {answer}");
            }
            "POST" => {
                // The page sends no body: who acts is the token's name.
                let (status, answer) = call_json(&s.app, "POST", &path, Some(ADMIN), None).await;
                // The route exists: the 404 is about the alert, not the endpoint.
                assert_eq!(status, StatusCode::NOT_FOUND, "POST {path}: {answer}");
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    !message.contains("no such endpoint"),
                    "POST {path}: {message}"
                );
            }
            other => panic!("unexpected method {other} for {template}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_names_the_role_of_the_token() {
    let s = server(&base()).await;
    for (token, role) in [(ADMIN, "admin"), (READ, "read")] {
        let (status, body) = call(&s.app, "GET", "/api/v1/auth/whoami", Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "role": role, "reads_open": false }));
    }
    let (status, body) = call(&s.app, "GET", "/api/v1/auth/whoami", Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        !body.to_string().contains("wrong"),
        "the answer never echoes a token: {body}"
    );
    let (status, _) = call(&s.app, "GET", "/api/v1/auth/whoami", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Without configured tokens reads are open: no role, reads_open.
    let open = server(&base().replace(AUTH, "")).await;
    let (status, body) = call(&open.app, "GET", "/api/v1/auth/whoami", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "role": Value::Null, "reads_open": true }));
}

/// Every surface a browser renders (the UI, its assets, the status page, the badges) and
/// the API and its errors carry the security headers: a policy without inline script,
/// no framing (the admin buttons cannot be clickjacked), nosniff and no referrer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let s = server(&base().replace("interval: 200ms", "interval: 200ms\n    public: true")).await;
    for (uri, token, status) in [
        ("/", None, StatusCode::OK),
        ("/ui/app.js", None, StatusCode::OK),
        ("/ui/vendor/uplot.css", None, StatusCode::OK),
        ("/status", None, StatusCode::OK),
        ("/badge/api/status.svg", None, StatusCode::OK),
        ("/badge/api/uptime.svg", None, StatusCode::OK),
        ("/badge/secret/status.svg", None, StatusCode::NOT_FOUND),
        ("/api/v1/status", Some(READ), StatusCode::OK),
        ("/api/v1/status", None, StatusCode::UNAUTHORIZED),
        ("/no/such/page", None, StatusCode::NOT_FOUND),
    ] {
        let request = common::request("GET", uri, token).body(Body::empty());
        let answer = send(&s.app, request.expect("request")).await;
        assert_eq!(answer.status, status, "{uri}");
        let get = |name: &str| answer.header(name).to_owned();
        assert_eq!(get("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(get("x-frame-options"), "DENY", "{uri}");
        assert_eq!(get("referrer-policy"), "no-referrer", "{uri}");
        let csp = get("content-security-policy");
        let directives: &[&str] = if uri == "/status" {
            // No script at all; its own inline styles.
            &[
                "default-src 'none'",
                "style-src 'unsafe-inline'",
                "frame-ancestors 'none'",
            ]
        } else {
            &[
                "default-src 'self'",
                "script-src 'self';",
                "style-src 'self';",
                "frame-ancestors 'none'",
                "object-src 'none'",
            ]
        };
        for directive in directives {
            assert!(
                csp.contains(directive),
                "{uri}: {directive} missing in {csp}"
            );
        }
        assert!(!csp.contains("unsafe-eval"), "{uri}: {csp}");
        assert!(!csp.contains("script-src 'unsafe-inline'"), "{uri}: {csp}");
    }
    // The policy allows no inline script: the page has none.
    let (_, _, _, html) = get_raw(&s.app, "/").await;
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..i + html[i..].find('>').expect("tag end")];
        assert!(tag.contains(" src="), "inline script in the page: {tag}");
    }
    assert!(!html.contains(" onclick="), "inline handler in the page");
    assert!(!html.contains(" style="), "inline style in the page");
}
