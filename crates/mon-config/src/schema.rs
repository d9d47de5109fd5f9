//! The `mon.yaml` schema: top-level sections and the server-level settings.
//!
//! Check, alerting and logging settings are the config structs of their own crates
//! (`mon_health::CheckConfig`, `mon_alerting::AlertingConfig`, `mon_logging::LoggingConfig`).

use mon_core::Secret;
pub use mon_http::{AuthConfig, LimitsConfig, MetricsAccess, Role, TokenConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A whole `mon.yaml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HTTP server: listen address, auth tokens, limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// The SQLite store: path, retention.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Log output: level and format.
    #[serde(default)]
    pub logging: mon_logging::LoggingConfig,
    /// The health checks, each with a unique `name` and a `type`.
    #[serde(default)]
    pub checks: Vec<mon_health::CheckConfig>,
    /// Which share of `checks:` this instance probes, when several instances share
    /// one configuration (docs/ha.md). Absent: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks_shard: Option<mon_health::ShardConfig>,
    /// Metric collection.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Alert rules and notification channels.
    #[serde(default)]
    pub alerting: mon_alerting::AlertingConfig,
    /// The LiveKit webhook receiver (keys default to the first `livekit` check's).
    #[serde(default)]
    pub livekit: crate::LivekitConfig,
    /// Custom dashboards, served beside the built-in ones (docs/dashboards.md).
    #[serde(default)]
    pub dashboards: Vec<mon_metrics::DashboardConfig>,
    /// The public status page `/status`: title, description, logo (docs/status-page.md).
    #[serde(default)]
    pub status_page: mon_health::status_page::StatusPageConfig,
    /// What mon computes from authentication and security events, and the thresholds
    /// of the built-in security rules (docs/security.md).
    #[serde(default)]
    pub security: mon_metrics::SecurityConfig,
    /// Callers' personal data: what is personal and whether it is dropped, masked or
    /// pseudonymised before anything is stored, labelled or exported (docs/privacy.md).
    #[serde(default)]
    pub privacy: mon_core::privacy::PrivacyConfig,
    /// The scheduled stakeholder report: its period and the e-mail channels it is
    /// mailed through (docs/reports.md).
    #[serde(default)]
    pub reports: crate::ReportsConfig,
    /// The values `${VAR}` took from the environment: secrets to any output.
    #[serde(skip)]
    pub(crate) substituted: Vec<Secret>,
}

/// `server:` — the HTTP API, dashboard and health endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The absolute http(s) URL people reach mon at (behind a proxy: the proxy's),
    /// used for the links in notifications (Slack, email, PagerDuty, webhooks,
    /// Alertmanager). Absent: `http://` + `listen` (`localhost` for an unspecified
    /// address such as `0.0.0.0`).
    pub external_url: Option<String>,
    /// Labels that tell this instance from others running the same configuration
    /// (`replica: a`), added where mon talks to systems they share: the alerts sent to
    /// Alertmanager and the series sent with remote write (an alert's or a series' own
    /// label of the same name wins). Default none.
    pub external_labels: BTreeMap<String, String>,
    /// Bearer tokens and their roles.
    pub auth: AuthConfig,
    /// Paths answered without a token even when tokens are configured.
    pub public_paths: Vec<String>,
    /// Whether to run the built-in `mon` self check (store writable, writer keeping up).
    pub self_check: bool,
    /// Request limits.
    pub limits: LimitsConfig,
    /// How long a graceful shutdown waits for in-flight requests and the store flush.
    #[serde(with = "mon_core::duration")]
    pub shutdown_timeout: Duration,
    /// The security layer on mon's own API: IP lists, trusted proxies, rate limits and
    /// blocks after failed authentications (docs/security.md).
    pub security: mon_security::SecurityPolicy,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8480)),
            external_url: None,
            external_labels: BTreeMap::new(),
            auth: AuthConfig::default(),
            public_paths: [
                "/health",
                "/health/",
                "/monitoring/health",
                "/health/live",
                "/health/ready",
                "/metrics",
            ]
            .map(String::from)
            .to_vec(),
            self_check: true,
            limits: LimitsConfig::default(),
            shutdown_timeout: Duration::from_secs(10),
            security: mon_security::SecurityPolicy::default(),
        }
    }
}

