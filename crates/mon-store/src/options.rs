//! Tuning knobs: [`StoreOptions`] for opening the store and [`RetentionPolicy`] for pruning it.
//!
//! Both are config structs (they appear under `storage:` in mon.yaml), so every field is
//! documented and every default lives in the `Default` impl right below the struct.

use crate::StoreError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How hard SQLite works to make a commit durable (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// `NORMAL`: in WAL mode a commit survives a crash or kill of the process, but the
    /// last commits may be lost on power failure or an OS crash. Fast.
    #[default]
    Normal,
    /// `FULL`: the WAL is fsynced on every commit, so a commit also survives power loss.
    /// Slower, especially on disks with slow fsync.
    Full,
}

impl Synchronous {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// How the store is opened and how its writer batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreOptions {
    /// Durability of commits (`normal` or `full`).
    pub synchronous: Synchronous,
    /// How long a connection waits for a lock held by another connection (another
    /// process using the same file) before it gives up with a busy error.
    #[serde(with = "mon_core::duration")]
    pub busy_timeout: Duration,
    /// How many batches may wait in the write queue. When it is full, `write` waits and
    /// `try_write` fails with `Busy` (the ingest API answers 429). At least 1.
    pub queue_capacity: usize,
    /// The writer puts queued batches into one transaction until it holds this many rows
    /// (a single larger batch is still committed whole). At least 1.
    pub max_rows_per_transaction: usize,
    /// How many read connections the query pool keeps open. At least 1.
    pub read_connections: usize,
    /// How many series ids the writer keeps in memory; beyond that the cache is cleared
    /// and refilled from the `series` table. At least 1.
    pub series_cache_capacity: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            queue_capacity: 256,
            max_rows_per_transaction: 50_000,
            read_connections: 4,
            series_cache_capacity: 100_000,
        }
    }
}

impl StoreOptions {
    /// Checks that every value is in range.
    pub fn validate(&self) -> Result<(), StoreError> {
        let at_least_one = [
            ("queue_capacity", self.queue_capacity),
            ("max_rows_per_transaction", self.max_rows_per_transaction),
            ("read_connections", self.read_connections),
            ("series_cache_capacity", self.series_cache_capacity),
        ];
        for (name, value) in at_least_one {
            if value == 0 {
                return Err(StoreError::InvalidOptions {
                    reason: format!("{name} must be at least 1, got 0"),
                });
            }
        }
        Ok(())
    }
}

/// How long rows are kept, and how the pruning runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Check results older than this are deleted.
    #[serde(with = "mon_core::duration")]
    pub check_results: Duration,
    /// Metric samples older than this are deleted; a series left without samples is
    /// deleted too.
    #[serde(with = "mon_core::duration")]
    pub samples: Duration,
    /// At most this many rows are deleted per transaction, so a large prune never holds
    /// the writer for long. At least 1.
    pub batch_rows: usize,
    /// How often the background task started by `Store::spawn_retention` runs a pass.
    /// At least one second.
    #[serde(with = "mon_core::duration")]
    pub interval: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            check_results: Duration::from_secs(7 * 86_400),
            samples: Duration::from_secs(86_400),
            batch_rows: 1000,
            interval: Duration::from_secs(300),
        }
    }
}

impl RetentionPolicy {
    /// Checks that every value is in range.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.batch_rows == 0 {
            return Err(StoreError::InvalidOptions {
                reason: "retention batch_rows must be at least 1, got 0".to_owned(),
            });
        }
        if self.interval < Duration::from_secs(1) {
            return Err(StoreError::InvalidOptions {
                reason: format!(
                    "retention interval must be at least 1s, got {}",
                    mon_core::duration::format(self.interval)
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_from_config_text() {
        let json = serde_json::json!({"synchronous": "full", "busy_timeout": "250ms", "queue_capacity": 8});
        let options: StoreOptions = serde_json::from_value(json).unwrap();
        assert_eq!(options.synchronous, Synchronous::Full);
        assert_eq!(options.busy_timeout, Duration::from_millis(250));
        assert_eq!(options.queue_capacity, 8);
        assert_eq!(
            options.read_connections,
            StoreOptions::default().read_connections
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let json = serde_json::json!({"queue_capacty": 8});
        let err = serde_json::from_value::<StoreOptions>(json).unwrap_err();
        assert!(err.to_string().contains("queue_capacty"), "{err}");
        let json = serde_json::json!({"sample": "1d"});
        assert!(serde_json::from_value::<RetentionPolicy>(json).is_err());
    }

    #[test]
    fn zero_values_are_rejected() {
        let cases: [(StoreOptions, &str); 3] = [
            (
                StoreOptions {
                    queue_capacity: 0,
                    ..Default::default()
                },
                "queue_capacity",
            ),
            (
                StoreOptions {
                    read_connections: 0,
                    ..Default::default()
                },
                "read_connections",
            ),
            (
                StoreOptions {
                    max_rows_per_transaction: 0,
                    ..Default::default()
                },
                "max_rows_per_transaction",
            ),
        ];
        for (options, field) in cases {
            let err = options.validate().unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
        assert!(StoreOptions::default().validate().is_ok());
        let policy = RetentionPolicy {
            batch_rows: 0,
            ..Default::default()
        };
        assert!(
            policy
                .validate()
                .unwrap_err()
                .to_string()
                .contains("batch_rows")
        );
        let policy = RetentionPolicy {
            interval: Duration::ZERO,
            ..Default::default()
        };
        assert!(
            policy
                .validate()
                .unwrap_err()
                .to_string()
                .contains("interval")
        );
        assert!(RetentionPolicy::default().validate().is_ok());
    }
}
