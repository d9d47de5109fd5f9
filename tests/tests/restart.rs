//! End-to-end: restarts of the real `mon-server` (SIGTERM and SIGKILL) while alerts
//! fire. The same alerts go on (same ids, same `started_at`) and a loopback webhook
//! hears nothing new; acknowledgements, cooldowns, flap-control counters and
//! heartbeat pings survive; a second server on the same store refuses to start.

use mon_tests::{Receiver, Server, Stop, free_port};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TOKEN: &str = "restart-test-token";

/// A tcp check to a closed port (fires `Port Down` per check and the built-in check
/// rules), a host-metric rule that always holds with a long cooldown, a heartbeat,
/// and a webhook channel to `{receiver}`.
const CONFIG: &str = "
server:
  listen: 127.0.0.1:{port}
  auth:
    tokens:
      - { name: ops, token: restart-test-token, role: admin }
storage:
  path: '{dir}/mon.db'
metrics:
  interval: 1s
checks:
  - name: port
    type: tcp
    address: 127.0.0.1:{closed}
    interval: 1s
    timeout: 1s
    failure_threshold: 2
  - name: job
    type: heartbeat
    period: 1h
    critical: false
alerting:
  evaluation_interval: 1s
  rules:
    - name: Port Down
      each: checks
      expr: check.status == 'unhealthy'
      severity: critical
    - name: Host Seen
      expr: cpu_percent >= 0
      cooldown: 10m
  channels:
    - { name: hook, type: webhook, url: '{receiver}' }
";

/// The rules expected to fire: the two above and the built-in check rules.
const FIRING: [&str; 4] = [
    "Port Down",
    "Host Seen",
    "Component Unhealthy",
    "System Unhealthy",
];

fn start(receiver: &Receiver) -> Server {
    // A port that was free a moment ago: nothing listens there.
    let closed = free_port();
    let config = CONFIG
        .replace("{closed}", &closed.to_string())
        .replace("{receiver}", &receiver.url());
    Server::start(&config)
}

fn request(method: reqwest::Method, url: &str) -> reqwest::blocking::RequestBuilder {
    reqwest::blocking::Client::new()
        .request(method, url)
        .bearer_auth(TOKEN)
}

fn get(server: &Server, path: &str) -> Value {
    let url = format!("{}{path}", server.url());
    let response = request(reqwest::Method::GET, &url)
        .send()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().expect("JSON")
}

fn post(server: &Server, path: &str) -> reqwest::blocking::Response {
    let url = format!("{}{path}", server.url());
    request(reqwest::Method::POST, &url)
        .send()
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// Polls `f` until it returns `Some` or 60 s pass.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Open alerts by rule: (id, started_at, state).
fn open_alerts(server: &Server) -> BTreeMap<String, (String, String, String)> {
    let alerts = get(server, "/api/v1/alerts");
    alerts["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            let field = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (
                field("rule"),
                (field("id"), field("started_at"), field("state")),
            )
        })
        .collect()
}

/// (transition, rule, alert id) of every notification received.
fn heard(receiver: &Receiver) -> Vec<(String, String, String)> {
    receiver
        .bodies()
        .iter()
        .map(|b| {
            let alert = &b["alerts"][0];
            let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                field(&b["transition"]),
                field(&alert["rule"]),
                field(&alert["id"]),
            )
        })
        .collect()
}

/// Waits until, after the (re)start at `since`, the port check ran again, the host
/// rule saw a value, and every rule was evaluated on that data at least twice more:
/// whatever the restart would send has been decided and queued by then.
fn wait_for_data_after(server: &Server, since: chrono::DateTime<chrono::Utc>) {
    let at = |v: &Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let data_back = wait_for("the port check and cpu_percent after the restart", || {
        let check = get(server, "/health/checks/port");
        let observed = at(&check["observed_at"]).filter(|t| *t > since)?;
        let rules = get(server, "/api/v1/rules");
        let host = rules["rules"]
            .as_array()?
            .iter()
            .find(|r| r["name"] == "Host Seen")?
            .clone();
        host["last_value"].as_f64()?;
        Some(observed.max(at(&host["last_evaluated"])?))
    });
    wait_for("two evaluations on the data after the restart", || {
        let rules = get(server, "/api/v1/rules");
        rules["rules"]
            .as_array()?
            .iter()
            .all(|r| {
                at(&r["last_evaluated"])
                    .is_some_and(|t| t > data_back + chrono::TimeDelta::seconds(2))
            })
            .then_some(())
    });
    wait_for("an empty outbox", || {
        let channels = get(server, "/api/v1/channels");
        channels["channels"]
            .as_array()?
            .iter()
            .all(|c| c["queued"] == 0)
            .then_some(())
    });
}

