//! `type: http`: requests a URL and judges the status code, the body and the latency.

use super::common::{format_latency, redact_url};
use super::tls::CertificateFacts;
use super::{BuildContext, KindConfig, error_chain};
use crate::HealthError;
use chrono::Utc;
use mon_core::{CheckOutcome, HealthCheck, Status, async_trait};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;
use serde_json_path::JsonPath;
use std::collections::{BTreeMap, HashMap};
use std::error::Error as _;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};
use url::Url;

/// Settings of an `http` check.
///
/// ```yaml
/// - name: api
///   type: http
///   url: http://127.0.0.1:9000/health
///   expected_status: [200, "300-399"]
///   json: { "$.status": "ok" }
///   max_latency: 500ms
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheckConfig {
    /// The URL to request; `http://` or `https://`. A `user:password@` part is
    /// sent as HTTP basic auth and never shown in outcomes or logs.
    pub url: Url,
    /// The request method (default `GET`).
    #[serde(default = "defaults::method")]
    pub method: String,
    /// Extra request headers. Their values are never shown in outcomes or logs.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A request body to send, if any.
    #[serde(default)]
    pub body: Option<String>,
    /// The status codes that count as healthy: codes (`200`), ranges
    /// (`"200-299"`) or classes (`"2xx"`). Default: any 2xx.
    #[serde(default)]
    pub expected_status: Vec<StatusRange>,
    /// Text the response body must contain (the first 1 MiB is read).
    #[serde(default)]
    pub body_contains: Option<String>,
    /// A regular expression (Rust `regex` syntax) the response body must match.
    #[serde(default)]
    pub body_regex: Option<String>,
    /// JSONPath assertions on a JSON body: each path must select a value equal
    /// to the one given, such as `{"$.status": "ok", "$.checks.db": true}`.
    #[serde(default)]
    pub json: BTreeMap<String, serde_json::Value>,
    /// A response slower than this makes the check degraded (default: no limit;
    /// only the check's `timeout` applies).
    #[serde(default, with = "mon_core::duration::option")]
    pub max_latency: Option<Duration>,
    /// Whether to verify the server's TLS certificate (default `true`). Turn off
    /// only for self-signed certificates you trust.
    #[serde(default = "defaults::yes")]
    pub verify_tls: bool,
    /// Whether to follow redirects, up to 10 (default `true`). When `false`, a
    /// 3xx answer is judged like any other status code.
    #[serde(default = "defaults::yes")]
    pub follow_redirects: bool,
    /// Whether to keep the connection open between runs and reuse it (default
    /// `false`). By default every run opens a fresh connection, so the latency
    /// includes connecting (and the TLS handshake) and a server that stopped accepting
    /// connections is noticed. With `true`, a run reuses the previous run's connection
    /// while the server keeps it open: less work for mon and the server, and the
    /// latency is then the request alone.
    #[serde(default)]
    pub keep_alive: bool,
}

/// The defaults of [`HttpCheckConfig`], in one place.
mod defaults {
    pub(super) fn method() -> String {
        "GET".to_owned()
    }

    pub(super) fn yes() -> bool {
        true
    }
}

impl HttpCheckConfig {
    /// A `GET url` check with every other setting at its default.
    pub fn new(url: Url) -> HttpCheckConfig {
        HttpCheckConfig {
            url,
            method: defaults::method(),
            headers: BTreeMap::new(),
            body: None,
            expected_status: Vec::new(),
            body_contains: None,
            body_regex: None,
            json: BTreeMap::new(),
            max_latency: None,
            verify_tls: defaults::yes(),
            follow_redirects: defaults::yes(),
            keep_alive: false,
        }
    }
}

/// Hides the URL's credentials and secret-looking query values, header values and the body.
impl fmt::Debug for HttpCheckConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: BTreeMap<&str, &str> = self
            .headers
            .keys()
            .map(|k| (k.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("HttpCheckConfig")
            .field("url", &redact_url(&self.url))
            .field("method", &self.method)
            .field("headers", &headers)
            .field(
                "body",
                &self.body.as_ref().map(|b| format!("<{} bytes>", b.len())),
            )
            .field("expected_status", &self.expected_status)
            .field("body_contains", &self.body_contains)
            .field("body_regex", &self.body_regex)
            .field("json", &self.json)
            .field("max_latency", &self.max_latency)
            .field("verify_tls", &self.verify_tls)
            .field("follow_redirects", &self.follow_redirects)
            .finish()
    }
}

