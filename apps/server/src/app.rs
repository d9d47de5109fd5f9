//! Composition: opens the store, starts checks, collectors and the alert engine,
//! builds the HTTP router, and shuts everything down in order.

use crate::ingest::Ingest;
use crate::livekit::Livekit;
use crate::supervise::Supervisor;
use crate::{api, metrics};
use axum::Router;
use mon_alerting::AlertEngine;
use mon_config::Config;
use mon_core::Kinds;
use mon_health::{CheckResult, HealthRegistry, Scheduler, SchedulerOptions, SelfCheck};
use mon_logging::LogIngest;
use mon_metrics::{HostCollectorOptions, SnapshotHub};
use mon_store::{Sample, Store};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Why the server could not start. Each message names the address or path involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The listen address could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (is another server using it? set server.listen or MON__SERVER__LISTEN)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store could not be opened or locked (another mon-server holds it).
    #[error("{0}")]
    Store(#[from] mon_store::StoreError),
    /// A check could not be built.
    #[error("check {name:?}: {message}")]
    Check {
        /// The check's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The alerting section could not be built.
    #[error("alerting: {0}")]
    Alerting(String),
    /// The logging section (error tracking, log search) is invalid.
    #[error("{0}")]
    Logging(#[from] mon_logging::LoggingError),
    /// The privacy policy's key could not be read or generated.
    #[error("privacy: {0}")]
    Privacy(String),
    /// An exporter could not be built.
    #[error("exporter: {0}")]
    Exporter(String),
    /// The thread that runs the checks could not be started.
    #[error("cannot start the checks' thread: {0}")]
    Checks(std::io::Error),
    /// The bound address could not be written to `--address-file`.
    #[error("cannot write the listening address to {path}: {source}")]
    AddressFile {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Everything request handlers read.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) health: HealthRegistry,
    pub(crate) alerts: AlertEngine,
    pub(crate) hub: SnapshotHub,
    pub(crate) metrics: metrics::Exposition,
    pub(crate) started_at: chrono::DateTime<chrono::Utc>,
    /// Error tracking and log search: where ingested `error` and `log` events go.
    pub(crate) logs: LogIngest,
    /// Application events: the recorders `POST /api/v1/events` feeds.
    pub(crate) ingest: crate::ingest::Ingest,
    /// LiveKit webhooks and room-creation errors.
    pub(crate) livekit: crate::livekit::Livekit,
    /// The built-in dashboards followed by the configured ones.
    pub(crate) dashboards: Arc<Vec<mon_metrics::DashboardConfig>>,
    /// Names of the checks marked `public: true`, in config order (status page, badges).
    pub(crate) public_checks: Arc<Vec<String>>,
    /// The status page's title, description and logo.
    pub(crate) status_page: Arc<mon_health::status_page::StatusPageConfig>,
    /// The maintenance windows (the status page lists the public ones).
    pub(crate) maintenance: Arc<Vec<mon_alerting::MaintenanceWindow>>,
    /// Stakeholder reports: made on request and on `reports.schedule`.
    pub(crate) reports: crate::reports::Reports,
}

/// The state of each router, taken from the whole (`FromRef`): a router sees only what it reads.
macro_rules! sub_state {
    ($($ty:ty => |$s:ident| $build:expr;)*) => {$(
        impl axum::extract::FromRef<AppState> for $ty {
            fn from_ref($s: &AppState) -> Self {
                $build
            }
        }
    )*};
}

sub_state! {
    HealthRegistry => |s| s.health.clone();
    Store => |s| s.store.clone();
    crate::reports::Reports => |s| s.reports.clone();
    metrics::Exposition => |s| s.metrics.clone();
    mon_alerting::http::AlertsState => |s| mon_alerting::http::AlertsState {
        alerts: s.alerts.clone(),
        store: s.store.clone(),
    };
    crate::anomaly::AnomalyState => |s| crate::anomaly::AnomalyState {
        alerts: s.alerts.clone(),
        hub: s.hub.clone(),
    };
    crate::dashboards::DashboardsState => |s| crate::dashboards::DashboardsState {
        dashboards: s.dashboards.clone(),
        started_at: s.started_at,
        hub: s.hub.clone(),
        store: s.store.clone(),
        alerts: s.alerts.clone(),
        health: s.health.clone(),
    };
    crate::security_api::SecurityState => |s| crate::security_api::SecurityState {
        recorder: s.ingest.recorder.clone(),
        store: s.store.clone(),
    };
    crate::incidents::IncidentsState => |s| crate::incidents::IncidentsState {
        store: s.store.clone(),
        health: s.health.clone(),
        alerts: s.alerts.clone(),
    };
    crate::sources::SourcesState => |s| crate::sources::SourcesState {
        recorder: s.ingest.recorder.clone(),
        store: s.store.clone(),
    };
    crate::status_page::StatusPageState => |s| crate::status_page::StatusPageState {
        health: s.health.clone(),
        store: s.store.clone(),
        public_checks: s.public_checks.clone(),
        config: s.status_page.clone(),
        maintenance: s.maintenance.clone(),
    };
    crate::livekit::LivekitState => |s| crate::livekit::LivekitState {
        livekit: s.livekit.clone(),
        recorder: s.ingest.recorder.clone(),
        hub: s.hub.clone(),
        privacy: s.logs.privacy().clone(),
    };
}

/// A started server: its router and its background tasks.
#[derive(Debug)]
pub struct App {
    router: Router,
    store: Store,
    /// The exclusive lock on `<store>.lock`, released when the process ends.
    _lock: mon_store::StoreLock,
    stop: watch::Sender<bool>,
    /// Tasks that end by themselves once `stop` is set (each under the [`Supervisor`],
    /// which starts it again after a panic).
    tasks: JoinSet<()>,
    /// Tasks without a stop signal of their own (retention, series rollups): aborted at shutdown.
    aborted: JoinSet<()>,
}

/// What every subsystem's start needs and adds to: the shared parts, the metrics
/// registry and the supervised tasks.
struct Parts<'a> {
    config: &'a Config,
    /// The server's extension kinds, beside the built-in ones.
    kinds: &'a Kinds,
    store: Store,
    hub: SnapshotHub,
    health: HealthRegistry,
    supervisor: Supervisor,
    registry: Registry,
    tasks: JoinSet<()>,
    aborted: JoinSet<()>,
}

impl Parts<'_> {
    /// Runs the task `start` spawns under the supervisor, in `tasks`.
    fn supervise(&mut self, name: &str, start: impl FnMut() -> JoinHandle<()> + Send + 'static) {
        self.tasks.spawn(self.supervisor.supervise(name, start));
    }

    /// Checks: the scheduler on its own thread, the `mon` self check, the kept state
    /// restored. Returns the queue of results.
    fn start_checks(&mut self) -> Result<mpsc::Receiver<CheckResult>, StartError> {
        let config = self.config;
        let health = self.health.clone();
        let mut scheduler = Scheduler::new(health.clone(), SchedulerOptions::default());
        scheduler.add_kinds(self.kinds);
        if config.server.self_check {
            let check =
                SelfCheck::new("mon", self.store.clone(), Arc::new(self.supervisor.clone()));
            scheduler
                .add(
                    "mon",
                    Arc::new(check),
                    Duration::from_secs(30),
                    Duration::from_secs(10),
                    true,
                )
                .map_err(|e| StartError::Check {
                    name: "mon".into(),
                    message: e.to_string(),
                })?;
        }
        for check in &config.checks {
            scheduler.add_config(check).map_err(|e| StartError::Check {
                name: check.name.clone(),
                message: e.to_string(),
            })?;
        }
        mon_health::restore_kept(&self.store, &health);
        mon_health::publish_checks(&health, &self.hub);
        health.register_metrics(&mut self.registry);
        let (results_tx, results_rx) = mpsc::channel::<CheckResult>(1024);
        // The first start's failure stops the server; a restart's is retried with backoff.
        let first = scheduler
            .clone()
            .spawn_on_thread(results_tx.clone(), self.supervisor.stopped())
            .map_err(StartError::Checks)?;
        let mut first = Some(first);
        let sup = self.supervisor.clone();
        self.supervise("checks", move || {
            first.take().unwrap_or_else(|| {
                match scheduler
                    .clone()
                    .spawn_on_thread(results_tx.clone(), sup.stopped())
                {
                    Ok(task) => task,
                    Err(e) => tokio::spawn(async move { panic!("{e}") }),
                }
            })
        });
        Ok(results_rx)
    }

    /// Host metrics: into the snapshot, /metrics and (through the returned queue) the store.
    fn start_host_metrics(&mut self) -> mpsc::Receiver<Vec<Sample>> {
        let config = self.config;
        let (samples_tx, samples_rx) = mpsc::channel::<Vec<Sample>>(64);
        if !config.metrics.host {
            return samples_rx;
        }
        let options = HostCollectorOptions {
            disk_path: config
                .metrics
                .disk_path
                .clone()
                .or_else(|| store_dir(config)),
        };
        let host = mon_metrics::HostMetrics::register(&mut self.registry);
        let (hub, interval, sup) = (
            self.hub.clone(),
            config.metrics.interval,
            self.supervisor.clone(),
        );
        self.supervise("host_metrics", move || {
            mon_metrics::spawn_host_collector(
                hub.clone(),
                interval,
                options.clone(),
                host.clone(),
                mon_metrics::samples_to_queue(samples_tx.clone()),
                sup.stopped(),
            )
        });
        samples_rx
    }

    /// Persistence of results and samples, the checks' view in the snapshot, and the
    /// uptime refreshed from the stored results. A restarted writer takes over the same queues.
    fn start_persistence(
        &mut self,
        results: mpsc::Receiver<CheckResult>,
        samples: mpsc::Receiver<Vec<Sample>>,
    ) {
        let persistence = mon_health::Persistence::new(results, samples);
        let (s, h, p) = (self.store.clone(), self.health.clone(), self.hub.clone());
        self.supervise("persist", move || {
            persistence.spawn(s.clone(), h.clone(), p.clone())
        });
        let (s, h, sup) = (
            self.store.clone(),
            self.health.clone(),
            self.supervisor.clone(),
        );
        self.supervise("uptime", move || {
            mon_health::spawn_uptime_refresh(s.clone(), h.clone(), sup.stopped())
        });
    }

    /// Alerting: the engine over the snapshot and one delivery worker per channel.
    fn start_alerting(&mut self) -> Result<AlertEngine, StartError> {
        let config = self.config;
        // A check's `depends_on` parent being down mutes its children's alerts.
        let mut alerting = config.alerting.clone();
        alerting
            .inhibit_rules
            .push(mon_alerting::Inhibition::dependencies(
                config
                    .checks
                    .iter()
                    .map(|c| (c.name.clone(), c.depends_on.clone())),
            ));
        let links = mon_alerting::Links::new(&config.server.external_url())
            .with_external_labels(config.server.external_labels.clone());
        let mut channel_kinds = mon_alerting::channel_kinds();
        channel_kinds.extend(self.kinds);
        let alerts = alerting
            .build_with(Some(self.store.clone()), &links, &channel_kinds)
            .map_err(|e| StartError::Alerting(e.to_string()))?;
        alerts.register_metrics(&mut self.registry);
        let (engine, p, interval, sup) = (
            alerts.clone(),
            self.hub.clone(),
            config.alerting.evaluation_interval,
            self.supervisor.clone(),
        );
        self.supervise("alert_engine", move || {
            engine.clone().spawn(p.clone(), interval, sup.stopped())
        });
        // Delivery workers, one per channel: they stop with the evaluation loop.
        for (channel, start) in alerts.delivery_workers() {
            self.supervise(&format!("delivery:{channel}"), start);
        }
        Ok(alerts)
    }

    /// Error tracking and log search: mon's own records and ingested events.
    fn start_logs(&mut self) -> Result<LogIngest, StartError> {
        let privacy = self.config.privacy().map_err(StartError::Privacy)?;
        let (logs, writer) = LogIngest::with_privacy(&self.config.logging, privacy)?;
        let (s, p, sup) = (
            self.store.clone(),
            self.hub.clone(),
            self.supervisor.clone(),
        );
        self.supervise("log_ingest", move || {
            writer.spawn(s.clone(), p.clone(), sup.stopped())
        });
        logs.register_metrics(&mut self.registry);
        if let Some(global) = mon_logging::global() {
            global.add_sink(logs.sink());
            global.stats().register(&mut self.registry);
        }
        Ok(logs)
    }

    /// Application events and LiveKit webhooks: the recorders ingest feeds, published to
    /// the snapshot and /metrics, and sampled into series.
    fn start_ingest(&mut self) -> (Ingest, Livekit) {
        let config = self.config;
        let recorder = mon_metrics::Recorder::new(mon_metrics::RecorderOptions {
            slow_request_threshold: config.metrics.slow_request_threshold,
            rule_window: config.metrics.rule_window,
            max_series: config.metrics.max_series,
            max_label_value_bytes: config.metrics.max_label_value_bytes,
            security: config.security.clone(),
            ..Default::default()
        });
        let ingest = Ingest::new(
            recorder.clone(),
            config.server.limits.max_body_bytes,
            mon_metrics::OtlpMapper::new(config.metrics.otlp.clone()),
            &mut self.registry,
        );
        let (r, p, sup) = (recorder.clone(), self.hub.clone(), self.supervisor.clone());
        self.supervise("ingest_publisher", move || {
            mon_metrics::spawn_publisher(
                r.clone(),
                p.clone(),
                Duration::from_secs(1),
                sup.stopped(),
            )
        });
        // LiveKit: webhook and room-error metrics, into the snapshot and /metrics.
        let livekit_metrics = recorder.livekit().clone();
        livekit_metrics.register(&mut self.registry);
        let (m, p, sup) = (
            livekit_metrics.clone(),
            self.hub.clone(),
            self.supervisor.clone(),
        );
        self.supervise("livekit_publisher", move || {
            mon_metrics::spawn_livekit_publisher(
                m.clone(),
                p.clone(),
                Duration::from_secs(1),
                sup.stopped(),
            )
        });
        let livekit = Livekit::new(
            config.livekit_webhook_keys(),
            config.livekit_webhook_max_token_lifetime(),
        );
        let (s, resolution, sup) = (
            self.store.clone(),
            config.metrics.resolution,
            self.supervisor.clone(),
        );
        self.supervise("ingest_sampler", move || {
            mon_metrics::spawn_sampler(recorder.clone(), s.clone(), resolution, sup.stopped())
        });
        (ingest, livekit)
    }

    /// Exporters (Pushgateway, JSON file, remote write): one supervised task each, so
    /// that a restart starts that one alone.
    fn start_exporters(
        &mut self,
        exposition: &metrics::Exposition,
        ingest: &Ingest,
    ) -> Result<(), StartError> {
        for (name, only) in self.config.metrics.exporters.each() {
            let (text, report) = (exposition.text_source(), ingest.recorder.report_source());
            let (status, sup) = (ingest.exporters.clone(), self.supervisor.clone());
            self.supervise(name, move || {
                let mut started = mon_metrics::spawn_exporters(
                    &only,
                    text.clone(),
                    report.clone(),
                    status.clone(),
                    || sup.stopped(),
                );
                started.pop().unwrap_or_else(|| tokio::spawn(async {}))
            });
        }
        if let Some(config) = self.config.metrics.exporters.remote_write.clone() {
            let writer =
                mon_metrics::RemoteWriter::new(config, self.config.server.external_labels.clone())
                    .map_err(|e| StartError::Exporter(e.to_string()))?;
            let (store, status, sup) = (
                self.store.clone(),
                ingest.exporters.clone(),
                self.supervisor.clone(),
            );
            self.supervise("remote_write", move || {
                tokio::spawn(
                    writer
                        .clone()
                        .run(store.clone(), status.clone(), sup.stopped()),
                )
            });
        }
        Ok(())
    }

    /// Retention of the store and the series rollups: loops without a stop signal,
    /// aborted at shutdown.
    /// Stakeholder reports: the scheduled one sent each period (`reports:`).
    fn start_reports(&mut self, alerts: &AlertEngine) -> crate::reports::Reports {
        let config = self.config;
        let reports = crate::reports::Reports::new(
            self.store.clone(),
            alerts.clone(),
            config.checks.iter().map(|c| c.name.clone()).collect(),
            config.reports.clone(),
            &config.server.external_url(),
            &config.status_page.title,
        );
        if config.reports.schedule.is_some() {
            let (r, sup) = (reports.clone(), self.supervisor.clone());
            self.supervise("reports", move || {
                tokio::spawn(r.clone().run(sup.stopped()))
            });
        }
        reports
    }

    fn start_retention(&mut self) {
        let config = self.config;
        let (s, policy) = (self.store.clone(), config.storage.retention.clone());
        self.aborted.spawn(
            self.supervisor
                .supervise("retention", move || s.spawn_retention(policy.clone())),
        );
        let (s, policy) = (self.store.clone(), config.metrics.series.clone());
        self.aborted
            .spawn(self.supervisor.supervise("series_maintenance", move || {
                s.spawn_series_maintenance(policy.clone())
            }));
    }
}

