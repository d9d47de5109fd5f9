//! The registry of kinds: the name written after `type:` in `mon.yaml` → a factory
//! that turns the entry's own fields into a [`HealthCheck`] or a [`Notifier`].
//!
//! Built-in kinds and kinds from other crates are registered alike, in one
//! [`Kinds`]: a kind from an extension crate is usable from `mon.yaml` exactly
//! like a built-in one, and its field errors carry the field's path, so that the
//! configuration loader reports them at their line:column. A kind registered with
//! its config struct ([`Kinds::check_kind_of`]) is shown by it
//! ([`Kinds::show_check`]): its [`Secret`](crate::Secret) fields are `***`.
//!
//! ```
//! use mon_core::{CheckOutcome, HealthCheck, KindError, Kinds, async_trait};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct AlwaysConfig {
//!     message: String,
//!     #[serde(default)]
//!     token: mon_core::Secret,
//! }
//!
//! struct Always(String);
//!
//! #[async_trait]
//! impl HealthCheck for Always {
//!     fn kind(&self) -> &str {
//!         "always"
//!     }
//!     async fn check(&self) -> CheckOutcome {
//!         CheckOutcome::healthy(Duration::ZERO, self.0.clone())
//!     }
//! }
//!
//! let mut kinds = Kinds::new();
//! kinds.check_kind_of::<AlwaysConfig>("always", Arc::new(|spec| {
//!     let config: AlwaysConfig = spec.parse()?;
//!     if config.message.is_empty() {
//!         return Err(KindError::field("message", "must not be empty"));
//!     }
//!     Ok(Arc::new(Always(config.message)))
//! }));
//! let entry = mon_core::KindSpec::new("always", serde_json::json!({"mesage": "x"}));
//! let err = kinds.build_check(&entry, "a", Duration::from_secs(1)).err().unwrap();
//! assert_eq!(err.path.as_deref(), Some("mesage"));
//! assert!(err.message.contains("unknown field `mesage`"), "{err}");
//!
//! let entry = mon_core::KindSpec::new("always", serde_json::json!({"message": "x", "token": "t0k"}));
//! assert_eq!(kinds.show_check(&entry).fields["token"], "***");
//! ```

use crate::{HealthCheck, Notifier};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The kind part of a config entry: the name after `type:` and every other field
/// of the entry that the common part did not take (flattened into the entry).
///
/// Its `Debug` shows the field names only: values may be secrets.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct KindSpec {
    /// The kind's name, as written after `type:`.
    #[serde(rename = "type")]
    pub name: String,
    /// The kind's own fields, as written.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl KindSpec {
    /// A kind named `name` with `fields` (an object; any other value gives no fields).
    pub fn new(name: impl Into<String>, fields: Value) -> KindSpec {
        KindSpec {
            name: name.into(),
            fields: match fields {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        }
    }

    /// A kind named `name` whose fields are those `config` serializes to.
    pub fn of<T: Serialize>(name: impl Into<String>, config: &T) -> Result<KindSpec, KindError> {
        let fields = serde_json::to_value(config)
            .map_err(|e| KindError::new(format!("cannot write the fields: {e}")))?;
        Ok(KindSpec::new(name, fields))
    }

    /// The fields read as `T`; the error carries the path of the field at fault.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, KindError> {
        parse_fields(&self.fields)
    }
}

impl fmt::Debug for KindSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KindSpec")
            .field("type", &self.name)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Reads `fields` as `T`, the error naming the path of the field at fault
/// (`headers.X-Token`, `urls[1]`).
fn parse_fields<T: DeserializeOwned>(fields: &Map<String, Value>) -> Result<T, KindError> {
    // A map of values borrowed as a deserializer: `Value` owns its data, so clone.
    let value = Value::Object(fields.clone());
    serde_path_to_error::deserialize(value).map_err(|e| {
        // serde_path_to_error's path includes an unknown field's name; `.` is the top.
        let path = Some(e.path().to_string()).filter(|p| p != ".");
        let message = e.into_inner().to_string();
        KindError { path, message }
    })
}

