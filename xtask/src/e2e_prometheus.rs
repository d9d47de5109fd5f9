//! e2e step: application events pushed to the real mon-server reach the Debian
//! `prometheus` (scraping `/metrics`, queried through its HTTP API) and the Debian
//! `prometheus-pushgateway` (mon's Pushgateway exporter); `promtool check metrics` stays
//! clean with the application families present; every PromQL target of the dashboards'
//! Grafana exports evaluates in that Prometheus; a `livekit` check against a strict fake
//! LiveKit gives rooms and participants as gauges there and as stored dashboard points.

use super::{Server, TempDir, apt_install, free_port, http_get, http_get_accepting, project_root};
use anyhow::{Context, Result, bail};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// Polls `probe` until it returns `Some`, failing after `limit`.
fn wait_for<T>(what: &str, limit: Duration, probe: impl FnMut() -> Option<T>) -> Result<T> {
    Ok(mon_tests::try_eventually(what, limit, probe)?)
}

/// Label values no input may use to break an exposition, for every labelled field.
const HOSTILE: &[&str] = mon_tests::HOSTILE_LABEL_VALUES;

/// Known latencies (ms) per endpoint: centre ± 25 %, spread evenly.
const LATENCIES: &[(&str, f64)] = &[
    ("/lat/80ms", 80.0),
    ("/lat/800ms", 800.0),
    ("/lat/3s", 3000.0),
];

/// The events of the step: ordinary ones, hostile label values in every labelled field,
/// known latencies and the heartbeats of a healthy and a late (degraded) check.
fn events() -> Vec<serde_json::Value> {
    use serde_json::json;
    let mut events = vec![
        json!({"type":"request","endpoint":"/api/rooms","method":"POST","status":201,"latency_ms":84.0}),
        json!({"type":"call_started","call_id":"e2e-call"}),
        json!({"type":"ai_usage","provider":"openai","service":"llm","model":"gpt","units":10,"cost_usd":0.01,"latency_ms":300}),
        json!({"type":"counter","name":"agent_retries_total","value":3,"labels":{"provider":"deepgram"}}),
        json!({"type":"heartbeat","name":"calm"}),
        json!({"type":"heartbeat","name":"late",
               "timestamp":(chrono::Utc::now() - chrono::Duration::minutes(2)).to_rfc3339()}),
    ];
    for v in HOSTILE {
        events.extend([
            json!({"type":"request","endpoint":v,"method":v,"status":200,"latency_ms":12}),
            json!({"type":"error","kind":v,"message":"m"}),
            json!({"type":"ai_usage","provider":v,"service":"tts","model":v,"units":1,"cost_usd":0,"latency_ms":5}),
            json!({"type":"gauge","name":"hostile_level","value":1,"labels":{"k":v}}),
            json!({"type":"counter","name":"hostile_events","labels":{"k":v}}),
        ]);
    }
    events.push(json!({"type":"gauge","name":"hostile_level","value":2,"labels":{"k":""}}));
    for (endpoint, centre) in LATENCIES {
        for i in 0..200 {
            let ms = centre * (0.75 + 0.5 * f64::from(i) / 199.0);
            events.push(json!({"type":"request","endpoint":endpoint,"method":"GET","status":200,"latency_ms":ms}));
        }
    }
    events
}

