//! [`Config::show`]: the configuration as it may be displayed (`mon config show`),
//! every secret `***`.

use crate::Config;
use mon_core::Kinds;
use serde_json::Value;

impl Config {
    /// The configuration as it may be shown, by mon's one policy:
    ///
    /// - each check's and channel's own fields are shown by their kind in `kinds`
    ///   ([`Kinds::show_check`]): read as the kind's config struct and written back,
    ///   so its [`Secret`](mon_core::Secret) fields are `***`, whatever their name;
    /// - then, everywhere: values under secret-named keys
    ///   ([`mon_logging::Masker::is_secret_name`]) and every header value become `***`;
    ///   text goes through the masker of `logging.mask_patterns` (token patterns, URLs
    ///   via [`mon_core::redact_url`]); and any value that came from a `${VAR}` is
    ///   `***` wherever it occurs.
    ///
    /// The error (a bad mask pattern, a value that cannot be written) holds no value.
    pub fn show(&self, kinds: &Kinds) -> Result<Value, String> {
        let mut shown = self.clone();
        for check in &mut shown.checks {
            check.kind = kinds.show_check(&check.kind);
        }
        for channel in &mut shown.alerting.channels {
            channel.kind = kinds.show_channel(&channel.kind);
        }
        let mut value = serde_json::to_value(&shown)
            .map_err(|e| format!("cannot render the configuration: {e}"))?;
        let masker =
            mon_logging::Masker::new(&self.logging.mask_patterns).map_err(|e| e.to_string())?;
        let substituted: Vec<&str> = self.substituted_values().collect();
        mask(&mut value, false, &masker, &substituted);
        Ok(value)
    }
}

/// Masks `value` for display, by mon's one policy: values under secret-named keys
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
    use crate::{Environment, builtin_kinds, load_text, load_text_with};
    use mon_core::Secret;
    use serde_json::json;
    use std::sync::Arc;

    /// Every planted secret starts with this.
    const MARK: &str = "PLNT";

    /// `config` shown with `kinds`, as JSON text.
    fn shown(config: &Config, kinds: &Kinds) -> String {
        config.show(kinds).unwrap().to_string()
    }

    #[test]
    fn every_builtin_kind_shows_its_secrets_as_stars() {
        let yaml = r#"
checks:
  - { name: api, type: http, url: "http://u:PLNThttpPw@127.0.0.1:1/?token=PLNThttpQuery",
      headers: { Authorization: Bearer PLNThttpBearer } }
  - { name: cache, type: redis, url: "redis://:PLNTredisPw@127.0.0.1:1/0" }
  - { name: db, type: postgres, url: "postgres://mon:PLNTpgPw@127.0.0.1:1/x" }
  - { name: my, type: mysql, url: "mysql://mon:PLNTmysqlPw@127.0.0.1:1/x" }
  - { name: lk, type: livekit, url: "http://127.0.0.1:1", api_key: APIkey, api_secret: PLNTlkSecret }
  - { name: sb, type: supabase, url: "https://x.supabase.co", api_key: PLNTsupabaseKey }
  - { name: rw, type: railway, project_id: p-1, token: PLNTrailwayToken }
alerting:
  channels:
    - { name: hook, type: webhook, url: "http://127.0.0.1:1/h?token=PLNThookQuery",
        secret: PLNThookSecret, headers: { X-Token: PLNThookHeader } }
    - { name: slack, type: slack, webhook_url: "http://127.0.0.1:1/services/T0/B0/PLNTslack" }
    - { name: pager, type: pagerduty, routing_key: PLNTpagerKey }
    - { name: mail, type: email, host: 127.0.0.1, port: 25, tls: none, username: mon,
        password: PLNTmailPw, from: mon@example.com, to: [ops@example.com] }
    - { name: am, type: alertmanager, urls: ["http://am:PLNTamPw@127.0.0.1:1"] }
"#;
        let config = load_text(yaml, "mon.yaml", &Environment::default()).unwrap();
        let text = shown(&config, &builtin_kinds());
        assert!(!text.contains(MARK), "{text}");
        let value = config.show(&builtin_kinds()).unwrap();
        let channels = &value["alerting"]["channels"];
        assert_eq!(channels[2]["routing_key"], "***", "{text}");
        assert_eq!(channels[1]["webhook_url"], "***", "{text}");
        assert_eq!(channels[3]["password"], "***", "{text}");
        assert_eq!(channels[3]["username"], "mon", "{text}");
        assert_eq!(value["checks"][4]["api_secret"], "***", "{text}");
        assert_eq!(value["checks"][5]["api_key"], "***", "{text}");
        assert_eq!(value["checks"][6]["token"], "***", "{text}");
        // Without the kinds' config structs, a secret under a plain name would show.
        let raw = shown(&config, &Kinds::new());
        assert!(raw.contains("PLNTpagerKey"), "{raw}");
    }

    /// The fields of a kind from another crate.
    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PagerConfig {
        target: String,
        key: Secret,
    }

    /// A channel kind registered with `channel_kind_of`, one with `channel_kind`.
    fn extension_kinds() -> Kinds {
        let mut kinds = builtin_kinds();
        let factory: mon_core::ChannelFactory = Arc::new(|spec| {
            let _: PagerConfig = spec.parse()?;
            Ok(Arc::new(mon_alerting::channels::log::LogNotifier::new(
                spec.name,
            )))
        });
        kinds.channel_kind_of::<PagerConfig>("pager2", factory);
        kinds.channel_kind(
            "untyped",
            Arc::new(|spec| {
                Ok(Arc::new(mon_alerting::channels::log::LogNotifier::new(
                    spec.name,
                )))
            }),
        );
        kinds
    }

    #[test]
    fn an_extension_kind_shows_its_secret_fields_as_stars() {
        let yaml = "alerting:\n  channels:\n\
            \x20   - { name: p, type: pager2, target: ops, key: PLNTextKey }\n\
            \x20   - { name: u, type: untyped, note: PLNTnote, password: PLNTuntypedPw }\n";
        let kinds = extension_kinds();
        let mut config = load_text_with(yaml, "mon.yaml", &Environment::default(), &kinds).unwrap();
        // Fields its config struct refuses (only possible for a config built in code).
        let bad = json!({"target": "ops", "key": "PLNTbadKey", "extra": 1});
        config
            .alerting
            .channels
            .push(mon_alerting::ChannelConfig::new(
                "b",
                mon_core::KindSpec::new("pager2", bad),
            ));
        let value = config.show(&kinds).unwrap();
        let channels = value["alerting"]["channels"].as_array().unwrap();
        let shown = |name: &str| channels.iter().find(|c| c["name"] == name).unwrap();
        assert_eq!(shown("p")["key"], "***", "{value}");
        assert_eq!(shown("p")["target"], "ops", "{value}");
        // Registered without a config struct, or not parsing: masked by name only.
        assert_eq!(shown("u")["password"], "***", "{value}");
        assert_eq!(shown("u")["note"], "PLNTnote", "{value}");
        assert_eq!(shown("b")["extra"], 1, "{value}");
        assert_eq!(shown("b")["key"], "PLNTbadKey", "{value}");
    }

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
