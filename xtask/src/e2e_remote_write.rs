//! e2e step: mon's series reach the Debian `prometheus` with the remote write 1.0
//! protocol (`metrics.exporters.remote_write` → `--web.enable-remote-write-receiver`),
//! queried back through its HTTP API, through an outage: Prometheus is stopped, mon is
//! killed and started again on its store meanwhile, then Prometheus comes back; every
//! sample mon stored over that time is in Prometheus with its value and timestamp, with
//! `server.external_labels` and hostile label values intact.

use super::{Server, TempDir, apt_install, free_port, http_get, project_root};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "e2e-remote-write-token";

/// The Prometheus child process; killed on drop.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Prometheus {
    /// Prometheus on `port` with its data in `dir`, receiving remote writes.
    fn start(dir: &Path, port: u16) -> Result<Prometheus> {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            "global: { scrape_interval: 1m }\nscrape_configs: []\n",
        )?;
        let prometheus = Prometheus(
            Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("tsdb").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--web.enable-remote-write-receiver")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot start prometheus")?,
        );
        wait("Prometheus ready", || {
            matches!(http_get(port, "/-/ready"), Ok((200, ..))).then_some(())
        })?;
        Ok(prometheus)
    }
}

fn wait<T>(what: &str, probe: impl FnMut() -> Option<T>) -> Result<T> {
    Ok(mon_tests::try_eventually(
        what,
        Duration::from_secs(60),
        probe,
    )?)
}

