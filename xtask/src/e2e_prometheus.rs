//! e2e step: application events pushed to the real mon-server reach the Debian
//! `prometheus` (scraping `/metrics`, queried through its HTTP API) and the Debian
//! `prometheus-pushgateway` (mon's Pushgateway exporter); `promtool check metrics` stays
//! clean with the application families present; every PromQL target of the dashboards'
//! Grafana exports evaluates in that Prometheus.

use super::{Server, TempDir, apt_install, free_port, http_get, http_get_accepting, project_root};
use anyhow::{Context, Result, bail};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A request on loopback with a bearer token and a JSON body: (status, body).
fn http_call(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Result<(u16, String)> {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, _, body) = crate::http(port, method, path, &headers, body)?;
    Ok((status, body))
}

/// Polls `probe` every 200 ms until it returns `Some`, failing after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub(crate) fn prometheus() -> Result<()> {
    apt_install(&["prometheus", "prometheus-pushgateway"])?;
    let tmp = TempDir::new()?;

    // The Pushgateway.
    let gateway_port = free_port()?;
    let _gateway = Daemon(
        Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address=127.0.0.1:{gateway_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start prometheus-pushgateway")?,
    );
    wait_for("the Pushgateway", Duration::from_secs(30), || {
        matches!(http_get(gateway_port, "/-/ready"), Ok((200, ..))).then_some(())
    })?;

    // mon-server with an ingest token and the Pushgateway exporter every second.
    let config = tmp.0.join("mon.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  auth:\n    tokens:\n      - {{ name: agent, token: e2e-ingest-token, role: ingest }}\n\
             metrics:\n  exporters:\n    pushgateway:\n      url: http://127.0.0.1:{gateway_port}\n      \
             job: mon-e2e\n      interval: 1s\n"
        ),
    )?;
    let server = Server::start_with(
        &project_root().join("target/debug/mon-server"),
        Some(&config),
        &[],
    )?;
    let events = r#"[
        {"type":"request","endpoint":"/api/rooms","method":"POST","status":201,"latency_ms":84.0},
        {"type":"call_started","call_id":"e2e-call"},
        {"type":"ai_usage","provider":"openai","service":"llm","model":"gpt","units":10,"cost_usd":0.01,"latency_ms":300},
        {"type":"counter","name":"agent_retries_total","value":3,"labels":{"provider":"deepgram"}}
    ]"#;
    let (status, body) = http_call(
        server.port,
        "POST",
        "/api/v1/events",
        "e2e-ingest-token",
        events,
    )?;
    if status != 200 || !body.contains("\"accepted\":4") {
        bail!("POST /api/v1/events answered {status}: {body}");
    }

    // promtool is still clean with the application families in /metrics.
    let (_, _, text) = http_get_accepting(server.port, "/metrics", "text/plain; version=0.0.4")?;
    if !text.contains("mon_app_requests_total{") || !text.contains("agent_retries_total{") {
        bail!("/metrics lacks the application families:\n{text}");
    }
    crate::promtool_check(&text)?;

    // Prometheus scrapes mon every second; its query API returns mon's series.
    let prom_port = free_port()?;
    let prom_config = tmp.0.join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: mon\n    \
             static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            server.port
        ),
    )?;
    let _prometheus = Daemon(
        Command::new("prometheus")
            .arg(format!("--config.file={}", prom_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.0.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start prometheus")?,
    );
    let answer = wait_for(
        "Prometheus to return mon's series",
        Duration::from_secs(60),
        || {
            let (status, _, body) =
                http_get(prom_port, "/api/v1/query?query=mon_app_requests_total").ok()?;
            (status == 200 && body.contains("\"endpoint\":\"/api/rooms\"")).then_some(body)
        },
    )?;
    eprintln!("e2e: Prometheus scraped mon: {answer}");
    wait_for(
        "Prometheus to return mon_ingest_events_total",
        Duration::from_secs(30),
        || {
            let (_, _, body) =
                http_get(prom_port, "/api/v1/query?query=mon_ingest_events_total").ok()?;
            body.contains("\"type\":\"call_started\"").then_some(())
        },
    )?;

    grafana_queries_evaluate(server.port, prom_port)?;

    // The Pushgateway holds what mon pushed, under job="mon-e2e".
    wait_for(
        "the pushed metrics in the Pushgateway",
        Duration::from_secs(30),
        || {
            let (_, _, body) = http_get(gateway_port, "/metrics").ok()?;
            body.lines()
                .any(|l| {
                    l.starts_with("agent_retries_total{")
                        && l.contains("job=\"mon-e2e\"")
                        && l.contains("provider=\"deepgram\"")
                })
                .then_some(())
        },
    )?;
    let (_, status) = http_call(server.port, "GET", "/api/v1/status", "e2e-ingest-token", "")?;
    if !status.contains("\"pushgateway\"") {
        bail!("/api/v1/status does not report the pushgateway exporter: {status}");
    }
    eprintln!("e2e: Prometheus scrapes mon's series; the Pushgateway received mon's push");
    Ok(())
}

/// Every PromQL target of every built-in dashboard's Grafana export evaluates in the real
/// Prometheus (a syntax or type error there is an `"status":"error"` answer).
fn grafana_queries_evaluate(mon_port: u16, prom_port: u16) -> Result<()> {
    // Every dashboard the server offers (the six built-in ones without custom config).
    let (status, body) = http_call(
        mon_port,
        "GET",
        "/api/v1/dashboards",
        "e2e-ingest-token",
        "",
    )?;
    if status != 200 {
        bail!("GET /api/v1/dashboards answered {status}: {body}");
    }
    let list: serde_json::Value =
        serde_json::from_str(&body).context("/api/v1/dashboards is not JSON")?;
    let ids: Vec<&str> = list["dashboards"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str())
        .collect();
    if ids.len() < 6 {
        bail!("GET /api/v1/dashboards lists {ids:?}: the six built-in dashboards are missing");
    }
    let mut count = 0;
    for id in ids {
        let path = format!("/api/v1/dashboards/{id}/grafana");
        let (status, body) = http_call(mon_port, "GET", &path, "e2e-ingest-token", "")?;
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        let dashboard: serde_json::Value =
            serde_json::from_str(&body).with_context(|| format!("{path} is not JSON"))?;
        let targets = dashboard["panels"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["targets"].as_array().into_iter().flatten());
        for target in targets {
            let expr = target["expr"].as_str().context("a target without expr")?;
            let (status, _, answer) = http_get(
                prom_port,
                &format!("/api/v1/query?query={}", percent_encode(expr)),
            )?;
            if status != 200 || !answer.contains("\"status\":\"success\"") {
                bail!("{id}: Prometheus rejected {expr:?} ({status}): {answer}");
            }
            count += 1;
        }
    }
    if count < 30 {
        bail!("only {count} PromQL targets in the Grafana exports");
    }
    eprintln!("e2e: all {count} PromQL targets of the Grafana exports evaluate in Prometheus");
    Ok(())
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for a query string.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
