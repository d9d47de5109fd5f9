//! The seeds' environment variables on the built-in default: when mon-server runs
//! without `-c`, `LIVEKIT_URL`, `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`,
//! `ALERT_WEBHOOK_URL`, `SLACK_WEBHOOK_URL` and `LOG_DIR` add what they name to it. A
//! configuration file is not changed by them (write `${VAR}` in it instead).
//!
//! Each value enters as a `${VAR}` reference, so it goes through the same substitution as
//! a file's: secrets become [`Secret`](mon_core::Secret)s and are written `***` in errors.

use crate::{ConfigError, Environment};
use serde_yaml_ng::{Mapping, Value};

/// The variables this module reads, in the order they are documented.
pub const SEED_VARIABLES: &[&str] = &[
    "LIVEKIT_URL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "ALERT_WEBHOOK_URL",
    "SLACK_WEBHOOK_URL",
    "LOG_DIR",
];

/// The source name of errors about the seeds' variables.
const SOURCE: &str = "<environment>";

fn error(message: String) -> ConfigError {
    ConfigError {
        source: SOURCE.to_owned(),
        position: None,
        path: None,
        message,
        unknown_kind: None,
    }
}

/// A YAML mapping of `(key, value)` pairs.
fn mapping<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Mapping(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect::<Mapping>(),
    )
}

/// `${NAME}`, substituted later like a file's reference.
fn reference(name: &str) -> Value {
    Value::from(format!("${{{name}}}"))
}

/// The list at `section.key` of `root`, created when absent.
fn list<'a>(root: &'a mut Value, section: &str, key: Option<&str>) -> Option<&'a mut Vec<Value>> {
    let mut node = root
        .as_mapping_mut()?
        .entry(Value::from(section))
        .or_insert(Value::Null);
    if let Some(key) = key {
        if node.is_null() {
            *node = Value::Mapping(Mapping::new());
        }
        node = node
            .as_mapping_mut()?
            .entry(Value::from(key))
            .or_insert(Value::Null);
    }
    if node.is_null() {
        *node = Value::Sequence(Vec::new());
    }
    node.as_sequence_mut()
}

/// The built-in default's text with what the seeds' variables set in `env` add:
///
/// - `LIVEKIT_URL` with `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET`: a `livekit` check
///   named `livekit` (whose key pair also verifies LiveKit webhooks);
/// - `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET` without `LIVEKIT_URL`: `livekit.webhook`;
/// - `ALERT_WEBHOOK_URL`: a `webhook` channel named `alert_webhook`;
/// - `SLACK_WEBHOOK_URL`: a `slack` channel named `slack`;
/// - `LOG_DIR`: `logging.dir`.
///
/// An empty variable counts as unset. `LIVEKIT_URL` without both keys, or one key
/// without the other, is an error naming the missing variables.
pub(crate) fn builtin_text(base: &str, env: &Environment) -> Result<String, ConfigError> {
    let set = |name: &str| env.get(name).is_some_and(|v| !v.trim().is_empty());
    if !SEED_VARIABLES.iter().any(|name| set(name)) {
        return Ok(base.to_owned());
    }
    let mut root: Value = serde_yaml_ng::from_str(base)
        .map_err(|e| error(format!("the built-in default does not parse: {e}")))?;
    let shape = |what: &str| error(format!("the built-in default has no list at {what}"));

    let (url, key, secret) = (
        set("LIVEKIT_URL"),
        set("LIVEKIT_API_KEY"),
        set("LIVEKIT_API_SECRET"),
    );
    if (url || key || secret) && !(key && secret) {
        let missing: Vec<&str> = [("LIVEKIT_API_KEY", key), ("LIVEKIT_API_SECRET", secret)]
            .into_iter()
            .filter(|(_, set)| !set)
            .map(|(name, _)| name)
            .collect();
        let given = if url {
            "LIVEKIT_URL"
        } else if key {
            "LIVEKIT_API_KEY"
        } else {
            "LIVEKIT_API_SECRET"
        };
        return Err(error(format!(
            "{given} is set but {} is not: set LIVEKIT_API_KEY and LIVEKIT_API_SECRET together \
             (with LIVEKIT_URL for a livekit check, without it for webhooks only)",
            missing.join(" and ")
        )));
    }
    let keys = || {
        [
            ("api_key", reference("LIVEKIT_API_KEY")),
            ("api_secret", reference("LIVEKIT_API_SECRET")),
        ]
    };
    if url {
        let check = mapping(
            [
                ("name", Value::from("livekit")),
                ("type", Value::from("livekit")),
                ("url", reference("LIVEKIT_URL")),
            ]
            .into_iter()
            .chain(keys()),
        );
        list(&mut root, "checks", None)
            .ok_or_else(|| shape("checks"))?
            .push(check);
    } else if key {
        let livekit = mapping([("webhook", mapping(keys()))]);
        if let Some(root) = root.as_mapping_mut() {
            root.insert(Value::from("livekit"), livekit);
        }
    }
    for (variable, name, kind, field) in [
        ("ALERT_WEBHOOK_URL", "alert_webhook", "webhook", "url"),
        ("SLACK_WEBHOOK_URL", "slack", "slack", "webhook_url"),
    ] {
        if set(variable) {
            let channel = mapping([
                ("name", Value::from(name)),
                ("type", Value::from(kind)),
                (field, reference(variable)),
            ]);
            list(&mut root, "alerting", Some("channels"))
                .ok_or_else(|| shape("alerting.channels"))?
                .push(channel);
        }
    }
    if set("LOG_DIR") {
        let root = root.as_mapping_mut().ok_or_else(|| shape("the top"))?;
        let logging = root
            .entry(Value::from("logging"))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if let Some(logging) = logging.as_mapping_mut() {
            logging.insert(Value::from("dir"), reference("LOG_DIR"));
        }
    }
    serde_yaml_ng::to_string(&root)
        .map_err(|e| error(format!("the built-in default does not encode: {e}")))
}
