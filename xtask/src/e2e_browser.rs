//! e2e step: the web UI in a real browser. Debian's Chromium, driven headless through
//! ChromeDriver over W3C WebDriver (plain HTTP/JSON), opens mon-server's page, signs in with
//! an admin token through the page's token field, and checks what a user sees: the status
//! grid, a chart with points, acknowledging an alert (seen in the API), the alert's page,
//! silencing it by its labels through the dialog, an error's drill-down, a console without
//! errors. Screenshots go to `target/e2e-screenshots/`.

use super::{Server, TempDir, apt_install, free_port, http, project_root};
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ADMIN_TOKEN: &str = "e2e-browser-admin-token";
const RULE: &str = "mon e2e browser";
/// The version of the deployment the test records: a marker on the charts.
const DEPLOYED_VERSION: &str = "1.2.3-e2e";
/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The ChromeDriver child process; killed on drop.
struct ChromeDriver(Child);

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One WebDriver session; deleted on drop, which closes Chromium.
struct Session {
    port: u16,
    id: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = webdriver(self.port, "DELETE", &format!("/session/{}", self.id), None);
    }
}

/// The strings of a JSON array (none when it is not one).
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// One WebDriver command: the `value` of the answer, or an error quoting the driver.
/// ChromeDriver wants HTTP/1.1 (it does not answer HTTP/1.0); `Connection: close` ends each
/// answer with the connection.
fn webdriver(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
    let (status, text) =
        http11(port, method, path, body).with_context(|| format!("WebDriver {method} {path}"))?;
    let answer: Value = serde_json::from_str(&text)
        .with_context(|| format!("WebDriver {method} {path} answered {status}: {text}"))?;
    if status != 200 {
        bail!("WebDriver {method} {path} answered {status}: {text}");
    }
    Ok(answer.get("value").cloned().unwrap_or(Value::Null))
}

/// One HTTP/1.1 request on loopback with an optional JSON body: (status, body).
fn http11(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(body) = body {
        let body = body.to_string();
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    stream.write_all(request.as_bytes())?;
    // ChromeDriver keeps the connection open after its answer: read by Content-Length.
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            bail!("the connection closed before a complete HTTP head");
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status code")?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .context("no Content-Length in the answer")?;
    let body_start = head_end + 4;
    while data.len() < body_start + length {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            bail!("the connection closed before the whole body");
        }
        data.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&data[body_start..body_start + length]).into_owned();
    Ok((status, body))
}

impl Session {
    fn cmd(&self, method: &str, what: &str, body: Option<&Value>) -> Result<Value> {
        webdriver(
            self.port,
            method,
            &format!("/session/{}{what}", self.id),
            body,
        )
    }

    /// Runs `script` (a function body) in the page and returns its value.
    fn script(&self, script: &str) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": script, "args": [] })),
        )
    }

    fn navigate(&self, url: &str) -> Result<()> {
        self.cmd("POST", "/url", Some(&json!({ "url": url })))?;
        Ok(())
    }

    /// The reference of the first element `using` (`css selector`, `xpath`) finds.
    fn find(&self, using: &str, value: &str) -> Result<String> {
        let found = self.cmd(
            "POST",
            "/element",
            Some(&json!({ "using": using, "value": value })),
        )?;
        found
            .get(ELEMENT)
            .and_then(Value::as_str)
            .map(str::to_string)
            .with_context(|| format!("no element reference for {value}: {found}"))
    }

    fn click(&self, element: &str) -> Result<()> {
        self.cmd(
            "POST",
            &format!("/element/{element}/click"),
            Some(&json!({})),
        )?;
        Ok(())
    }

    /// Finds the first element `using` finds and clicks it; found again when the page
    /// redrew it in between (its 5 s refresh replaces what it shows), up to three times.
    fn click_on(&self, using: &str, value: &str) -> Result<()> {
        let mut last = None;
        for _ in 0..3 {
            let element = self.find(using, value)?;
            match self.click(&element) {
                Ok(()) => return Ok(()),
                Err(e) if format!("{e:#}").contains("stale element reference") => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("{value}: not clicked")))
    }

    fn type_text(&self, element: &str, text: &str) -> Result<()> {
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(&json!({ "text": text })),
        )?;
        Ok(())
    }

    /// Mouse actions at viewport points (CSS pixels): `path` is the list of (x, y, button
    /// change) steps, `Some(true)` pressing the left button there, `Some(false)` releasing
    /// it, `None` only moving.
    fn mouse(&self, path: &[(f64, f64, Option<bool>)]) -> Result<()> {
        let mut steps = Vec::new();
        for &(x, y, button) in path {
            steps.push(
                json!({"type": "pointerMove", "duration": 50, "origin": "viewport",
                              "x": x.round() as i64, "y": y.round() as i64}),
            );
            match button {
                Some(true) => steps.push(json!({"type": "pointerDown", "button": 0})),
                Some(false) => steps.push(json!({"type": "pointerUp", "button": 0})),
                None => {}
            }
        }
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": steps,
        }]});
        self.cmd("POST", "/actions", Some(&actions))?;
        self.cmd("DELETE", "/actions", None)?;
        Ok(())
    }

    /// Saves a PNG screenshot of the page.
    fn screenshot(&self, file: &std::path::Path) -> Result<()> {
        let data = self.cmd("GET", "/screenshot", None)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().context("the screenshot is not a string")?)
            .context("the screenshot is not base64")?;
        if !png.starts_with(b"\x89PNG") {
            bail!("the screenshot is not a PNG");
        }
        std::fs::write(file, png).with_context(|| format!("cannot write {}", file.display()))
    }

    /// Browser console entries since the previous call.
    fn console(&self) -> Result<Vec<Value>> {
        let body = json!({ "type": "browser" });
        let entries = self
            .cmd("POST", "/se/log", Some(&body))
            .or_else(|_| self.cmd("POST", "/log", Some(&body)))?;
        Ok(entries.as_array().cloned().unwrap_or_default())
    }
}

/// Polls `done` for up to 30 s; `done` returns `Some` when finished (the last error
/// is shown on timeout).
fn poll<T>(what: &str, mut done: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let mut last = None;
    let limit = Duration::from_secs(30);
    Ok(mon_tests::try_eventually(what, limit, || match done() {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(last.clone().unwrap_or_else(|| String::from("not yet"))),
        Err(err) => {
            let message = format!("last error: {err:#}");
            last = Some(message.clone());
            Err(message)
        }
    })?)
}

/// SEVERE console entries, less those `allowed` accepts (the page declares its icon: a
/// request for a missing favicon is an error too).
fn severe(entries: &[Value], allowed: impl Fn(&str) -> bool) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.get("level").and_then(Value::as_str) == Some("SEVERE"))
        .filter_map(|e| e.get("message").and_then(Value::as_str))
        .filter(|m| !allowed(m))
        .map(str::to_string)
        .collect()
}

