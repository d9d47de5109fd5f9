//! mon-metrics: mon's in-process metrics — the host collector, the rule snapshot
//! and OpenMetrics exposition.
//!
//! # The rule snapshot
//!
//! A [`Snapshot`] (defined in mon-core, the contract between producers and rules,
//! re-exported here) is what alert rules and dashboards read: a flat map of named
//! `f64` variables (`cpu_percent`, `memory_percent`, `avg_api_latency_ms`, ...) plus a
//! per-check map (`status`, `latency_ms`, `critical`) for "component unhealthy"
//! conditions. Every variable is documented in [`CATALOG`] with its unit and the
//! part of mon that fills it; the names are also constants in [`vars`].
//! A variable whose producer is not running is *absent* (a rule over it has no
//! data), never zero.
//!
//! The [`SnapshotHub`] holds the latest snapshot. Each producer publishes under
//! its own source name and replaces only its own values:
//!
//! ```
//! use mon_metrics::{SnapshotHub, vars};
//!
//! let hub = SnapshotHub::new();
//! hub.publish_values("host", [(vars::CPU_PERCENT.to_owned(), 37.5)]);
//! hub.publish_values("ingest", [(vars::ACTIVE_CALLS.to_owned(), 4.0)]);
//!
//! let snapshot = hub.current();
//! assert_eq!(snapshot.get("cpu_percent"), Some(37.5));
//! assert_eq!(snapshot.get("active_calls"), Some(4.0));
//! assert_eq!(snapshot.get("avg_mos"), None); // nobody published it
//! ```
//!
//! A reader that should react to new data (the alert engine) holds a
//! [`SnapshotSubscription`] from [`SnapshotHub::subscribe`] and awaits
//! [`SnapshotSubscription::changed`]. In JSON a snapshot reads
//! `{"taken_at": "...", "values": {"cpu_percent": 37.5}, "checks": {"api":
//! {"status": "healthy", "latency_ms": 12.0, "critical": true}}}`.
//!
//! # Host metrics and exposition
//!
//! [`HostCollector`] reads CPU, memory, swap, disk, load, network and mon's own
//! process through sysinfo; [`spawn_host_collector`] runs it on an interval,
//! publishes to the hub under [`HOST_SOURCE`], and updates the [`HostMetrics`]
//! gauges, which [`encode_openmetrics`] writes as OpenMetrics text for `GET /metrics`
//! (served with [`OPENMETRICS_CONTENT_TYPE`]); [`samples_to_queue`] hands each sample to
//! the queue that stores them. [`Exposition`] is what `GET /metrics` and the Pushgateway
//! exporter encode: the finished registry plus the store's gauges, refreshed at each scrape.
//!
//! # The application recorder
//!
//! A [`Recorder`] is what a voice agent calls (`track_request`, `call_started`,
//! `ai_usage`, `counter`...) and what `POST /api/v1/events` feeds: [`Recorder::record`]
//! takes a `mon_core::Event`, `record_request(&RequestEvent)` and its siblings one kind
//! each. It keeps 1/5/15-minute windows ([`Recorder::report`]), publishes rule variables
//! ([`Recorder::snapshot_values`], [`spawn_publisher`]) and registers the `mon_app_*`
//! families ([`Recorder::register`]); [`spawn_sampler`] writes its figures to the store as
//! time series. A labelled ingest source (`?source=demo`) records into its own recorder,
//! [`Recorder::source`], kept apart from the unlabelled one: its figures are stored as
//! series labelled `source=<label>` and [`Recorder::forget_source`] drops its windows.
//! [`OperationTimer`] times an operation into
//! `mon_app_operation_duration_seconds`.
//!
//! # Forwarding events to mon-server
//!
//! An application that produces `mon_core::Event`s itself (the `mon-security` layer's auth,
//! security and request events) sends them to a mon-server with an [`EventForwarder`]: a
//! bounded queue and a task that POSTs batches to `/api/v1/events` with an ingest token,
//! retrying 429/5xx, dropping (counted in `mon_forwarder_events_dropped_total`) when full.
//! [`ForwarderHandle::sink`] is the layer's sink.
//!
//! # Dashboards
//!
//! [`builtin_dashboards`] returns the seven built-in dashboards as data ([`DashboardConfig`]:
//! panels of a [`PanelKind`] reading one variable, with thresholds and a layout);
//! [`validate_dashboards`] checks custom ones from `mon.yaml`; [`all_dashboards`] puts
//! both together. [`PanelConfig::header_json`] and [`PanelConfig::metrics_json`] are a
//! panel as a dashboard answer shows it, with its current value, colour and stored
//! series (fetched at [`series_step`]). mon-server serves them;
//! [`grafana_json`] exports one to Grafana, with [`promql`] giving each variable's PromQL.
//!
//! # Stored series
//!
//! [`SeriesSelector`] names the stored series a query reads (a metric and the labels the
//! series carry, parsed from `k=v,k2=v2`); [`SeriesSelector::points`] reads their points
//! over a range from the store's rollups (`GET /api/v1/metrics/query`).
//!
//! # LiveKit
//!
//! [`LivekitMetrics`] counts verified LiveKit webhooks (rooms, participants, aborted
//! connections, egress failures, room durations) and room-creation errors, for
//! `/metrics` (`mon_livekit_*`) and the snapshot (`connection_success_rate`,
//! `room_creation_failures`, ...) under [`LIVEKIT_SOURCE`].
//!
//! # Statistics
//!
//! [`stats`] compares two groups — the variants of an experiment, or two periods (before and
//! after a deployment, this week and last) — on a rate ([`stats::compare_rates`]: the
//! two-proportion z-test with Wilson intervals), on a mean ([`stats::compare_means`]: Welch's
//! t-test) and on ranks ([`stats::compare_ranks`]: Mann-Whitney U, with percentiles);
//! [`stats::compare_samples`] runs both tests on durations, ratings or costs. Each result
//! carries its confidence intervals, a p-value and a plain warning when a sample is too small
//! to tell (docs/experiments.md).

