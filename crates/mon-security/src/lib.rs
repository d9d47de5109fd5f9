//! mon's security layer for axum/tower services (mon-server's own API included): one
//! [`SecurityLayer`] records every request as `mon_core` events (route template, method,
//! status, latency, sizes, client address, principal) and applies a [`SecurityPolicy`]:
//! IP allow/deny lists, per-route and per-principal rate limits (429 with `Retry-After`),
//! and blocks after too many failed authentications (401/403 answers).
//!
//! The events go to a sink of the application's choosing ([`Sink`]): mon-server feeds them
//! to its ingest path; a Rust service can record them with `mon_metrics::Recorder` or push
//! them to a mon-server. Nothing secret is recorded: no header values, no query strings,
//! no bodies — the route template, never the URL. docs/security.md is the user's guide.

mod client_ip;
mod layer;
mod policy;
mod principal;
mod tracker;

pub use client_ip::client_ip;
pub use layer::{SecurityLayer, SecurityService, Sink, UNMATCHED};
pub use policy::{IpRange, RateLimit, SecurityPolicy};
pub use principal::{Principal, Refusal, claim};
pub use tracker::{Block, Subject};
