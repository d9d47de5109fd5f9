//! Exporters: push the exposition to a Prometheus Pushgateway
//! (`PUT /metrics/job/<job>/instance/<instance>`) and write the metrics report as JSON to
//! a file (atomically: a temporary file renamed over the target) and/or POST it to an
//! HTTP endpoint, each on its own interval. Every exporter's last success and last error
//! are kept in [`ExportStatus`] for the status API.

use crate::MetricsError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::MissedTickBehavior;

/// `metrics.exporters:` — where mon sends its metrics besides `GET /metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportersConfig {
    /// Push the exposition to a Prometheus Pushgateway.
    pub pushgateway: Option<PushgatewayConfig>,
    /// Write the metrics report as JSON to a file and/or POST it to a URL.
    pub json: Option<JsonExportConfig>,
    /// Send the stored series with Prometheus remote write 1.0 (started on its own,
    /// over the store: [`crate::RemoteWriter`]).
    pub remote_write: Option<crate::RemoteWriteConfig>,
}

impl ExportersConfig {
    /// Each configured exporter alone, with its task name (`pushgateway_exporter`,
    /// `json_exporter`), so that each can be started (and restarted) on its own. The
    /// remote write exporter, which reads the store, is not among them.
    pub fn each(&self) -> Vec<(&'static str, ExportersConfig)> {
        let pushgateway = self.pushgateway.clone().map(|p| ExportersConfig {
            pushgateway: Some(p),
            ..ExportersConfig::default()
        });
        let json = self.json.clone().map(|j| ExportersConfig {
            json: Some(j),
            ..ExportersConfig::default()
        });
        [
            ("pushgateway_exporter", pushgateway),
            ("json_exporter", json),
        ]
        .into_iter()
        .filter_map(|(name, only)| Some((name, only?)))
        .collect()
    }
}

/// `metrics.exporters.pushgateway:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushgatewayConfig {
    /// The Pushgateway's base URL, e.g. `http://127.0.0.1:9091`.
    pub url: String,
    /// The `job` grouping label.
    #[serde(default = "default_job")]
    pub job: String,
    /// The `instance` grouping label.
    #[serde(default = "default_job")]
    pub instance: String,
    /// How often to push (seed default 15s).
    #[serde(default = "default_push_interval", with = "mon_core::duration")]
    pub interval: Duration,
}

/// `metrics.exporters.json:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonExportConfig {
    /// Write the report to this file (atomically replaced each time).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// POST the report to this URL.
    #[serde(default)]
    pub url: Option<String>,
    /// How often to export (seed default 30s).
    #[serde(default = "default_json_interval", with = "mon_core::duration")]
    pub interval: Duration,
}

fn default_job() -> String {
    "mon".to_owned()
}

fn default_push_interval() -> Duration {
    Duration::from_secs(15)
}

fn default_json_interval() -> Duration {
    Duration::from_secs(30)
}

/// The outcome history of one exporter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ExporterState {
    /// When it last delivered.
    pub last_success: Option<DateTime<Utc>>,
    /// When it last failed.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Why it last failed.
    pub last_error: Option<String>,
    /// Deliveries that succeeded.
    pub successes: u64,
    /// Deliveries that failed.
    pub failures: u64,
}

/// The state of every exporter by name (`pushgateway`, `json_file`, `json_http`).
/// Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct ExportStatus(Arc<Mutex<BTreeMap<&'static str, ExporterState>>>);

impl ExportStatus {
    /// A copy of every exporter's state.
    pub fn snapshot(&self) -> BTreeMap<&'static str, ExporterState> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn note(&self, exporter: &'static str, result: &Result<(), MetricsError>) {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let state = all.entry(exporter).or_default();
        match result {
            Ok(()) => {
                state.last_success = Some(Utc::now());
                state.successes += 1;
            }
            Err(e) => {
                // The messages already show URLs redacted; this keeps it so for any
                // text a peer echoed back (an answer body quoting the request URL).
                let error = mon_core::redact_urls(&e.to_string()).into_owned();
                tracing::warn!(exporter, error = %error, "metrics export failed");
                state.last_error_at = Some(Utc::now());
                state.last_error = Some(error);
                state.failures += 1;
            }
        }
    }
}

