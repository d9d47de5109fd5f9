//! [`Event`]: what applications push to mon (by library call or `POST /api/v1/events`).
//!
//! Each kind is a struct of its own with a `validate()` (ranges, names, lengths) that
//! says which field is wrong; [`Event`] is the `type`-tagged enum of them. Code that
//! handles events matches [`Event`] exhaustively, so a new kind is a compile error
//! wherever it is not handled yet.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What is wrong with one event: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field:?}: {reason}")]
pub struct InvalidEvent {
    /// The field, as written in JSON (`labels.<key>` for a custom label value; `type`
    /// when the event is not an object of a known kind).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidEvent {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        InvalidEvent {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

mod experience;

pub use experience::{
    Arm, FeatureEvent, FeedbackEvent, MAX_COMMENT_BYTES, SessionEvent, SessionOutcome,
    SessionPhase, Thumbs,
};

type Checked = Result<(), InvalidEvent>;

fn non_empty(field: &str, v: &str) -> Checked {
    if v.trim().is_empty() {
        Err(InvalidEvent::new(field, "must not be empty"))
    } else {
        Ok(())
    }
}

fn range(field: &str, v: f64, lo: f64, hi: f64) -> Checked {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(InvalidEvent::new(
            field,
            format!("{v} is out of range [{lo}, {hi}]"),
        ))
    }
}

fn at_least_zero(field: &str, v: f64) -> Checked {
    range(field, v, 0.0, f64::MAX)
}

/// A field that becomes a Prometheus label value is at most `max` bytes long.
fn label(field: &str, v: &str, max: usize) -> Checked {
    if v.len() > max {
        Err(InvalidEvent::new(
            field,
            format!(
                "{} bytes, over the label value limit of {max} (metrics.max_label_value_bytes)",
                v.len()
            ),
        ))
    } else {
        Ok(())
    }
}

/// A non-empty name that becomes a label value.
fn label_name(field: &str, v: &str, max: usize) -> Checked {
    non_empty(field, v)?;
    label(field, v, max)
}

/// As [`label_name`], for a field that may be absent.
fn optional_name(field: &str, v: Option<&str>, max: usize) -> Checked {
    v.map_or(Ok(()), |v| label_name(field, v, max))
}

/// A custom metric's name and labels, as Prometheus will show them.
fn metric(name: &str, labels: &BTreeMap<String, String>, max: usize) -> Checked {
    crate::check_metric_name(name)
        .map_err(|reason| InvalidEvent::new("name", format!("metric {name:?}: {reason}")))?;
    for (key, value) in labels {
        crate::check_label_name(key)
            .map_err(|reason| InvalidEvent::new("labels", format!("metric {name:?}: {reason}")))?;
        label(&format!("labels.{key}"), value, max)?;
    }
    Ok(())
}

fn one() -> f64 {
    1.0
}

/// An HTTP/API request the application served or made (`"type": "request"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestEvent {
    /// Route or endpoint name, e.g. `/api/rooms`.
    pub endpoint: String,
    /// HTTP method.
    pub method: String,
    /// Response status code, 100–599.
    pub status: u16,
    /// Time to answer, in milliseconds.
    pub latency_ms: f64,
    /// Request body size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_bytes: Option<u64>,
    /// Response body size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_bytes: Option<u64>,
    /// Who made the request, as the application authenticated them (a user or API-key
    /// id, never a secret); for API usage by principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl RequestEvent {
    /// Non-empty endpoint and method, each at most `max_label_bytes` long; a status of
    /// 100–599; a latency ≥ 0; a principal, when given, non-empty and at most
    /// `max_label_bytes` long.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        label_name("endpoint", &self.endpoint, max_label_bytes)?;
        label_name("method", &self.method, max_label_bytes)?;
        range("status", f64::from(self.status), 100.0, 599.0)?;
        at_least_zero("latency_ms", self.latency_ms)?;
        optional_name("principal", self.principal.as_deref(), max_label_bytes)
    }
}

/// An authentication attempt: a login, a token or an API key checked by the
/// application (`"type": "auth"`). Never carries the secret itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthEvent {
    /// Whether the attempt succeeded.
    pub success: bool,
    /// How the caller tried to authenticate: `password`, `token`, `api_key`, `oauth`,
    /// `sip_digest` or a name of the application's own.
    pub method: String,
    /// Who the caller claimed to be (a user or key id), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Why it failed (`bad_password`, `unknown_user`, `expired`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The route that was called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl AuthEvent {
    /// A non-empty method; principal, reason and endpoint, when given, non-empty; each
    /// at most `max_label_bytes` long.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        label_name("method", &self.method, max_label_bytes)?;
        optional_name("principal", self.principal.as_deref(), max_label_bytes)?;
        optional_name("reason", self.reason.as_deref(), max_label_bytes)?;
        optional_name("endpoint", self.endpoint.as_deref(), max_label_bytes)
    }
}

