//! `MON__SECTION__KEY=value` environment overrides, applied onto the parsed YAML tree.

use crate::error::ConfigError;
use serde_yaml_ng::{Mapping, Value};

/// The prefix of override variables.
pub(crate) const PREFIX: &str = "MON__";

/// Applies every `MON__A__B__C=value` in `vars` to `root` (keys lowercased; a number
/// indexes a list: `MON__CHECKS__0__URL`). The value is read as a YAML scalar or
/// flow collection (`true`, `10`, `[a, b]`), falling back to plain text.
pub(crate) fn apply(root: &mut Value, vars: &[(String, String)]) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for (name, raw) in vars {
        let Some(path) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let segments: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        if segments.iter().any(String::is_empty) {
            errors.push(error(
                name,
                "empty key segment (use `__` only between keys)".into(),
            ));
            continue;
        }
        let value = parse_value(raw);
        if let Err(message) = set(root, &segments, value) {
            errors.push(error(name, message));
        }
    }
    errors
}

fn parse_value(raw: &str) -> Value {
    if raw.is_empty() || crate::locate::too_deep(raw).is_some() {
        return Value::String(raw.to_string());
    }
    match serde_yaml_ng::from_str::<Value>(raw) {
        Ok(Value::Mapping(_)) | Err(_) => Value::String(raw.to_string()),
        Ok(value) => value,
    }
}

fn set(node: &mut Value, segments: &[String], value: Value) -> Result<(), String> {
    let Some((head, rest)) = segments.split_first() else {
        *node = value;
        return Ok(());
    };
    if node.is_null() {
        *node = Value::Mapping(Mapping::new());
    }
    match node {
        Value::Mapping(map) => {
            let key = Value::String(head.clone());
            if !map.contains_key(&key) {
                map.insert(key.clone(), Value::Null);
            }
            let child = map
                .get_mut(&key)
                .ok_or_else(|| format!("cannot set `{head}`"))?;
            set(child, rest, value)
        }
        Value::Sequence(items) => {
            let index: usize = head
                .parse()
                .map_err(|_| format!("`{head}` is not a list index (the key here holds a list)"))?;
            if index == items.len() {
                items.push(Value::Null);
            }
            let len = items.len();
            let child = items.get_mut(index).ok_or_else(|| {
                format!("list index {index} is out of range (the list has {len} entries)")
            })?;
            set(child, rest, value)
        }
        _ => Err(format!("cannot set `{head}` inside a plain value")),
    }
}

fn error(name: &str, message: String) -> ConfigError {
    ConfigError {
        source: "<environment>".to_string(),
        position: None,
        path: Some(name.to_string()),
        message,
        unknown_kind: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(yaml: &str, vars: &[(&str, &str)]) -> (Value, Vec<String>) {
        let mut root: Value = serde_yaml_ng::from_str(yaml).unwrap();
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let errors = apply(&mut root, &vars)
            .iter()
            .map(ToString::to_string)
            .collect();
        (root, errors)
    }

    #[test]
    fn overrides_nested_keys_and_list_items() {
        let (root, errors) = run(
            "server:\n  listen: 127.0.0.1:8480\nchecks:\n  - name: a\n    interval: 10s\n",
            &[
                ("MON__SERVER__LISTEN", "127.0.0.1:9999"),
                ("MON__CHECKS__0__INTERVAL", "5s"),
                ("MON__CHECKS__0__CRITICAL", "false"),
                ("MON__STORAGE__PATH", "/tmp/x.db"),
                ("OTHER", "ignored"),
            ],
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            root["server"]["listen"],
            Value::String("127.0.0.1:9999".into())
        );
        assert_eq!(root["checks"][0]["interval"], Value::String("5s".into()));
        assert_eq!(root["checks"][0]["critical"], Value::Bool(false));
        assert_eq!(root["storage"]["path"], Value::String("/tmp/x.db".into()));
    }

    #[test]
    fn bad_paths_name_the_variable() {
        let (_, errors) = run(
            "checks:\n  - name: a\nserver:\n  listen: x\n",
            &[
                ("MON__CHECKS__5__NAME", "b"),
                ("MON__CHECKS__X", "1"),
                ("MON__SERVER__LISTEN__PORT", "1"),
                ("MON____A", "1"),
            ],
        );
        assert_eq!(
            errors,
            [
                "<environment>: MON__CHECKS__5__NAME: list index 5 is out of range (the list has 1 entries)",
                "<environment>: MON__CHECKS__X: `x` is not a list index (the key here holds a list)",
                "<environment>: MON__SERVER__LISTEN__PORT: cannot set `port` inside a plain value",
                "<environment>: MON____A: empty key segment (use `__` only between keys)",
            ]
        );
    }
}
