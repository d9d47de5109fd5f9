//! What the HTTP channels share: one client, the POST, and the mapping of an
//! answer to success or a [`NotifyError`] that says whether a retry can help.

use mon_core::NotifyError;
use std::time::Duration;

/// A client for notification receivers: rustls, no redirects, the channel's timeout.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("mon/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("the HTTP client could not be built: {e}"))
}

/// The answer of a receiver: status and (at most 1 KiB of) body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: String,
}

/// POSTs `body` as JSON with `headers`. A connection failure or timeout is transient.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<Answer, NotifyError> {
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request.send().await.map_err(|e| {
        NotifyError::transient(format!(
            "POST {}: {}",
            mon_core::redact_url(url),
            without_url(&e)
        ))
    })?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut body = response.text().await.unwrap_or_default();
    if body.len() > 1024 {
        let mut end = 1024;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
    }
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// The usual reading of an answer: 2xx success; 429 rate limited (with
/// `Retry-After`); 408 and 5xx transient; any other status refused for good.
pub(crate) fn classify(service: &str, answer: &Answer) -> Result<(), NotifyError> {
    let message = format!(
        "{service} answered {}{}",
        answer.status,
        if answer.body.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", answer.body.trim())
        }
    );
    match answer.status {
        200..=299 => Ok(()),
        429 => Err(NotifyError::rate_limited(message, answer.retry_after)),
        408 | 500..=599 => Err(NotifyError::transient(message)),
        _ => Err(NotifyError::rejected(message)),
    }
}

/// A reqwest error's text without the URL it carries (it may hold a token).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({detail})")
    }
}

/// Checks that `url` is an http(s) URL, for config errors.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        Ok(u) => Err(format!(
            "url must be http:// or https://, not {}://",
            u.scheme()
        )),
        Err(e) => Err(format!("url is not a valid URL: {e}")),
    }
}
