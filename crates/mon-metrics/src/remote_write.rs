//! Prometheus remote write 1.0 out (`metrics.exporters.remote_write`): the store's
//! series sent as a snappy-compressed protobuf `WriteRequest` to anything that takes
//! it — Prometheus with `--web.enable-remote-write-receiver`, Mimir, Thanos Receive,
//! VictoriaMetrics.
//!
//! The store is the durable queue. The exporter reads the samples stored after its
//! cursor (per series, the last sample the receiver took), at most `batch_size` at a
//! time, and moves the cursor — kept in the store, `kept_state` kind `remote_write` —
//! only once the receiver answered 2xx. A receiver outage loses nothing the store
//! still holds (raw samples are kept `storage.retention.samples`, 24 h by default),
//! a restart resumes where the receiver stopped taking, and the backlog is bounded by
//! that retention. As in Prometheus, 5xx and 429 answers and network errors are
//! retried with backoff; any other 4xx drops the batch (the receiver will never take
//! it) and is reported.

use crate::MetricsError;
use crate::export::{ExportStatus, request_error};
use mon_core::Secret;
use mon_store::{KeptState, SampleCursor, SeriesSamples, Store, WriteBatch};
use prost::Message;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// `metrics.exporters.remote_write:`.
///
/// ```yaml
/// remote_write:
///   url: http://prometheus:9090/api/v1/write
///   bearer_token: ${REMOTE_WRITE_TOKEN}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    /// The receiver's write endpoint (Prometheus: `/api/v1/write`).
    pub url: String,
    /// Extra request headers (values are secrets: a tenant id, an API key).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// HTTP basic authentication.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization: Bearer <token>`.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// The most samples in one request (Prometheus' `max_samples_per_send`: 2000).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How often new samples are looked for once the exporter has caught up.
    #[serde(default = "default_interval", with = "mon_core::duration")]
    pub interval: Duration,
    /// How long one request may take.
    #[serde(default = "default_timeout", with = "mon_core::duration")]
    pub timeout: Duration,
}

/// `basic_auth:` of the remote write exporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: Secret,
}

fn default_batch_size() -> usize {
    2000
}

fn default_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

/// The largest `batch_size`: one request stays a few MB.
pub const MAX_BATCH_SIZE: usize = 100_000;

/// Headers the protocol sets, which `headers` may not replace.
const RESERVED_HEADERS: [&str; 5] = [
    "content-encoding",
    "content-type",
    "x-prometheus-remote-write-version",
    "user-agent",
    "authorization",
];

impl RemoteWriteConfig {
    /// `(key, message)` for each problem.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        match url::Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            _ => errors.push((
                "url".to_string(),
                format!(
                    "{:?} is not an absolute http(s) URL; write e.g. http://prometheus:9090/api/v1/write",
                    mon_core::redact_url(&self.url)
                ),
            )),
        }
        for name in self.headers.keys() {
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                errors.push((
                    format!("headers.{name}"),
                    "is set by mon (use basic_auth or bearer_token for Authorization)".to_string(),
                ));
            } else if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                errors.push((
                    format!("headers.{name}"),
                    "is not a valid header name; use letters, digits and `-`".to_string(),
                ));
            }
        }
        if self.basic_auth.is_some() && self.bearer_token.is_some() {
            errors.push((
                "bearer_token".to_string(),
                "give basic_auth or bearer_token, not both".to_string(),
            ));
        }
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            errors.push((
                "batch_size".to_string(),
                format!(
                    "must be from 1 to {MAX_BATCH_SIZE}, not {}",
                    self.batch_size
                ),
            ));
        }
        errors
    }
}

/// The remote write 1.0 messages (prometheus/prompb `types.proto`, `remote.proto`):
/// the fields mon sends.
pub mod proto {
    /// `prometheus.WriteRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        /// The series, each with its samples.
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
    }

    /// `prometheus.TimeSeries`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        /// Sorted by name, `__name__` among them.
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Oldest first.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
    }

    /// `prometheus.Label`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        /// The label name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// The label value.
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// `prometheus.Sample`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// The value.
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Unix milliseconds.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }
}

/// The name a stored series has at the receiver: `mon_` + its name (unless it has
/// the prefix already), any character Prometheus does not allow in a name as `_`.
pub(crate) fn metric_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.starts_with("mon_") {
        clean
    } else {
        format!("mon_{clean}")
    }
}

