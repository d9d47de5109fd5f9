//! Test helpers: a real HTTPS server on loopback with a freshly generated certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed certificate for `localhost` and 127.0.0.1, valid from a day
/// ago (or earlier, for an expired one) for `valid_days` more days, and its key.
pub(crate) fn certificate(valid_days: i64) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = rcgen::KeyPair::generate().expect("generate a key");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate parameters");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(30);
    // A little over the whole days, so "days remaining" reads `valid_days` until a minute passes.
    params.not_after = now + time::Duration::days(valid_days) + time::Duration::minutes(5);
    let cert = params.self_signed(&key).expect("self-sign");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.der().clone(), key)
}

/// Starts an HTTPS server on 127.0.0.1 whose certificate expires in
/// `valid_days`. It answers every request `200 OK` with the body `{"status":"ok"}`.
pub(crate) async fn tls_server(valid_days: i64) -> SocketAddr {
    let (cert, key) = certificate(valid_days);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that rejects the certificate ends the handshake: nothing to answer.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"status":"ok"}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

/// The kind part of a check entry written from a kind's typed config.
pub(crate) fn kind<T: serde::Serialize>(name: &str, config: &T) -> mon_core::KindSpec {
    mon_core::KindSpec::of(name, config).expect("a config struct serializes")
}

/// Runs once, with `timeout`, the check of kind `name` whose fields are `config` with its
/// `Secret` field `field` holding `secret` as YAML would (a `Secret` serializes as `***`).
pub(crate) async fn run_with_secret<T: serde::Serialize>(
    name: &str,
    config: &T,
    (field, secret): (&str, &mon_core::Secret),
    timeout: std::time::Duration,
) -> mon_core::CheckOutcome {
    let mut fields = serde_json::to_value(config).expect("a config struct serializes");
    fields[field] = serde_json::Value::from(secret.expose());
    let mut check = crate::CheckConfig::new(name, mon_core::KindSpec::new(name, fields));
    check.timeout = timeout;
    check
        .build(&crate::check_kinds())
        .expect("the check builds")
        .check()
        .await
}

/// Everything a person or another program can see of a check's config and outcome:
/// their `Debug` and JSON forms.
pub(crate) fn shown<T: std::fmt::Debug + serde::Serialize>(
    config: &T,
    outcome: &mon_core::CheckOutcome,
) -> String {
    format!(
        "{config:?} {} {outcome:?} {}",
        serde_json::to_string(config).expect("a config struct serializes"),
        serde_json::to_string(outcome).expect("an outcome serializes")
    )
}
