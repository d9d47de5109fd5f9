//! `mon config check FILE` and `mon config show [FILE]`: local, no server needed.

use crate::output::print_json;
use crate::{Format, Outcome};
use serde_json::Value;
use std::path::Path;

fn load(file: Option<&Path>) -> Result<mon_config::Config, Outcome> {
    let env = mon_config::Environment::from_process();
    mon_config::Config::load(file, &env).map_err(|errors| {
        let count = errors.0.len();
        Outcome::Usage(format!(
            "{errors}\n{count} error{} found",
            if count == 1 { "" } else { "s" }
        ))
    })
}

pub(crate) fn check(file: &Path) -> Outcome {
    match load(Some(file)) {
        Ok(config) => {
            outln!(
                "{}: ok ({} checks, {} alert rules, {} channels)",
                file.display(),
                config.checks.len(),
                config.alerting.rules.len(),
                config.alerting.channels.len()
            );
            Outcome::Ok
        }
        Err(outcome) => outcome,
    }
}

pub(crate) fn show(file: Option<&Path>, format: Format) -> Outcome {
    let config = match load(file) {
        Ok(config) => config,
        Err(outcome) => return outcome,
    };
    let mut value = match serde_json::to_value(&config) {
        Ok(v) => v,
        Err(e) => return Outcome::Usage(format!("cannot render the configuration: {e}")),
    };
    mask(&mut value, false);
    match format {
        Format::Json => print_json(&value),
        Format::Table => match serde_yaml_ng::to_string(&value) {
            Ok(text) => out!("{text}"),
            Err(e) => return Outcome::Usage(format!("cannot render the configuration: {e}")),
        },
    }
    Outcome::Ok
}

/// Key names whose values are secrets (compared case-insensitively, `-` as `_`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "api_secret",
];

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    SECRET_KEYS
        .iter()
        .any(|s| key == *s || key.ends_with(&format!("_{s}")))
}

/// Masks values under secret-looking keys and passwords in URLs (`user:***@host`).
fn mask(value: &mut Value, secret: bool) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                mask(v, secret || is_secret_key(k));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask(v, secret)),
        Value::String(s) if secret && s != "***" => *s = "***".to_string(),
        Value::String(s) => {
            if let Some((scheme, rest)) = s.split_once("://")
                && let Some((userinfo, host)) = rest.split_once('@')
                && let Some((user, _password)) = userinfo.split_once(':')
                && !userinfo.contains('/')
            {
                *s = format!("{scheme}://{user}:***@{host}");
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_secret_keys_and_url_passwords() {
        let mut v = json!({
            "server": {"auth": {"tokens": [{"name": "ops", "token": "abc", "role": "admin"}]}},
            "checks": [{"url": "redis://default:hunter2@127.0.0.1:6379/0", "headers": {"Authorization": "Bearer xyz", "Accept": "json"}}],
            "x_api_key": "k", "plain": "http://host/path@x"
        });
        mask(&mut v, false);
        assert_eq!(v["server"]["auth"]["tokens"][0]["token"], "***");
        assert_eq!(v["server"]["auth"]["tokens"][0]["name"], "ops");
        assert_eq!(
            v["checks"][0]["url"],
            "redis://default:***@127.0.0.1:6379/0"
        );
        assert_eq!(v["checks"][0]["headers"]["Authorization"], "***");
        assert_eq!(v["checks"][0]["headers"]["Accept"], "json");
        assert_eq!(v["x_api_key"], "***");
        assert_eq!(v["plain"], "http://host/path@x");
    }
}
