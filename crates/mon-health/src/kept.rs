//! The checks' kept state in the store: what a check keeps across a restart of the
//! server (flap control, latest outcome, heartbeat pings) is restored at start with
//! [`restore_kept`], stored with every result ([`kept_rows`]) and, for a heartbeat
//! ping, before the ping is answered.

use crate::{HealthRegistry, KeptCheck};
use mon_store::{CheckResultRow, KeptState, Store, WriteBatch};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The `kind` of a check's state in the store's kept state.
const KEPT_CHECK: &str = "check";

/// Gives the registered checks of `health` the state they kept in `store` before the
/// restart, and keeps each heartbeat ping in the store before it is answered. A row
/// that cannot be read is logged and the check starts afresh.
pub fn restore_kept(store: &Store, health: &HealthRegistry) {
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
    let store = store.clone();
    health.set_keeper(Arc::new(move |name, kept| {
        let store = store.clone();
        Box::pin(async move {
            let batch = WriteBatch::from_kept(kept_row(&name, &kept).into_iter().collect());
            if let Err(e) = store.write(batch).await {
                tracing::error!(check = %name, error = %e, "the heartbeat ping could not be stored");
            }
        })
    }));
}

/// The kept state of the checks that have results in `results`, one row per check, to
/// commit with those results.
pub fn kept_rows(health: &HealthRegistry, results: &[CheckResultRow]) -> Vec<KeptState> {
    let names: BTreeSet<&str> = results.iter().map(|r| r.check.as_str()).collect();
    names
        .into_iter()
        .filter_map(|name| kept_row(name, &health.kept(name)?))
        .collect()
}

/// A check's kept state as a store row.
fn kept_row(name: &str, kept: &KeptCheck) -> Option<KeptState> {
    Some(KeptState {
        kind: KEPT_CHECK.to_string(),
        name: name.to_string(),
        body: serde_json::to_value(kept).ok()?,
        at: chrono::Utc::now(),
    })
}