/// Why a request failed, without the URL reqwest puts in its text (it may hold a
/// password or token); the caller names the URL through [`mon_core::redact_url`].
pub(crate) fn request_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

fn export_error(exporter: &'static str, reason: String, retryable: bool) -> MetricsError {
    MetricsError::Export {
        exporter,
        reason,
        retryable,
    }
}

/// The Pushgateway URL of the group `job`/`instance` under `base`.
pub fn pushgateway_group_url(base: &str, job: &str, instance: &str) -> String {
    format!(
        "{}/metrics/{}/{}",
        base.trim_end_matches('/'),
        grouping_pair("job", job),
        grouping_pair("instance", instance)
    )
}

/// Pushes `body` (Prometheus text format) to the Pushgateway, replacing the group.
pub async fn push_to_gateway(
    client: &reqwest::Client,
    config: &PushgatewayConfig,
    body: String,
) -> Result<(), MetricsError> {
    let url = pushgateway_group_url(&config.url, &config.job, &config.instance);
    let response = client
        .put(&url)
        .header("content-type", crate::PROMETHEUS_TEXT_CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            let shown = mon_core::redact_url(&url);
            export_error(
                "pushgateway",
                format!("PUT {shown}: {}", request_error(e)),
                true,
            )
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    Err(export_error(
        "pushgateway",
        format!(
            "PUT {} answered {status}: {}",
            mon_core::redact_url(&url),
            text.trim()
        ),
        status.is_server_error(),
    ))
}

/// One `<label>/<value>` pair of a Pushgateway grouping key path. A value of URL-safe
/// characters only (`A-Z a-z 0-9 - _ . ~`) goes as is; any other value — empty, with a
/// `/`, a space, non-ASCII — in the Pushgateway's `<label>@base64/<base64url>` form
/// (an empty value is `@base64/=`), which no proxy or router can mangle.
fn grouping_pair(label: &str, value: &str) -> String {
    use base64::Engine;
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if plain {
        format!("{label}/{value}")
    } else if value.is_empty() {
        format!("{label}@base64/=")
    } else {
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value);
        format!("{label}@base64/{encoded}")
    }
}

/// Writes `json` to `path` atomically: a temporary file in the same directory, then a
/// rename over the target, so readers never see a half-written file.
pub fn write_json_atomically(path: &Path, json: &serde_json::Value) -> Result<(), MetricsError> {
    let err = |reason: String| export_error("json_file", reason, true);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| err(format!("creating {}: {e}", dir.display())))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "metrics.json".to_owned());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let text = serde_json::to_vec_pretty(json).map_err(|e| err(e.to_string()))?;
    std::fs::write(&tmp, text).map_err(|e| err(format!("writing {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(format!(
            "renaming {} to {}: {e}",
            tmp.display(),
            path.display()
        ))
    })
}

async fn post_json(
    client: &reqwest::Client,
    url: &str,
    json: &serde_json::Value,
) -> Result<(), MetricsError> {
    let response = client.post(url).json(json).send().await.map_err(|e| {
        let shown = mon_core::redact_url(url);
        export_error(
            "json_http",
            format!("POST {shown}: {}", request_error(e)),
            true,
        )
    })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(export_error(
            "json_http",
            format!("POST {} answered {status}", mon_core::redact_url(url)),
            status.is_server_error(),
        ))
    }
}

