//! [`MonLayer`]: the tracing layer that turns events into mon's log records — context ids
//! from the scopes around them, masked fields — and writes them to the console, the files
//! and the registered [`RecordSink`]s.

use crate::context::{CONTEXT_TARGET, LogContext};
use crate::files::{FileSink, Streams};
use crate::mask::{MASK, Masker};
use crate::metrics::LogStats;
use chrono::{DateTime, SecondsFormat, Utc};
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::{Arc, RwLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The target of [`perf_timer`](crate::perf_timer) events: they go to `performance/`.
pub const PERF_TARGET: &str = "mon::perf";
/// The target of [`audit_log`](crate::audit_log) events: they go to `audit/`.
pub const AUDIT_TARGET: &str = "mon::audit";

/// The value of one event field, already masked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldValue {
    /// Text (also `Debug`/`Display` values).
    Str(String),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// A JSON object given as text in a field named `details`.
    Json(serde_json::Value),
}

impl FieldValue {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FieldValue::Str(s) => serde_json::Value::String(s.clone()),
            FieldValue::I64(n) => (*n).into(),
            FieldValue::U64(n) => (*n).into(),
            FieldValue::F64(n) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            FieldValue::Bool(b) => (*b).into(),
            FieldValue::Json(v) => v.clone(),
        }
    }
}

/// One log event as every output sees it: masked, with its context ids.
#[derive(Debug, Clone)]
pub struct LogRecord<'a> {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Its level.
    pub level: Level,
    /// The logger: the event's target (a module path unless set).
    pub logger: &'a str,
    /// The module that logged it.
    pub module: Option<&'a str>,
    /// The source file.
    pub file: Option<&'a str>,
    /// The source line.
    pub line: Option<u32>,
    /// The message (masked).
    pub message: String,
    /// The ids of the enclosing scopes, overridden by event fields of the same name.
    pub context: LogContext,
    /// The `error_code` field, when set.
    pub error_code: Option<String>,
    /// The other fields, in the order logged (masked).
    pub fields: Vec<(&'a str, FieldValue)>,
}

impl LogRecord<'_> {
    /// The value of field `name`.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The fields as a JSON object.
    pub fn fields_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.to_json()))
            .collect()
    }

    /// Writes the record as one JSON object (no newline): the stable schema of
    /// docs/logging.md.
    pub fn write_json(&self, app: &str, environment: &str, out: &mut String) {
        out.push_str("{\"timestamp\":\"");
        let _ = write!(
            out,
            "{}",
            self.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true)
        );
        out.push_str("\",\"level\":\"");
        out.push_str(self.level.as_str());
        out.push_str("\",\"logger\":");
        json_str(out, self.logger);
        if let Some(module) = self.module {
            out.push_str(",\"module\":");
            json_str(out, module);
        }
        if let Some(line) = self.line {
            let _ = write!(out, ",\"line\":{line}");
        }
        out.push_str(",\"message\":");
        json_str(out, &self.message);
        out.push_str(",\"app\":");
        json_str(out, app);
        out.push_str(",\"environment\":");
        json_str(out, environment);
        for (key, value) in self.context.pairs() {
            out.push_str(",\"");
            out.push_str(key);
            out.push_str("\":");
            json_str(out, value);
        }
        if let Some(code) = &self.error_code {
            out.push_str(",\"error_code\":");
            json_str(out, code);
        }
        if !self.fields.is_empty() {
            out.push_str(",\"fields\":{");
            for (i, (key, value)) in self.fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(out, key);
                out.push(':');
                json_value(out, value);
            }
            out.push('}');
        }
        out.push('}');
    }

    /// Writes the record as one human-readable line (no newline).
    pub fn write_pretty(&self, out: &mut String) {
        let _ = write!(
            out,
            "{} {:>5} {}: {}",
            self.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true),
            self.level.as_str(),
            self.logger,
            self.message
        );
        for (key, value) in self.context.pairs() {
            let _ = write!(out, " {key}={value}");
        }
        if let Some(code) = &self.error_code {
            let _ = write!(out, " error_code={code}");
        }
        for (key, value) in &self.fields {
            let _ = match value {
                FieldValue::Str(s) => write!(out, " {key}={s:?}"),
                other => write!(out, " {key}={}", other.to_json()),
            };
        }
    }
}

