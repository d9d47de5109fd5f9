//! Composition: opens the store, starts checks, collectors and the alert engine,
//! builds the HTTP router, and shuts everything down in order.

use crate::supervise::Supervisor;
use crate::{api, auth, metrics, self_check::SelfCheck};
use axum::Router;
use mon_alerting::AlertEngine;
use mon_config::Config;
use mon_health::{CheckResult, HealthRegistry, Scheduler, SchedulerOptions};
use mon_metrics::{CheckSnapshot, HostCollectorOptions, SnapshotHub};
use mon_store::{CheckResultRow, Sample, Store, WriteBatch};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

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
    /// The store could not be opened.
    #[error("{0}")]
    Store(#[from] mon_store::StoreError),
    /// Another mon-server holds the store.
    #[error(
        "the store {store} is in use by another mon-server ({holder}, lock {lock}); stop it first, or give this one another storage.path"
    )]
    Locked {
        /// The store file.
        store: std::path::PathBuf,
        /// The lock file.
        lock: std::path::PathBuf,
        /// Who holds it (`pid N`, as written in the lock file).
        holder: String,
    },
    /// The lock file of the store could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
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
    pub(crate) logs: crate::logs::LogIngest,
    /// Application events: the recorders `POST /api/v1/events` feeds.
    pub(crate) ingest: crate::ingest::Ingest,
    /// LiveKit webhooks and room-creation errors.
    pub(crate) livekit: crate::livekit::Livekit,
    /// The built-in dashboards followed by the configured ones.
    pub(crate) dashboards: Arc<Vec<mon_metrics::DashboardConfig>>,
    /// Names of the checks marked `public: true`, in config order (status page, badges).
    pub(crate) public_checks: Arc<Vec<String>>,
}

/// A started server: its router and its background tasks.
#[derive(Debug)]
pub struct App {
    router: Router,
    store: Store,
    /// The exclusive lock on `<store>.lock`, released when the process ends.
    _lock: std::fs::File,
    stop: watch::Sender<bool>,
    /// Tasks that end by themselves once `stop` is set, in the order to await them
    /// (each under the [`Supervisor`], which starts it again after a panic).
    tasks: Vec<JoinHandle<()>>,
    /// The retention loop, which has no stop signal of its own: aborted at shutdown.
    retention: JoinHandle<()>,
    /// Series rollups and their retention, aborted at shutdown like `retention`.
    series_maintenance: JoinHandle<()>,
}

/// Runs the checks on a thread of their own, on a single-threaded runtime: a probe's
/// timer, connection and result stay on one thread instead of waking the other
/// workers (about a fifth less CPU per probe, measured in docs/benchmarks.md), and a
/// burst of API traffic never delays a probe. The returned task ends with the thread,
/// and panics with the thread's panic (for the [`Supervisor`]).
fn spawn_checks(
    scheduler: Scheduler,
    results: mpsc::Sender<CheckResult>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<JoinHandle<()>, StartError> {
    type Panic = Box<dyn std::any::Any + Send>;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StartError::Checks)?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Option<Panic>>();
    std::thread::Builder::new()
        .name("mon-checks".into())
        .spawn(move || {
            let run = std::panic::AssertUnwindSafe(|| {
                runtime.block_on(async move {
                    match scheduler.spawn(results, shutdown).await {
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        _ => {}
                    }
                })
            });
            let _ = done_tx.send(std::panic::catch_unwind(run).err());
        })
        .map_err(StartError::Checks)?;
    Ok(tokio::spawn(async move {
        if let Ok(Some(panic)) = done_rx.await {
            std::panic::resume_unwind(panic);
        }
    }))
}