impl KindConfig for HttpCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        validate_http_url(check, "url", &self.url)?;
        parse_method(&self.method)
            .map_err(|message| HealthError::invalid(check, "method", message))?;
        parse_headers(&self.headers)
            .map_err(|(field, message)| HealthError::invalid(check, field, message))?;
        if let Some(bad) = self.expected_status.iter().find(|r| {
            !(100..=599).contains(&r.from) || !(100..=599).contains(&r.to) || r.from > r.to
        }) {
            return Err(HealthError::invalid(
                check,
                "expected_status",
                format!(
                    "{bad} is not an HTTP status code or range; use codes from 100 to 599, such as [200, 204] or [\"200-399\"]"
                ),
            ));
        }
        if let Some(pattern) = &self.body_regex {
            regex::Regex::new(pattern).map_err(|e| {
                HealthError::invalid(
                    check,
                    "body_regex",
                    format!("not a valid regular expression: {e}"),
                )
            })?;
        }
        parse_json_paths(&self.json)
            .map_err(|(field, message)| HealthError::invalid(check, field, message))?;
        if self.max_latency.is_some_and(|d| d.is_zero()) {
            return Err(HealthError::invalid(
                check,
                "max_latency",
                "must be longer than zero, such as 500ms (or leave it out for no limit)",
            ));
        }
        Ok(())
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        let build_error = |message: String| HealthError::Build {
            check: ctx.name.to_owned(),
            kind: "http".to_owned(),
            message,
        };
        let method = parse_method(&self.method).map_err(build_error)?;
        let body_regex = self
            .body_regex
            .as_deref()
            .map(regex::Regex::new)
            .transpose()
            .map_err(|e| build_error(e.to_string()))?;
        let json = parse_json_paths(&self.json).map_err(|(_, message)| build_error(message))?;
        let headers = parse_headers(&self.headers).map_err(|(_, message)| build_error(message))?;
        let client = ClientSettings {
            verify_tls: self.verify_tls,
            follow_redirects: self.follow_redirects,
            keep_alive: self.keep_alive,
        }
        .shared_client()
        .map_err(|e| build_error(error_chain(&e)))?;
        Ok(Arc::new(HttpCheck {
            client,
            method,
            url: self.url.clone(),
            display_url: redact_url(&self.url),
            headers,
            body: self.body.clone(),
            expected_status: self.expected_status.clone(),
            body_contains: self.body_contains.clone(),
            body_regex,
            json,
            max_latency: self.max_latency,
            timeout: ctx.timeout,
        }))
    }
}

/// Checks that `url` (the field `field`) is an `http://` or `https://` URL with a host.
pub(crate) fn validate_http_url(check: &str, field: &str, url: &Url) -> Result<(), HealthError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HealthError::invalid(
            check,
            field,
            format!(
                "unsupported scheme {:?} in {:?}: use an http:// or https:// URL",
                url.scheme(),
                redact_url(url)
            ),
        ));
    }
    if url.host().is_none() {
        return Err(HealthError::invalid(
            check,
            field,
            format!("{:?} has no host", redact_url(url)),
        ));
    }
    Ok(())
}

/// The settings in which HTTP clients differ. Checks with the same settings share one
/// client — its TLS configuration and connection pool — so that a thousand checks do
/// not hold a thousand of each; the timeout is set on each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientSettings {
    /// Whether the server's TLS certificate is verified.
    pub(crate) verify_tls: bool,
    /// Whether redirects are followed (up to 10).
    pub(crate) follow_redirects: bool,
    /// Whether idle connections are kept for the next run.
    pub(crate) keep_alive: bool,
}

/// How long an idle kept-alive connection is kept for the next run.
const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(300);

impl ClientSettings {
    /// The process's client for these settings, built on first use.
    pub(crate) fn shared_client(self) -> Result<reqwest::Client, reqwest::Error> {
        static CLIENTS: LazyLock<Mutex<HashMap<ClientSettings, reqwest::Client>>> =
            LazyLock::new(Mutex::default);
        let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&self) {
            return Ok(client.clone());
        }
        let builder = if self.keep_alive {
            // Idle connections are kept (per host) for the next run of any check.
            reqwest::Client::builder().pool_idle_timeout(KEEP_ALIVE_IDLE)
        } else {
            // Every run opens a fresh connection, so the latency includes the
            // connect (and TLS handshake) and a server that stopped accepting
            // connections is noticed even if an old keep-alive one still works.
            reqwest::Client::builder().pool_max_idle_per_host(0)
        };
        let redirect = if self.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        };
        let client = builder
            .danger_accept_invalid_certs(!self.verify_tls)
            // Hands the server's certificate to the check, for its expiry date.
            .tls_info(true)
            .redirect(redirect)
            .user_agent(concat!("mon-health/", env!("CARGO_PKG_VERSION")))
            .build()?;
        clients.insert(self, client.clone());
        Ok(client)
    }
}

