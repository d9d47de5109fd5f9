//! Log files: `app/`, `errors/`, `audit/` and `performance/` under `logging.dir`, each
//! rotated daily (UTC) and by size, pruned by age at start and at every rotation.
//!
//! The caller never waits for the disk: lines go through a bounded queue to one writer
//! thread. When the queue is full, ERROR and audit lines wait for room (they are never
//! dropped); other lines are dropped and counted (`mon_log_dropped_total`), and the writer
//! notes how many in `app/` once it catches up.
//!
//! Files are named `<prefix>_<YYYY-MM-DD>.log`, then `<prefix>_<YYYY-MM-DD>.1.log`,
//! `.2.log`... when a day's file reaches the size limit. Prefixes: `app`, `error`,
//! `audit`, `performance`.

use crate::metrics::LogStats;
use crate::{LogRetention, LoggingError};
use chrono::{DateTime, NaiveDate, Utc};
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

/// A clock for rotation and retention: `Utc::now` in production, a test's own in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A set of streams a line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streams(u8);

impl Streams {
    /// `app/`: everything at the configured level.
    pub const APP: Streams = Streams(1);
    /// `errors/`: ERROR.
    pub const ERRORS: Streams = Streams(2);
    /// `audit/`: [`audit_log`](crate::audit_log).
    pub const AUDIT: Streams = Streams(4);
    /// `performance/`: [`perf_timer`](crate::perf_timer).
    pub const PERFORMANCE: Streams = Streams(8);

    fn contains(self, other: Streams) -> bool {
        self.0 & other.0 == other.0
    }

    /// Lines that must never be dropped.
    fn must_keep(self) -> bool {
        self.0 & (Streams::ERRORS.0 | Streams::AUDIT.0) != 0
    }
}

impl std::ops::BitOrAssign for Streams {
    fn bitor_assign(&mut self, rhs: Streams) {
        self.0 |= rhs.0;
    }
}

/// The four streams: directory, file prefix, bit.
const STREAMS: [(&str, &str, Streams); 4] = [
    ("app", "app", Streams::APP),
    ("errors", "error", Streams::ERRORS),
    ("audit", "audit", Streams::AUDIT),
    ("performance", "performance", Streams::PERFORMANCE),
];

/// How the files are kept.
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// The directory holding the four stream directories.
    pub dir: PathBuf,
    /// Rotate before a file would grow past this many bytes.
    pub max_file_size: u64,
    /// How long each stream's files are kept.
    pub retention: LogRetention,
    /// Lines queued for the writer thread at most.
    pub queue_capacity: usize,
}

enum Message {
    Line(Streams, String),
    Flush(SyncSender<()>),
}

/// The sending side: cheap to call from any thread.
pub struct FileSink {
    tx: SyncSender<Message>,
}

impl std::fmt::Debug for FileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSink").finish_non_exhaustive()
    }
}

impl FileSink {
    /// Creates the directories, prunes expired files and starts the writer thread.
    ///
    /// # Errors
    /// [`LoggingError::Files`] when a directory cannot be created.
    pub fn start(
        options: FileOptions,
        clock: Clock,
        stats: LogStats,
    ) -> Result<FileSink, LoggingError> {
        let mut writer = Writer {
            streams: Vec::new(),
            max_file_size: options.max_file_size.max(1),
            clock,
            dropped_reported: 0,
            stats,
        };
        for (dir, prefix, bit) in STREAMS {
            let path = options.dir.join(dir);
            fs::create_dir_all(&path).map_err(|e| LoggingError::Files {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let keep = match bit {
                Streams::APP => options.retention.app,
                Streams::ERRORS => options.retention.errors,
                Streams::AUDIT => options.retention.audit,
                _ => options.retention.performance,
            };
            writer.streams.push(StreamFile {
                dir: path,
                prefix,
                bit,
                keep,
                open: None,
            });
        }
        let today = (writer.clock)().date_naive();
        for stream in &writer.streams {
            stream.prune(today);
        }
        let (tx, rx) = mpsc::sync_channel(options.queue_capacity.max(1));
        std::thread::Builder::new()
            .name("mon-log-files".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| LoggingError::Files {
                path: options.dir.clone(),
                reason: format!("cannot start the log writer thread: {e}"),
            })?;
        Ok(FileSink { tx })
    }

    /// Queues one line (with its newline) for `streams`.
    pub fn send(&self, streams: Streams, line: &str, stats: &LogStats) {
        let message = Message::Line(streams, line.to_string());
        if streams.must_keep() {
            let _ = self.tx.send(message);
        } else if let Err(TrySendError::Full(_)) = self.tx.try_send(message) {
            stats.count_dropped();
        }
    }

    /// Waits until every line queued before this call is written and flushed.
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.tx.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }
}

struct OpenFile {
    date: NaiveDate,
    index: u32,
    size: u64,
    out: BufWriter<File>,
}

struct StreamFile {
    dir: PathBuf,
    prefix: &'static str,
    bit: Streams,
    keep: Duration,
    open: Option<OpenFile>,
}

impl StreamFile {
    fn path(&self, date: NaiveDate, index: u32) -> PathBuf {
        let name = if index == 0 {
            format!("{}_{date}.log", self.prefix)
        } else {
            format!("{}_{date}.{index}.log", self.prefix)
        };
        self.dir.join(name)
    }

