//! `mon config check FILE` and `mon config show [FILE]`: local, no server needed.
//!
//! The CLI knows the built-in check and channel kinds only; a server built with
//! `mon_server::main_with` validates and shows a file with its extension kinds too
//! (`--check-config`, `--show-config`), through the same `mon_config` functions.

use crate::output::print_json;
use crate::{Format, Outcome};
use mon_config::{ConfigErrors, Environment};
use std::path::Path;

/// `file` (the built-in default when `None`) loaded with the built-in kinds; the
/// errors as `mon config check` prints them.
pub(crate) fn load(file: Option<&Path>) -> Result<mon_config::Config, Outcome> {
    let env = Environment::from_process();
    mon_config::Config::load(file, &env).map_err(|errors| failed(&errors, file))
}

pub(crate) fn check(file: &Path) -> Outcome {
    let env = Environment::from_process();
    match mon_config::check(Some(file), &env, &mon_config::builtin_kinds()) {
        Ok(line) => {
            outln!("{line}");
            Outcome::Ok
        }
        Err(errors) => failed(&errors, Some(file)),
    }
}

pub(crate) fn show(file: Option<&Path>, format: Format) -> Outcome {
    let config = match load(file) {
        Ok(config) => config,
        Err(outcome) => return outcome,
    };
    let kinds = mon_config::builtin_kinds();
    match format {
        Format::Json => match config.show(&kinds) {
            Ok(value) => print_json(&value),
            Err(e) => return Outcome::Usage(e),
        },
        Format::Table => match config.show_yaml(&kinds) {
            Ok(text) => out!("{text}"),
            Err(e) => return Outcome::Usage(e),
        },
    }
    Outcome::Ok
}

/// Every error and their count; when a `type:` is none of the built-in kinds, a note
/// that it may come from an extension crate and how to validate the file with the
/// server binary that registers it.
fn failed(errors: &ConfigErrors, file: Option<&Path>) -> Outcome {
    let mut text = errors.report();
    let unknown = errors.unknown_kinds();
    if !unknown.is_empty() {
        let quoted = |names: &mut dyn Iterator<Item = &str>| {
            names
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kinds = mon_config::builtin_kinds();
        let file = file.map_or_else(|| "mon.yaml".to_string(), |f| f.display().to_string());
        text.push_str(&format!(
            "\nnote: {} {}. `mon` knows the built-in kinds only \
             (checks: {}; channels: {}).\n\
             A kind from an extension crate is known to the server binary that registers it \
             (a `main` calling `mon_server::main_with`, docs/extending.md): validate the file \
             with that binary, `<server> --check-config -c {file}`, and show it with \
             `<server> --show-config -c {file}`.",
            quoted(&mut unknown.iter().copied()),
            if unknown.len() == 1 {
                "is not a built-in kind"
            } else {
                "are not built-in kinds"
            },
            quoted(&mut kinds.check_names()),
            quoted(&mut kinds.channel_names()),
        ));
    }
    Outcome::Usage(text)
}
