//! State kept across restarts (`kept_state`): small JSON documents by kind and name,
//! replaced on every write — a rule's notification bookkeeping, a check's flap-control
//! counters and heartbeat pings. Written in [`WriteBatch::kept`](crate::WriteBatch)
//! through the one writer thread, in the same transaction as the rows they go with.

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

/// One kept document: inserted, or replacing the one of the same kind and name.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptState {
    /// What it belongs to (`rule`, `check`...), chosen by its owner.
    pub kind: String,
    /// Whose it is (the rule's or the check's name).
    pub name: String,
    /// The state, serialised by its owner.
    pub body: serde_json::Value,
    /// When it was taken.
    pub at: DateTime<Utc>,
}

impl crate::WriteBatch {
    /// A batch of kept state only.
    pub fn from_kept(kept: Vec<KeptState>) -> Self {
        crate::WriteBatch {
            kept,
            ..Default::default()
        }
    }
}

/// Applies kept-state writes inside the writer's open transaction.
pub(crate) fn apply(conn: &Connection, rows: &[KeptState]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO kept_state (kind, name, body, updated_at) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(|e| StoreError::sqlite("preparing the kept state write", e))?;
    for row in rows {
        stmt.execute(params![
            row.kind,
            row.name,
            row.body.to_string(),
            row.at.timestamp_millis()
        ])
        .map_err(|e| StoreError::sqlite("writing kept state", e))?;
    }
    Ok(())
}

impl Store {
    /// Every kept document of `kind`, by name: what a restarted server restores.
    /// A body that is not valid JSON is skipped with a warning (its owner starts afresh).
    pub fn kept_states_blocking(&self, kind: &str) -> Result<Vec<KeptState>, StoreError> {
        self.shared.reads.with(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT name, body, updated_at FROM kept_state WHERE kind = ?1 ORDER BY name",
                )
                .map_err(|e| StoreError::sqlite("preparing the kept state query", e))?;
            let rows = stmt
                .query_map([kind], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })
                .map_err(|e| StoreError::sqlite("querying kept state", e))?;
            let mut out = Vec::new();
            for row in rows {
                let (name, body, at) = row.map_err(|e| StoreError::sqlite("reading kept state", e))?;
                match serde_json::from_str(&body) {
                    Ok(body) => out.push(KeptState {
                        kind: kind.to_owned(),
                        name,
                        body,
                        at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
                    }),
                    Err(e) => {
                        tracing::warn!(kind, name, error = %e, "kept state is not valid JSON; ignored");
                    }
                }
            }
            Ok(out)
        })
    }
}
