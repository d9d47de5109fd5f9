//! [`Store`]: opening the database, the write API in front of the writer thread, and reads.

use crate::model::{CheckResultRow, SeriesInfo, StoreStats, WriteBatch};
use crate::read::{self, ReadPool};
use crate::writer::{self, Job, StatsCells, WriteAckRx};
use crate::{StoreError, StoreOptions};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};

/// A handle to an open store. Cheap to clone; all clones share one writer thread and one
/// read pool.
///
/// The writer stops when [`Store::close`] is called or when the last handle is dropped;
/// either way, batches already queued are committed first. Dropping the last handle
/// waits for that (it joins the writer thread), so prefer `close().await` in async code.
#[derive(Clone)]
pub struct Store {
    pub(crate) shared: Arc<Shared>,
}

/// What every handle shares. Fields drop in declaration order: `tx` goes before
/// `writer`, so the writer sees the queue close, drains it, and is then joined.
pub(crate) struct Shared {
    path: PathBuf,
    tx: mpsc::Sender<Job>,
    closing: AtomicBool,
    pub(crate) reads: Arc<ReadPool>,
    stats: Arc<StatsCells>,
    done: watch::Receiver<()>,
    writer: WriterThread,
}

/// The writer's join handle; joining on drop makes dropping the last `Store` a clean stop.
struct WriterThread(Mutex<Option<JoinHandle<()>>>);

impl WriterThread {
    fn take(&self) -> Option<JoinHandle<()>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        if let Some(handle) = self.take()
            && handle.thread().id() != std::thread::current().id()
            && handle.join().is_err()
        {
            tracing::error!("the store writer thread panicked");
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.shared.path)
            .field("queue_depth", &self.queue_depth())
            .field("closing", &self.shared.closing.load(Ordering::Relaxed))
            .finish()
    }
}