/// The incidents page and the public status page: opens an incident through the form of
/// `#/incidents` (as an admin would), then opens `/status` at 1366×900 and 390×844 and
/// checks that the incident and the public check's history bars show, that the page does
/// not scroll sideways, and that the private check is absent. Screenshots of both.
fn incidents_and_status_page(
    session: &Session,
    base: &str,
    shots: &std::path::Path,
    api: &dyn Fn(&str) -> Result<Value>,
) -> Result<()> {
    const TITLE: &str = "Calls drop in eu-west (e2e)";
    session.navigate(&format!("{base}/#/incidents"))?;
    let title = poll("the form of #/incidents", || {
        session
            .find("css selector", ".incident-form input[name=title]")
            .map(Some)
    })?;
    session.type_text(&title, TITLE)?;
    let message = session.find("css selector", ".incident-form input[name=message]")?;
    session.type_text(&message, "We are looking into it")?;
    let submit = session.find("css selector", ".incident-form button[type=submit]")?;
    session.click(&submit)?;
    let id = poll("the API to list the incident", || {
        let list = api("/api/v1/incidents")?;
        Ok(list["incidents"]
            .as_array()
            .and_then(|l| l.iter().find(|i| i["title"] == TITLE))
            .and_then(|i| i["id"].as_i64()))
    })?;
    poll("the incidents page to show the incident", || {
        let shown = session.script(
            "return [...document.querySelectorAll('.incident-card h2')].map((h) => h.textContent)",
        )?;
        Ok(shown
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t == TITLE))
            .then_some(()))
    })?;
    session.screenshot(&shots.join("incidents.png"))?;
    for (width, height) in [(1366, 900), (390, 844)] {
        session.cmd(
            "POST",
            "/window/rect",
            Some(&json!({ "width": width, "height": height })),
        )?;
        session.navigate(&format!("{base}/status"))?;
        let seen = poll("the status page with the incident and the bars", || {
            let seen = session.script(
                "return {
                   incident: [...document.querySelectorAll('.incident h3')].map((h) => h.textContent).join('|'),
                   bars: document.querySelectorAll('.bars .b').length,
                   up: document.querySelectorAll('.bars .b.up').length,
                   overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
                   text: document.body.textContent,
                   width: window.innerWidth,
                 }",
            )?;
            Ok(
                (seen["incident"].as_str().is_some_and(|t| t.contains(TITLE))
                    && seen["up"].as_u64().is_some_and(|n| n > 0))
                .then_some(seen),
            )
        })?;
        if seen["overflow"].as_i64() != Some(0) {
            bail!(
                "/status at {width}×{height} scrolls sideways: {}",
                seen["overflow"]
            );
        }
        if seen["bars"].as_u64() != Some(48) {
            bail!("/status shows {} history segments, not 48", seen["bars"]);
        }
        if seen["text"]
            .as_str()
            .is_some_and(|t| t.contains("closed-port"))
        {
            bail!("/status names the private check closed-port");
        }
        session.screenshot(&shots.join(format!("status-{width}x{height}.png")))?;
        eprintln!(
            "e2e: browser: /status at {width}×{height} (inner width {}) shows incident {id}, \
             48 history segments ({} up), no sideways scroll",
            seen["width"], seen["up"]
        );
    }
    session.cmd(
        "POST",
        "/window/rect",
        Some(&json!({ "width": 1280, "height": 900 })),
    )?;
    Ok(())
}

