//! The host collector: CPU, memory, swap, disk, load, network and mon's own process, via sysinfo.

use crate::exposition::HostMetrics;
use crate::snapshot::SnapshotHub;
use crate::vars;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, Pid, ProcessRefreshKind,
    ProcessesToUpdate, System,
};
use tokio::task::JoinHandle;

/// The hub source name the host collector publishes under.
pub const HOST_SOURCE: &str = "host";

/// How the host collector is set up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostCollectorOptions {
    /// A path on the filesystem whose space `disk_percent` reports, usually mon's
    /// data directory. It need not exist yet: its nearest existing parent is used.
    /// Default: the root filesystem `/`.
    pub disk_path: Option<PathBuf>,
}

/// One reading of the host, taken by [`HostCollector::collect`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HostSample {
    /// When the reading was taken.
    pub taken_at: DateTime<Utc>,
    /// CPU usage of all cores since the previous reading, 0–100.
    pub cpu_percent: f64,
    /// Memory in use (total − available) as a share of total, 0–100.
    pub memory_percent: f64,
    /// Memory in use: total − available, bytes.
    pub memory_used_bytes: u64,
    /// Memory available for new work without swapping, bytes.
    pub memory_available_bytes: u64,
    /// Physical memory, bytes.
    pub memory_total_bytes: u64,
    /// Swap in use as a share of swap size, 0–100; 0 without swap.
    pub swap_percent: f64,
    /// The watched filesystem, when one holds the configured path.
    pub disk: Option<DiskSample>,
    /// Load average over 1 minute.
    pub load_average_1m: f64,
    /// Load average over 5 minutes.
    pub load_average_5m: f64,
    /// Load average over 15 minutes.
    pub load_average_15m: f64,
    /// Bytes received per second on non-loopback interfaces since the previous reading.
    pub network_rx_bytes_per_second: f64,
    /// Bytes sent per second on non-loopback interfaces since the previous reading.
    pub network_tx_bytes_per_second: f64,
    /// CPU used by this process since the previous reading, as a share of the whole
    /// machine (all cores), 0–100. `None` if the platform does not report it.
    pub process_cpu_percent: Option<f64>,
    /// Resident memory of this process, bytes. `None` if the platform does not report it.
    pub process_resident_memory_bytes: Option<u64>,
}

/// Space on the filesystem that holds the watched path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskSample {
    /// Where the filesystem is mounted, e.g. `/` or `/var/lib/mon`.
    pub mount_point: PathBuf,
    /// Used space (total − available) as a share of total, 0–100.
    pub percent: f64,
    /// Space available to unprivileged users, bytes.
    pub free_bytes: u64,
    /// Size of the filesystem, bytes.
    pub total_bytes: u64,
}

impl HostSample {
    /// The sample as snapshot variables (names from [`crate::vars`], documented in
    /// [`crate::CATALOG`]). Values the platform did not give are left out.
    pub fn values(&self) -> Vec<(String, f64)> {
        let mut out = vec![
            (vars::CPU_PERCENT, self.cpu_percent),
            (vars::MEMORY_PERCENT, self.memory_percent),
            (vars::MEMORY_USED_BYTES, self.memory_used_bytes as f64),
            (
                vars::MEMORY_AVAILABLE_BYTES,
                self.memory_available_bytes as f64,
            ),
            (vars::MEMORY_TOTAL_BYTES, self.memory_total_bytes as f64),
            (vars::SWAP_PERCENT, self.swap_percent),
            (vars::LOAD_AVERAGE_1M, self.load_average_1m),
            (vars::LOAD_AVERAGE_5M, self.load_average_5m),
            (vars::LOAD_AVERAGE_15M, self.load_average_15m),
            (
                vars::NETWORK_RX_BYTES_PER_SECOND,
                self.network_rx_bytes_per_second,
            ),
            (
                vars::NETWORK_TX_BYTES_PER_SECOND,
                self.network_tx_bytes_per_second,
            ),
        ];
        if let Some(disk) = &self.disk {
            out.push((vars::DISK_PERCENT, disk.percent));
            out.push((vars::DISK_FREE_BYTES, disk.free_bytes as f64));
            out.push((vars::DISK_TOTAL_BYTES, disk.total_bytes as f64));
        }
        if let Some(cpu) = self.process_cpu_percent {
            out.push((vars::PROCESS_CPU_PERCENT, cpu));
        }
        if let Some(rss) = self.process_resident_memory_bytes {
            out.push((vars::PROCESS_RESIDENT_MEMORY_BYTES, rss as f64));
        }
        out.into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }

