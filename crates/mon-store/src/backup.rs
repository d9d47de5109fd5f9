//! Online backup: a consistent copy of the whole store, taken while the writer goes on.
//!
//! `VACUUM INTO` runs on a read connection: it reads one WAL snapshot (a single read
//! transaction), so the copy holds exactly the batches committed before it started and
//! never blocks the writer. The destination is bound as a parameter, never spliced into SQL.

use crate::{Store, StoreError};
use std::path::{Path, PathBuf};

impl Store {
    /// Writes a consistent copy of the store to `dest`, a file that must not exist yet
    /// (its directory must). The copy is a complete SQLite database (compacted, not in WAL
    /// mode) that [`Store::open`] opens as it is: restoring is putting it in place of the
    /// store file while mon is stopped. Returns the copy's size in bytes.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when `dest` exists or its directory does not, and
    /// [`StoreError::Sqlite`] when SQLite cannot write the copy (a full disk, say).
    pub async fn backup(&self, dest: &Path) -> Result<u64, StoreError> {
        let dest = dest.to_path_buf();
        self.read(move |conn| backup_into(conn, &dest)).await
    }

    /// [`Store::backup`] for synchronous code (blocks on a read connection).
    pub fn backup_blocking(&self, dest: &Path) -> Result<u64, StoreError> {
        self.shared.reads.with(|conn| backup_into(conn, dest))
    }
}

fn backup_into(conn: &rusqlite::Connection, dest: &Path) -> Result<u64, StoreError> {
    check_destination(dest)?;
    let target = dest.to_str().ok_or_else(|| StoreError::InvalidInput {
        reason: format!("the backup path {} is not valid UTF-8", dest.display()),
    })?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| StoreError::sqlite(format!("writing a backup to {}", dest.display()), e))?;
    std::fs::metadata(dest)
        .map(|m| m.len())
        .map_err(|e| StoreError::InvalidInput {
            reason: format!("the backup {} cannot be read back: {e}", dest.display()),
        })
}

/// A backup never overwrites a file, and needs an existing directory.
fn check_destination(dest: &Path) -> Result<(), StoreError> {
    if dest.exists() {
        return Err(StoreError::InvalidInput {
            reason: format!(
                "the backup file {} already exists; give a new file name",
                dest.display()
            ),
        });
    }
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(StoreError::InvalidInput {
            reason: format!(
                "the directory {} of the backup file {} does not exist",
                dir.display(),
                dest.display()
            ),
        });
    }
    Ok(())
}