pub(crate) fn browser() -> Result<()> {
    apt_install(&["chromium", "chromium-driver"])?;
    crate::build_bins()?;
    let dir = TempDir::new()?;
    let root = project_root();

    // Seeded data: a healthy http check, an unhealthy tcp check, a rule that fires at once,
    // and host metrics every second for the overview charts.
    // A loopback HTTP server that answers 200 to everything, for the healthy http check.
    let ok = mon_tests::Capture::start();
    ok.answer(mon_tests::Answer::status(200).body("ok"));
    let ok_port = ok.addr().port();
    let closed_port = free_port()?;
    let config = dir.0.join("mon.yaml");
    std::fs::write(
        &config,
        format!(
            "server:
  auth:
    tokens:
      - {{ name: e2e, token: {ADMIN_TOKEN}, role: admin }}
metrics: {{ interval: 1s }}
checks:
  - {{ name: web, type: http, url: 'http://127.0.0.1:{ok_port}/', interval: 1s, failure_threshold: 1, success_threshold: 1, public: true }}
  - {{ name: closed-port, type: tcp, address: '127.0.0.1:{closed_port}', interval: 1s, failure_threshold: 1, critical: false }}
alerting:
  evaluation_interval: 1s
  default_rules: false
  rules:
    - {{ name: {RULE}, expr: 'cpu_percent >= 0', severity: warning, labels: {{ service: voice, region: eu }} }}
"
        ),
    )?;
    let server = Server::start_with(&root.join("target/debug/mon-server"), Some(&config), &[])?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let api = |path: &str| -> Result<Value> {
        let (status, _, body) = http(
            server.port,
            "GET",
            path,
            &[("Authorization", &auth), ("Accept", "application/json")],
            "",
        )?;
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        Ok(serde_json::from_str(&body)?)
    };

    // Application events: a deployment (the charts' marker), requests, a call and voice
    // quality, so that dashboards show values in their units.
    let mut events = json!([
        { "type": "deployment", "service": "api", "version": DEPLOYED_VERSION },
        { "type": "request", "endpoint": "/api/rooms", "method": "POST", "status": 201, "latency_ms": 84.25 },
        { "type": "request", "endpoint": "/api/rooms", "method": "GET", "status": 200, "latency_ms": 1234.5 },
        { "type": "request", "endpoint": "/api/calls", "method": "GET", "status": 503, "latency_ms": 17.128463745117188 },
        { "type": "call_started", "call_id": "e2e-1" },
        { "type": "call_started", "call_id": "e2e-2" },
        { "type": "call_ended", "call_id": "e2e-2", "duration_seconds": 95.5, "success": true },
        { "type": "voice_quality", "conversation_id": "e2e-1", "latency_ms": 230.4, "packet_loss": 0.025, "jitter_ms": 12.75, "mos": 4.26 },
        { "type": "ai_usage", "provider": "openai", "service": "llm", "model": "gpt", "units": 1200, "cost_usd": 0.0321, "latency_ms": 812.0 },
    ]);
    if let Some(list) = events.as_array_mut() {
        list.extend(experience_events());
    }
    let (status, _, body) = http(
        server.port,
        "POST",
        "/api/v1/events",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &events.to_string(),
    )?;
    if status != 200 && status != 202 {
        bail!("POST /api/v1/events answered {status}: {body}");
    }

    let driver_port = free_port()?;
    let _driver = ChromeDriver(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start chromedriver (package chromium-driver)")?,
    );
    poll("ChromeDriver ready", || {
        let (status, body) = http11(driver_port, "GET", "/status", None)?;
        Ok((status == 200 && body.contains("\"ready\":true")).then_some(()))
    })?;
    let profile = dir.0.join("chromium-profile");
    let capabilities = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    }}});
    let created = webdriver(driver_port, "POST", "/session", Some(&capabilities))?;
    let session = Session {
        port: driver_port,
        id: created
            .get("sessionId")
            .and_then(Value::as_str)
            .context("no sessionId in the new session")?
            .to_string(),
    };

    // Sign in as a user would: the token in the header field, then "Use".
    session.navigate(&format!("{base}/"))?;
    let field = session.find("css selector", "#token")?;
    session.type_text(&field, ADMIN_TOKEN)?;
    let submit = session.find("css selector", "#token-form button[type=submit]")?;
    session.click(&submit)?;
    poll("the page to show role admin", || {
        let role = session.script("return document.getElementById('role').textContent")?;
        Ok((role.as_str() == Some("role: admin")).then_some(()))
    })?;
    // Before the token the API answered 401, as it should, and Chromium logged it: proof that
    // the console is read. Nothing else may be logged.
    let entries = session.console()?;
    let unauthorized = severe(&entries, |_| false).len();
    let before = severe(&entries, |m| m.contains("status of 401"));
    if unauthorized == 0 || !before.is_empty() {
        bail!("expected only the 401s of the page before sign-in in the console: {entries:?}");
    }

    // 1. The status grid shows both checks in their state.
    let tiles = poll(
        "the status grid to show web healthy and closed-port unhealthy",
        || {
            let tiles = session.script(
                "return [...document.querySelectorAll('.checks a.check')]
               .map((a) => a.querySelector('.name').textContent + ' ' + a.className)",
            )?;
            let list = strings(&tiles);
            let has = |name: &str, class: &str| {
                list.iter().any(|t| {
                    let mut words = t.split_whitespace();
                    words.next() == Some(name) && words.any(|w| w == class)
                })
            };
            Ok((has("web", "s-healthy") && has("closed-port", "s-unhealthy")).then_some(list))
        },
    )?;

    // 2. A chart draws points: a canvas, and the count of points it drew on its container.
    let points = poll("a chart with points on the overview", || {
        let n = session.script(
            "if (!document.querySelector('#view .chart canvas')) return 0;
             return [...document.querySelectorAll('#view .chart[data-points]')]
               .reduce((n, c) => n + Number(c.dataset.points), 0)",
        )?;
        Ok(n.as_u64().filter(|n| *n > 0))
    })?;
    let shots = root.join("target/e2e-screenshots");
    std::fs::create_dir_all(&shots)?;
    session.screenshot(&shots.join("overview.png"))?;
    eprintln!(
        "e2e: browser: the overview shows the checks ({}) and charts with {points} points",
        tiles.join("; ")
    );

    let zoom = zoom_across_charts(&session)?;
    eprintln!("e2e: browser: {zoom}");

    // 3. Acknowledge the firing alert on #/alerts; the API sees it.
    let id = poll("the rule's alert to fire", || {
        let alerts = api("/api/v1/alerts?state=firing")?;
        Ok(alerts["alerts"].as_array().and_then(|list| {
            list.iter().find(|a| a["rule"] == RULE).and_then(|a| {
                a["id"]
                    .as_str()
                    .map(str::to_string)
                    .or(a["id"].as_u64().map(|n| n.to_string()))
            })
        }))
    })?;
    session.navigate(&format!("{base}/#/alerts"))?;
    let acknowledge = "//button[normalize-space()='Acknowledge']";
    poll("an Acknowledge button on #/alerts", || {
        session.find("xpath", acknowledge).map(Some)
    })?;
    session.click_on("xpath", acknowledge)?;
    poll("the API to show the alert acknowledged", || {
        let alert = api(&format!("/api/v1/alerts/{id}"))?;
        Ok((alert["state"] == "acknowledged").then_some(()))
    })?;
    poll("the alerts page to show the alert acknowledged", || {
        let shown = session.script(
            "return [...document.querySelectorAll('#view td')]
               .some((td) => td.textContent.startsWith('acknowledged'))",
        )?;
        Ok((shown == Value::Bool(true)).then_some(()))
    })?;
    session.screenshot(&shots.join("alerts.png"))?;
    eprintln!(
        "e2e: browser: Acknowledge on #/alerts acknowledged alert {id} (GET /api/v1/alerts/{id})"
    );

    // 4. Every page at a laptop's and a phone's viewport.
    let dashboards: Vec<String> = api("/api/v1/dashboards")?["dashboards"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| d["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if dashboards.len() < 7 {
        bail!("GET /api/v1/dashboards lists {dashboards:?}, not the 7 built-in dashboards");
    }
    let summary = every_page_at_both_viewports(
        &session,
        &base,
        &dashboards,
        &["web", "closed-port"],
        &[&id],
        &shots,
    )?;
    eprintln!(
        "e2e: browser: {summary}; screenshots in {}",
        shots.display()
    );

    // 5. The alert's own page, a silence of its labels, an error's drill-down.
    alert_pages(&session, &base, server.port, &id, &shots)?;

    // 6. An incident opened through the page shows on the public status page.
    incidents_and_status_page(&session, &base, &shots, &api)?;

    // 7. The User Experience dashboard and the experiment's comparison; the report.
    user_experience_and_experiments(&session, &base, &shots)?;
    report_page(&session, &base, &shots)?;

    // 8. No console errors since sign-in.
    let errors = severe(&session.console()?, |_| false);
    if !errors.is_empty() {
        bail!("the browser console has errors: {errors:?}");
    }
    eprintln!(
        "e2e: browser: console clean after sign-in (before it: {unauthorized} expected 401s); \
         screenshots in {}",
        shots.display()
    );
    Ok(())
}

/// The experiment the test's events belong to.
const EXPERIMENT: &str = "e2e-prompt";

