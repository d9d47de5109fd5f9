//! `type: system`: CPU, memory and disk usage of this host against warning and critical thresholds.

use super::{BuildContext, KindConfig};
use crate::HealthError;
use mon_core::{CheckOutcome, HealthCheck, Status, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use sysinfo::{DiskRefreshKind, Disks, System};

/// Settings of a `system` check: thresholds in percent of capacity.
///
/// Reaching a warning threshold makes the check degraded, reaching a critical
/// one unhealthy. A threshold above 100 never triggers.
///
/// ```yaml
/// - name: host
///   type: system
///   cpu_warning: 70
///   disk_path: /var/lib/mon
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystemCheckConfig {
    /// CPU usage (all cores, averaged since the previous run) that makes the check degraded (default 80).
    pub cpu_warning: f64,
    /// CPU usage that makes the check unhealthy (default 95).
    pub cpu_critical: f64,
    /// Memory in use (total minus available) that makes the check degraded (default 85).
    pub memory_warning: f64,
    /// Memory in use that makes the check unhealthy (default 95).
    pub memory_critical: f64,
    /// Disk space in use that makes the check degraded (default 85). Usage is
    /// `(total - available) / total`, where available is what an unprivileged
    /// process can still write: blocks reserved for root count as used, so the
    /// figure can read higher than `df`'s, and reaches 100 when writes start failing.
    pub disk_warning: f64,
    /// Disk space in use that makes the check unhealthy (default 95).
    pub disk_critical: f64,
    /// An absolute path on the filesystem to watch, such as mon's data directory
    /// (default: the root filesystem `/`). If it cannot be read, the check is unhealthy.
    pub disk_path: Option<PathBuf>,
}

/// The defaults, in one place (the usual host thresholds).
impl Default for SystemCheckConfig {
    fn default() -> Self {
        SystemCheckConfig {
            cpu_warning: 80.0,
            cpu_critical: 95.0,
            memory_warning: 85.0,
            memory_critical: 95.0,
            disk_warning: 85.0,
            disk_critical: 95.0,
            disk_path: None,
        }
    }
}

impl SystemCheckConfig {
    /// `(resource, warning, critical)` for each watched resource.
    fn thresholds(&self) -> [(&'static str, f64, f64); 3] {
        [
            ("cpu", self.cpu_warning, self.cpu_critical),
            ("memory", self.memory_warning, self.memory_critical),
            ("disk", self.disk_warning, self.disk_critical),
        ]
    }
}

impl KindConfig for SystemCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        for (resource, warning, critical) in self.thresholds() {
            for (level, value) in [("warning", warning), ("critical", critical)] {
                if !value.is_finite() || value < 0.0 {
                    return Err(HealthError::invalid(
                        check,
                        format!("{resource}_{level}"),
                        format!("{value} is not a percentage; use a number from 0 to 100"),
                    ));
                }
            }
            if warning > critical {
                return Err(HealthError::invalid(
                    check,
                    format!("{resource}_warning"),
                    format!(
                        "{warning} is above {resource}_critical {critical}; \
                         a warning threshold must not exceed its critical one"
                    ),
                ));
            }
        }
        if let Some(path) = &self.disk_path
            && !path.is_absolute()
        {
            return Err(HealthError::invalid(
                check,
                "disk_path",
                format!("{path:?} is relative; use an absolute path such as /var/lib/mon"),
            ));
        }
        Ok(())
    }

    fn build(&self, _ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        Ok(Arc::new(SystemCheck {
            config: self.clone(),
            sampler: Arc::new(tokio::sync::Mutex::new(Sampler {
                system: System::new(),
                cpu_refreshed_at: None,
            })),
        }))
    }
}

/// A built `system` check.
struct SystemCheck {
    config: SystemCheckConfig,
    /// sysinfo computes CPU usage between two refreshes, so the state is kept
    /// across runs; the lock also keeps two runs from interleaving refreshes.
    sampler: Arc<tokio::sync::Mutex<Sampler>>,
}

struct Sampler {
    system: System,
    /// When CPU usage was last refreshed; `None` before the first run.
    cpu_refreshed_at: Option<Instant>,
}

/// What one run measured.
struct Sample {
    cpu_percent: f64,
    memory_percent: f64,
    disk: Result<DiskUsage, String>,
}

struct DiskUsage {
    percent: f64,
    mount_point: PathBuf,
}