/// A security-relevant happening the application observed or enforced
/// (`"type": "security"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityEvent {
    /// What happened: `rate_limited`, `ip_denied`, `permission_denied`, or a name of the
    /// application's own (`toll_fraud_suspected`, ...).
    pub event: String,
    /// How bad it is (default `warning`).
    #[serde(default = "warning")]
    pub severity: crate::Severity,
    /// Who was involved, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The route that was called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Free text for the investigator (masked like every free text before it is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl SecurityEvent {
    /// A valid event name (letters, digits and `_`, as a metric label); principal and
    /// endpoint, when given, non-empty; each at most `max_label_bytes` long.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        label_name("event", &self.event, max_label_bytes)?;
        if !self
            .event
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(InvalidEvent::new(
                "event",
                format!("{:?}: only letters, digits and _", self.event),
            ));
        }
        optional_name("principal", self.principal.as_deref(), max_label_bytes)?;
        optional_name("endpoint", self.endpoint.as_deref(), max_label_bytes)
    }
}

fn warning() -> crate::Severity {
    crate::Severity::Warning
}

/// A voice call began (`"type": "call_started"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallStartedEvent {
    /// The call's id.
    pub call_id: String,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl CallStartedEvent {
    /// A non-empty call id.
    ///
    /// # Errors
    /// The field at fault.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        non_empty("call_id", &self.call_id)
    }
}

/// A voice call ended (`"type": "call_ended"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallEndedEvent {
    /// The call's id.
    pub call_id: String,
    /// How long it lasted, in seconds.
    pub duration_seconds: f64,
    /// Whether it completed normally.
    pub success: bool,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl CallEndedEvent {
    /// A non-empty call id and a duration ≥ 0.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        non_empty("call_id", &self.call_id)?;
        at_least_zero("duration_seconds", self.duration_seconds)
    }
}

/// An application error (`"type": "error"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorEvent {
    /// Error class, e.g. `TimeoutError` or an error code such as `LK1301`.
    pub kind: String,
    /// What went wrong.
    pub message: String,
    /// Extra context (call id, endpoint...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, Value>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl ErrorEvent {
    /// A non-empty kind at most `max_label_bytes` long.
    ///
    /// # Errors
    /// The field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        label_name("kind", &self.kind, max_label_bytes)
    }
}

/// Voice quality of a conversation (`"type": "voice_quality"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceQualityEvent {
    /// The conversation (call) id.
    pub conversation_id: String,
    /// Mouth-to-ear latency, milliseconds.
    pub latency_ms: f64,
    /// Packet loss ratio, 0–1.
    pub packet_loss: f64,
    /// Jitter, milliseconds.
    pub jitter_ms: f64,
    /// Mean opinion score, 1–5.
    pub mos: f64,
    /// The speech level heard, 0–1 (a share of full scale), when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_level: Option<f64>,
    /// The background noise level, 0–1 (a share of full scale), when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_level: Option<f64>,
    /// When it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl VoiceQualityEvent {
    /// A non-empty conversation id, latency and jitter ≥ 0, packet loss 0–1, MOS 1–5,
    /// audio and noise levels 0–1.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        non_empty("conversation_id", &self.conversation_id)?;
        at_least_zero("latency_ms", self.latency_ms)?;
        range("packet_loss", self.packet_loss, 0.0, 1.0)?;
        at_least_zero("jitter_ms", self.jitter_ms)?;
        range("mos", self.mos, 1.0, 5.0)?;
        for (field, level) in [
            ("audio_level", self.audio_level),
            ("noise_level", self.noise_level),
        ] {
            level.map_or(Ok(()), |v| range(field, v, 0.0, 1.0))?;
        }
        Ok(())
    }
}

/// Usage of an AI provider: speech-to-text, language model or text-to-speech
/// (`"type": "ai_usage"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiUsageEvent {
    /// Provider name, e.g. `deepgram`.
    pub provider: String,
    /// `stt`, `llm` or `tts`.
    pub service: String,
    /// Model name.
    pub model: String,
    /// Units consumed (tokens, characters, seconds of audio).
    pub units: f64,
    /// Cost in US dollars.
    pub cost_usd: f64,
    /// Time to answer, in milliseconds.
    pub latency_ms: f64,
    /// The call (or session) it served: experiments add the costs of one call up into
    /// the AI cost per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl AiUsageEvent {
    /// Non-empty provider and model, each at most `max_label_bytes` long; a service of
    /// `stt`, `llm` or `tts`; units, cost and latency ≥ 0.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        label_name("provider", &self.provider, max_label_bytes)?;
        label_name("model", &self.model, max_label_bytes)?;
        if !matches!(self.service.as_str(), "stt" | "llm" | "tts") {
            return Err(InvalidEvent::new(
                "service",
                format!("{:?} must be stt, llm or tts", self.service),
            ));
        }
        at_least_zero("units", self.units)?;
        at_least_zero("cost_usd", self.cost_usd)?;
        at_least_zero("latency_ms", self.latency_ms)
    }
}