/// Sessions, feedback and feature use (the feedback of session `e2e-1` rates the call whose
/// voice quality was posted), and 40 calls and ratings of each variant of [`EXPERIMENT`]:
/// `b` succeeds and satisfies more often, in shorter calls.
fn experience_events() -> Vec<Value> {
    let mut events = vec![
        json!({ "type": "session", "session_id": "e2e-1", "phase": "start", "user_id": "u-1" }),
        json!({ "type": "session", "session_id": "e2e-2", "phase": "start", "user_id": "u-2" }),
        json!({ "type": "session", "session_id": "e2e-3", "phase": "start" }),
        json!({ "type": "session", "session_id": "e2e-2", "phase": "end", "outcome": "completed", "turns": 6, "duration_seconds": 95.5 }),
        json!({ "type": "feedback", "session_id": "e2e-1", "rating": 5, "category": "voice" }),
        json!({ "type": "feedback", "session_id": "e2e-2", "rating": 2, "category": "latency", "comment": "slow answers" }),
        json!({ "type": "feature", "feature": "transfer_to_agent", "session_id": "e2e-1" }),
        json!({ "type": "feature", "feature": "booking", "session_id": "e2e-1", "duration_seconds": 12.5 }),
        json!({ "type": "feature", "feature": "booking", "session_id": "e2e-3" }),
    ];
    for i in 0..40u32 {
        for (variant, success, seconds, rating) in [
            ("control", i < 30, 60 + i % 7, 3 + i % 2),
            ("b", i < 39, 40 + i % 5, 4 + i % 2),
        ] {
            events.push(
                json!({ "type": "call_ended", "call_id": format!("x-{variant}-{i}"),
                "duration_seconds": seconds, "success": success,
                "experiment": EXPERIMENT, "variant": variant }),
            );
            events.push(json!({ "type": "feedback", "rating": rating,
                "experiment": EXPERIMENT, "variant": variant }));
        }
    }
    events
}

/// The User Experience dashboard shows numbers (active sessions, CSAT) and table rows
/// (rating per MOS band, top features); the Experiments page lists [`EXPERIMENT`], its page
/// compares `b` with `control` (both named, p-values shown, significance marked) and again
/// at another confidence level; the compare form answers for a host metric.
fn user_experience_and_experiments(
    session: &Session,
    base: &str,
    shots: &std::path::Path,
) -> Result<()> {
    session.navigate(&format!("{base}/#/dashboards/user_experience"))?;
    let shown = poll("the User Experience panels with values and rows", || {
        let facts = session.script(
            "const text = (id) => (document.querySelector(`[data-panel=${id}] .value`) || {}).textContent || '';
             const rows = (id) => document.querySelectorAll(`[data-panel=${id}] tbody tr`).length;
             return { sessions: text('active_sessions'), csat: text('csat'), rating: text('avg_rating'),
                      mos_rows: rows('rating_by_mos'), feature_rows: rows('top_features') }",
        )?;
        let number = |k: &str| {
            facts[k]
                .as_str()
                .and_then(|t| t.trim_end_matches(" %").parse::<f64>().ok())
        };
        let rows = |k: &str| facts[k].as_u64().unwrap_or(0);
        Ok((number("sessions").is_some_and(|n| n >= 1.0)
            && facts["csat"].as_str().is_some_and(|t| t.ends_with(" %"))
            && number("csat").is_some()
            && number("rating").is_some()
            && rows("mos_rows") > 0
            && rows("feature_rows") > 0)
            .then_some(facts))
    })?;
    session.screenshot(&shots.join("user-experience.png"))?;
    eprintln!("e2e: browser: User Experience dashboard shows {shown}");

    session.navigate(&format!("{base}/#/experiments"))?;
    let link =
        format!("//table[contains(@class,'experiments')]//a[normalize-space()='{EXPERIMENT}']");
    poll("the experiment listed on #/experiments", || {
        session.find("xpath", &link).map(Some)
    })?;
    let metric = session.find("css selector", "#compare-metric")?;
    session.type_text(&metric, "cpu_percent")?;
    session.click_on("css selector", ".compare-form button[type=submit]")?;
    let compared = poll("the compare form's result", || {
        let text = session.script(
            "const r = document.getElementById('compare-result'); return r ? r.innerText : ''",
        )?;
        Ok(text
            .as_str()
            .filter(|t| t.contains("p-value") && t.contains("b (after)"))
            .map(str::to_string))
    })?;
    session.screenshot(&shots.join("experiments.png"))?;
    session.click_on("xpath", &link)?;
    let read = || -> Result<Value> {
        session.script(
            "const card = document.querySelector('.experiment-variant[data-variant=b]');
             if (!card) return null;
             return { heads: [...card.querySelectorAll('thead th')].map((th) => th.textContent),
                      rows: [...card.querySelectorAll('tbody tr:not(.warn-row)')].map((tr) =>
                        [...tr.children].map((c) => c.innerText)),
                      findings: document.querySelector('.findings-card').innerText,
                      confidence: document.getElementById('confidence').value }",
        )
    };
    let table = poll("b compared with control, with p-values", || {
        let t = read()?;
        Ok((t["rows"].as_array().is_some_and(|r| r.len() >= 3)).then_some(t))
    })?;
    let heads = strings(&table["heads"]);
    if heads.first().map(String::as_str) != Some("Metric")
        || !heads.iter().any(|h| h == "control (control)")
        || !heads.iter().any(|h| h == "b")
        || !heads.iter().any(|h| h == "p-value")
    {
        bail!("the comparison's headers do not name both variants and the p-value: {heads:?}");
    }
    let rows: Vec<Vec<String>> = table["rows"]
        .as_array()
        .map(|r| r.iter().map(strings).collect())
        .unwrap_or_default();
    let row = |metric: &str| rows.iter().find(|r| r.first().is_some_and(|m| m == metric));
    let success =
        row("call success rate").with_context(|| format!("no call success rate row: {rows:?}"))?;
    // 30 of 40 against 39 of 40: +22.5 points, significant at 95 %.
    if !(success[1].starts_with("75.0 %")
        && success[2].starts_with("97.5 %")
        && success[3].starts_with("+22.5 pts")
        && success[4].starts_with("< 0.01")
        && success[5] == "significant")
    {
        bail!("the call success rate row reads {success:?}");
    }
    let rating = row("rating").with_context(|| format!("no rating row: {rows:?}"))?;
    if !(rating[4]
        .chars()
        .next()
        .is_some_and(|c| c == '<' || c.is_ascii_digit())
        && rating[5].starts_with("significant"))
    {
        bail!("the rating row reads {rating:?}");
    }
    if !table["findings"]
        .as_str()
        .is_some_and(|f| f.contains("call success rate: b +22.5 pts against control"))
    {
        bail!("the findings read {}", table["findings"]);
    }
    session.screenshot(&shots.join("experiment.png"))?;
    // Another confidence level: the page asks again and keeps the choice.
    session.click_on("css selector", "#confidence option[value='0.99']")?;
    poll("the comparison at 99 %", || {
        let t = read()?;
        Ok(
            (t["confidence"] == "0.99" && t["rows"].as_array().is_some_and(|r| r.len() >= 3))
                .then_some(()),
        )
    })?;
    eprintln!(
        "e2e: browser: experiment {EXPERIMENT}: {} metrics compared, call success rate {success:?}; \
         compare form: {}",
        rows.len(),
        compared.replace('\n', " | ")
    );
    Ok(())
}

