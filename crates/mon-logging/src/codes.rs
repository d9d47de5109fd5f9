//! Error codes: [`ErrorCode`] (code, category, description), the LiveKit catalog
//! ([`livekit`]) and [`ErrorCatalog`] for users' own codes.
//!
//! Log with a code by putting it in the `error_code` field; the JSON line carries it at
//! the top level and `mon_log_errors_total{code,category}` counts it:
//!
//! ```
//! use mon_logging::codes::livekit;
//! tracing::error!(error_code = %livekit::ROOM_CREATION_FAILED, room = "sip-call-1", "room creation failed");
//! ```

use std::fmt;

/// A documented error code such as `LK1301`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode {
    /// The code, e.g. `LK1301`.
    pub code: &'static str,
    /// The category, e.g. `room`.
    pub category: &'static str,
    /// What it means, one sentence.
    pub description: &'static str,
}

impl fmt::Display for ErrorCode {
    /// The code alone (`LK1301`): what the `error_code` field holds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// A set of error codes: the LiveKit one, a user's own, or several merged.
#[derive(Debug, Clone, Default)]
pub struct ErrorCatalog {
    codes: Vec<ErrorCode>,
}

impl ErrorCatalog {
    /// A catalog of these codes.
    pub fn new(codes: impl IntoIterator<Item = ErrorCode>) -> Self {
        ErrorCatalog {
            codes: codes.into_iter().collect(),
        }
    }

    /// This catalog plus `other`'s codes (`other` wins for a code in both).
    pub fn merged(mut self, other: &ErrorCatalog) -> Self {
        self.codes.retain(|c| other.get(c.code).is_none());
        self.codes.extend(other.codes.iter().copied());
        self
    }

    /// The entry for `code`.
    pub fn get(&self, code: &str) -> Option<&ErrorCode> {
        self.codes.iter().find(|c| c.code == code)
    }

    /// Every code, in the order given.
    pub fn codes(&self) -> &[ErrorCode] {
        &self.codes
    }
}

/// The LiveKit error codes of mon's seed: `LK1001`–`LK1999` in ten categories of a
/// hundred codes each.
pub mod livekit {
    use super::{ErrorCatalog, ErrorCode};

    /// The categories and their ranges (inclusive).
    pub const CATEGORIES: &[(&str, u16, u16)] = &[
        ("authentication", 1001, 1099),
        ("connection", 1100, 1199),
        ("api", 1200, 1299),
        ("room", 1300, 1399),
        ("participant", 1400, 1499),
        ("media", 1500, 1599),
        ("sip", 1600, 1699),
        ("egress", 1700, 1799),
        ("ingress", 1800, 1899),
        ("system", 1900, 1999),
    ];

    macro_rules! codes {
        ($($name:ident = $code:literal, $category:literal, $description:literal;)*) => {
            $(
                #[doc = $description]
                pub const $name: ErrorCode = ErrorCode { code: $code, category: $category, description: $description };
            )*
            /// Every LiveKit code, in code order.
            pub const ALL: &[ErrorCode] = &[$($name),*];
        };
    }

