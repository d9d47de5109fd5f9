//! e2e step: high availability with the engines people already run. Two mon-servers
//! on one configuration, told apart by `server.external_labels: {replica: a|b}`,
//! send to two real Alertmanagers clustered on loopback (`--cluster.listen-address`,
//! `--cluster.peer`). The `alertmanager` channel drops the replica label
//! (`drop_labels: [replica]`), so both replicas post the same alert and the cluster
//! notifies a loopback receiver once per incident:
//! - incident 1: mon `a` is killed mid-incident; one firing, one resolved notification;
//! - incident 2 (mon `a` back): Alertmanager 1 is killed mid-incident; the same.
//!
//! The alert reaching the receiver carries the other external label (`region`) and
//! no replica label.

use super::e2e_alertmanager::{Alertmanager, bodies, wait_until};
use super::{Server, TempDir, apt_install, free_port, http_get, project_root};
use anyhow::{Result, bail};
use mon_tests::Capture;
use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const RULE: &str = "mon e2e ha target up";

/// Alertmanager's wait per position in the cluster before a member notifies what
/// no member before it has (its notification log, gossiped).
const PEER_TIMEOUT: &str = "2s";

/// Alertmanager's `group_interval`. Longer than [`PEER_TIMEOUT`]: a member's flush
/// waits its position's share of it before reading the notification log, and a flush
/// still waiting when the next one of the first member has notified a change would
/// send the state it read before (Alertmanager's own race, with any sender).
const GROUP_INTERVAL: &str = "5s";

/// Long enough for a second notification to show up if there were one: a group
/// interval, the second member's wait, gossip and a few of mon's resends.
const QUIET: Duration = Duration::from_secs(10);

/// The notifications the receiver got: `(status, labels of the first alert)`.
fn notifications(receiver: &Capture) -> Vec<(String, Value)> {
    bodies(receiver, "/ha")
        .into_iter()
        .map(|b| {
            (
                b["status"].as_str().unwrap_or_default().to_string(),
                b["alerts"][0]["labels"].clone(),
            )
        })
        .collect()
}

fn count(receiver: &Capture, status: &str) -> usize {
    notifications(receiver)
        .iter()
        .filter(|(s, _)| s == status)
        .count()
}

