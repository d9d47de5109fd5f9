//! What `mon config check|show` and a server's `--check-config|--show-config` print,
//! written once: every binary validates and shows a file alike, each with the kinds
//! it knows (the `mon` CLI the built-in ones, a server built with
//! `mon_server::main_with` its extensions too).

use crate::{Config, ConfigErrors, Environment};
use mon_core::Kinds;
use std::path::Path;

/// Loads `path` (the built-in default when `None`) with the check and channel kinds of
/// `kinds`, to validate it: `Ok` is the line to print
/// (`mon.yaml: ok (3 checks, 2 alert rules, 1 channels)`), `Err` every problem
/// ([`ConfigErrors::report`]).
pub fn check(
    path: Option<&Path>,
    env: &Environment,
    kinds: &Kinds,
) -> Result<String, ConfigErrors> {
    let config = Config::load_with(path, env, kinds)?;
    let source = path.map_or_else(
        || "<built-in default>".to_string(),
        |p| p.display().to_string(),
    );
    Ok(format!(
        "{source}: ok ({} checks, {} alert rules, {} channels)",
        config.checks.len(),
        config.alerting.rules.len(),
        config.alerting.channels.len()
    ))
}

impl ConfigErrors {
    /// Every problem, one a line with its `source:line:column: key.path:`, then how many
    /// (`2 errors found`): what a configuration check prints.
    pub fn report(&self) -> String {
        let count = self.0.len();
        let plural = if count == 1 { "" } else { "s" };
        format!("{self}\n{count} error{plural} found")
    }

    /// The `type:` names no kind of the loader has ([`ConfigError::unknown_kind`](crate::ConfigError::unknown_kind)),
    /// each once, in file order.
    pub fn unknown_kinds(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for name in self.0.iter().filter_map(|e| e.unknown_kind.as_deref()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

impl Config {
    /// [`Config::show`] written as YAML: what `mon config show` and `--show-config`
    /// print (every secret `***`). The error holds no value.
    pub fn show_yaml(&self, kinds: &Kinds) -> Result<String, String> {
        serde_yaml_ng::to_string(&self.show(kinds)?)
            .map_err(|e| format!("cannot render the configuration: {e}"))
    }
}