/// A custom gauge: the current value of something (`"type": "gauge"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaugeEvent {
    /// Metric name.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// When it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl GaugeEvent {
    /// A metric name and label names Prometheus can show ([`crate::check_metric_name`],
    /// [`crate::check_label_name`]), label values at most `max_label_bytes` long.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        metric(&self.name, &self.labels, max_label_bytes)
    }
}

/// A custom counter increment (`"type": "counter"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterEvent {
    /// Metric name (a trailing `_total` is the same counter).
    pub name: String,
    /// The increment (default 1).
    #[serde(default = "one")]
    pub value: f64,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl CounterEvent {
    /// As [`GaugeEvent::validate`] for the name without `_total`, and an increment ≥ 0.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        let name = self.name.strip_suffix("_total").unwrap_or(&self.name);
        metric(name, &self.labels, max_label_bytes)?;
        at_least_zero("value", self.value)
    }
}

/// A heartbeat ping for a `heartbeat` check (`"type": "heartbeat"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatEvent {
    /// The heartbeat check's name.
    pub name: String,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl HeartbeatEvent {
    /// A non-empty check name (whether such a check is configured is the receiver's
    /// business).
    ///
    /// # Errors
    /// The field at fault.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        non_empty("name", &self.name)
    }
}

/// A log record from an application, stored for search (`"type": "log"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEvent {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// The message.
    pub message: String,
    /// The call it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// Structured fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl LogEvent {
    /// A non-empty level.
    ///
    /// # Errors
    /// The field at fault.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        non_empty("level", &self.level)
    }
}

/// A LiveKit webhook event (`room_started`, `participant_joined`, ...), already verified
/// by the application that forwards it (`"type": "livekit"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivekitEvent {
    /// The LiveKit event name.
    pub event: String,
    /// The webhook body.
    #[serde(default)]
    pub payload: Value,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl LivekitEvent {
    /// Nothing to check beyond its shape: unknown LiveKit events are counted, not refused.
    ///
    /// # Errors
    /// None today; the signature matches the other kinds'.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        Ok(())
    }
}

/// A deployment of a service (`"type": "deployment"`): a new version went live. Kept with
/// the application events and listed by `GET /api/v1/deployments`, the marker drawn on
/// charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentEvent {
    /// The service that was deployed, e.g. `voice-agent`.
    pub service: String,
    /// The version now running, e.g. `1.4.2`.
    pub version: String,
    /// The source revision (a commit hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Where it was deployed: `production`, `staging`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// When it went live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The experiment it belongs to (with `variant`): see [`Arm`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The experiment's variant it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl DeploymentEvent {
    /// Non-empty service and version; commit and environment, when given, non-empty;
    /// each at most `max_label_bytes` long.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        label_name("service", &self.service, max_label_bytes)?;
        label_name("version", &self.version, max_label_bytes)?;
        optional_name("commit", self.commit.as_deref(), max_label_bytes)?;
        optional_name("environment", self.environment.as_deref(), max_label_bytes)
    }
}

/// One application event, tagged by `type` in JSON:
///
/// ```json
/// {"type": "request", "endpoint": "/api/rooms", "method": "POST", "status": 201, "latency_ms": 84.0}
/// ```
///
/// Every kind takes an optional `timestamp` (RFC 3339); absent means "now".
/// Unknown fields are rejected so that a typo is an error, not silently lost data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An HTTP/API request the application served or made.
    Request(RequestEvent),
    /// A voice call began.
    CallStarted(CallStartedEvent),
    /// A voice call ended.
    CallEnded(CallEndedEvent),
    /// An application error.
    Error(ErrorEvent),
    /// Voice quality of a conversation.
    VoiceQuality(VoiceQualityEvent),
    /// Usage of an AI provider.
    AiUsage(AiUsageEvent),
    /// A custom gauge.
    Gauge(GaugeEvent),
    /// A custom counter increment.
    Counter(CounterEvent),
    /// A heartbeat ping.
    Heartbeat(HeartbeatEvent),
    /// A log record.
    Log(LogEvent),
    /// A LiveKit webhook event.
    Livekit(LivekitEvent),
    /// An authentication attempt.
    Auth(AuthEvent),
    /// A security happening (rate limited, denied IP, refused permission, ...).
    Security(SecurityEvent),
    /// A deployment of a service.
    Deployment(DeploymentEvent),
    /// A user session began or ended.
    Session(SessionEvent),
    /// A user's rating, thumbs or comment.
    Feedback(FeedbackEvent),
    /// A feature of the agent was used.
    Feature(FeatureEvent),
}

