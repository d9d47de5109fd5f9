//! Every duration field of the configuration refuses values the server cannot run
//! with (longer than 100 years, or overflowing), as a config error with the field's
//! line:column.

use mon_config::{Environment, load_text};

/// One YAML document per duration field; `{d}` is where the value goes.
const FIELDS: &[(&str, &str)] = &[
    (
        "server.shutdown_timeout",
        "server:\n  shutdown_timeout: {d}\n",
    ),
    (
        "server.limits.request_timeout",
        "server:\n  limits:\n    request_timeout: {d}\n",
    ),
    (
        "server.security.failed_login_window",
        "server:\n  security:\n    failed_login_window: {d}\n",
    ),
    (
        "server.security.block_duration",
        "server:\n  security:\n    block_duration: {d}\n",
    ),
    (
        // serde names the route, not `window`, inside a map's values.
        "server.security.rate_limits./login",
        "server:\n  security:\n    rate_limits:\n      /login: { limit: 5, window: {d} }\n",
    ),
    (
        "storage.retention.check_results",
        "storage:\n  retention:\n    check_results: {d}\n",
    ),
    (
        "storage.retention.samples",
        "storage:\n  retention:\n    samples: {d}\n",
    ),
    (
        "storage.retention.interval",
        "storage:\n  retention:\n    interval: {d}\n",
    ),
    (
        "logging.retention.app",
        "logging:\n  retention:\n    app: {d}\n",
    ),
    (
        "logging.retention.errors",
        "logging:\n  retention:\n    errors: {d}\n",
    ),
    (
        "logging.retention.audit",
        "logging:\n  retention:\n    audit: {d}\n",
    ),
    (
        "logging.retention.performance",
        "logging:\n  retention:\n    performance: {d}\n",
    ),
    (
        "logging.search.retention",
        "logging:\n  search:\n    retention: {d}\n",
    ),
    (
        "checks[0].interval",
        "checks:\n  - name: host\n    type: system\n    interval: {d}\n",
    ),
    (
        "checks[0].timeout",
        "checks:\n  - name: host\n    type: system\n    timeout: {d}\n",
    ),
    (
        "checks[0].max_latency",
        "checks:\n  - name: web\n    type: http\n    url: http://127.0.0.1:9/\n    max_latency: {d}\n",
    ),
    (
        "checks[0].thresholds.response_time",
        "checks:\n  - name: host\n    type: system\n    thresholds:\n      response_time: {d}\n",
    ),
    (
        "checks[0].thresholds.window",
        "checks:\n  - name: host\n    type: system\n    thresholds:\n      window: {d}\n",
    ),
    (
        "checks[0].period",
        "checks:\n  - name: backup\n    type: heartbeat\n    period: {d}\n",
    ),
    (
        "checks[0].grace",
        "checks:\n  - name: backup\n    type: heartbeat\n    period: 1d\n    grace: {d}\n",
    ),
    ("metrics.interval", "metrics:\n  interval: {d}\n"),
    (
        "metrics.slow_request_threshold",
        "metrics:\n  slow_request_threshold: {d}\n",
    ),
    ("metrics.resolution", "metrics:\n  resolution: {d}\n"),
    (
        "metrics.series.minute_retention",
        "metrics:\n  series:\n    minute_retention: {d}\n",
    ),
    (
        "metrics.series.hour_retention",
        "metrics:\n  series:\n    hour_retention: {d}\n",
    ),
    (
        "metrics.series.events_retention",
        "metrics:\n  series:\n    events_retention: {d}\n",
    ),
    (
        "metrics.series.interval",
        "metrics:\n  series:\n    interval: {d}\n",
    ),
    (
        "metrics.exporters.pushgateway.interval",
        "metrics:\n  exporters:\n    pushgateway:\n      url: http://127.0.0.1:9091\n      interval: {d}\n",
    ),
    (
        "metrics.exporters.json.interval",
        "metrics:\n  exporters:\n    json:\n      path: /tmp/m.json\n      interval: {d}\n",
    ),
    (
        "alerting.evaluation_interval",
        "alerting:\n  evaluation_interval: {d}\n",
    ),
    (
        "alerting.history_retention",
        "alerting:\n  history_retention: {d}\n",
    ),
    (
        "alerting.retry.initial_backoff",
        "alerting:\n  retry:\n    initial_backoff: {d}\n",
    ),
    (
        "alerting.retry.max_backoff",
        "alerting:\n  retry:\n    max_backoff: {d}\n",
    ),
    (
        "alerting.rules[0].for",
        "alerting:\n  rules:\n    - name: r\n      expr: cpu_percent > 90\n      for: {d}\n",
    ),
    (
        "alerting.rules[0].keep_firing_for",
        "alerting:\n  rules:\n    - name: r\n      expr: cpu_percent > 90\n      keep_firing_for: {d}\n",
    ),
    (
        "alerting.rules[0].repeat_interval",
        "alerting:\n  rules:\n    - name: r\n      expr: cpu_percent > 90\n      repeat_interval: {d}\n",
    ),
    (
        "alerting.rules[0].cooldown",
        "alerting:\n  rules:\n    - name: r\n      expr: cpu_percent > 90\n      cooldown: {d}\n",
    ),
    (
        "alerting.channels[0].timeout",
        "alerting:\n  channels:\n    - name: hook\n      type: webhook\n      url: http://127.0.0.1:9/\n      timeout: {d}\n",
    ),
];

/// Longer than 100 years, or beyond what any clock or integer holds.
const HUGE: &[&str] = &[
    "300000y",
    "100000000000d",
    "101y",
    "18446744073709551615s",
    "99999999999999999999999ms",
];

#[test]
fn huge_durations_are_config_errors_with_line_and_column() {
    for (field, template) in FIELDS {
        // The largest accepted value loads (100 years): the limit is the same everywhere.
        let text = template.replace("{d}", "100y");
        if let Err(e) = load_text(&text, "mon.yaml", &Environment::default()) {
            assert!(
                !e.to_string().contains("too long"),
                "{field}: 100y is accepted: {e}"
            );
        }
        for huge in HUGE {
            let text = template.replace("{d}", huge);
            let line = text
                .lines()
                .position(|l| l.contains(huge))
                .expect("value line")
                + 1;
            let errors = load_text(&text, "mon.yaml", &Environment::default())
                .expect_err(&format!("{field}: {huge} is refused"))
                .0;
            let error = &errors[0];
            let (at, _column) = error
                .position
                .unwrap_or_else(|| panic!("{field}: {huge}: no line:column in {error}"));
            assert_eq!(at, line, "{field}: {huge}: {error}");
            assert!(error.to_string().contains(huge), "{field}: {error}");
            let key = field.rsplit('.').next().expect("key");
            assert!(
                error.to_string().contains(key),
                "{field}: {huge}: the error names the field: {error}"
            );
        }
    }
}