    /// Deletes this stream's files dated before `today - keep`.
    fn prune(&self, today: NaiveDate) {
        let days = i64::try_from(self.keep.as_secs() / 86_400).unwrap_or(i64::MAX);
        let Some(oldest) = today.checked_sub_signed(chrono::TimeDelta::days(days)) else {
            return;
        };
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(date) = file_date(&name.to_string_lossy(), self.prefix) else {
                continue;
            };
            if date < oldest
                && let Err(e) = fs::remove_file(entry.path())
            {
                tracing::warn!(target: "mon_logging::files", path = %entry.path().display(), error = %e, "cannot delete an expired log file");
            }
        }
    }

    /// Opens the file for `date` that has room for `len` more bytes.
    fn open(&mut self, date: NaiveDate, len: u64, max: u64, from: u32) -> std::io::Result<()> {
        let mut index = from;
        loop {
            let path = self.path(date, index);
            let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if size == 0 || size + len <= max {
                let file = OpenOptions::new().create(true).append(true).open(&path)?;
                self.open = Some(OpenFile {
                    date,
                    index,
                    size,
                    out: BufWriter::new(file),
                });
                return Ok(());
            }
            index += 1;
        }
    }

    fn write(&mut self, line: &str, now: DateTime<Utc>, max: u64) -> std::io::Result<()> {
        let date = now.date_naive();
        let len = line.len() as u64;
        let rotate = match &self.open {
            None => Some(0),
            Some(f) if f.date != date => Some(0),
            Some(f) if f.size > 0 && f.size + len > max => Some(f.index + 1),
            Some(_) => None,
        };
        if let Some(from) = rotate {
            let was_open = self.open.is_some();
            if let Some(mut old) = self.open.take() {
                old.out.flush()?;
            }
            self.open(date, len, max, from)?;
            if was_open {
                self.prune(date);
            }
        }
        if let Some(f) = &mut self.open {
            f.out.write_all(line.as_bytes())?;
            f.size += len;
        }
        Ok(())
    }

    fn flush(&mut self) {
        if let Some(f) = &mut self.open {
            let _ = f.out.flush();
        }
    }
}

/// The date in a file name `<prefix>_<YYYY-MM-DD>[.N].log`.
fn file_date(name: &str, prefix: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('_')?;
    let rest = rest.strip_suffix(".log")?;
    let date = rest.get(..10)?;
    let tail = &rest[10..];
    if !(tail.is_empty()
        || tail
            .strip_prefix('.')
            .is_some_and(|n| n.parse::<u32>().is_ok()))
    {
        return None;
    }
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

struct Writer {
    streams: Vec<StreamFile>,
    max_file_size: u64,
    clock: Clock,
    dropped_reported: u64,
    stats: LogStats,
}

impl Writer {
    fn run(mut self, rx: Receiver<Message>) {
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            while let Some(message) = next {
                match message {
                    Message::Line(streams, line) => self.write(streams, &line),
                    Message::Flush(ack) => {
                        self.flush();
                        let _ = ack.send(());
                    }
                }
                next = rx.try_recv().ok();
            }
            self.flush();
        }
        self.flush();
    }

    fn write(&mut self, streams: Streams, line: &str) {
        let now = (self.clock)();
        let dropped = self.stats.dropped();
        if dropped > self.dropped_reported {
            let note = format!(
                "{{\"timestamp\":\"{}\",\"level\":\"WARN\",\"logger\":\"mon_logging::files\",\"message\":\"log lines dropped: the file writer fell behind\",\"fields\":{{\"dropped\":{}}}}}\n",
                now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                dropped - self.dropped_reported
            );
            self.dropped_reported = dropped;
            self.write(Streams::APP, &note);
        }
        let max = self.max_file_size;
        for stream in &mut self.streams {
            if streams.contains(stream.bit)
                && let Err(e) = stream.write(line, now, max)
            {
                // Nowhere else to say it: the console still works.
                tracing::warn!(target: "mon_logging::files", dir = %stream.dir.display(), error = %e, "cannot write a log file");
            }
        }
    }

    fn flush(&mut self) {
        for stream in &mut self.streams {
            stream.flush();
        }
    }
}

/// The files of one stream directory, sorted: for tests and tools.
pub fn list_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_dates() {
        for (name, want) in [
            ("app_2026-01-04.log", Some("2026-01-04")),
            ("app_2026-01-04.3.log", Some("2026-01-04")),
            ("app_2026-01-04.x.log", None),
            ("error_2026-01-04.log", None),
            ("app_2026-13-04.log", None),
            ("app.log", None),
        ] {
            assert_eq!(
                file_date(name, "app").map(|d| d.to_string()),
                want.map(str::to_string),
                "{name}"
            );
        }
    }
}