impl Sampler {
    /// Refreshes and reads everything; blocking (reads /proc, calls statvfs).
    fn sample(&mut self, disk_path: &Path) -> Sample {
        self.system.refresh_cpu_usage();
        self.cpu_refreshed_at = Some(Instant::now());
        self.system.refresh_memory();
        Sample {
            cpu_percent: clamp_percent(f64::from(self.system.global_cpu_usage())),
            memory_percent: percent_used(self.system.used_memory(), self.system.total_memory()),
            disk: disk_usage(disk_path),
        }
    }
}

/// The usage of the filesystem that holds `path` (the mount with the longest matching prefix).
fn disk_usage(path: &Path) -> Result<DiskUsage, String> {
    let path =
        std::fs::canonicalize(path).map_err(|e| format!("cannot read disk_path {path:?}: {e}"))?;
    let disks = Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_storage());
    let disk = disks
        .list()
        .iter()
        .filter(|disk| path.starts_with(disk.mount_point()))
        .max_by_key(|disk| disk.mount_point().as_os_str().len())
        .ok_or_else(|| format!("no mounted filesystem found for {path:?}"))?;
    let total = disk.total_space();
    if total == 0 {
        return Err(format!(
            "the filesystem at {:?} reports a size of zero",
            disk.mount_point()
        ));
    }
    Ok(DiskUsage {
        percent: percent_used(total.saturating_sub(disk.available_space()), total),
        mount_point: disk.mount_point().to_path_buf(),
    })
}

fn percent_used(used: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    // u64 → f64 loses precision only beyond 2^53 bytes, far above any real disk.
    clamp_percent(used as f64 / total as f64 * 100.0)
}

fn clamp_percent(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 100.0)
    }
}

/// Rounds to one decimal for display and details.
fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

impl SystemCheck {
    fn judge(&self, sample: &Sample, latency: Duration) -> CheckOutcome {
        let config = &self.config;
        let disk_percent = sample.disk.as_ref().ok().map(|d| d.percent);
        let values = [
            Some(sample.cpu_percent),
            Some(sample.memory_percent),
            disk_percent,
        ];
        let mut critical = Vec::new();
        let mut warning = Vec::new();
        let mut usage = Vec::new();
        for ((resource, warn_at, crit_at), value) in config.thresholds().into_iter().zip(values) {
            let Some(value) = value else { continue };
            let value = round1(value);
            usage.push(format!("{resource} {value}%"));
            if value >= crit_at {
                critical.push(format!("{resource} {value}% >= {crit_at}%"));
            } else if value >= warn_at {
                warning.push(format!("{resource} {value}% >= {warn_at}%"));
            }
        }
        let mut problems = Vec::new();
        if !critical.is_empty() {
            problems.push(format!("critical: {}", critical.join(", ")));
        }
        if !warning.is_empty() {
            problems.push(format!("warning: {}", warning.join(", ")));
        }
        let mut status = if !critical.is_empty() {
            Status::Unhealthy
        } else if !warning.is_empty() {
            Status::Degraded
        } else {
            Status::Healthy
        };
        if let Err(disk_error) = &sample.disk {
            // A path the operator named must be measurable; the default root
            // filesystem may be invisible in some containers, which is only noted.
            if config.disk_path.is_some() {
                status = Status::Unhealthy;
            }
            problems.push(format!("disk usage unavailable: {disk_error}"));
        }
        let message = if problems.is_empty() {
            usage.join(", ")
        } else {
            problems.join("; ")
        };
        let details = json!({
            "cpu_percent": round1(sample.cpu_percent),
            "memory_percent": round1(sample.memory_percent),
            "disk_percent": disk_percent.map(round1),
            "disk_path": self.disk_path(),
            "disk_mount_point": sample.disk.as_ref().ok().map(|d| d.mount_point.clone()),
            "disk_error": sample.disk.as_ref().err(),
            "thresholds": {
                "cpu_warning": config.cpu_warning,
                "cpu_critical": config.cpu_critical,
                "memory_warning": config.memory_warning,
                "memory_critical": config.memory_critical,
                "disk_warning": config.disk_warning,
                "disk_critical": config.disk_critical,
            },
        });
        CheckOutcome::new(status, latency, message).with_details(details)
    }

    fn disk_path(&self) -> PathBuf {
        self.config
            .disk_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("/"))
    }
}

