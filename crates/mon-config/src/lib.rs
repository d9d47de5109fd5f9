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

mod check;
mod error;
mod livekit;
mod locate;
mod overrides;
mod reports;
mod schema;
mod seed_env;
mod show;
mod substitute;

pub use check::check;
pub use error::{ConfigError, ConfigErrors};
pub use livekit::{LivekitConfig, LivekitWebhookConfig};
pub use reports::{ReportSchedule, ReportsConfig};
pub use schema::{
    AuthConfig, Config, LimitsConfig, MetricsAccess, MetricsConfig, Role, ServerConfig,
    StorageConfig, TokenConfig,
};
pub use seed_env::SEED_VARIABLES;

use locate::Positions;
use mon_core::Kinds;
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

/// The built-in check kinds (mon-health) and channel kinds (mon-alerting), in one
/// registry: what `mon-server` and the `mon` CLI know without extensions.
pub fn builtin_kinds() -> Kinds {
    let mut kinds = mon_health::check_kinds();
    kinds.extend(&mon_alerting::channel_kinds());
    kinds
}

impl Config {
    /// The built-in default, with no environment applied.
    pub fn builtin() -> Result<Config, ConfigErrors> {
        load_text(BUILTIN_YAML, "<built-in default>", &Environment::default())
    }

    /// Loads `path` (or the built-in default when `None`, with what the seeds'
    /// environment variables add to it: [`SEED_VARIABLES`]) with the given
    /// environment; checks and channels may be of the [built-in kinds](builtin_kinds).
    pub fn load(path: Option<&Path>, env: &Environment) -> Result<Config, ConfigErrors> {
        Config::load_with(path, env, &builtin_kinds())
    }

    /// Like [`Config::load`], checks and channels built (to validate them) with
    /// their kind's factory in `kinds`: an unknown `type:` or a bad field of any
    /// kind, built-in or not, is an error at its line:column.
    pub fn load_with(
        path: Option<&Path>,
        env: &Environment,
        kinds: &Kinds,
    ) -> Result<Config, ConfigErrors> {
        match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigErrors::unreadable(path, &e))?;
                load_text_with(&text, &path.display().to_string(), env, kinds)
            }
            None => {
                let text = seed_env::builtin_text(BUILTIN_YAML, env).map_err(ConfigErrors::one)?;
                load_text_with(&text, "<built-in default>", env, kinds)
            }
        }
    }
}

/// Loads configuration text with the [built-in kinds](builtin_kinds); `source` names it in errors.
///
/// No error text carries a secret: URLs in messages are shown through
/// [`mon_core::redact_urls`], and every value that came from the environment (a
/// `${VAR}` or a `MON__*` override) is written `***`.
pub fn load_text(text: &str, source: &str, env: &Environment) -> Result<Config, ConfigErrors> {
    load_text_with(text, source, env, &builtin_kinds())
}

/// Like [`load_text`], with the check and channel kinds of `kinds`.
pub fn load_text_with(
    text: &str,
    source: &str,
    env: &Environment,
    kinds: &Kinds,
) -> Result<Config, ConfigErrors> {
    let mut secrets: Vec<String> = env.overrides().into_iter().map(|(_, v)| v).collect();
    load_unscrubbed(text, source, env, kinds, &mut secrets).map_err(|errors| {
        ConfigErrors(
            errors
                .into_iter()
                .map(|mut e| {
                    e.message = scrub(&e.message, &secrets);
                    e
                })
                .collect(),
        )
    })
}

/// `message` with URLs redacted and every value in `secrets` (of at least 3
/// characters, so a `1` does not blank every number) replaced by `***`.
fn scrub(message: &str, secrets: &[String]) -> String {
    let mut message = mon_core::redact_urls(message).into_owned();
    for secret in secrets.iter().filter(|s| s.chars().count() >= 3) {
        message = message.replace(secret.as_str(), "***");
    }
    message
}

