//! `GET /metrics`: OpenMetrics exposition of every registered family plus the store's own gauges.

use mon_store::Store;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// The registry and the store gauges refreshed at each scrape.
#[derive(Clone, Debug)]
pub(crate) struct Exposition {
    registry: Arc<Registry>,
    store: Store,
    queue_depth: Gauge,
    write_seconds: Gauge<f64, AtomicU64>,
    batches: Counter,
}

impl Exposition {
    /// Registers mon's store metrics into `registry` and keeps it for encoding.
    pub(crate) fn new(mut registry: Registry, store: Store) -> Self {
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
    pub(crate) fn encode(
        &self,
        prometheus_text: bool,
    ) -> Result<String, mon_metrics::MetricsError> {
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
            mon_metrics::encode_prometheus_text(&self.registry)
        } else {
            mon_metrics::encode_openmetrics(&self.registry)
        }
    }
}