/// `batch` as a `WriteRequest`: each series named by [`metric_name`], its labels
/// with `external` added where it has no label of that name (as Prometheus adds
/// `external_labels`), sorted by name. A label name Prometheus would refuse is
/// written with `_` for each character it does not allow.
pub(crate) fn write_request(
    batch: &[SeriesSamples],
    external: &BTreeMap<String, String>,
) -> proto::WriteRequest {
    let timeseries = batch
        .iter()
        .map(|series| {
            let mut labels: BTreeMap<String, String> = series
                .labels
                .iter()
                .map(|(k, v)| (crate::otlp::prometheus_name(k), v.clone()))
                .collect();
            for (name, value) in external {
                labels.entry(name.clone()).or_insert_with(|| value.clone());
            }
            labels.insert("__name__".to_string(), metric_name(&series.name));
            proto::TimeSeries {
                labels: labels
                    .into_iter()
                    .map(|(name, value)| proto::Label { name, value })
                    .collect(),
                samples: series
                    .samples
                    .iter()
                    .map(|&(timestamp, value)| proto::Sample { value, timestamp })
                    .collect(),
            }
        })
        .collect();
    proto::WriteRequest { timeseries }
}

/// The body of a remote write request: the protobuf, snappy block-compressed.
pub(crate) fn encode(request: &proto::WriteRequest) -> Result<Vec<u8>, MetricsError> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .map_err(|e| MetricsError::Export {
            exporter: EXPORTER,
            reason: format!("snappy: {e}"),
            retryable: false,
        })
}

/// The exporter's name in [`ExportStatus`] and logs.
const EXPORTER: &str = "remote_write";

/// The remote write exporter: its config, client and the labels it adds.
#[derive(Debug, Clone)]
pub struct RemoteWriter {
    config: RemoteWriteConfig,
    external_labels: BTreeMap<String, String>,
    client: reqwest::Client,
}

