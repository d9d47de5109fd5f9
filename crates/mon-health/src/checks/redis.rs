//! `type: redis`: connects, sends `PING` and reports the server version.

use super::{BuildContext, KindConfig, database_url, scrub};
use crate::HealthError;
use crate::checks::common::{format_latency, redact_url};
use mon_core::{CheckOutcome, HealthCheck, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

/// Settings of a `redis` check: healthy when the server answers `PING` with `PONG`.
///
/// ```yaml
/// - name: cache
///   type: redis
///   url: redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisCheckConfig {
    /// `redis://[user][:password@]host[:port][/db]` (`rediss://` is not supported).
    /// Write the password as `${VAR}`; it never appears in outcomes or logs.
    pub url: Url,
}

/// Hides the password.
impl fmt::Debug for RedisCheckConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCheckConfig")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl KindConfig for RedisCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        database_url(check, &self.url, &["redis"])
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        let client = redis::Client::open(self.url.as_str()).map_err(|e| HealthError::Build {
            check: ctx.name.to_owned(),
            kind: "redis".to_owned(),
            message: scrub(e.to_string(), &self.url),
        })?;
        Ok(Arc::new(RedisCheck {
            client,
            url: self.url.clone(),
        }))
    }
}

/// A built `redis` check.
struct RedisCheck {
    client: redis::Client,
    url: Url,
}

impl RedisCheck {
    /// `(PING answer, server version)`.
    async fn probe(&self) -> Result<(String, Option<String>), redis::RedisError> {
        // A fresh connection each run, so a server that stopped accepting is noticed.
        let mut conn = self.client.get_multiplexed_async_connection().await?;
        let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await?;
        let version = info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_owned());
        Ok((pong, version))
    }
}

#[async_trait]
impl HealthCheck for RedisCheck {
    fn kind(&self) -> &str {
        "redis"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let result = self.probe().await;
        let latency = started.elapsed();
        let url = redact_url(&self.url);
        match result {
            Ok((pong, version)) if pong == "PONG" => {
                CheckOutcome::healthy(latency, format!("PONG in {}", format_latency(latency)))
                    .with_details(json!({"url": url, "server_version": version}))
            }
            Ok((other, _)) => {
                CheckOutcome::unhealthy(latency, format!("PING answered {other:?} instead of PONG"))
                    .with_details(json!({"url": url}))
            }
            Err(e) => CheckOutcome::unhealthy(latency, scrub(format!("redis: {e}"), &self.url))
                .with_details(json!({"url": url, "error": "redis"})),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::kind;
    use crate::{CheckConfig, check_kinds};
    use mon_core::Status;

    /// The local Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`).
    fn redis_url() -> String {
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
    }

    async fn probe(url: &str) -> CheckOutcome {
        let config = CheckConfig::new(
            "cache",
            kind(
                "redis",
                &RedisCheckConfig {
                    url: url.parse().unwrap(),
                },
            ),
        );
        config.build(&check_kinds()).unwrap().check().await
    }

    #[tokio::test]
    async fn real_redis_answers_pong_with_its_version() {
        let outcome = probe(&redis_url()).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert!(
            outcome.message.starts_with("PONG in "),
            "{}",
            outcome.message
        );
        assert!(outcome.details["server_version"].is_string(), "{outcome:?}");
    }

    #[tokio::test]
    async fn closed_port_is_unhealthy_without_the_password() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let outcome = probe(&format!("redis://:hunter2@{closed}/0")).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        let shown = format!("{} {}", outcome.message, outcome.details);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.to_lowercase().contains("refused"), "{shown}");
    }
}
