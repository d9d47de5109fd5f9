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

    fn type_text(&self, element: &str, text: &str) -> Result<()> {
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(&json!({ "text": text })),
        )?;
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

/// SEVERE console entries, less the favicon 404 and those `allowed` accepts.
fn severe(entries: &[Value], allowed: impl Fn(&str) -> bool) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.get("level").and_then(Value::as_str) == Some("SEVERE"))
        .filter_map(|e| e.get("message").and_then(Value::as_str))
        .filter(|m| !m.contains("favicon.ico") && !allowed(m))
        .map(str::to_string)
        .collect()
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
  - {{ name: web, type: http, url: 'http://127.0.0.1:{ok_port}/', interval: 1s, failure_threshold: 1, success_threshold: 1 }}
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
            let list: Vec<String> = tiles
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
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
    let button = poll("an Acknowledge button on #/alerts", || {
        session
            .find("xpath", "//button[normalize-space()='Acknowledge']")
            .map(Some)
    })?;
    session.click(&button)?;
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

    alert_pages(&session, &base, server.port, &id, &shots)?;

    // 4. No console errors since sign-in.
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
    let open = session.find("css selector", "button.silence-open")?;
    session.click(&open)?;
    let listed = poll("the silence dialog listing the matchers", || {
        let items = session.script(
            "const d = document.querySelector('dialog.silence-dialog[open]');
             return d ? [...d.querySelectorAll('ul.matchers code')].map((c) => c.textContent) : []",
        )?;
        let items: Vec<String> = items
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
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
    let confirm = session.find("css selector", "dialog.silence-dialog button[type=submit]")?;
    session.click(&confirm)?;
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
    let link = poll("the error group on #/errors", || {
        session
            .find("xpath", "//a[normalize-space()='TtsTimeout']")
            .map(Some)
    })?;
    session.click(&link)?;
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
