//! Checks: the [`HealthCheck`] trait and the [`CheckOutcome`] every check kind reports.

use crate::Status;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// The result of running a check once.
///
/// A failed check is data, never an `Err`: the check kind turns every failure
/// (timeout, refused connection, wrong status code) into an outcome with
/// `status: Unhealthy` and a message that says what happened.
///
/// What other parts of mon act on is typed: the snapshot [`variables`](Self::variables)
/// a check publishes and the [`certificate_expires_at`](Self::certificate_expires_at) it
/// saw. `details` is free-form, for people. Build one with [`CheckOutcome::healthy`],
/// [`CheckOutcome::unhealthy`] or [`CheckOutcome::new`] and the `with_*` methods:
///
/// ```
/// use mon_core::{CheckOutcome, vars};
/// use std::time::Duration;
///
/// let outcome = CheckOutcome::healthy(Duration::from_millis(12), "2 rooms")
///     .with_details(serde_json::json!({"rooms": 2}))
///     .with_variables([(vars::ACTIVE_ROOMS.to_owned(), 2.0)]);
/// assert_eq!(outcome.variables.get("active_rooms"), Some(&2.0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckOutcome {
    /// The verdict.
    pub status: Status,
    /// How long the probe took, serialized as `latency_ms` (a float).
    #[serde(
        rename = "latency_ms",
        serialize_with = "ser_ms",
        deserialize_with = "de_ms"
    )]
    pub latency: Duration,
    /// One line for people: what was observed, or what went wrong.
    pub message: String,
    /// Kind-specific facts (status code, server version, usage percentages...).
    #[serde(default)]
    pub details: serde_json::Value,
    /// Rule-snapshot variables this result publishes (the `livekit` check's
    /// `active_rooms`, a `prometheus` check's mapped series), by name; every value is
    /// finite. mon publishes them under the hub source `check:<name>`, and a result
    /// without any withdraws the check's earlier ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, f64>,
    /// When the TLS certificate the probe was served expires (`http` over TLS,
    /// `tls_certificate`); `None` when no certificate was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_expires_at: Option<DateTime<Utc>>,
    /// When the probe finished.
    pub observed_at: DateTime<Utc>,
}

impl CheckOutcome {
    /// An outcome observed now, with empty details.
    pub fn new(status: Status, latency: Duration, message: impl Into<String>) -> Self {
        CheckOutcome {
            status,
            latency,
            message: message.into(),
            details: serde_json::Value::Null,
            variables: BTreeMap::new(),
            certificate_expires_at: None,
            observed_at: Utc::now(),
        }
    }

    /// A healthy outcome observed now.
    pub fn healthy(latency: Duration, message: impl Into<String>) -> Self {
        Self::new(Status::Healthy, latency, message)
    }

    /// An unhealthy outcome observed now.
    pub fn unhealthy(latency: Duration, message: impl Into<String>) -> Self {
        Self::new(Status::Unhealthy, latency, message)
    }

    /// The same outcome with `details` set.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// The same outcome publishing `variables`; non-finite values are left out (they
    /// mean nothing to a rule).
    pub fn with_variables(mut self, variables: impl IntoIterator<Item = (String, f64)>) -> Self {
        self.variables = variables
            .into_iter()
            .filter(|(_, v)| v.is_finite())
            .collect();
        self
    }

    /// The same outcome with the expiry of the certificate the probe saw.
    pub fn with_certificate_expiry(mut self, expires_at: DateTime<Utc>) -> Self {
        self.certificate_expires_at = Some(expires_at);
        self
    }

    /// The same outcome observed at `at` instead of now (a stored or replayed result).
    pub fn with_observed_at(mut self, at: DateTime<Utc>) -> Self {
        self.observed_at = at;
        self
    }
}

fn ser_ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

fn de_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let ms = f64::deserialize(d)?;
    if !ms.is_finite() || ms < 0.0 {
        return Err(serde::de::Error::custom(format!(
            "latency_ms must be a non-negative number, got {ms}"
        )));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

/// A probe of one dependency: an HTTP endpoint, a database, the host itself...
///
/// Implement it in your own crate and register it with mon-health's scheduler to
/// add a check kind. `check` must not panic and must finish on its own; the
/// scheduler still applies the configured timeout and catches panics.
///
/// ```
/// use mon_core::{async_trait, CheckOutcome, HealthCheck};
/// use std::time::Duration;
///
/// struct AlwaysUp;
///
/// #[async_trait]
/// impl HealthCheck for AlwaysUp {
///     fn kind(&self) -> &str { "always_up" }
///     async fn check(&self) -> CheckOutcome {
///         CheckOutcome::healthy(Duration::ZERO, "fine")
///     }
/// }
/// ```
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// The check kind, as written in config (`http`, `system`, ...).
    fn kind(&self) -> &str;
    /// Runs the probe once.
    async fn check(&self) -> CheckOutcome;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_round_trips_through_json() {
        let outcome = CheckOutcome::new(Status::Degraded, Duration::from_micros(12_500), "slow")
            .with_details(serde_json::json!({"status_code": 200}));
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(json["latency_ms"], 12.5);
        assert_eq!(json["status"], "degraded");
        let back: CheckOutcome = serde_json::from_value(json).unwrap();
        assert_eq!(back, outcome);
    }

    #[test]
    fn typed_fields_round_trip_and_are_left_out_when_empty() {
        let expires = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let outcome = CheckOutcome::healthy(Duration::from_millis(3), "ok")
            .with_variables([
                ("active_rooms".to_owned(), 2.0),
                ("broken".to_owned(), f64::NAN),
            ])
            .with_certificate_expiry(expires);
        assert_eq!(
            outcome.variables,
            BTreeMap::from([("active_rooms".to_owned(), 2.0)])
        );
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(json["variables"], serde_json::json!({"active_rooms": 2.0}));
        assert_eq!(json["certificate_expires_at"], "2027-01-15T08:00:00Z");
        let back: CheckOutcome = serde_json::from_value(json).unwrap();
        assert_eq!(back, outcome);

        // An outcome written before these fields existed still reads.
        let plain = serde_json::to_value(CheckOutcome::healthy(Duration::ZERO, "ok")).unwrap();
        assert!(plain.get("variables").is_none() && plain.get("certificate_expires_at").is_none());
        let back: CheckOutcome = serde_json::from_value(plain).unwrap();
        assert!(back.variables.is_empty() && back.certificate_expires_at.is_none());
    }

    #[test]
    fn negative_latency_is_rejected() {
        let json = serde_json::json!({
            "status": "healthy", "latency_ms": -1.0, "message": "",
            "observed_at": "2026-01-01T00:00:00Z"
        });
        let err = serde_json::from_value::<CheckOutcome>(json).unwrap_err();
        assert!(err.to_string().contains("non-negative"), "{err}");
    }
}
