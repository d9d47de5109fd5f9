//! Error tracking and log search: `errors` (one row per fingerprint with count, first
//! and last seen and a bounded list of sample contexts) and `logs` (records with an
//! FTS5 full-text index on message, logger and fields).
//!
//! Writes travel in [`WriteBatch::logs`](crate::WriteBatch) through the one writer
//! thread like every other write; the queries here read on the read pool.

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// The levels, least severe first; a record's severity is its index.
pub const LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// The severity (index in [`LEVELS`]) of a level name; `None` for an unknown name.
pub fn severity(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| l.eq_ignore_ascii_case(level))
}

/// One log record stored for search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogRow {
    /// When it happened (stored in milliseconds).
    pub timestamp: DateTime<Utc>,
    /// One of [`LEVELS`].
    pub level: String,
    /// The logger (target) or the application that sent it.
    pub logger: String,
    /// The message.
    pub message: String,
    /// The call it belongs to.
    pub call_id: Option<String>,
    /// Where it came from: `mon` (the server's own logs) or `ingest`.
    pub source: String,
    /// The other fields and context ids, a JSON object.
    pub fields: serde_json::Value,
}

/// One occurrence of a tracked error.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRow {
    /// The group's fingerprint.
    pub fingerprint: String,
    /// The error's kind.
    pub kind: String,
    /// The normalised message.
    pub message: String,
    /// Where it happened.
    pub location: String,
    /// When.
    pub timestamp: DateTime<Utc>,
    /// A sample context to keep, when this occurrence was sampled.
    pub sample: Option<serde_json::Value>,
    /// Samples kept per group at most: the newest ones.
    pub max_samples: u32,
}

/// One error-tracking or log-search write.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LogWrite {
    /// Store a record for search.
    Log(LogRow),
    /// Count an error occurrence in its group (creating the group when new).
    Error(ErrorRow),
    /// Delete at most `limit` records older than `before`, and error groups not seen since.
    Prune {
        /// The cut-off.
        before: DateTime<Utc>,
        /// Rows deleted per table at most.
        limit: u32,
    },
}

impl crate::WriteBatch {
    /// A batch of error-tracking and log-search writes only.
    pub fn from_logs(logs: Vec<LogWrite>) -> Self {
        crate::WriteBatch {
            logs,
            ..Default::default()
        }
    }
}

/// A group of errors sharing a fingerprint.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ErrorGroup {
    /// The fingerprint.
    pub fingerprint: String,
    /// The error kind.
    pub kind: String,
    /// The normalised message.
    pub message: String,
    /// Where it happens.
    pub location: String,
    /// Occurrences counted.
    pub count: u64,
    /// The first occurrence.
    pub first_seen: DateTime<Utc>,
    /// The latest occurrence.
    pub last_seen: DateTime<Utc>,
    /// Sample contexts, oldest first (bounded).
    pub samples: Vec<serde_json::Value>,
}

/// A log search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    /// Words that must all appear (in message, logger or fields); `word*` matches a prefix.
    pub text: Option<String>,
    /// The lowest level returned (one of [`LEVELS`]).
    pub min_level: Option<String>,
    /// Only this call's records.
    pub call_id: Option<String>,
    /// Only records at or after.
    pub since: Option<DateTime<Utc>>,
    /// Only records at or before.
    pub until: Option<DateTime<Utc>>,
    /// Records returned at most (newest first).
    pub limit: u32,
}

