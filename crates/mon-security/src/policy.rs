//! [`SecurityPolicy`]: what the layer enforces (IP lists, rate limits, login blocks), as
//! written in YAML (`server.security` in `mon.yaml`, or an application's own config).

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// The security policy of one [`SecurityLayer`](crate::SecurityLayer).
///
/// Every key is optional; the default refuses nothing: no lists, no rate limits, and
/// failed authentications counted (`max_failed_logins` 5 within `failed_login_window`
/// 5m) but only reported (`block_duration` 0s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityPolicy {
    /// When not empty, only clients whose address is in one of these ranges are served;
    /// every other client (and a client whose address is unknown) gets 403. Addresses
    /// (`203.0.113.7`) or CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`).
    pub ip_allowlist: Vec<IpRange>,
    /// Clients whose address is in one of these ranges get 403, whatever the allowlist says.
    pub ip_denylist: Vec<IpRange>,
    /// The proxies in front of the service: only when the connection comes from one of these
    /// is `X-Forwarded-For` read, right to left, past every trusted hop. Empty: the socket's
    /// address is the client's and `X-Forwarded-For` is ignored.
    pub trusted_proxies: Vec<IpRange>,
    /// Per route template (axum's `MatchedPath`, e.g. `/api/rooms/{id}`): at most `limit`
    /// requests per `window` from one client address; the next answers 429 with
    /// `Retry-After`.
    pub rate_limits: BTreeMap<String, RateLimit>,
    /// Per authenticated principal, over every route: at most `limit` requests per `window`.
    /// Applied when the application names the principal ([`claim`](crate::claim)).
    pub principal_rate_limit: Option<RateLimit>,
    /// More failed authentications (401 or 403 answers) than this from one address or for
    /// one principal within `failed_login_window` starts a block (when `block_duration` is
    /// not 0). 0 turns the count off.
    pub max_failed_logins: u32,
    /// The window failed authentications are counted in.
    #[serde(with = "mon_core::duration")]
    pub failed_login_window: Duration,
    /// How long an address or principal over `max_failed_logins` is refused (429 with
    /// `Retry-After`). 0s (the default): blocks are reported, never enforced.
    #[serde(with = "mon_core::duration")]
    pub block_duration: Duration,
    /// The most addresses and principals tracked at once (rate-limit windows, failure
    /// counts, blocks); beyond it, ended windows are dropped first, then arbitrary ones.
    pub max_tracked_keys: usize,
}

impl Default for SecurityPolicy {
    fn default() -> Self {
        SecurityPolicy {
            ip_allowlist: Vec::new(),
            ip_denylist: Vec::new(),
            trusted_proxies: Vec::new(),
            rate_limits: BTreeMap::new(),
            principal_rate_limit: None,
            max_failed_logins: 5,
            failed_login_window: Duration::from_secs(300),
            block_duration: Duration::ZERO,
            max_tracked_keys: 100_000,
        }
    }
}

/// At most `limit` requests per `window`, counted from the first request of a window; the
/// next window starts with the first request after it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window (at least 1).
    pub limit: u32,
    /// The window (`60s`, `1m`).
    #[serde(with = "mon_core::duration")]
    pub window: Duration,
}

impl SecurityPolicy {
    /// `(key path, message)` for each problem, the key path relative to the policy
    /// (`rate_limits./login.limit`).
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        let mut check_limit = |key: String, limit: &RateLimit| {
            if limit.limit == 0 {
                errors.push((format!("{key}.limit"), "must be at least 1".to_owned()));
            }
            if limit.window.is_zero() {
                errors.push((format!("{key}.window"), "must be longer than 0s".to_owned()));
            }
        };
        for (path, limit) in &self.rate_limits {
            check_limit(format!("rate_limits.{path}"), limit);
        }
        if let Some(limit) = &self.principal_rate_limit {
            check_limit("principal_rate_limit".to_owned(), limit);
        }
        for path in self.rate_limits.keys().filter(|p| !p.starts_with('/')) {
            errors.push((
                format!("rate_limits.{path}"),
                "a route template starts with `/` (e.g. /api/auth/login)".to_owned(),
            ));
        }
        if self.max_failed_logins > 0 && self.failed_login_window.is_zero() {
            errors.push((
                "failed_login_window".to_owned(),
                "must be longer than 0s while max_failed_logins is not 0".to_owned(),
            ));
        }
        if self.max_tracked_keys == 0 {
            errors.push((
                "max_tracked_keys".to_owned(),
                "must be at least 1".to_owned(),
            ));
        }
        errors
    }
}