#[async_trait]
impl HealthCheck for SystemCheck {
    fn kind(&self) -> &str {
        "system"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let mut sampler = Arc::clone(&self.sampler).lock_owned().await;
        // CPU usage is the change between two refreshes at least
        // MINIMUM_CPU_UPDATE_INTERVAL apart: the first run primes and waits once.
        let earliest = match sampler.cpu_refreshed_at {
            Some(at) => at + sysinfo::MINIMUM_CPU_UPDATE_INTERVAL,
            None => {
                sampler.system.refresh_cpu_usage();
                let now = Instant::now();
                sampler.cpu_refreshed_at = Some(now);
                now + sysinfo::MINIMUM_CPU_UPDATE_INTERVAL
            }
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(earliest)).await;
        let disk_path = self.disk_path();
        let sample = tokio::task::spawn_blocking(move || sampler.sample(&disk_path)).await;
        let latency = started.elapsed();
        match sample {
            Ok(sample) => self.judge(&sample, latency),
            Err(error) => {
                CheckOutcome::unhealthy(latency, format!("reading system usage failed: {error}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::kind;
    use crate::{CheckConfig, check_kinds};

    fn build(config: SystemCheckConfig) -> Arc<dyn HealthCheck> {
        CheckConfig::new("host", kind("system", &config))
            .build(&check_kinds())
            .unwrap()
    }

    fn all_thresholds(value: f64) -> SystemCheckConfig {
        SystemCheckConfig {
            cpu_warning: value,
            cpu_critical: value,
            memory_warning: value,
            memory_critical: value,
            disk_warning: value,
            disk_critical: value,
            disk_path: None,
        }
    }

    fn percent(outcome: &CheckOutcome, key: &str) -> f64 {
        outcome.details[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {}", outcome.details))
    }

    #[tokio::test]
    async fn reports_plausible_usage_of_this_machine() {
        let check = build(SystemCheckConfig::default());
        for _ in 0..2 {
            let outcome = check.check().await;
            for key in ["cpu_percent", "memory_percent"] {
                let value = percent(&outcome, key);
                assert!((0.0..=100.0).contains(&value), "{key} = {value}");
            }
            assert!(
                percent(&outcome, "memory_percent") > 0.0,
                "{}",
                outcome.details
            );
            if let Some(disk) = outcome.details["disk_percent"].as_f64() {
                assert!((0.0..=100.0).contains(&disk), "disk_percent = {disk}");
            }
            assert_eq!(outcome.details["thresholds"]["cpu_warning"], 80.0);
            assert_eq!(outcome.details["thresholds"]["disk_critical"], 95.0);
        }
    }

    #[tokio::test]
    async fn status_follows_thresholds() {
        // Thresholds of 0 are always reached: unhealthy, and the message names the resources.
        let outcome = build(all_thresholds(0.0)).check().await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.starts_with("critical: cpu "),
            "{}",
            outcome.message
        );
        assert!(outcome.message.contains("memory "), "{}", outcome.message);

        // Thresholds above 100 are never reached.
        let outcome = build(all_thresholds(101.0)).check().await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert!(outcome.message.starts_with("cpu "), "{}", outcome.message);

        // A warning reached but no critical one: degraded.
        let config = SystemCheckConfig {
            memory_warning: 0.0,
            memory_critical: 101.0,
            ..all_thresholds(101.0)
        };
        let outcome = build(config).check().await;
        assert_eq!(outcome.status, Status::Degraded, "{outcome:?}");
        assert!(
            outcome.message.starts_with("warning: memory "),
            "{}",
            outcome.message
        );
    }

    #[tokio::test]
    async fn disk_path_selects_the_filesystem() {
        let config = SystemCheckConfig {
            disk_path: Some(std::env::temp_dir()),
            ..all_thresholds(101.0)
        };
        let outcome = build(config).check().await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        let disk = percent(&outcome, "disk_percent");
        assert!((0.0..=100.0).contains(&disk), "disk_percent = {disk}");

        let missing = SystemCheckConfig {
            disk_path: Some(PathBuf::from("/no/such/mon/dir")),
            ..all_thresholds(101.0)
        };
        let outcome = build(missing).check().await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.contains("cannot read disk_path"),
            "{}",
            outcome.message
        );
        assert_eq!(outcome.details["disk_percent"], serde_json::Value::Null);
    }
}
