//! The seeds' environment variables on the built-in default: when mon-server runs
//! without `-c`, the variables of [`SEED_VARIABLES`] (LiveKit, the alert channels, the
//! Pushgateway, the check and evaluation intervals, `LOG_DIR`) add what they name to it.
//! A configuration file is not changed by them (write `${VAR}` in it instead).
//!
//! Each value enters as a `${VAR}` reference, so it goes through the same substitution as
//! a file's: secrets become [`Secret`](mon_core::Secret)s and are written `***` in errors.

use crate::{ConfigError, Environment};
use serde_yaml_ng::{Mapping, Value};

/// The variables this module reads, in the order they are documented.
pub const SEED_VARIABLES: &[&str] = &[
    "LIVEKIT_URL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "LIVEKIT_MONITORING_INTERVAL",
    "ALERT_WEBHOOK_URL",
    "SLACK_WEBHOOK_URL",
    "ALERT_SLACK_WEBHOOK_URL",
    "ALERT_EMAIL_SMTP_HOST",
    "ALERT_EMAIL_SMTP_PORT",
    "ALERT_EMAIL_USERNAME",
    "ALERT_EMAIL_PASSWORD",
    "ALERT_EMAIL_FROM",
    "ALERT_EMAIL_TO",
    "PROMETHEUS_PUSHGATEWAY_URL",
    "METRICS_EXPORT_INTERVAL",
    "HEALTH_CHECK_INTERVAL",
    "ALERT_CHECK_INTERVAL",
    "LOG_DIR",
];

/// The source name of errors about the seeds' variables.
const SOURCE: &str = "<environment>";

fn error(message: String) -> ConfigError {
    ConfigError {
        source: SOURCE.to_owned(),
        position: None,
        path: None,
        message,
        unknown_kind: None,
    }
}

/// A YAML mapping of `(key, value)` pairs.
fn mapping<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Mapping(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect::<Mapping>(),
    )
}

/// `${NAME}`, substituted later like a file's reference.
fn reference(name: &str) -> Value {
    Value::from(format!("${{{name}}}"))
}

/// The mapping at `path` of `root`, each level created when absent.
fn section<'a>(root: &'a mut Value, path: &[&str]) -> Option<&'a mut Mapping> {
    let mut node = root;
    for key in path {
        let next = node
            .as_mapping_mut()?
            .entry(Value::from(*key))
            .or_insert(Value::Null);
        if next.is_null() {
            *next = Value::Mapping(Mapping::new());
        }
        node = next;
    }
    node.as_mapping_mut()
}

/// The list at `path` of `root`, created when absent.
fn list<'a>(root: &'a mut Value, path: &[&str]) -> Option<&'a mut Vec<Value>> {
    let (last, parents) = path.split_last()?;
    let node = section(root, parents)?
        .entry(Value::from(*last))
        .or_insert(Value::Null);
    if node.is_null() {
        *node = Value::Sequence(Vec::new());
    }
    node.as_sequence_mut()
}

