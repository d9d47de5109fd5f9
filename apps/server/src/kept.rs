//! What makes a restart of mon-server safe: the exclusive lock that keeps a second
//! server off the store, and the checks' kept state (flap control, heartbeat pings),
//! restored at start and stored with every result and before a ping is answered.

use crate::app::{StartError, publish_checks};
use mon_health::HealthRegistry;
use mon_metrics::SnapshotHub;
use mon_store::{CheckResultRow, KeptState, Store, WriteBatch};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Takes the exclusive lock on `<store>.lock` and writes this process's id in it, so
/// that a second server on the same store refuses to start (two would send every
/// notification twice and resolve each other's alerts). The OS releases the lock
/// when the process ends, however it ends.
pub(crate) fn lock_store(store: &std::path::Path) -> Result<std::fs::File, StartError> {
    use std::io::{Read, Seek, Write};
    let mut path = store.as_os_str().to_owned();
    path.push(".lock");
    let path = std::path::PathBuf::from(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(parent);
    }
    let lock_err = |source| StartError::Lock {
        path: path.clone(),
        source,
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
            return Err(StartError::Locked {
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
    Ok(file)
}

/// The `kind` of a check's state in the store's kept state.
const KEPT_CHECK: &str = "check";

/// Gives the registered checks the state they kept before the restart (flap control,
/// latest outcome, heartbeat pings), publishes it to the rule snapshot at once, and
/// keeps a heartbeat ping in the store before it is answered.
pub(crate) fn restore_checks(store: &Store, health: &HealthRegistry, hub: &SnapshotHub) {
    match store.kept_states_blocking(KEPT_CHECK) {
        Ok(rows) => {
            for row in rows {
                match serde_json::from_value(row.body) {
                    Ok(kept) => {
                        health.restore(&row.name, kept);
                    }
                    Err(e) => {
                        tracing::warn!(check = %row.name, error = %e, "the check's kept state could not be read; it starts afresh");
                    }
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "check states could not be restored"),
    }
    publish_checks(health, hub);
    let store = store.clone();
    health.set_keeper(Arc::new(move |name, kept| {
        let store = store.clone();
        Box::pin(async move {
            let batch = WriteBatch::from_kept(kept_check(&name, &kept).into_iter().collect());
            if let Err(e) = store.write(batch).await {
                tracing::error!(check = %name, error = %e, "the heartbeat ping could not be stored");
            }
        })
    }));
}

/// The kept state of the checks that have results in `results`, one row per check.
pub(crate) fn kept_checks(health: &HealthRegistry, results: &[CheckResultRow]) -> Vec<KeptState> {
    let names: BTreeSet<&str> = results.iter().map(|r| r.check.as_str()).collect();
    names
        .into_iter()
        .filter_map(|name| kept_check(name, &health.kept(name)?))
        .collect()
}

/// A check's kept state as a store row.
fn kept_check(name: &str, kept: &mon_health::KeptCheck) -> Option<KeptState> {
    Some(KeptState {
        kind: KEPT_CHECK.to_string(),
        name: name.to_string(),
        body: serde_json::to_value(kept).ok()?,
        at: chrono::Utc::now(),
    })
}
