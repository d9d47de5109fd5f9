//! [`Builder`]: the server with extension kinds. Check kinds and channel kinds from
//! other crates are registered by name, beside the built-in ones and through the
//! same [`Kinds`] registry, so that `mon.yaml` names them with `type:` like any
//! other; checks and notifiers built in code are added as kinds of their own.
//!
//! [`main_with`] is the whole `mon-server` binary: a server with extensions is a
//! `main` that registers its kinds and calls it.

use crate::app::{App, StartError};
use clap::Parser;
use mon_config::Config;
use mon_core::{ChannelFactory, CheckFactory, HealthCheck, KindSpec, Kinds, Notifier};
use mon_health::CheckConfig;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// A server to start: its configuration and the kinds it knows beyond the built-in ones.
///
/// ```no_run
/// # async fn example(config: mon_config::Config, factory: mon_core::CheckFactory) -> Result<(), mon_server::StartError> {
/// mon_server::App::builder(config)
///     .check_kind("sip_options", factory)
///     .run()
///     .await
/// # }
/// ```
#[derive(Debug)]
pub struct Builder {
    config: Config,
    kinds: Kinds,
    address_file: Option<PathBuf>,
    /// Print the start-up block ([`crate::banner`]); the inner value is the config file.
    announce: Option<Option<PathBuf>>,
}

impl App {
    /// A server running `config`, with the built-in kinds; add kinds and instances, then
    /// [`start`](Builder::start) or [`run`](Builder::run).
    pub fn builder(config: Config) -> Builder {
        Builder {
            config,
            kinds: Kinds::new(),
            address_file: None,
            announce: None,
        }
    }

    /// Opens the store and starts every background part described by `config`, with
    /// the built-in kinds.
    pub async fn start(config: Config) -> Result<App, StartError> {
        App::builder(config).start().await
    }
}

impl Builder {
    /// Registers the check kind `name`: entries of `checks:` with `type: <name>` are
    /// built by `factory` (a kind of the name of a built-in one replaces it).
    pub fn check_kind(mut self, name: impl Into<String>, factory: CheckFactory) -> Builder {
        self.kinds.check_kind(name, factory);
        self
    }

    /// Registers the channel kind `name`: entries of `alerting.channels` with
    /// `type: <name>` are built by `factory`.
    pub fn channel_kind(mut self, name: impl Into<String>, factory: ChannelFactory) -> Builder {
        self.kinds.channel_kind(name, factory);
        self
    }

    /// Registers every kind of `kinds` (as given to [`mon_config::Config::load_with`]).
    pub fn kinds(mut self, kinds: &Kinds) -> Builder {
        self.kinds.extend(kinds);
        self
    }

    /// Adds the check `name`, built in code, run every `interval` within `timeout`;
    /// `critical`: its failure makes the whole system unhealthy. It is an entry of
    /// `checks:` of a kind of its own (`code:<name>`), like any configured check.
    pub fn check(
        mut self,
        name: &str,
        check: Arc<dyn HealthCheck>,
        interval: Duration,
        timeout: Duration,
        critical: bool,
    ) -> Builder {
        let kind = format!("code:{name}");
        self.kinds
            .check_kind(&kind, Arc::new(move |_| Ok(check.clone())));
        let mut entry = CheckConfig::new(name, KindSpec::new(kind, serde_json::Value::Null));
        entry.interval = interval;
        entry.timeout = timeout;
        entry.critical = critical;
        self.config.checks.push(entry);
        self
    }

    /// Adds the channel of `notifier` (named after it), built in code, receiving
    /// every alert; it is an entry of `alerting.channels` of a kind of its own
    /// (`code:<name>`), like any configured channel.
    pub fn channel(mut self, notifier: Arc<dyn Notifier>) -> Builder {
        let name = notifier.name().to_string();
        let kind = format!("code:{name}");
        self.kinds
            .channel_kind(&kind, Arc::new(move |_| Ok(notifier.clone())));
        self.config
            .alerting
            .channels
            .push(mon_alerting::ChannelConfig::new(
                name,
                KindSpec::new(kind, serde_json::Value::Null),
            ));
        self
    }

