//! [`Masker`]: secrets never reach an output. Values of fields named like a secret, and
//! parts of text that look like a JWT, a bearer token, a URL's credentials
//! ([`mon_core::redact_url`]) or a configured pattern, become `***`. Callers' personal
//! data then gets the [`Privacy`] policy it was built with (docs/privacy.md).

use crate::LoggingError;
use mon_core::Privacy;
use regex::Regex;
use std::borrow::Cow;

/// What a masked value is written as.
pub const MASK: &str = "***";

/// Substrings of a field name (compared case-insensitively, `-` read as `_`) that mark
/// its value as secret.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "private_key",
    "credential",
];

/// Masks secret-looking field values and text. Cheap on text without secrets: the
/// built-in rules start with a fast substring test.
#[derive(Debug, Clone)]
pub struct Masker {
    builtin: Regex,
    extra: Option<Regex>,
    privacy: Privacy,
}

impl Masker {
    /// The built-in rules plus `patterns` (regular expressions, `regex` crate syntax).
    ///
    /// # Errors
    /// [`LoggingError::InvalidMaskPattern`] naming the pattern that does not compile.
    pub fn new(patterns: &[String]) -> Result<Masker, LoggingError> {
        Masker::with_privacy(patterns, Privacy::disabled())
    }

    /// As [`Masker::new`], and callers' personal data treated by `privacy` in every text
    /// and value this masker sees.
    ///
    /// # Errors
    /// [`LoggingError::InvalidMaskPattern`] naming the pattern that does not compile.
    pub fn with_privacy(patterns: &[String], privacy: Privacy) -> Result<Masker, LoggingError> {
        for pattern in patterns {
            Regex::new(pattern).map_err(|e| LoggingError::InvalidMaskPattern {
                pattern: pattern.clone(),
                reason: regex_reason(&e),
            })?;
        }
        let extra = if patterns.is_empty() {
            None
        } else {
            let joined = patterns
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|");
            Some(
                Regex::new(&joined).map_err(|e| LoggingError::InvalidMaskPattern {
                    pattern: joined.clone(),
                    reason: e.to_string(),
                })?,
            )
        };
        // A JWT (three base64url parts, the first one a JSON header `{"...`), or the
        // credentials after `Bearer` / `Basic`.
        let builtin = Regex::new(
            r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}",
        )
        .map_err(|e| LoggingError::InvalidMaskPattern {
            pattern: "built-in".into(),
            reason: e.to_string(),
        })?;
        Ok(Masker {
            builtin,
            extra,
            privacy,
        })
    }

    /// The privacy policy applied after the secrets.
    pub fn privacy(&self) -> &Privacy {
        &self.privacy
    }

    /// Whether a field with this name holds a secret.
    pub fn is_secret_name(name: &str) -> bool {
        let lower = name.to_ascii_lowercase().replace('-', "_");
        SECRET_NAMES.iter().any(|s| lower.contains(s))
    }

    /// The text with every secret-looking part replaced by `***`, then the personal
    /// parts treated by the privacy policy.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.secrets(text) {
            Cow::Borrowed(text) => self.privacy.text(text),
            Cow::Owned(masked) => Cow::Owned(self.privacy.text(&masked).into_owned()),
        }
    }

    fn secrets<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = mon_core::redact_urls(text);
        if might_hold_token(text)
            && let Cow::Owned(s) = self.builtin.replace_all(&out, MASK)
        {
            out = Cow::Owned(s);
        }
        if let Some(extra) = &self.extra
            && let Cow::Owned(s) = extra.replace_all(&out, MASK)
        {
            out = Cow::Owned(s);
        }
        out
    }

    /// Masks a JSON value in place: secret-named object keys get `***`, strings are
    /// masked as text, recursively; then the privacy policy's fields and patterns apply.
    pub fn value(&self, value: &mut serde_json::Value) {
        self.secret_value(value);
        self.privacy.value(value);
    }

    fn secret_value(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => {
                if let Cow::Owned(masked) = self.secrets(s) {
                    *s = masked;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.secret_value(v)),
            serde_json::Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if Masker::is_secret_name(key) {
                        *v = serde_json::Value::String(MASK.into());
                    } else {
                        self.secret_value(v);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The one-line reason of a regex error (its display spans several lines).
pub(crate) fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or_default();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

/// A fast pre-test for the built-in rules: a JWT starts with `eyJ`, a header with
/// `bearer` / `basic` (any case).
fn might_hold_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(3).any(|w| {
        w == b"eyJ" || {
            let w0 = w[0].to_ascii_lowercase();
            (w0 == b'b')
                && matches!(
                    (w[1].to_ascii_lowercase(), w[2].to_ascii_lowercase()),
                    (b'e', b'a') | (b'a', b's')
                )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for (name, secret) in [
            ("password", true),
            ("db_password", true),
            ("Authorization", true),
            ("x-api-key", true),
            ("apiKey", true),
            ("refresh_token", true),
            ("cookie", true),
            ("client_secret", true),
            ("call_id", false),
            ("room", false),
            ("latency_ms", false),
        ] {
            assert_eq!(Masker::is_secret_name(name), secret, "{name}");
        }
    }

    #[test]
    fn text_rules() {
        let masker = Masker::new(&["sk-[A-Za-z0-9]{10,}".to_string()]).unwrap();
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl";
        for (input, want) in [
            ("plain text stays", "plain text stays"),
            (&*format!("token is {jwt} ok"), "token is *** ok"),
            (
                "Authorization: Bearer abc.def-ghi_123",
                "Authorization: ***",
            ),
            ("auth bearer   0123456789", "auth ***"),
            ("Basic dXNlcjpwYXNz", "***"),
            ("key sk-ABCDEFGHIJKLMNOP end", "key *** end"),
            ("beard and basil are fine", "beard and basil are fine"),
            (
                "POST https://u:pw@h/hooks/abc?token=t failed",
                "POST https://***@h/hooks/***?token=*** failed",
            ),
        ] {
            assert_eq!(masker.text(input), want, "{input}");
        }
    }

    #[test]
    fn values_and_bad_patterns() {
        let masker = Masker::new(&[]).unwrap();
        let mut v = serde_json::json!({
            "password": "hunter2", "nested": { "api_key": 42, "note": "Bearer abcdefghij" },
            "list": ["ok", "eyJhbGciOi.eyJzdWIiOi.sig"], "n": 1
        });
        masker.value(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "password": "***", "nested": { "api_key": "***", "note": "***" },
                "list": ["ok", "***"], "n": 1
            })
        );
        let err = Masker::new(&["(".to_string()]).unwrap_err();
        assert!(err.to_string().contains("mask pattern \"(\""), "{err}");
    }
}
