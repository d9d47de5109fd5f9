//! [`LogStats`]: the logging counters — lines dropped by the file writer and errors per
//! code — and their Prometheus registration.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Labels of `mon_log_errors_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: mon_core::LabelValue,
}

/// Counters shared by every clone.
#[derive(Debug, Clone, Default)]
pub struct LogStats {
    dropped: Counter,
    codes: Family<CodeLabels, Counter>,
}

impl LogStats {
    /// Registers `mon_log_dropped_total` and `mon_log_errors_total{code}`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "mon_log_dropped",
            "Log lines below ERROR dropped because the file writer fell behind",
            self.dropped.clone(),
        );
        registry.register(
            "mon_log_errors",
            "Log events carrying an error_code, by code",
            self.codes.clone(),
        );
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    /// Events logged with `code` so far.
    pub fn code_count(&self, code: &str) -> u64 {
        self.codes
            .get_or_create(&CodeLabels { code: code.into() })
            .get()
    }

    pub(crate) fn count_dropped(&self) {
        self.dropped.inc();
    }

    pub(crate) fn count_code(&self, code: &str) {
        self.codes
            .get_or_create(&CodeLabels { code: code.into() })
            .inc();
    }
}