    /// The sample as store samples taken at `ts`: one unlabelled series per value of
    /// [`HostSample::values`].
    pub fn store_samples(&self, ts: DateTime<Utc>) -> Vec<mon_store::Sample> {
        self.values()
            .into_iter()
            .map(|(name, value)| mon_store::Sample {
                name,
                labels: Default::default(),
                ts,
                value,
            })
            .collect()
    }
}

/// Reads the host through sysinfo, keeping what rates need between reads.
///
/// Every call blocks (it reads `/proc` and may wait for the CPU interval): call it
/// from a blocking thread, as [`spawn_host_collector`] does.
pub struct HostCollector {
    system: System,
    disks: Disks,
    networks: Networks,
    /// The path whose filesystem is reported (canonical where possible).
    disk_path: PathBuf,
    pid: Option<Pid>,
    last_refresh: Instant,
    /// Total received/transmitted bytes per interface at the last refresh.
    last_network: HashMap<String, (u64, u64)>,
    /// Accumulated CPU time of this process at the last refresh, milliseconds.
    last_process_cpu_ms: Option<u64>,
}

impl fmt::Debug for HostCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostCollector")
            .field("disk_path", &self.disk_path)
            .field("pid", &self.pid)
            .field("last_refresh", &self.last_refresh)
            .finish_non_exhaustive()
    }
}

impl HostCollector {
    /// A collector that has taken its first reference reading, so that the next
    /// [`collect`](HostCollector::collect) can compute CPU usage and rates.
    pub fn new(options: HostCollectorOptions) -> HostCollector {
        let disk_path = resolve_disk_path(options.disk_path.as_deref());
        let pid = sysinfo::get_current_pid().ok();
        let mut collector = HostCollector {
            system: System::new(),
            disks: Disks::new_with_refreshed_list_specifics(
                DiskRefreshKind::nothing().with_storage(),
            ),
            networks: Networks::new_with_refreshed_list(),
            disk_path,
            pid,
            last_refresh: Instant::now(),
            last_network: HashMap::new(),
            last_process_cpu_ms: None,
        };
        collector.refresh_rate_sources();
        collector.last_network = network_totals(&collector.networks);
        collector.last_process_cpu_ms = collector.process_cpu_ms();
        collector
    }

