//! `mon config check FILE` and `mon config show [FILE]`: local, no server needed.

use crate::output::print_json;
use crate::{Format, Outcome};
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
    let value = match config.show(&mon_config::builtin_kinds()) {
        Ok(value) => value,
        Err(e) => return Outcome::Usage(e),
    };
    match format {
        Format::Json => print_json(&value),
        Format::Table => match serde_yaml_ng::to_string(&value) {
            Ok(text) => out!("{text}"),
            Err(e) => return Outcome::Usage(format!("cannot render the configuration: {e}")),
        },
    }
    Outcome::Ok
}
