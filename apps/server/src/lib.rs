//! mon-server as a library: the composition of mon's crates into one running server.
//!
//! `main.rs` only calls [`main_with`] (arguments, configuration, [`run`]); a server
//! with check or channel kinds of its own registers them on [`App::builder`] (or
//! gives them to [`main_with`]); tests build the same [`App`] and drive its router directly.

mod alerts_api;
mod api;
mod app;
mod auth;
mod builder;
mod dashboards;
mod error;
mod ingest;
mod kept;
mod livekit;
mod logs;
mod metrics;
mod security_api;
mod self_check;
mod serve;
mod status_page;
mod supervise;
mod ui;

pub use app::{App, StartError, run};
pub use builder::{Builder, main_with};
pub use error::ApiError;
