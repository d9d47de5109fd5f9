//! [`LoggingConfig`]: the `logging` section of mon's configuration, with its defaults in one place.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The `logging` section of the configuration.
///
/// ```yaml
/// logging:
///   level: info,mon_store=debug   # optional; RUST_LOG and LOG_LEVEL win over it
///   format: auto                  # auto | json | pretty
///   app: voice-agent
///   dir: ./mon-data/logs          # app/, errors/, audit/, performance/ files; unset: console only
///   max_file_size: 52428800
///   retention: { app: 30d, errors: 90d, audit: 365d, performance: 30d }
///   mask_patterns: ["sk-[A-Za-z0-9]{20,}"]
///   errors: { sample_rate: 1.0, ignored_kinds: [NotFoundError], max_samples: 10 }
///   search: { level: warn, retention: 30d }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// The level (`trace`, `debug`, `info`, `warn`, `error`, `off`; `warning` and
    /// `critical` are accepted) or filter directives such as `info,mon_store=debug`.
    /// The environment wins over it: `RUST_LOG` first, then `LOG_LEVEL`.
    /// Unset: `info`.
    pub level: Option<String>,
    /// How lines are written: `auto` (JSON when `ENVIRONMENT=production`,
    /// human-readable otherwise), `json` or `pretty`.
    pub format: LogFormat,
    /// The `app` of every JSON line. Unset: the environment variable `APP_NAME`, else `mon`.
    pub app: Option<String>,
    /// The `environment` of every JSON line. Unset: the environment variable
    /// `ENVIRONMENT`, else `development`.
    pub environment: Option<String>,
    /// A directory for log files (`app/`, `errors/`, `audit/`, `performance/` under it).
    /// Unset: no files, console only.
    pub dir: Option<PathBuf>,
    /// A file is rotated when the next line would make it larger than this many bytes
    /// (and at midnight UTC). Default 50 MiB.
    pub max_file_size: u64,
    /// How long rotated files of each stream are kept.
    pub retention: LogRetention,
    /// Lines waiting for the file writer thread at most; beyond it, lines below ERROR
    /// are dropped and counted (`mon_log_dropped_total`). Default 8192.
    pub queue_capacity: usize,
    /// Extra regular expressions: matching parts of messages and string values are
    /// written as `***` (beside the built-in rules for secret-like field names, JWTs and
    /// bearer tokens).
    pub mask_patterns: Vec<String>,
    /// Error tracking: how ERROR events are grouped and sampled.
    pub errors: ErrorTrackingConfig,
    /// Log search: which records mon-server stores for `GET /api/v1/logs`.
    pub search: LogSearchConfig,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: None,
            format: LogFormat::Auto,
            app: None,
            environment: None,
            dir: None,
            max_file_size: 50 * 1024 * 1024,
            retention: LogRetention::default(),
            queue_capacity: 8192,
            mask_patterns: Vec::new(),
            errors: ErrorTrackingConfig::default(),
            search: LogSearchConfig::default(),
        }
    }
}

impl LoggingConfig {
    /// Checks what serde cannot. Returns `(key under logging, message)` pairs; empty when
    /// all is well. [`init`](crate::init) refuses a configuration with problems too.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if let Err(e) = crate::build_filter(self, &|_| None) {
            problems.push(("level".to_string(), e.to_string()));
        }
        for (i, pattern) in self.mask_patterns.iter().enumerate() {
            if let Err(e) = regex::Regex::new(pattern) {
                problems.push((
                    format!("mask_patterns[{i}]"),
                    format!(
                        "{pattern:?} is not a valid regular expression ({})",
                        crate::mask::regex_reason(&e)
                    ),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.errors.sample_rate) {
            problems.push((
                "errors.sample_rate".to_string(),
                format!("{} is not between 0 and 1", self.errors.sample_rate),
            ));
        }
        if crate::parse_level(&self.search.level).is_none() {
            problems.push((
                "search.level".to_string(),
                format!(
                    "{:?} is not a level; use trace, debug, info, warn or error",
                    self.search.level
                ),
            ));
        }
        if self.max_file_size == 0 {
            problems.push((
                "max_file_size".to_string(),
                "must be at least 1 byte".to_string(),
            ));
        }
        if self.queue_capacity == 0 {
            problems.push((
                "queue_capacity".to_string(),
                "must be at least 1".to_string(),
            ));
        }
        problems
    }
}

/// How long the files of each stream are kept (`30d`, `12h`...). Pruned at start and at
/// every rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogRetention {
    /// `app/` files. Default 30 days.
    #[serde(with = "mon_core::duration")]
    pub app: Duration,
    /// `errors/` files. Default 90 days.
    #[serde(with = "mon_core::duration")]
    pub errors: Duration,
    /// `audit/` files. Default 365 days.
    #[serde(with = "mon_core::duration")]
    pub audit: Duration,
    /// `performance/` files. Default 30 days.
    #[serde(with = "mon_core::duration")]
    pub performance: Duration,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

impl Default for LogRetention {
    fn default() -> Self {
        LogRetention {
            app: DAY * 30,
            errors: DAY * 90,
            audit: DAY * 365,
            performance: DAY * 30,
        }
    }
}

/// Error tracking: ERROR events and [`record_error`](crate::record_error) calls grouped
/// by fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ErrorTrackingConfig {
    /// The share (0–1) of occurrences whose context is kept as a sample. Every
    /// occurrence is counted whatever the rate. Default 1.
    pub sample_rate: f64,
    /// Error kinds (`error_kind` field, e.g. `NotFoundError`) that are not tracked at all.
    pub ignored_kinds: Vec<String>,
    /// Sample contexts kept per fingerprint at most. Default 10.
    pub max_samples: usize,
}