impl ServerConfig {
    /// `external_url`, or the URL derived from `listen`; without a trailing `/`.
    pub fn external_url(&self) -> String {
        match &self.external_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None if self.listen.ip().is_unspecified() => {
                format!("http://localhost:{}", self.listen.port())
            }
            None => format!("http://{}", self.listen),
        }
    }

    /// Why `external_url` is not an absolute http(s) URL, if it is not.
    fn external_url_error(&self) -> Option<String> {
        let url = self.external_url.as_deref()?;
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                (u.query().is_some() || u.fragment().is_some()).then(|| {
                    format!("{url:?} must not have a query or fragment; give the base URL")
                })
            }
            Ok(u) => Some(format!(
                "{url:?} must be an absolute http:// or https:// URL, not {}:",
                u.scheme()
            )),
            Err(e) => Some(format!(
                "{url:?} is not an absolute http(s) URL ({e}); write e.g. https://mon.example.com"
            )),
        }
    }

    /// `(key path, message)` for each problem in `server:`.
    fn validate(&self) -> Vec<(String, String)> {
        let limits = &self.limits;
        let mut errors = Vec::new();
        for (key, value) in [
            ("max_body_bytes", limits.max_body_bytes),
            ("max_uri_bytes", limits.max_uri_bytes),
            ("max_header_bytes", limits.max_header_bytes),
            ("max_connections", limits.max_connections),
        ] {
            if value == 0 {
                errors.push((format!("server.limits.{key}"), "must be at least 1".into()));
            }
        }
        // Zero timeouts: the check of every interval/timeout in `Config::validate`.
        if let Some(message) = self.external_url_error() {
            errors.push(("server.external_url".into(), message));
        }
        for (name, value) in &self.external_labels {
            let key = format!("server.external_labels.{name}");
            if let Err(e) = mon_core::check_label_name(name) {
                errors.push((key, e));
            } else if name.starts_with("__") {
                errors.push((
                    key,
                    format!("{name:?}: names starting with `__` are reserved"),
                ));
            } else if value.is_empty() {
                errors.push((key, "is empty; give the label a value".into()));
            }
        }
        if self.auth.metrics == MetricsAccess::Read && self.auth.tokens.is_empty() {
            errors.push((
                "server.auth.metrics".into(),
                "`read` needs a token: add one under server.auth.tokens".into(),
            ));
        }
        errors.extend(
            self.security
                .validate()
                .into_iter()
                .map(|(key, message)| (format!("server.security.{key}"), message)),
        );
        errors
    }
}

/// `storage:` — the SQLite store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The database file; its directory is created when missing.
    pub path: PathBuf,
    /// `normal` (default: an acknowledged write survives a crash of mon) or `full` (also a power loss).
    pub synchronous: mon_store::Synchronous,
    /// How many write batches may wait for the writer before producers are slowed down.
    pub queue_capacity: usize,
    /// How long each kind of data is kept, and how often pruning runs.
    pub retention: mon_store::RetentionPolicy,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: PathBuf::from("./mon-data/mon.db"),
            synchronous: mon_store::Synchronous::Normal,
            queue_capacity: mon_store::StoreOptions::default().queue_capacity,
            retention: mon_store::RetentionPolicy::default(),
        }
    }
}

impl Config {
    /// The checks this instance probes: all of `checks:`, or the share of them
    /// `checks_shard:` assigns to it ([`mon_health::ShardConfig::select`]).
    pub fn probed_checks(&self) -> Vec<mon_health::CheckConfig> {
        match &self.checks_shard {
            Some(shard) => shard.select(&self.checks),
            None => self.checks.clone(),
        }
    }

