//! mon-config: the `mon.yaml` schema and its loading — file, `${VAR}` substitution,
//! `MON__SECTION__KEY` environment overrides, the built-in default, and validation
//! that reports every problem at once with file, line:column and key path.
//!
//! It sits above the middle crates (it embeds their config structs) and below the
//! binaries: `mon-server` runs what it loads, `mon config check` only validates.
//!
//! ```
//! let config = mon_config::Config::builtin().expect("the built-in default is valid");
//! assert_eq!(config.server.listen.to_string(), "127.0.0.1:8480");
//! ```

mod error;
mod livekit;
mod locate;
mod overrides;
mod schema;
mod substitute;

pub use error::{ConfigError, ConfigErrors};
pub use livekit::{LivekitConfig, LivekitWebhookConfig};
pub use schema::{
    AuthConfig, Config, LimitsConfig, MetricsConfig, Role, ServerConfig, StorageConfig, TokenConfig,
};

use locate::Positions;
use std::path::Path;

/// The configuration `mon-server` runs when it is given no file.
pub const BUILTIN_YAML: &str = include_str!("builtin.yaml");

/// Where a configuration's environment comes from: `${VAR}` look-ups and `MON__*` overrides.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: Vec<(String, String)>,
}

impl Environment {
    /// The process environment.
    pub fn from_process() -> Self {
        Environment {
            vars: std::env::vars().collect(),
        }
    }

    /// A given set of variables (for tests and tools).
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Environment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn overrides(&self) -> Vec<(String, String)> {
        let mut vars: Vec<_> = self
            .vars
            .iter()
            .filter(|(k, _)| k.starts_with(overrides::PREFIX))
            .cloned()
            .collect();
        vars.sort();
        vars
    }
}

impl Config {
    /// The built-in default, with no environment applied.
    pub fn builtin() -> Result<Config, ConfigErrors> {
        load_text(BUILTIN_YAML, "<built-in default>", &Environment::default())
    }

    /// Loads `path` (or the built-in default when `None`) with the given environment.
    pub fn load(path: Option<&Path>, env: &Environment) -> Result<Config, ConfigErrors> {
        match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigErrors::unreadable(path, &e))?;
                load_text(&text, &path.display().to_string(), env)
            }
            None => load_text(BUILTIN_YAML, "<built-in default>", env),
        }
    }
}

/// Loads configuration text; `source` names it in errors.
pub fn load_text(text: &str, source: &str, env: &Environment) -> Result<Config, ConfigErrors> {
    // Before substitution (a deep file fails fast) and after (a value may add levels).
    let depth = |text: &str| match locate::too_deep(text) {
        None => Ok(()),
        Some(position) => Err(ConfigErrors::one(ConfigError {
            source: source.to_string(),
            position: Some(position),
            path: None,
            message: format!(
                "nested deeper than {} levels of mappings and lists; flatten the structure",
                locate::MAX_DEPTH
            ),
        })),
    };
    depth(text)?;
    let text = substitute::substitute(text, source, &|name| env.get(name)).map_err(ConfigErrors)?;
    depth(&text)?;
    let positions = Positions::of(&text);
    let parse_error =
        |e: serde_yaml_ng::Error| ConfigErrors::one(yaml_error(&e, source, &positions));

    // The file alone first, so that its errors carry line:column.
    let mut config: Config = if text.trim().is_empty() {
        serde_yaml_ng::from_str("{}").map_err(parse_error)?
    } else {
        serde_yaml_ng::from_str(&text).map_err(parse_error)?
    };

    let overrides = env.overrides();
    if !overrides.is_empty() {
        let mut tree: serde_yaml_ng::Value = if text.trim().is_empty() {
            serde_yaml_ng::Value::Mapping(Default::default())
        } else {
            serde_yaml_ng::from_str(&text).map_err(parse_error)?
        };
        let errors = overrides::apply(&mut tree, &overrides);
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        config = serde_yaml_ng::from_value(tree).map_err(|e| {
            let names: Vec<&str> = overrides.iter().map(|(k, _)| k.as_str()).collect();
            ConfigErrors::one(ConfigError {
                source: "<environment>".to_string(),
                position: None,
                path: None,
                message: format!("after applying {}: {}", names.join(", "), e),
            })
        })?;
    }

    let errors: Vec<ConfigError> = config
        .validate()
        .into_iter()
        .map(|(path, message)| ConfigError {
            source: source.to_string(),
            position: positions.find(&path),
            path: Some(path),
            message,
        })
        .collect();
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Turns a YAML/serde error into a [`ConfigError`] with the key path split out and,
/// for a field serde named (unknown or missing), the position of that field.
fn yaml_error(e: &serde_yaml_ng::Error, source: &str, positions: &Positions) -> ConfigError {
    let text = e.to_string();
    // serde_yaml_ng writes "path: message at line L column C".
    let without_location = match text.rfind(" at line ") {
        Some(i) if e.location().is_some() => &text[..i],
        _ => text.as_str(),
    };
    let (mut path, message) = match without_location.split_once(": ") {
        Some((path, message)) if looks_like_path(path) => {
            (Some(path.to_string()), message.to_string())
        }
        _ => (None, without_location.to_string()),
    };
    let mut position = e.location().map(|l| (l.line(), l.column()));
    // Inside a flattened section (a check's kind fields) serde names only the parent.
    if let Some(child) = path
        .as_deref()
        .and_then(|p| positions.child_with_value(p, &message))
    {
        position = positions.find(&child).or(position);
        path = Some(child);
    }
    if let Some(field) = message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next())
    {
        let full = match &path {
            Some(p) => format!("{p}.{field}"),
            None => field.to_string(),
        };
        position = positions.find(&full).or(position);
        path = Some(full);
    }
    ConfigError {
        source: source.to_string(),
        position,
        path,
        message,
    }
}

fn looks_like_path(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(' ')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.[]-".contains(c))
}

#[cfg(test)]
mod tests;
