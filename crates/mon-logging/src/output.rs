//! How console lines are written: [`resolve_format`] picks JSON or human-readable output.

use crate::{LogFormat, LoggingConfig};

/// The output format once `auto` is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line, the schema of docs/logging.md.
    Json,
    /// One human-readable line per event.
    Pretty,
}

/// Decides the format: `json` and `pretty` are taken as given; `auto` is JSON when
/// the environment variable `ENVIRONMENT` is `production` (or `prod`, any case),
/// human-readable otherwise.
pub fn resolve_format(config: &LoggingConfig, env: &dyn Fn(&str) -> Option<String>) -> Format {
    match config.format {
        LogFormat::Json => Format::Json,
        LogFormat::Pretty => Format::Pretty,
        LogFormat::Auto => {
            let environment = env("ENVIRONMENT").unwrap_or_default();
            let environment = environment.trim();
            if environment.eq_ignore_ascii_case("production")
                || environment.eq_ignore_ascii_case("prod")
            {
                Format::Json
            } else {
                Format::Pretty
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_json_in_production_only() {
        let config = |format| LoggingConfig {
            format,
            ..LoggingConfig::default()
        };
        let env = |value: &'static str| {
            move |name: &str| (name == "ENVIRONMENT").then(|| value.to_string())
        };
        for (format, environment, want) in [
            (LogFormat::Auto, "production", Format::Json),
            (LogFormat::Auto, "Production", Format::Json),
            (LogFormat::Auto, "prod", Format::Json),
            (LogFormat::Auto, "staging", Format::Pretty),
            (LogFormat::Auto, "", Format::Pretty),
            (LogFormat::Json, "development", Format::Json),
            (LogFormat::Pretty, "production", Format::Pretty),
        ] {
            assert_eq!(
                resolve_format(&config(format), &env(environment)),
                want,
                "{format:?} {environment}"
            );
        }
        assert_eq!(
            resolve_format(&config(LogFormat::Auto), &|_| None),
            Format::Pretty
        );
    }
}