fn load_unscrubbed(
    text: &str,
    source: &str,
    env: &Environment,
    kinds: &Kinds,
    secrets: &mut Vec<String>,
) -> Result<Config, Vec<ConfigError>> {
    // Before substitution (a deep file fails fast) and after (a value may add levels).
    let depth = |text: &str| match locate::too_deep(text) {
        None => Ok(()),
        Some(position) => Err(vec![ConfigError {
            source: source.to_string(),
            position: Some(position),
            path: None,
            message: format!(
                "nested deeper than {} levels of mappings and lists; flatten the structure",
                locate::MAX_DEPTH
            ),
            unknown_kind: None,
        }]),
    };
    depth(text)?;
    let substitute::Substituted { text, values } =
        substitute::substitute(text, source, &|name| env.get(name))?;
    depth(&text)?;
    secrets.extend(values.iter().cloned());
    let positions = Positions::of(&text);
    let parse_error = |e: serde_yaml_ng::Error| vec![yaml_error(&e, source, &positions)];

    // A file that sets nothing is a mistake (a wrong path, a truncated deploy), not a
    // request for the defaults: the built-in default is what runs without `-c`.
    let has_content =
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text).map_or(true, |v| !v.is_null());
    if !has_content {
        return Err(vec![ConfigError {
            source: source.to_string(),
            position: None,
            path: None,
            message: "the configuration file is empty (or only comments): write at least one \
                      section, or run without `-c` for the built-in default"
                .to_string(),
            unknown_kind: None,
        }]);
    }
    // The file alone first, so that its errors carry line:column.
    let mut config: Config = serde_yaml_ng::from_str(&text).map_err(|e| {
        // serde stops at the first problem: find the others too.
        let mut errors = parse_error(e);
        for error in every_parse_error(&text, source, &positions, kinds) {
            if !errors.contains(&error) {
                errors.push(error);
            }
        }
        errors.sort_by_key(|e| e.position);
        errors
    })?;

    let overrides = env.overrides();
    if !overrides.is_empty() {
        let mut tree: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).map_err(parse_error)?;
        let errors = overrides::apply(&mut tree, &overrides);
        if !errors.is_empty() {
            return Err(errors);
        }
        config = serde_yaml_ng::from_value(tree).map_err(|e| {
            let names: Vec<&str> = overrides.iter().map(|(k, _)| k.as_str()).collect();
            vec![ConfigError {
                source: "<environment>".to_string(),
                position: None,
                path: None,
                message: format!("after applying {}: {}", names.join(", "), e),
                unknown_kind: None,
            }]
        })?;
    }
    config.substituted = values.into_iter().map(mon_core::Secret::new).collect();

    let mut errors = validation_errors(&config, source, &positions, kinds);
    // In file order, as the parse errors are.
    errors.sort_by_key(|e| e.position);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// At most this many problems are collected from one file.
const MAX_PARSE_ERRORS: usize = 50;

/// The problems serde meets reading `text`, beyond the first: each top-level section is
/// read alone, and in each, the entry at fault (its line and the lines indented under it)
/// is left empty and the section read again, until it reads or the fault is a list item
/// (leaving it out would renumber the items after it) or a field missing after one was
/// emptied. Lines are never removed, only
/// emptied, so every line:column stays that of the file. A section that reads has
/// its checks and channels built with `kinds`: their fields are read by their
/// kind's factory, not by serde.
fn every_parse_error(
    text: &str,
    source: &str,
    positions: &Positions,
    kinds: &Kinds,
) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let sections = sections_alone(text);
    let sections = if sections.is_empty() {
        vec![text.to_string()]
    } else {
        sections
    };
    // The sections that read (with their faulty entries emptied), for the whole-file
    // validation below; a section that does not read is left out of it.
    let mut readable: Vec<String> = Vec::new();
    for section in sections {
        match read_section(section, &mut errors, source, positions, kinds) {
            Ok(section) => readable.push(section),
            // A fault in a list item: each key of the section alone, so that a bad
            // route does not hide a bad channel. Their checks and channels are
            // validated; the whole-file validation leaves the section out.
            Err(section) => {
                for part in subsections(&section) {
                    let _ = read_section(part, &mut errors, source, positions, kinds);
                }
            }
        }
    }
    for error in readable_errors(&readable, source, positions, kinds) {
        if !errors.contains(&error) {
            errors.push(error);
        }
    }
    errors
}

