//! `type: postgres`: connects, runs `SELECT 1` and reports the server version.

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

/// Settings of a `postgres` check: healthy when `SELECT 1` answers 1.
///
/// ```yaml
/// - name: db
///   type: postgres
///   url: postgres://mon:${PG_PASSWORD}@127.0.0.1:5432/app
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresCheckConfig {
    /// `postgres://user[:password]@host[:port]/database` (connection parameters such as
    /// `?connect_timeout=5` are accepted; TLS is not: use it over a trusted network).
    /// Write the password as `${VAR}`; it never appears in outcomes or logs.
    pub url: Url,
}

/// Hides the password.
impl fmt::Debug for PostgresCheckConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresCheckConfig")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl KindConfig for PostgresCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        database_url(check, &self.url, &["postgres", "postgresql"])?;
        self.url
            .as_str()
            .parse::<tokio_postgres::Config>()
            .map(|_| ())
            .map_err(|e| HealthError::invalid(check, "url", scrub(e.to_string(), &self.url)))
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        let mut config = self
            .url
            .as_str()
            .parse::<tokio_postgres::Config>()
            .map_err(|e| HealthError::Build {
                check: ctx.name.to_owned(),
                kind: "postgres".to_owned(),
                message: scrub(e.to_string(), &self.url),
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(ctx.timeout);
        }
        config.application_name("mon-health");
        Ok(Arc::new(PostgresCheck {
            config,
            url: self.url.clone(),
        }))
    }
}

/// A built `postgres` check.
struct PostgresCheck {
    config: tokio_postgres::Config,
    url: Url,
}

impl PostgresCheck {
    /// `(SELECT 1's answer, server version)`.
    async fn probe(&self) -> Result<(i32, String), tokio_postgres::Error> {
        let (client, connection) = self.config.connect(tokio_postgres::NoTls).await?;
        // The connection task ends when the client is dropped at the end of this run.
        let driver = tokio::spawn(connection);
        let one: i32 = client.query_one("SELECT 1", &[]).await?.get(0);
        let version: String = client.query_one("SHOW server_version", &[]).await?.get(0);
        drop(client);
        let _ = driver.await;
        Ok((one, version))
    }
}

#[async_trait]
impl HealthCheck for PostgresCheck {
    fn kind(&self) -> &str {
        "postgres"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let result = self.probe().await;
        let latency = started.elapsed();
        let url = redact_url(&self.url);
        match result {
            Ok((1, version)) => {
                CheckOutcome::healthy(latency, format!("SELECT 1 in {}", format_latency(latency)))
                    .with_details(json!({"url": url, "server_version": version}))
            }
            Ok((other, _)) => {
                CheckOutcome::unhealthy(latency, format!("SELECT 1 answered {other}"))
                    .with_details(json!({"url": url}))
            }
            Err(e) => {
                let cause =
                    std::error::Error::source(&e).map_or_else(String::new, |s| format!(": {s}"));
                CheckOutcome::unhealthy(latency, scrub(format!("postgres: {e}{cause}"), &self.url))
                    .with_details(json!({"url": url, "error": "postgres"}))
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

    /// The local PostgreSQL (`PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`).
    fn pg_url() -> String {
        std::env::var("PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    async fn probe(url: &str) -> CheckOutcome {
        let config = CheckConfig::new(
            "db",
            kind(
                "postgres",
                &PostgresCheckConfig {
                    url: url.parse().unwrap(),
                },
            ),
        );
        config.build(&check_kinds()).unwrap().check().await
    }

    #[tokio::test]
    async fn real_postgres_answers_with_its_version() {
        let outcome = probe(&pg_url()).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        let version = outcome.details["server_version"].as_str().unwrap();
        assert!(
            version.chars().next().unwrap().is_ascii_digit(),
            "{version}"
        );
    }

    #[tokio::test]
    async fn failures_are_unhealthy_without_the_password() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let outcome = probe(&format!("postgres://postgres:hunter2@{closed}/test")).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        let shown = format!("{} {}", outcome.message, outcome.details);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.to_lowercase().contains("refused"), "{shown}");

        let missing = pg_url().replace("/test", "/mon_no_such_database");
        let outcome = probe(&missing).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.contains("mon_no_such_database"),
            "{}",
            outcome.message
        );
    }

    #[test]
    fn bad_urls_are_config_errors() {
        for (url, want) in [
            ("mysql://127.0.0.1/db", "unsupported scheme"),
            ("postgres:///db", "no host"),
        ] {
            let config = PostgresCheckConfig {
                url: url.parse().unwrap(),
            };
            let err = config.validate("db").unwrap_err().to_string();
            assert!(
                err.contains("invalid `url`") && err.contains(want),
                "{url}: {err}"
            );
        }
    }
}
