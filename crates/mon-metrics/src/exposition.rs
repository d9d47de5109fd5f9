//! OpenMetrics exposition: the host gauges in a prometheus-client `Registry` and the text encoder.
//!
//! Names follow Prometheus conventions (DESIGN §7): `mon_` prefix, base units
//! (bytes, seconds), ratios 0–1 where the name says `ratio`, HELP on every family.

use crate::error::MetricsError;
use crate::host::HostSample;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

/// The `Content-Type` of [`encode_openmetrics`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A gauge holding an `f64`.
type GaugeF64 = Gauge<f64, AtomicU64>;

/// The label set of per-filesystem gauges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MountLabels {
    mount: mon_core::LabelValue,
}

/// The host and process gauges, registered once in a [`Registry`] and updated from
/// each [`HostSample`]. Cloning shares the same gauges.
#[derive(Debug, Clone)]
pub struct HostMetrics {
    cpu_usage_ratio: GaugeF64,
    memory_used_bytes: GaugeF64,
    memory_available_bytes: GaugeF64,
    memory_total_bytes: GaugeF64,
    swap_used_ratio: GaugeF64,
    disk_used_ratio: Family<MountLabels, GaugeF64>,
    disk_free_bytes: Family<MountLabels, GaugeF64>,
    disk_total_bytes: Family<MountLabels, GaugeF64>,
    load1: GaugeF64,
    load5: GaugeF64,
    load15: GaugeF64,
    network_receive_bytes_per_second: GaugeF64,
    network_transmit_bytes_per_second: GaugeF64,
    process_cpu_usage_ratio: GaugeF64,
    process_resident_memory_bytes: GaugeF64,
    last_collect_timestamp_seconds: GaugeF64,
    /// The mount the disk families currently describe, to drop stale series when it changes.
    mount: Arc<Mutex<Option<String>>>,
}

impl HostMetrics {
    /// Registers every host and process gauge in `registry` (call once per
    /// registry: registering twice duplicates the families in the output).
    pub fn register(registry: &mut Registry) -> HostMetrics {
        fn gauge(registry: &mut Registry, name: &str, help: &str) -> GaugeF64 {
            let g = GaugeF64::default();
            registry.register(name, help, g.clone());
            g
        }
        fn family(
            registry: &mut Registry,
            name: &str,
            help: &str,
        ) -> Family<MountLabels, GaugeF64> {
            let f = Family::<MountLabels, GaugeF64>::default();
            registry.register(name, help, f.clone());
            f
        }
        let r = registry;
        HostMetrics {
            cpu_usage_ratio: gauge(
                r,
                "mon_host_cpu_usage_ratio",
                "Host CPU usage over the last collect interval, all cores (0-1)",
            ),
            memory_used_bytes: gauge(
                r,
                "mon_host_memory_used_bytes",
                "Host memory in use: total minus available, in bytes",
            ),
            memory_available_bytes: gauge(
                r,
                "mon_host_memory_available_bytes",
                "Host memory available for new work without swapping, in bytes",
            ),
            memory_total_bytes: gauge(
                r,
                "mon_host_memory_total_bytes",
                "Host physical memory, in bytes",
            ),
            swap_used_ratio: gauge(
                r,
                "mon_host_swap_used_ratio",
                "Host swap in use as a share of swap size (0-1; 0 without swap)",
            ),
            disk_used_ratio: family(
                r,
                "mon_host_disk_used_ratio",
                "Used space of the filesystem holding mon's data directory (0-1)",
            ),
            disk_free_bytes: family(
                r,
                "mon_host_disk_free_bytes",
                "Space available to unprivileged users on the filesystem holding mon's data directory, in bytes",
            ),
            disk_total_bytes: family(
                r,
                "mon_host_disk_total_bytes",
                "Size of the filesystem holding mon's data directory, in bytes",
            ),
            load1: gauge(r, "mon_host_load1", "Host load average over 1 minute"),
            load5: gauge(r, "mon_host_load5", "Host load average over 5 minutes"),
            load15: gauge(r, "mon_host_load15", "Host load average over 15 minutes"),
            network_receive_bytes_per_second: gauge(
                r,
                "mon_host_network_receive_bytes_per_second",
                "Bytes received per second on all non-loopback interfaces over the last collect interval",
            ),
            network_transmit_bytes_per_second: gauge(
                r,
                "mon_host_network_transmit_bytes_per_second",
                "Bytes sent per second on all non-loopback interfaces over the last collect interval",
            ),
            process_cpu_usage_ratio: gauge(
                r,
                "mon_process_cpu_usage_ratio",
                "CPU used by the mon process over the last collect interval, as a share of the whole machine (0-1)",
            ),
            process_resident_memory_bytes: gauge(
                r,
                "mon_process_resident_memory_bytes",
                "Resident memory of the mon process, in bytes",
            ),
            last_collect_timestamp_seconds: gauge(
                r,
                "mon_host_last_collect_timestamp_seconds",
                "Unix time of the last host metrics collection, in seconds",
            ),
            mount: Arc::new(Mutex::new(None)),
        }
    }