/// One `json:` assertion: the path as written, parsed, and the expected value.
type JsonAssertion = (String, JsonPath, serde_json::Value);

/// The JSONPath assertions, parsed; an error is `(field, message)`.
fn parse_json_paths(
    json: &BTreeMap<String, serde_json::Value>,
) -> Result<Vec<JsonAssertion>, (String, String)> {
    json.iter()
        .map(|(path, want)| {
            JsonPath::parse(path)
                .map(|parsed| (path.clone(), parsed, want.clone()))
                .map_err(|e| {
                    (
                        format!("json.{path}"),
                        format!("{path:?} is not a JSONPath expression ({e}); write one such as $.status"),
                    )
                })
        })
        .collect()
}

/// An accepted status code or range of codes in `expected_status`.
///
/// Written as a number (`200`), a range (`"200-299"`) or a class (`"2xx"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    /// The lowest accepted code.
    pub from: u16,
    /// The highest accepted code.
    pub to: u16,
}

impl StatusRange {
    /// Whether `code` is in the range.
    pub fn contains(&self, code: u16) -> bool {
        (self.from..=self.to).contains(&code)
    }

    fn parse(text: &str) -> Result<StatusRange, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "{text:?} is not a status code, range or class; write 200, \"200-299\" or \"2xx\""
            )
        };
        let number = |t: &str| t.trim().parse::<u16>().map_err(|_| bad());
        if let Some(class) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
            let class = number(class)?;
            return Ok(StatusRange {
                from: class * 100,
                to: class * 100 + 99,
            });
        }
        match text.split_once('-') {
            Some((from, to)) => Ok(StatusRange {
                from: number(from)?,
                to: number(to)?,
            }),
            None => Ok(StatusRange::from(number(text)?)),
        }
    }
}

impl From<u16> for StatusRange {
    fn from(code: u16) -> StatusRange {
        StatusRange {
            from: code,
            to: code,
        }
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

impl Serialize for StatusRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.from == self.to {
            s.serialize_u16(self.from)
        } else {
            s.collect_str(self)
        }
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StatusRange, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Code(u16),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Code(code) => Ok(StatusRange::from(code)),
            Raw::Text(text) => StatusRange::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

fn parse_method(method: &str) -> Result<Method, String> {
    Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
        format!("{method:?} is not an HTTP method; use GET, HEAD, POST or another method name")
    })
}

/// The request headers; an error is `(field, message)`. Values never appear in errors.
fn parse_headers(headers: &BTreeMap<String, String>) -> Result<HeaderMap, (String, String)> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            (
                "headers".to_owned(),
                format!("{name:?} is not a valid header name; use letters, digits and `-`"),
            )
        })?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            (
                format!("headers.{name}"),
                "the value is not a valid header value: remove line breaks and other control characters".to_owned(),
            )
        })?;
        value.set_sensitive(true);
        map.insert(header, value);
    }
    Ok(map)
}

/// A built `http` check.
struct HttpCheck {
    client: reqwest::Client,
    method: Method,
    url: Url,
    /// `url` with secrets removed: the only form that goes into outcomes.
    display_url: String,
    headers: HeaderMap,
    body: Option<String>,
    expected_status: Vec<StatusRange>,
    body_contains: Option<String>,
    body_regex: Option<regex::Regex>,
    json: Vec<JsonAssertion>,
    max_latency: Option<Duration>,
    timeout: Duration,
}

/// How much of a response body a probe reads when it does not judge the body.
const BODY_LIMIT: usize = 64 * 1024;
/// How much of a response body a probe reads and keeps to judge it.
const JUDGED_BODY_LIMIT: usize = 1024 * 1024;

/// What a request brought back.
struct Response {
    status: reqwest::StatusCode,
    /// Time until the response headers arrived (connect, TLS, request, server time).
    first_byte: Duration,
    /// The body, when the check judges it (up to [`JUDGED_BODY_LIMIT`]).
    body: Vec<u8>,
    certificate: Option<CertificateFacts>,
}

