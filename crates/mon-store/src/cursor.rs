//! Samples read forward from a cursor, for exporters that ship the store's series to
//! another system (Prometheus remote write): the store is their durable queue. What a
//! receiver has not taken yet stays in `samples` until retention prunes it, and the
//! cursor — per series, the last sample taken — is kept with the exporter's state.

use crate::StoreError;
use crate::store::Store;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How far a reader has got: per series id, the time (Unix ms) of the last sample it
/// took. A series it has not met yet starts after `since`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleCursor {
    /// Samples up to this time (Unix ms) of series not in `series` are not read.
    pub since: i64,
    /// The last sample taken, by series id.
    pub series: BTreeMap<i64, i64>,
}

/// One series' samples after a cursor, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSamples {
    /// The series' id in the store.
    pub id: i64,
    /// The metric name.
    pub name: String,
    /// The series labels.
    pub labels: BTreeMap<String, String>,
    /// `(Unix ms, value)`, oldest first.
    pub samples: Vec<(i64, f64)>,
}

impl SampleCursor {
    /// A cursor that reads what is stored after `since` (Unix ms).
    pub fn starting(since: i64) -> SampleCursor {
        SampleCursor {
            since,
            series: BTreeMap::new(),
        }
    }

    /// Moves past every sample of `batch` (taken by the receiver).
    pub fn advance(&mut self, batch: &[SeriesSamples]) {
        for series in batch {
            if let Some(&(last, _)) = series.samples.last() {
                self.series.insert(series.id, last);
            }
        }
    }

    /// Where series `id` is read from: after its last sample taken, or after `since`.
    fn after(&self, id: i64) -> i64 {
        self.series.get(&id).copied().unwrap_or(self.since)
    }
}

impl Store {
    /// At most `limit` samples stored after `cursor`, series by series (in id order,
    /// each oldest first), only series that have some. The cursor forgets the series
    /// the store no longer has ([`SampleCursor::series`] stays as small as the store).
    pub fn samples_after_blocking(
        &self,
        cursor: &mut SampleCursor,
        limit: usize,
    ) -> Result<Vec<SeriesSamples>, StoreError> {
        self.shared.reads.with(|conn| read(conn, cursor, limit))
    }
}

fn read(
    conn: &Connection,
    cursor: &mut SampleCursor,
    limit: usize,
) -> Result<Vec<SeriesSamples>, StoreError> {
    let ctx = |e| StoreError::sqlite("reading samples after a cursor", e);
    // One snapshot for the series list and their samples.
    let tx = conn.unchecked_transaction().map_err(ctx)?;
    let series: Vec<(i64, String, String)> = {
        let mut stmt = tx
            .prepare_cached("SELECT id, name, labels FROM series ORDER BY id")
            .map_err(ctx)?;
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .map_err(ctx)?
            .collect::<Result<_, _>>()
            .map_err(ctx)?
    };
    cursor
        .series
        .retain(|id, _| series.binary_search_by_key(id, |(s, ..)| *s).is_ok());
    let mut stmt = tx
        .prepare_cached(
            "SELECT ts, value FROM samples WHERE series_id = ?1 AND ts > ?2 ORDER BY ts LIMIT ?3",
        )
        .map_err(ctx)?;
    let mut out = Vec::new();
    let mut left = limit;
    for (id, name, labels) in series {
        if left == 0 {
            break;
        }
        let samples: Vec<(i64, f64)> = stmt
            .query_map(
                rusqlite::params![id, cursor.after(id), left as i64],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(ctx)?
            .collect::<Result<_, _>>()
            .map_err(ctx)?;
        if samples.is_empty() {
            continue;
        }
        let labels = crate::read::decode_labels(&name, &labels)?;
        left -= samples.len();
        out.push(SeriesSamples {
            id,
            name,
            labels,
            samples,
        });
    }
    Ok(out)
}
