//! The check kinds and the one place where a kind is registered.
//!
//! To add a kind: write `checks/<kind>.rs` with its config struct
//! (`#[serde(deny_unknown_fields)]`), an implementation of [`KindConfig`] and
//! its tests; then add one line to [`register`]. Nothing else needs to change.
//! A kind from another crate registers the same way, with its own factory, in the
//! [`Kinds`] given to the scheduler or the server.

mod command;
pub(crate) mod common;
mod dns;
mod heartbeat;
pub(crate) mod http;
pub(crate) mod livekit;
mod mysql;
mod postgres;
mod prometheus;
mod railway;
mod redis;
mod supabase;
mod system;
mod tcp;
mod tls;

pub use command::CommandCheckConfig;
pub use dns::DnsCheckConfig;
pub use heartbeat::{HeartbeatCheckConfig, HeartbeatSignal};
pub(crate) use heartbeat::{Heartbeats, KeptBeat};
pub use http::{HttpCheckConfig, StatusRange};
pub use livekit::token as livekit_token;
pub use livekit::webhook as livekit_webhook;
pub use livekit::{LivekitCheckConfig, LivekitService};
pub use mysql::MysqlCheckConfig;
pub use postgres::PostgresCheckConfig;
pub use prometheus::{Aggregate, PrometheusCheckConfig, SeriesMapping};
pub use railway::{RailwayCheckConfig, RailwayTokenKind};
pub use redis::RedisCheckConfig;
pub use supabase::{SupabaseCheckConfig, SupabaseService};
pub use system::SystemCheckConfig;
pub use tcp::TcpCheckConfig;
pub use tls::TlsCertificateCheckConfig;

use crate::HealthError;
use mon_core::{CheckFactory, HealthCheck, KindError, Kinds};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The built-in check kinds, registered in `kinds` under the name written after
/// `type:`; `heartbeat` checks read the pings of `heartbeats`. This list is the
/// one place a built-in kind is named.
pub(crate) fn register(kinds: &mut Kinds, heartbeats: &Heartbeats) {
    kind::<HttpCheckConfig>(kinds, "http", heartbeats);
    kind::<TcpCheckConfig>(kinds, "tcp", heartbeats);
    kind::<DnsCheckConfig>(kinds, "dns", heartbeats);
    kind::<TlsCertificateCheckConfig>(kinds, "tls_certificate", heartbeats);
    kind::<RedisCheckConfig>(kinds, "redis", heartbeats);
    kind::<PostgresCheckConfig>(kinds, "postgres", heartbeats);
    kind::<MysqlCheckConfig>(kinds, "mysql", heartbeats);
    kind::<SystemCheckConfig>(kinds, "system", heartbeats);
    kind::<HeartbeatCheckConfig>(kinds, "heartbeat", heartbeats);
    kind::<CommandCheckConfig>(kinds, "command", heartbeats);
    kind::<LivekitCheckConfig>(kinds, "livekit", heartbeats);
    kind::<PrometheusCheckConfig>(kinds, "prometheus", heartbeats);
    kind::<SupabaseCheckConfig>(kinds, "supabase", heartbeats);
    kind::<RailwayCheckConfig>(kinds, "railway", heartbeats);
}

/// Registers the built-in kind `name` whose fields are `T` (so they are shown as `T`
/// serializes them: secrets `***`).
fn kind<T: KindConfig + DeserializeOwned + Serialize + 'static>(
    kinds: &mut Kinds,
    name: &str,
    heartbeats: &Heartbeats,
) {
    kinds.check_kind_of::<T>(name, factory::<T>(heartbeats));
}

/// The built-in check kinds, for validating and building checks outside a
/// [`Scheduler`](crate::Scheduler) (`heartbeat` checks built from them have pings of their own).
pub fn check_kinds() -> Kinds {
    let mut kinds = Kinds::new();
    register(&mut kinds, &Heartbeats::default());
    kinds
}

/// The factory of a built-in kind: its config read from the entry's fields,
/// validated, then built.
fn factory<T: KindConfig + DeserializeOwned + 'static>(heartbeats: &Heartbeats) -> CheckFactory {
    let heartbeats = heartbeats.clone();
    Arc::new(move |spec| {
        let config: T = spec.parse()?;
        config.validate(spec.name).map_err(kind_error)?;
        let ctx = BuildContext {
            name: spec.name,
            timeout: spec.timeout,
            heartbeats: &heartbeats,
        };
        config.build(&ctx).map_err(kind_error)
    })
}

/// A [`HealthError`] about a kind's field as the [`KindError`] a factory returns.
pub(crate) fn kind_error(error: HealthError) -> KindError {
    match error {
        HealthError::InvalidConfig { field, message, .. } => KindError::field(field, message),
        HealthError::Build { kind, message, .. } => {
            KindError::new(format!("cannot set up the {kind} check: {message}"))
        }
        other => KindError::new(other.to_string()),
    }
}

/// What [`KindConfig::build`] gets from the common part of [`CheckConfig`](crate::CheckConfig).
#[derive(Debug)]
pub(crate) struct BuildContext<'a> {
    /// The check's name, for error messages.
    pub(crate) name: &'a str,
    /// The check's timeout, for clients that take one.
    pub(crate) timeout: Duration,
    /// Where `heartbeat` checks find their pings (the registry's).
    pub(crate) heartbeats: &'a Heartbeats,
}