impl HttpCheck {
    fn judges_body(&self) -> bool {
        self.body_contains.is_some() || self.body_regex.is_some() || !self.json.is_empty()
    }

    /// Sends the request and reads (up to [`BODY_LIMIT`] of) the body.
    async fn request(&self, started: Instant) -> Result<Response, reqwest::Error> {
        let mut request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .timeout(self.timeout)
            .headers(self.headers.clone());
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        let mut response = request.send().await?;
        let first_byte = started.elapsed();
        let status = response.status();
        let certificate = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .and_then(CertificateFacts::parse);
        let keep = self.judges_body();
        let limit = if keep { JUDGED_BODY_LIMIT } else { BODY_LIMIT };
        let body = read_body(&mut response, limit, keep).await?;
        Ok(Response {
            status,
            first_byte,
            body,
            certificate,
        })
    }

    /// Why the body fails the assertions, if it does.
    fn judge_body(&self, body: &[u8]) -> Option<String> {
        let text = String::from_utf8_lossy(body);
        if let Some(want) = &self.body_contains
            && !text.contains(want.as_str())
        {
            return Some(format!("the body does not contain {want:?}"));
        }
        if let Some(regex) = &self.body_regex
            && !regex.is_match(&text)
        {
            return Some(format!("the body does not match {:?}", regex.as_str()));
        }
        if self.json.is_empty() {
            return None;
        }
        let value: serde_json::Value = match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(e) => return Some(format!("the body is not JSON: {e}")),
        };
        for (path, query, want) in &self.json {
            let found = query.query(&value).all();
            if !found.contains(&want) {
                let got = match found.as_slice() {
                    [] => "nothing".to_owned(),
                    [one] => one.to_string(),
                    many => format!("{} values", many.len()),
                };
                return Some(format!("{path} is {got}, expected {want}"));
            }
        }
        None
    }

    fn expected(&self) -> String {
        match self.expected_status.as_slice() {
            [] => "2xx".to_owned(),
            [one] => one.to_string(),
            many => {
                let list: Vec<String> = many.iter().map(StatusRange::to_string).collect();
                format!("one of {}", list.join(", "))
            }
        }
    }

    fn judge(&self, response: &Response, latency: Duration) -> CheckOutcome {
        let status = response.status;
        let code = status.as_u16();
        let details = json!({
            "url": self.display_url,
            "method": self.method.as_str(),
            "status_code": code,
            "expected_status": self.expected(),
            "max_latency_ms": self.max_latency.map(|d| d.as_secs_f64() * 1000.0),
            "first_byte_ms": response.first_byte.as_secs_f64() * 1000.0,
            "certificate": response.certificate.as_ref().map(|c| c.details(Utc::now())),
        });
        let accepted = if self.expected_status.is_empty() {
            status.is_success()
        } else {
            self.expected_status.iter().any(|r| r.contains(code))
        };
        let took = format_latency(latency);
        let body_problem = if accepted {
            self.judge_body(&response.body)
        } else {
            None
        };
        let (verdict, message) = if !accepted {
            (
                Status::Unhealthy,
                format!("HTTP {status} in {took}, expected {}", self.expected()),
            )
        } else if let Some(problem) = body_problem {
            (
                Status::Unhealthy,
                format!("HTTP {code} in {took}, but {problem}"),
            )
        } else if let Some(max) = self.max_latency.filter(|max| latency > *max) {
            (
                Status::Degraded,
                format!(
                    "HTTP {code} in {took}, slower than max_latency {}",
                    mon_core::duration::format(max)
                ),
            )
        } else {
            (Status::Healthy, format!("HTTP {code} in {took}"))
        };
        let outcome = CheckOutcome::new(verdict, latency, message).with_details(details);
        match &response.certificate {
            Some(certificate) => outcome.with_certificate_expiry(certificate.not_after),
            None => outcome,
        }
    }

    fn failed(&self, error: reqwest::Error, latency: Duration) -> CheckOutcome {
        let (kind, mut message) = request_failure(error, self.timeout);
        // Belt and braces: no error text may carry the credentials.
        if let Some(password) = self.url.password() {
            message = message.replace(password, "<redacted>");
        }
        let details = json!({
            "url": self.display_url,
            "method": self.method.as_str(),
            "status_code": null,
            "error": kind,
        });
        CheckOutcome::unhealthy(latency, message).with_details(details)
    }
}