/// Reads `section` (the file with other lines emptied), adding its problems to
/// `errors`: `Ok` with the faulty entries emptied when it then reads, else `Err` with
/// those emptied so far.
fn read_section(
    mut section: String,
    errors: &mut Vec<ConfigError>,
    source: &str,
    positions: &Positions,
    kinds: &Kinds,
) -> Result<String, String> {
    let mut emptied = false;
    while errors.len() < MAX_PARSE_ERRORS {
        let e = match serde_yaml_ng::from_str::<Config>(&section) {
            Ok(config) => {
                errors.extend(kind_errors(&config, source, positions, kinds));
                return Ok(section);
            }
            Err(e) => e,
        };
        let error = yaml_error(&e, source, positions);
        // A field missing now may be one this loop emptied: a consequence, not news.
        if emptied && error.message.starts_with("missing field") {
            break;
        }
        let line = error.position.map(|(line, _)| line);
        let known = errors.contains(&error);
        if !known {
            errors.push(error);
        }
        match line.and_then(|line| without_entry(&section, line)) {
            Some(rest) if !known => {
                section = rest;
                emptied = true;
            }
            _ => break,
        }
    }
    Err(section)
}

/// A top-level section once per key under it (`alerting.channels`, `alerting.routes`),
/// the section's own line kept and every other line emptied; empty when it has fewer
/// than two keys.
fn subsections(section: &str) -> Vec<String> {
    let lines: Vec<&str> = section.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_key = |l: &str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with(['-', '#']) && t.contains(':')
    };
    let Some(header) = lines.iter().position(|l| is_key(l) && indent(l) == 0) else {
        return Vec::new();
    };
    // The section's own keys: the least indented lines under it; none for a list.
    let body: Vec<&str> = lines[header + 1..]
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let Some(child) = body.iter().map(|l| indent(l)).min() else {
        return Vec::new();
    };
    if child == 0 || body.iter().any(|l| indent(l) == child && !is_key(l)) {
        return Vec::new();
    }
    let starts: Vec<usize> = (header + 1..lines.len())
        .filter(|&i| is_key(lines[i]) && indent(lines[i]) == child)
        .collect();
    one_text_per_start(&lines, &starts, Some(header))
}

/// One text per run of lines from each start to the next (the last to the end), with
/// `header` kept in each; empty when there are fewer than two starts.
fn one_text_per_start(lines: &[&str], starts: &[usize], header: Option<usize>) -> Vec<String> {
    if starts.len() < 2 {
        return Vec::new();
    }
    starts
        .iter()
        .enumerate()
        .map(|(n, &start)| {
            let end = starts.get(n + 1).copied().unwrap_or(lines.len());
            blank_lines_except(lines, |i| Some(i) == header || (start..end).contains(&i))
        })
        .collect()
}

