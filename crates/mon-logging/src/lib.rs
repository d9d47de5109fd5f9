//! mon-logging: one call sets up structured logging for mon and for the services it watches.
//!
//! A voice agent calls [`init`] once at the start of `main`, then logs with `tracing`:
//!
//! ```
//! let logs = mon_logging::init(&mon_logging::LoggingConfig::default())?;
//! let _call = mon_logging::call_scope("ast-123-456").entered();
//! tracing::info!(caller = "+1234567890", "call started"); // carries call_id
//! # drop(logs);
//! # Ok::<(), mon_logging::LoggingError>(())
//! ```
//!
//! - **Lines** go to stderr: JSON (the stable schema of docs/logging.md) when
//!   `ENVIRONMENT=production`, human-readable otherwise, or as [`LoggingConfig::format`]
//!   says. The level comes from `RUST_LOG`, else `LOG_LEVEL`, else
//!   [`LoggingConfig::level`], else `info` (see [`build_filter`]).
//! - **Context**: [`call_scope`], [`operation_scope`] and [`request_id_layer`] add ids that
//!   every event inside carries, across `.await` and into instrumented spawned tasks.
//! - **Error codes**: [`codes::ErrorCode`], the LiveKit catalog [`codes::livekit`];
//!   events with an `error_code` field are counted per code.
//! - **Helpers**: [`log_api_call`], [`log_room_event`], [`log_sip_event`], [`perf_timer`],
//!   [`audit_log`], [`record_error`].
//! - **Files** under [`LoggingConfig::dir`]: `app/`, `errors/`, `audit/`, `performance/`,
//!   rotated and pruned ([`files`]).
//! - **Masking**: secrets never reach an output ([`Masker`]).
//! - **Error tracking** ([`ErrorTracker`]) and other consumers receive records through
//!   [`RecordSink`]s added with [`LogHandle::add_sink`].
//! - **Error tracking and log search over mon-store** ([`LogIngest`], [`LogWriter`]): mon's
//!   own records and ingested `error` / `log` events, masked and grouped, stored in batches,
//!   `tracked_errors_per_minute` and `new_error_kinds` published to the rule snapshot,
//!   pruned by age.
//! - **Over HTTP** ([`http::router`]): `GET /api/v1/errors`, `/api/v1/errors/{fingerprint}`
//!   and `/api/v1/logs` read them back, answering like the rest of mon's API (`mon-http`).

pub mod codes;
mod config;
mod context;
mod error;
mod errors;
pub mod files;
mod filter;
mod helpers;
pub mod http;
mod ingest;
mod layer;
mod mask;
mod metrics;
mod output;
mod request_id;

pub use config::{ErrorTrackingConfig, LogFormat, LogRetention, LogSearchConfig, LoggingConfig};
pub use context::{CONTEXT_TARGET, LogContext, call_scope, new_id, operation_scope, request_scope};
pub use error::LoggingError;
pub use errors::{ErrorOccurrence, ErrorTracker, fingerprint, normalize_message};
pub use filter::{DEFAULT_LEVEL, build_filter, parse_level};
pub use helpers::{
    ERRORS_TARGET, PerfTimer, audit_log, log_api_call, log_room_event, log_sip_event, perf_timer,
    record_error,
};
pub use ingest::{LogIngest, LogWriter};
pub use layer::{AUDIT_TARGET, FieldValue, LogRecord, MonLayer, PERF_TARGET, RecordSink};
pub use mask::{MASK, Masker};
pub use metrics::LogStats;
pub use output::{Format, resolve_format};
pub use request_id::{REQUEST_ID_HEADER, request_id_layer};

use files::{Clock, FileOptions, FileSink};
use layer::{Console, Shared};
use mon_core::Privacy;
use std::sync::{Arc, OnceLock, RwLock};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// A handle on the logging set up by [`init`] (or [`LogHandle::new`]): add sinks, read
/// and register the counters, flush the files. Cheap to clone.
#[derive(Clone)]
pub struct LogHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogHandle")
            .field("app", &self.shared.app)
            .field("files", &self.shared.files.is_some())
            .finish_non_exhaustive()
    }
}

impl LogHandle {
    /// Builds the outputs without installing anything: console lines in `format` to
    /// `console` (none: no console), files when `config.dir` is set (rotation and
    /// retention follow `clock`). `env` looks up environment variables (`APP_NAME`,
    /// `ENVIRONMENT`). Install [`LogHandle::layer`] in a subscriber of your own, or use
    /// [`init`].
    ///
    /// # Errors
    /// An invalid mask pattern or sample rate, or a log directory that cannot be created.
    pub fn new(
        config: &LoggingConfig,
        format: Format,
        console: Option<BoxMakeWriter>,
        env: &dyn Fn(&str) -> Option<String>,
        clock: Clock,
    ) -> Result<LogHandle, LoggingError> {
        LogHandle::with_privacy(config, format, console, env, clock, Privacy::disabled())
    }