/// The answer to one API call made with this kind's machinery by a kind built on it
/// (`supabase`, `railway`).
#[derive(Debug)]
pub(crate) struct ApiAnswer {
    /// The HTTP status.
    pub(crate) status: reqwest::StatusCode,
    /// The `Content-Type` header, if any.
    pub(crate) content_type: Option<String>,
    /// The first 1 MiB of the body when the caller keeps it for that status, else empty.
    pub(crate) body: Vec<u8>,
}

/// Sends `request` (from a [`ClientSettings::shared_client`]) with `timeout` and reads
/// the answer, keeping the body when `keep(status)`; the error is [`request_failure`]'s.
pub(crate) async fn call(
    request: reqwest::RequestBuilder,
    timeout: Duration,
    keep: impl Fn(reqwest::StatusCode) -> bool,
) -> Result<ApiAnswer, (&'static str, String)> {
    let failed = |e| request_failure(e, timeout);
    let mut response = request.timeout(timeout).send().await.map_err(failed)?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let keep = keep(status);
    let limit = if keep { JUDGED_BODY_LIMIT } else { BODY_LIMIT };
    let body = read_body(&mut response, limit, keep)
        .await
        .map_err(failed)?;
    Ok(ApiAnswer {
        status,
        content_type,
        body,
    })
}

/// Reads the body of `response` up to about `limit` bytes (the rest is left unread);
/// returns the first `limit` bytes when `keep`, nothing otherwise.
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    limit: usize,
    keep: bool,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    let mut read = 0;
    while read < limit {
        match response.chunk().await? {
            Some(chunk) => {
                read += chunk.len();
                if keep {
                    let room = limit.saturating_sub(body.len());
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
            }
            None => break,
        }
    }
    Ok(body)
}

/// A request that got no answer, for outcomes: its class for details (`timeout`,
/// `connect`, `redirect`, `body`, `request`) and one line for people, without the URL
/// (`timeout` is the request's, for the message).
pub(crate) fn request_failure(error: reqwest::Error, timeout: Duration) -> (&'static str, String) {
    let error = error.without_url();
    let (kind, what) = if error.is_timeout() {
        ("timeout", "timed out")
    } else if error.is_connect() {
        ("connect", "connection failed")
    } else if error.is_redirect() {
        ("redirect", "redirect failed")
    } else if error.is_body() || error.is_decode() {
        ("body", "reading the response failed")
    } else {
        ("request", "request failed")
    };
    let message = if kind == "timeout" {
        format!("timed out after {}", mon_core::duration::format(timeout))
    } else {
        // reqwest's own text ("error sending request") says little; its sources say why.
        let cause = match error.source() {
            Some(source) => error_chain(source),
            None => error.to_string(),
        };
        format!("{what}: {cause}")
    };
    (kind, message)
}

#[async_trait]
impl HealthCheck for HttpCheck {
    fn kind(&self) -> &str {
        "http"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let result = self.request(started).await;
        let latency = started.elapsed();
        match result {
            Ok(response) => self.judge(&response, latency),
            Err(error) => self.failed(error, latency),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::kind;
    use crate::{CheckConfig, check_kinds};
    use axum::Router;
    use axum::http::{HeaderMap as AxumHeaders, StatusCode};
    use axum::routing::{any, get};
    use std::net::SocketAddr;

    /// Starts a real HTTP server on 127.0.0.1 with endpoints that behave in known ways.
    async fn serve() -> SocketAddr {
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "slow but fine"
        }
        async fn hang() -> &'static str {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "too late"
        }
        async fn echo(
            method: axum::http::Method,
            headers: AxumHeaders,
            body: String,
        ) -> StatusCode {
            let probe = headers.get("x-probe").and_then(|v| v.to_str().ok());
            if method == axum::http::Method::POST && probe == Some("mon") && body == "ping" {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::BAD_REQUEST
            }
        }
        async fn auth(headers: AxumHeaders) -> StatusCode {
            // "bob:hunter2" in base64: the URL's userinfo, sent as basic auth.
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some("Basic Ym9iOmh1bnRlcjI=") => StatusCode::NO_CONTENT,
                _ => StatusCode::UNAUTHORIZED,
            }
        }
        let app = Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route("/auth", get(auth))
            .route(
                "/fail",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
            )
            .route("/created", get(|| async { (StatusCode::CREATED, "made") }))
            .route(
                "/moved",
                get(|| async { (StatusCode::FOUND, [("location", "/ok")]) }),
            )
            .route("/big", get(|| async { vec![b'x'; 1024 * 1024] }))
            .route(
                "/status",
                get(|| async {
                    (
                        [("content-type", "application/json")],
                        r#"{"status":"ok","version":"1.4.2","checks":{"db":true,"queue":false},"rooms":[{"n":3},{"n":5}]}"#,
                    )
                }),
            )
            .route("/slow", get(slow))
            .route("/hang", get(hang))
            .route("/echo", any(echo));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    fn build(
        url: &str,
        timeout: Duration,
        tweak: impl FnOnce(&mut HttpCheckConfig),
    ) -> Arc<dyn HealthCheck> {
        let mut http = HttpCheckConfig::new(url.parse().unwrap());
        tweak(&mut http);
        let mut config = CheckConfig::new("web", kind("http", &http));
        config.timeout = timeout;
        config.build(&check_kinds()).unwrap()
    }