/// Applies the writes inside the writer's open transaction.
pub(crate) fn apply(conn: &Connection, writes: &[LogWrite]) -> Result<(), StoreError> {
    for write in writes {
        match write {
            LogWrite::Log(row) => {
                let severity = severity(&row.level).ok_or_else(|| StoreError::InvalidInput {
                    reason: format!("unknown log level {:?}", row.level),
                })?;
                conn.prepare_cached(
                    "INSERT INTO logs (ts, severity, logger, message, call_id, source, fields) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        row.timestamp.timestamp_millis(),
                        severity as i64,
                        row.logger,
                        row.message,
                        row.call_id,
                        row.source,
                        row.fields.to_string(),
                    ])
                })
                .map_err(|e| StoreError::sqlite("storing a log record", e))?;
            }
            LogWrite::Error(row) => {
                let sample = row.sample.as_ref().map(|s| s.to_string());
                conn.prepare_cached(
                    "INSERT INTO errors (fingerprint, kind, message, location, count, first_seen, last_seen, samples) \
                     VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, \
                             CASE WHEN ?6 IS NULL OR ?7 = 0 THEN '[]' ELSE json_array(json(?6)) END) \
                     ON CONFLICT (fingerprint) DO UPDATE SET \
                       count = count + 1, \
                       first_seen = min(first_seen, excluded.first_seen), \
                       last_seen = max(last_seen, excluded.last_seen), \
                       samples = CASE \
                         WHEN ?6 IS NULL OR ?7 = 0 THEN samples \
                         WHEN json_array_length(samples) >= ?7 THEN json_insert(json_remove(samples, '$[0]'), '$[#]', json(?6)) \
                         ELSE json_insert(samples, '$[#]', json(?6)) END",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        row.fingerprint,
                        row.kind,
                        row.message,
                        row.location,
                        row.timestamp.timestamp_millis(),
                        sample,
                        row.max_samples,
                    ])
                })
                .map_err(|e| StoreError::sqlite("counting an error", e))?;
            }
            LogWrite::Prune { before, limit } => {
                let cutoff = before.timestamp_millis();
                conn.prepare_cached(
                    "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE ts < ?1 ORDER BY ts LIMIT ?2)",
                )
                .and_then(|mut s| s.execute(params![cutoff, limit]))
                .map_err(|e| StoreError::sqlite("pruning log records", e))?;
                conn.prepare_cached(
                    "DELETE FROM errors WHERE fingerprint IN \
                     (SELECT fingerprint FROM errors WHERE last_seen < ?1 LIMIT ?2)",
                )
                .and_then(|mut s| s.execute(params![cutoff, limit]))
                .map_err(|e| StoreError::sqlite("pruning error groups", e))?;
            }
        }
    }
    Ok(())
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn error_group(row: &Row<'_>) -> rusqlite::Result<ErrorGroup> {
    let samples: String = row.get(7)?;
    Ok(ErrorGroup {
        fingerprint: row.get(0)?,
        kind: row.get(1)?,
        message: row.get(2)?,
        location: row.get(3)?,
        count: row.get::<_, i64>(4)?.max(0) as u64,
        first_seen: time(row.get(5)?),
        last_seen: time(row.get(6)?),
        samples: serde_json::from_str(&samples).unwrap_or_default(),
    })
}

const ERROR_COLUMNS: &str =
    "fingerprint, kind, message, location, count, first_seen, last_seen, samples";

