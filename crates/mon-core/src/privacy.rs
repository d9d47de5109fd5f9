//! [`Privacy`]: the one policy for callers' personal data (phone numbers, e-mail
//! addresses, SIP URIs, LiveKit participant identities and names, client addresses).
//! Every entry of mon applies it before anything is stored, labelled or exported:
//! ingested events ([`Privacy::event`]), log records and error samples (mon-logging's
//! `Masker` calls [`Privacy::text`] and [`Privacy::value`]) and LiveKit webhooks.
//!
//! Each personal value is dropped, masked (`***`; an address keeps its network) or
//! pseudonymised: `anon:` and 16 hex digits of its HMAC-SHA256 under a secret key, so
//! one caller maps to one token and calls still correlate without the number. A
//! pseudonymised client address becomes an IPv6 address in `fd00::/8`, so that what
//! counts addresses (failed logins per address, offenders) keeps working.
//!
//! Pure code: the key comes from the caller (the configured [`Secret`], else the
//! caller's own default, which mon-server keeps beside its store).

use crate::{Event, Secret};
use hmac::{Hmac, Mac};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// What a pseudonymised value starts with.
pub const TOKEN_PREFIX: &str = "anon:";
/// Hex digits after [`TOKEN_PREFIX`] (64 bits of the HMAC).
const TOKEN_HEX: usize = 16;
/// What a masked value is written as.
const MASKED: &str = "***";
/// The shortest configured key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// What happens to a personal value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Left as it is (an opt-out: for `client_ips`, the security features and
    /// investigations see real addresses).
    Keep,
    /// Removed: a structured field or label is left out, text is cut out, an address
    /// is forgotten.
    Drop,
    /// Replaced by `***` (an address keeps its /24 or /48 network).
    Mask,
    /// Replaced by a keyed hash: `anon:` and 16 hex digits, the same for the same value.
    #[serde(alias = "pseudonymize")]
    Pseudonymise,
}

/// A kind of personal data found in any text by a regular expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternRule {
    /// A name for messages and docs (`phone`, `email`, `sip_uri`, ...).
    pub name: String,
    /// The regular expression (`regex` crate syntax) of the personal part.
    pub regex: String,
    /// What to do with each match.
    pub action: Action,
}

/// A structured field whose whole value is personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// The field's name, or `parent.name` for a field inside an object (compared
    /// case-insensitively): a log or error field, a label, a key of a LiveKit payload.
    pub name: String,
    /// What to do with its value.
    pub action: Action,
}

/// `privacy:` — which parts of what callers send are personal, and what happens to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Whether the policy applies at all.
    pub enabled: bool,
    /// The HMAC key of pseudonyms (use `${MON_PRIVACY_KEY}`), at least 16 bytes. Absent:
    /// mon-server generates a random key once and keeps it beside the store
    /// (`<storage.path>.privacy-key`), so tokens stay stable across restarts.
    pub key: Option<Secret>,
    /// Personal data found in any text (messages, fields, labels, ids). Setting the list
    /// replaces the defaults: phone numbers (E.164), e-mail addresses, SIP URIs.
    pub patterns: Vec<PatternRule>,
    /// Fields whose whole value is personal. Setting the list replaces the defaults.
    pub fields: Vec<FieldRule>,
    /// The client address (`ip`) of request, auth and security events, including those
    /// of mon's own security layer.
    pub client_ips: Action,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        let pattern = |name: &str, regex: &str| PatternRule {
            name: name.into(),
            regex: regex.into(),
            action: Action::Pseudonymise,
        };
        let field = |name: &str| FieldRule {
            name: name.into(),
            action: Action::Pseudonymise,
        };
        PrivacyConfig {
            enabled: true,
            key: None,
            patterns: vec![
                // A SIP or SIPS URI up to the end of its user@host part (the `From`/`To`
                // of a call); first, so that a number inside it is one match with it.
                pattern("sip_uri", r"(?i)\bsips?:[^\s;,<>\x22']+"),
                pattern(
                    "email",
                    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
                ),
                // International numbers: `+`, a country code not starting with 0, 7 to
                // 15 digits, written together (E.164) or grouped by spaces, dots,
                // dashes or parentheses (`+1 (415) 555-0100`).
                pattern("phone", r"\+[1-9](?:[ .\-]?\(?[0-9]\)?){6,14}\b"),
            ],
            fields: [
                "participant.identity",
                "participant.name",
                "participant_identity",
                "participant_name",
                "identity",
                "sip.phoneNumber",
                "sip.trunkPhoneNumber",
                "sip_from",
                "sip_to",
                "caller",
                "callee",
                "phone",
                "phone_number",
                "email",
                "client_ip",
                "ip",
            ]
            .into_iter()
            .map(field)
            .collect(),
            client_ips: Action::Pseudonymise,
        }
    }
}

