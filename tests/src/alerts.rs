//! Watching alerts of a running `mon-server` through its API and a [`Capture`]:
//! the open alerts by rule, the notifications heard, and waiting until a restarted
//! server has decided on fresh data.

use crate::{Capture, TestServer, eventually};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// `GET path` with a bearer `token`; fails the test unless it answers 200 with JSON.
pub fn get(server: &TestServer, token: &str, path: &str) -> Value {
    let response = reqwest::blocking::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().expect("JSON")
}

/// `POST path` with a bearer `token` and no body.
pub fn post(server: &TestServer, token: &str, path: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// The `alerting:` section of the restart tests: a rule per check (`Port Down`), a
/// host rule that always holds with a long cooldown, the built-in check rules'
/// expressions without their wait (the same names replace them), and a webhook channel
/// to `{receiver}`. With an unhealthy critical check, every rule of [`FIRING`] fires.
pub const FIRING_ALERTING: &str = "
alerting:
  evaluation_interval: 1s
  rules:
    - { name: Port Down, each: checks, expr: \"check.status == 'unhealthy'\", severity: critical }
    - { name: Host Seen, expr: cpu_percent >= 0, cooldown: 10m }
    - { name: Component Unhealthy, each: checks, expr: \"check.status == 'unhealthy'\" }
    - { name: System Unhealthy, expr: critical_unhealthy_checks > 0, severity: critical }
  channels:
    - { name: hook, type: webhook, url: '{receiver}' }
";

/// The rules of [`FIRING_ALERTING`].
pub const FIRING: [&str; 4] = [
    "Port Down",
    "Host Seen",
    "Component Unhealthy",
    "System Unhealthy",
];

/// Waits (up to a minute) until every one of `rules` has a firing alert whose firing
/// `receiver` heard; the open alerts then.
pub fn wait_all_firing_and_notified(
    server: &TestServer,
    token: &str,
    receiver: &Capture,
    rules: &[&str],
) -> BTreeMap<String, OpenAlert> {
    eventually(
        "every expected rule firing and notified",
        Duration::from_secs(60),
        || {
            let open = open_alerts(server, token);
            let heard = heard(receiver);
            rules
                .iter()
                .all(|rule| {
                    open.get(*rule).is_some_and(|a| {
                        a.state == "firing"
                            && heard
                                .iter()
                                .any(|h| h.transition == "firing" && h.id == a.id)
                    })
                })
                .then_some(open)
        },
    )
}

/// One open alert: its id, `started_at` and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAlert {
    /// The alert's id.
    pub id: String,
    /// When it started, as the API prints it.
    pub started_at: String,
    /// `pending`, `firing` or `acknowledged`.
    pub state: String,
}

/// The open alerts by rule (one instance per rule in these tests).
pub fn open_alerts(server: &TestServer, token: &str) -> BTreeMap<String, OpenAlert> {
    get(server, token, "/api/v1/alerts")["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            let field = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            let alert = OpenAlert {
                id: field("id"),
                started_at: field("started_at"),
                state: field("state"),
            };
            (field("rule"), alert)
        })
        .collect()
}

/// One notification the receiver heard (mon's webhook body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// `firing`, `resolved`, `reminder`, `acknowledged`.
    pub transition: String,
    /// The alert's rule.
    pub rule: String,
    /// The alert's id.
    pub id: String,
}

/// Every notification heard so far, in arrival order.
pub fn heard(receiver: &Capture) -> Vec<Heard> {
    receiver
        .bodies()
        .iter()
        .map(|b| {
            let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
            Heard {
                transition: field(&b["transition"]),
                rule: field(&b["alerts"][0]["rule"]),
                id: field(&b["alerts"][0]["id"]),
            }
        })
        .collect()
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Waits until, after `since` (a restart), `check` ran again, `rule` saw a value,
/// every rule was evaluated on that data for two more seconds and the outbox is
/// empty: whatever the restart would notify has been decided and sent by then.
pub fn wait_settled(
    server: &TestServer,
    token: &str,
    since: DateTime<Utc>,
    check: &str,
    rule: &str,
) {
    let limit = Duration::from_secs(60);
    let data_back = eventually("fresh data after the restart", limit, || {
        let result = get(server, token, &format!("/health/checks/{check}"));
        let observed = time(&result["observed_at"]).filter(|t| *t > since)?;
        let rules = get(server, token, "/api/v1/rules");
        let status = rules["rules"]
            .as_array()?
            .iter()
            .find(|r| r["name"] == rule)?
            .clone();
        status["last_value"].as_f64()?;
        Some(observed.max(time(&status["last_evaluated"])?))
    });
    eventually("evaluations on the fresh data", limit, || {
        let rules = get(server, token, "/api/v1/rules");
        rules["rules"]
            .as_array()?
            .iter()
            .all(|r| {
                time(&r["last_evaluated"]).is_some_and(|t| t > data_back + TimeDelta::seconds(2))
            })
            .then_some(())
    });
    eventually("an empty outbox", limit, || {
        let channels = get(server, token, "/api/v1/channels");
        channels["channels"]
            .as_array()?
            .iter()
            .all(|c| c["queued"] == 0)
            .then_some(())
    });
}
