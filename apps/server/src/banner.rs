//! The block `mon-server` prints once on stderr when it starts listening (beside the JSON
//! log, for the person who just started it): the web UI's address, the configuration in
//! use, whether reads are open, where the store is, and how to add a token.

use mon_config::Config;
use mon_http::Role;
use std::net::SocketAddr;
use std::path::Path;

/// The start-up block for a server bound to `addr`, running `config` read from `file`
/// (`None`: the built-in default). Names no secret: tokens are counted by role.
pub(crate) fn render(addr: SocketAddr, file: Option<&Path>, config: &Config) -> String {
    let config_line = match file {
        Some(path) => path.display().to_string(),
        None => "built-in default (no -c FILE; `mon-server --show-config` prints it)".to_owned(),
    };
    let tokens = &config.server.auth.tokens;
    let count = |role: Role| tokens.iter().filter(|t| t.role == role).count();
    let reads = if tokens.is_empty() {
        "open: no token is configured, anyone who can reach the address reads; \
         changes (ingest, admin) are refused"
            .to_owned()
    } else {
        format!(
            "need a token ({} admin, {} ingest, {} read configured); public: {}",
            count(Role::Admin),
            count(Role::Ingest),
            count(Role::Read),
            config.server.public_paths.join(", ")
        )
    };
    let shard = match &config.checks_shard {
        Some(shard) => format!(
            "\x20 checks   {} of {} probed here (checks_shard {} of {})\n",
            config.probed_checks().len(),
            config.checks.len(),
            shard.index,
            shard.count
        ),
        None => String::new(),
    };
    let store =
        std::path::absolute(&config.storage.path).unwrap_or_else(|_| config.storage.path.clone());
    format!(
        "mon-server {version} is running\n\
         \x20 web UI   http://{addr}/\n\
         \x20 config   {config_line}\n\
         \x20 reads    {reads}\n\
         \x20 store    {store}\n\
         {shard}\
         \x20 tokens   add one under server.auth.tokens in the config file:\n\
         \x20            - {{ name: ops, token: \"${{MON_ADMIN_TOKEN}}\", role: admin }}   # read | ingest | admin\n\
         \x20          then start with MON_ADMIN_TOKEN set (docs/config.md, `server`)\n",
        version = env!("CARGO_PKG_VERSION"),
        store = store.display(),
    )
}

/// Prints a [`render`]ed block on stderr.
pub(crate) fn print(block: &str) {
    #[allow(clippy::print_stderr)] // Addressed to the operator who started the server.
    {
        eprint!("{block}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: Option<&str>) -> Config {
        let env = mon_config::Environment::default();
        match yaml {
            None => Config::builtin().expect("the built-in default loads"),
            Some(text) => {
                mon_config::load_text(text, "test.yaml", &env).expect("the test config loads")
            }
        }
    }

    #[test]
    fn the_default_says_reads_are_open_and_where_everything_is() {
        let addr: SocketAddr = "127.0.0.1:43123".parse().expect("address");
        let text = render(addr, None, &config(None));
        assert!(text.contains("web UI   http://127.0.0.1:43123/"), "{text}");
        assert!(text.contains("config   built-in default"), "{text}");
        assert!(text.contains("reads    open: no token"), "{text}");
        let store = std::path::absolute("./mon-data/mon.db").expect("absolute");
        assert!(
            text.contains(&format!("store    {}", store.display())),
            "{text}"
        );
        assert!(text.contains("server.auth.tokens"), "{text}");
        assert_eq!(text.lines().count(), 8, "{text}");
    }

    #[test]
    fn a_file_with_tokens_names_the_file_and_counts_roles_without_secrets() {
        let cfg = config(Some(
            "server:\n  listen: 127.0.0.1:0\n  auth:\n    tokens:\n      - { name: ops, token: s3cret-admin-token, role: admin }\n      - { name: app, token: s3cret-ingest-token, role: ingest }\nstorage:\n  path: /var/lib/mon/mon.db\n",
        ));
        let addr: SocketAddr = "[::1]:8480".parse().expect("address");
        let text = render(addr, Some(Path::new("/etc/mon/mon.yaml")), &cfg);
        assert!(text.contains("web UI   http://[::1]:8480/"), "{text}");
        assert!(text.contains("config   /etc/mon/mon.yaml"), "{text}");
        assert!(
            text.contains("reads    need a token (1 admin, 1 ingest, 0 read configured)"),
            "{text}"
        );
        assert!(text.contains("store    /var/lib/mon/mon.db"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
