//! mon-health: mon's health checks, their scheduler, status aggregation and the axum health router.
//!
//! - [`CheckConfig`] is one entry of `checks:` in mon.yaml; [`CheckConfig::build`]
//!   turns it into a runnable [`HealthCheck`](mon_core::HealthCheck) with its kind's
//!   factory in a [`Kinds`](mon_core::Kinds) registry. Each built-in kind lives in
//!   its own module under `checks/` and is registered by [`check_kinds`] (and by
//!   every [`Scheduler`]); a kind from another crate is added with [`Scheduler::add_kinds`].
//! - [`Scheduler`] runs checks on their intervals (timeouts, a concurrency
//!   limit, panic isolation) and records outcomes in a [`HealthRegistry`].
//! - [`HealthRegistry`] holds every check's latest state — with flap control
//!   (`failure_threshold` / `success_threshold`), thresholds over a window and
//!   `depends_on` — and answers the summary, detailed and per-check views and
//!   the Prometheus metrics.
//! - [`CheckVariables`] publishes the snapshot variables check results carry
//!   ([`CheckOutcome::variables`](mon_core::CheckOutcome::variables)) into the
//!   rule snapshot's hub, each check under its source `check:<name>`.
//! - [`router`] serves `/health`, `/health/live`, `/health/ready`,
//!   `/health/detailed` and `/health/checks/{name}` from a registry;
//!   [`heartbeat_router`] serves the `POST /api/v1/heartbeat/{name}` pings of
//!   `heartbeat` checks.
//! - With a [`mon_store::Store`]: [`restore_kept`] gives the checks the state they kept
//!   before a restart and stores each heartbeat ping; [`kept_rows`] is that state as
//!   rows to commit with the results; [`spawn_uptime_refresh`] keeps every check's
//!   uptime, counted from the stored results; [`Persistence`] writes check results
//!   and host samples to the store and copies the checks (and the variables they
//!   report) into the rule snapshot ([`publish_checks`]).
//! - [`livekit_webhook`] verifies LiveKit webhook deliveries (signature, token
//!   lifetime) and marks replays of an event already accepted.
//! - [`SelfCheck`] is the `mon` self check: the store's probe ([`mon_store::Store::probe`])
//!   and the background tasks in trouble, as a [`TaskTroubles`] (the server's supervisor) sees them.
//! - [`ShardConfig`] (`checks_shard:`) picks the share of the checks one of several
//!   instances probes, by rendezvous hashing of each check's dependency group.
//! - [`status_page`] renders the public status page and its SVG badges from the
//!   checks marked public, with their uptime counted from the store.
//!
//! The kinds: `http`, `tcp`, `dns`, `tls_certificate`, `redis`, `postgres`,
//! `mysql`, `system`, `heartbeat`, `command`, `livekit`, `prometheus`, `supabase`, `railway`
//! (docs/checks.md), plus any
//! [`HealthCheck`](mon_core::HealthCheck) added with [`Scheduler::add`].
//!
//! Mounting the health endpoints in an application:
//!
//! ```no_run
//! use mon_health::{CheckConfig, HealthRegistry, Scheduler, SchedulerOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let checks: Vec<CheckConfig> = serde_json::from_str(
//!     r#"[{"name": "api", "type": "http", "url": "http://127.0.0.1:9000/health", "interval": "10s"},
//!         {"name": "host", "type": "system", "critical": false}]"#,
//! )?;
//!
//! let registry = HealthRegistry::new();
//! let mut scheduler = Scheduler::new(registry.clone(), SchedulerOptions::default());
//! for check in &checks {
//!     scheduler.add_config(check)?;
//! }
//! let (results, _received) = tokio::sync::mpsc::channel(256);
//! let _checks = scheduler.spawn(results, std::future::pending::<()>());
//!
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "my voice agent" }))
//!     .merge(mon_health::router(registry));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod aggregate;
mod checks;
mod config;
mod error;
mod kept;
mod persist;
mod registry;
mod router;
mod scheduler;
mod self_check;
mod shard;
pub mod status_page;
#[cfg(test)]
mod test_support;
mod uptime;
mod variables;

pub use aggregate::{HealthSummary, health_percentage, overall_status};
pub use checks::{
    Aggregate, CommandCheckConfig, DnsCheckConfig, HeartbeatCheckConfig, HeartbeatSignal,
    HttpCheckConfig, LivekitCheckConfig, LivekitService, MysqlCheckConfig, PostgresCheckConfig,
    PrometheusCheckConfig, RailwayCheckConfig, RailwayTokenKind, RedisCheckConfig, SeriesMapping,
    StatusRange, SupabaseCheckConfig, SupabaseService, SystemCheckConfig, TcpCheckConfig,
    TlsCertificateCheckConfig, check_kinds, livekit_token, livekit_webhook,
};
pub use config::{CheckConfig, ThresholdConfig, validate_checks, validate_dependencies};
pub use error::HealthError;
pub use kept::{kept_rows, restore_kept};
pub use persist::{Persistence, publish_checks};
pub use registry::{
    CheckBrief, CheckEntry, CheckPolicy, CheckState, DetailedHealth, HealthRegistry, Keeper,
    KeptCheck, Section, StatusChange, Uptime,
};
pub use router::{heartbeat_router, router};
pub use scheduler::{CheckResult, Scheduler, SchedulerOptions};
pub use self_check::{KEEPS_DYING, RECENT_PANICS, SelfCheck, TaskTrouble, TaskTroubles};
pub use shard::{MAX_SHARDS, ShardConfig};
pub use uptime::{refresh_uptime, spawn_uptime_refresh};
pub use variables::CheckVariables;