/// Why an entry's fields cannot make a check or a channel: the field at fault
/// (relative to the entry, `url`, `headers.X-Token`), and what to write instead.
/// The message must not contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", path.as_ref().map(|p| format!("invalid `{p}`: ")).unwrap_or_default())]
pub struct KindError {
    /// The field at fault, relative to the entry; `None`: the entry as a whole.
    pub path: Option<String>,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl KindError {
    /// An error about the entry as a whole.
    pub fn new(message: impl Into<String>) -> KindError {
        KindError {
            path: None,
            message: message.into(),
        }
    }

    /// An error about the field at `path` (relative to the entry).
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> KindError {
        KindError {
            path: Some(path.into()),
            message: message.into(),
        }
    }
}

/// What a check factory is given: the common part of the check's entry, and the
/// kind's own fields.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CheckSpec<'a> {
    /// The check's name (unique; in URLs, labels and errors).
    pub name: &'a str,
    /// How long one run may take (the scheduler enforces it too).
    pub timeout: Duration,
    /// The entry's kind and own fields.
    pub kind: &'a KindSpec,
}

impl CheckSpec<'_> {
    /// The kind's fields read as `T`; the error carries the path of the field at fault.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, KindError> {
        self.kind.parse()
    }
}

/// What a channel factory is given: the common part of the channel's entry, and
/// the kind's own fields.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ChannelSpec<'a> {
    /// The channel's name (unique; its notifier's [`Notifier::name`]).
    pub name: &'a str,
    /// How long one send may take.
    pub timeout: Duration,
    /// Where mon itself is reached (`server.external_url`, no trailing `/`), for links.
    pub external_url: &'a str,
    /// `server.external_labels`: the labels that tell this instance from the others
    /// when it talks to systems several instances share (Alertmanager).
    pub external_labels: &'a BTreeMap<String, String>,
    /// The entry's kind and own fields.
    pub kind: &'a KindSpec,
}

impl ChannelSpec<'_> {
    /// The kind's fields read as `T`; the error carries the path of the field at fault.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, KindError> {
        self.kind.parse()
    }
}