/// The user's words as an FTS5 query that cannot be a syntax error: every word quoted
/// (so operators and punctuation are plain text), `word*` kept as a prefix query. Control
/// characters separate words, as the tokenizer reads them (FTS5 takes a NUL for the end
/// of the query, which would leave a quote open).
pub fn fts_query(text: &str) -> Option<String> {
    let text = text.replace(char::is_control, " ");
    let terms: Vec<String> = text
        .split_whitespace()
        .map(|word| {
            let (word, prefix) = match word.strip_suffix('*') {
                Some(w) if !w.is_empty() => (w, "*"),
                _ => (word, ""),
            };
            format!("\"{}\"{prefix}", word.replace('"', "\"\""))
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

fn search(conn: &Connection, query: &LogQuery) -> Result<Vec<LogRow>, StoreError> {
    let min = query
        .min_level
        .as_deref()
        .map(|l| {
            severity(l).ok_or_else(|| StoreError::InvalidInput {
                reason: format!("unknown level {l:?}; use one of {}", LEVELS.join(", ")),
            })
        })
        .transpose()?
        .unwrap_or(0);
    let text = query.text.as_deref().and_then(fts_query);
    let mut stmt = conn
        .prepare_cached(
            "SELECT ts, severity, logger, message, call_id, source, fields FROM logs \
             WHERE (?1 IS NULL OR id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?1)) \
               AND severity >= ?2 AND (?3 IS NULL OR call_id = ?3) \
               AND ts >= ?4 AND ts <= ?5 \
             ORDER BY ts DESC, id DESC LIMIT ?6",
        )
        .map_err(|e| StoreError::sqlite("searching logs", e))?;
    let rows = stmt
        .query_map(
            params![
                text,
                min as i64,
                query.call_id,
                query.since.map_or(i64::MIN, |t| t.timestamp_millis()),
                query.until.map_or(i64::MAX, |t| t.timestamp_millis()),
                query.limit,
            ],
            |row| {
                let severity: i64 = row.get(1)?;
                let fields: String = row.get(6)?;
                Ok(LogRow {
                    timestamp: time(row.get(0)?),
                    level: LEVELS
                        .get(usize::try_from(severity).unwrap_or(0))
                        .unwrap_or(&"info")
                        .to_string(),
                    logger: row.get(2)?,
                    message: row.get(3)?,
                    call_id: row.get(4)?,
                    source: row.get(5)?,
                    fields: serde_json::from_str(&fields).unwrap_or_default(),
                })
            },
        )
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| StoreError::sqlite("searching logs", e))?;
    Ok(rows)
}

impl Store {
    /// Stored log records matching `query`, newest first.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for an unknown level.
    pub async fn search_logs(&self, query: LogQuery) -> Result<Vec<LogRow>, StoreError> {
        self.read(move |conn| search(conn, &query)).await
    }

    /// Error groups seen at or after `since` (all when `None`), most recently seen
    /// first, at most `limit`.
    pub async fn error_groups(
        &self,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<ErrorGroup>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {ERROR_COLUMNS} FROM errors WHERE last_seen >= ?1 \
                     ORDER BY last_seen DESC LIMIT ?2"
                ))
                .map_err(|e| StoreError::sqlite("listing errors", e))?;
            stmt.query_map(
                params![since.map_or(i64::MIN, |t| t.timestamp_millis()), limit],
                error_group,
            )
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StoreError::sqlite("listing errors", e))
        })
        .await
    }

    /// One error group.
    pub async fn error_group(&self, fingerprint: &str) -> Result<Option<ErrorGroup>, StoreError> {
        let fingerprint = fingerprint.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {ERROR_COLUMNS} FROM errors WHERE fingerprint = ?1"
            ))
            .and_then(|mut s| s.query_row(params![fingerprint], error_group).optional())
            .map_err(|e| StoreError::sqlite("reading an error group", e))
        })
        .await
    }

    /// How many error groups were first seen at or after `since`.
    pub async fn new_error_groups(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT count(*) FROM errors WHERE first_seen >= ?1")
                .and_then(|mut s| {
                    s.query_row(params![since.timestamp_millis()], |r| r.get::<_, i64>(0))
                })
                .map(|n| n.max(0) as u64)
                .map_err(|e| StoreError::sqlite("counting new errors", e))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_queries_are_quoted() {
        for (input, want) in [
            ("timeout", Some("\"timeout\"")),
            ("sip  timeout", Some("\"sip\" \"timeout\"")),
            ("time*", Some("\"time\"*")),
            ("a\"b OR NOT", Some("\"a\"\"b\" \"OR\" \"NOT\"")),
            ("*", Some("\"*\"")),
            ("   ", None),
            ("a\u{0}b\u{94}", Some("\"a\" \"b\"")),
            ("\u{0}", None),
        ] {
            assert_eq!(fts_query(input).as_deref(), want, "{input}");
        }
    }
}