/// What the exporters read at each tick.
pub type TextSource = Arc<dyn Fn() -> Result<String, MetricsError> + Send + Sync>;
/// The JSON report source.
pub type JsonSource = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// Starts one task per configured exporter; each runs until the future made by `stop`
/// completes.
pub fn spawn_exporters<S>(
    config: &ExportersConfig,
    prometheus_text: TextSource,
    report: JsonSource,
    status: ExportStatus,
    stop: impl Fn() -> S,
) -> Vec<tokio::task::JoinHandle<()>>
where
    S: Future<Output = ()> + Send + 'static,
{
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let mut tasks = Vec::new();
    if let Some(push) = config.pushgateway.clone() {
        let (client, status, text) = (client.clone(), status.clone(), prometheus_text);
        tasks.push(every(push.interval, stop(), move || {
            let (client, status, text, push) =
                (client.clone(), status.clone(), text.clone(), push.clone());
            async move {
                let result = match text() {
                    Ok(body) => push_to_gateway(&client, &push, body).await,
                    Err(e) => Err(e),
                };
                status.note("pushgateway", &result);
            }
        }));
    }
    if let Some(json) = config.json.clone() {
        tasks.push(every(json.interval, stop(), move || {
            let (client, status, report, json) =
                (client.clone(), status.clone(), report.clone(), json.clone());
            async move {
                let body = report();
                if let Some(path) = &json.path {
                    let path = path.clone();
                    let body = body.clone();
                    let result =
                        tokio::task::spawn_blocking(move || write_json_atomically(&path, &body))
                            .await
                            .unwrap_or_else(|e| {
                                Err(export_error("json_file", e.to_string(), true))
                            });
                    status.note("json_file", &result);
                }
                if let Some(url) = &json.url {
                    status.note("json_http", &post_json(&client, url, &body).await);
                }
            }
        }));
    }
    tasks
}

fn every<F, Fut>(
    interval: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
    mut run: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(100)));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = ticker.tick() => run().await,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_file_is_replaced_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out/metrics.json");
        write_json_atomically(&path, &serde_json::json!({"a": 1})).expect("first write");
        write_json_atomically(&path, &serde_json::json!({"a": 2})).expect("second write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).ok(),
            Some(serde_json::json!({"a": 2}))
        );
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["metrics.json"]);
    }

    #[test]
    fn grouping_values_use_base64_unless_plain() {
        for (job, instance, path) in [
            ("mon", "mon-1.a_b~", "/metrics/job/mon/instance/mon-1.a_b~"),
            // "voice/agent" and "pod 1", base64url without padding.
            (
                "voice/agent",
                "pod 1",
                "/metrics/job@base64/dm9pY2UvYWdlbnQ/instance@base64/cG9kIDE",
            ),
            ("mon", "", "/metrics/job/mon/instance@base64/="),
            // "/?>" in standard base64 is "Lz8+": the URL-safe alphabet has "-" for "+".
            ("/?>", "x", "/metrics/job@base64/Lz8-/instance/x"),
        ] {
            assert_eq!(
                pushgateway_group_url("http://gw:9091/", job, instance),
                format!("http://gw:9091{path}"),
                "{job:?} {instance:?}"
            );
        }
    }

    #[tokio::test]
    async fn status_records_success_and_error() {
        let status = ExportStatus::default();
        let client = reqwest::Client::new();
        // Nothing listens on port 9 of loopback (discard, closed): a connection error.
        let config = PushgatewayConfig {
            url: "http://user:pUsh-Pa55@127.0.0.1:9/?token=tOk3n".into(),
            job: default_job(),
            instance: default_job(),
            interval: default_push_interval(),
        };
        let result = push_to_gateway(&client, &config, String::new()).await;
        assert!(result.as_ref().is_err_and(MetricsError::retryable));
        status.note("pushgateway", &result);
        status.note("json_file", &Ok(()));
        let s = status.snapshot();
        assert_eq!(s["pushgateway"].failures, 1);
        assert!(
            s["pushgateway"]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("PUT http://***@127.0.0.1:9/"))
        );
        let error = s["pushgateway"].last_error.clone().unwrap_or_default();
        assert!(
            !error.contains("pUsh-Pa55") && !error.contains("tOk3n"),
            "{error}"
        );
        assert_eq!(s["json_file"].successes, 1);
        assert!(s["json_file"].last_success.is_some());
    }
}