/// Turns a `checks:` entry into a runnable check.
pub type CheckFactory =
    Arc<dyn Fn(&CheckSpec<'_>) -> Result<Arc<dyn HealthCheck>, KindError> + Send + Sync>;

/// Turns an `alerting.channels` entry into a notifier.
pub type ChannelFactory =
    Arc<dyn Fn(&ChannelSpec<'_>) -> Result<Arc<dyn Notifier>, KindError> + Send + Sync>;

/// How the fields of one kind are shown: read as the kind's config struct and
/// written back, so that its [`Secret`](crate::Secret) fields are `***`.
type ShowFields = fn(&KindSpec) -> Result<Map<String, Value>, KindError>;

/// [`ShowFields`] for the config struct `T`.
fn show_as<T: DeserializeOwned + Serialize>(
    spec: &KindSpec,
) -> Result<Map<String, Value>, KindError> {
    let config: T = spec.parse()?;
    KindSpec::of(spec.name.as_str(), &config).map(|shown| shown.fields)
}

/// A registered kind: its factory, and how its fields are shown (`None`: as written).
#[derive(Clone)]
struct Registered<F> {
    factory: F,
    show: Option<ShowFields>,
}

/// The registry of check kinds and channel kinds, by name.
#[derive(Clone, Default)]
pub struct Kinds {
    checks: BTreeMap<String, Registered<CheckFactory>>,
    channels: BTreeMap<String, Registered<ChannelFactory>>,
}

impl fmt::Debug for Kinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kinds")
            .field("checks", &self.checks.keys().collect::<Vec<_>>())
            .field("channels", &self.channels.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Kinds {
    /// An empty registry.
    pub fn new() -> Kinds {
        Kinds::default()
    }

    /// Registers the check kind `name` (replacing one of the same name) whose
    /// fields are the config struct `T`: [`Kinds::show_check`] shows an entry's
    /// fields as `T` serializes them, so its [`Secret`](crate::Secret) fields are `***`.
    pub fn check_kind_of<T: DeserializeOwned + Serialize>(
        &mut self,
        name: impl Into<String>,
        factory: CheckFactory,
    ) -> &mut Kinds {
        self.checks.insert(
            name.into(),
            Registered {
                factory,
                show: Some(show_as::<T>),
            },
        );
        self
    }

    /// Registers the check kind `name` (replacing one of the same name) without a
    /// config struct: its fields are shown as written ([`Kinds::show_check`]).
    /// Prefer [`Kinds::check_kind_of`] for a kind with fields.
    pub fn check_kind(&mut self, name: impl Into<String>, factory: CheckFactory) -> &mut Kinds {
        let show = None;
        self.checks
            .insert(name.into(), Registered { factory, show });
        self
    }

    /// Registers the channel kind `name` (replacing one of the same name) whose
    /// fields are the config struct `T`: [`Kinds::show_channel`] shows an entry's
    /// fields as `T` serializes them, so its [`Secret`](crate::Secret) fields are `***`.
    pub fn channel_kind_of<T: DeserializeOwned + Serialize>(
        &mut self,
        name: impl Into<String>,
        factory: ChannelFactory,
    ) -> &mut Kinds {
        self.channels.insert(
            name.into(),
            Registered {
                factory,
                show: Some(show_as::<T>),
            },
        );
        self
    }

    /// Registers the channel kind `name` (replacing one of the same name) without
    /// a config struct: its fields are shown as written ([`Kinds::show_channel`]).
    /// Prefer [`Kinds::channel_kind_of`] for a kind with fields.
    pub fn channel_kind(&mut self, name: impl Into<String>, factory: ChannelFactory) -> &mut Kinds {
        let show = None;
        self.channels
            .insert(name.into(), Registered { factory, show });
        self
    }

    /// The check entry `kind` as it may be shown: its fields read as its kind's
    /// config struct and written back ([`Secret`](crate::Secret) fields `***`,
    /// defaults filled in). A kind registered without a config struct, unknown,
    /// or whose fields do not parse, keeps its fields as written: the caller masks
    /// them by name.
    pub fn show_check(&self, kind: &KindSpec) -> KindSpec {
        show(self.checks.get(&kind.name), kind)
    }

    /// The channel entry `kind` as it may be shown; like [`Kinds::show_check`].
    pub fn show_channel(&self, kind: &KindSpec) -> KindSpec {
        show(self.channels.get(&kind.name), kind)
    }

    /// Adds every kind of `other`, replacing those of the same name.
    pub fn extend(&mut self, other: &Kinds) -> &mut Kinds {
        for (name, kind) in &other.checks {
            self.checks.insert(name.clone(), kind.clone());
        }
        for (name, kind) in &other.channels {
            self.channels.insert(name.clone(), kind.clone());
        }
        self
    }

    /// The registered check kinds, sorted.
    pub fn check_names(&self) -> impl Iterator<Item = &str> {
        self.checks.keys().map(String::as_str)
    }

    /// The registered channel kinds, sorted.
    pub fn channel_names(&self) -> impl Iterator<Item = &str> {
        self.channels.keys().map(String::as_str)
    }

    /// Builds the check `name` of the entry `kind`; an unknown kind is an error
    /// at `type` that lists the registered ones.
    pub fn build_check(
        &self,
        kind: &KindSpec,
        name: &str,
        timeout: Duration,
    ) -> Result<Arc<dyn HealthCheck>, KindError> {
        let registered = self
            .checks
            .get(&kind.name)
            .ok_or_else(|| unknown("check", &kind.name, self.check_names()))?;
        (registered.factory)(&CheckSpec {
            name,
            timeout,
            kind,
        })
    }

    /// Builds the notifier of the channel `name` of the entry `kind`; an unknown
    /// kind is an error at `type` that lists the registered ones.
    pub fn build_channel(
        &self,
        kind: &KindSpec,
        name: &str,
        timeout: Duration,
        external_url: &str,
        external_labels: &BTreeMap<String, String>,
    ) -> Result<Arc<dyn Notifier>, KindError> {
        let registered = self
            .channels
            .get(&kind.name)
            .ok_or_else(|| unknown("channel", &kind.name, self.channel_names()))?;
        (registered.factory)(&ChannelSpec {
            name,
            timeout,
            external_url,
            external_labels,
            kind,
        })
    }
}

/// `kind` as its registration shows it ([`Kinds::show_check`]).
fn show<F>(registered: Option<&Registered<F>>, kind: &KindSpec) -> KindSpec {
    let fields = registered
        .and_then(|r| r.show)
        .and_then(|show| show(kind).ok())
        .unwrap_or_else(|| kind.fields.clone());
    KindSpec {
        name: kind.name.clone(),
        fields,
    }
}

/// The error of a `type:` no kind is registered under, with a did-you-mean.
fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str>) -> KindError {
    let known: Vec<&str> = known.collect();
    let hint = crate::closest(name, known.iter().copied())
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
    KindError::field(
        "type",
        format!(
            "unknown {what} type `{name}`, expected one of {}{hint}",
            list.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CheckOutcome, async_trait};
    use serde_json::json;

    struct Fixed;

    #[async_trait]
    impl HealthCheck for Fixed {
        fn kind(&self) -> &str {
            "fixed"
        }
        async fn check(&self) -> CheckOutcome {
            CheckOutcome::healthy(Duration::ZERO, "ok")
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // Read by serde only: the test is about its errors.
    struct FixedConfig {
        port: u16,
        #[serde(default)]
        hosts: Vec<String>,
        #[serde(default)]
        limits: BTreeMap<String, u32>,
    }

    fn kinds() -> Kinds {
        let mut kinds = Kinds::new();
        kinds.check_kind(
            "fixed",
            Arc::new(|spec| {
                let _: FixedConfig = spec.parse()?;
                Ok(Arc::new(Fixed))
            }),
        );
        kinds
    }

    #[test]
    fn field_errors_name_their_path() {
        // (fields, expected path, text the message must contain)
        let cases = [
            (
                json!({"port": 1, "prot": 2}),
                Some("prot"),
                "unknown field `prot`",
            ),
            (json!({"port": "x"}), Some("port"), "invalid type"),
            (
                json!({"port": 1, "hosts": ["a", 2]}),
                Some("hosts[1]"),
                "invalid type",
            ),
            (
                json!({"port": 1, "limits": {"a": -1}}),
                Some("limits.a"),
                "invalid value",
            ),
            (json!({}), None, "missing field `port`"),
        ];
        for (fields, path, text) in cases {
            let spec = KindSpec::new("fixed", fields.clone());
            let err = kinds()
                .build_check(&spec, "c", Duration::from_secs(1))
                .err()
                .unwrap_or_else(|| panic!("{fields} was accepted"));
            assert_eq!(err.path.as_deref(), path, "{fields}: {err}");
            assert!(err.message.contains(text), "{fields}: {err}");
        }
        let ok = KindSpec::new("fixed", json!({"port": 1}));
        let check = kinds()
            .build_check(&ok, "c", Duration::from_secs(1))
            .unwrap();
        assert_eq!(check.kind(), "fixed");
    }

    #[test]
    fn an_unknown_type_lists_the_registered_ones() {
        let spec = KindSpec::new("fixd", json!({}));
        let err = kinds()
            .build_check(&spec, "c", Duration::from_secs(1))
            .err()
            .unwrap();
        assert_eq!(err.path.as_deref(), Some("type"));
        assert_eq!(
            err.message,
            "unknown check type `fixd`, expected one of `fixed`; did you mean `fixed`?"
        );
        let err = Kinds::new()
            .build_channel(
                &spec,
                "c",
                Duration::from_secs(1),
                "http://x",
                &BTreeMap::new(),
            )
            .err()
            .unwrap();
        assert!(
            err.message.starts_with("unknown channel type `fixd`"),
            "{err}"
        );
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct KeyConfig {
        key: crate::Secret,
        #[serde(default)]
        port: u16,
    }

    #[test]
    fn a_typed_kind_shows_its_secrets_as_stars_an_untyped_one_as_written() {
        let mut kinds = kinds();
        let never: ChannelFactory = Arc::new(|_| Err(KindError::new("unused")));
        kinds.channel_kind_of::<KeyConfig>("keyed", never.clone());
        let spec = KindSpec::new("keyed", json!({"key": "hunter2"}));
        let shown = kinds.show_channel(&spec);
        assert_eq!(shown.name, "keyed");
        assert_eq!(
            Value::Object(shown.fields),
            json!({"key": "***", "port": 0})
        );
        // Not parsing, registered untyped (or as another role), unknown: as written.
        let bad = KindSpec::new("keyed", json!({"key": "hunter2", "x": 1}));
        assert_eq!(kinds.show_channel(&bad), bad);
        assert_eq!(kinds.show_check(&spec), spec);
        kinds.channel_kind("keyed", never);
        assert_eq!(kinds.show_channel(&spec), spec);
        let fixed = KindSpec::new("fixed", json!({"port": 1}));
        assert_eq!(kinds.show_check(&fixed), fixed);
    }

    #[test]
    fn debug_shows_field_names_only() {
        let spec = KindSpec::new("fixed", json!({"password": "hunter2"}));
        let text = format!("{spec:?}");
        assert!(
            text.contains("password") && !text.contains("hunter2"),
            "{text}"
        );
    }
}