/// An address or a CIDR range, written `203.0.113.7` or `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange(IpNet);

impl IpRange {
    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }

    /// Whether `ip` is in any of `ranges`.
    pub fn any(ranges: &[IpRange], ip: IpAddr) -> bool {
        ranges.iter().any(|r| r.contains(ip))
    }
}

impl std::str::FromStr for IpRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        text.parse::<IpNet>()
            .map(|net| IpRange(net.trunc()))
            .or_else(|_| text.parse::<IpAddr>().map(|ip| IpRange(IpNet::from(ip))))
            .map_err(|_| {
                format!(
                    "{text:?} is not an IP address or CIDR range (write e.g. 203.0.113.7 or 10.0.0.0/8)"
                )
            })
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.prefix_len() == self.0.max_prefix_len() {
            write!(f, "{}", self.0.addr())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl Serialize for IpRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_addresses_and_cidr() {
        for (text, inside, outside) in [
            ("203.0.113.7", "203.0.113.7", "203.0.113.8"),
            ("10.0.0.0/8", "10.255.1.2", "11.0.0.1"),
            ("10.1.2.3/8", "10.9.9.9", "192.168.0.1"),
            ("2001:db8::/32", "2001:db8:1::5", "2001:db9::1"),
            ("127.0.0.1", "::ffff:127.0.0.1", "127.0.0.2"),
        ] {
            let range: IpRange = text.parse().unwrap();
            assert!(range.contains(inside.parse().unwrap()), "{text} ∋ {inside}");
            assert!(
                !range.contains(outside.parse().unwrap()),
                "{text} ∌ {outside}"
            );
        }
        let err = "10.0.0.0/33".parse::<IpRange>().unwrap_err();
        assert!(err.contains("not an IP address or CIDR range"), "{err}");
        assert_eq!(
            "10.1.2.3/8".parse::<IpRange>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!("::1".parse::<IpRange>().unwrap().to_string(), "::1");
    }

    #[test]
    fn the_seed_policy_reads_and_bad_values_are_named() {
        let yaml = "max_failed_logins: 5\nfailed_login_window: 300s\nrate_limits:\n  /api/auth/login: { limit: 10, window: 60s }\nip_denylist: [192.168.1.1]\nip_allowlist: [192.168.1.2]\n";
        let policy: SecurityPolicy = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(
            policy.rate_limits["/api/auth/login"],
            RateLimit {
                limit: 10,
                window: Duration::from_secs(60)
            }
        );
        assert!(policy.validate().is_empty());
        let bad = SecurityPolicy {
            rate_limits: BTreeMap::from([(
                "login".to_owned(),
                RateLimit {
                    limit: 0,
                    window: Duration::ZERO,
                },
            )]),
            failed_login_window: Duration::ZERO,
            ..SecurityPolicy::default()
        };
        let keys: Vec<String> = bad.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "rate_limits.login.limit",
                "rate_limits.login.window",
                "rate_limits.login",
                "failed_login_window"
            ]
        );
        for (yaml, want) in [
            ("ip_denylist: [nope]", "not an IP address"),
            ("rate_limit: {}", "unknown field `rate_limit`"),
            ("block_duration: 5 minutes later", "invalid duration"),
        ] {
            let err = serde_yaml_ng::from_str::<SecurityPolicy>(yaml)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }
}
