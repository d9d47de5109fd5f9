//! The HTTP client for mon-server's API, with the CLI's error messages and exit codes.

use crate::Outcome;
use mon_api::ErrorAnswer;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// Where the server is and which token to send.
#[derive(Debug)]
pub(crate) struct Client {
    server: String,
    token: Option<String>,
}

impl Client {
    pub(crate) fn new(server: &str, token: Option<&str>) -> Self {
        Client {
            server: server.trim_end_matches('/').to_string(),
            token: token.map(String::from),
        }
    }

    /// The server's base URL.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// GETs `path` and parses JSON. Errors say what to do: exit 3 for an unreachable server
    /// or a refused request, exit 2 for a malformed server URL or an unknown name (404).
    pub(crate) fn get_json(&self, path: &str) -> Result<Value, Outcome> {
        self.request(reqwest::Method::GET, path, None)
    }

    /// GETs `path` and reads the JSON answer as a `T` (a `mon_api` answer type); an answer
    /// of another shape is exit 3, naming the URL.
    pub(crate) fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<T, Outcome> {
        self.get_answer(path).map(|(_, answer)| answer)
    }

    /// GETs `path` and reads the answer both as the server's JSON (what `--json` prints)
    /// and as a `T`, like [`Client::get_as`].
    pub(crate) fn get_answer<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(Value, T), Outcome> {
        let body = self.get_json(path)?;
        self.typed(path, body)
    }

    /// POSTs `body` (a `mon_api` request type, or JSON) to `path` and reads the answer both
    /// as JSON and as a `T`, like [`Client::get_answer`].
    pub(crate) fn post_answer<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<(Value, T), Outcome> {
        let body = serde_json::to_value(body).map_err(|e| {
            Outcome::Usage(format!("cannot write the request body for {path}: {e}"))
        })?;
        let answer = self.post_json(path, Some(&body))?;
        self.typed(path, answer)
    }

    /// Reads the answer of `path` as a `T`; another shape is exit 3, naming the URL.
    fn typed<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<(Value, T), Outcome> {
        match serde_json::from_value(body.clone()) {
            Ok(answer) => Ok((body, answer)),
            Err(e) => Err(Outcome::Unreachable(format!(
                "{}{path} answered an unexpected shape ({e}); is the server a matching mon version?",
                self.server
            ))),
        }
    }

    /// POSTs a JSON body (or none) to `path` and parses the JSON answer.
    pub(crate) fn post_json(&self, path: &str, body: Option<&Value>) -> Result<Value, Outcome> {
        self.request(reqwest::Method::POST, path, body)
    }

    /// DELETEs `path` and parses the JSON answer.
    pub(crate) fn delete_json(&self, path: &str) -> Result<Value, Outcome> {
        self.request(reqwest::Method::DELETE, path, None)
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Outcome> {
        let (url, response) = self.send(method, path, body, Some(Duration::from_secs(10)))?;
        let text = response.text().map_err(|e| {
            Outcome::Unreachable(format!("{url} did not answer: {}", root_cause(&e)))
        })?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| Outcome::Unreachable(format!("{url} did not answer JSON: {e}")))
    }

    /// Sends one request (`timeout` for the whole exchange, none for a download of unknown
    /// size) and returns the URL and a successful answer, its body unread. A refusal or an
    /// error answer becomes the [`Outcome`] that says what to do.
    pub(crate) fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<(String, reqwest::blocking::Response), Outcome> {
        let url = format!("{}{path}", self.server);
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Outcome::Usage(format!("cannot build an HTTP client: {e}")))?;
        let mut request = client.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().map_err(|e| {
            if e.is_builder() {
                Outcome::Usage(format!(
                    "invalid server URL {:?}: use http://host:port",
                    mon_core::redact_url(&self.server)
                ))
            } else {
                Outcome::Unreachable(format!(
                    "cannot reach {}: {} (is mon-server running? set --server or MON_SERVER)",
                    mon_core::redact_url(&self.server),
                    root_cause(&e)
                ))
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok((url, response));
        }
        let message = response
            .json::<ErrorAnswer>()
            .map_or_else(|_| "no message".to_string(), |a| a.error.message);
        Err(
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                Outcome::Unreachable(format!(
                    "{} from {url}: {message} (set MON_TOKEN or --token)",
                    status.as_u16()
                ))
            } else if status == reqwest::StatusCode::NOT_FOUND
                || status == reqwest::StatusCode::BAD_REQUEST
            {
                Outcome::Usage(format!("{} from {url}: {message}", status.as_u16()))
            } else {
                Outcome::Unreachable(format!("{} from {url}: {message}", status.as_u16()))
            },
        )
    }
}

/// Percent-encodes one URL path segment or query value.
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