    /// Once listening, [`run`](Builder::run) writes the bound address
    /// (`127.0.0.1:PORT`) to `path`: with `server.listen` on port 0 it tells a
    /// script or a test which port was chosen.
    pub fn address_file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.address_file = Some(path.into());
        self
    }

    /// Opens the store and starts every background part.
    pub async fn start(self) -> Result<App, StartError> {
        App::start_with(self.config, self.kinds).await
    }

    /// Binds `server.listen`, starts the [`App`] and serves until SIGINT or SIGTERM,
    /// then shuts down gracefully (in-flight requests finish, the store is flushed).
    pub async fn run(self) -> Result<(), StartError> {
        let announce = self.announce.as_ref().map(Option::as_deref);
        crate::app::run_with(
            self.config,
            self.kinds,
            self.address_file.as_deref(),
            announce,
        )
        .await
    }

    /// Once listening, [`run`](Builder::run) prints one short block on stderr: the web
    /// UI's address, the configuration in use (`file`, or the built-in default for
    /// `None`), whether reads are open, the store's path and how to add a token.
    pub fn announce(mut self, file: Option<PathBuf>) -> Builder {
        self.announce = Some(file);
        self
    }
}

/// Monitoring for real-time voice-AI services: health checks, metrics, alerting, API.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "Without -c, runs the built-in default configuration.\n\
Every key can be overridden from the environment: MON__SERVER__LISTEN=127.0.0.1:9999.\n\
--check-config and --show-config know this binary's kinds, extension kinds included."
)]
struct Args {
    /// The configuration file (YAML).
    #[arg(short, long, value_name = "FILE", env = "MON_CONFIG")]
    config: Option<PathBuf>,
    /// Once listening, write the bound address (`127.0.0.1:PORT`) to this file:
    /// with `server.listen` on port 0 it tells a script which port was chosen.
    #[arg(long, value_name = "FILE")]
    address_file: Option<PathBuf>,
    /// Validate the configuration and exit, starting nothing: `FILE: ok (…)` (exit 0),
    /// or every error as `FILE:LINE:COLUMN: key.path: message` and their count (exit 2).
    #[arg(long, conflicts_with_all = ["show_config", "address_file"])]
    check_config: bool,
    /// Print the resolved configuration as YAML (defaults, `${VAR}` and `MON__*`
    /// overrides applied; every secret `***`) and exit, starting nothing.
    #[arg(long, conflicts_with = "address_file")]
    show_config: bool,
}

/// The `mon-server` binary, knowing `kinds` beside the built-in ones: parses the
/// arguments, loads the configuration (a field of any kind in error is reported at
/// its line:column), initialises logging and serves. Exits 2 on a configuration or
/// start-up problem, with one message on stderr.
///
/// With `--check-config` or `--show-config` it only validates or shows the
/// configuration, as `mon config check|show` do with the built-in kinds
/// ([`mon_config::check`], [`Config::show_yaml`]), so that a file using this
/// binary's extension kinds can be checked before it is deployed.
pub fn main_with(kinds: Kinds) -> ExitCode {
    let args = Args::parse();
    let env = mon_config::Environment::from_process();
    let mut all = mon_config::builtin_kinds();
    all.extend(&kinds);
    let path = args.config.as_deref();
    if args.check_config {
        return match mon_config::check(path, &env, &all) {
            Ok(line) => print(&line),
            Err(errors) => fail(&errors.report()),
        };
    }
    let config = match Config::load_with(path, &env, &all) {
        Ok(config) => config,
        Err(errors) if args.show_config => return fail(&errors.report()),
        Err(errors) => return fail(&format!("invalid configuration:\n{errors}")),
    };
    if args.show_config {
        return match config.show_yaml(&all) {
            Ok(text) => print(text.trim_end()),
            Err(e) => fail(&e),
        };
    }
    // mon's own records get the privacy policy too, from the first line on.
    let privacy = match config.privacy() {
        Ok(privacy) => privacy,
        Err(e) => return fail(&format!("privacy: {e}")),
    };
    if let Err(e) = mon_logging::init_with_privacy(&config.logging, privacy) {
        return fail(&e.to_string());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on({
        let mut builder = App::builder(config)
            .kinds(&kinds)
            .announce(args.config.clone());
        if let Some(path) = args.address_file {
            builder = builder.address_file(path);
        }
        builder.run()
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

/// `text` and a newline on stdout (the answer of `--check-config`/`--show-config`);
/// exit 0, or 1 when stdout cannot take it (a reader that went away included).
fn print(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

/// One clear message on stderr, after the binary's name, and exit code 2
/// (configuration or start-up problem).
fn fail(message: &str) -> ExitCode {
    let program = std::env::args_os()
        .next()
        .and_then(|arg| {
            Path::new(&arg)
                .file_stem()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "mon-server".to_string());
    #[allow(clippy::print_stderr)] // The one place the binary talks to the operator directly.
    {
        eprintln!("{program}: {message}");
    }
    ExitCode::from(2)
}