impl Default for ErrorTrackingConfig {
    fn default() -> Self {
        ErrorTrackingConfig {
            sample_rate: 1.0,
            ignored_kinds: Vec::new(),
            max_samples: 10,
        }
    }
}

/// Log search: records stored with a full-text index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSearchConfig {
    /// The lowest level stored (`trace` … `error`). Default `warn`.
    pub level: String,
    /// How long stored records (and tracked errors not seen since) are kept. Default 30 days.
    #[serde(with = "mon_core::duration")]
    pub retention: Duration,
}

impl Default for LogSearchConfig {
    fn default() -> Self {
        LogSearchConfig {
            level: "warn".into(),
            retention: DAY * 30,
        }
    }
}

/// The configured output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// JSON when the environment variable `ENVIRONMENT` is `production`, human-readable otherwise.
    #[default]
    Auto,
    /// One JSON object per line: for log shippers.
    Json,
    /// One human-readable line per event: for terminals.
    Pretty,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yaml_and_rejects_unknown_keys() {
        let config: LoggingConfig =
            serde_yaml_ng::from_str("level: debug\nformat: json\n").unwrap();
        assert_eq!(
            config,
            LoggingConfig {
                level: Some("debug".into()),
                format: LogFormat::Json,
                ..LoggingConfig::default()
            }
        );

        let config: LoggingConfig = serde_yaml_ng::from_str("{}").unwrap();
        assert_eq!(config, LoggingConfig::default());
        assert_eq!(config.format, LogFormat::Auto);
        assert_eq!(config.max_file_size, 52_428_800);
        assert_eq!(config.retention.audit, DAY * 365);
        assert_eq!(config.search.level, "warn");

        let config: LoggingConfig = serde_yaml_ng::from_str(
            "dir: /var/log/mon\nretention: { errors: 7d }\nerrors: { sample_rate: 0.5, ignored_kinds: [NotFoundError] }\n",
        )
        .unwrap();
        assert_eq!(config.retention.errors, DAY * 7);
        assert_eq!(config.retention.app, DAY * 30);
        assert_eq!(config.errors.ignored_kinds, ["NotFoundError"]);

        let err = serde_yaml_ng::from_str::<LoggingConfig>("levle: debug\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `levle`"), "{err}");

        let err = serde_yaml_ng::from_str::<LoggingConfig>("format: xml\n").unwrap_err();
        assert!(err.to_string().contains("unknown variant `xml`"), "{err}");

        assert!(LoggingConfig::default().validate().is_empty());
        let bad = LoggingConfig {
            level: Some("loud".into()),
            mask_patterns: vec!["ok".into(), "(".into()],
            errors: ErrorTrackingConfig {
                sample_rate: 2.0,
                ..ErrorTrackingConfig::default()
            },
            search: LogSearchConfig {
                level: "verbose".into(),
                ..LogSearchConfig::default()
            },
            max_file_size: 0,
            queue_capacity: 0,
            ..LoggingConfig::default()
        };
        let keys: Vec<String> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "level",
                "mask_patterns[1]",
                "errors.sample_rate",
                "search.level",
                "max_file_size",
                "queue_capacity"
            ]
        );

        let err = serde_yaml_ng::from_str::<LoggingConfig>("retention: { app: 30 }\n").unwrap_err();
        assert!(err.to_string().contains("invalid duration"), "{err}");
    }
}