/// `GET /api/v1/query?query=…` of Prometheus on `port`: its `data.result`.
fn query(port: u16, promql: &str) -> Result<Vec<Value>> {
    let path = format!("/api/v1/query?query={}", urlencode(promql));
    let (status, _, body) = http_get(port, &path)?;
    if status != 200 {
        bail!("Prometheus answered {status} to {promql}: {body}");
    }
    let answer: Value = serde_json::from_str(&body)?;
    Ok(answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// mon's stored samples of `cpu_percent` in `[from, to]` (Unix ms): ms → value.
fn mon_samples(port: u16, from: i64, to: i64) -> Result<BTreeMap<i64, f64>> {
    let time = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let path = format!(
        "/api/v1/metrics/query?name=cpu_percent&from={}&to={}",
        urlencode(&time(from)),
        urlencode(&time(to))
    );
    let auth = format!("Bearer {TOKEN}");
    let (status, _, body) = crate::http(port, "GET", &path, &[("Authorization", &auth)], "")?;
    if status != 200 {
        bail!("mon answered {status} to {path}: {body}");
    }
    let answer: Value = serde_json::from_str(&body)?;
    let mut out = BTreeMap::new();
    for point in answer["series"][0]["points"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let ts = point["ts"].as_str().context("a point without ts")?;
        let ms = chrono::DateTime::parse_from_rfc3339(ts)?.timestamp_millis();
        out.insert(ms, point["avg"].as_f64().context("a point without avg")?);
    }
    Ok(out)
}

/// Prometheus' raw samples of `mon_cpu_percent` over the last `minutes`: ms → value.
fn prometheus_samples(port: u16, minutes: u32) -> Result<BTreeMap<i64, f64>> {
    let result = query(
        port,
        &format!("mon_cpu_percent{{replica=\"e2e\"}}[{minutes}m]"),
    )?;
    let mut out = BTreeMap::new();
    for value in result
        .first()
        .and_then(|s| s["values"].as_array())
        .into_iter()
        .flatten()
    {
        let seconds = value[0].as_f64().context("a sample time")?;
        let v: f64 = value[1].as_str().context("a sample value")?.parse()?;
        out.insert((seconds * 1000.0).round() as i64, v);
    }
    Ok(out)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn remote_write() -> Result<()> {
    apt_install(&["prometheus"])?;
    crate::build_bins()?;
    let dir = TempDir::new()?;
    let prom_port = free_port()?;
    let store = dir.0.join("mon.db");
    let config = dir.0.join("mon.yaml");
    std::fs::write(
        &config,
        format!(
            "server:
  external_labels: {{ replica: e2e }}
  auth: {{ tokens: [{{ name: e2e, token: {TOKEN}, role: admin }}] }}
metrics:
  interval: 1s
  resolution: 1s
  exporters:
    remote_write:
      url: http://127.0.0.1:{prom_port}/api/v1/write
      interval: 1s
      batch_size: 50
"
        ),
    )?;
    let start_mon = || {
        Server::start_with(
            &project_root().join("target/debug/mon-server"),
            Some(&config),
            &[("MON__STORAGE__PATH", store.to_str().unwrap_or_default())],
        )
    };
    let prometheus = Prometheus::start(&dir.0, prom_port)?;
    let mon = start_mon()?;
    let started = now_ms();
    // Hostile label values as endpoints: each its own `endpoint_requests_per_min` series.
    let events: Vec<Value> = mon_tests::HOSTILE_LABEL_VALUES
        .iter()
        .filter(|v| !v.is_empty())
        .map(|v| json!({"type": "request", "endpoint": v, "method": "GET", "status": 200, "latency_ms": 12}))
        .collect();
    let auth = format!("Bearer {TOKEN}");
    let (status, _, body) = crate::http(
        mon.port,
        "POST",
        "/api/v1/events",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &Value::Array(events.clone()).to_string(),
    )?;
    if status != 202 && status != 200 {
        bail!("POST /api/v1/events answered {status}: {body}");
    }
    wait("mon's host series in Prometheus", || {
        (prometheus_samples(prom_port, 5).ok()?.len() >= 3).then_some(())
    })?;
    let sent: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e["endpoint"].as_str().map(str::to_string))
        .collect();
    let mut received = BTreeSet::new();
    let hostile = mon_tests::try_eventually(
        "the hostile label values in Prometheus",
        Duration::from_secs(60),
        || {
            let result = query(prom_port, "mon_endpoint_requests_per_min{replica=\"e2e\"}").ok()?;
            received = result
                .iter()
                .filter_map(|s| s["metric"]["endpoint"].as_str().map(str::to_string))
                .collect();
            (received == sent).then_some(())
        },
    );
    if hostile.is_err() {
        bail!(
            "Prometheus has label values {:?} where mon was sent {:?}",
            received.symmetric_difference(&sent).collect::<Vec<_>>(),
            sent
        );
    }
    eprintln!(
        "e2e: remote write: mon's series in a real Prometheus (replica label, {} hostile label values intact)",
        sent.len()
    );

    // The outage: Prometheus stops; mon crashes and starts again on its store meanwhile.
    drop(prometheus);
    let down = now_ms();
    std::thread::sleep(Duration::from_secs(4));
    drop(mon);
    let mon = start_mon()?;
    std::thread::sleep(Duration::from_secs(4));
    let prometheus = Prometheus::start(&dir.0, prom_port)?;
    let up = now_ms();
    let stored = mon_samples(mon.port, started, up)?;
    let missing = || -> Result<Vec<i64>> {
        let received = prometheus_samples(prom_port, 10)?;
        Ok(stored
            .iter()
            .filter(|(ms, v)| received.get(ms).is_none_or(|r| (r - *v).abs() > 1e-9))
            .map(|(ms, _)| *ms)
            .collect())
    };
    let mut last = Vec::new();
    let caught_up = mon_tests::try_eventually(
        "every sample stored during the outage in Prometheus",
        Duration::from_secs(60),
        || match missing() {
            Ok(m) if m.is_empty() => Some(()),
            Ok(m) => {
                last = m;
                None
            }
            Err(_) => None,
        },
    );
    if caught_up.is_err() {
        bail!(
            "{} of {} samples mon stored are not in Prometheus (first: {:?})",
            last.len(),
            stored.len(),
            last.first()
        );
    }
    let during = stored.range(down..up).count();
    if during < 4 {
        bail!("mon stored only {during} samples during the outage; the step proves nothing");
    }
    drop(prometheus);
    eprintln!(
        "e2e: remote write: Prometheus down {:.1} s with a mon crash and restart meanwhile: \
         all {} stored samples ({during} from the outage) in Prometheus afterwards, values and \
         timestamps equal",
        (up - down) as f64 / 1000.0,
        stored.len()
    );
    Ok(())
}