    /// Takes one reading. CPU usage and rates cover the time since the previous
    /// reading (or since [`HostCollector::new`]); if that is shorter than
    /// [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`], this waits out the difference once
    /// so the CPU figure means something.
    pub fn collect(&mut self) -> HostSample {
        let since = self.last_refresh.elapsed();
        if since < sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
            std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL - since);
        }
        let elapsed = self.last_refresh.elapsed().as_secs_f64();
        self.refresh_rate_sources();
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        self.disks
            .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());

        let totals = network_totals(&self.networks);
        let (rx, tx) = network_delta(&self.last_network, &totals);
        self.last_network = totals;

        let cores = self.system.cpus().len().max(1) as f64;
        let process_cpu_ms = self.process_cpu_ms();
        let process_cpu_percent = match (self.last_process_cpu_ms, process_cpu_ms) {
            (Some(prev), Some(now)) if elapsed > 0.0 => Some(clamp_percent(
                now.saturating_sub(prev) as f64 / (elapsed * 1000.0 * cores) * 100.0,
            )),
            _ => None,
        };
        self.last_process_cpu_ms = process_cpu_ms;
        let process_resident_memory_bytes = self
            .pid
            .and_then(|pid| self.system.process(pid))
            .map(|p| p.memory());

        let total = self.system.total_memory();
        let available = self.system.available_memory().min(total);
        let used = total - available;
        let load = System::load_average();

        HostSample {
            taken_at: Utc::now(),
            cpu_percent: clamp_percent(f64::from(self.system.global_cpu_usage())),
            memory_percent: percent(used, total),
            memory_used_bytes: used,
            memory_available_bytes: available,
            memory_total_bytes: total,
            swap_percent: percent(self.system.used_swap(), self.system.total_swap()),
            disk: self.disk_sample(),
            load_average_1m: finite_or_zero(load.one),
            load_average_5m: finite_or_zero(load.five),
            load_average_15m: finite_or_zero(load.fifteen),
            network_rx_bytes_per_second: per_second(rx, elapsed),
            network_tx_bytes_per_second: per_second(tx, elapsed),
            process_cpu_percent,
            process_resident_memory_bytes,
        }
    }

    /// The mount point the disk figures are about, if a filesystem holds the path.
    pub fn disk_mount_point(&self) -> Option<&Path> {
        self.watched_disk().map(|d| d.mount_point())
    }

    /// Refreshes everything that is measured as a difference between two reads,
    /// and stamps the time of the read.
    fn refresh_rate_sources(&mut self) {
        self.system
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_cpu_usage());
        if let Some(pid) = self.pid {
            self.system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                true,
                ProcessRefreshKind::nothing().with_cpu().with_memory(),
            );
        }
        self.networks.refresh(true);
        self.last_refresh = Instant::now();
    }

    fn process_cpu_ms(&self) -> Option<u64> {
        self.pid
            .and_then(|pid| self.system.process(pid))
            .map(|p| p.accumulated_cpu_time())
    }

    /// The filesystem with the longest mount point that contains the watched path.
    fn watched_disk(&self) -> Option<&sysinfo::Disk> {
        self.disks
            .list()
            .iter()
            .filter(|d| self.disk_path.starts_with(d.mount_point()))
            .max_by_key(|d| d.mount_point().components().count())
    }

    fn disk_sample(&self) -> Option<DiskSample> {
        let disk = self.watched_disk()?;
        let total = disk.total_space();
        let free = disk.available_space().min(total);
        Some(DiskSample {
            mount_point: disk.mount_point().to_path_buf(),
            percent: percent(total - free, total),
            free_bytes: free,
            total_bytes: total,
        })
    }
}

/// The canonical form of `path`'s nearest existing ancestor (the path itself if it
/// exists), so that mount-point matching sees through symlinks and missing dirs.
fn resolve_disk_path(path: Option<&Path>) -> PathBuf {
    let Some(path) = path else {
        return PathBuf::from("/");
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .ancestors()
        .find_map(|p| p.canonicalize().ok())
        .unwrap_or(absolute)
}

fn is_loopback(interface: &str) -> bool {
    // Linux "lo", BSD/macOS "lo0".
    interface
        .strip_prefix("lo")
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
}

fn network_totals(networks: &Networks) -> HashMap<String, (u64, u64)> {
    networks
        .list()
        .iter()
        .filter(|(name, _)| !is_loopback(name))
        .map(|(name, data)| {
            (
                name.clone(),
                (data.total_received(), data.total_transmitted()),
            )
        })
        .collect()
}

/// Bytes received and sent between two readings of per-interface totals: the sum of
/// per-interface differences. An interface seen for the first time, or whose
/// counters went backwards (a reset), contributes nothing this round.
fn network_delta(
    previous: &HashMap<String, (u64, u64)>,
    now: &HashMap<String, (u64, u64)>,
) -> (u64, u64) {
    let (mut rx, mut tx) = (0u64, 0u64);
    for (name, (now_rx, now_tx)) in now {
        if let Some((prev_rx, prev_tx)) = previous.get(name) {
            rx = rx.saturating_add(now_rx.checked_sub(*prev_rx).unwrap_or(0));
            tx = tx.saturating_add(now_tx.checked_sub(*prev_tx).unwrap_or(0));
        }
    }
    (rx, tx)
}

fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        clamp_percent(part as f64 / total as f64 * 100.0)
    }
}