    /// Writes `sample` into the gauges. Values the sample lacks keep their last value.
    pub fn observe(&self, sample: &HostSample) {
        self.cpu_usage_ratio.set(sample.cpu_percent / 100.0);
        self.memory_used_bytes.set(sample.memory_used_bytes as f64);
        self.memory_available_bytes
            .set(sample.memory_available_bytes as f64);
        self.memory_total_bytes
            .set(sample.memory_total_bytes as f64);
        self.swap_used_ratio.set(sample.swap_percent / 100.0);
        self.load1.set(sample.load_average_1m);
        self.load5.set(sample.load_average_5m);
        self.load15.set(sample.load_average_15m);
        self.network_receive_bytes_per_second
            .set(sample.network_rx_bytes_per_second);
        self.network_transmit_bytes_per_second
            .set(sample.network_tx_bytes_per_second);
        if let Some(cpu) = sample.process_cpu_percent {
            self.process_cpu_usage_ratio.set(cpu / 100.0);
        }
        if let Some(rss) = sample.process_resident_memory_bytes {
            self.process_resident_memory_bytes.set(rss as f64);
        }
        self.last_collect_timestamp_seconds
            .set(sample.taken_at.timestamp_millis() as f64 / 1000.0);
        if let Some(disk) = &sample.disk {
            let mount = disk.mount_point.to_string_lossy().into_owned();
            let mut current = self.mount.lock().unwrap_or_else(PoisonError::into_inner);
            if current.as_deref() != Some(mount.as_str()) {
                // The watched path moved to another filesystem: drop the old series.
                for family in [
                    &self.disk_used_ratio,
                    &self.disk_free_bytes,
                    &self.disk_total_bytes,
                ] {
                    family.clear();
                }
                *current = Some(mount.clone());
            }
            let labels = MountLabels {
                mount: mount.into(),
            };
            self.disk_used_ratio
                .get_or_create(&labels)
                .set(disk.percent / 100.0);
            self.disk_free_bytes
                .get_or_create(&labels)
                .set(disk.free_bytes as f64);
            self.disk_total_bytes
                .get_or_create(&labels)
                .set(disk.total_bytes as f64);
        }
    }
}

/// Encodes every metric in `registry` as OpenMetrics text, ending with `# EOF`.
/// Serve it with [`OPENMETRICS_CONTENT_TYPE`].
pub fn encode_openmetrics(registry: &Registry) -> Result<String, MetricsError> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}

/// The content type of the classic Prometheus text format.
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The registry in the classic Prometheus text format (0.0.4), for scrapers and tools
/// that do not speak OpenMetrics (such as `promtool check metrics`).
///
/// It is the OpenMetrics text with the differences of the older format applied: a
/// counter family's HELP and TYPE name its `_total` sample, there is no `# UNIT` and no
/// `# EOF`, and `_created` samples are left out.
pub fn encode_prometheus_text(registry: &Registry) -> Result<String, MetricsError> {
    Ok(openmetrics_to_prometheus_text(&encode_openmetrics(
        registry,
    )?))
}