impl PrivacyConfig {
    /// The problems of this section, each as (key path under `privacy`, message).
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        if let Some(key) = &self.key
            && key.expose().len() < MIN_KEY_BYTES
        {
            errors.push((
                "key".to_string(),
                format!(
                    "must be at least {MIN_KEY_BYTES} bytes (is its environment variable set?); \
                     leave it out for a generated key"
                ),
            ));
        }
        let mut names = BTreeMap::new();
        for (i, rule) in self.patterns.iter().enumerate() {
            if rule.name.trim().is_empty() {
                errors.push((format!("patterns[{i}].name"), "must not be empty".into()));
            } else if let Some(first) = names.insert(rule.name.as_str(), i) {
                errors.push((
                    format!("patterns[{i}].name"),
                    format!(
                        "duplicate pattern name {:?} (also patterns[{first}])",
                        rule.name
                    ),
                ));
            }
            if let Err(e) = Regex::new(&rule.regex) {
                errors.push((format!("patterns[{i}].regex"), regex_reason(&e)));
            } else if Regex::new(&rule.regex).is_ok_and(|r| r.is_match("")) {
                errors.push((
                    format!("patterns[{i}].regex"),
                    format!("{:?} matches the empty text", rule.regex),
                ));
            }
        }
        for (i, rule) in self.fields.iter().enumerate() {
            if rule.name.trim().is_empty() {
                errors.push((format!("fields[{i}].name"), "must not be empty".into()));
            }
        }
        errors
    }
}

/// The one-line reason of a regex error (its display spans several lines).
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or_default();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

/// Why a [`PrivacyConfig`] cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("privacy.{key}: {message}")]
pub struct PrivacyError {
    /// The key path under `privacy`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// The compiled policy. Cheap to clone; [`Privacy::disabled`] changes nothing.
#[derive(Clone, Default)]
pub struct Privacy {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    key: Hmac<Sha256>,
    /// Every pattern, each in a group of its own (`__p<i>`).
    patterns: Option<Regex>,
    pattern_actions: Vec<Action>,
    /// Lower-cased field names (or `parent.name`) and their action.
    fields: Vec<(String, Action)>,
    client_ips: Action,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy")
            .field("enabled", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl Privacy {
    /// A policy that changes nothing.
    pub fn disabled() -> Privacy {
        Privacy { inner: None }
    }

    /// Compiles `config`; pseudonyms are keyed by `config.key`, else by `default_key`.
    ///
    /// # Errors
    /// The first problem [`PrivacyConfig::validate`] finds, or an empty key.
    pub fn new(config: &PrivacyConfig, default_key: &[u8]) -> Result<Privacy, PrivacyError> {
        if !config.enabled {
            return Ok(Privacy::disabled());
        }
        if let Some((key, message)) = config.validate().into_iter().next() {
            return Err(PrivacyError { key, message });
        }
        let key = config
            .key
            .as_ref()
            .map_or(default_key, |k| k.expose().as_bytes());
        if key.len() < MIN_KEY_BYTES {
            return Err(PrivacyError {
                key: "key".into(),
                message: format!("the key is shorter than {MIN_KEY_BYTES} bytes"),
            });
        }
        let key = Hmac::<Sha256>::new_from_slice(key).map_err(|e| PrivacyError {
            key: "key".into(),
            message: e.to_string(),
        })?;
        let patterns = if config.patterns.is_empty() {
            None
        } else {
            let joined = config
                .patterns
                .iter()
                .enumerate()
                .map(|(i, p)| format!("(?P<__p{i}>{})", p.regex))
                .collect::<Vec<_>>()
                .join("|");
            Some(Regex::new(&joined).map_err(|e| PrivacyError {
                key: "patterns".into(),
                message: regex_reason(&e),
            })?)
        };
        Ok(Privacy {
            inner: Some(Arc::new(Inner {
                key,
                patterns,
                pattern_actions: config.patterns.iter().map(|p| p.action).collect(),
                fields: config
                    .fields
                    .iter()
                    .map(|f| (f.name.to_lowercase(), f.action))
                    .collect(),
                client_ips: config.client_ips,
            })),
        })
    }

    /// Whether the policy changes anything.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The pseudonym of `value`: `anon:` and 16 hex digits of its HMAC-SHA256. A value
    /// that already is a pseudonym is kept, so applying the policy twice changes nothing.
    /// Unchanged when the policy is disabled.
    pub fn token(&self, value: &str) -> String {
        match &self.inner {
            Some(inner) => inner.token(value),
            None => value.to_string(),
        }
    }

    /// `text` with every personal part found by the patterns dropped, masked or
    /// pseudonymised.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.inner {
            Some(inner) => inner.text(text),
            None => Cow::Borrowed(text),
        }
    }

