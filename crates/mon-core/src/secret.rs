//! [`Secret`]: a string (token, password, API key) that never shows in logs, API answers or errors;
//! [`redact_url`] / [`redact_urls`]: the one way a URL is shown anywhere (messages, status, config).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// What a hidden part of a value is written as.
const HIDDEN: &str = "***";

/// A secret value from config (usually filled from `${VAR}`).
///
/// `Debug`, `Display` and `Serialize` all print `***`; only [`Secret::expose`]
/// gives the value, so every place that reads it is easy to find.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Never log or return it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (an unset variable substituted as `""`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// A URL as it may be shown: its userinfo (`user:password@`, or a token as user),
/// every query value and every path segment that looks like a token (Slack's
/// `/services/T…/B…/…`, a webhook's last segment, a long random string) become `***`;
/// the fragment is dropped. Works on text that is not a valid URL too (a bad port,
/// a typo), so config errors can show what was written without its secrets.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            if !userinfo.is_empty() {
                out.push_str(HIDDEN);
            }
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    let mut after_marker = false;
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if !segment.is_empty() && (after_marker || looks_like_token(segment)) {
            out.push_str(HIDDEN);
        } else {
            out.push_str(segment);
        }
        after_marker |= TOKEN_PARENTS
            .iter()
            .any(|p| segment.eq_ignore_ascii_case(p));
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, value)) if !value.is_empty() => {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(HIDDEN);
                }
                Some((key, _)) => {
                    out.push_str(key);
                    out.push('=');
                }
                None if looks_like_token(pair) => out.push_str(HIDDEN),
                None => out.push_str(pair),
            }
        }
    }
    out
}

/// Path segments after which every further segment is a credential (`/hooks/<token>`).
const TOKEN_PARENTS: &[&str] = &[
    "hooks", "hook", "webhook", "webhooks", "services", "token", "tokens", "key", "keys", "secret",
    "secrets",
];

/// Whether a path segment or bare query word looks like a generated credential.
fn looks_like_token(segment: &str) -> bool {
    let len = segment.chars().count();
    let digit = segment.chars().any(|c| c.is_ascii_digit());
    let upper = segment.chars().any(|c| c.is_ascii_uppercase());
    let letter = segment.chars().any(|c| c.is_ascii_alphabetic());
    (len >= 8 && digit && upper) || (len >= 16 && digit && letter) || len >= 24
}

/// `text` with every URL in it (`scheme://…` up to a blank or quote) passed through
/// [`redact_url`]: for error texts that embed a URL (reqwest, url, serde messages).
pub fn redact_urls(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .map_or(0, |j| j + 1);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || "\"'<>`".contains(c))
            .map_or(rest.len(), |j| i + j);
        // Sentence punctuation after a URL is not part of it.
        let end = start.max(
            rest[..end]
                .trim_end_matches([':', ',', '.', ';', ')', ']'])
                .len(),
        );
        out.push_str(&rest[..start]);
        out.push_str(&redact_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_urls() {
        for (input, want) in [
            ("http://host:8080/health", "http://host:8080/health"),
            (
                "postgres://u:PASSWORD@db:5432/app",
                "postgres://***@db:5432/app",
            ),
            (
                "postgres://u:p@ss@db:99999/app",
                "postgres://***@db:99999/app",
            ),
            (
                "redis://:pw@127.0.0.1:6379/0",
                "redis://***@127.0.0.1:6379/0",
            ),
            ("https://ghp_abc@github.com/x", "https://***@github.com/x"),
            (
                "https://host/p?x=1&token=abc&flag",
                "https://host/p?x=***&token=***&flag",
            ),
            ("http://host/#frag", "http://host/"),
            (
                "https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/abcdEFGHijklMNOPqrstUVWX",
                "https://hooks.slack.com/services/***/***/***",
            ),
            (
                "https://discord.com/api/webhooks/123456789012345678/aBcD-eFgH",
                "https://discord.com/api/webhooks/***/***",
            ),
            ("https://x/hook/abc123", "https://x/hook/***"),
            ("https://x/a/9f8e7d6c5b4a39281706/b", "https://x/a/***/b"),
            (
                "http://gw:9091/metrics/job/mon/instance/ip-10-0-0-1",
                "http://gw:9091/metrics/job/mon/instance/ip-10-0-0-1",
            ),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(input), want, "{input}");
        }
        assert_eq!(
            redact_urls("PUT http://u:pw@gw/x?t=1: error (\"https://a/hooks/abc\")"),
            "PUT http://***@gw/x?t=***: error (\"https://a/hooks/***\")"
        );
        assert!(matches!(redact_urls("no links"), Cow::Borrowed(_)));
    }

    #[test]
    fn never_prints_the_value() {
        let s: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
    }
}