    async fn probe(url: String, tweak: impl FnOnce(&mut HttpCheckConfig)) -> CheckOutcome {
        build(&url, Duration::from_secs(5), tweak).check().await
    }

    #[tokio::test]
    async fn keep_alive_reuses_the_connection_and_the_default_does_not() {
        use axum::extract::ConnectInfo;
        use std::collections::BTreeSet;
        use std::sync::Mutex;
        let peers = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&peers);
        let app = Router::new().route(
            "/ok",
            get(
                move |ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                    seen.lock().unwrap().push(peer);
                    "fine"
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        let url = format!("http://{addr}/ok");
        for keep_alive in [false, true] {
            peers.lock().unwrap().clear();
            let check = build(&url, Duration::from_secs(5), |h| h.keep_alive = keep_alive);
            for _ in 0..3 {
                let outcome = check.check().await;
                assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
            }
            let connections: BTreeSet<SocketAddr> = peers.lock().unwrap().iter().copied().collect();
            assert_eq!(
                connections.len(),
                if keep_alive { 1 } else { 3 },
                "keep_alive {keep_alive}: {connections:?}"
            );
        }
    }

    #[tokio::test]
    async fn ok_endpoint_is_healthy() {
        let addr = serve().await;
        let outcome = probe(format!("http://{addr}/ok"), |_| {}).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert_eq!(outcome.details["status_code"], 200);
        assert_eq!(outcome.details["url"], format!("http://{addr}/ok"));
        assert!(
            outcome.message.starts_with("HTTP 200 in "),
            "{}",
            outcome.message
        );
        assert!(outcome.latency > Duration::ZERO);
    }

    #[tokio::test]
    async fn server_error_is_unhealthy_with_the_code() {
        let addr = serve().await;
        let outcome = probe(format!("http://{addr}/fail"), |_| {}).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(outcome.message.contains("500"), "{}", outcome.message);
        assert!(
            outcome.message.contains("expected 2xx"),
            "{}",
            outcome.message
        );
        assert_eq!(outcome.details["status_code"], 500);
    }

    #[tokio::test]
    async fn expected_status_decides() {
        let addr = serve().await;
        // (path, expected_status, follow_redirects, status)
        let cases: [(&str, Vec<StatusRange>, bool, Status); 7] = [
            ("/created", vec![], true, Status::Healthy),
            ("/created", vec![200.into()], true, Status::Unhealthy),
            (
                "/created",
                vec![200.into(), 201.into()],
                true,
                Status::Healthy,
            ),
            (
                "/fail",
                vec![StatusRange { from: 500, to: 503 }],
                true,
                Status::Healthy,
            ),
            ("/moved", vec![], true, Status::Healthy),
            ("/moved", vec![], false, Status::Unhealthy),
            (
                "/moved",
                vec![StatusRange { from: 300, to: 399 }],
                false,
                Status::Healthy,
            ),
        ];
        for (path, expected, follow, want) in cases {
            let outcome = probe(format!("http://{addr}{path}"), |c| {
                c.expected_status = expected.clone();
                c.follow_redirects = follow;
            })
            .await;
            assert_eq!(
                outcome.status, want,
                "{path} {expected:?} follow={follow}: {outcome:?}"
            );
        }
        let outcome = probe(format!("http://{addr}/created"), |c| {
            c.expected_status = vec![200.into(), 204.into()]
        })
        .await;
        assert!(
            outcome.message.contains("expected one of 200, 204"),
            "{}",
            outcome.message
        );
    }

    #[tokio::test]
    async fn method_headers_and_body_are_sent() {
        let addr = serve().await;
        let outcome = probe(format!("http://{addr}/echo"), |c| {
            c.method = "post".into();
            c.headers.insert("X-Probe".into(), "mon".into());
            c.body = Some("ping".into());
        })
        .await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert_eq!(outcome.details["status_code"], 204);
        assert_eq!(outcome.details["method"], "POST");
        // Without them the endpoint refuses.
        let outcome = probe(format!("http://{addr}/echo"), |_| {}).await;
        assert_eq!(outcome.details["status_code"], 400);
    }

    #[tokio::test]
    async fn large_bodies_are_read_only_in_part() {
        let addr = serve().await;
        let outcome = probe(format!("http://{addr}/big"), |_| {}).await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
    }

    #[tokio::test]
    async fn slow_response_over_max_latency_is_degraded() {
        let addr = serve().await;
        let outcome = probe(format!("http://{addr}/slow"), |c| {
            c.max_latency = Some(Duration::from_millis(50))
        })
        .await;
        assert_eq!(outcome.status, Status::Degraded, "{outcome:?}");
        assert!(
            outcome.latency >= Duration::from_millis(300),
            "{:?}",
            outcome.latency
        );
        assert!(
            outcome.message.contains("slower than max_latency 50ms"),
            "{}",
            outcome.message
        );
        // The same response within its budget is healthy.
        let outcome = probe(format!("http://{addr}/slow"), |c| {
            c.max_latency = Some(Duration::from_secs(60))
        })
        .await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
    }

    #[tokio::test]
    async fn response_slower_than_timeout_is_unhealthy() {
        let addr = serve().await;
        let check = build(
            &format!("http://{addr}/hang"),
            Duration::from_millis(200),
            |_| {},
        );
        let outcome = check.check().await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert_eq!(outcome.message, "timed out after 200ms");
        assert_eq!(outcome.details["error"], "timeout");
        assert!(
            outcome.latency >= Duration::from_millis(200),
            "{:?}",
            outcome.latency
        );
    }

    #[tokio::test]
    async fn closed_port_is_unhealthy_connection_refused() {
        let addr = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let outcome = probe(format!("http://{addr}/"), |_| {}).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.starts_with("connection failed: "),
            "{}",
            outcome.message
        );
        assert!(
            outcome.message.to_lowercase().contains("refused"),
            "{}",
            outcome.message
        );
        assert_eq!(outcome.details["error"], "connect");
        assert_eq!(outcome.details["status_code"], serde_json::Value::Null);
    }

