//! e2e step: a real Alertmanager (Debian `prometheus-alertmanager`) receives the
//! alerts of mon-server's `alertmanager` channel: a rule that always holds fires,
//! and the alert appears in Alertmanager's `GET /api/v2/alerts` with mon's labels.

use super::{Server, TempDir, apt_install, free_port, http_get, project_root};
use anyhow::{Context, Result, bail};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Alertmanager child process; killed on drop.
struct Alertmanager(Child);

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn alertmanager() -> Result<()> {
    apt_install(&["prometheus-alertmanager"])?;
    crate::build_bins()?;
    let dir = TempDir::new()?;
    let am_port = free_port()?;
    let am_config = dir.0.join("alertmanager.yml");
    std::fs::write(
        &am_config,
        "route: { receiver: blackhole, group_wait: 1s }\nreceivers: [{ name: blackhole }]\n",
    )?;
    let _alertmanager = Alertmanager(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.0.join("am-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start prometheus-alertmanager")?,
    );
    wait_until("Alertmanager ready", || {
        Ok(matches!(http_get(am_port, "/-/ready"), Ok((200, ..))))
    })?;

    let mon_config = dir.0.join("mon.yaml");
    std::fs::write(
        &mon_config,
        format!(
            "metrics: {{ interval: 1s }}
alerting:
  evaluation_interval: 1s
  default_rules: false
  rules:
    - name: mon e2e always
      expr: cpu_percent >= 0
      severity: critical
      labels: {{ service: e2e }}
      annotations: {{ summary: 'CPU at {{{{ value }}}}%' }}
  channels:
    - {{ name: am, type: alertmanager, urls: ['http://127.0.0.1:{am_port}'] }}
"
        ),
    )?;
    let _server = Server::start_with(
        &project_root().join("target/debug/mon-server"),
        Some(&mon_config),
        &[],
    )?;
    let mut last = String::new();
    let found = wait_until("the alert in Alertmanager", || {
        let (status, _, body) = http_get(am_port, "/api/v2/alerts")?;
        last = body;
        Ok(status == 200
            && last.contains("\"alertname\":\"mon e2e always\"")
            && last.contains("\"service\":\"e2e\"")
            && last.contains("\"severity\":\"critical\""))
    });
    if found.is_err() {
        bail!("Alertmanager never showed mon's alert; its /api/v2/alerts: {last}");
    }
    eprintln!("e2e: mon's alert reached a real Alertmanager (GET /api/v2/alerts lists it)");
    Ok(())
}

/// Polls `done` every 200 ms for up to 30 s.
fn wait_until(what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if done().unwrap_or(false) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("timed out waiting for {what}")
}
