//! Helpers every check kind shares: how a URL is shown and how a latency is written.

use std::time::Duration;
use url::Url;

/// The URL as it may be shown ([`mon_core::redact_url`]: no password, query values or tokens).
pub(crate) fn redact_url(url: &Url) -> String {
    mon_core::redact_url(url.as_str())
}

/// Formats a latency for messages: `3.2ms`, `1.25s`.
pub(crate) fn format_latency(latency: Duration) -> String {
    let ms = latency.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_cases() {
        let cases = [
            ("http://a:b@host/p", "http://***@host/p"),
            (
                "https://host/p?x=1&token=abc",
                "https://host/p?x=***&token=***",
            ),
            (
                "https://host/p?Signature=abc&X-Amz-Credential=def",
                "https://host/p?Signature=***&X-Amz-Credential=***",
            ),
            ("http://host/#frag", "http://host/"),
            ("http://host:8080/health", "http://host:8080/health"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(&input.parse().unwrap()), want, "{input}");
        }
    }

    #[test]
    fn latencies_read_in_milliseconds_then_seconds() {
        for (latency, want) in [
            (Duration::from_micros(3_240), "3.2ms"),
            (Duration::from_millis(999), "999.0ms"),
            (Duration::from_millis(1_250), "1.25s"),
        ] {
            assert_eq!(format_latency(latency), want, "{latency:?}");
        }
    }
}