/// The built-in default's text with what the seeds' variables set in `env` add:
///
/// - `LIVEKIT_URL` with `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET`: a `livekit` check
///   named `livekit` (whose key pair also verifies LiveKit webhooks), every
///   `LIVEKIT_MONITORING_INTERVAL`;
/// - `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET` without `LIVEKIT_URL`: `livekit.webhook`;
/// - `ALERT_WEBHOOK_URL`: a `webhook` channel named `alert_webhook`;
/// - `SLACK_WEBHOOK_URL` (or seed 000's `ALERT_SLACK_WEBHOOK_URL`): a `slack` channel named
///   `slack`;
/// - `ALERT_EMAIL_SMTP_HOST`, `ALERT_EMAIL_FROM`, `ALERT_EMAIL_TO` (one address or several
///   separated by commas), with `ALERT_EMAIL_SMTP_PORT` and `ALERT_EMAIL_USERNAME` with
///   `ALERT_EMAIL_PASSWORD` when set: an `email` channel named `email`;
/// - `PROMETHEUS_PUSHGATEWAY_URL`: `metrics.exporters.pushgateway`, pushing every
///   `METRICS_EXPORT_INTERVAL`;
/// - `HEALTH_CHECK_INTERVAL`: the interval of the default's checks;
///   `ALERT_CHECK_INTERVAL`: `alerting.evaluation_interval`;
/// - `LOG_DIR`: `logging.dir`.
///
/// Intervals are seconds (`30`, as the seeds write them) or durations (`30s`). An empty
/// variable counts as unset. A variable that needs others (`LIVEKIT_URL` without both
/// keys, a part of the e-mail set without host, sender and recipients, an interval without
/// what it paces), or both names of the Slack URL, is an error naming the variables.
pub(crate) fn builtin_text(base: &str, env: &Environment) -> Result<String, ConfigError> {
    let set = |name: &str| env.get(name).is_some_and(|v| !v.trim().is_empty());
    if !SEED_VARIABLES.iter().any(|name| set(name)) {
        return Ok(base.to_owned());
    }
    let mut root: Value = serde_yaml_ng::from_str(base)
        .map_err(|e| error(format!("the built-in default does not parse: {e}")))?;
    let shape = |what: &str| error(format!("the built-in default has no mapping at {what}"));
    // `given` is set: every one of `needed` must be too.
    let require = |given: &str, needed: &[&str], hint: &str| -> Result<(), ConfigError> {
        let missing: Vec<&str> = needed.iter().copied().filter(|n| !set(n)).collect();
        if !set(given) || missing.is_empty() {
            return Ok(());
        }
        let verb = if missing.len() == 1 { "is" } else { "are" };
        Err(error(format!(
            "{given} is set but {} {verb} not: {hint}",
            missing.join(" and ")
        )))
    };
    // An interval: whole seconds as the seeds write them, or a duration.
    let interval = |name: &str| {
        let value = env.get(name).unwrap_or_default();
        if value.trim().chars().all(|c| c.is_ascii_digit()) {
            Value::from(format!("${{{name}}}s"))
        } else {
            reference(name)
        }
    };

    let keys_hint = "set LIVEKIT_API_KEY and LIVEKIT_API_SECRET together \
                     (with LIVEKIT_URL for a livekit check, without it for webhooks only)";
    let pair = ["LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"];
    require("LIVEKIT_URL", &pair, keys_hint)?;
    require("LIVEKIT_API_KEY", &pair, keys_hint)?;
    require("LIVEKIT_API_SECRET", &pair, keys_hint)?;
    require(
        "LIVEKIT_MONITORING_INTERVAL",
        &["LIVEKIT_URL"],
        "it paces the livekit check, which LIVEKIT_URL adds",
    )?;
    let email_hint = "an email channel needs ALERT_EMAIL_SMTP_HOST, ALERT_EMAIL_FROM and \
                      ALERT_EMAIL_TO (ALERT_EMAIL_USERNAME and ALERT_EMAIL_PASSWORD together)";
    let email = [
        "ALERT_EMAIL_SMTP_HOST",
        "ALERT_EMAIL_FROM",
        "ALERT_EMAIL_TO",
    ];
    for given in SEED_VARIABLES
        .iter()
        .filter(|v| v.starts_with("ALERT_EMAIL_"))
    {
        require(given, &email, email_hint)?;
    }
    require(
        "ALERT_EMAIL_USERNAME",
        &["ALERT_EMAIL_PASSWORD"],
        email_hint,
    )?;
    require(
        "ALERT_EMAIL_PASSWORD",
        &["ALERT_EMAIL_USERNAME"],
        email_hint,
    )?;
    require(
        "METRICS_EXPORT_INTERVAL",
        &["PROMETHEUS_PUSHGATEWAY_URL"],
        "it paces the Pushgateway exporter, which PROMETHEUS_PUSHGATEWAY_URL adds",
    )?;
    if set("SLACK_WEBHOOK_URL") && set("ALERT_SLACK_WEBHOOK_URL") {
        return Err(error(
            "SLACK_WEBHOOK_URL and ALERT_SLACK_WEBHOOK_URL are both set: they name the same \
             slack channel, set one"
                .to_owned(),
        ));
    }

    let checks = list(&mut root, &["checks"]).ok_or_else(|| shape("checks"))?;
    if set("HEALTH_CHECK_INTERVAL") {
        for check in checks.iter_mut().filter_map(Value::as_mapping_mut) {
            check.insert(Value::from("interval"), interval("HEALTH_CHECK_INTERVAL"));
        }
    }
    if set("LIVEKIT_URL") {
        let every = ["LIVEKIT_MONITORING_INTERVAL", "HEALTH_CHECK_INTERVAL"]
            .into_iter()
            .find(|name| set(name));
        let check = [
            ("name", Value::from("livekit")),
            ("type", Value::from("livekit")),
            ("url", reference("LIVEKIT_URL")),
            ("api_key", reference("LIVEKIT_API_KEY")),
            ("api_secret", reference("LIVEKIT_API_SECRET")),
        ]
        .into_iter()
        .chain(every.map(|name| ("interval", interval(name))));
        checks.push(mapping(check));
    } else if set("LIVEKIT_API_KEY") {
        let webhook = mapping([
            ("api_key", reference("LIVEKIT_API_KEY")),
            ("api_secret", reference("LIVEKIT_API_SECRET")),
        ]);
        section(&mut root, &["livekit"])
            .ok_or_else(|| shape("livekit"))?
            .insert(Value::from("webhook"), webhook);
    }

    let mut channels = Vec::new();
    if set("ALERT_WEBHOOK_URL") {
        channels.push(vec![
            ("name", Value::from("alert_webhook")),
            ("type", Value::from("webhook")),
            ("url", reference("ALERT_WEBHOOK_URL")),
        ]);
    }
    if let Some(slack) = ["SLACK_WEBHOOK_URL", "ALERT_SLACK_WEBHOOK_URL"]
        .into_iter()
        .find(|name| set(name))
    {
        channels.push(vec![
            ("name", Value::from("slack")),
            ("type", Value::from("slack")),
            ("webhook_url", reference(slack)),
        ]);
    }
    if set("ALERT_EMAIL_SMTP_HOST") {
        // Addresses are not secrets: the list is written out, one address an item.
        let to: Vec<Value> = env
            .get("ALERT_EMAIL_TO")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(Value::from)
            .collect();
        let mut channel = vec![
            ("name", Value::from("email")),
            ("type", Value::from("email")),
            ("host", reference("ALERT_EMAIL_SMTP_HOST")),
            ("from", reference("ALERT_EMAIL_FROM")),
            ("to", Value::Sequence(to)),
        ];
        for (key, name) in [
            ("port", "ALERT_EMAIL_SMTP_PORT"),
            ("username", "ALERT_EMAIL_USERNAME"),
            ("password", "ALERT_EMAIL_PASSWORD"),
        ] {
            if set(name) {
                channel.push((key, reference(name)));
            }
        }
        channels.push(channel);
    }
    let configured =
        list(&mut root, &["alerting", "channels"]).ok_or_else(|| shape("alerting.channels"))?;
    configured.extend(channels.into_iter().map(mapping));

    if set("ALERT_CHECK_INTERVAL") {
        section(&mut root, &["alerting"])
            .ok_or_else(|| shape("alerting"))?
            .insert(
                Value::from("evaluation_interval"),
                interval("ALERT_CHECK_INTERVAL"),
            );
    }
    if set("PROMETHEUS_PUSHGATEWAY_URL") {
        let pushgateway = [("url", reference("PROMETHEUS_PUSHGATEWAY_URL"))]
            .into_iter()
            .chain(
                set("METRICS_EXPORT_INTERVAL")
                    .then(|| ("interval", interval("METRICS_EXPORT_INTERVAL"))),
            );
        section(&mut root, &["metrics", "exporters"])
            .ok_or_else(|| shape("metrics.exporters"))?
            .insert(Value::from("pushgateway"), mapping(pushgateway));
    }
    if set("LOG_DIR") {
        section(&mut root, &["logging"])
            .ok_or_else(|| shape("logging"))?
            .insert(Value::from("dir"), reference("LOG_DIR"));
    }
    serde_yaml_ng::to_string(&root)
        .map_err(|e| error(format!("the built-in default does not encode: {e}")))
}
