//! mon-server as a library: the composition of mon's crates into one running server.
//!
//! `main.rs` only calls [`main_with`] (arguments, configuration, [`run`]); a server
//! with check or channel kinds of its own registers them on [`App::builder`] (or
//! gives them to [`main_with`]); tests build the same [`App`] and drive its router directly.

mod anomaly;
mod api;
mod app;
mod backup;
mod banner;
mod builder;
mod dashboards;
mod experiments;
mod incidents;
mod ingest;
mod livekit;
mod metrics;
mod otlp;
mod range;
mod reports;
mod security_api;
mod sources;
mod status_page;
mod supervise;
mod ui;

pub use app::{App, StartError, run};
pub use builder::{Builder, main_with};
pub use mon_http::ApiError;