impl Event {
    /// The `type` tag, as written in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Request(_) => "request",
            Event::CallStarted(_) => "call_started",
            Event::CallEnded(_) => "call_ended",
            Event::Error(_) => "error",
            Event::VoiceQuality(_) => "voice_quality",
            Event::AiUsage(_) => "ai_usage",
            Event::Gauge(_) => "gauge",
            Event::Counter(_) => "counter",
            Event::Heartbeat(_) => "heartbeat",
            Event::Log(_) => "log",
            Event::Livekit(_) => "livekit",
            Event::Auth(_) => "auth",
            Event::Security(_) => "security",
            Event::Deployment(_) => "deployment",
            Event::Session(_) => "session",
            Event::Feedback(_) => "feedback",
            Event::Feature(_) => "feature",
        }
    }

    /// The event's own timestamp, if it carried one.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        match self {
            Event::Request(e) => e.timestamp,
            Event::CallStarted(e) => e.timestamp,
            Event::CallEnded(e) => e.timestamp,
            Event::Error(e) => e.timestamp,
            Event::VoiceQuality(e) => e.timestamp,
            Event::AiUsage(e) => e.timestamp,
            Event::Gauge(e) => e.timestamp,
            Event::Counter(e) => e.timestamp,
            Event::Heartbeat(e) => e.timestamp,
            Event::Log(e) => e.timestamp,
            Event::Livekit(e) => e.timestamp,
            Event::Auth(e) => e.timestamp,
            Event::Security(e) => e.timestamp,
            Event::Deployment(e) => e.timestamp,
            Event::Session(e) => e.timestamp,
            Event::Feedback(e) => e.timestamp,
            Event::Feature(e) => e.timestamp,
        }
    }

    /// The experiment arm the event belongs to, as written (unchecked: see
    /// [`Event::arm`]).
    fn arm_fields(&self) -> (Option<&str>, Option<&str>) {
        let (experiment, variant) = match self {
            Event::Request(e) => (&e.experiment, &e.variant),
            Event::CallStarted(e) => (&e.experiment, &e.variant),
            Event::CallEnded(e) => (&e.experiment, &e.variant),
            Event::Error(e) => (&e.experiment, &e.variant),
            Event::VoiceQuality(e) => (&e.experiment, &e.variant),
            Event::AiUsage(e) => (&e.experiment, &e.variant),
            Event::Gauge(e) => (&e.experiment, &e.variant),
            Event::Counter(e) => (&e.experiment, &e.variant),
            Event::Heartbeat(e) => (&e.experiment, &e.variant),
            Event::Log(e) => (&e.experiment, &e.variant),
            Event::Livekit(e) => (&e.experiment, &e.variant),
            Event::Auth(e) => (&e.experiment, &e.variant),
            Event::Security(e) => (&e.experiment, &e.variant),
            Event::Deployment(e) => (&e.experiment, &e.variant),
            Event::Session(e) => (&e.experiment, &e.variant),
            Event::Feedback(e) => (&e.experiment, &e.variant),
            Event::Feature(e) => (&e.experiment, &e.variant),
        };
        (experiment.as_deref(), variant.as_deref())
    }

    /// The experiment and variant the event belongs to, when it names both (a valid
    /// event names both or neither).
    pub fn arm(&self) -> Option<Arm<'_>> {
        let (experiment, variant) = self.arm_fields();
        Some(Arm {
            experiment: experiment?,
            variant: variant?,
        })
    }

    /// Checks what serde cannot express: the timestamp within the years 0000–9999, then
    /// the kind's own rules (its `validate`). `max_label_bytes` bounds every field that
    /// becomes a Prometheus label value (`metrics.max_label_value_bytes`).
    ///
    /// # Errors
    /// The first field at fault.
    pub fn validate(&self, max_label_bytes: usize) -> Result<(), InvalidEvent> {
        if let Some(t) = self.timestamp() {
            crate::duration::check_time(t).map_err(|e| InvalidEvent::new("timestamp", e))?;
        }
        let (experiment, variant) = self.arm_fields();
        Arm::of(experiment, variant, max_label_bytes)?;
        match self {
            Event::Request(e) => e.validate(max_label_bytes),
            Event::CallStarted(e) => e.validate(),
            Event::CallEnded(e) => e.validate(),
            Event::Error(e) => e.validate(max_label_bytes),
            Event::VoiceQuality(e) => e.validate(),
            Event::AiUsage(e) => e.validate(max_label_bytes),
            Event::Gauge(e) => e.validate(max_label_bytes),
            Event::Counter(e) => e.validate(max_label_bytes),
            Event::Heartbeat(e) => e.validate(),
            Event::Log(e) => e.validate(),
            Event::Livekit(e) => e.validate(),
            Event::Auth(e) => e.validate(max_label_bytes),
            Event::Security(e) => e.validate(max_label_bytes),
            Event::Deployment(e) => e.validate(max_label_bytes),
            Event::Session(e) => e.validate(),
            Event::Feedback(e) => e.validate(max_label_bytes),
            Event::Feature(e) => e.validate(max_label_bytes),
        }
    }

    /// The free-form text and the identities an application wrote into the event (an
    /// error's message and context, a log's message and fields, a security event's
    /// detail, principals, call and conversation ids, endpoints, custom labels, a LiveKit
    /// payload, client addresses), for masking secrets and personal data before the
    /// event is kept anywhere; empty for kinds made of names and numbers only.
    pub fn free_text_mut(&mut self) -> FreeText<'_> {
        fn some<'a>(
            texts: impl IntoIterator<Item = Option<&'a mut String>>,
        ) -> Vec<&'a mut String> {
            texts.into_iter().flatten().collect()
        }
        match self {
            Event::Error(e) => FreeText {
                texts: vec![&mut e.message],
                fields: Some(&mut e.context),
                ..FreeText::default()
            },
            Event::Log(e) => FreeText {
                texts: some([Some(&mut e.message), e.call_id.as_mut()]),
                fields: Some(&mut e.fields),
                ..FreeText::default()
            },
            Event::Request(e) => FreeText {
                texts: some([e.principal.as_mut(), Some(&mut e.endpoint)]),
                ips: vec![&mut e.ip],
                ..FreeText::default()
            },
            Event::Auth(e) => FreeText {
                texts: some([e.principal.as_mut(), e.endpoint.as_mut()]),
                ips: vec![&mut e.ip],
                ..FreeText::default()
            },
            Event::Security(e) => FreeText {
                texts: some([e.principal.as_mut(), e.detail.as_mut(), e.endpoint.as_mut()]),
                ips: vec![&mut e.ip],
                ..FreeText::default()
            },
            Event::CallStarted(e) => FreeText {
                texts: vec![&mut e.call_id],
                ..FreeText::default()
            },
            Event::CallEnded(e) => FreeText {
                texts: vec![&mut e.call_id],
                ..FreeText::default()
            },
            Event::VoiceQuality(e) => FreeText {
                texts: vec![&mut e.conversation_id],
                ..FreeText::default()
            },
            Event::Gauge(e) => FreeText {
                labels: Some(&mut e.labels),
                ..FreeText::default()
            },
            Event::Counter(e) => FreeText {
                labels: Some(&mut e.labels),
                ..FreeText::default()
            },
            Event::Livekit(e) => FreeText {
                payload: Some(&mut e.payload),
                ..FreeText::default()
            },
            Event::AiUsage(e) => FreeText {
                texts: some([e.call_id.as_mut()]),
                ..FreeText::default()
            },
            Event::Session(e) => FreeText {
                texts: some([Some(&mut e.session_id), e.user_id.as_mut()]),
                ..FreeText::default()
            },
            Event::Feedback(e) => FreeText {
                texts: some([
                    e.comment.as_mut(),
                    e.user_id.as_mut(),
                    e.session_id.as_mut(),
                ]),
                ..FreeText::default()
            },
            Event::Feature(e) => FreeText {
                texts: some([e.user_id.as_mut(), e.session_id.as_mut()]),
                ..FreeText::default()
            },
            Event::Heartbeat(_) | Event::Deployment(_) => FreeText::default(),
        }
    }

    /// Decodes one JSON value into an event (not yet validated), or says which field
    /// is wrong: the field serde names (`missing field`, `unknown field`), `type` for an
    /// unknown kind or a value that is not an object, else the field whose removal
    /// changes serde's message (an invalid type or value).
    ///
    /// # Errors
    /// The field at fault and serde's message.
    pub fn from_json(value: Value) -> Result<Event, InvalidEvent> {
        let Some(object) = value.as_object() else {
            return Err(InvalidEvent::new(
                "type",
                "an event must be a JSON object with a \"type\"",
            ));
        };
        let message = match serde_json::from_value::<Event>(value.clone()) {
            Ok(event) => return Ok(event),
            Err(e) => e.to_string(),
        };
        let field = quoted_field(&message).unwrap_or_else(|| {
            object
                .keys()
                .filter(|k| *k != "type")
                .find(|k| {
                    let mut without = object.clone();
                    without.remove(*k);
                    serde_json::from_value::<Event>(Value::Object(without))
                        .map_or_else(|e2| e2.to_string() != message, |_| true)
                })
                .cloned()
                .unwrap_or_else(|| "type".to_owned())
        });
        Err(InvalidEvent::new(field, message))
    }
}

