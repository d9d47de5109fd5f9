//! Which events are written: [`build_filter`] turns `RUST_LOG`, `LOG_LEVEL` and the
//! configured level into an [`EnvFilter`].

use crate::{LoggingConfig, LoggingError};
use tracing_subscriber::EnvFilter;

/// The level used when neither the environment nor the configuration sets one.
pub const DEFAULT_LEVEL: &str = "info";

/// Builds the event filter. The first one set (and not empty) wins:
///
/// 1. `RUST_LOG`: full [`EnvFilter`] directives, as every Rust program reads them;
/// 2. `LOG_LEVEL`: a level (`INFO`, `warning`, `debug`...) or directives;
/// 3. `config.level`: the same as `LOG_LEVEL`;
/// 4. `info`.
///
/// `LOG_LEVEL` and `config.level` accept the Python level names too
/// (`WARNING`, `CRITICAL`) and reject a bare word that is not a level, which
/// `RUST_LOG` would read as a target name. `env` looks up an environment
/// variable; pass `&|name| std::env::var(name).ok()` for the real one.
pub fn build_filter(
    config: &LoggingConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<EnvFilter, LoggingError> {
    let set = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    if let Some(value) = set(env("RUST_LOG")) {
        return parse("RUST_LOG", &value, value.trim());
    }
    if let Some(value) = set(env("LOG_LEVEL")) {
        return parse("LOG_LEVEL", &value, &level_directives("LOG_LEVEL", &value)?);
    }
    if let Some(value) = set(config.level.clone()) {
        return parse(
            "logging.level",
            &value,
            &level_directives("logging.level", &value)?,
        );
    }
    parse("default", DEFAULT_LEVEL, DEFAULT_LEVEL)
}

/// Parses directives strictly: one bad directive is an error, not a silent skip.
fn parse(origin: &'static str, value: &str, directives: &str) -> Result<EnvFilter, LoggingError> {
    EnvFilter::builder()
        .parse(directives)
        .map_err(|e| LoggingError::InvalidDirective {
            origin,
            value: value.to_string(),
            reason: e.to_string(),
        })
}

/// Rewrites a `LOG_LEVEL`-style value into `EnvFilter` directives: level names
/// are normalised, and a bare word must be a level.
fn level_directives(origin: &'static str, value: &str) -> Result<String, LoggingError> {
    let invalid = |reason: String| LoggingError::InvalidDirective {
        origin,
        value: value.to_string(),
        reason,
    };
    let mut directives = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.rsplit_once('=') {
            // `target=level` or `target[span]=level`: normalise the level, let EnvFilter check the rest.
            Some((target, level)) => {
                let level = level_name(level).unwrap_or(level);
                directives.push(format!("{target}={level}"));
            }
            None => match level_name(part) {
                Some(level) => directives.push(level.to_string()),
                None => return Err(invalid(format!("{part:?} is not a level"))),
            },
        }
    }
    Ok(directives.join(","))
}

/// A level name (`warn`, `WARNING`, `critical`...) as a tracing level; `None` for
/// anything else (including `off`).
pub fn parse_level(text: &str) -> Option<tracing::Level> {
    level_name(text.trim())?.parse().ok()
}

/// The `EnvFilter` name of a level, accepting Python's names too.
fn level_name(text: &str) -> Option<&'static str> {
    Some(match text.to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" | "critical" | "fatal" => "error",
        "off" => "off",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `env` pairs plus the configured level → the filter's directives, or an error text.
    fn check(env: &[(&str, &str)], level: Option<&str>, expected: Result<&str, &str>) {
        let config = LoggingConfig {
            level: level.map(str::to_string),
            ..LoggingConfig::default()
        };
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let got = build_filter(&config, &lookup)
            .map(|f| f.to_string())
            .map_err(|e| e.to_string());
        match (&got, expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "env {env:?}, level {level:?}"),
            (Err(got), Err(want)) => {
                assert!(got.contains(want), "env {env:?}, level {level:?}: {got}")
            }
            _ => panic!("env {env:?}, level {level:?}: got {got:?}, want {expected:?}"),
        }
    }

    #[test]
    fn precedence_rust_log_then_log_level_then_config_then_info() {
        check(&[], None, Ok("info"));
        check(&[], Some("debug"), Ok("debug"));
        check(&[("LOG_LEVEL", "warn")], Some("debug"), Ok("warn"));
        check(
            &[("RUST_LOG", "trace"), ("LOG_LEVEL", "warn")],
            Some("debug"),
            Ok("trace"),
        );
        check(
            &[("RUST_LOG", "mon_store=debug")],
            Some("error"),
            Ok("mon_store=debug"),
        );
        // Empty means unset.
        check(
            &[("RUST_LOG", ""), ("LOG_LEVEL", " ")],
            Some("error"),
            Ok("error"),
        );
        check(&[], Some(""), Ok("info"));
    }

    #[test]
    fn level_names_are_normalised() {
        check(&[("LOG_LEVEL", "INFO")], None, Ok("info"));
        check(&[("LOG_LEVEL", "WARNING")], None, Ok("warn"));
        check(&[("LOG_LEVEL", "CRITICAL")], None, Ok("error"));
        check(&[], Some("Off"), Ok("off"));
        check(&[], Some("mon_store=warning"), Ok("mon_store=warn"));
        let both = build_filter(
            &LoggingConfig {
                level: Some("info, mon_store=DEBUG".into()),
                ..LoggingConfig::default()
            },
            &|_| None,
        )
        .unwrap()
        .to_string();
        assert!(
            both.contains("mon_store=debug") && both.contains("info"),
            "{both}"
        );
    }

    #[test]
    fn invalid_values_name_their_origin() {
        check(
            &[("LOG_LEVEL", "loud")],
            None,
            Err("LOG_LEVEL=\"loud\": \"loud\" is not a level"),
        );
        check(
            &[],
            Some("info,verbose"),
            Err("logging.level=\"info,verbose\": \"verbose\" is not a level"),
        );
        check(
            &[],
            Some("mon_store=loud"),
            Err("logging.level=\"mon_store=loud\""),
        );
        check(
            &[("RUST_LOG", "mon_store=loud")],
            None,
            Err("RUST_LOG=\"mon_store=loud\""),
        );
        // A bad RUST_LOG is an error even when LOG_LEVEL is fine: the user asked for it.
        check(
            &[("RUST_LOG", "=debug="), ("LOG_LEVEL", "info")],
            None,
            Err("RUST_LOG="),
        );
    }
}