impl RemoteWriter {
    /// The exporter of `config`, adding `external_labels` (`server.external_labels`).
    pub fn new(
        config: RemoteWriteConfig,
        external_labels: BTreeMap<String, String>,
    ) -> Result<RemoteWriter, MetricsError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| MetricsError::Export {
                exporter: EXPORTER,
                reason: request_error(e),
                retryable: false,
            })?;
        Ok(RemoteWriter {
            config,
            external_labels,
            client,
        })
    }

    /// Where the cursor is kept: one per receiver URL, so that pointing mon at a new
    /// receiver starts afresh there.
    fn state_name(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.config.url.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Posts one request. A failure is `retryable` when the same batch may be taken
    /// later (network errors, 5xx, 429); any other 4xx means it never will.
    async fn send(&self, body: Vec<u8>) -> Result<(), MetricsError> {
        let config = &self.config;
        let mut request = self
            .client
            .post(&config.url)
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .header("User-Agent", concat!("mon/", env!("CARGO_PKG_VERSION")));
        for (name, value) in &config.headers {
            request = request.header(name.as_str(), value.expose());
        }
        if let Some(auth) = &config.basic_auth {
            request = request.basic_auth(&auth.username, Some(auth.password.expose()));
        }
        if let Some(token) = &config.bearer_token {
            request = request.bearer_auth(token.expose());
        }
        let shown = mon_core::redact_url(&config.url);
        let failed = |reason: String, retryable: bool| MetricsError::Export {
            exporter: EXPORTER,
            reason,
            retryable,
        };
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| failed(format!("POST {shown}: {}", request_error(e)), true))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let text: String = text.trim().chars().take(300).collect();
        Err(failed(
            format!("POST {shown} answered {status}: {text}"),
            status.is_server_error() || status.as_u16() == 429,
        ))
    }

    /// The cursor kept in `store`, or one starting now (a new receiver gets what is
    /// stored from now on, as Prometheus sends from its head on).
    async fn cursor(&self, store: &Store) -> SampleCursor {
        let name = self.state_name();
        let kept = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.kept_states_blocking(EXPORTER))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        kept.into_iter()
            .find(|k| k.name == name)
            .and_then(|k| serde_json::from_value(k.body).ok())
            .unwrap_or_else(|| SampleCursor::starting(chrono::Utc::now().timestamp_millis()))
    }

    async fn keep(&self, store: &Store, cursor: &SampleCursor) -> Result<(), MetricsError> {
        let body = serde_json::to_value(cursor).unwrap_or_default();
        let state = KeptState {
            kind: EXPORTER.to_string(),
            name: self.state_name(),
            body,
            at: chrono::Utc::now(),
        };
        store
            .write(WriteBatch::from_kept(vec![state]))
            .await
            .map_err(|e| MetricsError::Export {
                exporter: EXPORTER,
                reason: format!("keeping the cursor: {e}"),
                retryable: true,
            })
    }

    /// Sends what `store` holds after the kept cursor, batch after batch, until `stop`
    /// completes; see the module documentation.
    pub async fn run(
        self,
        store: Store,
        status: ExportStatus,
        stop: impl Future<Output = ()> + Send,
    ) {
        tokio::pin!(stop);
        let mut cursor = self.cursor(&store).await;
        // The start is kept at once: after a restart, samples stored meanwhile are sent.
        let _ = self.keep(&store, &cursor).await;
        let mut backoff = BACKOFF_START;
        loop {
            let (batch, read_cursor) = {
                let (store, mut read_cursor, limit) =
                    (store.clone(), cursor.clone(), self.config.batch_size);
                let read = tokio::task::spawn_blocking(move || {
                    let batch = store.samples_after_blocking(&mut read_cursor, limit);
                    (batch, read_cursor)
                })
                .await;
                match read {
                    Ok((Ok(batch), read_cursor)) => (batch, read_cursor),
                    Ok((Err(e), _)) => {
                        tracing::warn!(exporter = EXPORTER, error = %e, "reading the store failed");
                        (Vec::new(), cursor.clone())
                    }
                    Err(_) => (Vec::new(), cursor.clone()),
                }
            };
            cursor.series = read_cursor.series;
            let samples: usize = batch.iter().map(|s| s.samples.len()).sum();
            let pause = if samples == 0 {
                self.config.interval
            } else {
                let sent = match encode(&write_request(&batch, &self.external_labels)) {
                    Ok(body) => self.send(body).await,
                    Err(e) => Err(e),
                };
                match sent {
                    Err(e) if e.retryable() => {
                        status.note(EXPORTER, &Err(e));
                        let pause = backoff;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        pause
                    }
                    // Taken, or refused for good: either way the cursor moves past it.
                    result => {
                        if result.is_err() {
                            tracing::warn!(
                                exporter = EXPORTER,
                                samples,
                                "the receiver refused a batch; it is dropped"
                            );
                        }
                        cursor.advance(&batch);
                        let kept = self.keep(&store, &cursor).await;
                        status.note(EXPORTER, &result.and(kept));
                        backoff = BACKOFF_START;
                        // A full batch: more is waiting.
                        if samples >= self.config.batch_size {
                            Duration::ZERO
                        } else {
                            self.config.interval
                        }
                    }
                }
            };
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// The first pause after a failed send; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_START: Duration = Duration::from_millis(500);
/// The longest pause between two tries of a batch.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_are_made_prometheus_valid_and_external_labels_added() {
        let batch = vec![SeriesSamples {
            id: 1,
            name: "calls.active".to_string(),
            labels: [("source", "demo"), ("region", "own"), ("9lives", "x")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            samples: vec![(1_000, 2.0), (2_000, 3.5)],
        }];
        let external: BTreeMap<String, String> = [("replica", "a"), ("region", "eu")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let request = write_request(&batch, &external);
        let series = &request.timeseries[0];
        let labels: Vec<(&str, &str)> = series
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("_9lives", "x"),
                ("__name__", "mon_calls_active"),
                ("region", "own"),
                ("replica", "a"),
                ("source", "demo"),
            ]
        );
        assert_eq!(series.samples.len(), 2);
        assert_eq!(series.samples[1].timestamp, 2_000);
        assert_eq!(
            metric_name("mon_check_latency_seconds"),
            "mon_check_latency_seconds"
        );
    }

    #[test]
    fn the_body_is_the_protobuf_snappy_block_compressed() {
        let request = write_request(
            &[SeriesSamples {
                id: 1,
                name: "cpu_percent".to_string(),
                labels: BTreeMap::new(),
                samples: vec![(1_700_000_000_000, 12.5)],
            }],
            &BTreeMap::new(),
        );
        let body = encode(&request).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        assert_eq!(
            proto::WriteRequest::decode(raw.as_slice()).unwrap(),
            request
        );
    }

    #[test]
    fn bad_settings_name_their_field() {
        let config: RemoteWriteConfig = serde_json::from_value(serde_json::json!({
            "url": "ftp://x/write",
            "headers": {"Content-Type": "text/plain", "X-Scope-OrgID": "team"},
            "basic_auth": {"username": "u", "password": "p"},
            "bearer_token": "t",
            "batch_size": 0
        }))
        .unwrap();
        let keys: Vec<String> = config.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["url", "headers.Content-Type", "bearer_token", "batch_size"]
        );
    }
}
