//! e2e step: a real Alertmanager (Debian `prometheus-alertmanager`) with a short
//! `resolve_timeout` receives the alerts of mon-server's `alertmanager` channel. A
//! rule on a TCP check that this step controls fires; the alert appears in
//! Alertmanager's `GET /api/v2/alerts` with mon's labels; acknowledged in mon, it is
//! still active there well after `resolve_timeout` (mon keeps re-sending it) and
//! Alertmanager never notifies a resolution; when the check fails, the rule
//! resolves it and Alertmanager drops it. Meanwhile mon's `webhook` channel with
//! `format: alertmanager` sends one group (a stable `groupKey`) through firing,
//! acknowledgement and resolution, with `externalURL` = `server.external_url`, in
//! the same shape as the real Alertmanager's own webhook, which this step captures:
//! grouping by every label there (`group_by: ['...']`) gives the same `groupKey`
//! and `groupLabels` as mon's one group per alert.

use super::{Server, TempDir, apt_install, free_port, http, http_get, project_root};
use anyhow::{Context, Result, bail};
use mon_tests::Capture;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Alertmanager's `global.resolve_timeout` here: a firing alert not heard again
/// within it would be resolved by Alertmanager.
const RESOLVE_TIMEOUT_S: u64 = 10;

/// mon's `server.external_url` here.
const EXTERNAL_URL: &str = "https://mon.e2e.example/voice";

const ADMIN_TOKEN: &str = "e2e-admin-token";

/// The Alertmanager child process; killed on drop.
pub(crate) struct Alertmanager(Child);

