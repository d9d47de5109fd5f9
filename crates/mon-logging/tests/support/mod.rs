//! Shared test helpers: a buffer writer and a subscriber around a [`LogHandle`].

#![allow(dead_code, unreachable_pub)]

use mon_logging::{Format, LogHandle, LoggingConfig};
use std::io;
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// A `MakeWriter` target that appends to a shared buffer.
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    pub fn writer(&self) -> BoxMakeWriter {
        let buffer = self.clone();
        BoxMakeWriter::new(move || buffer.clone())
    }
}

/// A handle writing console lines in `format` to a new buffer, with app `voice-agent`
/// and environment `test`.
pub fn handle(config: &LoggingConfig, format: Format) -> (LogHandle, Buffer) {
    let buffer = Buffer::default();
    let config = LoggingConfig {
        app: Some("voice-agent".into()),
        environment: Some("test".into()),
        ..config.clone()
    };
    let handle = LogHandle::new(
        &config,
        format,
        Some(buffer.writer()),
        &|_| None,
        Arc::new(chrono::Utc::now),
    )
    .unwrap();
    (handle, buffer)
}

/// Runs `emit` with a subscriber at `directives` around `handle`.
pub fn with_logs<T>(handle: &LogHandle, directives: &str, emit: impl FnOnce() -> T) -> T {
    let filter = EnvFilter::builder().parse(directives).unwrap();
    tracing::subscriber::with_default(mon_logging::subscriber(filter, handle), emit)
}
