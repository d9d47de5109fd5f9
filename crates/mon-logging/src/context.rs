//! Call and operation scopes: spans whose ids (`call_id`, `operation`, `operation_id`,
//! `service`, `request_id`) every event inside carries, across `.await` and into spawned
//! tasks that are instrumented with them.
//!
//! ```
//! use mon_logging::{call_scope, operation_scope};
//! use tracing::Instrument;
//! # async fn demo() {
//! async {
//!     tracing::info!("call started"); // carries call_id = "ast-123-456"
//!     let work = async { tracing::info!("transcribing") } // carries call_id, operation, operation_id
//!         .instrument(operation_scope("stt_transcription", "stt"));
//!     tokio::spawn(work.in_current_span()); // the spawned task keeps the ids
//! }
//! .instrument(call_scope("ast-123-456"))
//! .await;
//! # }
//! ```
//!
//! The scopes are spans at `ERROR` level with target [`CONTEXT_TARGET`], so that a
//! filter such as `warn` does not switch them (and the ids) off.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Span;

/// The target of the context spans.
pub const CONTEXT_TARGET: &str = "mon::context";

/// The ids an event carries from the scopes around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogContext {
    /// The call (conversation) this event belongs to.
    pub call_id: Option<Arc<str>>,
    /// The HTTP request being served.
    pub request_id: Option<Arc<str>>,
    /// The operation's name, e.g. `stt_transcription`.
    pub operation: Option<Arc<str>>,
    /// A generated id, unique per operation scope.
    pub operation_id: Option<Arc<str>>,
    /// The service doing the operation, e.g. `stt` or `sip`.
    pub service: Option<Arc<str>>,
}

impl LogContext {
    /// Sets the id named `name` (one of the five); `false` for any other name.
    pub(crate) fn set(&mut self, name: &str, value: &str) -> bool {
        let slot = match name {
            "call_id" => &mut self.call_id,
            "request_id" => &mut self.request_id,
            "operation" => &mut self.operation,
            "operation_id" => &mut self.operation_id,
            "service" => &mut self.service,
            _ => return false,
        };
        *slot = Some(Arc::from(value));
        true
    }

    /// The ids that are set, in schema order.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("call_id", &self.call_id),
            ("request_id", &self.request_id),
            ("operation", &self.operation),
            ("operation_id", &self.operation_id),
            ("service", &self.service),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }

    /// Whether no id is set.
    pub fn is_empty(&self) -> bool {
        self.pairs().next().is_none()
    }
}

/// A call scope: enter it (or `.instrument` a future with it) and every event inside
/// carries `call_id`.
pub fn call_scope(call_id: &str) -> Span {
    tracing::error_span!(target: CONTEXT_TARGET, "call", call_id = call_id)
}

/// An operation scope with a generated `operation_id`: every event inside carries
/// `operation`, `service` and `operation_id` (and the call id of an enclosing call scope).
pub fn operation_scope(operation: &str, service: &str) -> Span {
    let id = new_id();
    tracing::error_span!(target: CONTEXT_TARGET, "operation", operation = operation, service = service, operation_id = id.as_str())
}

/// A request scope carrying `request_id`; see [`request_id_layer`](crate::request_id_layer).
pub fn request_scope(request_id: &str) -> Span {
    tracing::error_span!(target: CONTEXT_TARGET, "request", request_id = request_id)
}

/// A new random id: 16 lowercase hex digits.
pub fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS once per process and varies per instance;
    // mixing in a counter makes consecutive ids distinct even within one seed.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_hex() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn set_and_pairs() {
        let mut c = LogContext::default();
        assert!(c.is_empty());
        assert!(c.set("call_id", "c1"));
        assert!(c.set("service", "sip"));
        assert!(!c.set("room", "r"));
        assert_eq!(
            c.pairs().collect::<Vec<_>>(),
            [("call_id", "c1"), ("service", "sip")]
        );
    }
}