/// The lines joined with every line `keep` refuses emptied, so that line:column in
/// errors stay those of the file.
fn blank_lines_except(lines: &[&str], keep: impl Fn(usize) -> bool) -> String {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| if keep(i) { *l } else { "" })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The validation problems of the sections that read, together (a rule's expression,
/// a dashboard's metric, a duplicate token): the file with its unreadable sections and
/// faulty entries emptied, validated as a whole. Errors about a section left out (its
/// defaults) are not the file's and are dropped.
fn readable_errors(
    readable: &[String],
    source: &str,
    positions: &Positions,
    kinds: &Kinds,
) -> Vec<ConfigError> {
    let kept: Vec<Vec<&str>> = readable.iter().map(|s| s.lines().collect()).collect();
    let Some(count) = kept.iter().map(Vec::len).max() else {
        return Vec::new();
    };
    let merged = (0..count)
        .map(|i| {
            kept.iter()
                .filter_map(|lines| lines.get(i).copied())
                .find(|l| !l.is_empty())
                .unwrap_or("")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let Ok(config) = serde_yaml_ng::from_str::<Config>(&merged) else {
        return Vec::new();
    };
    let sections: Vec<&str> = merged
        .lines()
        .filter_map(|l| {
            let key = l.split(':').next()?;
            (!key.is_empty() && !key.starts_with([' ', '#', '-'])).then_some(key)
        })
        .collect();
    validation_errors(&config, source, positions, kinds)
        .into_iter()
        .filter(|e| {
            e.path.as_deref().is_some_and(|p| {
                let top = p.split(['.', '[']).next().unwrap_or(p);
                sections.contains(&top)
            })
        })
        .collect()
}

/// The errors of the checks and channels of `config` (a section read alone).
fn kind_errors(
    config: &Config,
    source: &str,
    positions: &Positions,
    kinds: &Kinds,
) -> Vec<ConfigError> {
    validation_errors(config, source, positions, kinds)
        .into_iter()
        .filter(|e| {
            e.path
                .as_deref()
                .is_some_and(|p| p.starts_with("checks[") || p.starts_with("alerting.channels["))
        })
        .collect()
}

/// The problems [`Config::validate`] finds in `config`, each at its line:column; the
/// error of a `type:` that no kind of `kinds` has carries that name
/// ([`ConfigError::unknown_kind`]).
fn validation_errors(
    config: &Config,
    source: &str,
    positions: &Positions,
    kinds: &Kinds,
) -> Vec<ConfigError> {
    let checks = config.checks.iter().enumerate().filter_map(|(i, check)| {
        let name = &check.kind.name;
        (!kinds.check_names().any(|k| k == name)).then(|| (format!("checks[{i}].type"), name))
    });
    let channels = config
        .alerting
        .channels
        .iter()
        .enumerate()
        .filter_map(|(i, channel)| {
            let name = channel.kind();
            (!kinds.channel_names().any(|k| k == name))
                .then(|| (format!("alerting.channels[{i}].type"), name))
        });
    let unknown: Vec<(String, &str)> = checks
        .map(|(path, name)| (path, name.as_str()))
        .chain(channels)
        .collect();
    config
        .validate(kinds)
        .into_iter()
        .map(|(path, message)| {
            let unknown_kind = unknown
                .iter()
                .find(|(at, _)| *at == path)
                .map(|(_, name)| (*name).to_string());
            ConfigError {
                unknown_kind,
                ..located(path, message, source, positions)
            }
        })
        .collect()
}

/// A validation problem at `path`, with its line:column.
fn located(path: String, message: String, source: &str, positions: &Positions) -> ConfigError {
    let path = with_missing_field(path, &message);
    ConfigError {
        source: source.to_string(),
        position: positions.find(&path),
        message: with_expected_keys(&path, message),
        path: Some(path),
        unknown_kind: None,
    }
}

/// The path of the field a `` missing field `url` `` message is about, under the entry
/// at `path` that lacks it (`checks[0]` → `checks[0].url`): serde and the kinds'
/// factories name only the entry. The field being absent, its line:column is the
/// entry's ([`Positions::find`]). Other messages keep `path`.
fn with_missing_field(path: String, message: &str) -> String {
    match named(message, "missing field") {
        Some(field) if !path.ends_with(&format!(".{field}")) && path != field => {
            if path.is_empty() {
                field.to_string()
            } else {
                format!("{path}.{field}")
            }
        }
        _ => path,
    }
}

/// The name serde quotes first after `what` (`` unknown field `x`, expected … `` → `x`).
fn named<'a>(message: &'a str, what: &str) -> Option<&'a str> {
    message
        .strip_prefix(what)?
        .strip_prefix(" `")?
        .split('`')
        .next()
}

/// `text` with line `line` (1-based) and the lines indented under it emptied; `None`
/// when that line is a list item or not a `key:` entry.
fn without_entry(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.get(line.checked_sub(1)?)?;
    let trimmed = at.trim_start();
    if trimmed.starts_with('-') || !trimmed.contains(':') {
        return None;
    }
    let indent = at.len() - trimmed.len();
    let mut end = line;
    while let Some(next) = lines.get(end) {
        let next_trimmed = next.trim_start();
        if !next_trimmed.is_empty() && next.len() - next_trimmed.len() <= indent {
            break;
        }
        end += 1;
    }
    Some(blank_lines_except(&lines, |i| {
        !(line - 1..end).contains(&i)
    }))
}

/// The text once per top-level section, with every line of the other sections left
/// empty, so that line:column in errors stay those of the file. Empty when there is
/// only one section (the file itself says it all).
fn sections_alone(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            l.chars()
                .next()
                .is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-')
        })
        .map(|(i, _)| i)
        .collect();
    one_text_per_start(&lines, &starts, None)
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
    let wrong_collection = ["sequence", "map"]
        .into_iter()
        .find(|kind| message.starts_with(&format!("invalid type: {kind},")));
    if let Some(child) = path.as_deref().and_then(|p| {
        positions
            .child_with_value(p, &message)
            .or_else(|| wrong_collection.and_then(|kind| positions.child_of_kind(p, kind)))
    }) {
        position = positions.find(&child).or(position);
        path = Some(child);
    }
    if let Some(entry) = path.take() {
        let full = with_missing_field(entry.clone(), &message);
        if full != entry {
            position = positions.find(&full).or(position);
        }
        path = Some(full);
    }
    let mut message = message;
    if let Some(field) = named(&message, "unknown field").map(str::to_string) {
        let mut full = match &path {
            Some(p) => format!("{p}.{field}"),
            None => field.clone(),
        };
        if let Some(indexed) = positions.with_indexes(&full) {
            full = indexed;
        }
        message = with_expected_keys(&full, message);
        position = positions.find(&full).or(position);
        path = Some(full);
    } else if let Some(variant) = named(&message, "unknown variant").map(str::to_string) {
        message.push_str(&did_you_mean(&variant, &quoted_names(&message)));
    }
    ConfigError {
        source: source.to_string(),
        position,
        path,
        message,
        unknown_kind: None,
    }
}

