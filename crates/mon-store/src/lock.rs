//! The exclusive lock that keeps a second mon-server off a store: `<store>.lock`, holding
//! the id of the process that has it.

use crate::StoreError;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The exclusive lock on a store, held until dropped (or until the process ends,
/// however it ends: the OS releases it).
#[derive(Debug)]
pub struct StoreLock {
    _file: std::fs::File,
}

impl StoreLock {
    /// Takes the exclusive lock on `<store>.lock` and writes this process's id in it, so
    /// that a second server on the same store refuses to start (two would send every
    /// notification twice and resolve each other's alerts). [`StoreError::Locked`] names
    /// the holder when another process has it.
    pub fn acquire(store: &Path) -> Result<StoreLock, StoreError> {
        let mut path = store.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(parent);
        }
        let lock_err = |source| StoreError::Lock {
            path: path.clone(),
            source: std::sync::Arc::new(source),
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(lock_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "pid unknown".to_string(),
                    pid => format!("pid {pid}"),
                };
                return Err(StoreError::Locked {
                    store: store.to_path_buf(),
                    lock: path,
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(lock_err(e)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(lock_err)?;
        Ok(StoreLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_store_names_the_holder() {
        let dir = tempfile::tempdir().expect("dir");
        let store = dir.path().join("data").join("mon.db");
        let first = StoreLock::acquire(&store).expect("the first lock");
        let lock = dir.path().join("data").join("mon.db.lock");
        let pid = std::fs::read_to_string(&lock).expect("the lock file");
        assert_eq!(pid.trim(), std::process::id().to_string());
        // Locks are per open file description, so a second open in this process conflicts too.
        let second = StoreLock::acquire(&store).expect_err("the store is locked");
        let message = second.to_string();
        assert!(
            message.contains(&format!("pid {}", std::process::id()))
                && message.contains("mon.db.lock"),
            "{message}"
        );
        drop(first);
        StoreLock::acquire(&store).expect("free again once dropped");
    }
}