    codes! {
        TOKEN_CREATION_FAILED = "LK1001", "authentication", "An access token could not be created.";
        TOKEN_INVALID = "LK1002", "authentication", "An access token was rejected as invalid.";
        TOKEN_EXPIRED = "LK1003", "authentication", "An access token has expired.";
        API_KEY_INVALID = "LK1004", "authentication", "The API key or secret was rejected.";
        PERMISSION_DENIED = "LK1005", "authentication", "The token lacks the grant the operation needs.";
        CONNECTION_FAILED = "LK1101", "connection", "The connection to the LiveKit server failed.";
        CONNECTION_TIMEOUT = "LK1102", "connection", "The connection to the LiveKit server timed out.";
        CONNECTION_LOST = "LK1103", "connection", "An established connection was lost.";
        WEBSOCKET_ERROR = "LK1104", "connection", "The signalling WebSocket failed.";
        API_REQUEST_FAILED = "LK1201", "api", "A server API request failed.";
        API_RATE_LIMITED = "LK1202", "api", "A server API request was rate limited.";
        API_INVALID_RESPONSE = "LK1203", "api", "A server API answer could not be understood.";
        API_TIMEOUT = "LK1204", "api", "A server API request timed out.";
        ROOM_CREATION_FAILED = "LK1301", "room", "A room could not be created.";
        ROOM_NOT_FOUND = "LK1302", "room", "The room does not exist.";
        ROOM_DELETION_FAILED = "LK1303", "room", "A room could not be deleted.";
        ROOM_FULL = "LK1304", "room", "The room reached its participant limit.";
        PARTICIPANT_JOIN_FAILED = "LK1401", "participant", "A participant could not join.";
        PARTICIPANT_NOT_FOUND = "LK1402", "participant", "The participant is not in the room.";
        PARTICIPANT_REMOVAL_FAILED = "LK1403", "participant", "A participant could not be removed.";
        PARTICIPANT_PERMISSION_UPDATE_FAILED = "LK1404", "participant", "A participant's permissions could not be updated.";
        TRACK_PUBLISH_FAILED = "LK1501", "media", "A track could not be published.";
        TRACK_SUBSCRIBE_FAILED = "LK1502", "media", "A track could not be subscribed to.";
        AUDIO_QUALITY_DEGRADED = "LK1503", "media", "Audio quality fell below the acceptable level.";
        CODEC_NOT_SUPPORTED = "LK1504", "media", "The codec is not supported.";
        SIP_CALL_FAILED = "LK1601", "sip", "A SIP call failed.";
        SIP_TRUNK_ERROR = "LK1602", "sip", "The SIP trunk reported an error.";
        SIP_DISPATCH_FAILED = "LK1603", "sip", "A SIP dispatch rule could not route the call.";
        SIP_TRANSFER_FAILED = "LK1604", "sip", "A SIP call transfer failed.";
        EGRESS_START_FAILED = "LK1701", "egress", "An egress (recording or stream) could not start.";
        EGRESS_STOP_FAILED = "LK1702", "egress", "An egress could not be stopped.";
        EGRESS_UPLOAD_FAILED = "LK1703", "egress", "An egress output could not be uploaded.";
        INGRESS_CREATION_FAILED = "LK1801", "ingress", "An ingress could not be created.";
        INGRESS_STREAM_FAILED = "LK1802", "ingress", "An ingress stream failed.";
        INTERNAL_ERROR = "LK1901", "system", "An internal error occurred.";
        CONFIGURATION_ERROR = "LK1902", "system", "The configuration is invalid.";
        RESOURCE_EXHAUSTED = "LK1903", "system", "A resource (memory, ports, CPU) is exhausted.";
        DEPENDENCY_UNAVAILABLE = "LK1904", "system", "A dependency (Redis, database, provider) is unavailable.";
    }

    /// The LiveKit catalog.
    pub fn catalog() -> ErrorCatalog {
        ErrorCatalog::new(ALL.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_livekit_code_is_in_its_category_range_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in livekit::ALL {
            assert!(seen.insert(code.code), "duplicate {}", code.code);
            let number: u16 = code.code.strip_prefix("LK").unwrap().parse().unwrap();
            let (_, low, high) = livekit::CATEGORIES
                .iter()
                .find(|(name, _, _)| *name == code.category)
                .unwrap_or_else(|| panic!("{} has unknown category {}", code.code, code.category));
            assert!(
                (*low..=*high).contains(&number),
                "{} outside {low}-{high}",
                code.code
            );
        }
        for (category, _, _) in livekit::CATEGORIES {
            assert!(
                livekit::ALL.iter().any(|c| c.category == *category),
                "{category} is empty"
            );
        }
    }

    #[test]
    fn user_catalogs_merge_over_livekit() {
        const MINE: ErrorCode = ErrorCode {
            code: "VA2001",
            category: "stt",
            description: "STT failed.",
        };
        const OVERRIDE: ErrorCode = ErrorCode {
            code: "LK1001",
            category: "authentication",
            description: "Mine.",
        };
        let catalog = livekit::catalog().merged(&ErrorCatalog::new([MINE, OVERRIDE]));
        assert_eq!(catalog.get("VA2001"), Some(&MINE));
        assert_eq!(catalog.get("LK1001").unwrap().description, "Mine.");
        assert_eq!(catalog.get("LK1301"), Some(&livekit::ROOM_CREATION_FAILED));
        assert_eq!(catalog.codes().len(), livekit::ALL.len() + 1);
        assert_eq!(livekit::SIP_CALL_FAILED.to_string(), "LK1601");
    }
}
