//! Publishing the snapshot variables check results carry ([`CheckOutcome::variables`]:
//! the `livekit` check's `active_rooms`, a `prometheus` check's mapped series) into
//! the rule snapshot.

use mon_core::CheckOutcome;
use mon_core::snapshot::{CHECK_SOURCE_PREFIX, SnapshotHub};
use std::collections::BTreeSet;

/// Publishes each check's [`CheckOutcome::variables`] under its own hub source
/// `check:<name>`. Those take precedence over the same names computed from ingested
/// events (`avg_mos`, `avg_packet_loss`, `avg_jitter_ms`): see [`SnapshotHub`].
///
/// Feed it every result, in order, with [`CheckVariables::observe`].
#[derive(Debug, Default)]
pub struct CheckVariables {
    /// Checks that published variables: a later result without any withdraws them.
    publishing: BTreeSet<String>,
}

impl CheckVariables {
    /// Publishes the variables of `check`'s latest `outcome`; a result without any
    /// withdraws the ones the check published before (a failed scrape leaves rules with
    /// no data rather than a stale value). Checks that never publish cost nothing.
    pub fn observe(&mut self, hub: &SnapshotHub, check: &str, outcome: &CheckOutcome) {
        if outcome.variables.is_empty() {
            if !self.publishing.remove(check) {
                return;
            }
        } else {
            self.publishing.insert(check.to_owned());
        }
        hub.publish_values(
            &format!("{CHECK_SOURCE_PREFIX}{check}"),
            outcome
                .variables
                .iter()
                .map(|(name, value)| (name.clone(), *value)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn outcome(variables: &[(&str, f64)]) -> CheckOutcome {
        CheckOutcome::healthy(Duration::ZERO, "ok")
            .with_details(serde_json::json!({"variables": {"shown_only": 1.0}}))
            .with_variables(variables.iter().map(|(k, v)| ((*k).to_owned(), *v)))
    }

    #[test]
    fn typed_variables_reach_the_hub_under_the_check_source_and_are_withdrawn() {
        let hub = SnapshotHub::new();
        let mut variables = CheckVariables::default();
        hub.publish_values("ingest", [("avg_mos".to_owned(), 4.4)]);

        variables.observe(&hub, "sfu", &outcome(&[("avg_mos", 3.1), ("rooms", 2.0)]));
        let snapshot = hub.current();
        // The check's value wins over the ingested one; details are never read.
        assert_eq!(snapshot.get("avg_mos"), Some(3.1));
        assert_eq!(snapshot.get("rooms"), Some(2.0));
        assert_eq!(snapshot.get("shown_only"), None);

        // Another check without variables publishes nothing.
        variables.observe(&hub, "api", &outcome(&[]));
        assert_eq!(hub.current().values.len(), 2);

        // A result without variables withdraws the check's: the ingested value is back.
        variables.observe(&hub, "sfu", &outcome(&[]));
        let snapshot = hub.current();
        assert_eq!(snapshot.get("avg_mos"), Some(4.4));
        assert_eq!(snapshot.get("rooms"), None);
    }
}
