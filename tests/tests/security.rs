//! Security data end to end, on the real `mon-server`: auth and security events pushed
//! to `POST /api/v1/events` reach the security summary, the stored-event search and
//! `/metrics` (without an address as a label), and failed logins from one address
//! above `security.max_failed_logins` fire the built-in brute-force rule to a webhook
//! receiver — one alert for that address, none for an address below the threshold.

use mon_tests::alerts::get;
use mon_tests::{Answer, Capture, TestServer, eventually};
use serde_json::{Value, json};
use std::time::Duration;

const INGEST: &str = "ingest-token-1";
const READ: &str = "read-token-2";
const WAIT: Duration = Duration::from_secs(30);

fn config(receiver: &Capture) -> String {
    format!(
        "server:\n  self_check: false\n  auth:\n    tokens:\n\
         \x20     - {{ name: agent, token: {INGEST}, role: ingest }}\n\
         \x20     - {{ name: ops, token: {READ}, role: read }}\n\
         storage:\n  path: '{{dir}}/mon.db'\n\
         privacy:\n  client_ips: keep\n\
         metrics:\n  host: false\n\
         security:\n  max_failed_logins: 5\n  failed_login_window: 5m\n\
         alerting:\n  evaluation_interval: 1s\n  channels:\n\
         \x20   - {{ name: hook, type: webhook, url: '{url}' }}\n",
        url = receiver.url("/hook")
    )
}

fn push(server: &TestServer, events: &Value) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/events", server.url()))
        .bearer_auth(INGEST)
        .json(events)
        .send()
        .expect("POST /api/v1/events");
    assert_eq!(response.status(), 200, "{:?}", response.text());
}

fn status_of(server: &TestServer, path: &str) -> u16 {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(READ)
        .send()
        .expect("GET")
        .status()
        .as_u16()
}

fn failed_login(ip: &str, principal: &str) -> Value {
    json!({"type": "auth", "success": false, "method": "password", "ip": ip,
           "principal": principal, "reason": "bad_password", "endpoint": "/api/login"})
}

#[test]
fn failed_logins_from_one_address_fire_one_brute_force_alert() {
    let receiver = Capture::start();
    receiver.answer(Answer::status(200));
    let server = TestServer::start(&config(&receiver));

    // Credential stuffing from .7: six principals, one failure each — six failures for
    // the address, one per principal. Three failures from .9: below the threshold.
    let mut events: Vec<Value> = (1..=6)
        .map(|i| failed_login("203.0.113.7", &format!("user{i}")))
        .collect();
    events.extend((1..=3).map(|i| failed_login("198.51.100.9", &format!("guest{i}"))));
    events.push(json!({"type": "auth", "success": true, "method": "api_key",
                       "ip": "198.51.100.2", "principal": "svc-2"}));
    events.push(
        json!({"type": "security", "event": "ip_denied", "ip": "192.0.2.1",
                       "endpoint": "/api/login"}),
    );
    events.push(
        json!({"type": "request", "endpoint": "/api/rooms", "method": "GET",
                       "status": 200, "latency_ms": 3.0, "principal": "svc-2",
                       "ip": "198.51.100.2"}),
    );
    push(&server, &Value::Array(events));

    // The webhook hears the brute-force alert for .7.
    let fired = eventually("the brute-force alert is notified", WAIT, || {
        receiver.bodies().into_iter().find(|b| {
            b["transition"] == "firing" && b["alerts"][0]["rule"] == "Brute Force Suspected"
        })
    });
    assert_eq!(fired["alerts"][0]["labels"]["ip"], "203.0.113.7", "{fired}");
    assert_eq!(fired["alerts"][0]["value"], 6.0, "{fired}");
    // One alert, for that address: not for .9, not for any principal.
    let alerts = get(&server, READ, "/api/v1/alerts");
    let brute: Vec<&Value> = alerts["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["rule"] == "Brute Force Suspected")
        .collect();
    assert_eq!(brute.len(), 1, "{alerts}");
    assert_eq!(brute[0]["labels"]["ip"], "203.0.113.7", "{alerts}");

    // The summary: counts, top addresses by failures, current refusals.
    let summary = get(&server, READ, "/api/v1/security/summary");
    assert_eq!(summary["window"], "5m", "{summary}");
    assert_eq!(summary["max_failed_logins"], 5, "{summary}");
    assert_eq!(summary["counts"]["failed_logins"], 9, "{summary}");
    assert_eq!(summary["counts"]["auth_attempts"], 10, "{summary}");
    assert_eq!(summary["counts"]["denied_ip_attempts"], 1, "{summary}");
    let top = &summary["top_ips_by_failures"];
    assert_eq!(top[0]["name"], "203.0.113.7", "{summary}");
    assert_eq!(top[0]["failed_logins"], 6, "{summary}");
    assert_eq!(top[1]["name"], "198.51.100.9", "{summary}");
    assert_eq!(summary["blocks"][0]["name"], "192.0.2.1", "{summary}");
    assert_eq!(summary["blocks"][0]["reason"], "ip_denied", "{summary}");
    let by_volume = &summary["top_principals_by_volume"];
    assert_eq!(by_volume[0]["name"], "svc-2", "{summary}");
    assert_eq!(by_volume[0]["volume"], 2, "{summary}");

    // The stored events, by type, address, principal and time.
    let events = get(
        &server,
        READ,
        "/api/v1/security/events?type=auth&ip=203.0.113.7&since=10m&limit=100",
    );
    assert_eq!(events["count"], 6, "{events}");
    assert_eq!(events["events"][0]["type"], "auth", "{events}");
    assert_eq!(events["events"][0]["event"]["reason"], "bad_password");
    let svc = get(&server, READ, "/api/v1/security/events?principal=svc-2");
    assert_eq!(svc["count"], 1, "auth and security only by default: {svc}");
    let requests = get(
        &server,
        READ,
        "/api/v1/security/events?type=request&principal=svc-2",
    );
    assert_eq!(requests["count"], 1, "{requests}");
    for bad in [
        "/api/v1/security/events?ip=not-an-ip",
        "/api/v1/security/events?type=log",
        "/api/v1/security/events?limit=0",
        "/api/v1/security/events?since=yesterday",
        "/api/v1/security/events?sort=ts",
    ] {
        assert_eq!(status_of(&server, bad), 400, "{bad}");
    }

    // /metrics: counters by method and result, by event and severity — never an address.
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.url()))
        .expect("GET /metrics")
        .text()
        .expect("text");
    assert!(
        metrics.contains("mon_auth_attempts_total{method=\"password\",result=\"failure\"} 9"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mon_security_events_total{event=\"ip_denied\",severity=\"warning\"} 1"),
        "{metrics}"
    );
    for private in ["203.0.113.7", "user1", "bad_password"] {
        assert!(!metrics.contains(private), "{private} on /metrics");
    }
}