/// Prometheus' instant query `expr`: the `data.result` array.
fn query(prom_port: u16, expr: &str) -> Result<Vec<serde_json::Value>> {
    let (status, _, body) = http_get(
        prom_port,
        &format!("/api/v1/query?query={}", percent_encode(expr)),
    )?;
    let answer: serde_json::Value = serde_json::from_str(&body)
        .with_context(|| format!("Prometheus answered {status} to {expr:?}: {body}"))?;
    if answer["status"] != "success" {
        bail!("Prometheus rejected {expr:?} ({status}): {body}");
    }
    Ok(answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// The single value of an instant query, when it has exactly one.
fn scalar(prom_port: u16, expr: &str) -> Option<f64> {
    match query(prom_port, expr).ok()?.as_slice() {
        [one] => one["value"][1].as_str()?.parse().ok(),
        _ => None,
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

    // mon-server with an ingest token, a healthy, a degraded and an unhealthy check, a
    // `livekit` check against the strict fake LiveKit, and the Pushgateway exporter every
    // second under a grouping key that needs @base64.
    let livekit = crate::livekit_fake::start();
    let config = tmp.0.join("mon.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  auth:\n    tokens:\n      - {{ name: agent, token: e2e-ingest-token, role: ingest }}\n\
             checks:\n  - {{ name: calm, type: heartbeat, period: 1h, interval: 1s }}\n  \
             - {{ name: late, type: heartbeat, period: 1m, grace: 1h, interval: 1s }}\n  \
             - {{ name: closed, type: tcp, address: \"127.0.0.1:9\", interval: 1s, timeout: 1s }}\n  \
             - {{ name: lk, type: livekit, url: \"{livekit_url}\", api_key: {lk_key}, api_secret: {lk_secret}, services: [room], interval: 1s, critical: false }}\n\
             metrics:\n  exporters:\n    pushgateway:\n      url: http://127.0.0.1:{gateway_port}\n      \
             job: voice/agent\n      instance: pod 1\n      interval: 1s\n",
            livekit_url = livekit.url(""),
            lk_key = crate::livekit_fake::KEY,
            lk_secret = crate::livekit_fake::SECRET,
        ),
    )?;
    let server = Server::start_with(
        &project_root().join("target/debug/mon-server"),
        Some(&config),
        &[],
    )?;
    let events = events();
    let (status, body) = http_call(
        server.port,
        "POST",
        "/api/v1/events",
        "e2e-ingest-token",
        &serde_json::Value::from(events.clone()).to_string(),
    )?;
    let expected = format!("\"accepted\":{}", events.len());
    if status != 200 || !body.contains(&expected) || !body.contains("\"dropped\":0") {
        bail!("POST /api/v1/events answered {status}: {body}");
    }

    // promtool is clean with the application families and every hostile value in /metrics.
    let (_, _, text) = http_get_accepting(server.port, "/metrics", "text/plain; version=0.0.4")?;
    if !text.contains("mon_app_requests_total{") || !text.contains("agent_retries_total{") {
        bail!("/metrics lacks the application families:\n{text}");
    }
    crate::promtool_check(&text)?;

    // Prometheus scrapes mon every second (OpenMetrics); its query API returns mon's series.
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
    eprintln!(
        "e2e: Prometheus scraped mon ({} bytes of mon_app_requests_total)",
        answer.len()
    );
    wait_for(
        "Prometheus to return mon_ingest_events_total",
        Duration::from_secs(30),
        || {
            let (_, _, body) =
                http_get(prom_port, "/api/v1/query?query=mon_ingest_events_total").ok()?;
            body.contains("\"type\":\"call_started\"").then_some(())
        },
    )?;
    target_is_up(prom_port)?;
    hostile_values_read_back(prom_port)?;
    quantiles_agree(server.port, prom_port)?;
    health_agrees(server.port, prom_port)?;
    grafana_queries_evaluate(server.port, prom_port)?;
    livekit_has_history(server.port, prom_port)?;
    pushgateway_holds_the_push(gateway_port)?;

    let (_, status) = http_call(server.port, "GET", "/api/v1/status", "e2e-ingest-token", "")?;
    if !status.contains("\"pushgateway\"") {
        bail!("/api/v1/status does not report the pushgateway exporter: {status}");
    }
    eprintln!("e2e: Prometheus scrapes mon's series; the Pushgateway received mon's push");
    Ok(())
}

/// `up` is 1 for mon's target and /api/v1/targets reports it healthy, with no error.
fn target_is_up(prom_port: u16) -> Result<()> {
    let up = scalar(prom_port, "up{job=\"mon\"}");
    if up != Some(1.0) {
        bail!("Prometheus reports up{{job=\"mon\"}} = {up:?}");
    }
    let (_, _, body) = http_get(prom_port, "/api/v1/targets")?;
    let targets: serde_json::Value = serde_json::from_str(&body).context("targets JSON")?;
    let active = targets["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match active.as_slice() {
        [t] if t["health"] == "up" && t["lastError"] == "" => Ok(()),
        _ => bail!("Prometheus' target is not healthy: {body}"),
    }
}

/// Every hostile value comes back unchanged from Prometheus, in every field it was sent in.
fn hostile_values_read_back(prom_port: u16) -> Result<()> {
    for (family, label) in [
        ("mon_app_requests_total", "endpoint"),
        ("mon_app_requests_total", "method"),
        ("mon_app_errors_total", "kind"),
        ("mon_app_ai_requests_total", "provider"),
        ("mon_app_ai_requests_total", "model"),
        ("hostile_level", "k"),
        ("hostile_events_total", "k"),
    ] {
        let series = query(prom_port, family)?;
        let values: Vec<&str> = series
            .iter()
            .filter_map(|s| s["metric"][label].as_str())
            .collect();
        for v in HOSTILE {
            if !values.contains(v) {
                bail!("Prometheus has no {family}{{{label}={v:?}}}; it has {values:?}");
            }
        }
    }
    eprintln!(
        "e2e: {} hostile label values read back from Prometheus in 7 fields",
        HOSTILE.len()
    );
    Ok(())
}

/// `histogram_quantile` over mon's request histogram agrees with mon's own percentile
/// within 10 % for each known latency distribution.
fn quantiles_agree(mon_port: u16, prom_port: u16) -> Result<()> {
    let (_, body) = http_call(mon_port, "GET", "/api/v1/snapshot", "e2e-ingest-token", "")?;
    let snapshot: serde_json::Value = serde_json::from_str(&body).context("snapshot JSON")?;
    for (endpoint, _) in LATENCIES {
        for (q, key) in [("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")] {
            let mon = snapshot["endpoints"][endpoint]["15m"][key]
                .as_f64()
                .with_context(|| format!("no {key} of {endpoint} in the snapshot"))?;
            let expr = format!(
                "1000 * histogram_quantile({q}, sum by (le) (mon_app_request_duration_seconds_bucket{{endpoint=\"{endpoint}\"}}))"
            );
            let prom = scalar(prom_port, &expr).with_context(|| format!("no value for {expr}"))?;
            let off = (prom - mon).abs() / mon;
            eprintln!(
                "e2e: {endpoint} {key}: mon {mon:.1} ms, Prometheus {prom:.1} ms ({:.1} %)",
                off * 100.0
            );
            if off > 0.10 {
                bail!("{endpoint} {key}: Prometheus says {prom} ms, mon {mon} ms");
            }
        }
    }
    Ok(())
}

/// The health panels of the Grafana exports, evaluated by Prometheus, give mon's own
/// snapshot values with a healthy, a degraded and an unhealthy check.
fn health_agrees(mon_port: u16, prom_port: u16) -> Result<()> {
    const HEALTH: &[&str] = &[
        "health_percentage",
        "healthy_checks",
        "degraded_checks",
        "unhealthy_checks",
        "total_checks",
    ];
    let get = |path: &str| -> Result<serde_json::Value> {
        let (status, body) = http_call(mon_port, "GET", path, "e2e-ingest-token", "")?;
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("{path} is not JSON"))
    };
    let values = wait_for("mon's checks to settle", Duration::from_secs(30), || {
        let snapshot = get("/api/v1/snapshot").ok()?;
        let v = &snapshot["values"];
        // calm (and mon's self check) healthy, late degraded, closed unhealthy.
        let healthy = v["healthy_checks"].as_f64().unwrap_or(0.0);
        (healthy >= 1.0 && v["degraded_checks"] == 1.0 && v["unhealthy_checks"] == 1.0)
            .then(|| v.clone())
    })?;
    let mut compared = 0;
    let list = get("/api/v1/dashboards")?;
    for id in list["dashboards"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str())
    {
        let mine = get(&format!("/api/v1/dashboards/{id}"))?;
        let grafana = get(&format!("/api/v1/dashboards/{id}/grafana"))?;
        for panel in mine["panels"].as_array().into_iter().flatten() {
            // mon's own dashboard: the panel's variable and its current value.
            let own = &panel["metrics"][0];
            let Some(metric) = own["name"].as_str().filter(|m| HEALTH.contains(m)) else {
                continue;
            };
            let exported = grafana["panels"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["title"] == panel["title"])
                .with_context(|| format!("{id}: no exported panel {}", panel["title"]))?;
            let expr = exported["targets"][0]["expr"].as_str().context("no expr")?;
            let want = own["value"]
                .as_f64()
                .context("no value on mon's dashboard")?;
            if values[metric].as_f64() != Some(want) {
                bail!(
                    "{id} {metric}: the dashboard shows {want}, the snapshot {}",
                    values[metric]
                );
            }
            let got = wait_for(&format!("{expr} = {want}"), Duration::from_secs(30), || {
                scalar(prom_port, expr).filter(|v| (v - want).abs() < 1e-9)
            })?;
            eprintln!(
                "e2e: {id} {metric}: mon's dashboard {want}, Grafana's query in Prometheus {got}"
            );
            compared += 1;
        }
    }
    // The status grid of the export: 3 healthy, 2 degraded, 0 unhealthy per check.
    let overview = get("/api/v1/dashboards/system_overview/grafana")?;
    let grid = overview["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .find(|t| t["legendFormat"] == "{{check}}")
        .and_then(|t| t["expr"].as_str())
        .context("no status grid in system_overview's export")?;
    let states = query(prom_port, grid)?;
    for (check, state) in [("calm", "3"), ("late", "2"), ("closed", "0")] {
        if !states
            .iter()
            .any(|s| s["metric"]["check"] == check && s["value"][1] == state)
        {
            bail!("status grid {grid:?}: {check} is not {state}: {states:?}");
        }
    }
    if compared == 0 {
        bail!("no health panel found in the dashboards");
    }
    Ok(())
}

/// The `livekit` check's rooms and participants (from the fake's ListRooms) are gauges
/// Prometheus scraped, the LiveKit dashboard's Grafana queries give them, and mon's own
/// LiveKit dashboard returns their stored points.
fn livekit_has_history(mon_port: u16, prom_port: u16) -> Result<()> {
    let rooms = crate::livekit_fake::ROOMS.len() as f64;
    let participants: f64 = crate::livekit_fake::ROOMS
        .iter()
        .map(|(_, n)| f64::from(*n))
        .sum();
    for (family, want) in [
        ("mon_livekit_rooms_active{check=\"lk\"}", rooms),
        (
            "mon_livekit_participants_active{check=\"lk\"}",
            participants,
        ),
    ] {
        wait_for(
            &format!("{family} = {want} in Prometheus"),
            Duration::from_secs(30),
            || scalar(prom_port, family).filter(|v| *v == want),
        )?;
    }
    let get = |path: &str| -> Result<serde_json::Value> {
        let (status, body) = http_call(mon_port, "GET", path, "e2e-ingest-token", "")?;
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("{path} is not JSON"))
    };
    let grafana = get("/api/v1/dashboards/livekit/grafana")?;
    for (title, want) in [
        ("Active Rooms", rooms),
        ("Active Participants", participants),
    ] {
        let panel = grafana["panels"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["title"] == title)
            .with_context(|| format!("no {title} panel in the LiveKit export"))?;
        let expr = panel["targets"][0]["expr"]
            .as_str()
            .with_context(|| format!("the exported {title} panel has no query: {panel}"))?;
        let got = scalar(prom_port, expr);
        if got != Some(want) {
            bail!("the exported {title} query {expr:?} gives {got:?} in Prometheus, not {want}");
        }
    }
    let points = wait_for(
        "stored active_rooms points on the LiveKit dashboard",
        Duration::from_secs(30),
        || {
            let dashboard = get("/api/v1/dashboards/livekit?range=1h").ok()?;
            let panel = dashboard["panels"]
                .as_array()?
                .iter()
                .find(|p| p["id"] == "active_rooms")?
                .clone();
            let series = panel["metrics"][0]["series"].as_array()?.clone();
            (series.len() >= 2 && series.iter().all(|p| p["value"] == rooms)).then_some(series)
        },
    )?;
    eprintln!(
        "e2e: LiveKit gauges in Prometheus ({rooms} rooms, {participants} participants), \
         the exported panels' queries agree, {} stored points on the LiveKit dashboard",
        points.len()
    );
    Ok(())
}

/// The Pushgateway holds mon's push under job="voice/agent", instance="pod 1" (the
/// @base64 path form), every hostile value intact, and its last push succeeded.
fn pushgateway_holds_the_push(gateway_port: u16) -> Result<()> {
    let group = wait_for(
        "the pushed group voice/agent / pod 1 in the Pushgateway",
        Duration::from_secs(30),
        || {
            let (_, _, body) = http_get(gateway_port, "/api/v1/metrics").ok()?;
            let answer: serde_json::Value = serde_json::from_str(&body).ok()?;
            answer["data"]
                .as_array()?
                .iter()
                .find(|g| {
                    g["labels"]["job"] == "voice/agent"
                        && g["labels"]["instance"] == "pod 1"
                        && g["hostile_level"].is_object()
                })
                .cloned()
        },
    )?;
    if group["last_push_successful"] != true {
        bail!("the Pushgateway refused mon's last push: {group}");
    }
    let values: Vec<&str> = group["hostile_level"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["labels"]["k"].as_str())
        .collect();
    for v in HOSTILE {
        if !values.contains(v) {
            bail!("the Pushgateway has no hostile_level{{k={v:?}}}: {values:?}");
        }
    }
    if !group["agent_retries_total"].is_object() {
        bail!("the pushed group lacks agent_retries_total: {group}");
    }
    Ok(())
}

/// Every PromQL target of every built-in dashboard's Grafana export evaluates in the real
/// Prometheus (a syntax or type error there is an `"status":"error"` answer).
fn grafana_queries_evaluate(mon_port: u16, prom_port: u16) -> Result<()> {
    // Every dashboard the server offers (the built-in ones without custom config).
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
    if ids.len() < mon_metrics::BUILTIN_IDS.len() {
        bail!("GET /api/v1/dashboards lists {ids:?}: built-in dashboards are missing");
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