impl Alertmanager {
    /// Starts Alertmanager with `config` on 127.0.0.1:`port`, its data under `data`,
    /// with `cluster` flags (none: `--cluster.listen-address=`, no cluster); waits
    /// until it is ready.
    pub(crate) fn start(config: &Path, data: &Path, port: u16, cluster: &[String]) -> Result<Self> {
        let mut command = Command::new("prometheus-alertmanager");
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        if cluster.is_empty() {
            command.arg("--cluster.listen-address=");
        }
        let alertmanager = Alertmanager(
            command
                .args(cluster)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot start prometheus-alertmanager")?,
        );
        wait_until("Alertmanager ready", || {
            Ok(matches!(http_get(port, "/-/ready"), Ok((200, ..))))
        })?;
        Ok(alertmanager)
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The JSON bodies `capture` received on `path`, in arrival order.
pub(crate) fn bodies(capture: &Capture, path: &str) -> Vec<Value> {
    capture
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect()
}

/// mon's alert as Alertmanager lists it (`GET /api/v2/alerts`: active ones only).
fn am_alert(am_port: u16) -> Result<Option<Value>> {
    let (status, _, body) = http_get(am_port, "/api/v2/alerts")?;
    if status != 200 {
        bail!("Alertmanager answered {status}: {body}");
    }
    let alerts: Vec<Value> = serde_json::from_str(&body)?;
    Ok(alerts
        .into_iter()
        .find(|a| a["labels"]["alertname"] == "mon e2e target up"))
}

pub(crate) fn alertmanager() -> Result<()> {
    apt_install(&["prometheus-alertmanager"])?;
    crate::build_bins()?;
    let dir = TempDir::new()?;
    // Answers 200 to every request and keeps it.
    let captured = Capture::start();
    let capture_port = captured.addr().port();
    let am_port = free_port()?;
    let am_config = dir.0.join("alertmanager.yml");
    std::fs::write(
        &am_config,
        format!(
            "global: {{ resolve_timeout: {RESOLVE_TIMEOUT_S}s }}
route: {{ receiver: capture, group_by: ['...'], group_wait: 1s, group_interval: 1s, repeat_interval: 1h }}
receivers:
  - name: capture
    webhook_configs: [{{ url: 'http://127.0.0.1:{capture_port}/alertmanager', send_resolved: true }}]
"
        ),
    )?;
    let _alertmanager = Alertmanager::start(&am_config, &dir.0.join("am-data"), am_port, &[])?;

    // The rule holds while this listener accepts connections.
    let target = TcpListener::bind("127.0.0.1:0")?;
    let target_port = target.local_addr()?.port();
    let mon_config = dir.0.join("mon.yaml");
    std::fs::write(
        &mon_config,
        format!(
            "server:
  external_url: {EXTERNAL_URL}
  auth: {{ tokens: [{{ name: e2e, token: {ADMIN_TOKEN}, role: admin }}] }}
checks:
  - {{ name: target, type: tcp, address: '127.0.0.1:{target_port}', interval: 1s, timeout: 1s }}
alerting:
  evaluation_interval: 1s
  default_rules: false
  rules:
    - name: mon e2e target up
      expr: checks.target.status == \"healthy\"
      severity: critical
      labels: {{ service: e2e }}
      annotations: {{ summary: 'the target accepts connections' }}
  channels:
    - {{ name: am, type: alertmanager, urls: ['http://127.0.0.1:{am_port}'], resend_interval: 2s }}
    - {{ name: am-hook, type: webhook, format: alertmanager, url: 'http://127.0.0.1:{capture_port}/mon' }}
"
        ),
    )?;
    let server = Server::start_with(
        &project_root().join("target/debug/mon-server"),
        Some(&mon_config),
        &[],
    )?;

    let mut last = Value::Null;
    let found = wait_until("the alert in Alertmanager", || {
        last = am_alert(am_port)?.unwrap_or(Value::Null);
        Ok(last["labels"]["service"] == "e2e"
            && last["labels"]["severity"] == "critical"
            && last["status"]["state"] == "active")
    });
    if found.is_err() {
        bail!("Alertmanager never showed mon's alert as active; last seen: {last}");
    }
    if last["generatorURL"] != format!("{EXTERNAL_URL}/#/alerts") {
        bail!("the alert's generatorURL is not under server.external_url: {last}");
    }
    eprintln!("e2e: mon's alert reached a real Alertmanager (GET /api/v2/alerts lists it)");

    // Acknowledge it in mon.
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let (status, _, body) = http(
        server.port,
        "GET",
        "/api/v1/alerts",
        &[("Authorization", bearer.as_str())],
        "",
    )?;
    let alerts: Value = serde_json::from_str(&body)?;
    let id = alerts["alerts"][0]["id"]
        .as_str()
        .with_context(|| format!("no open alert in mon ({status}): {body}"))?
        .to_string();
    let (status, _, body) = http(
        server.port,
        "POST",
        &format!("/api/v1/alerts/{id}/ack"),
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ],
        r#"{"by":"e2e-oncall"}"#,
    )?;
    if status != 200 {
        bail!("acknowledging the alert answered {status}: {body}");
    }
    wait_until("the acknowledgement in Alertmanager", || {
        Ok(am_alert(am_port)?.is_some_and(|a| a["annotations"]["acknowledged_by"] == "e2e-oncall"))
    })?;

    // Twice resolve_timeout later it must still be active, every time we look.
    let acked = Instant::now();
    let mut updates = BTreeSet::new();
    while acked.elapsed() < Duration::from_secs(2 * RESOLVE_TIMEOUT_S) {
        let alert = am_alert(am_port)?;
        match alert {
            Some(a) if a["status"]["state"] == "active" => {
                updates.insert(a["updatedAt"].as_str().unwrap_or_default().to_string());
            }
            other => bail!(
                "{:.1} s after the acknowledgement (resolve_timeout {RESOLVE_TIMEOUT_S}s) \
                 Alertmanager no longer lists the alert as active: {other:?}",
                acked.elapsed().as_secs_f64()
            ),
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    if updates.len() < 3 {
        bail!("mon did not keep re-sending the acknowledged alert: updatedAt took {updates:?}");
    }
    let resolved_early = bodies(&captured, "/alertmanager")
        .iter()
        .any(|b| b["status"] == "resolved");
    if resolved_early {
        bail!("Alertmanager notified a resolution while the alert was still open in mon");
    }
    eprintln!(
        "e2e: an acknowledged alert stays active in Alertmanager {}s after the ack \
         (resolve_timeout {RESOLVE_TIMEOUT_S}s; {} re-sends seen), annotated acknowledged_by",
        2 * RESOLVE_TIMEOUT_S,
        updates.len()
    );

    // The target goes away: the rule resolves the alert, Alertmanager drops it and
    // notifies the resolution.
    drop(target);
    wait_until("the resolution in Alertmanager", || {
        Ok(am_alert(am_port)?.is_none()
            && bodies(&captured, "/alertmanager")
                .iter()
                .any(|b| b["status"] == "resolved"))
    })?;
    wait_until("the resolution on mon's webhook", || {
        Ok(bodies(&captured, "/mon")
            .iter()
            .any(|b| b["status"] == "resolved"))
    })?;
    eprintln!("e2e: resolved in mon, Alertmanager drops the alert and notifies the resolution");

    check_webhook_group(
        &bodies(&captured, "/mon"),
        &bodies(&captured, "/alertmanager"),
    )?;
    eprintln!(
        "e2e: webhook format alertmanager: one stable groupKey through firing, \
         acknowledgement and resolution, equal to the real Alertmanager's (group_by all \
         labels); externalURL = server.external_url; same fields as its own webhook"
    );
    Ok(())
}

/// mon's webhook messages (format `alertmanager`) for the alert's life, checked
/// against each other and against the real Alertmanager's webhook bodies.
fn check_webhook_group(mon: &[Value], real: &[Value]) -> Result<()> {
    let describe = || serde_json::to_string_pretty(mon).unwrap_or_default();
    // (status, acknowledged_by) of each message: firing, acknowledged (still firing), resolved.
    let steps: Vec<(&str, Option<&str>)> = mon
        .iter()
        .map(|b| {
            (
                b["status"].as_str().unwrap_or(""),
                b["alerts"][0]["annotations"]["acknowledged_by"].as_str(),
            )
        })
        .collect();
    if steps
        != [
            ("firing", None),
            ("firing", Some("e2e-oncall")),
            ("resolved", Some("e2e-oncall")),
        ]
    {
        bail!("mon's webhook sent {steps:?}; bodies: {}", describe());
    }
    let group_keys: BTreeSet<&str> = mon.iter().filter_map(|b| b["groupKey"].as_str()).collect();
    if group_keys.len() != 1 || mon.iter().any(|b| b["groupKey"].as_str().is_none()) {
        bail!("groupKey changed within one alert's life: {group_keys:?}");
    }
    if mon.iter().any(|b| b["externalURL"] != EXTERNAL_URL) {
        bail!("externalURL is not server.external_url: {}", describe());
    }
    if mon
        .iter()
        .any(|b| b["groupLabels"]["alertname"] != "mon e2e target up")
    {
        bail!("groupLabels do not name the alert: {}", describe());
    }
    let Some(reference) = real.first() else {
        bail!("the real Alertmanager sent no webhook");
    };
    // The same group as Alertmanager forms when it groups by every label.
    for field in ["groupKey", "groupLabels", "commonLabels"] {
        if mon[0][field] != reference[field] {
            bail!(
                "{field}: mon sent {}, Alertmanager {}",
                mon[0][field],
                reference[field]
            );
        }
    }
    for field in ["status", "startsAt", "endsAt", "generatorURL"] {
        let canonical = |v: &Value| v.as_str().map(canonical_time);
        if canonical(&mon[0]["alerts"][0][field]) != canonical(&reference["alerts"][0][field]) {
            bail!(
                "alerts[0].{field} of the firing message: mon sent {}, Alertmanager {}",
                mon[0]["alerts"][0][field],
                reference["alerts"][0][field]
            );
        }
    }
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    for body in mon {
        if keys(body) != keys(reference) {
            bail!(
                "mon's webhook fields {:?} differ from Alertmanager's {:?}",
                keys(body),
                keys(reference)
            );
        }
        if keys(&body["alerts"][0]) != keys(&reference["alerts"][0]) {
            bail!(
                "mon's alert fields {:?} differ from Alertmanager's {:?}",
                keys(&body["alerts"][0]),
                keys(&reference["alerts"][0])
            );
        }
    }
    Ok(())
}

/// An RFC 3339 time without trailing zeros in its fraction (Go's `RFC3339Nano`
/// drops them); other text unchanged.
fn canonical_time(text: &str) -> String {
    match text.strip_suffix('Z').and_then(|t| t.split_once('.')) {
        Some((seconds, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                format!("{seconds}Z")
            } else {
                format!("{seconds}.{fraction}Z")
            }
        }
        None => text.to_string(),
    }
}

/// Polls `done` for up to 30 s; an error counts as not yet (and is shown on timeout).
pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let limit = Duration::from_secs(30);
    mon_tests::try_eventually(what, limit, || match done() {
        Ok(true) => Ok(()),
        Ok(false) => Err(String::from("not yet")),
        Err(e) => Err(format!("{e:#}")),
    })?;
    Ok(())
}