/// serde's `` unknown field `x`, expected one of `a`, `b` `` about the key at `path`,
/// with the keys every entry of its list has (for a check or a channel: serde lists
/// only the fields of the entry's kind) and a did-you-mean; other messages unchanged.
fn with_expected_keys(path: &str, message: String) -> String {
    let Some(field) = named(&message, "unknown field") else {
        return message;
    };
    let parent = path.strip_suffix(&format!(".{field}")).unwrap_or_default();
    let mut expected = quoted_names(&message);
    for key in common_keys(parent) {
        if !expected.contains(&key) {
            expected.push(key);
        }
    }
    format!(
        "unknown field `{field}`, expected one of {}{}",
        expected
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", "),
        did_you_mean(field, &expected)
    )
}

/// The names serde lists after the first one in `` unknown field `x`, expected one of `a`, `b` ``.
fn quoted_names(message: &str) -> Vec<String> {
    message
        .split('`')
        .skip(3)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `; did you mean `x`?` when a known name is close to `name`.
fn did_you_mean(name: &str, known: &[String]) -> String {
    mon_core::closest(name, known.iter().map(String::as_str))
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

/// The keys every entry of a kind-selected list has (`interval` of a check, `timeout`
/// of a channel): serde's message lists only the fields of the entry's kind.
fn common_keys(parent: &str) -> Vec<String> {
    fn keys_of<T: serde::Serialize>(entry: T) -> Vec<String> {
        match serde_yaml_ng::to_value(entry) {
            Ok(serde_yaml_ng::Value::Mapping(map)) => map
                .keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }
    let list = parent.trim_end_matches(|c: char| c.is_ascii_digit() || c == '[' || c == ']');
    if list.len() == parent.len() {
        return Vec::new();
    }
    let kind = || mon_core::KindSpec {
        name: String::new(),
        fields: Default::default(),
    };
    match list {
        "checks" => keys_of(mon_health::CheckConfig::new("", kind())),
        "alerting.channels" => keys_of(mon_alerting::ChannelConfig::new("", kind())),
        _ => Vec::new(),
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