fn openmetrics_to_prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let sample_name = line.split(['{', ' ']).next().unwrap_or("");
        if !line.starts_with('#')
            && sample_name
                .strip_suffix("_created")
                .is_some_and(|f| counters.contains(f))
        {
            continue;
        }
        let header = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        match header {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let name = if counters.contains(name) {
                    format!("{name}_total")
                } else {
                    name.to_string()
                };
                out.push_str(&format!("{prefix}{name} {tail}"));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{HostCollector, HostCollectorOptions};

    #[test]
    fn prometheus_text_names_counters_by_their_samples() {
        let openmetrics = "# HELP a_seconds A gauge.\n# TYPE a_seconds gauge\n# UNIT a_seconds seconds\na_seconds 1.5\n\
            # HELP jobs Jobs done.\n# TYPE jobs counter\njobs_total{kind=\"x\"} 3\njobs_created{kind=\"x\"} 1.7e9\n# EOF\n";
        assert_eq!(
            openmetrics_to_prometheus_text(openmetrics),
            "# HELP a_seconds A gauge.\n# TYPE a_seconds gauge\na_seconds 1.5\n\
             # HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total{kind=\"x\"} 3\n"
        );
    }
    use std::collections::BTreeMap;

    /// Sample lines by metric name (labels included), each value parsed as f64.
    fn parse_samples(text: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("sample line without a value: {line:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|e| panic!("value of {series} is not a number ({e}): {line:?}"));
            assert!(
                out.insert(series.to_owned(), value).is_none(),
                "{series} twice"
            );
        }
        out
    }

    #[test]
    fn host_metrics_encode_as_valid_openmetrics() {
        let mut registry = Registry::default();
        let metrics = HostMetrics::register(&mut registry);
        let mut collector = HostCollector::new(HostCollectorOptions::default());
        let sample = collector.collect();
        metrics.observe(&sample);

        let text = encode_openmetrics(&registry).expect("encodes");
        assert!(text.ends_with("# EOF\n"), "{text}");
        let families = [
            "mon_host_cpu_usage_ratio",
            "mon_host_memory_used_bytes",
            "mon_host_memory_available_bytes",
            "mon_host_memory_total_bytes",
            "mon_host_swap_used_ratio",
            "mon_host_disk_used_ratio",
            "mon_host_disk_free_bytes",
            "mon_host_disk_total_bytes",
            "mon_host_load1",
            "mon_host_load5",
            "mon_host_load15",
            "mon_host_network_receive_bytes_per_second",
            "mon_host_network_transmit_bytes_per_second",
            "mon_process_cpu_usage_ratio",
            "mon_process_resident_memory_bytes",
            "mon_host_last_collect_timestamp_seconds",
        ];
        for name in families {
            assert!(text.contains(&format!("# HELP {name} ")), "HELP for {name}");
            assert!(
                text.contains(&format!("# TYPE {name} gauge\n")),
                "TYPE for {name}"
            );
        }
        // Every HELP line belongs to a family we know of: nothing unexpected is exposed.
        assert_eq!(text.matches("# HELP ").count(), families.len());

        let samples = parse_samples(&text);
        let get = |series: &str| {
            *samples
                .get(series)
                .unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
        };
        assert_eq!(
            get("mon_host_memory_used_bytes"),
            sample.memory_used_bytes as f64
        );
        assert_eq!(
            get("mon_host_memory_total_bytes"),
            sample.memory_total_bytes as f64
        );
        assert!((0.0..=1.0).contains(&get("mon_host_cpu_usage_ratio")));
        assert!((0.0..=1.0).contains(&get("mon_process_cpu_usage_ratio")));
        assert!(get("mon_process_resident_memory_bytes") > 0.0);
        let disk = sample.disk.as_ref().expect("root filesystem is listed");
        let mount = disk.mount_point.to_string_lossy();
        let used = get(&format!("mon_host_disk_used_ratio{{mount=\"{mount}\"}}"));
        assert!((used - disk.percent / 100.0).abs() < 1e-12);
        for (series, value) in &samples {
            assert!(value.is_finite(), "{series} = {value}");
            if series.contains("_ratio") {
                assert!((0.0..=1.0).contains(value), "{series} = {value}");
            }
        }
    }

    #[test]
    fn a_moved_mount_drops_the_old_disk_series() {
        let mut registry = Registry::default();
        let metrics = HostMetrics::register(&mut registry);
        let mut collector = HostCollector::new(HostCollectorOptions::default());
        let mut sample = collector.collect();
        let disk = sample.disk.as_mut().expect("root filesystem is listed");
        disk.mount_point = "/old".into();
        metrics.observe(&sample);
        let disk = sample.disk.as_mut().expect("still there");
        disk.mount_point = "/new".into();
        metrics.observe(&sample);

        let text = encode_openmetrics(&registry).expect("encodes");
        assert!(
            text.contains("mon_host_disk_used_ratio{mount=\"/new\"}"),
            "{text}"
        );
        assert!(!text.contains("mount=\"/old\""), "{text}");
    }

    #[test]
    fn empty_registry_is_still_a_complete_exposition() {
        let text = encode_openmetrics(&Registry::default()).expect("encodes");
        assert_eq!(text, "# EOF\n");
        assert!(OPENMETRICS_CONTENT_TYPE.starts_with("application/openmetrics-text"));
    }
}