    /// The action of a field named `name` inside an object under the key `parent`.
    pub fn field_action(&self, parent: Option<&str>, name: &str) -> Option<Action> {
        self.inner.as_ref()?.field_action(parent, name)
    }

    /// A JSON value in place: object keys of the field rules get their action (a
    /// dropped key is removed), every other string is read as text, recursively.
    pub fn value(&self, value: &mut Value) {
        if let Some(inner) = &self.inner {
            inner.value(None, value);
        }
    }

    /// Structured fields (a log's fields, an error's context) in place, as [`Self::value`].
    pub fn fields(&self, fields: &mut BTreeMap<String, Value>) {
        if let Some(inner) = &self.inner {
            inner.object(None, fields.iter_mut().map(|(k, v)| (k.as_str(), v)));
            fields
                .retain(|k, v| !(v.is_null() && inner.field_action(None, k) == Some(Action::Drop)));
        }
    }

    /// The value of a field (or label) named `name`: its rule's action (`None` when
    /// dropped), else the value read as text.
    pub fn named<'a>(&self, name: &str, value: &'a str) -> Option<Cow<'a, str>> {
        let Some(inner) = &self.inner else {
            return Some(Cow::Borrowed(value));
        };
        match inner.field_action(None, name) {
            Some(Action::Drop) => None,
            Some(action) => Some(Cow::Owned(inner.apply(action, value))),
            None => Some(inner.text(value)),
        }
    }

    /// Label values in place, each as [`Self::named`] (a dropped label is removed).
    pub fn labels(&self, labels: &mut BTreeMap<String, String>) {
        labels.retain(|name, value| match self.named(name, value) {
            None => false,
            Some(Cow::Borrowed(_)) => true,
            Some(Cow::Owned(changed)) => {
                *value = changed;
                true
            }
        });
    }

    /// A client address under `client_ips`: kept, forgotten (`None`), its network only
    /// (mask), or an address in `fd00::/8` derived from its keyed hash (pseudonymise).
    pub fn ip(&self, ip: IpAddr) -> Option<IpAddr> {
        match &self.inner {
            Some(inner) => inner.ip(ip),
            None => Some(ip),
        }
    }

    /// Applies the policy to every free-text and identity part of `event`
    /// ([`Event::free_text_mut`]): texts, fields, labels, payloads and client addresses.
    pub fn event(&self, event: &mut Event) {
        let Some(inner) = &self.inner else { return };
        let free = event.free_text_mut();
        for text in free.texts {
            if let Cow::Owned(changed) = inner.text(text) {
                *text = changed;
            }
        }
        if let Some(fields) = free.fields {
            self.fields(fields);
        }
        if let Some(labels) = free.labels {
            self.labels(labels);
        }
        if let Some(payload) = free.payload {
            inner.value(None, payload);
        }
        for ip in free.ips {
            *ip = ip.and_then(|ip| inner.ip(ip));
        }
    }
}