    /// The policy of `privacy:`, its pseudonyms keyed by `privacy.key` or else by the key
    /// kept beside the store ([`mon_store::privacy_key`], generated on first use).
    ///
    /// # Errors
    /// The key file cannot be read or written, or the section is invalid (a loaded
    /// configuration was validated already).
    pub fn privacy(&self) -> Result<mon_core::Privacy, String> {
        let privacy = &self.privacy;
        if !privacy.enabled {
            return Ok(mon_core::Privacy::disabled());
        }
        let generated = match &privacy.key {
            Some(_) => Vec::new(),
            None => mon_store::privacy_key(&self.storage.path).map_err(|e| e.to_string())?,
        };
        mon_core::Privacy::new(privacy, &generated).map_err(|e| e.to_string())
    }
}

impl StorageConfig {
    /// The store options these settings select (the rest at their defaults).
    pub fn store_options(&self) -> mon_store::StoreOptions {
        mon_store::StoreOptions {
            synchronous: self.synchronous,
            queue_capacity: self.queue_capacity,
            ..mon_store::StoreOptions::default()
        }
    }
}

/// `metrics:` — what mon collects itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Collect host metrics (CPU, memory, disk, network, mon's own process).
    pub host: bool,
    /// How often host metrics are collected and stored.
    #[serde(with = "mon_core::duration")]
    pub interval: Duration,
    /// The mount whose usage is `disk_percent` (default: the one holding the store).
    pub disk_path: Option<PathBuf>,
    /// A pushed request at least this slow is kept as a slow-request event (seed: 1s).
    #[serde(with = "mon_core::duration")]
    pub slow_request_threshold: Duration,
    /// The rolling window (`1m`, `5m` or `15m`) rule variables such as
    /// `avg_api_latency_ms` are computed over.
    pub rule_window: mon_metrics::Window,
    /// How often application metrics are sampled into stored time series.
    #[serde(with = "mon_core::duration")]
    pub resolution: Duration,
    /// At most this many series per kind (endpoints, AI models, operations, error kinds)
    /// and this many custom metric series in total, over every custom metric name.
    pub max_series: usize,
    /// The longest label value accepted, in bytes (endpoint, method, error kind, AI
    /// provider/model, custom label values): a longer one in an ingested event is refused.
    pub max_label_value_bytes: usize,
    /// Rollups (1m, 1h) and their retention; raw samples follow `storage.retention.samples`.
    pub series: mon_store::SeriesPolicy,
    /// Pushgateway, JSON and remote write exporters (none by default).
    pub exporters: mon_metrics::ExportersConfig,
    /// OTLP ingest (`POST /v1/metrics`, `/v1/logs`, `/v1/traces`): the price table of
    /// `gen_ai` spans (docs/otel.md).
    pub otlp: mon_metrics::OtlpConfig,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            host: true,
            interval: Duration::from_secs(10),
            disk_path: None,
            slow_request_threshold: Duration::from_secs(1),
            rule_window: mon_metrics::Window::FiveMinutes,
            resolution: Duration::from_secs(10),
            max_series: 1000,
            max_label_value_bytes: 256,
            series: mon_store::SeriesPolicy::default(),
            exporters: mon_metrics::ExportersConfig::default(),
            otlp: mon_metrics::OtlpConfig::default(),
        }
    }
}

impl Config {
    /// Every value a `${VAR}` took from the environment. Outputs of the configuration
    /// (`mon config show`) treat them as secrets wherever they occur.
    pub fn substituted_values(&self) -> impl Iterator<Item = &str> {
        self.substituted.iter().map(Secret::expose)
    }