fn json_str(out: &mut String, s: &str) {
    // serde_json's escaping, straight into the buffer.
    let needs_escape = s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
    if needs_escape {
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

fn json_value(out: &mut String, value: &FieldValue) {
    match value {
        FieldValue::Str(s) => json_str(out, s),
        FieldValue::I64(n) => {
            let _ = write!(out, "{n}");
        }
        FieldValue::U64(n) => {
            let _ = write!(out, "{n}");
        }
        FieldValue::F64(n) if n.is_finite() => {
            let _ = write!(out, "{n}");
        }
        FieldValue::F64(_) => out.push_str("null"),
        FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        FieldValue::Json(v) => out.push_str(&v.to_string()),
    }
}

/// Receives every record at or above its level, masked, after it was written to the
/// console and queued for the files. Must be quick and must not block: hand the record
/// to a bounded queue and drop (counting) when it is full.
pub trait RecordSink: Send + Sync + 'static {
    /// The lowest level this sink wants.
    fn min_level(&self) -> Level;
    /// One record.
    fn record(&self, record: &LogRecord<'_>);
}

/// Where console lines go and how they look.
pub(crate) struct Console {
    pub(crate) writer: BoxMakeWriter,
    pub(crate) json: bool,
}

/// What the layer shares with the [`LogHandle`](crate::LogHandle).
pub(crate) struct Shared {
    pub(crate) app: String,
    pub(crate) environment: String,
    pub(crate) masker: Masker,
    pub(crate) console: Option<Console>,
    pub(crate) files: Option<FileSink>,
    pub(crate) sinks: RwLock<Vec<Arc<dyn RecordSink>>>,
    pub(crate) stats: LogStats,
}

/// The tracing layer behind [`init`](crate::init). Build one with
/// [`LogHandle::layer`](crate::LogHandle::layer) to compose it with other layers.
pub struct MonLayer {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for MonLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonLayer")
            .field("app", &self.shared.app)
            .field("environment", &self.shared.environment)
            .finish_non_exhaustive()
    }
}

/// Collects a span's context ids (personal data in them treated by the privacy policy).
struct SpanVisitor<'a>(&'a mut LogContext, &'a mut bool, &'a mon_core::Privacy);

impl Visit for SpanVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        *self.1 |= self.0.set(field.name(), &self.2.text(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if matches!(
            field.name(),
            "call_id" | "request_id" | "operation" | "operation_id" | "service"
        ) {
            *self.1 |= self
                .0
                .set(field.name(), &self.2.text(&format!("{value:?}")));
        }
    }
}

/// Collects an event's message and fields, masking as it goes.
struct EventVisitor<'a> {
    masker: &'a Masker,
    message: String,
    context: &'a mut LogContext,
    error_code: Option<String>,
    fields: Vec<(&'static str, FieldValue)>,
}

impl EventVisitor<'_> {
    fn push_str(&mut self, name: &'static str, value: &str) {
        match name {
            "message" => self.message = self.masker.text(value).into_owned(),
            "error_code" => self.error_code = Some(value.to_string()),
            _ if name.starts_with("log.") => {}
            _ if secret_name(name) => self.fields.push((name, FieldValue::Str(MASK.into()))),
            "call_id" | "request_id" | "operation" | "operation_id" | "service" => {
                self.context.set(name, &self.masker.privacy().text(value));
            }
            _ if self.masker.privacy().field_action(None, name).is_some() => {
                if let Some(value) = self.masker.privacy().named(name, value) {
                    self.fields
                        .push((name, FieldValue::Str(value.into_owned())));
                }
            }
            "details" if value.starts_with('{') => {
                let value = match serde_json::from_str::<serde_json::Value>(value) {
                    Ok(mut json) => {
                        self.masker.value(&mut json);
                        FieldValue::Json(json)
                    }
                    Err(_) => FieldValue::Str(self.masker.text(value).into_owned()),
                };
                self.fields.push((name, value));
            }
            _ => self
                .fields
                .push((name, FieldValue::Str(self.masker.text(value).into_owned()))),
        }
    }

    fn push(&mut self, name: &'static str, value: FieldValue) {
        if name.starts_with("log.") {
            return;
        }
        let value = if secret_name(name) {
            FieldValue::Str(MASK.into())
        } else if self.masker.privacy().field_action(None, name).is_some() {
            // A personal number (a phone number logged as an integer, say).
            let text = value.to_json().to_string();
            match self.masker.privacy().named(name, &text) {
                Some(value) => FieldValue::Str(value.into_owned()),
                None => return,
            }
        } else {
            value
        };
        self.fields.push((name, value));
    }
}