/// `+` and the digits of a number written with separators (`+1 (415) 555-0100` →
/// `+14155550100`); `None` for anything else.
fn grouped_number(text: &str) -> Option<String> {
    let rest = text.strip_prefix('+')?;
    let grouped = rest.chars().any(|c| !c.is_ascii_digit())
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')'));
    grouped.then(|| {
        std::iter::once('+')
            .chain(rest.chars().filter(char::is_ascii_digit))
            .collect()
    })
}

impl Inner {
    fn token(&self, value: &str) -> String {
        if is_token(value) {
            return value.to_string();
        }
        let mut mac = self.key.clone();
        mac.update(value.as_bytes());
        let hash = mac.finalize().into_bytes();
        let mut out = String::with_capacity(TOKEN_PREFIX.len() + TOKEN_HEX);
        out.push_str(TOKEN_PREFIX);
        for byte in hash.iter().take(TOKEN_HEX / 2) {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// A value under `action`; an address (a field `ip`, say) is pseudonymised as
    /// client addresses are, so that logs and events name one client alike.
    fn apply(&self, action: Action, value: &str) -> String {
        match action {
            Action::Keep => value.to_string(),
            Action::Drop => String::new(),
            Action::Mask => MASKED.to_string(),
            Action::Pseudonymise => match value.parse::<IpAddr>() {
                Ok(ip) => self.ip_pseudonym(ip).to_string(),
                Err(_) => self.token(value),
            },
        }
    }

    /// The address in `fd00::/8` standing for `ip`.
    fn ip_pseudonym(&self, ip: IpAddr) -> IpAddr {
        let mut mac = self.key.clone();
        mac.update(b"ip:");
        mac.update(ip.to_string().as_bytes());
        let hash = mac.finalize().into_bytes();
        let mut octets = [0u8; 16];
        octets[0] = 0xfd;
        for (o, h) in octets.iter_mut().skip(1).zip(hash.iter()) {
            *o = *h;
        }
        IpAddr::V6(Ipv6Addr::from(octets))
    }

    fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(patterns) = &self.patterns else {
            return Cow::Borrowed(text);
        };
        patterns.replace_all(text, |caps: &regex::Captures<'_>| {
            let whole = caps.get(0).map_or("", |m| m.as_str());
            // One number, however it is grouped, is one caller: one pseudonym.
            let digits;
            let whole = match grouped_number(whole) {
                Some(d) => {
                    digits = d;
                    digits.as_str()
                }
                None => whole,
            };
            let action = (0..self.pattern_actions.len())
                .find(|i| caps.name(&format!("__p{i}")).is_some())
                .and_then(|i| self.pattern_actions.get(i).copied())
                .unwrap_or(Action::Mask);
            self.apply(action, whole)
        })
    }

    fn field_action(&self, parent: Option<&str>, name: &str) -> Option<Action> {
        let name = name.to_lowercase();
        let dotted = parent.map(|p| format!("{}.{name}", p.to_lowercase()));
        self.fields
            .iter()
            .find(|(rule, _)| *rule == name || dotted.as_deref() == Some(rule.as_str()))
            .map(|(_, action)| *action)
    }

    /// A value under a personal field: dropped values become `null` (the caller
    /// removes the key).
    fn personal(&self, action: Action, value: &mut Value) {
        if action == Action::Keep {
            return;
        }
        let text = match value {
            Value::Null => return,
            Value::String(s) => std::mem::take(s),
            ref other => other.to_string(),
        };
        *value = match action {
            Action::Drop => Value::Null,
            _ => Value::String(self.apply(action, &text)),
        };
    }

