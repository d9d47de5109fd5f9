//! `mon-server`: the bundled monitoring server. `mon-server [-c mon.yaml] [--address-file FILE]`.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Monitoring for real-time voice-AI services: health checks, metrics, alerting, API.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "Without -c, runs the built-in default configuration.\n\
Every key can be overridden from the environment: MON__SERVER__LISTEN=127.0.0.1:9999."
)]
struct Args {
    /// The configuration file (YAML).
    #[arg(short, long, value_name = "FILE", env = "MON_CONFIG")]
    config: Option<PathBuf>,
    /// Once listening, write the bound address (`127.0.0.1:PORT`) to this file:
    /// with `server.listen` on port 0 it tells a script which port was chosen.
    #[arg(long, value_name = "FILE")]
    address_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let env = mon_config::Environment::from_process();
    let config = match mon_config::Config::load(args.config.as_deref(), &env) {
        Ok(config) => config,
        Err(errors) => return fail(&format!("invalid configuration:\n{errors}")),
    };
    if let Err(e) = mon_logging::init(&config.logging) {
        return fail(&e.to_string());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(mon_server::run(config, args.address_file.as_deref())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

/// One clear message on stderr and exit code 2 (configuration or start-up problem).
fn fail(message: &str) -> ExitCode {
    #[allow(clippy::print_stderr)] // The one place the binary talks to the operator directly.
    {
        eprintln!("mon-server: {message}");
    }
    ExitCode::from(2)
}
