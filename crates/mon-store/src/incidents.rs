//! Incidents: what the people running a service tell its users (the public status page),
//! written by hand or from an alert, each with its updates (status, message, author).
//! Written through the one writer thread; an incident and its first update commit together.

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use mon_core::Severity;
use rusqlite::{Connection, OptionalExtension, params};

/// Where an incident stands, as its latest update says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IncidentStatus {
    /// The cause is being looked for.
    Investigating,
    /// The cause is known; a fix is under way.
    Identified,
    /// A fix is in; the service is watched.
    Monitoring,
    /// Over.
    Resolved,
}

impl IncidentStatus {
    /// Every status, in the order an incident usually goes through them.
    pub const ALL: [IncidentStatus; 4] = [
        IncidentStatus::Investigating,
        IncidentStatus::Identified,
        IncidentStatus::Monitoring,
        IncidentStatus::Resolved,
    ];

    /// The status as written in the API and stored (lowercase).
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Monitoring => "monitoring",
            IncidentStatus::Resolved => "resolved",
        }
    }

    /// The status written `text` (as [`IncidentStatus::as_str`] writes it).
    pub fn parse(text: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One update of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentUpdate {
    /// When it was posted.
    pub at: DateTime<Utc>,
    /// The incident's status from then on.
    pub status: IncidentStatus,
    /// What it says.
    pub message: String,
    /// Who posted it (the token's name).
    pub author: String,
}

/// A stored incident with its updates, oldest update first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Its id, given by the store.
    pub id: i64,
    /// What users see as its headline.
    pub title: String,
    /// How bad it is.
    pub severity: Severity,
    /// Its latest update's status.
    pub status: IncidentStatus,
    /// The alert it was started from, if any.
    pub alert_id: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its latest update was posted.
    pub updated_at: DateTime<Utc>,
    /// When an update resolved it (cleared by a later update that reopens it).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Its updates, oldest first (the first one was posted with the incident).
    pub updates: Vec<IncidentUpdate>,
}

/// A new incident: its headline and its first update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    /// The headline.
    pub title: String,
    /// How bad it is.
    pub severity: Severity,
    /// The alert it is started from, if any.
    pub alert_id: Option<String>,
    /// Its first update.
    pub update: IncidentUpdate,
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Internal {
        reason: format!("a stored incident has an unknown {what} {value:?}"),
    }
}

/// Inserts `update` of incident `id` and sets the incident's status and times from it.
fn apply_update(conn: &Connection, id: i64, update: &IncidentUpdate) -> Result<(), StoreError> {
    let ctx = |e| StoreError::sqlite("writing an incident update", e);
    let at = update.at.timestamp_millis();
    conn.prepare_cached(
        "INSERT INTO incident_updates (incident_id, ts, status, message, author) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            at,
            update.status.as_str(),
            update.message,
            update.author
        ])
    })
    .map_err(ctx)?;
    let resolved_at = (update.status == IncidentStatus::Resolved).then_some(at);
    conn.prepare_cached(
        "UPDATE incidents SET status = ?2, updated_at = ?3, \
         resolved_at = CASE WHEN ?4 IS NULL THEN NULL ELSE COALESCE(resolved_at, ?4) END \
         WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![id, update.status.as_str(), at, resolved_at]))
    .map_err(ctx)?;
    Ok(())
}