    fn object<'v>(
        &self,
        parent: Option<&str>,
        entries: impl Iterator<Item = (&'v str, &'v mut Value)>,
    ) {
        for (key, v) in entries {
            match self.field_action(parent, key) {
                Some(action) => self.personal(action, v),
                None => self.value(Some(key), v),
            }
        }
    }

    fn value(&self, parent: Option<&str>, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(changed) = self.text(s) {
                    *s = changed;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(parent, v)),
            Value::Object(map) => {
                self.object(parent, map.iter_mut().map(|(k, v)| (k.as_str(), v)));
                map.retain(|k, v| {
                    !(v.is_null() && self.field_action(parent, k) == Some(Action::Drop))
                });
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn ip(&self, ip: IpAddr) -> Option<IpAddr> {
        match self.client_ips {
            Action::Keep => Some(ip),
            Action::Drop => None,
            Action::Mask => Some(match ip {
                IpAddr::V4(v4) => {
                    let [a, b, c, _] = v4.octets();
                    IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
                }
                IpAddr::V6(v6) => {
                    let s = v6.segments();
                    IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
                }
            }),
            Action::Pseudonymise => Some(self.ip_pseudonym(ip)),
        }
    }
}

/// Whether `value` is a pseudonym (`anon:` and 16 lower-case hex digits).
pub fn is_token(value: &str) -> bool {
    value.strip_prefix(TOKEN_PREFIX).is_some_and(|hex| {
        hex.len() == TOKEN_HEX && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn policy() -> Privacy {
        Privacy::new(&PrivacyConfig::default(), KEY).unwrap()
    }

    #[test]
    fn tokens_are_keyed_stable_and_idempotent() {
        let p = policy();
        let t = p.token("+15105550100");
        assert!(is_token(&t), "{t}");
        assert_eq!(p.token("+15105550100"), t);
        assert_ne!(p.token("+15105550101"), t);
        assert_eq!(p.token(&t), t);
        let other = Privacy::new(&PrivacyConfig::default(), b"another key, 16 bytes+").unwrap();
        assert_ne!(other.token("+15105550100"), t);
    }

    #[test]
    fn text_patterns() {
        let p = policy();
        let phone = p.token("+15105550100");
        for (input, want) in [
            (
                "no personal data here".to_string(),
                "no personal data here".to_string(),
            ),
            (
                "call from +15105550100 ended".into(),
                format!("call from {phone} ended"),
            ),
            (
                "mail jane.doe@example.com now".into(),
                format!("mail {} now", p.token("jane.doe@example.com")),
            ),
            (
                "From: <sip:+15105550100@pbx.example.com>;tag=1".into(),
                format!(
                    "From: <{}>;tag=1",
                    p.token("sip:+15105550100@pbx.example.com")
                ),
            ),
            (
                "version 1.2.3 at 12:00 +00:00".into(),
                "version 1.2.3 at 12:00 +00:00".into(),
            ),
            // Grouped as people write them: the same caller, the same pseudonym.
            (
                "caller +1 510 555 0100 asked for a refund".into(),
                format!("caller {phone} asked for a refund"),
            ),
            (
                "call +1 (510) 555-0100, or +1.510.555.0100".into(),
                format!("call {phone}, or {phone}"),
            ),
            (
                "retry in +5 s, 2 of 3".into(),
                "retry in +5 s, 2 of 3".into(),
            ),
        ] {
            assert_eq!(p.text(&input), want, "{input}");
        }
    }

    #[test]
    fn actions_in_text() {
        let config = |action| PrivacyConfig {
            patterns: vec![PatternRule {
                name: "phone".into(),
                regex: r"\+[0-9]{7,15}".into(),
                action,
            }],
            ..PrivacyConfig::default()
        };
        let run = |action| {
            Privacy::new(&config(action), KEY)
                .unwrap()
                .text("to +15105550100.")
                .into_owned()
        };
        assert_eq!(run(Action::Drop), "to .");
        assert_eq!(run(Action::Mask), "to ***.");
        assert!(run(Action::Pseudonymise).starts_with("to anon:"));
    }

    #[test]
    fn fields_values_and_labels() {
        let p = policy();
        let mut payload = json!({
            "event": "participant_joined",
            "room": {"name": "support-+15105550100"},
            "participant": {"identity": "sip_caller_42", "name": "Jane Doe",
                "attributes": {"sip.phoneNumber": "+15105550100", "sip.callID": "SCL_1"}},
        });
        p.value(&mut payload);
        assert_eq!(
            payload["participant"]["identity"],
            json!(p.token("sip_caller_42"))
        );
        assert_eq!(payload["participant"]["name"], json!(p.token("Jane Doe")));
        let phone = p.token("+15105550100");
        assert_eq!(
            payload["participant"]["attributes"]["sip.phoneNumber"],
            json!(phone)
        );
        assert_eq!(
            payload["participant"]["attributes"]["sip.callID"],
            json!("SCL_1")
        );
        assert_eq!(payload["room"]["name"], json!(format!("support-{phone}")));
        assert_eq!(payload["event"], json!("participant_joined"));

        let dropping = Privacy::new(
            &PrivacyConfig {
                fields: vec![FieldRule {
                    name: "caller".into(),
                    action: Action::Drop,
                }],
                ..PrivacyConfig::default()
            },
            KEY,
        )
        .unwrap();
        let mut fields = BTreeMap::from([
            ("caller".to_string(), json!("+15105550100")),
            ("queue".to_string(), json!("stt")),
        ]);
        dropping.fields(&mut fields);
        assert_eq!(
            fields,
            BTreeMap::from([("queue".to_string(), json!("stt"))])
        );
        let mut labels = BTreeMap::from([
            ("caller".to_string(), "x".to_string()),
            ("route".to_string(), "+15105550100".to_string()),
        ]);
        dropping.labels(&mut labels);
        assert_eq!(labels, BTreeMap::from([("route".to_string(), phone)]));
    }

    #[test]
    fn client_addresses() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let p = policy();
        let pseudo = p.ip(ip).unwrap();
        assert_eq!(p.ip(ip), Some(pseudo));
        assert!(
            matches!(pseudo, IpAddr::V6(v6) if v6.octets()[0] == 0xfd),
            "{pseudo}"
        );
        assert_ne!(p.ip("203.0.113.8".parse().unwrap()), Some(pseudo));
        let with = |client_ips| {
            Privacy::new(
                &PrivacyConfig {
                    client_ips,
                    ..PrivacyConfig::default()
                },
                KEY,
            )
            .unwrap()
        };
        assert_eq!(with(Action::Drop).ip(ip), None);
        assert_eq!(with(Action::Keep).ip(ip), Some(ip));
        assert_eq!(
            with(Action::Mask).ip(ip),
            Some("203.0.113.0".parse().unwrap())
        );
        assert_eq!(
            with(Action::Mask).ip("2001:db8:1:2::7".parse().unwrap()),
            Some("2001:db8:1::".parse().unwrap())
        );
        assert_eq!(Privacy::disabled().ip(ip), Some(ip));
        // A field named `ip` names the client as its events do.
        assert_eq!(
            p.named("ip", "203.0.113.7").as_deref(),
            Some(&*pseudo.to_string())
        );
    }

    #[test]
    fn config_errors() {
        let config = PrivacyConfig {
            key: Some(Secret::new("short")),
            patterns: vec![
                PatternRule {
                    name: "a".into(),
                    regex: "(".into(),
                    action: Action::Mask,
                },
                PatternRule {
                    name: "a".into(),
                    regex: "x*".into(),
                    action: Action::Mask,
                },
            ],
            ..PrivacyConfig::default()
        };
        let keys: Vec<String> = config.validate().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "key",
                "patterns[0].regex",
                "patterns[1].name",
                "patterns[1].regex"
            ]
        );
        let err = Privacy::new(&config, KEY).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("privacy.key: must be at least 16 bytes"),
            "{err}"
        );
        assert!(!err.to_string().contains("short"), "{err}");
        assert!(Privacy::new(&PrivacyConfig::default(), b"short").is_err());
    }
}
