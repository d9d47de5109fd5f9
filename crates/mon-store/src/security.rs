//! Security investigation: the stored `auth` and `security` events, and the `request`
//! events that name a principal or a client address, read back from `app_events` by
//! type, address, principal and time (`GET /api/v1/security/events`). They are kept
//! like every application event (`metrics.series.events_retention`).

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

/// The event types security queries read: `auth`, `security`, and `request` (those
/// naming a principal or an address).
pub const SECURITY_EVENT_TYPES: &[&str] = &["auth", "security", "request"];

/// What to read: every field narrows the answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityEventQuery {
    /// One of [`SECURITY_EVENT_TYPES`]; `None`: `auth` and `security`.
    pub kind: Option<String>,
    /// The client address, as written by the event (canonical text of an IP address).
    pub ip: Option<String>,
    /// The principal, as stored (masked like every free text).
    pub principal: Option<String>,
    /// Events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// One stored security-relevant event.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEventRow {
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// `auth`, `security` or `request`.
    pub kind: String,
    /// The event as stored (JSON).
    pub body: serde_json::Value,
}

fn search(conn: &Connection, q: &SecurityEventQuery) -> Result<Vec<SecurityEventRow>, StoreError> {
    if let Some(kind) = q.kind.as_deref()
        && !SECURITY_EVENT_TYPES.contains(&kind)
    {
        return Err(StoreError::InvalidInput {
            reason: format!(
                "unknown security event type {kind:?}; use one of {}",
                SECURITY_EVENT_TYPES.join(", ")
            ),
        });
    }
    let ctx = |e| StoreError::sqlite("reading security events", e);
    // Without a type: auth and security; `request` rows only when they name someone.
    let mut stmt = conn
        .prepare_cached(
            "SELECT ts, type, body FROM app_events \
             WHERE type IN ('auth', 'security', 'request') \
               AND (?1 IS NULL OR type = ?1) \
               AND (?1 IS NOT NULL OR type <> 'request') \
               AND ts >= ?2 \
               AND (type <> 'request' OR json_extract(body, '$.ip') IS NOT NULL \
                    OR json_extract(body, '$.principal') IS NOT NULL) \
               AND (?3 IS NULL OR json_extract(body, '$.ip') = ?3) \
               AND (?4 IS NULL OR json_extract(body, '$.principal') = ?4) \
             ORDER BY ts DESC, id DESC LIMIT ?5",
        )
        .map_err(ctx)?;
    stmt.query_map(
        params![
            q.kind,
            q.since.map_or(i64::MIN, |t| t.timestamp_millis()),
            q.ip,
            q.principal,
            q.limit,
        ],
        |row| {
            let body: String = row.get(2)?;
            Ok(SecurityEventRow {
                ts: DateTime::from_timestamp_millis(row.get(0)?).unwrap_or_default(),
                kind: row.get(1)?,
                body: serde_json::from_str(&body).unwrap_or_default(),
            })
        },
    )
    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
    .map_err(ctx)
}

impl Store {
    /// Stored security-relevant events matching `query`, newest first.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a type not in [`SECURITY_EVENT_TYPES`].
    pub async fn security_events(
        &self,
        query: SecurityEventQuery,
    ) -> Result<Vec<SecurityEventRow>, StoreError> {
        self.read(move |conn| search(conn, &query)).await
    }
}
