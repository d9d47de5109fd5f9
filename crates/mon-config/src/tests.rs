//! Configuration errors as a table: input → the exact message an operator sees.

use super::*;
use std::time::Duration;

fn env() -> Environment {
    Environment::from_vars([("ADMIN_TOKEN", "s3cret-admin-token")])
}

/// Loads `yaml` as `mon.yaml` and returns the error text (or "ok").
fn load(yaml: &str, env: &Environment) -> String {
    match load_text(yaml, "mon.yaml", env) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}

/// The `source:line:column` of each error line of `text`.
fn error_positions(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.split(": ").next().unwrap_or_default())
        .collect()
}

#[test]
fn config_errors_table() {
    let cases: &[(&str, &str)] = &[
        (
            "alerting:\n  channels:\n    - { name: ops, type: log }\nreports:\n  schedule: weekly\n  channels: [ops]\n",
            "mon.yaml:6:14: reports.channels[0]: \"ops\" is a log channel: reports are mailed through email channels",
        ),
        (
            "reports:\n  schedule: fortnightly\n",
            "mon.yaml:2:3: reports.schedule: \"fortnightly\" is not a schedule",
        ),
        (
            "reports:\n  schedule: daily\n",
            "mon.yaml:1:1: reports.channels: is empty: name at least one email channel",
        ),
        (
            "servr:\n  listen: 127.0.0.1:1\n",
            "mon.yaml:1:1: servr: unknown field `servr`, expected one of `server`",
        ),
        (
            "server:\n  lisen: x\n",
            "mon.yaml:2:3: server.lisen: unknown field `lisen`, expected one of `listen`",
        ),
        (
            "checks:\n  - name: a\n    type: system\n  - name: b\n    type: http\n    url: http://x\n    timout: 3s\n",
            "mon.yaml:7:5: checks[1].timout: unknown field `timout`, expected one of `url`",
        ),
        (
            "checks:\n  - name: a\n    type: nope\n",
            "mon.yaml:3:5: checks[0].type: unknown check type `nope`, expected one of `command`, `dns`, `heartbeat`, `http`",
        ),
        (
            "checks:\n  - name: a\n    type: system\n    depends_on: [b]\n  - name: b\n    type: system\n    depends_on: [a]\n",
            "mon.yaml:4:5: checks[0].depends_on: dependency cycle a -> b -> a",
        ),
        (
            "checks:\n  - name: a\n    type: system\n    depends_on: [redis]\n",
            "mon.yaml:4:18: checks[0].depends_on[0]: there is no check named \"redis\"",
        ),
        (
            "checks:\n  - name: a\n    type: http\n    url: http://x/\n    body_regex: \"(\"\n",
            "mon.yaml:5:5: checks[0].body_regex: not a valid regular expression",
        ),
        (
            "checks:\n  - name: a\n    type: http\n    url: http://x/\n    json: { \"$.[\": ok }\n",
            "mon.yaml:5:13: checks[0].json.$.[: \"$.[\" is not a JSONPath expression",
        ),
        (
            "checks:\n  - name: a\n    type: redis\n    url: redis://:${REDIS_PASSWORD}@127.0.0.1\n",
            "mon.yaml:4:19: environment variable `REDIS_PASSWORD` is not set",
        ),
        (
            "checks:\n  - name: a\n    type: postgres\n    url: mysql://127.0.0.1/db\n",
            "mon.yaml:4:5: checks[0].url: unsupported scheme \"mysql\"",
        ),
        // A missing field: named by its path, at the entry that lacks it (its first key).
        (
            "checks:\n  - name: a\n    type: heartbeat\n",
            "mon.yaml:2:5: checks[0].period: missing field `period`",
        ),
        (
            "checks:\n  - name: a\n    type: system\n  - interval: 5s\n    name: web\n    type: http\n",
            "mon.yaml:4:5: checks[1].url: missing field `url`",
        ),
        (
            "alerting:\n  channels:\n    - name: hook\n      type: webhook\n",
            "mon.yaml:3:7: alerting.channels[0].url: missing field `url`",
        ),
        (
            "alerting:\n  channels:\n    - { name: ops, type: slack }\n",
            "mon.yaml:3:7: alerting.channels[0].webhook_url: missing field `webhook_url`",
        ),
        (
            "checks:\n  - type: system\n",
            "mon.yaml:2:5: checks[0].name: missing field `name`",
        ),
        (
            "server:\n  auth:\n    tokens:\n      - { name: ops, token: x }\n",
            "mon.yaml:4:9: server.auth.tokens[0].role: missing field `role`",
        ),
        (
            "checks:\n  - name: a\n    type: system\n    failure_threshold: 0\n",
            "mon.yaml:4:5: checks[0].failure_threshold: must be at least 1",
        ),
        (
            "metrics:\n  max_label_value_bytes: 0\n",
            "mon.yaml:2:3: metrics.max_label_value_bytes: must be at least 1",
        ),
        (
            "security:\n  failed_login_window: 2s\n",
            "mon.yaml:2:3: security.failed_login_window: 2s is outside 10s..24h",
        ),
        (
            "security:\n  top_offenders: 0\n",
            "mon.yaml:2:3: security.top_offenders: must be from 1 to 1000",
        ),
        (
            "security:\n  max_failed_login: 5\n",
            "mon.yaml:2:3: security.max_failed_login: unknown field `max_failed_login`",
        ),
        (
            "checks:\n  - name: a\n    type: system\n    interval: 5x\n",
            "mon.yaml:4:5: checks[0].interval: invalid duration \"5x\"",
        ),
        (
            "checks:\n  - name: a\n    type: system\n    interval: 30\n",
            "mon.yaml:4:5: checks[0].interval: invalid",
        ),
        (
            "checks:\n  - name: a\n    type: http\n    url: not a url\n",
            "mon.yaml:4:5: checks[0].url: relative URL without a base: \"not a url\"",
        ),
        (
            "checks:\n  - name: a\n    type: http\n    url: ftp://x/\n",
            "mon.yaml:4:5: checks[0].url: ",
        ),
        (
            "checks:\n  - name: a\n    type: system\n  - name: a\n    type: system\n",
            "mon.yaml:4:5: checks[1].name: duplicate check name \"a\" (also checks[0])",
        ),
        (
            "checks:\n  - name: has space\n    type: system\n",
            "mon.yaml:2:5: checks[0].name: ",
        ),
        (
            "server:\n  limits:\n    max_connections: 0\n",
            "mon.yaml:3:5: server.limits.max_connections: must be at least 1",
        ),
        (
            "server:\n  limits:\n    max_header_bytes: 0\n",
            "mon.yaml:3:5: server.limits.max_header_bytes: must be at least 1",
        ),
        (
            "server:\n  limits:\n    header_read_timeout: 0s\n",
            "mon.yaml:3:5: server.limits.header_read_timeout: must be longer than zero",
        ),
        (
            "server:\n  limits:\n    keep_alive_timeout: soon\n",
            "mon.yaml:3:5: server.limits.keep_alive_timeout: invalid duration \"soon\"",
        ),
        (
            "server:\n  security:\n    ip_denylist: [10.0.0.1, nope]\n",
            "mon.yaml:3:29: server.security.ip_denylist[1]: \"nope\" is not an IP address or CIDR range",
        ),
        (
            "server:\n  security:\n    rate_limits:\n      /api/auth/login: { limit: 0, window: 1m }\n",
            "mon.yaml:4:26: server.security.rate_limits./api/auth/login.limit: must be at least 1",
        ),
        (
            "server:\n  security:\n    principal_rate_limit: { limit: 5, window: 0s }\n",
            "mon.yaml:3:39: server.security.principal_rate_limit.window: must be longer than 0s",
        ),
        (
            "server:\n  security:\n    block_duration: soon\n",
            "mon.yaml:3:5: server.security.block_duration: invalid duration \"soon\"",
        ),
        (
            "server:\n  auth:\n    metrics: read\n",
            "mon.yaml:3:5: server.auth.metrics: `read` needs a token: add one under server.auth.tokens",
        ),
        (
            "livekit:\n  webhook: { api_key: k, api_secret: s, max_token_lifetime: 0s }\n",
            "mon.yaml:2:41: livekit.webhook.max_token_lifetime: must be more than 0s",
        ),
        (
            "server:\n  listen: localhost\n",
            "mon.yaml:2:11: server.listen: invalid socket address syntax",
        ),
        (
            "server:\n  external_url: mon.example.com\n",
            "mon.yaml:2:3: server.external_url: \"mon.example.com\" is not an absolute http(s) URL (relative URL without a base)",
        ),
        (
            "server:\n  external_url: ftp://mon.example.com\n",
            "mon.yaml:2:3: server.external_url: \"ftp://mon.example.com\" must be an absolute http:// or https:// URL, not ftp:",
        ),
        (
            "server:\n  external_url: https://mon.example.com/?a=1\n",
            "mon.yaml:2:3: server.external_url: \"https://mon.example.com/?a=***\" must not have a query or fragment",
        ),
        (
            "alerting:\n  channels:\n    - { name: am, type: alertmanager, urls: ['http://x:9093'], resend_interval: 0s }\n",
            "mon.yaml:3:7: alerting.channels[0]: resend_interval must be at least 1s, not 0s",
        ),
        (
            "storage:\n  path: ${DATA_DIR}/mon.db\n",
            "mon.yaml:2:9: environment variable `DATA_DIR` is not set",
        ),
        (
            "server:\n  auth:\n    tokens:\n      - { name: ops, token: \"${EMPTY:-}\", role: admin }\n",
            "mon.yaml:4:22: server.auth.tokens[0].token: token \"ops\" is empty",
        ),
        (
            "server:\n  auth:\n    tokens:\n      - { name: ops, token: x, role: root }\n",
            "mon.yaml:4:38: server.auth.tokens[0].role: unknown variant `root`, expected one of `read`, `ingest`, `admin`",
        ),
        (
            "alerting:\n  rules:\n    - name: r\n      expr: cpu_percent >> 80\n",
            "mon.yaml:4:7: alerting.rules[0].expr: rule \"r\": invalid expression \"cpu_percent >> 80\" at column",
        ),
        (
            "alerting:\n  rules:\n    - name: r\n      expr: cpu_precent > 80\n",
            "mon.yaml:4:7: alerting.rules[0].expr: rule \"r\": unknown variable `cpu_precent`; did you mean `cpu_percent`?",
        ),
        (
            "alerting:\n  channels: [{ name: ops, type: log }]\n  routes: [{ channels: [opz] }]\n",
            "mon.yaml:3:14: alerting.routes[0].channels: routes[0]: no channel named \"opz\"; did you mean \"ops\"?",
        ),
        (
            "alerting:\n  rules:\n    - name: r\n      expr: cpu_percent > 80\n      severity: urgent\n",
            "mon.yaml:5:7: alerting.rules[0].severity: unknown severity \"urgent\"",
        ),
        (
            "checks: [\n",
            "mon.yaml:2:1: did not find expected node content",
        ),
        ("storage:\n  queue_capacity: 0\n", "mon.yaml:1:1: storage: "),
        (
            "logging:\n  mask_patterns: [\"sk-(\"]\n",
            "mon.yaml:2:19: logging.mask_patterns[0]: \"sk-(\" is not a valid regular expression (unclosed group)",
        ),
        (
            "logging:\n  errors: { sample_rate: 1.5 }\n",
            "mon.yaml:2:13: logging.errors.sample_rate: 1.5 is not between 0 and 1",
        ),
        // Unknown keys: at the key, with the common keys listed and a suggestion.
        (
            "metrics:\n  intervall: 10s\n",
            "mon.yaml:2:3: metrics.intervall: unknown field `intervall`, expected one of `host`, `interval`,",
        ),
        (
            "checks:\n  - name: a\n    type: system\n    intervall: 10s\n",
            "mon.yaml:4:5: checks[0].intervall: unknown field `intervall`, expected one of `cpu_warning`",
        ),
        (
            "alerting:\n  channels:\n    - name: ops\n      type: log\n      timout: 3s\n",
            "mon.yaml:5:7: alerting.channels[0].timout: unknown field `timout`, expected one of `name`, `severities`, `send_resolved`, `timeout`, `type`; did you mean `timeout`?",
        ),
        (
            "checks:\n  - name: a\n    type: htp\n",
            "mon.yaml:3:5: checks[0].type: unknown check type `htp`, expected one of `command`, `dns`, `heartbeat`, `http`, `livekit`, `mysql`, `postgres`, `prometheus`, `railway`, `redis`, `supabase`, `system`, `tcp`, `tls_certificate`; did you mean `http`?",
        ),
        // A wrong shape at the key that has it.
        (
            "checks:\n  - name: a\n    type: http\n    url: http://x/\n    headers: [a, b]\n",
            "mon.yaml:5:5: checks[0].headers: invalid type: sequence, expected a map",
        ),
        // Nothing configured is a mistake, not the defaults.
        ("", "mon.yaml: the configuration file is empty"),
        (
            "# only a comment\n\n",
            "mon.yaml: the configuration file is empty",
        ),
        // Zero where a duration must be positive, in every section.
        (
            "metrics:\n  interval: 0s\n",
            "mon.yaml:2:3: metrics.interval: must be longer than zero",
        ),
        (
            "metrics:\n  resolution: 0s\n",
            "mon.yaml:2:3: metrics.resolution: must be longer than zero",
        ),
        (
            "server:\n  shutdown_timeout: 0s\n",
            "mon.yaml:2:3: server.shutdown_timeout: must be longer than zero",
        ),
        (
            "metrics:\n  exporters:\n    json: { path: /tmp/m.json, interval: 0s }\n",
            "mon.yaml:3:32: metrics.exporters.json.interval: must be longer than zero",
        ),
        (
            "alerting:\n  channels:\n    - { name: w, type: webhook, url: 'http://x/', timeout: 0s }\n",
            "mon.yaml:3:51: alerting.channels[0].timeout: must be longer than zero",
        ),
        (
            "checks:\n  - name: a\n    type: system\n    timeout: 0s\n",
            "mon.yaml:4:5: checks[0].timeout: must be longer than zero",
        ),
        (
            "alerting:\n  evaluation_interval: 0s\n",
            "mon.yaml:2:3: alerting.evaluation_interval: alerting.evaluation_interval must be longer than zero",
        ),
        // One token value under two roles.
        (
            "server:\n  auth:\n    tokens:\n      - { name: a, token: same-value, role: read }\n      - { name: b, token: same-value, role: admin }\n",
            "mon.yaml:5:20: server.auth.tokens[1].token: token \"b\" (role admin) has the same value as token \"a\" (role read)",
        ),
        // CEL type errors are config errors.
        (
            "alerting:\n  rules:\n    - name: r\n      expr: cpu_percent > \"a\"\n",
            "mon.yaml:4:7: alerting.rules[0].expr: rule \"r\": invalid expression \"cpu_percent > \\\"a\\\"\" at column 13: `>` compares a number with a string",
        ),
        (
            "alerting:\n  rules:\n    - name: r\n      expr: cpu_percent + 1.0\n",
            "mon.yaml:4:7: alerting.rules[0].expr: rule \"r\": invalid expression \"cpu_percent + 1.0\" at column 1: a condition must be true or false",
        ),
        // A URL's credentials never show, wherever the value came from.
        (
            "checks:\n  - name: a\n    type: postgres\n    url: postgres://u:PASSWORD@db:99999/app\n",
            "mon.yaml:4:5: checks[0].url: invalid port number: \"postgres://***@db:99999/app\"",
        ),
        (
            "checks:\n  - name: a\n    type: postgres\n    url: postgres://u:${ADMIN_TOKEN}@db:99999/app\n",
            "mon.yaml:4:5: checks[0].url: invalid port number: \"postgres://***@db:99999/app\"",
        ),
        (
            "logging:\n  retention: { audit: 365 }\n",
            "mon.yaml:2:16: logging.retention.audit: invalid duration \"365\"",
        ),
        (
            "metrics:\n  exporters:\n    remote_write:\n      url: http://x/w\n      batch_size: 0\n",
            "mon.yaml:5:7: metrics.exporters.remote_write.batch_size: must be from 1 to 100000, not 0",
        ),
        (
            "metrics:\n  exporters:\n    remote_write:\n      url: 'http://u:${ADMIN_TOKEN}@/w'\n",
            "mon.yaml:4:7: metrics.exporters.remote_write.url: \"http://***@/w\" is not an absolute http(s) URL",
        ),
        (
            "checks_shard: { index: 3, count: 3 }\n",
            "mon.yaml:1:17: checks_shard.index: must be from 0 to 2 (count - 1), not 3",
        ),
        (
            "checks_shard: { index: 0, count: 0 }\n",
            "mon.yaml:1:27: checks_shard.count: must be from 1 to 1024 (the number of instances), not 0",
        ),
        (
            "checks_shard: { index: 0, count: 2, of: 3 }\n",
            "mon.yaml:1:37: checks_shard.of: unknown field `of`, expected one of `index`, `count`",
        ),
        (
            "server:\n  external_labels: { replica-set: a }\n",
            "mon.yaml:2:22: server.external_labels.replica-set: ",
        ),
        (
            "server:\n  external_labels: { __replica: a }\n",
            "mon.yaml:2:22: server.external_labels.__replica: label name \"__replica\" must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __",
        ),
        // The hosted-dependency kinds: each field checked, at its line, without the secret.
        (
            "checks:\n  - name: a\n    type: supabase\n    url: ftp://x.supabase.co\n    api_key: PLNTkey\n",
            "mon.yaml:4:5: checks[0].url: unsupported scheme \"ftp\" in \"ftp://x.supabase.co/\": use an http:// or https:// URL",
        ),
        (
            "checks:\n  - name: a\n    type: supabase\n    url: https://x.supabase.co\n    apikey: PLNTkey\n",
            "mon.yaml:2:5: checks[0].api_key: missing field `api_key`\nmon.yaml:5:5: checks[0].apikey: unknown field `apikey`, expected one of `url`, `api_key`, `services`, `verify_tls`,",
        ),
        (
            "checks:\n  - name: a\n    type: railway\n    project_id: p-1\n    token: \"${NO_SUCH_VAR:-}\"\n",
            "mon.yaml:5:5: checks[0].token: is empty (is its environment variable set?)",
        ),
        (
            "checks:\n  - name: a\n    type: railway\n    project_id: p-1\n    token: PLNTtoken\n    token_kind: team\n",
            "mon.yaml:6:5: checks[0].token_kind: unknown variant `team`",
        ),
        (
            "checks:\n  - name: a\n    type: railway\n    project_id: p-1\n    token: PLNTtoken\n    endpoint: backboard.railway.com\n",
            "mon.yaml:6:5: checks[0].endpoint: relative URL without a base",
        ),
        (
            "checks:\n  - { name: a, type: supabase, url: 'https://x.supabase.co', api_key: k }\n  - { name: b, type: railway, project_id: p-1, token: t, services: [api] }\n",
            "ok",
        ),
        (
            "server:\n  external_labels: { replica: '' }\n",
            "mon.yaml:2:22: server.external_labels.replica: is empty; give the label a value",
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(yaml, expected)| {
            let got = load(yaml, &env());
            (!got.starts_with(expected))
                .then(|| format!("input:\n{yaml}\n got: {got}\nwant: {expected}…"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn external_url_defaults_to_the_listen_address() {
    for (yaml, want) in [
        ("{}", "http://127.0.0.1:8480"),
        (
            "server: { listen: '10.0.0.5:9000' }",
            "http://10.0.0.5:9000",
        ),
        (
            "server: { listen: '0.0.0.0:8480' }",
            "http://localhost:8480",
        ),
        ("server: { listen: '[::]:8480' }", "http://localhost:8480"),
        ("server: { listen: '[::1]:8480' }", "http://[::1]:8480"),
        (
            "server: { external_url: 'https://mon.example.com/ops/' }",
            "https://mon.example.com/ops",
        ),
    ] {
        let config = load_text(yaml, "mon.yaml", &env()).unwrap();
        assert_eq!(config.server.external_url(), want, "{yaml}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = load(
        "server:\n  auth:\n    tokens:\n      - { name: a, token: \"${X:-}\", role: read }\n\
         checks:\n  - name: a\n    type: system\n  - name: a\n    type: system\n",
        &env(),
    );
    assert_eq!(text.lines().count(), 2, "{text}");
    let text = load("a: ${ONE}\nb: ${TWO}\n", &env());
    assert_eq!(text.lines().count(), 2, "{text}");
    // Unknown keys in two sections (serde stops at the first): both, each at its key.
    let text = load(
        "server:\n  listn: 127.0.0.1:1\nchecks:\n  - name: a\n    type: system\n    intervall: 5s\n\
         alerting:\n  channels:\n    - { name: w, type: webhook, url: 'http://x/', foo: 1 }\n",
        &env(),
    );
    let positions = error_positions(&text);
    assert_eq!(
        positions,
        ["mon.yaml:2:3", "mon.yaml:6:5", "mon.yaml:9:51"],
        "{text}"
    );
    assert!(text.contains("did you mean `interval`"), "{text}");
    // Several problems in one section and in one entry: every one, each at its line.
    let text = load(
        "checks:\n  - name: a\n    type: system\n    intervall: 5s\n    timout: 1s\n\
         \x20 - name: b\n    type: system\n    interval: soon\n    nested:\n      x: 1\n",
        &env(),
    );
    let positions = error_positions(&text);
    assert_eq!(
        positions,
        [
            "mon.yaml:4:5",
            "mon.yaml:5:5",
            "mon.yaml:8:5",
            "mon.yaml:9:5"
        ],
        "{text}"
    );
    // Several unknown fields in one channel entry: every one, each at its key.
    let text = load(
        "alerting:\n  channels:\n    - name: w\n      type: webhook\n      url: 'http://x/'\n\
         \x20     foo: 1\n      bar: 2\n",
        &env(),
    );
    let positions = error_positions(&text);
    assert_eq!(positions, ["mon.yaml:6:7", "mon.yaml:7:7"], "{text}");
    assert!(text.contains("unknown field `foo`"), "{text}");
    assert!(text.contains("unknown field `bar`"), "{text}");
    // Two bad rules, a bad channel and a bad route: each at its own line.
    let text = load(
        "alerting:\n  rules:\n    - name: r1\n      expr: cpu_percent > \"a\"\n    - name: r2\n      expr: cpu_precent > 1\n\
         \x20 channels:\n    - { name: w, type: webhook, url: 'ftp://x/' }\n  routes:\n    - { channels: [nope] }\n",
        &env(),
    );
    let positions = error_positions(&text);
    assert_eq!(
        positions,
        [
            "mon.yaml:4:7",
            "mon.yaml:6:7",
            "mon.yaml:8:7",
            "mon.yaml:10:9"
        ],
        "{text}"
    );
    // Every unknown variable of one expression, each with its suggestion, at the expr.
    let text = load(
        "alerting:\n  rules:\n    - name: r\n      expr: cpu_percnt > 90 && memroy_percent > 80 || zzz > 1\n",
        &env(),
    );
    assert_eq!(
        error_positions(&text),
        ["mon.yaml:4:7", "mon.yaml:4:7", "mon.yaml:4:7"],
        "{text}"
    );
    for want in [
        "alerting.rules[0].expr: rule \"r\": unknown variable `cpu_percnt`; did you mean `cpu_percent`?",
        "alerting.rules[0].expr: rule \"r\": unknown variable `memroy_percent`; did you mean `memory_percent`?",
        "alerting.rules[0].expr: rule \"r\": unknown variable `zzz`; use a variable of the metrics catalog",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
    // An unknown key (serde stops there) does not hide the rules' and dashboards'
    // problems elsewhere in the file, nor a duplicate token after it.
    let text = load(
        "metrics:\n  intervall: 10s\nalerting:\n  rules:\n    - { name: r1, expr: cpu_percnt > 90 }\n\
         dashboards:\n  - id: d\n    title: D\n    panels:\n      - { id: p, title: P, kind: stat, metric: memory_percnt }\n\
         server:\n  auth:\n    tokens:\n      - { name: a, token: same, role: read }\n      - { name: b, token: same, role: admin }\n",
        &env(),
    );
    let positions = error_positions(&text);
    assert_eq!(
        positions,
        [
            "mon.yaml:2:3",
            "mon.yaml:5:19",
            "mon.yaml:10:40",
            "mon.yaml:15:20"
        ],
        "{text}"
    );
    assert!(text.contains("did you mean `interval`"), "{text}");
    assert!(text.contains("did you mean `cpu_percent`"), "{text}");
    assert!(text.contains("did you mean \"memory_percent\""), "{text}");
    // A section that does not read is left out, and its defaults raise nothing.
    let text = load(
        "checks:\n  - nme: a\n    type: system\nalerting:\n  rules:\n    - { name: r1, expr: cpu_percnt > 90 }\n",
        &env(),
    );
    assert_eq!(
        error_positions(&text),
        ["mon.yaml:2:5", "mon.yaml:6:19"],
        "{text}"
    );
    // A bad list item of one key (a route) does not hide a bad field of another (a channel).
    let text = load(
        "alerting:\n  channels:\n    - { name: w, type: webhook, url: 'http://x/', timout: 3s }\n\
         \x20 routes:\n    - { channels: [w], matchrs: [] }\n",
        &env(),
    );
    assert_eq!(
        error_positions(&text),
        ["mon.yaml:3:51", "mon.yaml:5:24"],
        "{text}"
    );
    assert!(text.contains("did you mean `timeout`"), "{text}");
    assert!(text.contains("did you mean `matchers`"), "{text}");
}

#[test]
fn values_from_the_environment_never_appear_in_errors() {
    let env = Environment::from_vars([
        ("DB_URL", "postgres://u:Var-Pa55@db:99999/app"),
        ("PORT_TEXT", "Var-Secret-Port"),
        (
            "MON__CHECKS__0__URL",
            "postgres://u:Override-Pa55@db:99999/app",
        ),
        ("MON__SERVER__LISTEN", "127.0.0.1:Override-Port"),
    ]);
    let only = |names: &[&str]| {
        Environment::from_vars(
            env.vars
                .iter()
                .filter(|(k, _)| names.contains(&k.as_str()))
                .cloned(),
        )
    };
    let postgres = "checks:\n  - { name: a, type: postgres, url: 'postgres://db/app' }\n";
    for (yaml, env) in [
        (
            "checks:\n  - { name: a, type: postgres, url: '${DB_URL}' }\n",
            only(&["DB_URL"]),
        ),
        (
            "server:\n  listen: '127.0.0.1:${PORT_TEXT}'\n",
            only(&["PORT_TEXT"]),
        ),
        (postgres, only(&["MON__CHECKS__0__URL"])),
        (postgres, only(&["MON__SERVER__LISTEN"])),
    ] {
        let text = load(yaml, &env);
        assert_ne!(text, "ok", "{yaml}");
        for secret in ["Pa55", "Secret-Port", "Override-Port"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

#[test]
fn substituted_values_are_data() {
    let env = Environment::from_vars([("PW", "Zq9 #rest: 'x\" {a}")]);
    let config = load_text(
        "server:\n  auth:\n    tokens:\n      - { name: a, token: ${PW}, role: read }\n\
         \x20     - name: b\n        token: \"${PW}-2\"\n        role: read\n",
        "mon.yaml",
        &env,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.server.auth.tokens[0].token.expose(),
        "Zq9 #rest: 'x\" {a}"
    );
    assert_eq!(
        config.server.auth.tokens[1].token.expose(),
        "Zq9 #rest: 'x\" {a}-2"
    );
    assert_eq!(
        config.substituted_values().collect::<Vec<_>>(),
        ["Zq9 #rest: 'x\" {a}", "Zq9 #rest: 'x\" {a}"]
    );
}

#[test]
fn secrets_never_appear_in_errors() {
    let text = load(
        "server:\n  auth:\n    tokens:\n      - { name: ops, token: \"${ADMIN_TOKEN}\", role: admin }\n  lisen: x\n",
        &env(),
    );
    assert!(text.contains("server.lisen"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
    let config = load_text(
        "server:\n  auth:\n    tokens:\n      - { name: ops, token: \"${ADMIN_TOKEN}\", role: admin }\n",
        "mon.yaml",
        &env(),
    )
    .unwrap();
    assert_eq!(
        config.server.auth.tokens[0].token.expose(),
        "s3cret-admin-token"
    );
    assert!(!format!("{config:?}").contains("s3cret"));
    assert!(
        !serde_json::to_string(&config.server)
            .unwrap()
            .contains("s3cret")
    );
}

#[test]
fn environment_overrides_apply_on_top_of_the_file() {
    let env = Environment::from_vars([
        ("MON__SERVER__LISTEN", "127.0.0.1:9999"),
        ("MON__CHECKS__0__INTERVAL", "5s"),
        ("MON__STORAGE__PATH", "/tmp/other.db"),
    ]);
    let config = load_text(
        "checks:\n  - name: host\n    type: system\n",
        "mon.yaml",
        &env,
    )
    .unwrap();
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(config.checks[0].interval, std::time::Duration::from_secs(5));
    assert_eq!(
        config.storage.path,
        std::path::PathBuf::from("/tmp/other.db")
    );

    let bad = Environment::from_vars([("MON__SERVER__LISTEN", "nowhere")]);
    let text = load("server:\n  listen: 127.0.0.1:1\n", &bad);
    assert!(
        text.starts_with(
            "<environment>: after applying MON__SERVER__LISTEN: invalid socket address"
        ),
        "{text}"
    );
    let typo = Environment::from_vars([("MON__SERVER__LISTN", "127.0.0.1:1")]);
    let text = load("server: {}\n", &typo);
    assert!(text.contains("unknown field `listn`"), "{text}");
}

#[test]
fn builtin_default_is_valid_and_as_documented() {
    let config = Config::builtin().unwrap();
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8480");
    assert_eq!(
        config.storage.path,
        std::path::PathBuf::from("./mon-data/mon.db")
    );
    assert!(config.metrics.host && config.server.self_check && config.alerting.default_rules);
    assert_eq!(config.checks.len(), 1);
    assert_eq!(config.checks[0].kind.name, "system");
    assert_eq!(config.alerting.channels.len(), 1);
    // The seed's security policy: 5 failed logins within 300 s.
    assert_eq!(
        (
            config.security.max_failed_logins,
            config.security.failed_login_window
        ),
        (5, std::time::Duration::from_secs(300))
    );
    // The struct defaults are valid too.
    assert_eq!(load("server: {}\n", &env()), "ok");
}

#[test]
fn the_example_config_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mon.yaml");
    let config =
        Config::load(Some(&path), &Environment::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.checks.len() >= 2);
    assert!(
        config
            .alerting
            .rules
            .iter()
            .any(|r| r.expr == "avg_api_latency_ms > 5000")
    );
}

#[test]
fn the_livekit_example_config_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/livekit.yaml");
    let config =
        Config::load(Some(&path), &Environment::default()).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<&str> = config.checks.iter().map(|c| c.kind.name.as_str()).collect();
    assert_eq!(kinds, ["livekit", "prometheus"]);
    // The usual LiveKit rules, as written.
    for expr in [
        "avg_api_latency_ms > 5000",
        "connection_success_rate < 0.8",
        "room_creation_failures > 5",
        "active_rooms > 100",
    ] {
        assert!(
            config.alerting.rules.iter().any(|r| r.expr == expr),
            "{expr} missing"
        );
    }
    let (key, secret) = config.livekit_webhook_keys().expect("webhook keys");
    assert_eq!((key.as_str(), secret.expose()), ("devkey", "secret"));
}

#[test]
fn livekit_webhook_keys_default_to_the_first_livekit_check() {
    let yaml = "checks:\n  - { name: lk, type: livekit, url: 'https://lk.example', api_key: k1, api_secret: s1 }\n";
    let config = load_text(yaml, "mon.yaml", &env()).unwrap();
    let (key, secret) = config.livekit_webhook_keys().unwrap();
    assert_eq!((key.as_str(), secret.expose()), ("k1", "s1"));
    assert!(Config::builtin().unwrap().livekit_webhook_keys().is_none());
    assert!(
        load(
            "livekit:\n  webhook: { api_key: '', api_secret: x }\n",
            &env()
        )
        .contains("livekit.webhook.api_key")
    );
}

#[test]
fn kind_field_errors_hide_values_from_the_environment() {
    let env = Environment::from_vars([("KEY", "PLNTnotANumber"), ("TLS", "PLNTnoSuchMode")]);
    let yaml = "alerting:\n  channels:\n    - { name: mail, type: email, host: h, port: ${KEY}, \
                tls: ${TLS}, from: a@b.c, to: [d@e.f] }\n";
    let errors = load_text(yaml, "mon.yaml", &env).unwrap_err().to_string();
    assert!(errors.contains("channels[0]"), "{errors}");
    assert!(!errors.contains("PLNT"), "{errors}");
}

#[test]
fn an_unknown_type_is_marked_as_a_kind_the_loader_lacks() {
    let yaml = "checks:\n  - name: trunk\n    type: sip_options\n    address: x:5060\n  - name: b\n    type: htp\n\
                alerting:\n  channels:\n    - { name: audit, type: jsonl, path: /tmp/p }\n    - { name: w, type: webhook }\n";
    let errors = load_text(yaml, "mon.yaml", &env()).unwrap_err();
    let marked: Vec<(Option<&str>, Option<&str>)> = errors
        .0
        .iter()
        .map(|e| (e.path.as_deref(), e.unknown_kind.as_deref()))
        .collect();
    assert_eq!(
        marked,
        [
            (Some("checks[0].type"), Some("sip_options")),
            (Some("checks[1].type"), Some("htp")),
            (Some("alerting.channels[0].type"), Some("jsonl")),
            (Some("alerting.channels[1].url"), None),
        ],
        "{errors}"
    );
    assert_eq!(errors.unknown_kinds(), ["sip_options", "htp", "jsonl"]);
    let report = errors.report();
    assert!(
        report.starts_with("mon.yaml:3:5: checks[0].type: unknown check type `sip_options`"),
        "{report}"
    );
    assert!(report.ends_with("\n4 errors found"), "{report}");
}

#[test]
fn check_names_the_file_and_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.yaml");
    std::fs::write(&path, "checks:\n  - name: a\n    type: system\n").unwrap();
    let line = check(Some(&path), &env(), &builtin_kinds()).unwrap();
    assert_eq!(
        line,
        format!(
            "{}: ok (1 checks, 0 alert rules, 1 channels)",
            path.display()
        )
    );
    let line = check(None, &env(), &builtin_kinds()).unwrap();
    assert!(line.starts_with("<built-in default>: ok ("), "{line}");
    std::fs::write(&path, "checks:\n  - name: a\n    type: heartbeat\n").unwrap();
    let errors = check(Some(&path), &env(), &builtin_kinds()).unwrap_err();
    assert_eq!(
        errors.report(),
        format!(
            "{}:2:5: checks[0].period: missing field `period`\n1 error found",
            path.display()
        )
    );
}

/// The built-in default (no file) with the seeds' variables of `vars` set.
fn builtin_with(vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    Config::load(None, &Environment::from_vars(vars.iter().copied()))
}

#[test]
fn seed_variables_configure_the_builtin_default() {
    let config = builtin_with(&[
        ("LIVEKIT_URL", "wss://lk.example.com"),
        ("LIVEKIT_API_KEY", "APIseedKey"),
        ("LIVEKIT_API_SECRET", "PLNTlivekitSecret"),
        ("ALERT_WEBHOOK_URL", "https://hooks.example.com/PLNThook"),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T0/B0/PLNTslack",
        ),
        ("LOG_DIR", "/var/log/mon"),
        ("LOG_LEVEL", "WARNING"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let checks: Vec<(&str, &str)> = config
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.kind.name.as_str()))
        .collect();
    assert_eq!(checks, [("host", "system"), ("livekit", "livekit")]);
    let (key, secret) = config
        .livekit_webhook_keys()
        .expect("webhook keys from the check");
    assert_eq!(
        (key.as_str(), secret.expose()),
        ("APIseedKey", "PLNTlivekitSecret")
    );
    let channels: Vec<(&str, &str)> = config
        .alerting
        .channels
        .iter()
        .map(|c| (c.name.as_str(), c.kind.name.as_str()))
        .collect();
    assert_eq!(
        channels,
        [
            ("log", "log"),
            ("alert_webhook", "webhook"),
            ("slack", "slack")
        ]
    );
    let slack: mon_alerting::channels::slack::SlackChannelConfig =
        config.alerting.channels[2].kind.parse().unwrap();
    assert_eq!(
        slack.webhook_url.expose(),
        "https://hooks.slack.com/services/T0/B0/PLNTslack"
    );
    assert_eq!(
        config.logging.dir,
        Some(std::path::PathBuf::from("/var/log/mon"))
    );
    // Secrets stay out of what can be printed.
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("PLNTlivekitSecret") && !debug.contains("PLNTslack"),
        "{debug}"
    );

    // Keys alone: the webhook receiver's keys, no check.
    let config =
        builtin_with(&[("LIVEKIT_API_KEY", "k"), ("LIVEKIT_API_SECRET", "s3cr3t")]).unwrap();
    assert_eq!(config.checks.len(), 1);
    let (key, secret) = config.livekit_webhook_keys().unwrap();
    assert_eq!((key.as_str(), secret.expose()), ("k", "s3cr3t"));

    // Unset or empty: the built-in default as it is.
    let plain = builtin_with(&[("LOG_DIR", ""), ("SLACK_WEBHOOK_URL", " ")]).unwrap();
    assert_eq!(plain.checks.len(), 1);
    assert_eq!(plain.alerting.channels.len(), 1);
    assert_eq!(plain.logging.dir, None);
}

#[test]
fn seed_variables_add_email_pushgateway_and_intervals() {
    let config = builtin_with(&[
        (
            "ALERT_SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T0/B0/PLNTslack",
        ),
        ("ALERT_EMAIL_SMTP_HOST", "smtp.example.com"),
        ("ALERT_EMAIL_SMTP_PORT", "2525"),
        ("ALERT_EMAIL_USERNAME", "alerts@example.com"),
        ("ALERT_EMAIL_PASSWORD", "PLNTapp password #1"),
        ("ALERT_EMAIL_FROM", "alerts@example.com"),
        ("ALERT_EMAIL_TO", "admin@example.com, oncall@example.com"),
        ("PROMETHEUS_PUSHGATEWAY_URL", "http://127.0.0.1:9091"),
        ("METRICS_EXPORT_INTERVAL", "30"),
        ("HEALTH_CHECK_INTERVAL", "45"),
        ("ALERT_CHECK_INTERVAL", "1m"),
        ("LIVEKIT_URL", "wss://lk.example.com"),
        ("LIVEKIT_API_KEY", "k"),
        ("LIVEKIT_API_SECRET", "s"),
        ("LIVEKIT_MONITORING_INTERVAL", "60"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let channels: Vec<(&str, &str)> = config
        .alerting
        .channels
        .iter()
        .map(|c| (c.name.as_str(), c.kind.name.as_str()))
        .collect();
    assert_eq!(
        channels,
        [("log", "log"), ("slack", "slack"), ("email", "email")]
    );
    let email: mon_alerting::channels::email::EmailChannelConfig =
        config.alerting.channels[2].kind.parse().unwrap();
    assert_eq!(
        (email.host.as_str(), email.port, email.from.as_str()),
        ("smtp.example.com", Some(2525), "alerts@example.com")
    );
    assert_eq!(email.to, ["admin@example.com", "oncall@example.com"]);
    assert_eq!(email.username.as_deref(), Some("alerts@example.com"));
    assert_eq!(
        email.password.as_ref().map(|p| p.expose()),
        Some("PLNTapp password #1")
    );
    let pushgateway = config.metrics.exporters.pushgateway.as_ref().unwrap();
    assert_eq!(
        (pushgateway.url.as_str(), pushgateway.interval),
        ("http://127.0.0.1:9091", Duration::from_secs(30))
    );
    let intervals: Vec<(&str, Duration)> = config
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.interval))
        .collect();
    assert_eq!(
        intervals,
        [
            ("host", Duration::from_secs(45)),
            ("livekit", Duration::from_secs(60))
        ]
    );
    assert_eq!(config.alerting.evaluation_interval, Duration::from_secs(60));
    let debug = format!("{config:?}");
    assert!(!debug.contains("PLNT"), "{debug}");

    for (vars, message) in [
        (
            &[("ALERT_EMAIL_SMTP_HOST", "smtp.example.com")][..],
            "ALERT_EMAIL_SMTP_HOST is set but ALERT_EMAIL_FROM and ALERT_EMAIL_TO are not",
        ),
        (
            &[
                ("ALERT_EMAIL_SMTP_HOST", "h"),
                ("ALERT_EMAIL_FROM", "a@b.c"),
                ("ALERT_EMAIL_TO", "a@b.c"),
                ("ALERT_EMAIL_PASSWORD", "PLNTpw"),
            ][..],
            "ALERT_EMAIL_PASSWORD is set but ALERT_EMAIL_USERNAME is not",
        ),
        (
            &[("METRICS_EXPORT_INTERVAL", "30")][..],
            "METRICS_EXPORT_INTERVAL is set but PROMETHEUS_PUSHGATEWAY_URL is not",
        ),
        (
            &[("LIVEKIT_MONITORING_INTERVAL", "30")][..],
            "LIVEKIT_MONITORING_INTERVAL is set but LIVEKIT_URL is not",
        ),
        (
            &[
                (
                    "SLACK_WEBHOOK_URL",
                    "https://hooks.slack.com/services/PLNTa",
                ),
                (
                    "ALERT_SLACK_WEBHOOK_URL",
                    "https://hooks.slack.com/services/PLNTb",
                ),
            ][..],
            "SLACK_WEBHOOK_URL and ALERT_SLACK_WEBHOOK_URL are both set",
        ),
    ] {
        let errors = builtin_with(vars).unwrap_err().to_string();
        assert!(errors.contains(message), "{vars:?}: {errors}");
        assert!(!errors.contains("PLNT"), "{errors}");
    }
    // A bad interval is the field's own error.
    let errors = builtin_with(&[("HEALTH_CHECK_INTERVAL", "soon")])
        .unwrap_err()
        .to_string();
    assert!(errors.contains("checks[0].interval"), "{errors}");
}

#[test]
fn seed_variables_leave_a_file_alone_and_name_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.yaml");
    std::fs::write(&path, "checks: []\n").unwrap();
    let env = Environment::from_vars([
        ("LIVEKIT_URL", "wss://lk.example.com"),
        ("LIVEKIT_API_KEY", "k"),
        ("LIVEKIT_API_SECRET", "s"),
        ("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/x"),
    ]);
    let config = Config::load(Some(&path), &env).unwrap();
    assert!(config.checks.is_empty());
    assert_eq!(config.alerting.channels.len(), 1);

    for (vars, message) in [
        (
            &[("LIVEKIT_URL", "wss://lk.example.com")][..],
            "LIVEKIT_URL is set but LIVEKIT_API_KEY and LIVEKIT_API_SECRET are not",
        ),
        (
            &[("LIVEKIT_URL", "wss://x"), ("LIVEKIT_API_KEY", "k")][..],
            "LIVEKIT_URL is set but LIVEKIT_API_SECRET is not",
        ),
        (
            &[("LIVEKIT_API_SECRET", "PLNTsecret")][..],
            "LIVEKIT_API_SECRET is set but LIVEKIT_API_KEY is not",
        ),
    ] {
        let errors = builtin_with(vars).unwrap_err().to_string();
        assert!(errors.contains(message), "{vars:?}: {errors}");
        assert!(errors.contains("<environment>"), "{errors}");
        assert!(!errors.contains("PLNT"), "{errors}");
    }
    // A bad value is the field's own error, its value hidden.
    let errors = builtin_with(&[("ALERT_WEBHOOK_URL", "PLNTnot a url")])
        .unwrap_err()
        .to_string();
    assert!(errors.contains("alerting.channels[1]"), "{errors}");
    assert!(!errors.contains("PLNT"), "{errors}");
}