    #[tokio::test]
    async fn credentials_never_appear_in_outcomes() {
        let addr = serve().await;
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let urls = [
            format!("http://bob:hunter2@{addr}/auth"),
            format!("http://bob:hunter2@{addr}/ok?api_key=k3y&page=2"),
            format!("http://bob:hunter2@{addr}/fail?token=k3y"),
            format!("http://bob:hunter2@{closed}/?token=k3y"),
        ];
        for url in urls {
            let outcome = probe(url.clone(), |_| {}).await;
            let shown = format!("{} {}", outcome.message, outcome.details);
            for secret in ["hunter2", "bob", "k3y"] {
                assert!(
                    !shown.contains(secret),
                    "{secret} leaked for {url}: {shown}"
                );
            }
            assert!(
                outcome.details["url"]
                    .as_str()
                    .unwrap()
                    .contains("127.0.0.1"),
                "{shown}"
            );
        }
        // The credentials are used, as basic auth.
        let outcome = probe(format!("http://bob:hunter2@{addr}/auth"), |_| {}).await;
        assert_eq!(outcome.details["status_code"], 204, "{outcome:?}");
        let outcome = probe(format!("http://{addr}/auth"), |_| {}).await;
        assert_eq!(outcome.details["status_code"], 401, "{outcome:?}");

        let outcome = probe(
            format!("http://bob:hunter2@{addr}/ok?api_key=k3y&page=2"),
            |_| {},
        )
        .await;
        assert_eq!(
            outcome.details["url"],
            format!("http://***@{addr}/ok?api_key=***&page=***")
        );
    }

