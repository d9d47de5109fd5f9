//! The registry's Prometheus metrics, encoded from its state on each scrape.

use super::{CheckState, HealthRegistry};
use chrono::{DateTime, Utc};
use mon_core::Status;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use std::fmt;

/// The certificate expiry of the latest outcome (http over TLS, tls_certificate).
pub(super) fn certificate_expiry(check: &CheckState) -> Option<DateTime<Utc>> {
    check.last_outcome.as_ref()?.certificate_expires_at
}

/// The gauges of the variables a `livekit` check reads from ListRooms: (family, variable,
/// help). A check exports them while its latest run carries the variable (absent while the
/// room service fails, as in the snapshot).
pub(crate) const LIVEKIT_GAUGES: [(&str, &str, &str); 2] = [
    (
        "mon_livekit_rooms_active",
        "active_rooms",
        "LiveKit rooms open, from the check's latest ListRooms.",
    ),
    (
        "mon_livekit_participants_active",
        "active_participants",
        "LiveKit participants connected (the sum of the rooms' num_participants), from the check's latest ListRooms.",
    ),
];

/// Encodes the registry's state on each scrape.
#[derive(Debug)]
pub(super) struct Metrics(pub(super) HealthRegistry);

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let checks = self.0.checks();
        {
            let mut up = encoder.encode_descriptor(
                "mon_check_up",
                "Whether the check is serving: 1 when its status is healthy or degraded, 0 when unhealthy or not run yet (unknown). mon_check_status tells healthy from degraded.",
                None,
                MetricType::Gauge,
            )?;
            for check in &checks {
                let value: i64 = check.status().is_serving().into();
                up.encode_family(&[("check", mon_core::LabelValue(check.name.as_str()))])?
                    .encode_gauge(&value)?;
            }
        }
        {
            let mut status = encoder.encode_descriptor(
                "mon_check_status",
                "The check's status as a state set: 1 for the series whose status label is the current status (healthy, degraded, unhealthy or unknown), 0 for the others.",
                None,
                MetricType::Gauge,
            )?;
            for check in &checks {
                let current = check.status();
                for state in [
                    Status::Healthy,
                    Status::Degraded,
                    Status::Unhealthy,
                    Status::Unknown,
                ] {
                    let labels = [
                        ("check", mon_core::LabelValue(check.name.as_str())),
                        ("status", mon_core::LabelValue(state.as_str())),
                    ];
                    status
                        .encode_family(&labels)?
                        .encode_gauge(&i64::from(current == state))?;
                }
            }
        }
        {
            let mut duration = encoder.encode_descriptor(
                "mon_check_duration_seconds",
                "How long the check's latest run took, in seconds.",
                None,
                MetricType::Gauge,
            )?;
            for check in &checks {
                if let Some(outcome) = &check.last_outcome {
                    duration
                        .encode_family(&[("check", mon_core::LabelValue(check.name.as_str()))])?
                        .encode_gauge(&outcome.latency.as_secs_f64())?;
                }
            }
        }
        {
            let mut expiry = encoder.encode_descriptor(
                "mon_check_certificate_expiry_seconds",
                "Seconds until the TLS certificate seen by the check's latest run expires (negative once expired).",
                None,
                MetricType::Gauge,
            )?;
            let now = Utc::now();
            for check in &checks {
                if let Some(expires) = certificate_expiry(check) {
                    // Millisecond precision is plenty for an expiry date.
                    let seconds = (expires - now).num_milliseconds() as f64 / 1000.0;
                    expiry
                        .encode_family(&[("check", mon_core::LabelValue(check.name.as_str()))])?
                        .encode_gauge(&seconds)?;
                }
            }
        }
        for (family, variable, help) in LIVEKIT_GAUGES {
            let mut gauge = encoder.encode_descriptor(family, help, None, MetricType::Gauge)?;
            for check in &checks {
                let value = check
                    .last_outcome
                    .as_ref()
                    .and_then(|o| o.variables.get(variable));
                if let Some(value) = value {
                    gauge
                        .encode_family(&[("check", mon_core::LabelValue(check.name.as_str()))])?
                        .encode_gauge(value)?;
                }
            }
        }
        let dropped = ConstCounter::new(self.0.dropped_results());
        let metric = encoder.encode_descriptor(
            "mon_check_results_dropped",
            "Check results not delivered to the results channel because it was full.",
            None,
            dropped.metric_type(),
        )?;
        dropped.encode(metric)
    }
}