/// The parts of an event to mask before it is kept: see [`Event::free_text_mut`].
#[derive(Debug, Default)]
pub struct FreeText<'a> {
    /// Texts (messages, details, principals).
    pub texts: Vec<&'a mut String>,
    /// Structured fields, masked by key and value.
    pub fields: Option<&'a mut BTreeMap<String, Value>>,
    /// Custom metric labels (names are kept, values may be personal).
    pub labels: Option<&'a mut BTreeMap<String, String>>,
    /// A structured body (a LiveKit webhook's).
    pub payload: Option<&'a mut Value>,
    /// Client addresses.
    pub ips: Vec<&'a mut Option<IpAddr>>,
}

/// The field a serde message names: `missing field `x``, `unknown field `x``, or `type`
/// for an unknown variant.
fn quoted_field(message: &str) -> Option<String> {
    if message.starts_with("unknown variant") || message.contains("missing field `type`") {
        return Some("type".to_owned());
    }
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_variant_round_trips_with_its_tag() {
        let samples = [
            json!({"type":"request","endpoint":"/api/rooms","method":"POST","status":201,"latency_ms":84.5}),
            json!({"type":"call_started","call_id":"c1","timestamp":"2026-01-01T00:00:00Z"}),
            json!({"type":"call_ended","call_id":"c1","duration_seconds":61.5,"success":true}),
            json!({"type":"error","kind":"LK1301","message":"room creation failed","context":{"room":"r1"}}),
            json!({"type":"voice_quality","conversation_id":"c1","latency_ms":180.0,"packet_loss":0.01,"jitter_ms":12.0,"mos":4.2}),
            json!({"type":"ai_usage","provider":"openai","service":"llm","model":"gpt","units":812.0,"cost_usd":0.004,"latency_ms":640.0}),
            json!({"type":"gauge","name":"queue_depth","value":3.0,"labels":{"queue":"stt"}}),
            json!({"type":"counter","name":"retries","value":2.0}),
            json!({"type":"heartbeat","name":"nightly-backup"}),
            json!({"type":"log","level":"warn","message":"slow tts","call_id":"c1"}),
            json!({"type":"livekit","event":"room_started","payload":{"room":{"name":"r1"}}}),
            json!({"type":"auth","success":false,"method":"token","principal":"svc-1","ip":"203.0.113.7","reason":"bad_token","endpoint":"/api/rooms"}),
            json!({"type":"security","event":"rate_limited","severity":"warning","ip":"2001:db8::1","endpoint":"/api/rooms"}),
            json!({"type":"request","endpoint":"/api/rooms","method":"GET","status":200,"latency_ms":3.0,"principal":"svc-1","ip":"198.51.100.2"}),
            json!({"type":"deployment","service":"voice-agent","version":"1.4.2","commit":"9c01f36","environment":"production","timestamp":"2026-01-01T00:00:00Z"}),
            json!({"type":"deployment","service":"voice-agent","version":"1.4.3"}),
            json!({"type":"session","session_id":"s1","phase":"start","user_id":"u1","experiment":"prompt-v2","variant":"b"}),
            json!({"type":"session","session_id":"s1","phase":"end","turns":7,"outcome":"abandoned","duration_seconds":42.5}),
            json!({"type":"feedback","rating":5,"category":"voice_quality","comment":"Great voice quality!","user_id":"u1","session_id":"s1"}),
            json!({"type":"feedback","thumbs":"down"}),
            json!({"type":"feature","feature":"voice_command","user_id":"u1","session_id":"s1","duration_seconds":5.0}),
            json!({"type":"voice_quality","conversation_id":"c1","latency_ms":50.0,"packet_loss":0.1,"jitter_ms":5.0,"mos":4.5,"audio_level":0.8,"noise_level":0.1}),
            json!({"type":"ai_usage","provider":"openai","service":"llm","model":"gpt","units":1.0,"cost_usd":0.01,"latency_ms":3.0,"call_id":"c1","experiment":"x","variant":"a"}),
        ];
        for sample in samples {
            let event: Event = serde_json::from_value(sample.clone()).unwrap();
            assert_eq!(event.type_name(), sample["type"]);
            assert_eq!(serde_json::to_value(&event).unwrap(), sample);
        }
    }

    #[test]
    fn every_kind_carries_an_experiment_arm() {
        let event = Event::from_json(
            json!({"type":"call_ended","call_id":"c","duration_seconds":3.0,"success":true,"experiment":"tts-voice","variant":"b"}),
        )
        .expect("decodes");
        assert_eq!(event.validate(64), Ok(()));
        let arm = event.arm().expect("an arm");
        assert_eq!((arm.experiment, arm.variant), ("tts-voice", "b"));
        let plain = Event::from_json(json!({"type":"heartbeat","name":"h"})).expect("decodes");
        assert_eq!(plain.arm(), None);
    }

    #[test]
    fn satisfaction_is_a_rating_of_four_or_more_else_a_thumbs_up() {
        for (input, want) in [
            (json!({"type":"feedback","rating":4}), true),
            (json!({"type":"feedback","rating":3,"thumbs":"up"}), false),
            (json!({"type":"feedback","thumbs":"up"}), true),
            (json!({"type":"feedback","thumbs":"down"}), false),
        ] {
            let Ok(Event::Feedback(f)) = Event::from_json(input.clone()) else {
                panic!("{input} is feedback");
            };
            assert_eq!(f.satisfied(), want, "{input}");
        }
    }

    #[test]
    fn counter_defaults_to_one() {
        let event: Event = serde_json::from_value(json!({"type":"counter","name":"x"})).unwrap();
        assert!(matches!(event, Event::Counter(CounterEvent { value, .. }) if value == 1.0));
    }

    #[test]
    fn bad_events_say_what_is_wrong() {
        for (input, want) in [
            (json!({"type":"nope"}), "unknown variant `nope`"),
            (
                json!({"type":"request","endpoint":"/","method":"GET","status":"200","latency_ms":1.0}),
                "invalid type",
            ),
            (
                json!({"type":"heartbeat","name":"x","extra":1}),
                "unknown field `extra`",
            ),
            (json!({"type":"call_started"}), "missing field `call_id`"),
            (json!({"name":"x"}), "missing field `type`"),
        ] {
            let err = serde_json::from_value::<Event>(input.clone())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{input}: {err}");
        }
    }
    /// Each kind's own rules name the field at fault: (event, field, part of the reason).
    #[test]
    fn validate_names_the_field_at_fault() {
        let long = "x".repeat(9);
        for (input, field, want) in [
            (
                json!({"type":"request","endpoint":" ","method":"GET","status":200,"latency_ms":1.0}),
                "endpoint",
                "must not be empty",
            ),
            (
                json!({"type":"request","endpoint":long,"method":"GET","status":200,"latency_ms":1.0}),
                "endpoint",
                "9 bytes, over the label value limit of 8",
            ),
            (
                json!({"type":"request","endpoint":"/","method":"GET","status":99,"latency_ms":1.0}),
                "status",
                "99 is out of range [100, 599]",
            ),
            (
                json!({"type":"request","endpoint":"/","method":"GET","status":200,"latency_ms":-1.0}),
                "latency_ms",
                "out of range",
            ),
            (
                json!({"type":"call_started","call_id":""}),
                "call_id",
                "must not be empty",
            ),
            (
                json!({"type":"call_ended","call_id":"c","duration_seconds":-2.0,"success":true}),
                "duration_seconds",
                "out of range",
            ),
            (
                json!({"type":"error","kind":"","message":"m"}),
                "kind",
                "must not be empty",
            ),
            (
                json!({"type":"voice_quality","conversation_id":"c","latency_ms":1.0,"packet_loss":1.5,"jitter_ms":1.0,"mos":4.0}),
                "packet_loss",
                "[0, 1]",
            ),
            (
                json!({"type":"voice_quality","conversation_id":"c","latency_ms":1.0,"packet_loss":0.1,"jitter_ms":1.0,"mos":0.5}),
                "mos",
                "[1, 5]",
            ),
            (
                json!({"type":"ai_usage","provider":"p","service":"asr","model":"m","units":1.0,"cost_usd":0.0,"latency_ms":1.0}),
                "service",
                "must be stt, llm or tts",
            ),
            (
                json!({"type":"ai_usage","provider":"p","service":"llm","model":"m","units":1.0,"cost_usd":-1.0,"latency_ms":1.0}),
                "cost_usd",
                "out of range",
            ),
            (
                json!({"type":"gauge","name":"mon_x","value":1.0}),
                "name",
                "reserved for mon's own metrics",
            ),
            (
                json!({"type":"gauge","name":"g","value":1.0,"labels":{"le":"1"}}),
                "labels",
                "label name \"le\"",
            ),
            (
                json!({"type":"gauge","name":"g","value":1.0,"labels":{"k":long}}),
                "labels.k",
                "over the label value limit",
            ),
            (
                json!({"type":"counter","name":"up_total"}),
                "name",
                "write themselves",
            ),
            (
                json!({"type":"counter","name":"c","value":-1.0}),
                "value",
                "out of range",
            ),
            (
                json!({"type":"heartbeat","name":" "}),
                "name",
                "must not be empty",
            ),
            (
                json!({"type":"deployment","service":"","version":"1"}),
                "service",
                "must not be empty",
            ),
            (
                json!({"type":"deployment","service":"a","version":" "}),
                "version",
                "must not be empty",
            ),
            (
                json!({"type":"deployment","service":"a","version":"1","environment":long}),
                "environment",
                "over the label value limit",
            ),
            (
                json!({"type":"deployment","service":"a","version":"1","commit":""}),
                "commit",
                "must not be empty",
            ),
            (
                json!({"type":"log","level":"","message":"m"}),
                "level",
                "must not be empty",
            ),
            (
                json!({"type":"session","session_id":" ","phase":"start"}),
                "session_id",
                "must not be empty",
            ),
            (
                json!({"type":"session","session_id":"s","phase":"end"}),
                "outcome",
                "completed, abandoned, transferred or failed",
            ),
            (
                json!({"type":"session","session_id":"s","phase":"start","outcome":"completed"}),
                "outcome",
                "belongs to the session's end",
            ),
            (
                json!({"type":"session","session_id":"s","phase":"end","outcome":"failed","duration_seconds":-1.0}),
                "duration_seconds",
                "out of range",
            ),
            (
                json!({"type":"feedback"}),
                "rating",
                "a rating (1-5), a thumbs",
            ),
            (
                json!({"type":"feedback","rating":6}),
                "rating",
                "6 is out of range [1, 5]",
            ),
            (
                json!({"type":"feedback","rating":0}),
                "rating",
                "out of range",
            ),
            (
                json!({"type":"feedback","rating":3,"category":long}),
                "category",
                "over the label value limit",
            ),
            (
                json!({"type":"feedback","rating":3,"comment":"x".repeat(MAX_COMMENT_BYTES + 1)}),
                "comment",
                "over the comment limit of 4096",
            ),
            (
                json!({"type":"feature","feature":""}),
                "feature",
                "must not be empty",
            ),
            (
                json!({"type":"feature","feature":"f","duration_seconds":-3.0}),
                "duration_seconds",
                "out of range",
            ),
            (
                json!({"type":"voice_quality","conversation_id":"c","latency_ms":1.0,"packet_loss":0.1,"jitter_ms":1.0,"mos":4.0,"noise_level":1.5}),
                "noise_level",
                "[0, 1]",
            ),
            (
                json!({"type":"call_started","call_id":"c","experiment":"x"}),
                "variant",
                "names its variant too",
            ),
            (
                json!({"type":"call_started","call_id":"c","variant":"b"}),
                "experiment",
                "a variant belongs to an experiment",
            ),
            (
                json!({"type":"call_started","call_id":"c","experiment":"x","variant":long}),
                "variant",
                "over the label value limit",
            ),
            (
                json!({"type":"log","level":"info","message":"m","timestamp":"+10000-01-01T00:00:00Z"}),
                "timestamp",
                "between the years 0000 and 9999",
            ),
        ] {
            let event = Event::from_json(input.clone()).expect("decodes");
            let err = event.validate(8).expect_err("invalid");
            assert_eq!(err.field, field, "{input}");
            assert!(err.reason.contains(want), "{input}: {err}");
        }
        let fine = Event::from_json(
            json!({"type":"request","endpoint":"/","method":"GET","status":200,"latency_ms":1.0}),
        );
        assert_eq!(fine.expect("decodes").validate(8), Ok(()));
    }

    #[test]
    fn decoding_names_the_field_serde_found_wrong() {
        for (input, field) in [
            (json!([1]), "type"),
            (json!({"type":"nope"}), "type"),
            (
                json!({"type":"request","endpoint":"/","method":"GET","status":"200","latency_ms":1.0}),
                "status",
            ),
            (json!({"type":"heartbeat","name":"x","extra":1}), "extra"),
            (json!({"type":"call_started"}), "call_id"),
        ] {
            let err = Event::from_json(input.clone()).expect_err("refused");
            assert_eq!(err.field, field, "{input}: {err}");
        }
    }
}
