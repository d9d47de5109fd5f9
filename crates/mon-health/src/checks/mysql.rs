//! `type: mysql`: connects to MySQL or MariaDB, runs `SELECT 1` and reports the server version.

use super::{BuildContext, KindConfig, database_url, scrub};
use crate::HealthError;
use crate::checks::common::{format_latency, redact_url};
use mon_core::{CheckOutcome, HealthCheck, async_trait};
use mysql_async::prelude::Queryable;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

/// Settings of a `mysql` check (MySQL and MariaDB): healthy when `SELECT 1` answers 1.
///
/// ```yaml
/// - name: legacy-db
///   type: mysql
///   url: mysql://mon:${MYSQL_PASSWORD}@127.0.0.1:3306/app
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlCheckConfig {
    /// `mysql://user[:password]@host[:port][/database]` (no TLS: use it over a trusted network).
    /// Write the password as `${VAR}`; it never appears in outcomes or logs.
    pub url: Url,
}

/// Hides the password.
impl fmt::Debug for MysqlCheckConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlCheckConfig")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl KindConfig for MysqlCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        database_url(check, &self.url, &["mysql", "mariadb"])?;
        mysql_opts(&self.url)
            .map(|_| ())
            .map_err(|message| HealthError::invalid(check, "url", message))
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        let opts = mysql_opts(&self.url).map_err(|message| HealthError::Build {
            check: ctx.name.to_owned(),
            kind: "mysql".to_owned(),
            message,
        })?;
        Ok(Arc::new(MysqlCheck {
            opts,
            url: self.url.clone(),
        }))
    }
}

/// The driver's options; a `mariadb://` URL is read as `mysql://`.
fn mysql_opts(url: &Url) -> Result<mysql_async::Opts, String> {
    let text = url.as_str();
    let text = match text.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => text.to_owned(),
    };
    mysql_async::Opts::from_url(&text).map_err(|e| scrub(e.to_string(), url))
}

/// A built `mysql` check.
struct MysqlCheck {
    opts: mysql_async::Opts,
    url: Url,
}

impl MysqlCheck {
    /// `(SELECT 1's answer, server version)`.
    async fn probe(&self) -> Result<(Option<i64>, Option<String>), mysql_async::Error> {
        let mut conn = mysql_async::Conn::new(self.opts.clone()).await?;
        let one: Option<i64> = conn.query_first("SELECT 1").await?;
        let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
        conn.disconnect().await?;
        Ok((one, version))
    }
}

#[async_trait]
impl HealthCheck for MysqlCheck {
    fn kind(&self) -> &str {
        "mysql"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let result = self.probe().await;
        let latency = started.elapsed();
        let url = redact_url(&self.url);
        match result {
            Ok((Some(1), version)) => {
                CheckOutcome::healthy(latency, format!("SELECT 1 in {}", format_latency(latency)))
                    .with_details(json!({"url": url, "server_version": version}))
            }
            Ok((other, _)) => {
                CheckOutcome::unhealthy(latency, format!("SELECT 1 answered {other:?}"))
                    .with_details(json!({"url": url}))
            }
            Err(e) => CheckOutcome::unhealthy(latency, scrub(format!("mysql: {e}"), &self.url))
                .with_details(json!({"url": url, "error": "mysql"})),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::kind;
    use crate::{CheckConfig, check_kinds};
    use mon_core::Status;

    /// The local MariaDB/MySQL (`MYSQL_URL`, default `mysql://root@127.0.0.1:3306`).
    fn mysql_url() -> String {
        std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned())
    }

    async fn probe(url: &str) -> CheckOutcome {
        let config = CheckConfig::new(
            "legacy",
            kind(
                "mysql",
                &MysqlCheckConfig {
                    url: url.parse().unwrap(),
                },
            ),
        );
        config.build(&check_kinds()).unwrap().check().await
    }

    #[tokio::test]
    async fn real_mariadb_answers_with_its_version() {
        let outcome = probe(&mysql_url()).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert!(outcome.details["server_version"].is_string(), "{outcome:?}");
    }

    #[tokio::test]
    async fn failures_are_unhealthy_without_the_password() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let wrong_password = mysql_url().replace("://root@", "://root:hunter2@");
        for url in [format!("mysql://root:hunter2@{closed}"), wrong_password] {
            let outcome = probe(&url).await;
            assert_eq!(outcome.status, Status::Unhealthy, "{url}: {outcome:?}");
            let shown = format!("{} {}", outcome.message, outcome.details);
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}
