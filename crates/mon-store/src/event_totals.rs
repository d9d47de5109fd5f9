//! Application events of one type added up in SQL over a period, in equal buckets and
//! optionally by the value of one field (`Store::event_totals`): what a stakeholder
//! report counts (calls ended and succeeded, MOS, ratings, AI cost...) without reading
//! the events back one by one.
//!
//! Fields are named by a JSON path of one plain key (`$.cost_usd`) and bound as
//! parameters; the aggregates are a closed set ([`Aggregate`]).

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;

/// One figure added up over the events of a bucket.
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregate {
    /// The sum of a numeric field (0 when no event has it).
    Sum(String),
    /// How many events have the field (not null).
    Count(String),
    /// How many events have the field equal to the value (`$.success` = true).
    Equals(String, serde_json::Value),
    /// How many distinct values the field takes (calls by `$.call_id`).
    Distinct(String),
    /// How many events have the numeric field at or above the bound (MOS ≥ 3.6).
    AtLeast(String, f64),
}

impl Aggregate {
    fn path(&self) -> &str {
        match self {
            Aggregate::Sum(p)
            | Aggregate::Count(p)
            | Aggregate::Equals(p, _)
            | Aggregate::Distinct(p)
            | Aggregate::AtLeast(p, _) => p,
        }
    }
}

/// What [`Store::event_totals`] adds up.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTotalsQuery {
    /// The event type (`call_ended`).
    pub kind: String,
    /// The period's start (included).
    pub from: DateTime<Utc>,
    /// The period's end (excluded).
    pub to: DateTime<Utc>,
    /// Equal buckets the period is cut into (1: the period's totals).
    pub buckets: u32,
    /// Totals per value of this field (`$.provider`) as well as per bucket.
    pub group_by: Option<String>,
    /// Only events of batches sent with this source label; `None`: the unlabelled ones.
    pub source: Option<String>,
    /// The figures, in the order [`EventTotals::values`] holds them.
    pub aggregates: Vec<Aggregate>,
}

/// The figures of one bucket (and group).
#[derive(Debug, Clone, PartialEq)]
pub struct EventTotals {
    /// The bucket's index, 0 for the first.
    pub bucket: u32,
    /// The group's value as text, when grouped (`None` for events without the field).
    pub group: Option<String>,
    /// Events counted.
    pub events: u64,
    /// One value per aggregate, in the query's order.
    pub values: Vec<f64>,
}

/// Whether `path` is `$.` followed by one plain key.
fn plain_path(path: &str) -> bool {
    path.strip_prefix("$.").is_some_and(|key| {
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

impl Store {
    /// Adds up the events of `query.kind` in `query.from..query.to`: one row per bucket
    /// (and group) that had events, buckets without events left out.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for zero buckets, an empty period or a path that is
    /// not `$.key`; [`StoreError::Sqlite`] when the read fails.
    pub async fn event_totals(
        &self,
        query: EventTotalsQuery,
    ) -> Result<Vec<EventTotals>, StoreError> {
        let from = query.from.timestamp_millis();
        let to = query.to.timestamp_millis();
        if query.buckets == 0 || to <= from {
            return Err(StoreError::InvalidInput {
                reason: format!(
                    "event totals over {} buckets from {} to {}: give a bucket and a period that ends after it starts",
                    query.buckets, query.from, query.to
                ),
            });
        }
        let paths = query
            .aggregates
            .iter()
            .map(Aggregate::path)
            .chain(query.group_by.as_deref());
        if let Some(bad) = paths.clone().find(|p| !plain_path(p)) {
            return Err(StoreError::InvalidInput {
                reason: format!("{bad:?} is not a field path: write `$.` and a key"),
            });
        }
        // Parameters: 1 type, 2 from, 3 to, 4 bucket width, 5 source, 6 group path, then
        // each aggregate's path (and value).
        let width = ((to - from) + i64::from(query.buckets) - 1) / i64::from(query.buckets);
        let mut params: Vec<Value> = vec![
            Value::Text(query.kind.clone()),
            Value::Integer(from),
            Value::Integer(to),
            Value::Integer(width.max(1)),
            query.source.clone().map_or(Value::Null, Value::Text),
            query.group_by.clone().map_or(Value::Null, Value::Text),
        ];
        let mut columns = Vec::new();
        for aggregate in &query.aggregates {
            params.push(Value::Text(aggregate.path().to_owned()));
            let p = params.len();
            columns.push(match aggregate {
                Aggregate::Sum(_) => format!("TOTAL(json_extract(body, ?{p}))"),
                Aggregate::Count(_) => format!("COUNT(json_extract(body, ?{p}))"),
                Aggregate::Distinct(_) => format!("COUNT(DISTINCT json_extract(body, ?{p}))"),
                Aggregate::Equals(_, value) => {
                    params.push(Value::Text(value.to_string()));
                    format!(
                        "TOTAL(json_extract(body, ?{p}) = json_extract(?{}, '$'))",
                        p + 1
                    )
                }
                Aggregate::AtLeast(_, bound) => {
                    params.push(Value::Real(*bound));
                    format!("TOTAL(json_extract(body, ?{p}) >= ?{})", p + 1)
                }
            });
        }
        // Without a group path, ?6 is null and so is every row's group.
        let mut sql =
            "SELECT (ts - ?2) / ?4 AS bucket, CAST(json_extract(body, ?6) AS TEXT) AS grp, COUNT(*)"
                .to_owned();
        for column in &columns {
            sql.push_str(", ");
            sql.push_str(column);
        }
        sql.push_str(
            " FROM app_events WHERE type = ?1 AND ts >= ?2 AND ts < ?3 AND source IS ?5 \
             GROUP BY bucket, grp ORDER BY bucket, grp",
        );
        let n = query.aggregates.len();
        self.read(move |conn| {
            let ctx = |e| StoreError::sqlite("adding up application events", e);
            let mut stmt = conn.prepare(&sql).map_err(ctx)?;
            stmt.query_map(rusqlite::params_from_iter(params), |row| {
                let bucket: i64 = row.get(0)?;
                Ok(EventTotals {
                    bucket: u32::try_from(bucket).unwrap_or(u32::MAX),
                    group: row.get(1)?,
                    events: row.get(2)?,
                    values: (0..n)
                        .map(|i| row.get::<_, f64>(3 + i))
                        .collect::<Result<_, _>>()?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(ctx)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::plain_path;

    #[test]
    fn only_plain_keys_are_paths() {
        assert!(plain_path("$.cost_usd"));
        assert!(!plain_path("$."));
        assert!(!plain_path("cost"));
        assert!(!plain_path("$.a.b"));
        assert!(!plain_path("$.a') OR 1=1 --"));
    }
}
