//! e2e step `prom-alerts`: the real Debian `prometheus` sends its alerts to mon-server as
//! to an Alertmanager (`alerting.alertmanagers`, `api_version: v2`, with an ingest token of
//! mon as `authorization.credentials`). A rule that always holds (`vector(1) > 0`, `for:
//! 0s`, evaluated every second) fires: the alert appears in mon's `GET /api/v1/alerts`
//! (title = `alertname`, severity from the `severity` label, source
//! `alertmanager:prometheus`) and mon's webhook channel delivers it to a loopback receiver
//! once, however often Prometheus re-sends it. Then the rule file is rewritten so that the
//! rule no longer holds and Prometheus reloads it (SIGHUP): Prometheus sends the resolved
//! alert, mon resolves it and the receiver hears the resolution.

use super::{Server, TempDir, apt_install, free_port, http, project_root};
use anyhow::{Context, Result, bail};
use mon_tests::Capture;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const INGEST_TOKEN: &str = "e2e-prom-alerts-ingest-token";
const ALERT: &str = "VoiceAgentDown";
const PATIENCE: Duration = Duration::from_secs(60);

/// The Prometheus child process; killed on drop.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The rule file: the alert holds while `expr` returns a sample.
fn rules(expr: &str) -> String {
    format!(
        "groups:\n  - name: e2e\n    interval: 1s\n    rules:\n      - alert: {ALERT}\n        \
         expr: {expr}\n        for: 0s\n        labels:\n          severity: critical\n          \
         service: agent\n        annotations:\n          summary: the voice agent is down\n          \
         runbook_url: https://runbooks.example/agent\n"
    )
}

/// mon's alert of [`ALERT`] (any state, newest first), from its stored alerts.
fn mon_alert(port: u16) -> Result<Option<Value>> {
    let auth = format!("Bearer {INGEST_TOKEN}");
    let (status, _, body) = http(
        port,
        "GET",
        &format!("/api/v1/alerts?state=all&rule={ALERT}"),
        &[("Authorization", auth.as_str())],
        "",
    )?;
    if status != 200 {
        bail!("GET /api/v1/alerts answered {status}: {body}");
    }
    let answer: Value = serde_json::from_str(&body)?;
    Ok(answer["alerts"].as_array().and_then(|a| a.first()).cloned())
}

/// The transitions the receiver heard for [`ALERT`], in order.
fn heard(receiver: &Capture) -> Vec<String> {
    mon_tests::alerts::heard(receiver)
        .into_iter()
        .filter(|h| h.rule == ALERT)
        .map(|h| h.transition)
        .collect()
}

pub(crate) fn prom_alerts() -> Result<()> {
    apt_install(&["prometheus"])?;
    let tmp = TempDir::new()?;
    let receiver = Capture::start();
    let config = tmp.0.join("mon.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  auth:\n    tokens:\n      - {{ name: prometheus, token: {INGEST_TOKEN}, role: ingest }}\n\
             alerting:\n  evaluation_interval: 1s\n  default_rules: false\n  channels:\n    \
             - {{ name: hook, type: webhook, url: '{}' }}\n",
            receiver.url("/hook")
        ),
    )?;
    let server = Server::start_with(
        &project_root().join("target/debug/mon-server"),
        Some(&config),
        &[],
    )?;

    let rule_file = tmp.0.join("rules.yml");
    std::fs::write(&rule_file, rules("vector(1) > 0"))?;
    let prom_config = tmp.0.join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "global:\n  evaluation_interval: 1s\nrule_files:\n  - {}\nalerting:\n  alertmanagers:\n    \
             - api_version: v2\n      authorization:\n        credentials: {INGEST_TOKEN}\n      \
             static_configs:\n        - targets: ['127.0.0.1:{}']\n",
            rule_file.display(),
            server.port
        ),
    )?;
    let prom_port = free_port()?;
    let prometheus = Prometheus(
        Command::new("prometheus")
            .arg(format!("--config.file={}", prom_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.0.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            // Re-sent every second, with endsAt four seconds ahead.
            .arg("--rules.alert.resend-delay=1s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start prometheus")?,
    );

    // The firing rule reaches mon and its channel, once.
    let alert = mon_tests::try_eventually("Prometheus' alert in mon", PATIENCE, || {
        mon_alert(server.port)
            .ok()
            .flatten()
            .filter(|a| a["state"] == "firing")
    })?;
    let expect = |what: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            bail!("mon's alert from Prometheus: {what}: {alert}")
        }
    };
    expect("severity critical", alert["severity"] == "critical")?;
    expect(
        "source alertmanager:prometheus",
        alert["source"] == "alertmanager:prometheus",
    )?;
    expect("label service=agent", alert["labels"]["service"] == "agent")?;
    expect(
        "the summary annotation",
        alert["annotations"]["summary"] == "the voice agent is down",
    )?;
    expect(
        "a generator_url to Prometheus",
        alert["annotations"]["generator_url"]
            .as_str()
            .is_some_and(|u| u.contains("/graph")),
    )?;
    mon_tests::try_eventually("the webhook to hear the firing", PATIENCE, || {
        (heard(&receiver) == ["firing"]).then_some(())
    })?;
    // Prometheus re-sends every second: still one alert, one notification.
    let id = alert["id"].clone();
    mon_tests::try_eventually("two re-sends from Prometheus", PATIENCE, || {
        let again = mon_alert(server.port).ok().flatten()?;
        let refreshed = again["id"] == id && again["state"] == "firing";
        (refreshed && received_posts(prom_port) >= 3.0).then_some(())
    })?;
    if heard(&receiver) != ["firing"] {
        bail!("re-sends must not notify again: {:?}", heard(&receiver));
    }

    // The rule stops holding; Prometheus reloads it and sends the resolution.
    std::fs::write(&rule_file, rules("vector(1) < 0"))?;
    let status = Command::new("kill")
        .args(["-HUP", &prometheus.0.id().to_string()])
        .status()
        .context("cannot send SIGHUP to prometheus")?;
    if !status.success() {
        bail!("SIGHUP to prometheus failed");
    }
    let resolved = mon_tests::try_eventually("mon to resolve the alert", PATIENCE, || {
        mon_alert(server.port)
            .ok()
            .flatten()
            .filter(|a| a["state"] == "resolved")
    })?;
    if resolved["id"] != id {
        bail!("another alert was resolved: {resolved}");
    }
    mon_tests::try_eventually("the webhook to hear the resolution", PATIENCE, || {
        (heard(&receiver) == ["firing", "resolved"]).then_some(())
    })?;
    eprintln!(
        "e2e: Prometheus' alert reached mon through POST /api/v2/alerts, was delivered once and resolved"
    );
    Ok(())
}

/// How many alert notifications Prometheus has sent (its own `/metrics`).
fn received_posts(prom_port: u16) -> f64 {
    let Ok((200, _, body)) = http(prom_port, "GET", "/metrics", &[], "") else {
        return 0.0;
    };
    body.lines()
        .filter(|l| l.starts_with("prometheus_notifications_sent_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
