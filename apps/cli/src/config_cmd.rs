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
    let masker = match mon_logging::Masker::new(&config.logging.mask_patterns) {
        Ok(masker) => masker,
        Err(e) => return Outcome::Usage(e.to_string()),
    };
    let substituted: Vec<&str> = config.substituted_values().collect();
    mask(&mut value, false, &masker, &substituted);
    match format {
        Format::Json => print_json(&value),
        Format::Table => match serde_yaml_ng::to_string(&value) {
            Ok(text) => out!("{text}"),
            Err(e) => return Outcome::Usage(format!("cannot render the configuration: {e}")),
        },
    }
    Outcome::Ok
}

/// Masks for display, by mon's one policy: values under secret-named keys
/// ([`mon_logging::Masker::is_secret_name`]) and every header value become `***`; text
/// goes through the masker (token patterns, URLs via [`mon_core::redact_url`]); and
/// any value that came from a `${VAR}` is `***` wherever it occurs.
fn mask(value: &mut Value, secret: bool, masker: &mon_logging::Masker, substituted: &[&str]) {
    let hidden = || Value::String(mon_logging::MASK.to_string());
    match value {
        Value::Object(map) => {
            let headers = secret;
            for (k, v) in map.iter_mut() {
                let secret = headers || mon_logging::Masker::is_secret_name(k);
                let secret = if v.is_object() {
                    k == "headers"
                } else {
                    secret
                };
                mask(v, secret, masker, substituted);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| mask(v, secret && !v.is_object(), masker, substituted)),
        Value::String(_) | Value::Number(_) | Value::Bool(_) if secret => *value = hidden(),
        Value::String(s) => {
            let mut text = masker.text(s).into_owned();
            for secret in substituted {
                if text == *secret {
                    text = mon_logging::MASK.to_string();
                } else if secret.chars().count() >= 3 {
                    text = text.replace(secret, mon_logging::MASK);
                }
            }
            *s = text;
        }
        Value::Number(_) | Value::Bool(_) => {
            if substituted.contains(&value.to_string().as_str()) {
                *value = hidden();
            }
        }
        Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_secret_keys_and_url_passwords() {
        let masker = mon_logging::Masker::new(&[]).unwrap();
        let mut v = json!({
            "server": {"auth": {"tokens": [{"name": "ops", "token": "abc", "role": "admin"}]}},
            "checks": [{"url": "redis://default:hunter2@127.0.0.1:6379/0", "headers": {"Authorization": "Bearer xyz", "Accept": "json"}}],
            "x_api_key": "k", "plain": "http://host/path@x",
            "hook": "https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/xyzXYZ0123456789abcdABCD",
            "from_env": "prefix-Zq9 #rest-suffix", "port": 8481
        });
        mask(&mut v, false, &masker, &["Zq9 #rest", "8481"]);
        assert_eq!(v["server"]["auth"]["tokens"][0]["token"], "***");
        assert_eq!(v["server"]["auth"]["tokens"][0]["name"], "ops");
        assert_eq!(v["server"]["auth"]["tokens"][0]["role"], "admin");
        assert_eq!(v["checks"][0]["url"], "redis://***@127.0.0.1:6379/0");
        assert_eq!(v["checks"][0]["headers"]["Authorization"], "***");
        assert_eq!(v["checks"][0]["headers"]["Accept"], "***");
        assert_eq!(v["x_api_key"], "***");
        assert_eq!(v["plain"], "http://host/path@x");
        assert_eq!(v["hook"], "https://hooks.slack.com/services/***/***/***");
        assert_eq!(v["from_env"], "prefix-***-suffix");
        assert_eq!(v["port"], "***");
    }
}