/// The incidents `clause` (`WHERE ...`, bound to `params`) selects, with their updates.
fn read_incidents(
    conn: &Connection,
    clause: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Incident>, StoreError> {
    let ctx = |e| StoreError::sqlite("reading incidents", e);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT id, title, severity, status, alert_id, created_at, updated_at, resolved_at \
             FROM incidents {clause}"
        ))
        .map_err(ctx)?;
    let rows = stmt
        .query_map(params, |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                [row.get::<_, i64>(5)?, row.get::<_, i64>(6)?],
                row.get::<_, Option<i64>>(7)?,
            ))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(ctx)?;
    let mut updates = conn
        .prepare_cached(
            "SELECT ts, status, message, author FROM incident_updates \
             WHERE incident_id = ?1 ORDER BY id",
        )
        .map_err(ctx)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, title, severity, status, alert_id, [created, updated], resolved) in rows {
        let list = updates
            .query_map([id], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(ctx)?
            .into_iter()
            .map(|(at, status, message, author)| {
                Ok(IncidentUpdate {
                    at: time(at),
                    status: IncidentStatus::parse(&status)
                        .ok_or_else(|| corrupt("update status", &status))?,
                    message,
                    author,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.push(Incident {
            id,
            severity: Severity::parse(&severity).ok_or_else(|| corrupt("severity", &severity))?,
            status: IncidentStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            title,
            alert_id,
            created_at: time(created),
            updated_at: time(updated),
            resolved_at: resolved.map(time),
            updates: list,
        });
    }
    Ok(out)
}

impl Store {
    /// Stores `incident` with its first update (one transaction) and returns it.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for an empty title or message; [`StoreError::Closed`];
    /// [`StoreError::Sqlite`] when the write fails.
    pub async fn create_incident(&self, incident: NewIncident) -> Result<Incident, StoreError> {
        if incident.title.trim().is_empty() || incident.update.message.trim().is_empty() {
            return Err(StoreError::InvalidInput {
                reason: "an incident needs a title and a message".to_owned(),
            });
        }
        let id = self
            .run_task(Box::new(move |conn| {
                let at = incident.update.at.timestamp_millis();
                conn.prepare_cached(
                    "INSERT INTO incidents \
                     (title, severity, status, alert_id, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        incident.title,
                        incident.severity.as_str(),
                        incident.update.status.as_str(),
                        incident.alert_id,
                        at
                    ])
                })
                .map_err(|e| StoreError::sqlite("writing an incident", e))?;
                let id = conn.last_insert_rowid();
                apply_update(conn, id, &incident.update)?;
                u64::try_from(id).map_err(|_| corrupt("id", &id.to_string()))
            }))
            .await?;
        let id = i64::try_from(id).map_err(|_| corrupt("id", &id.to_string()))?;
        self.incident(id)
            .await?
            .ok_or_else(|| StoreError::Internal {
                reason: format!("incident {id} is missing right after it was written"),
            })
    }

    /// Adds `update` to incident `id` and returns the incident; `None` when there is none.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for an empty message; [`StoreError::Closed`];
    /// [`StoreError::Sqlite`] when the write fails.
    pub async fn add_incident_update(
        &self,
        id: i64,
        update: IncidentUpdate,
    ) -> Result<Option<Incident>, StoreError> {
        if update.message.trim().is_empty() {
            return Err(StoreError::InvalidInput {
                reason: "an incident update needs a message".to_owned(),
            });
        }
        let found = self
            .run_task(Box::new(move |conn| {
                let exists = conn
                    .prepare_cached("SELECT 1 FROM incidents WHERE id = ?1")
                    .and_then(|mut s| s.query_row([id], |_| Ok(())).optional())
                    .map_err(|e| StoreError::sqlite("reading an incident", e))?;
                if exists.is_none() {
                    return Ok(0);
                }
                apply_update(conn, id, &update)?;
                Ok(1)
            }))
            .await?;
        if found == 0 {
            return Ok(None);
        }
        self.incident(id).await
    }

    /// Incident `id` with its updates, if there is one.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the read fails.
    pub async fn incident(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        self.read(move |conn| Ok(read_incidents(conn, "WHERE id = ?1", &[&id])?.pop()))
            .await
    }

    /// Incidents newest first, at most `limit`: every unresolved one, and the resolved
    /// ones resolved at or after `resolved_since` (all of them when `None`).
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the read fails.
    pub async fn incidents(
        &self,
        resolved_since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError> {
        let since = resolved_since.map_or(i64::MIN, |t| t.timestamp_millis());
        self.read(move |conn| {
            read_incidents(
                conn,
                "WHERE resolved_at IS NULL OR resolved_at >= ?1 \
                 ORDER BY created_at DESC, id DESC LIMIT ?2",
                &[&since, &limit],
            )
        })
        .await
    }
}
