//! Labelled ingest sources (`POST /api/v1/events?source=demo`): each label gets a
//! [`Recorder`] of its own beside the unlabelled one, so that its values are kept apart
//! before any window aggregates them. [`spawn_sampler`](crate::spawn_sampler) stores its
//! figures as series labelled `source=<label>`; it is not published to the rule snapshot,
//! nor registered for `/metrics` or the exporters. [`Recorder::forget_source`] drops
//! its windows (`DELETE /api/v1/sources/{source}`).
//!
//! The unlabelled path never touches this map: a labelled batch looks its recorder up
//! once (a shared read lock; exclusive only the first time a label appears).

use super::{Recorder, RecorderOptions};
use crate::MetricsError;
use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

/// The most labelled sources kept at once; a batch with a further label is refused.
pub const MAX_SOURCES: usize = 16;

/// The recorders of labelled sources, by label, and the sampler's turn: held by
/// [`spawn_sampler`](crate::spawn_sampler) from reading the figures until their write is
/// committed, and by [`Recorder::forget_source`], so that nothing of a source read before
/// it is forgotten is written after.
#[derive(Debug, Default)]
pub(crate) struct Sources(
    RwLock<BTreeMap<String, Recorder>>,
    pub(crate) tokio::sync::Mutex<()>,
);

impl Recorder {
    /// The recorder of the ingest source `label`, created with this recorder's options
    /// the first time the label is seen. Called on a labelled source's recorder, it
    /// answers that recorder's own (empty) map: sources do not nest.
    ///
    /// # Errors
    /// [`MetricsError::TooManySources`] when [`MAX_SOURCES`] labels are already kept.
    pub fn source(&self, label: &str) -> Result<Recorder, MetricsError> {
        let sources = &self.inner.sources.0;
        if let Some(r) = sources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(label)
        {
            return Ok(r.clone());
        }
        let mut map = sources.write().unwrap_or_else(PoisonError::into_inner);
        if !map.contains_key(label) && map.len() >= MAX_SOURCES {
            return Err(MetricsError::TooManySources {
                label: label.to_owned(),
                max: MAX_SOURCES,
            });
        }
        let options: RecorderOptions = self.options().clone();
        Ok(map
            .entry(label.to_owned())
            .or_insert_with(|| Recorder::new(options))
            .clone())
    }

    /// Whether [`Recorder::source`] would answer `label`'s recorder now: it is kept, or
    /// fewer than [`MAX_SOURCES`] are (checked before work that must not be lost to the
    /// limit, such as accepting a webhook whose replays are refused).
    ///
    /// # Errors
    /// [`MetricsError::TooManySources`] when `label` is new and the limit is reached.
    pub fn source_room(&self, label: &str) -> Result<(), MetricsError> {
        let map = self
            .inner
            .sources
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if map.contains_key(label) || map.len() < MAX_SOURCES {
            Ok(())
        } else {
            Err(MetricsError::TooManySources {
                label: label.to_owned(),
                max: MAX_SOURCES,
            })
        }
    }

    /// The labelled sources' recorders, by label.
    pub fn sources(&self) -> Vec<(String, Recorder)> {
        self.inner
            .sources
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(label, r)| (label.clone(), r.clone()))
            .collect()
    }

    /// Drops the source `label` with every window and total it held; the next batch
    /// with that label starts from nothing. Returns whether it was kept. Waits for a
    /// sampler tick under way to commit its write first: once this returns, every sample
    /// of the source is in the store (where [`mon_store::Store::delete_source`] finds
    /// it) and no later tick writes one.
    pub async fn forget_source(&self, label: &str) -> bool {
        let _turn = self.inner.sources.1.lock().await;
        self.inner
            .sources
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(label)
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_source_records_apart_and_is_forgotten_whole() {
        let rec = Recorder::default();
        rec.track_request("/a", "GET", 200, Duration::from_millis(10), 0, 0);
        let demo = rec.source("demo").expect("a first label");
        demo.track_request("/a", "GET", 500, Duration::from_millis(90), 0, 0);
        demo.track_request("/a", "GET", 500, Duration::from_millis(90), 0, 0);
        // Each keeps its own windows.
        assert_eq!(rec.snapshot_values()["avg_api_latency_ms"], 10.0);
        assert_eq!(demo.snapshot_values()["avg_api_latency_ms"], 90.0);
        // The same label is the same recorder.
        let again = rec.source("demo").expect("kept");
        assert_eq!(again.snapshot_values()["error_rate_percent"], 100.0);
        assert_eq!(
            rec.sources()
                .into_iter()
                .map(|(l, _)| l)
                .collect::<Vec<_>>(),
            ["demo"]
        );
        assert!(rec.forget_source("demo").await);
        assert!(!rec.forget_source("demo").await);
        assert!(rec.sources().is_empty());
        // A new batch starts from nothing; the unlabelled windows are untouched.
        let fresh = rec.source("demo").expect("again");
        assert_eq!(fresh.snapshot_values().get("avg_api_latency_ms"), None);
        assert_eq!(rec.snapshot_values()["avg_api_latency_ms"], 10.0);
    }

    #[test]
    fn labels_beyond_the_limit_are_refused() {
        let rec = Recorder::default();
        for i in 0..MAX_SOURCES {
            rec.source(&format!("s{i}")).expect("under the limit");
        }
        let refused = rec.source("one-more").expect_err("over the limit");
        assert_eq!(
            refused.to_string(),
            "source \"one-more\": 16 labelled sources are kept already; \
             delete one (DELETE /api/v1/sources/{source}) or send without ?source="
        );
        // A kept label still answers.
        rec.source("s0").expect("kept label");
    }
}