impl App {
    /// Opens the store and starts every background part described by `config`,
    /// its checks and channels built with their kind's factory: a built-in one, or
    /// one of `kinds` (the server's extensions, which replace a built-in of their name).
    pub(crate) async fn start_with(mut config: Config, kinds: Kinds) -> Result<App, StartError> {
        // Everything below (scheduler, status page, dependencies) sees only the checks
        // this instance probes.
        if let Some(shard) = &config.checks_shard {
            let probed = config.probed_checks();
            tracing::info!(
                index = shard.index,
                count = shard.count,
                probed = probed.len(),
                of = config.checks.len(),
                "checks shard: probing this instance's share of the checks"
            );
            config.checks = probed;
        }
        let lock = mon_store::StoreLock::acquire(&config.storage.path)?;
        let store = Store::open(&config.storage.path, config.storage.store_options())?;
        let (stop, _) = watch::channel(false);
        let mut registry = Registry::default();
        let supervisor = Supervisor::new(stop.subscribe(), &mut registry);
        let mut parts = Parts {
            config: &config,
            kinds: &kinds,
            store: store.clone(),
            hub: SnapshotHub::new(),
            health: HealthRegistry::new(),
            supervisor,
            registry,
            tasks: JoinSet::new(),
            aborted: JoinSet::new(),
        };
        let results = parts.start_checks()?;
        let samples = parts.start_host_metrics();
        parts.start_persistence(results, samples);
        let alerts = parts.start_alerting()?;
        let logs = parts.start_logs()?;
        let (ingest, livekit) = parts.start_ingest();
        // The versions services last deployed: OTLP marks only new ones after a restart.
        let deployed = store
            .app_events(
                "deployment",
                chrono::DateTime::UNIX_EPOCH,
                chrono::Utc::now(),
                10_000,
            )
            .await
            .unwrap_or_default();
        ingest
            .otlp
            .know_versions(deployed.into_iter().filter_map(|row| {
                let text = |key: &str| row.body.get(key)?.as_str().map(str::to_owned);
                Some((text("service")?, text("version")?))
            }));
        parts.start_retention();
        let reports = parts.start_reports(&alerts);
        // Every metric is registered by now: /metrics, and the exporters that push it.
        let exposition =
            metrics::Exposition::new(std::mem::take(&mut parts.registry), store.clone());
        parts.start_exporters(&exposition, &ingest)?;
        let Parts {
            hub,
            health,
            tasks,
            aborted,
            ..
        } = parts;
        // The parts that are not checks, in `/health/detailed` too.
        let channels = alerts.clone();
        health.add_section(
            "channels",
            Arc::new(move || serde_json::json!(channels.channels_status())),
        );
        let exporters = ingest.exporters.clone();
        health.add_section(
            "exporters",
            Arc::new(move || serde_json::json!(exporters.snapshot())),
        );
        let state = AppState {
            store: store.clone(),
            health,
            alerts,
            hub,
            metrics: exposition,
            started_at: chrono::Utc::now(),
            logs,
            ingest,
            livekit,
            dashboards: Arc::new(mon_metrics::all_dashboards(&config.dashboards)),
            public_checks: Arc::new(
                config
                    .checks
                    .iter()
                    .filter(|c| c.public)
                    .map(|c| c.name.clone())
                    .collect(),
            ),
            status_page: Arc::new(config.status_page.clone()),
            maintenance: Arc::new(config.alerting.maintenance_windows.clone()),
            reports,
        };
        let auth = mon_http::Auth::new(
            config.server.auth.clone(),
            config.server.public_paths.clone(),
        );
        let security = mon_security::SecurityLayer::new(
            config.server.security.clone(),
            crate::ingest::security_sink(state.clone()),
        );
        let router = api::router(state, auth, &config.server.limits, security);
        Ok(App {
            router,
            store,
            _lock: lock,
            stop,
            tasks,
            aborted,
        })
    }