    /// As [`LogHandle::new`], callers' personal data in every record treated by
    /// `privacy` (docs/privacy.md) before any output sees it.
    ///
    /// # Errors
    /// As [`LogHandle::new`].
    pub fn with_privacy(
        config: &LoggingConfig,
        format: Format,
        console: Option<BoxMakeWriter>,
        env: &dyn Fn(&str) -> Option<String>,
        clock: Clock,
        privacy: Privacy,
    ) -> Result<LogHandle, LoggingError> {
        let masker = Masker::with_privacy(&config.mask_patterns, privacy)?;
        if let Some((key, reason)) = config.validate().into_iter().next() {
            return Err(LoggingError::InvalidConfig { key, reason });
        }
        let stats = LogStats::default();
        let files = match &config.dir {
            Some(dir) => Some(FileSink::start(
                FileOptions {
                    dir: dir.clone(),
                    max_file_size: config.max_file_size,
                    retention: config.retention.clone(),
                    queue_capacity: config.queue_capacity,
                },
                clock,
                stats.clone(),
            )?),
            None => None,
        };
        let app = config
            .app
            .clone()
            .or_else(|| env("APP_NAME"))
            .unwrap_or_else(|| "mon".into());
        let environment = config
            .environment
            .clone()
            .or_else(|| env("ENVIRONMENT"))
            .unwrap_or_else(|| "development".into());
        Ok(LogHandle {
            shared: Arc::new(Shared {
                app,
                environment,
                masker,
                console: console.map(|writer| Console {
                    writer,
                    json: format == Format::Json,
                }),
                files,
                sinks: RwLock::new(Vec::new()),
                stats,
            }),
        })
    }

    /// The tracing layer writing to this handle's outputs.
    pub fn layer(&self) -> MonLayer {
        MonLayer {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Adds a sink that receives every record at or above its level from now on.
    pub fn add_sink(&self, sink: Arc<dyn RecordSink>) {
        self.shared
            .sinks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(sink);
    }

    /// The counters (dropped lines, errors per code).
    pub fn stats(&self) -> &LogStats {
        &self.shared.stats
    }

    /// The masker every output uses: mask what you store or serve from other sources too.
    pub fn masker(&self) -> &Masker {
        &self.shared.masker
    }

    /// Waits until every line logged before this call is written to the files.
    pub fn flush(&self) {
        if let Some(files) = &self.shared.files {
            files.flush();
        }
    }
}

static GLOBAL: OnceLock<LogHandle> = OnceLock::new();

/// The handle of the logging [`init`] installed, if any: how a program's composition
/// (mon-server's, say) reaches the counters and adds sinks.
pub fn global() -> Option<&'static LogHandle> {
    GLOBAL.get()
}

/// Installs the global tracing subscriber: events passing [`build_filter`] are written
/// to stderr in the format [`resolve_format`] picks, and to files when
/// [`LoggingConfig::dir`] is set. Records of the `log` crate are forwarded too.
///
/// Call it once; a second call (or any other global subscriber) is
/// [`LoggingError::AlreadyInitialized`].
pub fn init(config: &LoggingConfig) -> Result<LogHandle, LoggingError> {
    init_with_privacy(config, Privacy::disabled())
}

/// As [`init`], callers' personal data in every record treated by `privacy`
/// (docs/privacy.md) before the console, the files or any sink sees it.
///
/// # Errors
/// As [`init`].
pub fn init_with_privacy(
    config: &LoggingConfig,
    privacy: Privacy,
) -> Result<LogHandle, LoggingError> {
    let env = |name: &str| std::env::var(name).ok();
    let filter = build_filter(config, &env)?;
    let format = resolve_format(config, &env);
    // Pretty lines stay plain (no colour codes) so they can be grepped and shipped.
    let handle = LogHandle::with_privacy(
        config,
        format,
        Some(BoxMakeWriter::new(std::io::stderr)),
        &env,
        Arc::new(chrono::Utc::now),
        privacy,
    )?;
    subscriber(filter, &handle)
        .try_init()
        .map_err(|e| LoggingError::AlreadyInitialized {
            reason: e.to_string(),
        })?;
    let _ = GLOBAL.set(handle.clone());
    Ok(handle)
}

/// A subscriber with `filter` and `handle`'s layer: what [`init`] installs; tests use it
/// with `tracing::subscriber::with_default`.
pub fn subscriber(
    filter: EnvFilter,
    handle: &LogHandle,
) -> impl tracing::Subscriber + Send + Sync + 'static {
    tracing_subscriber::registry()
        .with(filter)
        .with(handle.layer())
}
