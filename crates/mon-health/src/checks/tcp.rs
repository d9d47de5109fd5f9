//! `type: tcp`: opens a TCP connection to `host:port` within the check's timeout.

use super::{BuildContext, KindConfig, split_host_port};
use crate::HealthError;
use crate::checks::common::format_latency;
use mon_core::{CheckOutcome, HealthCheck, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Settings of a `tcp` check: healthy when a connection opens.
///
/// ```yaml
/// - name: sip
///   type: tcp
///   address: 127.0.0.1:5060
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheckConfig {
    /// `host:port` to connect to; the host may be a name, an IPv4 address or `[IPv6]`.
    pub address: String,
}

impl KindConfig for TcpCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        split_host_port(&self.address)
            .map(|_| ())
            .map_err(|message| HealthError::invalid(check, "address", message))
    }

    fn build(&self, _ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        Ok(Arc::new(TcpCheck {
            address: self.address.clone(),
        }))
    }
}

/// A built `tcp` check.
struct TcpCheck {
    address: String,
}

#[async_trait]
impl HealthCheck for TcpCheck {
    fn kind(&self) -> &str {
        "tcp"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let result = tokio::net::TcpStream::connect(&self.address).await;
        let latency = started.elapsed();
        match result {
            Ok(stream) => {
                let peer = stream.peer_addr().map(|a| a.to_string()).ok();
                CheckOutcome::healthy(
                    latency,
                    format!(
                        "connected to {} in {}",
                        self.address,
                        format_latency(latency)
                    ),
                )
                .with_details(json!({"address": self.address, "peer": peer}))
            }
            Err(e) => {
                CheckOutcome::unhealthy(latency, format!("cannot connect to {}: {e}", self.address))
                    .with_details(json!({"address": self.address, "error": "connect"}))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::kind;
    use crate::{CheckConfig, check_kinds};
    use mon_core::Status;

    async fn probe(address: String) -> CheckOutcome {
        let config = CheckConfig::new("t", kind("tcp", &TcpCheckConfig { address }));
        config.build(&check_kinds()).unwrap().check().await
    }

    #[tokio::test]
    async fn open_port_is_healthy_and_closed_port_unhealthy() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let outcome = probe(open.to_string()).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert_eq!(outcome.details["peer"], open.to_string());

        drop(listener);
        let outcome = probe(open.to_string()).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.to_lowercase().contains("refused"),
            "{}",
            outcome.message
        );
    }
}