    /// Checks what serde cannot: unique names, valid values across fields.
    /// Returns `(key path, message)` pairs; empty when all is well.
    pub(crate) fn validate(&self, kinds: &mon_core::Kinds) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        let mut seen = BTreeMap::new();
        for (i, check) in self.checks.iter().enumerate() {
            let path = format!("checks[{i}]");
            // Serde stops at the first unknown field: left out, the entry is read again.
            let mut entry = std::borrow::Cow::Borrowed(check);
            while let Err(e) = entry.validate(kinds) {
                match e {
                    mon_health::HealthError::InvalidConfig { field, message, .. } => {
                        let unknown = message.starts_with("unknown field");
                        errors.push((format!("{path}.{field}"), message));
                        if !(unknown && entry.to_mut().kind.fields.remove(&field).is_some()) {
                            break;
                        }
                    }
                    // The entry as a whole does not make a check of its kind (a field
                    // is missing: the loader names it): at the entry.
                    mon_health::HealthError::InvalidKind { message, .. } => {
                        errors.push((path.clone(), message));
                        break;
                    }
                    e => {
                        errors.push((path.clone(), e.to_string()));
                        break;
                    }
                }
            }
            if let Some(first) = seen.insert(check.name.clone(), i) {
                errors.push((
                    format!("{path}.name"),
                    format!("duplicate check name {:?} (also checks[{first}]): check names must be unique", check.name),
                ));
            }
        }
        if let Err(mon_health::HealthError::InvalidConfig {
            check,
            field,
            message,
        }) = mon_health::validate_dependencies(&self.checks)
        {
            let at = self.checks.iter().position(|c| c.name == check);
            errors.push((
                at.map_or_else(|| "checks".into(), |i| format!("checks[{i}].{field}")),
                message,
            ));
        }
        for (key, message) in self.checks_shard.iter().flat_map(|s| s.validate()) {
            errors.push((format!("checks_shard.{key}"), message));
        }
        let mut names = BTreeMap::new();
        let mut values = BTreeMap::new();
        for (i, token) in self.server.auth.tokens.iter().enumerate() {
            let path = format!("server.auth.tokens[{i}]");
            if token.token.expose().trim().is_empty() {
                errors.push((
                    format!("{path}.token"),
                    format!(
                        "token {:?} is empty (is its environment variable set?)",
                        token.name
                    ),
                ));
            }
            if let Some(first) = names.insert(token.name.clone(), i) {
                errors.push((
                    format!("{path}.name"),
                    format!(
                        "duplicate token name {:?} (also server.auth.tokens[{first}])",
                        token.name
                    ),
                ));
            }
            if !token.token.is_empty()
                && let Some(first) = values.insert(token.token.expose(), i)
            {
                let other = &self.server.auth.tokens[first];
                errors.push((
                    format!("{path}.token"),
                    format!(
                        "token {:?} (role {}) has the same value as token {:?} (role {}) in \
                         server.auth.tokens[{first}]: a value must be unique, or its role is ambiguous",
                        token.name,
                        token.role.as_str(),
                        other.name,
                        other.role.as_str()
                    ),
                ));
            }
        }
        if let Err(e) = self.storage.store_options().validate() {
            errors.push(("storage".into(), e.to_string()));
        }
        if let Err(e) = self.storage.retention.validate() {
            errors.push(("storage.retention".into(), e.to_string()));
        }
        errors.extend(self.server.validate());
        for (key, message) in self.security.problems() {
            errors.push((format!("security.{key}"), message));
        }
        for (key, message) in self
            .metrics
            .exporters
            .remote_write
            .iter()
            .flat_map(|r| r.validate())
        {
            errors.push((format!("metrics.exporters.remote_write.{key}"), message));
        }
        for (key, message) in self.metrics.otlp.validate() {
            errors.push((format!("metrics.otlp.{key}"), message));
        }
        if self.metrics.max_label_value_bytes == 0 {
            errors.push((
                "metrics.max_label_value_bytes".into(),
                "must be at least 1 (256 is the default)".into(),
            ));
        }
        for e in self.alerting.validate(kinds) {
            // A field's or an entry's error is at it: the message need not name it again.
            let message = match &e {
                mon_alerting::AlertingError::InvalidChannelField { message, .. }
                | mon_alerting::AlertingError::InvalidChannel { message, .. } => message.clone(),
                _ => e.to_string(),
            };
            errors.push((self.alerting_error_path(&e), message));
        }
        for (key, message) in self.status_page.validate() {
            errors.push((format!("status_page.{key}"), message));
        }
        for (key, message) in self.privacy.validate() {
            errors.push((format!("privacy.{key}"), message));
        }
        for (key, message) in self.logging.validate() {
            errors.push((format!("logging.{key}"), message));
        }
        errors.extend(self.validate_livekit());
        errors.extend(self.reports.validate(&self.alerting));
        for (key, message) in mon_metrics::validate_dashboards(&self.dashboards) {
            errors.push((format!("dashboards{key}"), message));
        }
        if let Ok(tree) = serde_yaml_ng::to_value(self) {
            let mut zero = Vec::new();
            zero_durations(&tree, String::new(), &mut zero);
            for path in zero {
                if !errors.iter().any(|(p, _)| *p == path) {
                    errors.push((
                        path,
                        "must be longer than zero (write e.g. `10s`)".to_string(),
                    ));
                }
            }
        }
        errors
    }

    /// The key path an alerting error is about, for its line:column.
    fn alerting_error_path(&self, e: &mon_alerting::AlertingError) -> String {
        use mon_alerting::AlertingError as E;
        let rule = |name: &str| self.alerting.rules.iter().rposition(|r| r.name == name);
        let channel = |name: &str| {
            self.alerting
                .channels
                .iter()
                .rposition(|c| c.name() == name)
        };
        let path = match e {
            E::InvalidExpression { rule: name, .. } | E::UnknownVariable { rule: name, .. } => {
                rule(name).map(|i| format!("rules[{i}].expr"))
            }
            E::UnknownChannel { route, .. } => Some(format!("routes[{route}].channels")),
            E::InvalidTemplate {
                rule: name,
                annotation,
                ..
            } => rule(name).map(|i| format!("rules[{i}].annotations.{annotation}")),
            E::InvalidRule { rule: name, .. } => rule(name).map(|i| format!("rules[{i}]")),
            E::DuplicateRule { name } => rule(name).map(|i| format!("rules[{i}].name")),
            E::InvalidChannel { channel: name, .. } => {
                channel(name).map(|i| format!("channels[{i}]"))
            }
            E::InvalidChannelField {
                channel: name,
                field,
                ..
            } => channel(name).map(|i| format!("channels[{i}].{field}")),
            E::DuplicateChannel { name } => channel(name).map(|i| format!("channels[{i}].name")),
            E::ZeroEvaluationInterval => Some("evaluation_interval".to_string()),
            _ => None,
        };
        path.map_or_else(|| "alerting".to_string(), |p| format!("alerting.{p}"))
    }
}

/// Collects the paths of every interval, timeout, period and resolution set to zero,
/// whichever section it is in: none of them may be zero (`repeat_interval: 0s` means
/// "never" and is the one exception).
fn zero_durations(value: &serde_yaml_ng::Value, path: String, out: &mut Vec<String>) {
    let must_be_positive = |key: &str| {
        key != "repeat_interval"
            && ["interval", "timeout", "period", "resolution"]
                .iter()
                .any(|word| key == *word || key.ends_with(&format!("_{word}")))
    };
    match value {
        serde_yaml_ng::Value::Mapping(map) => {
            for (key, child) in map {
                let Some(key) = key.as_str() else { continue };
                let child_path = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                if must_be_positive(key) && child.as_str() == Some("0s") {
                    out.push(child_path);
                } else {
                    zero_durations(child, child_path, out);
                }
            }
        }
        serde_yaml_ng::Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                zero_durations(child, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}
