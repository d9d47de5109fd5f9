//! End-to-end: restarts of the real `mon-server` (SIGTERM and SIGKILL) while alerts
//! fire. The same alerts go on (same ids, same `started_at`) and a loopback webhook
//! hears nothing new; acknowledgements, silences, cooldowns, flap-control counters
//! and heartbeat pings survive; a second server on the same store refuses to start.

use mon_tests::alerts::{self, FIRING, FIRING_ALERTING, OpenAlert, heard};
use mon_tests::{Capture, Stop, TestServer, eventually, exit_status, free_port};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const TOKEN: &str = "restart-test-token";

/// A tcp check to a closed port and a heartbeat; the rules and the webhook channel are
/// [`FIRING_ALERTING`].
const CONFIG: &str = "
server:
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
";

fn start(receiver: &Capture) -> TestServer {
    // A port that was free a moment ago: nothing listens there.
    let closed = free_port();
    let config = format!("{CONFIG}{FIRING_ALERTING}")
        .replace("{closed}", &closed.to_string())
        .replace("{receiver}", &receiver.url("/hook"));
    TestServer::start(&config)
}

fn get(server: &TestServer, path: &str) -> Value {
    alerts::get(server, TOKEN, path)
}

fn post(server: &TestServer, path: &str) -> reqwest::blocking::Response {
    alerts::post(server, TOKEN, path)
}

fn open_alerts(server: &TestServer) -> BTreeMap<String, OpenAlert> {
    alerts::open_alerts(server, TOKEN)
}

fn wait_settled(server: &TestServer, since: chrono::DateTime<chrono::Utc>) {
    alerts::wait_settled(server, TOKEN, since, "port", "Host Seen");
}

#[test]
fn alerts_go_on_across_restarts_and_crashes_without_notifications() {
    let receiver = Capture::start();
    let mut server = start(&receiver);

    let before = alerts::wait_all_firing_and_notified(&server, TOKEN, &receiver, &FIRING);
    let failures_before = get(&server, "/health/checks/port")["consecutive_failures"]
        .as_u64()
        .expect("consecutive_failures");
    let notified = heard(&receiver);

    for how in [Stop::Term, Stop::Kill] {
        let since = chrono::Utc::now();
        server.restart(how);
        wait_settled(&server, since);
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
    let port = before["Port Down"].clone();
    let port_id = port.id.clone();
    let ack = post(&server, &format!("/api/v1/alerts/{port_id}/ack"));
    assert_eq!(ack.status(), 200, "{:?}", ack.text());
    let silence = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/silences", server.url()))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({
            "matchers": [{"name": "alertname", "value": "Maintenance"}],
            "duration": "1h",
            "created_by": "test",
        }))
        .send()
        .expect("POST /api/v1/silences");
    assert_eq!(silence.status(), 201);
    let silence: Value = silence.json().expect("JSON");
    let since = chrono::Utc::now();
    server.restart(Stop::Kill);
    wait_settled(&server, since);
    let after = open_alerts(&server);
    assert_eq!(
        after.get("Port Down"),
        Some(&OpenAlert {
            state: "acknowledged".to_string(),
            ..port
        }),
        "the acknowledged alert after SIGKILL"
    );
    let silences = get(&server, "/api/v1/silences");
    assert!(
        silences
            .to_string()
            .contains(silence["id"].as_str().expect("id")),
        "the silence created before SIGKILL: {silences}"
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
    let host_id = before["Host Seen"].id.clone();
    let resolve = post(&server, &format!("/api/v1/alerts/{host_id}/resolve"));
    assert_eq!(resolve.status(), 200, "{:?}", resolve.text());
    let reopened = eventually("the host alert open again", Duration::from_secs(60), || {
        let open = open_alerts(&server);
        open.get("Host Seen")
            .filter(|a| a.id != host_id && a.state == "firing")
            .map(|a| a.id.clone())
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
            .any(|h| h.transition == "firing" && h.id == reopened),
        "a firing within the cooldown was notified"
    );
}

#[test]
fn heartbeats_survive_a_crash_and_a_second_server_is_refused() {
    let receiver = Capture::start();
    let mut server = start(&receiver);

    let ping = post(&server, "/api/v1/heartbeat/job");
    assert_eq!(ping.status(), 200, "{:?}", ping.text());
    // A ping as an ingested event is kept the same way.
    let ingested = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/events", server.url()))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(r#"[{"type": "heartbeat", "name": "job"}]"#)
        .send()
        .expect("POST /api/v1/events");
    assert_eq!(ingested.status(), 200, "{:?}", ingested.text());
    server.restart(Stop::Kill);
    let check = get(&server, "/health/checks/job");
    assert_eq!(check["details"]["state"], "up", "{check}");
    assert_eq!(check["details"]["pings"], 2, "{check}");

    // A second server on the same store exits 2 and names the first one's pid.
    let mut second = server
        .second(&[])
        .spawn()
        .expect("a second mon-server starts");
    let status = exit_status(
        &mut second,
        "a second mon-server on the same store to exit",
        Duration::from_secs(30),
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr read");
    assert_eq!(status.code(), Some(2), "{stderr}");
    let pid = format!("pid {}", server.child.id());
    assert!(stderr.contains(&pid), "stderr must name {pid}: {stderr}");
    // The first server is untouched.
    assert_eq!(get(&server, "/health/checks/job")["details"]["state"], "up");
}
