//! The deployment files in deploy/ agree with the code: the Debian package's
//! /etc/mon/mon.yaml is the built-in default written out, the shipped example
//! configurations load, the Grafana dashboards of the compose stack are the ones mon
//! exports, and the unit and manifests say what mon needs (connection limit, probes,
//! a single replica). `UPDATE_GOLDEN=1` rewrites the generated files.
//!
//! The tools' own validation (promtool, amtool, the compose-spec schema,
//! kubernetes-validate, systemd-analyze, a real install) runs in `cargo xtask package`.

use mon_config::{Config, Environment, builtin_kinds, load_text};
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares a generated file with what the code produces now; `UPDATE_GOLDEN=1` rewrites it.
fn generated(path: &Path, expected: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, expected).expect("write the generated file");
    }
    assert!(
        read(path) == expected,
        "{} is stale: regenerate it with `UPDATE_GOLDEN=1 cargo nextest run -p mon-tests -E 'binary(deploy)'`",
        path.display()
    );
}

fn yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The header of the package's /etc/mon/mon.yaml, above `mon-server --show-config`.
const CONFFILE_HEADER: &str = "\
# /etc/mon/mon.yaml: mon-server's built-in default, written out with every default
# (`mon-server --show-config` without -c). Edit it: the package keeps your changes on
# upgrades. Check it with `mon config check /etc/mon/mon.yaml`.
# The mon service stores under /var/lib/mon (MON__STORAGE__PATH in the unit) and reads
# secrets from /etc/mon/mon.env: write them there and refer to them here as ${VAR}.
# Every key: /usr/share/doc/mon/config.md.
";

#[test]
fn the_package_conffile_is_the_builtin_default_written_out() {
    let builtin = Config::builtin().expect("the built-in default loads");
    let shown = builtin.show_yaml(&builtin_kinds()).expect("show");
    let path = deploy().join("debian/mon.yaml");
    generated(&path, &format!("{CONFFILE_HEADER}{shown}"));
    // Loaded, it is the built-in default again.
    let loaded = load_text(&read(&path), "mon.yaml", &Environment::default()).expect("loads");
    assert_eq!(loaded.show_yaml(&builtin_kinds()).expect("show"), shown);
}

/// The configurations of the compose stack and the Kubernetes ConfigMap load, with the
/// variables their secrets provide.
#[test]
fn the_example_configurations_load() {
    let env = Environment::from_vars([
        ("MON_ADMIN_TOKEN", "admin-secret-1"),
        ("MON_READ_TOKEN", "read-secret-2"),
    ]);
    let compose = read(&deploy().join("compose/mon.yaml"));
    let configmap = yaml(&deploy().join("kubernetes/configmap.yaml"));
    let cluster = configmap["data"]["mon.yaml"]
        .as_str()
        .expect("data.mon.yaml");
    for (name, text) in [
        ("compose/mon.yaml", compose.as_str()),
        ("configmap.yaml", cluster),
    ] {
        let config = load_text(text, name, &env).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(config.server.listen.to_string(), "0.0.0.0:8480", "{name}");
        assert_eq!(
            config.storage.path,
            PathBuf::from("/var/lib/mon/mon.db"),
            "{name}"
        );
        assert!(
            !config.server.auth.tokens.is_empty(),
            "{name}: a token from the secrets"
        );
    }
    // Without the secret, the server refuses to start, naming the variable.
    let errors = load_text(cluster, "configmap.yaml", &Environment::default())
        .expect_err("a missing secret is an error");
    assert!(errors.to_string().contains("MON_ADMIN_TOKEN"), "{errors}");
}

#[test]
fn the_provisioned_grafana_dashboards_are_the_ones_mon_exports() {
    let dir = deploy().join("compose/grafana/dashboards");
    let mut expected: Vec<String> = Vec::new();
    for dashboard in mon_metrics::builtin_dashboards() {
        let name = format!("{}.json", dashboard.id);
        let json =
            serde_json::to_string_pretty(&mon_metrics::grafana_json(&dashboard)).expect("JSON");
        generated(&dir.join(&name), &format!("{json}\n"));
        expected.push(name);
    }
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .expect("dashboards dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    expected.sort();
    assert_eq!(
        present, expected,
        "one file per built-in dashboard, no other"
    );
}

/// The value of `Key=` lines of a unit file, in order.
fn directives<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_systemd_unit_runs_the_conffile_hardened_within_the_connection_limit() {
    let unit = read(&deploy().join("debian/mon.service"));
    assert_eq!(
        directives(&unit, "ExecStart"),
        ["/usr/bin/mon-server -c /etc/mon/mon.yaml"]
    );
    assert_eq!(directives(&unit, "EnvironmentFile"), ["-/etc/mon/mon.env"]);
    assert_eq!(
        directives(&unit, "Environment"),
        ["MON__STORAGE__PATH=/var/lib/mon/mon.db"]
    );
    assert_eq!(directives(&unit, "StateDirectory"), ["mon"]);
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
    ] {
        assert_eq!(directives(&unit, key), [value], "{key}");
    }
    // Every connection is a file descriptor, beside the store's files and outgoing sockets.
    let limit: usize = directives(&unit, "LimitNOFILE")[0]
        .parse()
        .expect("a number");
    let connections = Config::builtin()
        .expect("builtin")
        .server
        .limits
        .max_connections;
    assert!(
        limit >= 2 * connections + 1024,
        "LimitNOFILE={limit} for {connections} connections"
    );
}

#[test]
fn the_kubernetes_manifests_fit_together() {
    let dir = deploy().join("kubernetes");
    let deployment = yaml(&dir.join("deployment.yaml"));
    let service = yaml(&dir.join("service.yaml"));
    let monitor = yaml(&dir.join("servicemonitor.yaml"));
    let pvc = yaml(&dir.join("pvc.yaml"));
    // One writer: one replica, never two at once.
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(1));
    assert_eq!(
        deployment["spec"]["strategy"]["type"].as_str(),
        Some("Recreate")
    );
    let pod = &deployment["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    // The probes are mon's public liveness and readiness endpoints.
    for (probe, path) in [
        ("livenessProbe", "/health/live"),
        ("readinessProbe", "/health/ready"),
    ] {
        assert_eq!(container[probe]["httpGet"]["path"].as_str(), Some(path));
        assert!(
            mon_api::ENDPOINTS
                .iter()
                .any(|e| e.path == path && e.access == mon_api::Access::Public),
            "{path} is a public endpoint"
        );
    }
    assert_eq!(container["args"][1].as_str(), Some("/etc/mon/mon.yaml"));
    // The volumes are the ConfigMap and the claim.
    let volumes = pod["spec"]["volumes"].as_sequence().expect("volumes");
    assert!(
        volumes
            .iter()
            .any(|v| v["configMap"]["name"].as_str() == Some("mon-config"))
    );
    assert!(
        volumes
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"])
    );
    assert_eq!(
        container["envFrom"][0]["secretRef"]["name"].as_str(),
        Some("mon-secrets")
    );
    // The Service selects the pod; the ServiceMonitor selects the Service and its port.
    let labels = &pod["metadata"]["labels"];
    assert_eq!(&service["spec"]["selector"], labels);
    assert_eq!(
        &monitor["spec"]["selector"]["matchLabels"],
        &service["metadata"]["labels"]
    );
    let port = &monitor["spec"]["endpoints"][0];
    assert_eq!(port["path"].as_str(), Some("/metrics"));
    assert_eq!(port["port"], service["spec"]["ports"][0]["name"]);
    assert_eq!(
        port["bearerTokenSecret"]["name"].as_str(),
        Some("mon-secrets")
    );
}
