//! mon-server as a library: the composition of mon's crates into one running server.
//!
//! `main.rs` only parses arguments and calls [`run`]; tests build the same
//! [`App`] and drive its router directly.

mod alerts_api;
mod api;
mod app;
mod auth;
mod dashboards;
mod error;
mod ingest;
mod kept;
mod livekit;
mod logs;
mod metrics;
mod self_check;
mod serve;
mod status_page;
mod supervise;
mod ui;

pub use app::{App, StartError, run};
pub use error::ApiError;
