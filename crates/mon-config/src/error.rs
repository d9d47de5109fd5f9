//! Configuration errors: what is wrong, where (file, line:column, key path), all at once.

use std::fmt;
use std::path::Path;

/// One problem in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, or `<built-in default>` / `<environment>`.
    pub source: String,
    /// 1-based line and column where the parser knows them.
    pub position: Option<(usize, usize)>,
    /// The key path, e.g. `checks[2].timeout`, where known.
    pub path: Option<String>,
    /// What is wrong and, where possible, what would be right.
    pub message: String,
    /// For an unknown `type:` of a check or channel: the name written there, which no
    /// kind the loader was given has. It may be a kind from an extension crate, known
    /// to the server binary that registers it (`mon_server::main_with`).
    pub unknown_kind: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        f.write_str(": ")?;
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Everything wrong with a configuration (at least one entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub(crate) fn one(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }

    /// The file could not be read.
    pub(crate) fn unreadable(path: &Path, err: &std::io::Error) -> Self {
        Self::one(ConfigError {
            source: path.display().to_string(),
            position: None,
            path: None,
            message: format!("cannot read the configuration file: {err}"),
            unknown_kind: None,
        })
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