/// The time range each chart of the page shows (`data-x`), in page order.
fn chart_ranges(session: &Session) -> Result<Vec<(f64, f64)>> {
    let ranges = session.script(
        "return [...document.querySelectorAll('#view .chart[data-x]')].map((c) => JSON.parse(c.dataset.x))",
    )?;
    Ok(ranges
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|r| Some((r[0].as_f64()?, r[1].as_f64()?)))
                .collect()
        })
        .unwrap_or_default())
}

/// How many "Reset zoom" buttons of the page show.
fn reset_buttons_shown(session: &Session) -> Result<u64> {
    Ok(session
        .script("return [...document.querySelectorAll('#view .reset-zoom')].filter((b) => !b.hidden).length")?
        .as_u64()
        .unwrap_or(0))
}

/// On the overview (both charts drawn): a drag across the middle half of the first chart
/// zooms every chart to the same shorter range, which survives the page's refresh; "Reset
/// zoom" restores the whole range; a drag again, then a double-click, restores it too.
fn zoom_across_charts(session: &Session) -> Result<String> {
    let whole = poll("two overview charts with a time range of their own", || {
        let ranges = chart_ranges(session)?;
        Ok((ranges.len() >= 2 && ranges.iter().all(|(a, b)| b > a)).then_some(ranges))
    })?;
    let span = |r: &(f64, f64)| r.1 - r.0;
    // The first plot's centre and width, read afresh: the page redraws its charts every 5 s.
    let plot = || -> Result<(f64, f64, f64)> {
        let rect = session.script(
            "const r = document.querySelector('#view .chart .u-over').getBoundingClientRect();
             return [r.left + r.width / 2, r.top + r.height / 2, r.width];",
        )?;
        let at = |i: usize| rect[i].as_f64().context("the plot's box");
        Ok((at(0)?, at(1)?, at(2)?))
    };
    // `act` until `done` holds within half a second: a redraw can swallow a gesture.
    let until = |what: &str, act: &dyn Fn() -> Result<()>, done: &dyn Fn() -> Result<bool>| {
        for _ in 0..3 {
            act()?;
            std::thread::sleep(Duration::from_millis(500));
            if done()? {
                return Ok(());
            }
        }
        bail!("{what}: three tries did nothing")
    };
    let drag = || -> Result<()> {
        let (x, y, width) = plot()?;
        let quarter = width / 4.0;
        session.mouse(&[
            (x - quarter, y, Some(true)),
            (x, y, None),
            (x + quarter, y, Some(false)),
        ])
    };
    let double_click = || -> Result<()> {
        let (x, y, _) = plot()?;
        session.mouse(&[
            (x, y, Some(true)),
            (x, y, Some(false)),
            (x, y, Some(true)),
            (x, y, Some(false)),
        ])
    };
    let click_reset = || session.click_on("css selector", "#view .reset-zoom:not([hidden])");
    let zoomed_shown = || Ok(reset_buttons_shown(session)? > 0);
    let zoom_gone = || Ok(reset_buttons_shown(session)? == 0);
    // Every chart shows the same range, shorter than `before` (the first chart's range
    // before the drag), with its "Reset zoom" button.
    let zoomed_everywhere = |what: &str, before: (f64, f64)| {
        poll(what, || {
            let ranges = chart_ranges(session)?;
            let first = ranges.first().copied();
            let shorter = first.is_some_and(|f| span(&f) < 0.75 * span(&before) && span(&f) > 0.0);
            let same = first.is_some_and(|f| {
                ranges.len() == whole.len()
                    && ranges
                        .iter()
                        .all(|r| (r.0 - f.0).abs() < 1.0 && (r.1 - f.1).abs() < 1.0)
            });
            let shown = reset_buttons_shown(session)?;
            if shorter && same && shown as usize == whole.len() {
                Ok(Some(first))
            } else {
                bail!("ranges {ranges:?} (whole {whole:?}), {shown} \"Reset zoom\" shown")
            }
        })
    };
    let back_to_whole = |what: &str| {
        poll(what, || {
            let ranges = chart_ranges(session)?;
            let whole_again = ranges.len() == whole.len()
                && ranges
                    .iter()
                    .zip(&whole)
                    .all(|(r, w)| span(r) >= 0.95 * span(w));
            let shown = reset_buttons_shown(session)?;
            if whole_again && shown == 0 {
                Ok(Some(()))
            } else {
                bail!("ranges {ranges:?} (whole {whole:?}), {shown} \"Reset zoom\" shown")
            }
        })
    };
    until("a drag across the first chart", &drag, &zoomed_shown)?;
    let zoomed =
        zoomed_everywhere("every chart zoomed to the dragged range", whole[0])?.unwrap_or_default();
    // The page refreshes every 5 s: the zoom stays.
    std::thread::sleep(Duration::from_secs(6));
    zoomed_everywhere("the zoom to survive the page's refresh", whole[0])?;
    until("a click on \"Reset zoom\"", &click_reset, &zoom_gone)?;
    back_to_whole("\"Reset zoom\" to restore the whole range")?;
    let before = chart_ranges(session)?.first().copied().unwrap_or_default();
    until("a drag again", &drag, &zoomed_shown)?;
    zoomed_everywhere("every chart zoomed again", before)?;
    until("a double-click on the chart", &double_click, &zoom_gone)?;
    back_to_whole("a double-click to restore the whole range")?;
    Ok(format!(
        "a drag zoomed {} charts from {:.1} s to {:.1} s, kept across a refresh; \"Reset zoom\" \
         and a double-click restored the range",
        whole.len(),
        span(&whole[0]),
        span(&zoomed)
    ))
}

/// The Reports page shows the report made over the last 7 days: its nine sections, each
/// with the chart the server drew as SVG, and the calls the run sent counted.
fn report_page(session: &Session, base: &str, shots: &std::path::Path) -> Result<()> {
    session.navigate(&format!("{base}/#/reports"))?;
    let shown = poll("the report's sections with their charts", || {
        let facts = session.script(
            "const cards = [...document.querySelectorAll('#report section.card')];
             return { sections: cards.map((c) => c.id),
                      charts: cards.filter((c) => c.querySelector('.report-chart svg')).length,
                      calls: (document.querySelector('#report-calls .figure .value') || {}).textContent || '' }",
        )?;
        let sections = facts["sections"].as_array().map_or(0, Vec::len);
        Ok((sections == 9
            && facts["charts"].as_u64() == Some(9)
            && facts["calls"]
                .as_str()
                .is_some_and(|t| t.parse::<u64>().is_ok_and(|n| n > 0)))
        .then_some(facts))
    })?;
    session.screenshot(&shots.join("reports.png"))?;
    eprintln!("e2e: browser: the Reports page shows {shown}");
    Ok(())
}

/// The viewports every page is checked at: a laptop and a phone.
const VIEWPORTS: [(u64, u64); 2] = [(1366, 900), (390, 844)];

