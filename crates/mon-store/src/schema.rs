//! The schema: versioned migrations, applied at open, version kept in `PRAGMA user_version`.
//!
//! Append new scripts to [`MIGRATIONS`]; never edit one that has shipped. Script `i`
//! (0-based) brings the database from version `i` to version `i + 1`, in one transaction.

use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// The migration scripts, oldest first.
const MIGRATIONS: &[&str] = &[
    // 1: series, raw samples and check results.
    //
    // `samples` is clustered on (series_id, ts) (WITHOUT ROWID): an insert touches one
    // B-tree instead of a table plus an index, and a range query for one series reads
    // contiguous pages. A sample for an existing (series, ts) replaces it. There is no
    // foreign key from samples to series: the writer is the only one that inserts and it
    // resolves ids itself, and a per-row key check would slow ingest down.
    r#"
    CREATE TABLE series (
        id     INTEGER PRIMARY KEY,
        name   TEXT NOT NULL,
        labels TEXT NOT NULL,
        UNIQUE (name, labels)
    ) STRICT;

    CREATE TABLE samples (
        series_id INTEGER NOT NULL,
        ts        INTEGER NOT NULL,
        value     REAL NOT NULL,
        PRIMARY KEY (series_id, ts)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE check_results (
        id         INTEGER PRIMARY KEY,
        check_name TEXT NOT NULL,
        ts         INTEGER NOT NULL,
        status     TEXT NOT NULL,
        latency_ms REAL NOT NULL,
        message    TEXT NOT NULL,
        details    TEXT
    ) STRICT;

    CREATE INDEX check_results_by_check_ts ON check_results (check_name, ts);
    "#,
    // Alerting: alerts (latest state of each instance, JSON body), their history,
    // the notification outbox (one row per channel and idempotency key: enqueueing
    // twice is a no-op, so nothing is sent twice) and silences.
    r#"
    CREATE TABLE alerts (
        id          TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        rule        TEXT NOT NULL,
        state       TEXT NOT NULL,
        severity    TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        body        TEXT NOT NULL
    ) STRICT;
    CREATE INDEX alerts_by_state ON alerts (state, started_at);
    CREATE INDEX alerts_by_updated ON alerts (updated_at);

    CREATE TABLE alert_events (
        id       INTEGER PRIMARY KEY,
        alert_id TEXT NOT NULL,
        ts       INTEGER NOT NULL,
        kind     TEXT NOT NULL,
        detail   TEXT NOT NULL
    ) STRICT;
    CREATE INDEX alert_events_by_alert ON alert_events (alert_id, id);

    CREATE TABLE notifications (
        id         INTEGER PRIMARY KEY,
        channel    TEXT NOT NULL,
        key        TEXT NOT NULL,
        body       TEXT NOT NULL,
        state      TEXT NOT NULL,
        attempts   INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (channel, key)
    ) STRICT;
    CREATE INDEX notifications_pending ON notifications (state, id);

    CREATE TABLE silences (
        id   TEXT PRIMARY KEY,
        body TEXT NOT NULL
    ) STRICT;
    "#,
    // Error tracking (one row per fingerprint; samples: a JSON array, newest last,
    // bounded by the writer) and log search (records with an external-content FTS5
    // index kept in step by triggers).
    r#"
    CREATE TABLE errors (
        fingerprint TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        message     TEXT NOT NULL,
        location    TEXT NOT NULL,
        count       INTEGER NOT NULL,
        first_seen  INTEGER NOT NULL,
        last_seen   INTEGER NOT NULL,
        samples     TEXT NOT NULL
    ) STRICT;
    CREATE INDEX errors_by_last_seen ON errors (last_seen);
    CREATE INDEX errors_by_first_seen ON errors (first_seen);

    CREATE TABLE logs (
        id       INTEGER PRIMARY KEY,
        ts       INTEGER NOT NULL,
        severity INTEGER NOT NULL,
        logger   TEXT NOT NULL,
        message  TEXT NOT NULL,
        call_id  TEXT,
        source   TEXT NOT NULL,
        fields   TEXT NOT NULL
    ) STRICT;
    CREATE INDEX logs_by_ts ON logs (ts);
    CREATE INDEX logs_by_call ON logs (call_id, ts) WHERE call_id IS NOT NULL;

    CREATE VIRTUAL TABLE logs_fts USING fts5 (
        message, logger, fields, content = 'logs', content_rowid = 'id'
    );
    CREATE TRIGGER logs_fts_insert AFTER INSERT ON logs BEGIN
        INSERT INTO logs_fts (rowid, message, logger, fields)
        VALUES (new.id, new.message, new.logger, new.fields);
    END;
    CREATE TRIGGER logs_fts_delete AFTER DELETE ON logs BEGIN
        INSERT INTO logs_fts (logs_fts, rowid, message, logger, fields)
        VALUES ('delete', old.id, old.message, old.logger, old.fields);
    END;
    "#,
    // Time series rollups (1 minute, 1 hour: count, sum, min, max per bucket, clustered
    // like `samples`) and the application events pushed to POST /api/v1/events.
    r#"
    CREATE TABLE samples_1m (
        series_id INTEGER NOT NULL,
        ts        INTEGER NOT NULL,
        count     INTEGER NOT NULL,
        sum       REAL NOT NULL,
        min       REAL NOT NULL,
        max       REAL NOT NULL,
        PRIMARY KEY (series_id, ts)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE samples_1h (
        series_id INTEGER NOT NULL,
        ts        INTEGER NOT NULL,
        count     INTEGER NOT NULL,
        sum       REAL NOT NULL,
        min       REAL NOT NULL,
        max       REAL NOT NULL,
        PRIMARY KEY (series_id, ts)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE app_events (
        id   INTEGER PRIMARY KEY,
        ts   INTEGER NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL
    ) STRICT;
    CREATE INDEX app_events_by_ts ON app_events (ts);
    "#,
    // What the server keeps across restarts besides alerts: per-rule notification
    // bookkeeping (cooldown, max_per_hour, reminders) and per-check state (flap-control
    // counters, reported status, heartbeat pings), as JSON by kind and name.
    r#"
    CREATE TABLE kept_state (
        kind       TEXT NOT NULL,
        name       TEXT NOT NULL,
        body       TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, name)
    ) STRICT, WITHOUT ROWID;
    "#,
    // Security investigation reads auth and security events by type and time among a
    // day of request events (GET /api/v1/security/events).
    r#"
    CREATE INDEX app_events_by_type_ts ON app_events (type, ts);
    "#,
    // The source label of ingested batches (`POST /api/v1/events?source=demo`), so that
    // one source's rows can be deleted at once (`DELETE /api/v1/sources/{source}`).
    r#"
    ALTER TABLE app_events ADD COLUMN source TEXT;
    CREATE INDEX app_events_by_source ON app_events (source) WHERE source IS NOT NULL;
    CREATE INDEX logs_by_source ON logs (source);
    "#,
    // Incidents (written by hand or from an alert) and their updates, shown on the
    // public status page.
    r#"
    CREATE TABLE incidents (
        id          INTEGER PRIMARY KEY,
        title       TEXT NOT NULL,
        severity    TEXT NOT NULL,
        status      TEXT NOT NULL,
        alert_id    TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        resolved_at INTEGER
    ) STRICT;
    CREATE INDEX incidents_by_updated ON incidents (updated_at);

    CREATE TABLE incident_updates (
        id          INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents (id),
        ts          INTEGER NOT NULL,
        status      TEXT NOT NULL,
        message     TEXT NOT NULL,
        author      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX incident_updates_by_incident ON incident_updates (incident_id, id);
    "#,
    // The experiment and variant an application event belongs to, so that one
    // experiment's events are read at once (GET /api/v1/experiments/{name}).
    r#"
    ALTER TABLE app_events ADD COLUMN experiment TEXT;
    ALTER TABLE app_events ADD COLUMN variant TEXT;
    CREATE INDEX app_events_by_experiment ON app_events (experiment, ts)
        WHERE experiment IS NOT NULL;
    "#,
];

/// The schema version this binary writes: the number of migrations it knows.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Reads `user_version`, refuses a newer database, and applies the missing migrations.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: u32 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| crate::store::open_error(path, "reading the schema version", e))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, script) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as u32 + 1;
        let context = format!("applying schema migration {version}");
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| crate::store::open_error(path, &context, e))?;
        tx.execute_batch(script)
            .map_err(|e| crate::store::open_error(path, &context, e))?;
        // `user_version` is part of the database header, so setting it inside the
        // transaction commits it together with the script.
        tx.pragma_update(None, "user_version", version)
            .map_err(|e| crate::store::open_error(path, &context, e))?;
        tx.commit()
            .map_err(|e| crate::store::open_error(path, &context, e))?;
        tracing::info!(path = %path.display(), version, "applied store schema migration");
    }
    Ok(())
}