impl App {
    /// Opens the store and starts every background part described by `config`.
    pub async fn start(config: Config) -> Result<App, StartError> {
        let lock = crate::kept::lock_store(&config.storage.path)?;
        let store = Store::open(&config.storage.path, config.storage.store_options())?;
        let (stop, _) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut registry = Registry::default();
        let supervisor = Supervisor::new(stop.subscribe(), &mut registry);
        let hub = SnapshotHub::new();

        // Checks.
        let health = HealthRegistry::new();
        let mut scheduler = Scheduler::new(health.clone(), SchedulerOptions::default());
        if config.server.self_check {
            let check = SelfCheck::new(store.clone(), supervisor.clone());
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
        crate::kept::restore_checks(&store, &health, &hub);
        health.register_metrics(&mut registry);
        let (results_tx, results_rx) = mpsc::channel::<CheckResult>(1024);
        // The first start's failure stops the server; a restart's is retried with backoff.
        let first = spawn_checks(scheduler.clone(), results_tx.clone(), supervisor.stopped())?;
        let mut first = Some(first);
        let sup = supervisor.clone();
        tasks.push(supervisor.spawn("checks", move || {
            first.take().unwrap_or_else(|| {
                match spawn_checks(scheduler.clone(), results_tx.clone(), sup.stopped()) {
                    Ok(task) => task,
                    Err(e) => tokio::spawn(async move { panic!("{e}") }),
                }
            })
        }));

        // Host metrics: into the snapshot, /metrics and the store.
        let (samples_tx, samples_rx) = mpsc::channel::<Vec<Sample>>(64);
        if config.metrics.host {
            let options = HostCollectorOptions {
                disk_path: config
                    .metrics
                    .disk_path
                    .clone()
                    .or_else(|| store_dir(&config)),
            };
            let host = mon_metrics::HostMetrics::register(&mut registry);
            let (hub, interval, sup) = (hub.clone(), config.metrics.interval, supervisor.clone());
            tasks.push(supervisor.spawn("host_metrics", move || {
                let samples_tx = samples_tx.clone();
                mon_metrics::spawn_host_collector(
                    hub.clone(),
                    interval,
                    options.clone(),
                    host.clone(),
                    move |sample| {
                        let now = chrono::Utc::now();
                        let samples = sample
                            .values()
                            .into_iter()
                            .map(|(name, value)| Sample {
                                name,
                                labels: Default::default(),
                                ts: now,
                                value,
                            })
                            .collect();
                        // A full queue drops this round of samples rather than blocking the collector.
                        let _ = samples_tx.try_send(samples);
                    },
                    sup.stopped(),
                )
            }));
        }

        // Persistence of results and samples, and the checks' view in the snapshot.
        // A restarted writer takes over the same queues.
        let queues = Arc::new(tokio::sync::Mutex::new((results_rx, samples_rx)));
        let (s, h, p) = (store.clone(), health.clone(), hub.clone());
        tasks.push(supervisor.spawn("persist", move || {
            let (s, h, p, queues) = (s.clone(), h.clone(), p.clone(), queues.clone());
            tokio::spawn(async move {
                let mut queues = queues.lock().await;
                let (results, samples) = &mut *queues;
                persist(s, h, p, results, samples).await;
            })
        }));

        // Alerting.
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
        let links = mon_alerting::Links::new(&config.server.external_url());
        let alerts = alerting
            .build_with(Some(store.clone()), &links)
            .map_err(|e| StartError::Alerting(e.to_string()))?;
        alerts.register_metrics(&mut registry);
        let (engine, p, interval, sup) = (
            alerts.clone(),
            hub.clone(),
            config.alerting.evaluation_interval,
            supervisor.clone(),
        );
        tasks.push(supervisor.spawn("alert_engine", move || {
            engine.clone().spawn(p.clone(), interval, sup.stopped())
        }));
        // Delivery workers, one per channel: they stop with the evaluation loop.
        for (channel, start) in alerts.delivery_workers() {
            tasks.push(supervisor.spawn(&format!("delivery:{channel}"), start));
        }

        // Uptime per check, from the stored results.
        let (s, h, sup) = (store.clone(), health.clone(), supervisor.clone());
        tasks.push(supervisor.spawn("uptime", move || {
            crate::uptime::spawn(s.clone(), h.clone(), sup.stopped())
        }));

        // Error tracking and log search: mon's own records and ingested events.
        let (logs, logs_task) = crate::logs::LogIngest::start(
            &config.logging,
            store.clone(),
            hub.clone(),
            &supervisor,
        )?;
        tasks.push(logs_task);
        logs.register_metrics(&mut registry);
        if let Some(global) = mon_logging::global() {
            global.add_sink(crate::logs::own_logs_sink(&logs));
            global.stats().register(&mut registry);
        }

        // Application metrics: recorders fed by ingest, into the snapshot, /metrics and series.
        let recorder = mon_metrics::Recorder::new(mon_metrics::RecorderOptions {
            slow_request_threshold: config.metrics.slow_request_threshold,
            rule_window: config.metrics.rule_window,
            max_series: config.metrics.max_series,
            max_label_value_bytes: config.metrics.max_label_value_bytes,
            ..Default::default()
        });
        let ingest = crate::ingest::Ingest::new(
            recorder.clone(),
            config.server.limits.max_body_bytes,
            &mut registry,
        );
        let (r, p, sup) = (recorder.clone(), hub.clone(), supervisor.clone());
        tasks.push(supervisor.spawn("ingest_publisher", move || {
            mon_metrics::spawn_publisher(
                r.clone(),
                p.clone(),
                Duration::from_secs(1),
                sup.stopped(),
            )
        }));
        // LiveKit: webhook and room-error metrics, into the snapshot and /metrics.
        let livekit_metrics = mon_metrics::LivekitMetrics::new(config.metrics.rule_window);
        livekit_metrics.register(&mut registry);
        let (m, p, sup) = (livekit_metrics.clone(), hub.clone(), supervisor.clone());
        tasks.push(supervisor.spawn("livekit_publisher", move || {
            mon_metrics::spawn_livekit_publisher(
                m.clone(),
                p.clone(),
                Duration::from_secs(1),
                sup.stopped(),
            )
        }));
        let livekit = crate::livekit::Livekit::new(
            livekit_metrics,
            config.livekit_webhook_keys(),
            config.livekit_webhook_max_token_lifetime(),
        );
        let (s, resolution, sup) = (store.clone(), config.metrics.resolution, supervisor.clone());
        tasks.push(supervisor.spawn("ingest_sampler", move || {
            crate::ingest::spawn_sampler(recorder.clone(), s.clone(), resolution, sup.stopped())
        }));

        // Retention.
        let (s, policy) = (store.clone(), config.storage.retention.clone());
        let retention = supervisor.spawn("retention", move || s.spawn_retention(policy.clone()));
        let (s, policy) = (store.clone(), config.metrics.series.clone());
        let series_maintenance = supervisor.spawn("series_maintenance", move || {
            s.spawn_series_maintenance(policy.clone())
        });

        let exposition = metrics::Exposition::new(registry, store.clone());
        // One supervised task per exporter, so that a restart starts that one alone.
        for (name, only) in config.metrics.exporters.each() {
            let text: mon_metrics::TextSource = {
                let exposition = exposition.clone();
                Arc::new(move || exposition.encode(true))
            };
            let report: mon_metrics::JsonSource = {
                let recorder = ingest.recorder.clone();
                Arc::new(move || serde_json::to_value(recorder.report()).unwrap_or_default())
            };
            let (status, sup) = (ingest.exporters.clone(), supervisor.clone());
            tasks.push(supervisor.spawn(name, move || {
                let mut started = mon_metrics::spawn_exporters(
                    &only,
                    text.clone(),
                    report.clone(),
                    status.clone(),
                    || sup.stopped(),
                );
                started.pop().unwrap_or_else(|| tokio::spawn(async {}))
            }));
        }
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
            health: health.clone(),
            alerts,
            hub,
            metrics: exposition,
            started_at: chrono::Utc::now(),
            logs,
            ingest,
            livekit,
            dashboards: Arc::new(crate::dashboards::all(&config.dashboards)),
            public_checks: Arc::new(
                config
                    .checks
                    .iter()
                    .filter(|c| c.public)
                    .map(|c| c.name.clone())
                    .collect(),
            ),
        };
        let auth = auth::Auth::new(
            config.server.auth.clone(),
            config.server.public_paths.clone(),
        );
        let router = api::router(state, auth, &config.server.limits);
        Ok(App {
            router,
            store,
            _lock: lock,
            stop,
            tasks,
            retention,
            series_maintenance,
        })
    }