impl BuildContext<'_> {
    /// How long one request of the check may take: most of the check's timeout, so that
    /// a slow part is reported as such (with the other parts' results) before the
    /// scheduler cancels the whole run.
    pub(crate) fn request_deadline(&self) -> Duration {
        self.timeout.mul_f64(0.9).max(Duration::from_millis(10))
    }
}

/// The error and its sources, `: `-separated, each part once (pass a reqwest error
/// `without_url()`: its text would otherwise carry the URL and its secrets).
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Implemented by every kind's config struct.
pub(crate) trait KindConfig {
    /// Checks the kind's fields; `check` is the check's name, for the error.
    fn validate(&self, check: &str) -> Result<(), HealthError>;
    /// Builds the runnable check. Called after `validate` succeeded.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError>;
}

/// Splits `host:port` (`[v6]:port` for IPv6); the error says what to write instead.
pub(crate) fn split_host_port(address: &str) -> Result<(String, u16), String> {
    let bad = || {
        format!("{address:?} is not host:port; write it like 127.0.0.1:6379 or db.internal:5432")
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
        return Err(bad());
    }
    let port: u16 = port.parse().map_err(|_| bad())?;
    if port == 0 {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// The first entry of `list` that repeats an earlier one, with its index (for a
/// `services[i]` error).
pub(crate) fn first_repeat<T: PartialEq>(list: &[T]) -> Option<(usize, &T)> {
    list.iter()
        .enumerate()
        .find(|(i, item)| list[..*i].contains(item))
}

/// Checks a `services` list of a kind with several parts: not empty, nothing twice;
/// `all` names every choice for the error.
pub(crate) fn validate_services<T: PartialEq>(
    check: &str,
    services: &[T],
    name: fn(&T) -> &'static str,
    all: &str,
) -> Result<(), HealthError> {
    if services.is_empty() {
        return Err(HealthError::invalid(
            check,
            "services",
            format!("is empty; list at least one of {all} (or leave it out for all)"),
        ));
    }
    if let Some((i, service)) = first_repeat(services) {
        return Err(HealthError::invalid(
            check,
            format!("services[{i}]"),
            format!("{} is listed twice", name(service)),
        ));
    }
    Ok(())
}

/// Checks a secret sent in a request header (`field`, written as `${example}`): not
/// empty, and a valid header value. The errors never show it.
pub(crate) fn validate_header_secret(
    check: &str,
    field: &str,
    secret: &mon_core::Secret,
    example: &str,
) -> Result<(), HealthError> {
    if secret.expose().trim().is_empty() {
        return Err(HealthError::invalid(
            check,
            field,
            format!("is empty (is its environment variable set?); write {field}: ${{{example}}}"),
        ));
    }
    if reqwest::header::HeaderValue::from_str(secret.expose()).is_err() {
        return Err(HealthError::invalid(
            check,
            field,
            "is not a usable header value: remove line breaks and other control characters",
        ));
    }
    Ok(())
}

/// Validates a database URL: one of `schemes`, and a host.
pub(crate) fn database_url(check: &str, url: &Url, schemes: &[&str]) -> Result<(), HealthError> {
    let shown = common::redact_url(url);
    if !schemes.contains(&url.scheme()) {
        return Err(HealthError::invalid(
            check,
            "url",
            format!(
                "unsupported scheme {:?} in {shown:?}: use a {}:// URL",
                url.scheme(),
                schemes[0]
            ),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(HealthError::invalid(
            check,
            "url",
            format!("{shown:?} has no host"),
        ));
    }
    Ok(())
}

/// `message` with the URL's password (and its percent-decoded form) replaced.
pub(crate) fn scrub(message: String, url: &Url) -> String {
    let Some(password) = url.password().filter(|p| !p.is_empty()) else {
        return message;
    };
    let mut message = message.replace(password, "<redacted>");
    let decoded: String = url::form_urlencoded::parse(format!("p={password}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !decoded.is_empty() {
        message = message.replace(&decoded, "<redacted>");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_cases() {
        let cases = [
            ("127.0.0.1:6379", Ok(("127.0.0.1", 6379))),
            ("db.internal:5432", Ok(("db.internal", 5432))),
            ("[::1]:443", Ok(("::1", 443))),
            ("example.com", Err(())),
            ("example.com:0", Err(())),
            (":80", Err(())),
            ("http://x:80", Err(())),
            ("host:http", Err(())),
        ];
        for (input, want) in cases {
            let got = split_host_port(input);
            match want {
                Ok((host, port)) => assert_eq!(got, Ok((host.to_owned(), port)), "{input}"),
                Err(()) => assert!(got.is_err(), "{input}: {got:?}"),
            }
        }
    }

    #[test]
    fn scrub_removes_the_password() {
        let url: Url = "redis://:p%40ss@127.0.0.1/".parse().unwrap();
        assert_eq!(
            scrub("auth p%40ss / p@ss failed".into(), &url),
            "auth <redacted> / <redacted> failed"
        );
    }
}
