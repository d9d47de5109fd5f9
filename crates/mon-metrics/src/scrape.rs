//! What `GET /metrics` serves: every family of a finished [`Registry`] plus the store's own
//! gauges (`mon_store_queue_depth`, `mon_store_write_seconds`, `mon_store_batches_total`),
//! refreshed from the [`Store`] at each scrape.

use crate::error::MetricsError;
use crate::export::TextSource;
use crate::exposition::{encode_openmetrics, encode_prometheus_text};
use mon_store::Store;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// The registry and the store gauges refreshed at each scrape; cheap to clone.
#[derive(Clone, Debug)]
pub struct Exposition {
    registry: Arc<Registry>,
    store: Store,
    queue_depth: Gauge,
    write_seconds: Gauge<f64, AtomicU64>,
    batches: Counter,
}

impl Exposition {
    /// Registers the store's metrics into `registry` (every other family registered by
    /// now) and keeps it for encoding.
    pub fn new(mut registry: Registry, store: Store) -> Self {
        let queue_depth = Gauge::default();
        let write_seconds = Gauge::<f64, AtomicU64>::default();
        let batches = Counter::default();
        registry.register(
            "mon_store_queue_depth",
            "Write batches waiting for the store writer",
            queue_depth.clone(),
        );
        registry.register(
            "mon_store_write_seconds",
            "Duration of the store's last committed write transaction, in seconds",
            write_seconds.clone(),
        );
        registry.register(
            "mon_store_batches",
            "Write transactions committed by the store",
            batches.clone(),
        );
        Exposition {
            registry: Arc::new(registry),
            store,
            queue_depth,
            write_seconds,
            batches,
        }
    }

    /// The exposition text (OpenMetrics, or the classic Prometheus text format when
    /// `prometheus_text`), with store gauges refreshed first.
    pub fn encode(&self, prometheus_text: bool) -> Result<String, MetricsError> {
        let stats = self.store.stats();
        self.queue_depth
            .set(i64::try_from(self.store.queue_depth()).unwrap_or(i64::MAX));
        self.write_seconds.set(stats.last_commit_seconds);
        let committed = stats.batches_committed;
        let seen = self.batches.get();
        if committed > seen {
            self.batches.inc_by(committed - seen);
        }
        if prometheus_text {
            encode_prometheus_text(&self.registry)
        } else {
            encode_openmetrics(&self.registry)
        }
    }

    /// The Prometheus text of each scrape, as the Pushgateway exporter reads it.
    pub fn text_source(&self) -> TextSource {
        let exposition = self.clone();
        Arc::new(move || exposition.encode(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_store_gauges_follow_the_store_at_each_scrape() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(&dir.path().join("mon.db"), Default::default()).expect("store");
        let exposition = Exposition::new(Registry::default(), store.clone());
        let before = exposition.encode(false).expect("encode");
        assert!(before.contains("mon_store_batches_total 0"), "{before}");
        assert!(before.contains("mon_store_queue_depth 0"), "{before}");
        assert!(before.ends_with("# EOF\n"), "{before}");
        let sample = mon_store::Sample {
            name: "x".into(),
            labels: Default::default(),
            ts: chrono::Utc::now(),
            value: 1.0,
        };
        store
            .write(mon_store::WriteBatch::from_samples(vec![sample]))
            .await
            .expect("write");
        let after = (exposition.text_source())().expect("encode");
        assert!(after.contains("mon_store_batches_total 1"), "{after}");
        assert!(
            !after.contains("# EOF"),
            "the Prometheus text format: {after}"
        );
        store.close().await.expect("close");
    }
}
