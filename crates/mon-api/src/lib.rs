//! The HTTP API's contract, shared by `mon-server` (which answers) and `mon` (the CLI, which
//! reads): typed answers, the error answer and its [`ErrorCode`]s, and the OpenAPI 3.1
//! document served at `GET /api/openapi.json`.
//!
//! - [`error`]: [`ErrorAnswer`] `{"error": {"code", "message"}}`, the shape of every failure,
//!   and [`ErrorCode`], each code with its HTTP status.
//! - [`anomaly`]: the answer of `GET /api/v1/anomaly/{variable}` (a baseline and its band).
//! - [`answers`]: the answers the CLI reads, as types (field names and shapes are the JSON's).
//! - [`endpoints`]: [`ENDPOINTS`], one row per routed method and path with its access
//!   ([`Access`]: public, or the bearer-token role it needs), its answer and its error codes.
//! - [`security`]: the answers of the security API (summary and events).
//! - [`sources`]: deployments, and what deleting one ingest source label removed.
//! - [`quality`]: the alert-quality report (`GET /api/v1/alerts/quality`).
//! - [`reports`]: stakeholder reports, their sections, figures and charts.
//! - [`incidents`]: check history (the status bars) and incidents with their updates.
//! - [`experiments`]: the experiments and one experiment's variants against the control.
//! - [`stats`]: the figures of statistical comparisons (experiment variants, two periods of a
//!   metric): rates, means and distributions of two groups, with intervals, p-values and warnings.
//! - [`openapi`]: [`document`] builds the OpenAPI document from those rows and types.

pub mod anomaly;
pub mod answers;
pub mod endpoints;
pub mod error;
pub mod experiments;
pub mod incidents;
pub mod openapi;
pub mod quality;
pub mod reports;
pub mod security;
pub mod sources;
pub mod stats;

pub use endpoints::{
    Access, Answer, Body, ENDPOINTS, Endpoint, LOG_LEVELS, Method, Param, ParamKind,
    SQLITE_MEDIA_TYPE,
};
pub use error::{ErrorAnswer, ErrorBody, ErrorCode};
pub use openapi::document;
