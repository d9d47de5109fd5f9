//! `GET /metrics` serves mon-metrics' [`Exposition`](mon_metrics::Exposition): every
//! registered family plus the store's own gauges.

pub(crate) use mon_metrics::Exposition;