fn clamp_percent(value: f64) -> f64 {
    if value.is_finite() {
        value.clamp(0.0, 100.0)
    } else {
        0.0
    }
}

fn finite_or_zero(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

fn per_second(bytes: u64, elapsed_seconds: f64) -> f64 {
    if elapsed_seconds > 0.0 {
        bytes as f64 / elapsed_seconds
    } else {
        0.0
    }
}

/// An `on_sample` for [`spawn_host_collector`] that hands each sample to `queue` as store
/// samples taken now (the queue's reader writes them to the store). A full queue drops
/// that round of samples rather than blocking the collector.
pub fn samples_to_queue(
    queue: tokio::sync::mpsc::Sender<Vec<mon_store::Sample>>,
) -> impl Fn(&HostSample) + Send + 'static {
    move |sample| {
        let _ = queue.try_send(sample.store_samples(Utc::now()));
    }
}

/// Runs a [`HostCollector`] every `interval` until `shutdown` resolves.
///
/// Each reading is taken on a blocking thread, then published to `hub` under
/// [`HOST_SOURCE`] (replacing the previous host values), written to `metrics`'
/// gauges, and handed to `on_sample` (the server persists it there).
/// `on_sample` runs on the async runtime: keep it short, e.g. hand the sample to a
/// channel. An `interval` shorter than [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`]
/// (or zero) is raised to it. Shutdown is honoured between readings.
pub fn spawn_host_collector(
    hub: SnapshotHub,
    interval: Duration,
    options: HostCollectorOptions,
    metrics: HostMetrics,
    on_sample: impl Fn(&HostSample) + Send + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<()> {
    let interval = interval
        .max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL)
        .max(Duration::from_millis(1));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut collector: Option<HostCollector> = None;
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = ticker.tick() => {}
            }
            let options = options.clone();
            let taken = tokio::task::spawn_blocking(move || {
                let mut c = collector.unwrap_or_else(|| HostCollector::new(options));
                let sample = c.collect();
                (c, sample)
            })
            .await;
            match taken {
                Ok((c, sample)) => {
                    collector = Some(c);
                    hub.publish_values(HOST_SOURCE, sample.values());
                    metrics.observe(&sample);
                    on_sample(&sample);
                }
                Err(err) => {
                    // The collector was lost with the failed thread; a fresh one is
                    // built on the next tick.
                    tracing::error!(error = %err, "host metrics collection failed; retrying next interval");
                    collector = None;
                }
            }
        }
        tracing::debug!("host collector stopped");
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{CATALOG, VariableSource, lookup};

    #[test]
    fn store_samples_are_the_values_unlabelled_at_one_time() {
        let sample = HostCollector::new(HostCollectorOptions::default()).collect();
        let ts = Utc::now();
        let stored = sample.store_samples(ts);
        let values = sample.values();
        assert_eq!(stored.len(), values.len());
        for (s, (name, value)) in stored.iter().zip(&values) {
            assert_eq!((&s.name, s.value, s.ts), (name, *value, ts));
            assert!(s.labels.is_empty());
        }
    }
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn samples_go_to_the_queue_and_a_full_queue_drops_the_round() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let sink = samples_to_queue(tx);
        let sample = full_sample();
        sink(&sample);
        sink(&sample);
        let queued = rx.try_recv().expect("the first round is queued");
        assert_eq!(queued.len(), sample.values().len());
        assert!(queued.iter().all(|s| s.labels.is_empty()));
        assert!(
            rx.try_recv().is_err(),
            "the second round was dropped, not queued"
        );
    }

    fn full_sample() -> HostSample {
        HostSample {
            taken_at: Utc::now(),
            cpu_percent: 1.0,
            memory_percent: 2.0,
            memory_used_bytes: 3,
            memory_available_bytes: 4,
            memory_total_bytes: 7,
            swap_percent: 5.0,
            disk: Some(DiskSample {
                mount_point: PathBuf::from("/"),
                percent: 6.0,
                free_bytes: 7,
                total_bytes: 8,
            }),
            load_average_1m: 0.1,
            load_average_5m: 0.2,
            load_average_15m: 0.3,
            network_rx_bytes_per_second: 9.0,
            network_tx_bytes_per_second: 10.0,
            process_cpu_percent: Some(11.0),
            process_resident_memory_bytes: Some(12),
        }
    }

    #[test]
    fn every_published_variable_is_in_the_catalog_and_vice_versa() {
        let published: BTreeSet<String> =
            full_sample().values().into_iter().map(|(n, _)| n).collect();
        for name in &published {
            let info =
                lookup(name).unwrap_or_else(|| panic!("{name} is published but not in CATALOG"));
            assert_eq!(info.source, VariableSource::Host, "source of {name}");
        }
        for info in CATALOG.iter().filter(|v| v.source == VariableSource::Host) {
            assert!(
                published.contains(info.name),
                "{} is documented as a host variable but a full sample does not publish it",
                info.name
            );
        }
        // And the real collector publishes nothing beyond a full sample.
        let mut collector = HostCollector::new(HostCollectorOptions::default());
        for (name, _) in collector.collect().values() {
            assert!(
                published.contains(&name),
                "real collector published unexpected {name}"
            );
        }
    }

    #[test]
    fn collector_reads_this_machine() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut collector = HostCollector::new(HostCollectorOptions {
            disk_path: Some(dir.path().join("not-created-yet/mon.db")),
        });
        let first = collector.collect();
        let second = collector.collect();
        for sample in [&first, &second] {
            for (name, value) in sample.values() {
                assert!(value.is_finite(), "{name} = {value}");
                assert!(value >= 0.0, "{name} = {value}");
                if name.ends_with("_percent") {
                    assert!((0.0..=100.0).contains(&value), "{name} = {value}");
                }
            }
            assert!(sample.memory_total_bytes > 0);
            assert_eq!(
                sample.memory_used_bytes + sample.memory_available_bytes,
                sample.memory_total_bytes
            );
            let expected =
                sample.memory_used_bytes as f64 / sample.memory_total_bytes as f64 * 100.0;
            assert!((sample.memory_percent - expected).abs() < 1e-9);
            assert!(
                sample
                    .process_resident_memory_bytes
                    .is_some_and(|rss| rss > 0)
            );
            assert!(sample.process_resident_memory_bytes < Some(sample.memory_total_bytes));
            assert!(sample.process_cpu_percent.is_some());
            let disk = sample
                .disk
                .as_ref()
                .expect("the temp dir lies on a listed filesystem");
            assert!(disk.total_bytes > 0 && disk.free_bytes <= disk.total_bytes);
            assert!(
                dir.path()
                    .canonicalize()
                    .expect("canonical")
                    .starts_with(&disk.mount_point)
            );
        }
        assert!(second.taken_at >= first.taken_at);
        assert!(collector.disk_mount_point().is_some());
    }

    #[test]
    fn disk_path_resolution_and_loopback_names() {
        assert_eq!(resolve_disk_path(None), PathBuf::from("/"));
        let dir = tempfile::tempdir().expect("temp dir");
        let canonical = dir.path().canonicalize().expect("canonical");
        assert_eq!(
            resolve_disk_path(Some(&dir.path().join("a/b/c"))),
            canonical
        );
        assert_eq!(resolve_disk_path(Some(dir.path())), canonical);
        for (name, loopback) in [
            ("lo", true),
            ("lo0", true),
            ("eth0", false),
            ("local1", false),
            ("wlo1", false),
        ] {
            assert_eq!(is_loopback(name), loopback, "{name}");
        }
        for (part, total, expected) in [(0, 0, 0.0), (1, 4, 25.0), (5, 4, 100.0)] {
            assert_eq!(percent(part, total), expected);
        }
        assert_eq!(clamp_percent(f64::NAN), 0.0);
        assert_eq!(per_second(100, 0.0), 0.0);
        assert_eq!(per_second(100, 2.0), 50.0);
    }

    #[test]
    fn network_delta_sums_interfaces_and_ignores_new_and_reset_ones() {
        let map = |entries: &[(&str, u64, u64)]| -> HashMap<String, (u64, u64)> {
            entries
                .iter()
                .map(|(n, r, t)| ((*n).to_owned(), (*r, *t)))
                .collect()
        };
        type Totals = &'static [(&'static str, u64, u64)];
        let cases: &[(Totals, Totals, (u64, u64))] = &[
            (&[], &[], (0, 0)),
            (&[("eth0", 100, 50)], &[("eth0", 300, 80)], (200, 30)),
            (
                &[("eth0", 100, 50), ("eth1", 0, 0)],
                &[("eth0", 100, 50), ("eth1", 10, 20)],
                (10, 20),
            ),
            // first sight of wlan0: no baseline yet
            (
                &[("eth0", 100, 50)],
                &[("eth0", 110, 50), ("wlan0", 9_999, 9_999)],
                (10, 0),
            ),
            // eth0 counters reset (driver reload): not a huge negative or wrapped rate
            (&[("eth0", 1_000, 1_000)], &[("eth0", 5, 7)], (0, 0)),
            // an interface that disappeared contributes nothing
            (
                &[("eth0", 100, 50), ("tun0", 5, 5)],
                &[("eth0", 100, 60)],
                (0, 10),
            ),
        ];
        for (previous, now, expected) in cases {
            assert_eq!(
                network_delta(&map(previous), &map(now)),
                *expected,
                "{previous:?} -> {now:?}"
            );
        }
    }

    #[test]
    fn options_reject_unknown_fields() {
        let ok: HostCollectorOptions =
            serde_json::from_str(r#"{"disk_path":"/var/lib/mon"}"#).expect("valid options");
        assert_eq!(ok.disk_path, Some(PathBuf::from("/var/lib/mon")));
        assert_eq!(
            serde_json::from_str::<HostCollectorOptions>("{}").ok(),
            Some(HostCollectorOptions::default())
        );
        let err = serde_json::from_str::<HostCollectorOptions>(r#"{"disk":"/"}"#)
            .expect_err("unknown field is an error");
        assert!(err.to_string().contains("disk"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawned_collector_publishes_until_shutdown() {
        let hub = SnapshotHub::new();
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = HostMetrics::register(&mut registry);
        let samples = Arc::new(AtomicUsize::new(0));
        let counted = samples.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut sub = hub.subscribe();
        let handle = spawn_host_collector(
            hub.clone(),
            Duration::ZERO, // raised to the minimum CPU interval, not a busy loop or a panic
            HostCollectorOptions::default(),
            metrics,
            move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
            },
            async move {
                let _ = stopped.await;
            },
        );

        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut publishes = 0;
        while publishes < 2 {
            let snapshot = tokio::time::timeout_at(deadline, sub.changed())
                .await
                .expect("the collector published within the deadline")
                .expect("hub alive");
            assert!(snapshot.get(vars::CPU_PERCENT).is_some());
            assert!(
                snapshot
                    .get(vars::MEMORY_TOTAL_BYTES)
                    .is_some_and(|m| m > 0.0)
            );
            publishes += 1;
        }
        assert!(samples.load(Ordering::SeqCst) >= 1);
        let text = crate::encode_openmetrics(&registry).expect("encodes");
        let used = text
            .lines()
            .find_map(|l| l.strip_prefix("mon_host_memory_used_bytes "))
            .and_then(|v| v.parse::<f64>().ok());
        assert!(used.is_some_and(|u| u > 0.0), "gauges were updated: {text}");

        stop.send(()).expect("collector still running");
        tokio::time::timeout(Duration::from_secs(10), handle)
            .await
            .expect("collector stopped within the deadline")
            .expect("collector task did not panic");
    }
}