    /// The HTTP router (health, API, metrics), ready to serve or to test with `oneshot`.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Stops background work, then flushes and closes the store.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.retention.abort();
        self.series_maintenance.abort();
        for task in self.tasks {
            let _ = task.await;
        }
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

/// Writes check results and host samples to the store in batches, and mirrors the
/// checks into the rule snapshot. Ends when both channels are closed, after a last write.
async fn persist(
    store: Store,
    health: HealthRegistry,
    hub: SnapshotHub,
    results: &mut mpsc::Receiver<CheckResult>,
    samples: &mut mpsc::Receiver<Vec<Sample>>,
) {
    // The checks' view is copied into the snapshot at most every PUBLISH_CHECKS, so that
    // many checks (each result O(checks) to publish and evaluate) stay cheap.
    const PUBLISH_CHECKS: Duration = Duration::from_secs(1);
    let mut publish_at: Option<tokio::time::Instant> = None;
    const WRITE_EVERY: Duration = Duration::from_millis(100);
    let mut last_write = tokio::time::Instant::now()
        .checked_sub(WRITE_EVERY)
        .unwrap_or_else(tokio::time::Instant::now);
    let (mut results_open, mut samples_open) = (true, true);
    // Variables checks report in `details.variables` (livekit, prometheus).
    let mut variables = crate::livekit::CheckVariables::default();
    while results_open || samples_open {
        let mut batch = WriteBatch::default();
        tokio::select! {
            () = tokio::time::sleep_until(publish_at.unwrap_or_else(tokio::time::Instant::now)), if publish_at.is_some() => {
                publish_at = None;
                publish_checks(&health, &hub);
            }
            r = results.recv(), if results_open => match r {
                Some(r) => {
                    variables.observe(&hub, &r.check, &r.outcome);
                    batch.check_results.push(CheckResultRow { check: r.check, outcome: r.outcome });
                }
                None => results_open = false,
            },
            s = samples.recv(), if samples_open => match s {
                Some(s) => batch.samples.extend(s),
                None => samples_open = false,
            },
        }
        // Check results trickle in one by one: at most one write per WRITE_EVERY. A result
        // after a quiet spell is written at once; under load they gather into one write.
        if !batch.check_results.is_empty() {
            tokio::time::sleep_until(last_write + WRITE_EVERY).await;
            last_write = tokio::time::Instant::now();
        }
        while let Ok(r) = results.try_recv() {
            variables.observe(&hub, &r.check, &r.outcome);
            batch.check_results.push(CheckResultRow {
                check: r.check,
                outcome: r.outcome,
            });
        }
        while let Ok(s) = samples.try_recv() {
            batch.samples.extend(s);
        }
        if !batch.check_results.is_empty() && publish_at.is_none() {
            publish_at = Some(tokio::time::Instant::now() + PUBLISH_CHECKS);
        }
        // Where each check stands now, committed with its results (kept across restarts).
        batch.kept = crate::kept::kept_checks(&health, &batch.check_results);
        if !batch.is_empty()
            && let Err(e) = store.write(batch).await
        {
            tracing::error!(error = %e, "writing check results and samples failed");
        }
    }
    if publish_at.is_some() {
        publish_checks(&health, &hub);
    }
}

/// Copies the checks' current state into the snapshot rules read.
pub(crate) fn publish_checks(health: &HealthRegistry, hub: &SnapshotHub) {
    let checks = health
        .briefs()
        .into_iter()
        .map(|c| {
            (
                c.name,
                CheckSnapshot {
                    status: c.status,
                    latency_ms: c.latency_ms,
                    critical: c.critical,
                },
            )
        })
        .collect();
    // Also derives `health_percentage`, `healthy_checks` and `total_checks`.
    hub.set_checks(checks);
}

/// Binds `server.listen`, starts the [`App`] and serves until SIGINT or SIGTERM,
/// then shuts down gracefully (in-flight requests finish, the store is flushed).
///
/// Port 0 binds a free port; the bound address is what the server then uses
/// everywhere (the `listening` log line, the `external_url` derived from it) and,
/// with `address_file`, is written there (`127.0.0.1:PORT` and a newline, replaced
/// whole) once the server is about to accept connections.
pub async fn run(mut config: Config, address_file: Option<&Path>) -> Result<(), StartError> {
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
    let app = App::start(config).await?;
    if let Some(path) = address_file {
        write_address(path, addr).map_err(|source| StartError::AddressFile {
            path: path.to_path_buf(),
            source,
        })?;
    }
    tracing::info!(%addr, "mon-server listening");
    crate::serve::serve(listener, app.router(), &limits, shutdown_signal(), grace).await;
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