/// A TCP port that accepts (and closes) connections until dropped: the checks'
/// target. Accepting keeps its backlog from filling up in a long incident.
struct Target {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Target {
    fn open(port: u16) -> Result<Target> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                if listener.accept().is_err() {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        Ok(Target {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a mon replica on `config` with `REPLICA=name`.
fn replica(config: &Path, name: &str) -> Result<Server> {
    Server::start_with(
        &project_root().join("target/debug/mon-server"),
        Some(config),
        &[("REPLICA", name)],
    )
}

/// Waits for the `status` notification number `n` of the receiver, then for
/// [`QUIET`], and fails if another one came.
fn once(receiver: &Capture, status: &str, n: usize) -> Result<()> {
    wait_until(&format!("{status} notification {n}"), || {
        Ok(count(receiver, status) >= n)
    })?;
    std::thread::sleep(QUIET);
    let seen = count(receiver, status);
    let all = bodies(receiver, "/ha");
    if let Some(two) = all
        .iter()
        .find(|b| b["alerts"].as_array().map(Vec::len) != Some(1))
    {
        bail!("a notification holds other than one alert (one per replica?): {two}");
    }
    if seen != n {
        bail!(
            "the receiver got {seen} {status} notifications where {n} were due: {}",
            serde_json::to_string_pretty(&bodies(receiver, "/ha")).unwrap_or_default()
        );
    }
    Ok(())
}

pub(crate) fn ha() -> Result<()> {
    apt_install(&["prometheus-alertmanager"])?;
    crate::build_bins()?;
    let dir = TempDir::new()?;
    let receiver = Capture::start();
    let am_config = dir.0.join("alertmanager.yml");
    std::fs::write(
        &am_config,
        format!(
            "route: {{ receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: {GROUP_INTERVAL}, repeat_interval: 1h }}
receivers:
  - name: hook
    webhook_configs: [{{ url: '{}', send_resolved: true }}]
",
            receiver.url("/ha")
        ),
    )?;
    let (web, gossip) = ([free_port()?, free_port()?], [free_port()?, free_port()?]);
    let cluster = |me: usize| {
        vec![
            format!("--cluster.listen-address=127.0.0.1:{}", gossip[me]),
            format!("--cluster.peer=127.0.0.1:{}", gossip[1 - me]),
            format!("--cluster.peer-timeout={PEER_TIMEOUT}"),
            "--cluster.gossip-interval=100ms".to_string(),
            "--cluster.pushpull-interval=1s".to_string(),
        ]
    };
    let mut am1 = Some(Alertmanager::start(
        &am_config,
        &dir.0.join("am1"),
        web[0],
        &cluster(0),
    )?);
    let _am2 = Alertmanager::start(&am_config, &dir.0.join("am2"), web[1], &cluster(1))?;
    wait_until("the two Alertmanagers to form a cluster", || {
        let (_, _, body) = http_get(web[0], "/api/v2/status")?;
        let status: Value = serde_json::from_str(&body)?;
        Ok(status["cluster"]["peers"].as_array().map(Vec::len) == Some(2))
    })?;

    // The rule holds while the target accepts connections.
    let target_port = free_port()?;
    let mon_config = dir.0.join("mon.yaml");
    std::fs::write(
        &mon_config,
        format!(
            "server:
  external_labels: {{ replica: '${{REPLICA}}', region: e2e }}
checks:
  - {{ name: target, type: tcp, address: '127.0.0.1:{target_port}', interval: 1s, timeout: 1s, failure_threshold: 1, success_threshold: 1 }}
alerting:
  evaluation_interval: 1s
  default_rules: false
  rules:
    - name: {RULE}
      expr: checks.target.status == \"healthy\"
      severity: critical
  channels:
    - {{ name: am, type: alertmanager, urls: ['http://127.0.0.1:{}', 'http://127.0.0.1:{}'], resend_interval: 2s, drop_labels: [replica] }}
",
            web[0], web[1]
        ),
    )?;
    let mut mon_a = Some(replica(&mon_config, "a")?);
    let _mon_b = replica(&mon_config, "b")?;

    // Incident 1; mon `a` goes away in the middle of it.
    let target = Target::open(target_port)?;
    once(&receiver, "firing", 1)?;
    let (_, labels) = notifications(&receiver).remove(0);
    if labels["alertname"] != RULE || labels["region"] != "e2e" || !labels["replica"].is_null() {
        bail!("the alert should carry alertname, region=e2e and no replica label: {labels}");
    }
    drop(mon_a.take());
    std::thread::sleep(QUIET);
    drop(target);
    once(&receiver, "resolved", 1)?;
    if count(&receiver, "firing") != 1 {
        bail!(
            "a replica stopping mid-incident paged again: {:?}",
            notifications(&receiver)
        );
    }
    eprintln!(
        "e2e: HA: 2 mon replicas, 2 clustered Alertmanagers: one firing and one resolved \
         notification, replica a killed mid-incident"
    );

    // Incident 2, both replicas up; Alertmanager 1 goes away in the middle of it.
    let _mon_a = replica(&mon_config, "a")?;
    let target = Target::open(target_port)?;
    once(&receiver, "firing", 2)?;
    drop(am1.take());
    std::thread::sleep(QUIET);
    drop(target);
    once(&receiver, "resolved", 2)?;
    if count(&receiver, "firing") != 2 {
        bail!(
            "an Alertmanager stopping mid-incident paged again: {:?}",
            notifications(&receiver)
        );
    }
    eprintln!(
        "e2e: HA: one firing and one resolved notification again, Alertmanager 1 killed \
         mid-incident"
    );
    Ok(())
}
