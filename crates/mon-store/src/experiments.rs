//! The application events of experiments, read back by experiment
//! (`GET /api/v1/experiments[/{name}]`): every event an application sent with an
//! `experiment` and a `variant` is kept with them in `app_events`, indexed by experiment.

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::params;

/// One variant of one experiment, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmSummary {
    /// The experiment's name.
    pub experiment: String,
    /// The variant.
    pub variant: String,
    /// Events kept for it.
    pub events: u64,
    /// The first of them.
    pub first_seen: DateTime<Utc>,
    /// The last of them.
    pub last_seen: DateTime<Utc>,
}

/// One stored event of an experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmEvent {
    /// The variant it belongs to.
    pub variant: String,
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// The event as stored (JSON text of a `mon_core::Event`).
    pub body: String,
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Store {
    /// Every variant of every experiment with events at or after `since`, by experiment
    /// then variant.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the read fails.
    pub async fn experiment_arms(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<ArmSummary>, StoreError> {
        self.read(move |conn| {
            let ctx = |e| StoreError::sqlite("reading experiments", e);
            let mut stmt = conn
                .prepare_cached(
                    "SELECT experiment, variant, COUNT(*), MIN(ts), MAX(ts) FROM app_events \
                     WHERE experiment IS NOT NULL AND ts >= ?1 \
                     GROUP BY experiment, variant ORDER BY experiment, variant",
                )
                .map_err(ctx)?;
            stmt.query_map(params![since.timestamp_millis()], |row| {
                Ok(ArmSummary {
                    experiment: row.get(0)?,
                    variant: row.get(1)?,
                    events: row.get(2)?,
                    first_seen: time(row.get(3)?),
                    last_seen: time(row.get(4)?),
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(ctx)
        })
        .await
    }

    /// The events of `experiment` at or after `since` (and before `until` when given),
    /// oldest first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the read fails.
    pub async fn experiment_events(
        &self,
        experiment: &str,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<ArmEvent>, StoreError> {
        let until = until.map_or(i64::MAX, |t| t.timestamp_millis());
        let experiment = experiment.to_owned();
        self.read(move |conn| {
            let ctx = |e| StoreError::sqlite("reading an experiment's events", e);
            let mut stmt = conn
                .prepare_cached(
                    "SELECT variant, ts, body FROM app_events \
                     WHERE experiment = ?1 AND ts >= ?2 AND ts < ?4 ORDER BY ts, id LIMIT ?3",
                )
                .map_err(ctx)?;
            stmt.query_map(
                params![experiment, since.timestamp_millis(), limit, until],
                |row| {
                    Ok(ArmEvent {
                        variant: row.get(0)?,
                        ts: time(row.get(1)?),
                        body: row.get(2)?,
                    })
                },
            )
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(ctx)
        })
        .await
    }
}
