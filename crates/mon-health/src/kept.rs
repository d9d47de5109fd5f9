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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CheckPolicy, refresh_uptime};
    use mon_core::{CheckOutcome, Status};
    use std::time::Duration;

    fn registry() -> HealthRegistry {
        let health = HealthRegistry::new();
        let policy = CheckPolicy {
            failure_threshold: 3,
            ..CheckPolicy::immediate(true)
        };
        health
            .register_with("api", "http", policy)
            .expect("register");
        health
    }

    /// A check's kept state reaches a new registry through a real store file, and its
    /// uptime is counted from the stored results.
    #[tokio::test]
    async fn kept_state_and_uptime_come_back_from_the_store() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("mon.db");
        let store = Store::open(&path, Default::default()).expect("open");
        let first = registry();
        let mut results = Vec::new();
        for status in [Status::Healthy, Status::Unhealthy, Status::Unhealthy] {
            let outcome = CheckOutcome::new(status, Duration::from_millis(5), "probe");
            first.record("api", outcome.clone());
            results.push(CheckResultRow {
                check: "api".into(),
                outcome,
            });
        }
        let kept = kept_rows(&first, &results);
        assert_eq!(kept.len(), 1, "one row per check: {kept:?}");
        let mut batch = WriteBatch::from_kept(kept);
        batch.check_results = results;
        store.write(batch).await.expect("write");
        store.close().await.expect("close");

        let store = Store::open(&path, Default::default()).expect("reopen");
        let second = registry();
        restore_kept(&store, &second);
        let api = second.check("api").expect("api");
        assert_eq!(
            (api.consecutive_failures, api.status()),
            (2, Status::Healthy),
            "two failures of three kept: still healthy"
        );
        refresh_uptime(&store, &second).await;
        let hour = second.check("api").and_then(|c| c.uptime?.hour);
        assert!(
            hour.is_some_and(|p| (p - 100.0 / 3.0).abs() < 0.01),
            "one healthy result of three: {hour:?}"
        );
        store.close().await.expect("close");
    }
}
