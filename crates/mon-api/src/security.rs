//! The answers of the security API (`GET /api/v1/security/summary` and
//! `GET /api/v1/security/events`), which the server builds from its recorder and store
//! and `mon security` reads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::ComponentsBuilder;

/// The event types `GET /api/v1/security/events?type=` accepts.
pub const SECURITY_EVENT_TYPES: &[&str] = &["auth", "security", "request"];

/// Counts over the security window (`security.failed_login_window`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityCounts {
    /// Authentication attempts (`auth` events).
    pub auth_attempts: u64,
    /// Failed authentications.
    pub failed_logins: u64,
    /// Attempts refused by an IP deny list (`security` events `ip_denied`).
    pub denied_ip_attempts: u64,
    /// Requests refused by a rate limit (`security` events `rate_limited`).
    pub rate_limited: u64,
    /// Security events of any kind.
    pub security_events: u64,
    /// Events naming an address or a principal (requests, auth attempts, security events).
    pub volume: u64,
    /// Events whose address or principal was not tracked because `security.max_tracked`
    /// were already tracked, since the server started (they count in the totals).
    pub untracked: u64,
}

/// One client address or principal with its counts over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityActorView {
    /// `ip` or `principal`.
    pub kind: String,
    /// The address or the principal.
    pub name: String,
    /// Failed authentications.
    pub failed_logins: u64,
    /// Attempts refused by an IP deny list.
    pub denied: u64,
    /// Requests refused by a rate limit.
    pub rate_limited: u64,
    /// Events naming it.
    pub volume: u64,
    /// Distinct addresses seen for a principal (0 for an address).
    pub distinct_ips: u64,
    /// Addresses new for a principal within the window.
    pub new_ips: u64,
    /// Its last event.
    pub last_seen: DateTime<Utc>,
}

/// An address or principal an application refused within the window, as far as mon
/// knows it (from `security` events `ip_denied` and `rate_limited`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityBlockView {
    /// `ip` or `principal`.
    pub kind: String,
    /// The address or the principal.
    pub name: String,
    /// The last refusal's event: `ip_denied` or `rate_limited`.
    pub reason: String,
    /// When it was last refused.
    pub at: DateTime<Utc>,
    /// Deny-list refusals within the window.
    pub denied: u64,
    /// Rate-limit refusals within the window.
    pub rate_limited: u64,
}

/// `GET /api/v1/security/summary`: what mon knows of authentication and security now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecuritySummaryAnswer {
    /// The window the counts are over (`security.failed_login_window`), e.g. `5m`.
    pub window: String,
    /// The brute-force threshold (`security.max_failed_logins`).
    pub max_failed_logins: u32,
    /// Counts over the window.
    pub counts: SecurityCounts,
    /// Addresses with the most failed logins.
    pub top_ips_by_failures: Vec<SecurityActorView>,
    /// Addresses with the most events.
    pub top_ips_by_volume: Vec<SecurityActorView>,
    /// Principals with the most failed logins.
    pub top_principals_by_failures: Vec<SecurityActorView>,
    /// Principals with the most events.
    pub top_principals_by_volume: Vec<SecurityActorView>,
    /// Current refusals, the most recent first.
    pub blocks: Vec<SecurityBlockView>,
}

/// One stored event of `GET /api/v1/security/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityEventView {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// `auth`, `security` or `request`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The client address, when the event has one.
    pub ip: Option<String>,
    /// The principal (masked like every free text), when the event has one.
    pub principal: Option<String>,
    /// The event as it was stored.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// `GET /api/v1/security/events`: stored security-relevant events, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityEventsAnswer {
    /// How many events follow.
    pub count: usize,
    /// The events.
    pub events: Vec<SecurityEventView>,
}

/// Adds the security answers' schemas to the OpenAPI components.
pub(crate) fn components(builder: ComponentsBuilder) -> ComponentsBuilder {
    builder
        .schema_from::<SecurityCounts>()
        .schema_from::<SecurityActorView>()
        .schema_from::<SecurityBlockView>()
        .schema_from::<SecuritySummaryAnswer>()
        .schema_from::<SecurityEventView>()
        .schema_from::<SecurityEventsAnswer>()
}