impl Visit for EventVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push_str(field.name(), value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.push_str(field.name(), &text);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field.name(), FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field.name(), FieldValue::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field.name(), FieldValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field.name(), FieldValue::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push_str(field.name(), &value.to_string());
    }
}

/// [`Masker::is_secret_name`] without allocating: field names are checked on every event.
fn secret_name(name: &str) -> bool {
    const NEEDLES: &[&[u8]] = &[
        b"password",
        b"passwd",
        b"secret",
        b"token",
        b"api_key",
        b"apikey",
        b"authorization",
        b"cookie",
        b"private_key",
        b"credential",
    ];
    let bytes = name.as_bytes();
    NEEDLES.iter().any(|needle| {
        bytes.windows(needle.len()).any(|w| {
            w.iter().zip(needle.iter()).all(|(a, b)| {
                let a = a.to_ascii_lowercase();
                a == *b || (a == b'-' && *b == b'_')
            })
        })
    })
}

thread_local! {
    static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl<S> Layer<S> for MonLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut context = span
            .parent()
            .and_then(|p| {
                p.scope()
                    .find_map(|s| s.extensions().get::<LogContext>().cloned())
            })
            .unwrap_or_default();
        let mut any = attrs.metadata().target() == CONTEXT_TARGET;
        attrs.record(&mut SpanVisitor(
            &mut context,
            &mut any,
            self.shared.masker.privacy(),
        ));
        if any {
            span.extensions_mut().insert(context);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut context = span
            .scope()
            .find_map(|s| s.extensions().get::<LogContext>().cloned())
            .unwrap_or_default();
        let mut any = false;
        values.record(&mut SpanVisitor(
            &mut context,
            &mut any,
            self.shared.masker.privacy(),
        ));
        if any {
            span.extensions_mut().replace(context);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut context = ctx
            .event_scope(event)
            .and_then(|mut scope| scope.find_map(|s| s.extensions().get::<LogContext>().cloned()))
            .unwrap_or_default();
        let mut visitor = EventVisitor {
            masker: &self.shared.masker,
            message: String::new(),
            context: &mut context,
            error_code: None,
            fields: Vec::new(),
        };
        event.record(&mut visitor);
        let EventVisitor {
            message,
            error_code,
            fields,
            ..
        } = visitor;
        let record = LogRecord {
            timestamp: Utc::now(),
            level: *metadata.level(),
            logger: metadata.target(),
            module: metadata.module_path(),
            file: metadata.file(),
            line: metadata.line(),
            message,
            context,
            error_code,
            fields,
        };
        self.shared.write(&record);
    }
}

impl Shared {
    /// Writes a record to every output.
    pub(crate) fn write(&self, record: &LogRecord<'_>) {
        if let Some(code) = &record.error_code {
            self.stats.count_code(code);
        }
        BUFFER.with(|buffer| {
            let mut buffer = match buffer.try_borrow_mut() {
                Ok(b) => b,
                // Re-entered from inside a writer: log nothing rather than panic.
                Err(_) => return,
            };
            let json_written = if let Some(console) = &self.console {
                buffer.clear();
                if console.json {
                    record.write_json(&self.app, &self.environment, &mut buffer);
                } else {
                    record.write_pretty(&mut buffer);
                }
                buffer.push('\n');
                let _ = console.writer.make_writer().write_all(buffer.as_bytes());
                console.json
            } else {
                false
            };
            if let Some(files) = &self.files {
                if !json_written {
                    buffer.clear();
                    record.write_json(&self.app, &self.environment, &mut buffer);
                    buffer.push('\n');
                }
                let mut streams = Streams::APP;
                if record.level == Level::ERROR {
                    streams |= Streams::ERRORS;
                }
                match record.logger {
                    AUDIT_TARGET => streams |= Streams::AUDIT,
                    PERF_TARGET => streams |= Streams::PERFORMANCE,
                    _ => {}
                }
                files.send(streams, buffer.as_str(), &self.stats);
            }
        });
        let sinks = self
            .sinks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for sink in sinks.iter() {
            if record.level <= sink.min_level() {
                sink.record(record);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_name_matches_masker() {
        for name in [
            "password",
            "X-Api-Key",
            "apiKey",
            "session_cookie",
            "call_id",
            "room",
            "tok",
        ] {
            assert_eq!(secret_name(name), Masker::is_secret_name(name), "{name}");
        }
    }
}
