//! `type: tls_certificate`: days until the server's certificate expires, against
//! `warning_days` / `critical_days`; plus the certificate helpers the `http` check shares.

use super::{BuildContext, KindConfig, split_host_port};
use crate::HealthError;
use chrono::{DateTime, Utc};
use mon_core::{CheckOutcome, HealthCheck, Status, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Settings of a `tls_certificate` check.
///
/// ```yaml
/// - name: api-cert
///   type: tls_certificate
///   address: api.example.com:443
///   warning_days: 21
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsCertificateCheckConfig {
    /// `host:port` of the TLS server.
    pub address: String,
    /// The name to ask for (SNI) and verify the certificate against (default: the host of `address`).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Fewer days left than this makes the check degraded (default 14).
    #[serde(default = "defaults::warning_days")]
    pub warning_days: u32,
    /// Fewer days left than this (or an expired certificate) makes the check unhealthy (default 7).
    #[serde(default = "defaults::critical_days")]
    pub critical_days: u32,
    /// Whether the certificate must chain to a public root and match the name
    /// (default `true`). Turn off to watch the expiry of a self-signed certificate.
    #[serde(default = "defaults::yes")]
    pub verify_tls: bool,
}

/// The defaults of [`TlsCertificateCheckConfig`], in one place.
mod defaults {
    pub(super) fn warning_days() -> u32 {
        14
    }

    pub(super) fn critical_days() -> u32 {
        7
    }

    pub(super) fn yes() -> bool {
        true
    }
}

impl TlsCertificateCheckConfig {
    /// A check of `address` with every other setting at its default.
    pub fn new(address: impl Into<String>) -> TlsCertificateCheckConfig {
        TlsCertificateCheckConfig {
            address: address.into(),
            server_name: None,
            warning_days: defaults::warning_days(),
            critical_days: defaults::critical_days(),
            verify_tls: defaults::yes(),
        }
    }

    fn server_name(&self) -> Result<ServerName<'static>, String> {
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => split_host_port(&self.address)?.0,
        };
        ServerName::try_from(name.clone())
            .map_err(|_| format!("{name:?} is neither a DNS name nor an IP address"))
    }
}

impl KindConfig for TlsCertificateCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        split_host_port(&self.address)
            .map_err(|message| HealthError::invalid(check, "address", message))?;
        self.server_name()
            .map_err(|message| HealthError::invalid(check, "server_name", message))?;
        if self.critical_days > self.warning_days {
            return Err(HealthError::invalid(
                check,
                "critical_days",
                format!(
                    "{} is above warning_days {}; the critical threshold must not exceed the warning one",
                    self.critical_days, self.warning_days
                ),
            ));
        }
        Ok(())
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        let build_error = |message| HealthError::Build {
            check: ctx.name.to_owned(),
            kind: "tls_certificate".to_owned(),
            message,
        };
        let server_name = self.server_name().map_err(build_error)?;
        let config = client_config(self.verify_tls).map_err(build_error)?;
        Ok(Arc::new(TlsCertificateCheck {
            config: self.clone(),
            server_name,
            connector: tokio_rustls::TlsConnector::from(config),
        }))
    }
}

/// A rustls client configuration (ring provider): verifying against the
/// public web roots, or accepting any certificate when `verify` is false.
pub(crate) fn client_config(verify: bool) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let config = if verify {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `verify_tls: false`: accepts any certificate (signatures are still checked
/// for the handshake itself), so that an expiry date can be read from a
/// self-signed one.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What mon reports about a certificate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CertificateFacts {
    pub(crate) subject: String,
    pub(crate) issuer: String,
    pub(crate) not_after: DateTime<Utc>,
}

impl CertificateFacts {
    /// Parses a DER certificate; `None` if it is not one.
    pub(crate) fn parse(der: &[u8]) -> Option<CertificateFacts> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        Some(CertificateFacts {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_after: DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)?,
        })
    }

    /// Seconds until expiry (negative once expired).
    pub(crate) fn seconds_left(&self, now: DateTime<Utc>) -> i64 {
        (self.not_after - now).num_seconds()
    }

    /// The `certificate` object of an outcome's details, for people; the expiry mon
    /// acts on is the outcome's `certificate_expires_at`.
    pub(crate) fn details(&self, now: DateTime<Utc>) -> serde_json::Value {
        json!({
            "subject": self.subject,
            "issuer": self.issuer,
            "expires_at": self.not_after,
            "days_remaining": days(self.seconds_left(now)),
        })
    }
}

/// Whole days in `seconds`, rounded down (negative once expired).
fn days(seconds: i64) -> i64 {
    seconds.div_euclid(86_400)
}

/// A built `tls_certificate` check.
struct TlsCertificateCheck {
    config: TlsCertificateCheckConfig,
    server_name: ServerName<'static>,
    connector: tokio_rustls::TlsConnector,
}

