//! mon-http: hardened HTTP for mon-server and the crates' routers.
//!
//! What every router of mon shares, so that an area's router can live in the crate that
//! owns its data (`mon_health::router`, `mon_alerting::http`, `mon_logging::http`) and
//! still answer like the rest of the API:
//!
//! - [`ApiError`]: every failure answers JSON `{"error": {"code", "message"}}` with a
//!   [`mon_api::ErrorCode`]; store errors convert by kind (`From<StoreError>`);
//!   [`Json`], the one JSON body extractor, whose refusals are `ApiError`s;
//! - [`params`]: time, duration, range and limit parameters, parsed alike everywhere;
//! - [`Auth`]: bearer tokens with roles `read < ingest < admin` ([`require_role`],
//!   [`whoami_router`]), configured by [`AuthConfig`];
//! - [`serving_layers`]: body limit, timeout, head limits, security headers, JSON error
//!   answers, a panicking handler answered 500 JSON; [`not_found`], the fallback;
//! - [`serve`]: the accept loop (connection limit, header-read and keep-alive timeouts,
//!   graceful shutdown), configured by [`LimitsConfig`].
//!
//! It depends on mon-core, mon-api and mon-store only, so the middle crates may use it.

mod auth;
mod config;
mod error;
mod layers;
pub mod params;
mod serve;

pub use auth::{Auth, TokenName, require_role, whoami_router};
pub use config::{AuthConfig, LimitsConfig, MetricsAccess, Role, TokenConfig};
pub use error::{ApiError, Json};
pub use layers::{not_found, panic_message, serving_layers};
pub use serve::serve;