#[test]
fn alerts_go_on_across_restarts_and_crashes_without_notifications() {
    let receiver = Receiver::start();
    let mut server = start(&receiver);

    let before = wait_for("every expected rule firing and notified", || {
        let open = open_alerts(&server);
        let heard = heard(&receiver);
        FIRING
            .iter()
            .all(|rule| {
                open.get(*rule).is_some_and(|(id, _, state)| {
                    state == "firing" && heard.iter().any(|(t, _, i)| t == "firing" && i == id)
                })
            })
            .then_some(open)
    });
    let failures_before = get(&server, "/health/checks/port")["consecutive_failures"]
        .as_u64()
        .expect("consecutive_failures");
    let notified = heard(&receiver);

    for how in [Stop::Term, Stop::Kill] {
        let since = chrono::Utc::now();
        server.restart(how);
        wait_for_data_after(&server, since);
        let after = open_alerts(&server);
        for rule in FIRING {
            assert_eq!(
                after.get(rule),
                before.get(rule),
                "after {how:?}: the alert of {rule:?} must go on with its id and started_at"
            );
        }
        assert_eq!(
            heard(&receiver),
            notified,
            "after {how:?}: a restart must send nothing"
        );
    }

    // Flap control went on counting instead of starting from zero.
    let failures_after = get(&server, "/health/checks/port")["consecutive_failures"]
        .as_u64()
        .expect("consecutive_failures");
    assert!(
        failures_after > failures_before,
        "consecutive failures restarted: {failures_before} before, {failures_after} after"
    );

    // An acknowledgement answered 200 survives a crash right after it.
    let (port_id, port_started, _) = before["Port Down"].clone();
    let ack = post(&server, &format!("/api/v1/alerts/{port_id}/ack"));
    assert_eq!(ack.status(), 200, "{:?}", ack.text());
    let since = chrono::Utc::now();
    server.restart(Stop::Kill);
    wait_for_data_after(&server, since);
    let after = open_alerts(&server);
    assert_eq!(
        after.get("Port Down"),
        Some(&(port_id.clone(), port_started, "acknowledged".to_string())),
        "the acknowledged alert after SIGKILL"
    );
    let history = get(&server, &format!("/api/v1/alerts/{port_id}"));
    let kinds: Vec<&str> = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["firing", "acknowledged"], "{history}");

    // The cooldown survives: resolved by hand, the host alert opens again at once
    // (its condition holds) but within the 10m cooldown its firing is not notified.
    let (host_id, _, _) = before["Host Seen"].clone();
    let resolve = post(&server, &format!("/api/v1/alerts/{host_id}/resolve"));
    assert_eq!(resolve.status(), 200, "{:?}", resolve.text());
    let reopened = wait_for("the host alert open again", || {
        let open = open_alerts(&server);
        open.get("Host Seen")
            .filter(|(id, _, state)| *id != host_id && state == "firing")
            .map(|(id, _, _)| id.clone())
    });
    let history = get(&server, &format!("/api/v1/alerts/{reopened}"));
    let detail = history["history"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("cooldown"),
        "the new firing must be held back by the cooldown: {history}"
    );
    assert!(
        !heard(&receiver)
            .iter()
            .any(|(t, _, id)| t == "firing" && *id == reopened),
        "a firing within the cooldown was notified"
    );
}

#[test]
fn heartbeats_survive_a_crash_and_a_second_server_is_refused() {
    let receiver = Receiver::start();
    let mut server = start(&receiver);

    let ping = post(&server, "/api/v1/heartbeat/job");
    assert_eq!(ping.status(), 200, "{:?}", ping.text());
    server.restart(Stop::Kill);
    let check = get(&server, "/health/checks/job");
    assert_eq!(check["details"]["state"], "up", "{check}");
    assert_eq!(check["details"]["pings"], 1, "{check}");

    // A second server on the same store exits 2 and names the first one's pid.
    let other = free_port().to_string();
    let listen = format!("127.0.0.1:{other}");
    let mut second = server
        .second(&[("MON__SERVER__LISTEN", listen.as_str())])
        .spawn()
        .expect("a second mon-server starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second mon-server on the same store kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr read");
    assert_eq!(status.code(), Some(2), "{stderr}");
    let pid = format!("pid {}", server.child.id());
    assert!(stderr.contains(&pid), "stderr must name {pid}: {stderr}");
    // The first server is untouched.
    assert_eq!(get(&server, "/health/checks/job")["details"]["state"], "up");
}
