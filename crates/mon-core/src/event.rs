//! [`Event`]: what applications push to mon (by library call or `POST /api/v1/events`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One application event, tagged by `type` in JSON:
///
/// ```json
/// {"type": "request", "endpoint": "/api/rooms", "method": "POST", "status": 201, "latency_ms": 84.0}
/// ```
///
/// Every variant takes an optional `timestamp` (RFC 3339); absent means "now".
/// Unknown fields are rejected so that a typo is an error, not silently lost data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Event {
    /// An HTTP/API request the application served or made.
    Request {
        /// Route or endpoint name, e.g. `/api/rooms`.
        endpoint: String,
        /// HTTP method.
        method: String,
        /// Response status code.
        status: u16,
        /// Time to answer, in milliseconds.
        latency_ms: f64,
        /// Request body size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_bytes: Option<u64>,
        /// Response body size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_bytes: Option<u64>,
        /// When it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// A voice call began.
    CallStarted {
        /// The call's id.
        call_id: String,
        /// When it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// A voice call ended.
    CallEnded {
        /// The call's id.
        call_id: String,
        /// How long it lasted, in seconds.
        duration_seconds: f64,
        /// Whether it completed normally.
        success: bool,
        /// When it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// An application error.
    Error {
        /// Error class, e.g. `TimeoutError` or an error code such as `LK1301`.
        kind: String,
        /// What went wrong.
        message: String,
        /// Extra context (call id, endpoint...).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        context: BTreeMap<String, serde_json::Value>,
        /// When it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// Voice quality of a conversation.
    VoiceQuality {
        /// The conversation (call) id.
        conversation_id: String,
        /// Mouth-to-ear latency, milliseconds.
        latency_ms: f64,
        /// Packet loss ratio, 0–1.
        packet_loss: f64,
        /// Jitter, milliseconds.
        jitter_ms: f64,
        /// Mean opinion score, 1–5.
        mos: f64,
        /// When it was measured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// Usage of an AI provider (speech-to-text, language model, text-to-speech).
    AiUsage {
        /// Provider name, e.g. `deepgram`.
        provider: String,
        /// `stt`, `llm` or `tts`.
        service: String,
        /// Model name.
        model: String,
        /// Units consumed (tokens, characters, seconds of audio).
        units: f64,
        /// Cost in US dollars.
        cost_usd: f64,
        /// Time to answer, in milliseconds.
        latency_ms: f64,
        /// When it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// A custom gauge: the current value of something.
    Gauge {
        /// Metric name.
        name: String,
        /// The value.
        value: f64,
        /// Labels.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        labels: BTreeMap<String, String>,
        /// When it was measured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// A custom counter increment.
    Counter {
        /// Metric name.
        name: String,
        /// The increment (default 1).
        #[serde(default = "one")]
        value: f64,
        /// Labels.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        labels: BTreeMap<String, String>,
        /// When it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// A heartbeat ping for a `heartbeat` check.
    Heartbeat {
        /// The heartbeat check's name.
        name: String,
        /// When it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// A log record from an application, stored for search.
    Log {
        /// `trace`, `debug`, `info`, `warn` or `error`.
        level: String,
        /// The message.
        message: String,
        /// The call it belongs to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
        /// Structured fields.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        fields: BTreeMap<String, serde_json::Value>,
        /// When it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
    /// A LiveKit webhook event (room_started, participant_joined, ...), already verified.
    Livekit {
        /// The LiveKit event name.
        event: String,
        /// The webhook body.
        #[serde(default)]
        payload: serde_json::Value,
        /// When it happened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<DateTime<Utc>>,
    },
}

fn one() -> f64 {
    1.0
}

impl Event {
    /// The `type` tag, as written in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Request { .. } => "request",
            Event::CallStarted { .. } => "call_started",
            Event::CallEnded { .. } => "call_ended",
            Event::Error { .. } => "error",
            Event::VoiceQuality { .. } => "voice_quality",
            Event::AiUsage { .. } => "ai_usage",
            Event::Gauge { .. } => "gauge",
            Event::Counter { .. } => "counter",
            Event::Heartbeat { .. } => "heartbeat",
            Event::Log { .. } => "log",
            Event::Livekit { .. } => "livekit",
        }
    }

    /// The event's own timestamp, if it carried one.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        match self {
            Event::Request { timestamp, .. }
            | Event::CallStarted { timestamp, .. }
            | Event::CallEnded { timestamp, .. }
            | Event::Error { timestamp, .. }
            | Event::VoiceQuality { timestamp, .. }
            | Event::AiUsage { timestamp, .. }
            | Event::Gauge { timestamp, .. }
            | Event::Counter { timestamp, .. }
            | Event::Heartbeat { timestamp, .. }
            | Event::Log { timestamp, .. }
            | Event::Livekit { timestamp, .. } => *timestamp,
        }
    }
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
        ];
        for sample in samples {
            let event: Event = serde_json::from_value(sample.clone()).unwrap();
            assert_eq!(event.type_name(), sample["type"]);
            assert_eq!(serde_json::to_value(&event).unwrap(), sample);
        }
    }

    #[test]
    fn counter_defaults_to_one() {
        let event: Event = serde_json::from_value(json!({"type":"counter","name":"x"})).unwrap();
        assert!(matches!(event, Event::Counter { value, .. } if value == 1.0));
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
}