/// Every page route of the UI: the overview, the dashboards list and each dashboard, the
/// pages of `checks`, alerts, errors, logs and incidents, and the pages of `alerts`.
fn page_routes(dashboards: &[String], checks: &[&str], alerts: &[&str]) -> Vec<String> {
    let mut routes = vec!["#/".to_string(), "#/dashboards".to_string()];
    routes.extend(dashboards.iter().map(|id| format!("#/dashboards/{id}")));
    routes.extend(checks.iter().map(|c| format!("#/checks/{c}")));
    routes.extend([
        "#/alerts".to_string(),
        "#/errors".to_string(),
        "#/logs".to_string(),
        "#/incidents".to_string(),
        "#/experiments".to_string(),
        format!("#/experiments/{EXPERIMENT}"),
        "#/reports".to_string(),
    ]);
    routes.extend(alerts.iter().map(|id| format!("#/alerts/{id}")));
    routes
}

/// Resizes the browser window so that the page's viewport is `width` × `height` CSS pixels
/// (the window may add a frame: measured and corrected once).
fn set_viewport(session: &Session, width: u64, height: u64) -> Result<()> {
    let mut outer = (width, height);
    for _ in 0..2 {
        session.cmd(
            "POST",
            "/window/rect",
            Some(&json!({ "width": outer.0, "height": outer.1 })),
        )?;
        let inner = session.script("return [window.innerWidth, window.innerHeight]")?;
        let (w, h) = (
            inner[0].as_u64().unwrap_or_default(),
            inner[1].as_u64().unwrap_or_default(),
        );
        if w == width && h == height {
            return Ok(());
        }
        outer = (
            outer.0 + width - w.min(width),
            outer.1 + height - h.min(height),
        );
    }
    let inner = session.script("return [window.innerWidth, window.innerHeight]")?;
    bail!("the viewport is {inner} after resizing to {width}x{height}")
}

/// What one page shows, read in the browser after its data arrived.
const PAGE_FACTS: &str = "
const charts = [...document.querySelectorAll('#view .chart')]
  .filter((c) => c.querySelector('.uplot canvas'))
  .map((c) => {
    // What can show of the chart: its canvas, within its card (which clips), relative to
    // the chart's container as its tick boxes are.
    const a = c.querySelector('.uplot canvas').getBoundingClientRect();
    const b = (c.closest('.card') || c).getBoundingClientRect();
    const o = c.getBoundingClientRect();
    const frame = { left: Math.max(a.left, b.left) - o.left, top: Math.max(a.top, b.top) - o.top,
                    right: Math.min(a.right, b.right) - o.left, bottom: Math.min(a.bottom, b.bottom) - o.top };
    return { ticks: JSON.parse(c.dataset.ticks || '[]'), frame };
  });
return {
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  charts,
  text: document.body.innerText,
  values: [...document.querySelectorAll('#view [data-unit]')]
    .map((e) => [e.dataset.unit, e.textContent.trim()]),
  markers: document.querySelectorAll('#view .chart .marker').length,
  marker_titles: [...document.querySelectorAll('#view .chart .marker')].map((m) => m.title),
  periods: [...document.querySelectorAll('#view .chart')].map((c) => c.querySelectorAll('.period').length),
};";