    #[tokio::test]
    async fn body_assertions_decide() {
        let addr = serve().await;
        type Tweak = fn(&mut HttpCheckConfig);
        // (path, assertions, status, text in the message)
        let cases: [(&str, Tweak, Status, &str); 11] = [
            (
                "/status",
                |c| c.body_contains = Some("\"ok\"".into()),
                Status::Healthy,
                "HTTP 200",
            ),
            (
                "/status",
                |c| c.body_contains = Some("down".into()),
                Status::Unhealthy,
                "does not contain \"down\"",
            ),
            (
                "/status",
                |c| c.body_regex = Some(r#""version":"1\.\d+\."#.into()),
                Status::Healthy,
                "HTTP 200",
            ),
            (
                "/status",
                |c| c.body_regex = Some("^nope".into()),
                Status::Unhealthy,
                "does not match \"^nope\"",
            ),
            (
                "/status",
                |c| {
                    c.json.insert("$.status".into(), json!("ok"));
                },
                Status::Healthy,
                "HTTP 200",
            ),
            (
                "/status",
                |c| {
                    c.json.insert("$.checks.db".into(), json!(true));
                    c.json.insert("$.checks.queue".into(), json!(false));
                },
                Status::Healthy,
                "HTTP 200",
            ),
            (
                "/status",
                |c| {
                    c.json.insert("$.checks.queue".into(), json!(true));
                },
                Status::Unhealthy,
                "$.checks.queue is false, expected true",
            ),
            (
                "/status",
                |c| {
                    c.json.insert("$.rooms[*].n".into(), json!(5));
                },
                Status::Healthy,
                "HTTP 200",
            ),
            (
                "/status",
                |c| {
                    c.json.insert("$.missing".into(), json!("x"));
                },
                Status::Unhealthy,
                "$.missing is nothing, expected \"x\"",
            ),
            (
                "/ok",
                |c| {
                    c.json.insert("$.status".into(), json!("ok"));
                },
                Status::Unhealthy,
                "the body is not JSON",
            ),
            (
                "/fail",
                |c| c.body_contains = Some("boom".into()),
                Status::Unhealthy,
                "HTTP 500",
            ),
        ];
        for (path, tweak, want, text) in cases {
            let outcome = probe(format!("http://{addr}{path}"), tweak).await;
            assert_eq!(outcome.status, want, "{path}: {outcome:?}");
            assert!(
                outcome.message.contains(text),
                "{path}: {}",
                outcome.message
            );
        }
    }

    #[tokio::test]
    async fn https_reports_the_certificate_and_first_byte() {
        let addr = crate::test_support::tls_server(40).await;
        let url = format!("https://localhost:{}/", addr.port());
        let outcome = probe(url.clone(), |c| {
            c.verify_tls = false;
            c.json.insert("$.status".into(), json!("ok"));
        })
        .await;
        assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
        assert_eq!(
            outcome.details["certificate"]["days_remaining"], 40,
            "{outcome:?}"
        );
        assert!(outcome.details["certificate"]["expires_at"].is_string());
        let left = outcome
            .certificate_expires_at
            .map(|at| (at - Utc::now()).num_days());
        assert_eq!(left, Some(40), "{outcome:?}");
        let first_byte = outcome.details["first_byte_ms"].as_f64().unwrap();
        assert!(first_byte <= outcome.latency.as_secs_f64() * 1000.0);

        // Verified against the public roots, a self-signed certificate is refused.
        let outcome = probe(url, |_| {}).await;
        assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
        assert!(
            outcome.message.contains("certificate"),
            "{}",
            outcome.message
        );

        // Plain HTTP has no certificate.
        let plain = serve().await;
        let outcome = probe(format!("http://{plain}/ok"), |_| {}).await;
        assert_eq!(outcome.details["certificate"], serde_json::Value::Null);
        assert_eq!(outcome.certificate_expires_at, None);
    }

    #[test]
    fn status_ranges_parse() {
        let cases = [
            (json!(200), Ok((200, 200))),
            (json!("204"), Ok((204, 204))),
            (json!("200-299"), Ok((200, 299))),
            (json!("3xx"), Ok((300, 399))),
            (json!("abc"), Err("\"abc\" is not a status code")),
            (json!("2-x"), Err("is not a status code")),
        ];
        for (input, want) in cases {
            let got = serde_json::from_value::<StatusRange>(input.clone())
                .map(|r| (r.from, r.to))
                .map_err(|e| e.to_string());
            match want {
                Ok(range) => assert_eq!(got, Ok(range), "{input}"),
                Err(text) => assert!(got.unwrap_err().contains(text), "{input}"),
            }
        }
        let list: Vec<StatusRange> = serde_json::from_value(json!([200, "300-399"])).unwrap();
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            json!([200, "300-399"])
        );
        let mut config = HttpCheckConfig::new("http://x/".parse().unwrap());
        config.expected_status = vec![StatusRange { from: 300, to: 200 }];
        let err = config.validate("api").unwrap_err().to_string();
        assert!(err.contains("invalid `expected_status`: 300-200"), "{err}");
    }
}