mod dashboards;
mod error;
pub mod experiment;
mod export;
mod exposition;
mod forward;
mod grafana;
mod host;
mod livekit;
pub mod otlp;
mod panel_values;
mod raise;
mod recorder;
mod remote_write;
mod report;
mod sampler;
mod scrape;
mod series;
mod snapshot;
pub mod stats;
mod window;

pub use dashboards::{
    BUILTIN_IDS, Colour, DashboardConfig, ENDPOINT_SERIES, EXPERIENCE_SERIES, PanelConfig,
    PanelKind, builtin_dashboards, known_metric, validate_dashboards,
};
pub use error::MetricsError;
pub use export::{
    ExportStatus, ExporterState, ExportersConfig, JsonExportConfig, JsonSource, PushgatewayConfig,
    TextSource, push_to_gateway, pushgateway_group_url, spawn_exporters, write_json_atomically,
};
pub use exposition::{
    HostMetrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE, encode_openmetrics,
    encode_prometheus_text,
};
pub use forward::{EventForwarder, ForwarderHandle, ForwarderOptions, ForwarderStats};
pub use grafana::{CHECK_STATE_PROMQL, grafana_json, promql};
pub use host::{
    DiskSample, HOST_SOURCE, HostCollector, HostCollectorOptions, HostSample, samples_to_queue,
    spawn_host_collector,
};
pub use livekit::{
    LIVEKIT_SOURCE, LivekitMetrics, LivekitTotals, WEBHOOK_EVENTS, spawn_livekit_publisher,
};
use mon_core::catalog;
pub use mon_core::catalog::{CATALOG, Unit, VariableInfo, VariableKind, VariableSource, lookup};
pub use mon_core::vars;
pub use otlp::{Mapped, ModelPrice, OtlpConfig, OtlpMapper};
pub use panel_values::{MAX_DASHBOARD_RANGE, all_dashboards, series_step, status_grid_colour};
pub use raise::{AlertSender, RaiseAlertAnswer, RaiseAlertBody, SendAlertError};
pub use recorder::{
    CallTotals, CounterHandle, CustomAdmission, CustomBatch, CustomKind, ErrorRecord,
    ExperienceBreakdown, LATENCY_BANDS, LATENCY_BUCKETS, MAX_SOURCES, MOS_BANDS, NO_CATEGORY,
    OVERFLOW_LABEL, OperationTimer, Recorder, RecorderOptions, SecurityConfig, SecurityRow,
    SecuritySummary, SecurityTotals, SlowRequest, validate_label_name,
    validate_name as validate_metric_name,
};
pub use remote_write::{BasicAuth, MAX_BATCH_SIZE, RemoteWriteConfig, RemoteWriter, proto};
pub use report::{INGEST_SOURCE, MetricsReport, WindowReport, spawn_publisher};
pub use sampler::{recorder_samples, spawn_sampler};
pub use scrape::Exposition;
pub use series::{InvalidSelector, SeriesSelector};
pub use snapshot::{
    CHECK_SOURCE_PREFIX, CHECKS_SOURCE, CheckSnapshot, Snapshot, SnapshotHub, SnapshotSubscription,
};
pub use window::{Window, WindowStats};

/// Re-exported so users register their own metrics with the same version mon uses.
pub use prometheus_client;