/// One tick label a chart drew and its box (CSS pixels from the chart container's top left).
#[derive(Debug)]
struct Tick {
    axis: String,
    text: String,
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

fn ticks_of(value: &Value) -> Vec<Tick> {
    let num = |t: &Value, k: &str| t[k].as_f64().unwrap_or(f64::NAN);
    value
        .as_array()
        .map(|list| {
            list.iter()
                .map(|t| Tick {
                    axis: t["axis"].as_str().unwrap_or_default().to_string(),
                    text: t["text"].as_str().unwrap_or_default().to_string(),
                    left: num(t, "left"),
                    top: num(t, "top"),
                    right: num(t, "right"),
                    bottom: num(t, "bottom"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What is wrong with a chart's tick labels: two on one axis that overlap or read the same,
/// one outside the chart's canvas (clipped), a box that is not a box.
fn tick_problems(ticks: &[Tick], frame: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let edge = |k: &str| frame[k].as_f64().unwrap_or(f64::NAN);
    const SLACK: f64 = 1.0;
    for (i, a) in ticks.iter().enumerate() {
        if !(a.left < a.right && a.top < a.bottom) {
            problems.push(format!("tick {a:?} has no box"));
        }
        if a.left < edge("left") - SLACK
            || a.right > edge("right") + SLACK
            || a.top < edge("top") - SLACK
            || a.bottom > edge("bottom") + SLACK
        {
            problems.push(format!(
                "tick {:?} on {} is clipped by the chart: {:.1}..{:.1} × {:.1}..{:.1} in {frame}",
                a.text, a.axis, a.left, a.right, a.top, a.bottom
            ));
        }
        for b in &ticks[i + 1..] {
            if a.axis != b.axis {
                continue;
            }
            if a.text == b.text {
                problems.push(format!("tick {:?} twice on {}", a.text, a.axis));
            }
            let overlap_x = a.right.min(b.right) - a.left.max(b.left);
            let overlap_y = a.bottom.min(b.bottom) - a.top.max(b.top);
            if overlap_x > 0.5 && overlap_y > 0.5 {
                problems.push(format!(
                    "ticks {:?} and {:?} overlap on {}",
                    a.text, b.text, a.axis
                ));
            }
        }
    }
    problems
}

/// Numbers written with more than 2 decimals (`17.128`), not counting dotted sequences such
/// as addresses or versions (`10.0.100.200`, `1.2.3`).
fn long_decimals(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit()
            || (i > 0 && (chars[i - 1].is_ascii_digit() || chars[i - 1] == '.'))
        {
            i += 1;
            continue;
        }
        // A token of digits and dots starting here.
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        let token = token.trim_end_matches('.');
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() == 2 && parts[1].len() > 2 {
            found.push(token.to_string());
        }
    }
    found
}

/// Whether `text` reads as a value in `unit` (the catalog's unit names), or is the dash of no
/// value.
fn reads_in_unit(unit: &str, text: &str) -> bool {
    if text == "–" {
        return true;
    }
    let number = |s: &str| {
        let s = s.strip_prefix('-').unwrap_or(s);
        !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.')
    };
    let with = |suffixes: &[&str]| {
        suffixes
            .iter()
            .any(|s| text.strip_suffix(s).is_some_and(number))
    };
    match unit {
        "percent" | "ratio" => with(&[" %"]),
        "milliseconds" | "seconds" => with(&[" ms", " s", " min", " h"]),
        "bytes" => with(&[" B", " KB", " MB", " GB", " TB", " PB"]),
        "bytes_per_second" => with(&[" B/s", " KB/s", " MB/s", " GB/s", " TB/s", " PB/s"]),
        "per_minute" => with(&["/min"]),
        "usd" => text
            .strip_prefix("-$")
            .or_else(|| text.strip_prefix('$'))
            .is_some_and(|n| number(n) && n.split('.').nth(1).is_some_and(|d| d.len() == 2)),
        "count" => number(text) && !text.contains('.'),
        "mos" => number(text) && text.split('.').nth(1).is_some_and(|d| d.len() == 1),
        _ => number(text),
    }
}

/// Every page at both viewports: the page's data arrived, nothing scrolls sideways, no tick
/// labels overlap, repeat or are clipped, values read in their units (no NaN, no long
/// decimals), the console stays clean; a screenshot of each. Returns a summary line.
fn every_page_at_both_viewports(
    session: &Session,
    base: &str,
    dashboards: &[String],
    checks: &[&str],
    alerts: &[&str],
    shots: &std::path::Path,
) -> Result<String> {
    let routes = page_routes(dashboards, checks, alerts);
    let (mut pages, mut charts, mut ticks, mut values) = (0, 0, 0, 0);
    let mut percent_values = 0;
    let mut markers = 0;
    let mut periods = 0;
    for (width, height) in VIEWPORTS {
        set_viewport(session, width, height)?;
        for route in &routes {
            session.navigate(&format!("{base}/{route}"))?;
            let facts = poll(
                &format!("{route} at {width}x{height} to show its data"),
                || {
                    let ready = session.script(&format!(
                        "const v = document.getElementById('view');
                     if (v.dataset.ready !== {route:?}) return false;
                     // Drawn, and laid out: a chart that follows its card's width (after a
                     // scrollbar came) has been drawn again at that width.
                     return [...v.querySelectorAll('.chart')].every((c) => {{
                       const canvas = c.querySelector('canvas');
                       if (!canvas) return true;
                       const card = (c.closest('.card') || c).getBoundingClientRect();
                       return c.dataset.ticks && canvas.getBoundingClientRect().right <= card.right + 0.5;
                     }})"
                    ))?;
                    if ready != Value::Bool(true) {
                        return Ok(None);
                    }
                    session.script(PAGE_FACTS).map(Some)
                },
            )?;
            let slug = route.trim_start_matches("#/").replace('/', "-");
            let slug = if slug.is_empty() { "overview" } else { &slug };
            session.screenshot(&shots.join(format!("{width}x{height}-{slug}.png")))?;
            let at = format!("{route} at {width}x{height}");
            let mut problems = Vec::new();
            let (scroll, inner) = (
                facts["scrollWidth"].as_u64().unwrap_or(u64::MAX),
                facts["innerWidth"].as_u64().unwrap_or(0),
            );
            if scroll > inner {
                problems.push(format!(
                    "the page scrolls sideways: {scroll} px wide in a {inner} px viewport"
                ));
            }
            for chart in facts["charts"].as_array().into_iter().flatten() {
                let drawn = ticks_of(&chart["ticks"]);
                if !drawn.iter().any(|t| t.axis == "x") || !drawn.iter().any(|t| t.axis == "y") {
                    problems.push(format!("a chart recorded no ticks on an axis: {drawn:?}"));
                }
                problems.extend(tick_problems(&drawn, &chart["frame"]));
                charts += 1;
                ticks += drawn.len();
            }
            let text = facts["text"].as_str().unwrap_or_default();
            for bad in ["NaN", "undefined", "[object "] {
                if text.contains(bad) {
                    problems.push(format!("the page text shows {bad:?}"));
                }
            }
            let long = long_decimals(text);
            if !long.is_empty() {
                problems.push(format!("numbers with more than 2 decimals: {long:?}"));
            }
            for pair in facts["values"].as_array().into_iter().flatten() {
                let (unit, shown) = (
                    pair[0].as_str().unwrap_or_default(),
                    pair[1].as_str().unwrap_or_default(),
                );
                if !reads_in_unit(unit, shown) {
                    problems.push(format!("{shown:?} does not read as a value in {unit}"));
                }
                if matches!(unit, "percent" | "ratio") && shown.ends_with(" %") {
                    percent_values += 1;
                }
                values += 1;
            }
            if route == "#/" && width == VIEWPORTS[0].0 {
                markers = facts["markers"].as_u64().unwrap_or(0);
                // Per chart, in page order: CPU, then memory. The rule reads cpu_percent only.
                let per_chart: Vec<u64> = facts["periods"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default();
                periods = per_chart.first().copied().unwrap_or(0);
                if per_chart.get(1).is_some_and(|&n| n > 0) {
                    problems.push(format!(
                        "the memory chart shades the alert of a rule that reads cpu_percent only: \
                         periods per chart {per_chart:?}"
                    ));
                }
                let titles = facts["marker_titles"].to_string();
                if !titles.contains(DEPLOYED_VERSION) {
                    problems.push(format!(
                        "no deployment marker for version {DEPLOYED_VERSION} on the overview charts: {titles}"
                    ));
                }
                if periods == 0 {
                    problems.push("no alert period on the overview's CPU chart".to_string());
                }
            }
            let errors = severe(&session.console()?, |_| false);
            if !errors.is_empty() {
                problems.push(format!("console errors: {errors:?}"));
            }
            if !problems.is_empty() {
                bail!("{at}: {}", problems.join("; "));
            }
            pages += 1;
        }
    }
    if charts == 0 || percent_values == 0 {
        bail!(
            "the pages showed {charts} charts and {percent_values} percent values: nothing was checked"
        );
    }
    Ok(format!(
        "{pages} page views at {VIEWPORTS:?}: no sideways scrolling; {charts} charts with {ticks} \
         tick labels, none overlapping, repeated or clipped; {values} values in their units \
         ({percent_values} percentages); {markers} deployment markers and {periods} alert \
         periods on the overview charts; console clean"
    ))
}

/// The acknowledged alert's detail page (timeline, labels, value with its unit, who
/// acknowledged: the token's name), silencing it by its labels through the dialog (the
/// API then holds a silence whose matchers are the alert's name and labels), and the
/// drill-down of an error posted as an event (its sample's real message and call).
fn alert_pages(
    session: &Session,
    base: &str,
    port: u16,
    id: &str,
    shots: &std::path::Path,
) -> Result<()> {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let send = |method: &str, path: &str, body: &str| -> Result<Value> {
        let (status, _, text) = http(
            port,
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Accept", "application/json"),
                ("Content-Type", "application/json"),
            ],
            body,
        )?;
        if !(200..300).contains(&status) {
            bail!("{method} {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    };
    let text_of = |selector: &str| -> Result<String> {
        let v = session.script(&format!(
            "const e = document.querySelector({}); return e ? e.textContent : ''",
            json!(selector)
        ))?;
        Ok(v.as_str().unwrap_or_default().to_string())
    };

    session.navigate(&format!("{base}/#/alerts/{id}"))?;
    let shown = poll("the alert page with its timeline, labels and value", || {
        let timeline = text_of("#alert-timeline")?;
        let labels = text_of("#alert-labels")?;
        let value = text_of("#alert-value")?;
        let acked = text_of("#alert-acked-by")?;
        let expr = text_of("#alert-expr")?;
        if timeline.contains("firing")
            && timeline.contains("acknowledged")
            && labels.contains("service")
            && labels.contains("voice")
            && value.ends_with(" %")
            && acked == "e2e"
            && expr == "cpu_percent >= 0"
        {
            return Ok(Some(format!("value {value}, acknowledged by {acked}")));
        }
        bail!(
            "timeline {timeline:?}, labels {labels:?}, value {value:?}, acknowledged by \
             {acked:?}, expression {expr:?}"
        )
    })?;
    poll("the chart of cpu_percent around the alert", || {
        let n = session.script(
            "const c = document.querySelector('#alert-chart[data-points]');
             return c ? Number(c.dataset.points) : 0",
        )?;
        Ok(n.as_u64().filter(|n| *n > 0))
    })?;
    session.screenshot(&shots.join("alert-detail.png"))?;

    // Silence it by its labels through the dialog.
    session.click_on("css selector", "button.silence-open")?;
    let listed = poll("the silence dialog listing the matchers", || {
        let items = session.script(
            "const d = document.querySelector('dialog.silence-dialog[open]');
             return d ? [...d.querySelectorAll('ul.matchers code')].map((c) => c.textContent) : []",
        )?;
        let items = strings(&items);
        Ok((items.len() >= 3).then_some(items))
    })?;
    // The alert's name and labels as the API has them (the rule's: region, service).
    let labels = send("GET", &format!("/api/v1/alerts/{id}"), "")?["labels"].clone();
    let mut want: Vec<String> = labels
        .as_object()
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    want.push(format!("alertname={RULE}"));
    want.sort();
    if !want.contains(&"service=voice".to_string()) {
        bail!("the alert lacks its rule's labels: {labels}");
    }
    let mut listed = listed;
    listed.sort();
    if listed != want {
        bail!("the dialog lists {listed:?}, not the alert's name and labels {want:?}");
    }
    session.screenshot(&shots.join("alert-silence-dialog.png"))?;
    session.click_on("css selector", "dialog.silence-dialog button[type=submit]")?;
    let silence = poll("the API to hold the silence posted by the dialog", || {
        let list = send("GET", "/api/v1/silences", "")?;
        Ok(list["silences"].as_array().and_then(|s| {
            s.iter()
                .find(|s| s["created_by"] == "e2e" && s["active"] == true)
                .cloned()
        }))
    })?;
    let mut matchers: Vec<String> = silence["matchers"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| {
                    format!(
                        "{}={}",
                        m["name"].as_str().unwrap_or(""),
                        m["value"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    matchers.sort();
    if matchers != want {
        bail!(
            "the silence matches {matchers:?}, not the alert's name and labels {want:?}: {silence}"
        );
    }
    poll("the alert shown silenced", || {
        Ok(text_of("#alert-state")?.contains("silenced").then_some(()))
    })?;
    eprintln!("e2e: browser: alert page ({shown}); silenced by its labels {matchers:?}");

    // An error with a real message and a call: the group, then its drill-down.
    send(
        "POST",
        "/api/v1/events",
        &json!([{ "type": "error", "kind": "TtsTimeout", "message": "TTS timeout after 3200 ms for room r-17",
                  "context": { "call_id": "call-e2e-1", "location": "agent/tts.py:88" } }])
        .to_string(),
    )?;
    session.navigate(&format!("{base}/#/errors"))?;
    let group = "//a[normalize-space()='TtsTimeout']";
    poll("the error group on #/errors", || {
        session.find("xpath", group).map(Some)
    })?;
    session.click_on("xpath", group)?;
    let sample = poll(
        "the error drill-down with the sample's message and call",
        || {
            let samples = text_of("#error-samples")?;
            Ok((samples.contains("TTS timeout after 3200 ms for room r-17")
                && samples.contains("call call-e2e-1"))
            .then_some(samples))
        },
    )?;
    session.screenshot(&shots.join("error-detail.png"))?;
    eprintln!(
        "e2e: browser: error drill-down shows its sample ({} characters)",
        sample.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_decimals_are_found_and_dotted_sequences_are_not() {
        let text = "cpu 17.128463 % at 10.0.100.200, v1.2.3, 99.95 %, 0.5 s, 3.14159.";
        assert_eq!(long_decimals(text), ["17.128463", "3.14159"]);
        assert!(long_decimals("12:03:05 · 1.25 ms · 127.0.0.1").is_empty());
    }

    #[test]
    fn values_read_in_their_units_or_not() {
        for (unit, text) in [
            ("percent", "86 %"),
            ("ratio", "99.9 %"),
            ("milliseconds", "230 ms"),
            ("seconds", "1.6 min"),
            ("bytes_per_second", "12.2 MB/s"),
            ("usd", "$3.20"),
            ("count", "3"),
            ("mos", "4.3"),
            ("count", "–"),
        ] {
            assert!(reads_in_unit(unit, text), "{unit}: {text}");
        }
        for (unit, text) in [
            ("percent", "0.86"),
            ("ratio", "0.86 ratio"),
            ("milliseconds", "230"),
            ("usd", "3.2"),
            ("count", "3.00"),
            ("mos", "4.26"),
        ] {
            assert!(!reads_in_unit(unit, text), "{unit}: {text}");
        }
    }

    #[test]
    fn overlapping_repeated_and_clipped_ticks_are_problems() {
        let tick = |axis: &str, text: &str, left: f64, right: f64| Tick {
            axis: axis.to_string(),
            text: text.to_string(),
            left,
            top: 100.0,
            right,
            bottom: 114.0,
        };
        let frame = json!({ "left": 0.0, "top": 0.0, "right": 300.0, "bottom": 200.0 });
        let fine = [
            tick("x", "12:00", 10.0, 40.0),
            tick("x", "12:05", 60.0, 90.0),
        ];
        assert!(tick_problems(&fine, &frame).is_empty());
        let overlap = [
            tick("x", "12:00", 10.0, 40.0),
            tick("x", "12:01", 30.0, 60.0),
        ];
        assert!(tick_problems(&overlap, &frame)[0].contains("overlap"));
        let twice = [tick("y", "1 %", 10.0, 40.0), tick("y", "1 %", 60.0, 90.0)];
        assert!(tick_problems(&twice, &frame)[0].contains("twice"));
        let clipped = [tick("x", "12:10", 290.0, 320.0)];
        assert!(tick_problems(&clipped, &frame)[0].contains("clipped"));
    }
}