/// Maps an SQLite error met while opening to the error that tells the user what to do.
pub(crate) fn open_error(path: &Path, context: &str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotADatabase {
            path: path.to_owned(),
        },
        _ => StoreError::Open {
            path: path.to_owned(),
            reason: format!("{context}: {e}"),
        },
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`, brings its schema up to date,
    /// opens the read pool and starts the writer thread.
    ///
    /// This blocks while it opens files and runs migrations; it needs no async runtime.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the directory cannot be created or the file cannot be
    /// opened for writing, [`StoreError::NotADatabase`] for a file that is not SQLite,
    /// [`StoreError::SchemaTooNew`] for a database written by a newer mon, and
    /// [`StoreError::InvalidOptions`] for out-of-range options.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        options.validate()?;
        let path = path.to_path_buf();
        let open_err = |reason: String| StoreError::Open {
            path: path.clone(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                open_err(format!("cannot create directory {}: {e}", parent.display()))
            })?;
        }
        if path.is_dir() {
            return Err(open_err(
                "the path is a directory; give a file path such as ./mon-data/mon.db".to_owned(),
            ));
        }
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(&path, "opening the database file", e))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| open_error(&path, "setting the busy timeout", e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(|e| open_error(&path, "switching to WAL mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(format!(
                "SQLite could not switch the file to WAL mode (journal_mode is {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", options.synchronous.pragma_value())
            .map_err(|e| open_error(&path, "setting synchronous", e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| open_error(&path, "enabling foreign keys", e))?;
        crate::schema::migrate(&mut conn, &path)?;
        conn.set_prepared_statement_cache_capacity(64);

        let reads = Arc::new(ReadPool::open(&path, &options)?);
        let stats = Arc::new(StatsCells::default());
        let (tx, rx) = mpsc::channel(options.queue_capacity);
        let (done_tx, done_rx) = watch::channel(());
        let handle = std::thread::Builder::new()
            .name("mon-store-writer".to_owned())
            .spawn({
                let stats = Arc::clone(&stats);
                move || writer::run(conn, rx, stats, &options, done_tx)
            })
            .map_err(|e| open_err(format!("cannot start the writer thread: {e}")))?;
        Ok(Store {
            shared: Arc::new(Shared {
                path,
                tx,
                closing: AtomicBool::new(false),
                reads,
                stats,
                done: done_rx,
                writer: WriterThread(Mutex::new(Some(handle))),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// How many batches wait in the write queue now (`mon_store_queue_depth`).
    pub fn queue_depth(&self) -> usize {
        self.shared.tx.max_capacity() - self.shared.tx.capacity()
    }

    /// The write queue capacity, in batches.
    pub fn queue_capacity(&self) -> usize {
        self.shared.tx.max_capacity()
    }

    /// The writer's counters (`mon_store_write_seconds` and friends).
    pub fn stats(&self) -> StoreStats {
        self.shared.stats.snapshot()
    }

    /// Validates a batch and builds its job; `None` for an empty batch (nothing to do).
    fn job(&self, batch: WriteBatch) -> Result<Option<(Job, WriteAckRx)>, StoreError> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        batch.validate()?;
        if batch.is_empty() {
            return Ok(None);
        }
        let (ack, rx) = oneshot::channel();
        Ok(Some((Job::Write { batch, ack }, rx)))
    }

    /// Writes a batch: waits for room in the queue (back-pressure), then for the commit.
    ///
    /// Returns only after the batch is committed: a `Ok(())` is durable as configured by
    /// [`StoreOptions::synchronous`]. Cancelling this future after the batch was queued
    /// does not cancel the write.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a batch the store refuses (NaN value, empty name),
    /// [`StoreError::Closed`] after [`Store::close`], [`StoreError::Sqlite`] when the
    /// transaction failed (nothing of the batch was written).
    pub async fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let Some((job, rx)) = self.job(batch)? else {
            return Ok(());
        };
        self.shared
            .tx
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)?;
        WriteTicket::waiting(rx).await
    }

    /// Queues a batch without waiting: fails at once with [`StoreError::Busy`] when the
    /// queue is full. Await the returned ticket to learn when the batch is committed.
    ///
    /// Does not need an async runtime. Dropping the ticket does not cancel the write.
    pub fn try_write(&self, batch: WriteBatch) -> Result<WriteTicket, StoreError> {
        let Some((job, rx)) = self.job(batch)? else {
            return Ok(WriteTicket::done(Ok(())));
        };
        match self.shared.tx.try_send(job) {
            Ok(()) => Ok(WriteTicket::waiting(rx)),
            Err(TrySendError::Full(_)) => Err(StoreError::Busy {
                capacity: self.queue_capacity(),
            }),
            Err(TrySendError::Closed(_)) => Err(StoreError::Closed),
        }
    }

    /// [`Store::write`] for synchronous code: blocks the thread until the batch is committed.
    ///
    /// # Panics
    /// When called from a thread that is running async tasks (inside a tokio runtime's
    /// `block_on` or a task); use [`Store::write`] there, or call this from
    /// `tokio::task::spawn_blocking`.
    pub fn write_blocking(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let Some((job, rx)) = self.job(batch)? else {
            return Ok(());
        };
        self.shared
            .tx
            .blocking_send(job)
            .map_err(|_| StoreError::Closed)?;
        WriteTicket::waiting(rx).wait_blocking()
    }

    /// Stops accepting writes, commits everything already queued, and waits for the
    /// writer thread to exit. Reads keep working. Calling it again is harmless.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.shared.closing.store(true, Ordering::Release);
        // An error means the writer already closed the queue: it is stopping anyway.
        let _ = self.shared.tx.send(Job::Shutdown).await;
        let mut done = self.shared.done.clone();
        // The writer never sends; `changed` fails once it dropped its end on exit.
        while done.changed().await.is_ok() {}
        if let Some(handle) = self.shared.writer.take() {
            let joined = tokio::task::spawn_blocking(move || handle.join())
                .await
                .map_err(|e| StoreError::Internal {
                    reason: format!("joining the writer thread failed: {e}"),
                })?;
            if joined.is_err() {
                return Err(StoreError::Internal {
                    reason: "the writer thread panicked".to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Sends one job to the writer, waiting for queue space; used by retention.
    pub(crate) async fn send_job(&self, job: Job) -> Result<(), StoreError> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        self.shared
            .tx
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)
    }

    /// Runs a query on a read connection on tokio's blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = Arc::clone(&self.shared.reads);
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|e| StoreError::Internal {
                reason: format!("a read task failed: {e}"),
            })?
    }

    /// The results of one check, newest first: at most `limit`, only those observed at or
    /// after `since` when given.
    pub async fn check_results(
        &self,
        check: &str,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<CheckResultRow>, StoreError> {
        let check = check.to_owned();
        self.read(move |conn| read::check_results(conn, &check, since, limit))
            .await
    }

    /// [`Store::check_results`] for synchronous code (blocks on a read connection).
    pub fn check_results_blocking(
        &self,
        check: &str,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<CheckResultRow>, StoreError> {
        self.shared
            .reads
            .with(|conn| read::check_results(conn, check, since, limit))
    }

    /// The newest result of every check that has one, in check name order.
    pub async fn latest_check_results(&self) -> Result<Vec<CheckResultRow>, StoreError> {
        self.read(read::latest_check_results).await
    }

    /// [`Store::latest_check_results`] for synchronous code.
    pub fn latest_check_results_blocking(&self) -> Result<Vec<CheckResultRow>, StoreError> {
        self.shared.reads.with(read::latest_check_results)
    }

    /// Every metric series, by name then labels.
    pub async fn series_list(&self) -> Result<Vec<SeriesInfo>, StoreError> {
        self.read(read::series_list).await
    }

    /// [`Store::series_list`] for synchronous code.
    pub fn series_list_blocking(&self) -> Result<Vec<SeriesInfo>, StoreError> {
        self.shared.reads.with(read::series_list)
    }

    /// The samples of one series with `from <= ts <= to`, oldest first. An unknown series
    /// gives an empty list.
    pub async fn samples(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, f64)>, StoreError> {
        let name = name.to_owned();
        let labels = labels.clone();
        self.read(move |conn| read::samples(conn, &name, &labels, from, to))
            .await
    }

    /// [`Store::samples`] for synchronous code.
    pub fn samples_blocking(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, f64)>, StoreError> {
        self.shared
            .reads
            .with(|conn| read::samples(conn, name, labels, from, to))
    }
}

/// The pending outcome of a queued batch: resolves once its transaction has ended.
///
/// Await it in async code, or call [`WriteTicket::wait_blocking`] in synchronous code.
/// Dropping it does not cancel the write.
#[derive(Debug)]
#[must_use = "a ticket tells whether the batch was committed; dropping it does not cancel the write"]
pub struct WriteTicket {
    state: TicketState,
}

#[derive(Debug)]
enum TicketState {
    Done(Option<Result<(), StoreError>>),
    Waiting(WriteAckRx),
}

impl WriteTicket {
    fn done(result: Result<(), StoreError>) -> Self {
        WriteTicket {
            state: TicketState::Done(Some(result)),
        }
    }

    fn waiting(rx: WriteAckRx) -> Self {
        WriteTicket {
            state: TicketState::Waiting(rx),
        }
    }

    /// Blocks the thread until the batch is committed (or failed).
    ///
    /// # Panics
    /// When called from a thread that is running async tasks; await the ticket there.
    pub fn wait_blocking(self) -> Result<(), StoreError> {
        match self.state {
            TicketState::Done(result) => result.unwrap_or(Err(StoreError::Closed)),
            // The writer drops the sender without answering only if it died.
            TicketState::Waiting(rx) => rx.blocking_recv().unwrap_or(Err(StoreError::Closed)),
        }
    }
}

impl Future for WriteTicket {
    type Output = Result<(), StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            TicketState::Done(result) => Poll::Ready(result.take().unwrap_or_else(|| {
                Err(StoreError::Internal {
                    reason: "a write ticket was polled after it completed".to_owned(),
                })
            })),
            TicketState::Waiting(rx) => match Pin::new(rx).poll(cx) {
                Poll::Ready(result) => Poll::Ready(result.unwrap_or(Err(StoreError::Closed))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}
