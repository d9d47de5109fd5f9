//! `type: dns`: resolves a host name with the system resolver, optionally expecting addresses.

use super::{BuildContext, KindConfig};
use crate::HealthError;
use crate::checks::common::format_latency;
use mon_core::{CheckOutcome, HealthCheck, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// Settings of a `dns` check: healthy when `hostname` resolves (to every
/// `expected_addresses`, if given).
///
/// ```yaml
/// - name: livekit-dns
///   type: dns
///   hostname: livekit.example.com
///   expected_addresses: [203.0.113.10]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsCheckConfig {
    /// The name to resolve, through the host's resolver (`/etc/hosts`, then DNS).
    pub hostname: String,
    /// Addresses that must all be among the answers (default: any answer is fine).
    #[serde(default)]
    pub expected_addresses: Vec<IpAddr>,
}

impl KindConfig for DnsCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        let name = self.hostname.trim_end_matches('.');
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(valid_label) {
            return Err(HealthError::invalid(
                check,
                "hostname",
                format!(
                    "{:?} is not a host name; write a name such as api.example.com",
                    self.hostname
                ),
            ));
        }
        Ok(())
    }

    fn build(&self, _ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        Ok(Arc::new(DnsCheck {
            config: self.clone(),
        }))
    }
}

/// A built `dns` check.
struct DnsCheck {
    config: DnsCheckConfig,
}

#[async_trait]
impl HealthCheck for DnsCheck {
    fn kind(&self) -> &str {
        "dns"
    }

    async fn check(&self) -> CheckOutcome {
        let host = &self.config.hostname;
        let started = Instant::now();
        let result = tokio::net::lookup_host((host.as_str(), 0)).await;
        let latency = started.elapsed();
        let answers: BTreeSet<IpAddr> = match result {
            Ok(addrs) => addrs.map(|a| a.ip()).collect(),
            Err(e) => {
                return CheckOutcome::unhealthy(latency, format!("cannot resolve {host}: {e}"))
                    .with_details(json!({"hostname": host, "error": "resolve"}));
            }
        };
        let details = json!({
            "hostname": host,
            "addresses": answers,
            "expected_addresses": self.config.expected_addresses,
        });
        let missing: Vec<String> = self
            .config
            .expected_addresses
            .iter()
            .filter(|a| !answers.contains(a))
            .map(IpAddr::to_string)
            .collect();
        let listed: Vec<String> = answers.iter().map(IpAddr::to_string).collect();
        if answers.is_empty() {
            CheckOutcome::unhealthy(latency, format!("{host} resolved to no address"))
                .with_details(details)
        } else if !missing.is_empty() {
            CheckOutcome::unhealthy(
                latency,
                format!(
                    "{host} resolved to {} but not to expected {}",
                    listed.join(", "),
                    missing.join(", ")
                ),
            )
            .with_details(details)
        } else {
            CheckOutcome::healthy(
                latency,
                format!(
                    "{host} resolved to {} in {}",
                    listed.join(", "),
                    format_latency(latency)
                ),
            )
            .with_details(details)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::kind;
    use crate::{CheckConfig, check_kinds};
    use mon_core::Status;

    #[tokio::test]
    async fn resolves_and_compares_addresses() {
        // (hostname, expected addresses, status)
        let cases: [(&str, Vec<IpAddr>, Status); 3] = [
            ("localhost", vec![], Status::Healthy),
            (
                "localhost",
                vec!["127.0.0.1".parse().unwrap()],
                Status::Healthy,
            ),
            (
                "localhost",
                vec!["192.0.2.1".parse().unwrap()],
                Status::Unhealthy,
            ),
        ];
        for (hostname, expected_addresses, want) in cases {
            let config = CheckConfig::new(
                "d",
                kind(
                    "dns",
                    &DnsCheckConfig {
                        hostname: hostname.into(),
                        expected_addresses: expected_addresses.clone(),
                    },
                ),
            );
            let outcome = config.build(&check_kinds()).unwrap().check().await;
            assert_eq!(outcome.status, want, "{expected_addresses:?}: {outcome:?}");
        }
    }

    #[test]
    fn bad_hostnames_are_config_errors() {
        for bad in ["", "has space.com", "a..b", "http://x.com"] {
            let config = DnsCheckConfig {
                hostname: bad.into(),
                expected_addresses: vec![],
            };
            let err = config.validate("d").unwrap_err().to_string();
            assert!(err.contains("invalid `hostname`"), "{bad}: {err}");
        }
    }
}