impl TlsCertificateCheck {
    fn judge(
        &self,
        facts: &CertificateFacts,
        details: serde_json::Value,
        latency: std::time::Duration,
    ) -> CheckOutcome {
        let now = Utc::now();
        let seconds = facts.seconds_left(now);
        let left = days(seconds);
        let date = facts.not_after.format("%Y-%m-%d");
        let (status, message) = if seconds <= 0 {
            (Status::Unhealthy, format!("certificate expired on {date}"))
        } else if left < i64::from(self.config.critical_days) {
            (
                Status::Unhealthy,
                format!(
                    "certificate expires in {left} days ({date}), under critical_days {}",
                    self.config.critical_days
                ),
            )
        } else if left < i64::from(self.config.warning_days) {
            (
                Status::Degraded,
                format!(
                    "certificate expires in {left} days ({date}), under warning_days {}",
                    self.config.warning_days
                ),
            )
        } else {
            (
                Status::Healthy,
                format!("certificate valid for {left} more days ({date})"),
            )
        };
        CheckOutcome::new(status, latency, message)
            .with_details(details)
            .with_certificate_expiry(facts.not_after)
    }
}

#[async_trait]
impl HealthCheck for TlsCertificateCheck {
    fn kind(&self) -> &str {
        "tls_certificate"
    }

    async fn check(&self) -> CheckOutcome {
        let address = &self.config.address;
        let started = Instant::now();
        let tcp = match tokio::net::TcpStream::connect(address).await {
            Ok(tcp) => tcp,
            Err(e) => {
                return CheckOutcome::unhealthy(
                    started.elapsed(),
                    format!("cannot connect to {address}: {e}"),
                )
                .with_details(json!({"address": address, "error": "connect"}));
            }
        };
        let connected = started.elapsed();
        let tls = match self.connector.connect(self.server_name.clone(), tcp).await {
            Ok(tls) => tls,
            Err(e) => {
                return CheckOutcome::unhealthy(
                    started.elapsed(),
                    format!("TLS handshake with {address} failed: {e}"),
                )
                .with_details(json!({"address": address, "error": "tls"}));
            }
        };
        let latency = started.elapsed();
        let (_, session) = tls.get_ref();
        let facts = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|der| CertificateFacts::parse(der));
        let Some(facts) = facts else {
            return CheckOutcome::unhealthy(
                latency,
                format!("{address} sent no readable certificate"),
            )
            .with_details(json!({"address": address, "error": "certificate"}));
        };
        let details = json!({
            "address": address,
            "connect_ms": connected.as_secs_f64() * 1000.0,
            "tls_handshake_ms": (latency - connected).as_secs_f64() * 1000.0,
            "certificate": facts.details(Utc::now()),
        });
        self.judge(&facts, details, latency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::kind;
    use crate::test_support::tls_server;
    use crate::{CheckConfig, check_kinds};

    async fn probe(config: TlsCertificateCheckConfig) -> CheckOutcome {
        CheckConfig::new("cert", kind("tls_certificate", &config))
            .build(&check_kinds())
            .unwrap()
            .check()
            .await
    }

    #[tokio::test]
    async fn days_left_decide_the_status() {
        // (days the certificate is valid for, status)
        let cases = [
            (90, Status::Healthy),
            (10, Status::Degraded),
            (3, Status::Unhealthy),
            (-2, Status::Unhealthy),
        ];
        for (valid_days, want) in cases {
            let addr = tls_server(valid_days).await;
            let mut config = TlsCertificateCheckConfig::new(addr.to_string());
            config.server_name = Some("localhost".into());
            config.verify_tls = false;
            let outcome = probe(config).await;
            assert_eq!(outcome.status, want, "{valid_days} days: {outcome:?}");
            let left = outcome.details["certificate"]["days_remaining"]
                .as_i64()
                .unwrap();
            assert!(
                (valid_days - 1..=valid_days).contains(&left),
                "{valid_days}: {left}"
            );
            let typed = outcome
                .certificate_expires_at
                .map(|at| (at - Utc::now()).num_hours().div_euclid(24));
            assert_eq!(typed, Some(valid_days), "{valid_days}: {outcome:?}");
            assert!(outcome.details["tls_handshake_ms"].as_f64().is_some());
        }
    }

    #[tokio::test]
    async fn self_signed_fails_verification_when_verifying() {
        let addr = tls_server(90).await;
        let mut config = TlsCertificateCheckConfig::new(addr.to_string());
        config.server_name = Some("localhost".into());
        let outcome = probe(config).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.contains("TLS handshake") && outcome.message.contains("certificate"),
            "{}",
            outcome.message
        );
    }

    #[tokio::test]
    async fn closed_port_is_unhealthy() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let outcome = probe(TlsCertificateCheckConfig::new(closed.to_string())).await;
        assert_eq!(outcome.status, Status::Unhealthy);
        assert_eq!(outcome.details["error"], "connect");
    }

    #[test]
    fn config_errors() {
        let mut config = TlsCertificateCheckConfig::new("example.com");
        let err = config.validate("c").unwrap_err().to_string();
        assert!(err.contains("invalid `address`"), "{err}");
        config.address = "example.com:443".into();
        config.validate("c").unwrap();
        config.critical_days = 30;
        let err = config.validate("c").unwrap_err().to_string();
        assert!(err.contains("invalid `critical_days`"), "{err}");
    }
}