    /// The HTTP router (health, API, metrics), ready to serve or to test with `oneshot`.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Stops background work (tasks end, their queues drained), then flushes and closes
    /// the store.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.aborted.abort_all();
        while self.aborted.join_next().await.is_some() {}
        while self.tasks.join_next().await.is_some() {}
        if let Err(e) = self.store.close().await {
            tracing::error!(error = %e, "closing the store failed");
        }
    }
}

/// The directory holding the store, for the default `disk_percent` mount.
fn store_dir(config: &Config) -> Option<std::path::PathBuf> {
    let parent = config.storage.path.parent()?;
    Some(if parent.as_os_str().is_empty() {
        ".".into()
    } else {
        parent.to_path_buf()
    })
}

/// Binds `server.listen`, starts the [`App`] and serves until SIGINT or SIGTERM,
/// then shuts down gracefully (in-flight requests finish, the store is flushed).
pub async fn run(config: Config) -> Result<(), StartError> {
    App::builder(config).run().await
}

/// [`run`] with the check and channel kinds of `kinds` beside the built-in ones.
///
/// Port 0 binds a free port; the bound address is what the server then uses
/// everywhere (the `listening` log line, the `external_url` derived from it) and,
/// with `address_file`, is written there (`127.0.0.1:PORT` and a newline, replaced
/// whole) once the server is about to accept connections. With `announce`, the
/// start-up block ([`crate::banner`]) is printed then, naming the config file (`None`
/// inside: the built-in default).
pub(crate) async fn run_with(
    mut config: Config,
    kinds: Kinds,
    address_file: Option<&Path>,
    announce: Option<Option<&Path>>,
) -> Result<(), StartError> {
    let asked = config.server.listen;
    let listener = tokio::net::TcpListener::bind(asked)
        .await
        .map_err(|source| StartError::Bind {
            addr: asked,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: asked,
        source,
    })?;
    config.server.listen = addr;
    let grace = config.server.shutdown_timeout;
    let limits = config.server.limits.clone();
    let banner = announce.map(|file| crate::banner::render(addr, file, &config));
    let app = App::start_with(config, kinds).await?;
    if let Some(path) = address_file {
        write_address(path, addr).map_err(|source| StartError::AddressFile {
            path: path.to_path_buf(),
            source,
        })?;
    }
    tracing::info!(%addr, "mon-server listening");
    if let Some(banner) = banner {
        crate::banner::print(&banner);
    }
    mon_http::serve(listener, app.router(), &limits, shutdown_signal(), grace).await;
    tracing::info!("shutting down");
    if tokio::time::timeout(grace, app.shutdown()).await.is_err() {
        tracing::warn!(timeout = %mon_core::duration::format(grace), "shutdown took too long; exiting anyway");
    }
    // The last lines reach the log files before the process exits.
    if let Some(logs) = mon_logging::global() {
        let _ = tokio::task::spawn_blocking(|| logs.flush()).await;
    }
    Ok(())
}

/// Writes `addr` to `path` through a temporary file renamed over it, so that a
/// reader sees either nothing or the whole address.
fn write_address(path: &Path, addr: SocketAddr) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, format!("{addr}\n"))?;
    std::fs::rename(&temporary, path)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
