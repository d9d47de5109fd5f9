//! A small client for LiveKit's Twirp API (`POST /twirp/livekit.<Service>/<Method>` with
//! JSON) and its health route (`GET /`).
//!
//! Errors keep what the server said: a Twirp JSON error `{"code", "msg"}`, or the
//! plain-text answer of LiveKit's auth layer (`401 invalid API key`).

use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// Longest answer read from LiveKit: 64 MiB, about 100,000 rooms in a `ListRooms` answer
/// (a room is about 670 bytes of JSON). Replies are deserialized into the few fields the
/// check reads, so a large answer costs its bytes and not a JSON tree.
pub(crate) const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TwirpError {
    /// A Twirp error: `{"code": "...", "msg": "..."}` with its HTTP status.
    Twirp {
        status: u16,
        code: String,
        msg: String,
    },
    /// A non-JSON error answer, e.g. the auth layer's plain-text 401.
    Http { status: u16, text: String },
    /// No answer in time.
    Timeout,
    /// The connection failed.
    Connect(String),
    /// A 200 answer that is not the expected JSON.
    BadResponse(String),
}

impl TwirpError {
    /// A short machine-readable code for details: the Twirp code, `unauthenticated`
    /// for the plain-text 401, `http_<status>`, `timeout`, `connect` or `bad_response`.
    pub(crate) fn code(&self) -> String {
        match self {
            TwirpError::Twirp { code, .. } => code.clone(),
            TwirpError::Http { status: 401, .. } => "unauthenticated".to_owned(),
            TwirpError::Http { status, .. } => format!("http_{status}"),
            TwirpError::Timeout => "timeout".to_owned(),
            TwirpError::Connect(_) => "connect".to_owned(),
            TwirpError::BadResponse(_) => "bad_response".to_owned(),
        }
    }

    /// Whether the server said the service needs Redis (egress, ingress and SIP on a
    /// single node without Redis): the service is not configured rather than down.
    pub(crate) fn redis_required(&self) -> bool {
        matches!(self, TwirpError::Twirp { code, msg, .. }
            if code == "internal" && msg.to_ascii_lowercase().contains("redis required"))
    }

    /// Whether the server refused the credentials (bad key, secret or grant).
    pub(crate) fn unauthenticated(&self) -> bool {
        matches!(
            self,
            TwirpError::Twirp { status: 401, .. } | TwirpError::Http { status: 401, .. }
        ) || matches!(self, TwirpError::Twirp { code, .. } if code == "unauthenticated" || code == "permission_denied")
    }

    /// One line for people.
    pub(crate) fn message(&self) -> String {
        match self {
            TwirpError::Twirp { status, code, msg } => format!("HTTP {status} {code}: {msg}"),
            TwirpError::Http { status, text } => format!("HTTP {status}: {text}"),
            TwirpError::Timeout => "timed out".to_owned(),
            TwirpError::Connect(e) => format!("connection failed: {e}"),
            TwirpError::BadResponse(e) => format!("unexpected answer: {e}"),
        }
    }
}

/// The client: one base URL, one reqwest client.
#[derive(Debug, Clone)]
pub(crate) struct Twirp {
    client: reqwest::Client,
    base: Url,
}

impl Twirp {
    pub(crate) fn new(base: Url, timeout: Duration) -> Result<Twirp, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mon-health/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Twirp { client, base })
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        url.set_query(None);
        url
    }

    /// `POST /twirp/livekit.<service>/<method>` with `body`, authorized by `token`; the
    /// reply deserialized into `T` (a `Value`, or a struct of the fields needed).
    pub(crate) async fn call<T: serde::de::DeserializeOwned>(
        &self,
        service: &str,
        method: &str,
        body: &Value,
        token: &str,
    ) -> Result<T, TwirpError> {
        let url = self.url(&format!("/twirp/livekit.{service}/{method}"));
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .bearer_auth(token)
            .body(body.to_string())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = read(response).await?;
        if status == StatusCode::OK {
            return serde_json::from_slice(&bytes)
                .map_err(|e| TwirpError::BadResponse(format!("not the expected JSON: {e}")));
        }
        Err(error_answer(status, &bytes))
    }

    /// `GET /`: `Ok(text)` on 200, the error otherwise (406 `Not Ready ...`).
    pub(crate) async fn health(&self) -> Result<String, TwirpError> {
        let response = self
            .client
            .get(self.url("/"))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = read(response).await?;
        let text = String::from_utf8_lossy(&bytes).trim().to_owned();
        if status == StatusCode::OK {
            Ok(text)
        } else {
            Err(TwirpError::Http {
                status: status.as_u16(),
                text: shorten(&text),
            })
        }
    }
}

fn transport(e: reqwest::Error) -> TwirpError {
    if e.is_timeout() {
        TwirpError::Timeout
    } else {
        TwirpError::Connect(crate::checks::error_chain(&e.without_url()))
    }
}

async fn read(mut response: reqwest::Response) -> Result<Vec<u8>, TwirpError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        body.extend_from_slice(&chunk);
        if body.len() > BODY_LIMIT {
            return Err(TwirpError::BadResponse(format!(
                "the answer is over {BODY_LIMIT} bytes"
            )));
        }
    }
    Ok(body)
}

/// A Twirp JSON error when the body is one, else the plain text.
fn error_answer(status: StatusCode, body: &[u8]) -> TwirpError {
    if let Ok(Value::Object(error)) = serde_json::from_slice::<Value>(body)
        && let Some(code) = error.get("code").and_then(Value::as_str)
    {
        return TwirpError::Twirp {
            status: status.as_u16(),
            code: code.to_owned(),
            msg: shorten(error.get("msg").and_then(Value::as_str).unwrap_or("")),
        };
    }
    TwirpError::Http {
        status: status.as_u16(),
        text: shorten(String::from_utf8_lossy(body).trim()),
    }
}

/// At most 200 characters of a server message.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 200 {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(200).collect();
        format!("{cut}…")
    }
}

/// An integer value of a LiveKit reply: int64 values come as JSON strings
/// (`"creation_time": "1700000000"`), 32-bit ones as numbers; both are accepted.
pub(crate) fn int_value(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn int64_fields_are_read_from_strings_or_numbers() {
        let room =
            json!({"creation_time": "1700000000", "num_participants": 3, "x": "abc", "y": null});
        assert_eq!(int_value(&room["creation_time"]), Some(1_700_000_000));
        assert_eq!(int_value(&room["num_participants"]), Some(3));
        assert_eq!(int_value(&room["x"]), None);
        assert_eq!(int_value(&room["y"]), None);
        assert_eq!(int_value(&room["missing"]), None);
    }

    #[test]
    fn error_answers_are_classified() {
        let e = error_answer(StatusCode::UNAUTHORIZED, b"invalid API key\n");
        assert_eq!(
            e,
            TwirpError::Http {
                status: 401,
                text: "invalid API key".into()
            }
        );
        assert_eq!(e.code(), "unauthenticated");
        assert!(e.unauthenticated());
        let e = error_answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"code":"internal","msg":"egress not connected (redis required)"}"#,
        );
        assert!(e.redis_required());
        assert_eq!(e.code(), "internal");
        let e = error_answer(
            StatusCode::NOT_FOUND,
            br#"{"code":"bad_route","msg":"no handler"}"#,
        );
        assert!(!e.redis_required());
        assert_eq!(e.code(), "bad_route");
    }
}
