//! `StoreError`: everything that can go wrong opening, writing to or reading from the store.

use std::path::PathBuf;
use std::sync::Arc;

/// An error from the store.
///
/// Errors are `Clone` because one failed transaction is reported to every
/// caller whose batch was part of it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file or its directory could not be created or opened.
    #[error(
        "cannot open the store at {path}: {reason}; check that the directory can be created and \
         is writable by this user, or set storage.path to another location"
    )]
    Open {
        /// The database file that was being opened.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file exists but is not an SQLite database.
    #[error(
        "{path} is not an SQLite database (wrong file header); move the file away or set \
         storage.path to a new file"
    )]
    NotADatabase {
        /// The offending file.
        path: PathBuf,
    },
    /// The database was written by a newer mon whose schema this binary does not know.
    #[error(
        "the store at {path} has schema version {found}, but this mon supports up to version \
         {supported}; upgrade mon, or set storage.path to another file"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in the file (`PRAGMA user_version`).
        found: u32,
        /// The newest version this binary knows.
        supported: u32,
    },
    /// The write queue is full; the caller should retry later (HTTP 429).
    #[error("the store's write queue is full ({capacity} batches waiting); retry shortly")]
    Busy {
        /// The queue capacity, in batches.
        capacity: usize,
    },
    /// The store was closed (or its writer stopped); no more writes are accepted.
    #[error("the store is closed and accepts no more writes; reopen it to write again")]
    Closed,
    /// A batch was rejected before it reached the database.
    #[error("invalid write: {reason}")]
    InvalidInput {
        /// What is wrong with the batch.
        reason: String,
    },
    /// A [`StoreOptions`](crate::StoreOptions) or
    /// [`RetentionPolicy`](crate::RetentionPolicy) value is out of range.
    #[error("invalid store options: {reason}")]
    InvalidOptions {
        /// Which value is wrong and what it must be.
        reason: String,
    },
    /// SQLite reported an error.
    #[error("SQLite error while {context}: {source}")]
    Sqlite {
        /// What the store was doing.
        context: String,
        /// The error SQLite reported.
        #[source]
        source: Arc<rusqlite::Error>,
    },
    /// A stored row could not be turned back into a value (the file was edited by hand or is damaged).
    #[error(
        "cannot decode a stored {what}: {reason}; the database may have been modified outside mon"
    )]
    Decode {
        /// What was being read (`check result`, `series labels`, ...).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process (another mon-server) holds the store's lock file.
    #[error(
        "the store {store} is in use by another mon-server ({holder}, lock {lock}); stop it first, or give this one another storage.path"
    )]
    Locked {
        /// The store file.
        store: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// Who holds it (`pid N`, as written in the lock file).
        holder: String,
    },
    /// The store's lock file could not be opened, locked or written.
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A background task (a read on the blocking pool, the writer thread) failed unexpectedly.
    #[error("internal store error: {reason}; this is a bug in mon, please report it")]
    Internal {
        /// What failed.
        reason: String,
    },
}

impl StoreError {
    /// Whether retrying the same operation later can succeed: the queue was full, or
    /// SQLite found the database busy or locked by another connection.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Busy { .. } => true,
            StoreError::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }

    /// The SQLite error code behind this error, if any.
    pub fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            StoreError::Sqlite { source, .. } => source.sqlite_error_code(),
            _ => None,
        }
    }

    pub(crate) fn sqlite(context: impl Into<String>, source: rusqlite::Error) -> Self {
        StoreError::Sqlite {
            context: context.into(),
            source: Arc::new(source),
        }
    }
}
