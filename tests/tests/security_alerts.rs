//! The brute-force alert end to end, from the two places failed logins happen: a real axum
//! application behind `mon_security::SecurityLayer` whose events reach mon-server through
//! `mon_metrics::EventForwarder`, and mon-server's own API (`server.security`) with bad
//! tokens. In both, more than `max_failed_logins` failures from one client address fire
//! exactly one "Brute Force Suspected" alert for that address at a webhook receiver, and
//! none for an address below the threshold. Client addresses vary through
//! `X-Forwarded-For` sent from loopback, a trusted proxy.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use mon_metrics::{EventForwarder, ForwarderOptions};
use mon_security::{SecurityLayer, SecurityPolicy};
use mon_tests::alerts::get;
use mon_tests::{Answer, Capture, TestServer, eventually};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;

const INGEST: &str = "ingest-token-1";
const READ: &str = "read-token-2";
const WAIT: Duration = Duration::from_secs(30);
/// Six failures from the attacker, three from a clumsy user: the threshold is five.
const ATTACKER: &str = "203.0.113.7";
const CLUMSY: &str = "198.51.100.9";

fn config(receiver: &Capture, own_security: &str) -> String {
    format!(
        "server:\n  self_check: false\n  auth:\n    tokens:\n\
         \x20     - {{ name: agent, token: {INGEST}, role: ingest }}\n\
         \x20     - {{ name: ops, token: {READ}, role: read }}\n\
         {own_security}\
         storage:\n  path: '{{dir}}/mon.db'\n\
         privacy:\n  client_ips: keep\n\
         metrics:\n  host: false\n\
         security:\n  max_failed_logins: 5\n  failed_login_window: 5m\n\
         alerting:\n  evaluation_interval: 1s\n  channels:\n\
         \x20   - {{ name: hook, type: webhook, url: '{url}' }}\n",
        url = receiver.url("/hook")
    )
}

/// `count` requests to `url` as `ip` (through the trusted loopback proxy), each expected
/// to answer 401.
fn fail_logins(url: &str, token: &str, ip: &str, count: usize) {
    let client = reqwest::blocking::Client::new();
    for attempt in 0..count {
        let answer = client
            .post(url)
            .bearer_auth(token)
            .header("x-forwarded-for", ip)
            .send()
            .expect("the service answers");
        assert_eq!(answer.status(), 401, "{ip}, attempt {attempt}");
    }
}

/// Waits for the brute-force alert at the webhook, then checks it is the only one and
/// is for [`ATTACKER`].
fn assert_one_alert_for_the_attacker(server: &TestServer, receiver: &Capture) {
    let fired = eventually("the brute-force alert is notified", WAIT, || {
        receiver.bodies().into_iter().find(|b| {
            b["transition"] == "firing" && b["alerts"][0]["rule"] == "Brute Force Suspected"
        })
    });
    assert_eq!(fired["alerts"][0]["labels"]["ip"], ATTACKER, "{fired}");
    let alerts = get(server, READ, "/api/v1/alerts");
    let brute: Vec<&Value> = alerts["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["rule"] == "Brute Force Suspected")
        .collect();
    assert_eq!(brute.len(), 1, "{alerts}");
    assert_eq!(brute[0]["labels"]["ip"], ATTACKER, "{alerts}");
    let notified: Vec<Value> = receiver
        .bodies()
        .into_iter()
        .filter(|b| b["alerts"][0]["rule"] == "Brute Force Suspected")
        .collect();
    assert!(
        notified
            .iter()
            .all(|b| b["alerts"][0]["labels"]["ip"] == ATTACKER),
        "{notified:?}"
    );
}

#[test]
fn an_apps_failed_logins_reach_mon_and_fire_one_brute_force_alert() {
    let receiver = Capture::start();
    receiver.answer(Answer::status(200));
    let server = TestServer::start(&config(&receiver, ""));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut options = ForwarderOptions::new(server.url(), Some(mon_core::Secret::new(INGEST)));
    options.flush_interval = Duration::from_millis(100);
    let forwarder = runtime.block_on(async { EventForwarder::start(options) });
    let handle = forwarder.handle();
    let policy: SecurityPolicy = serde_json::from_value(json!({
        "trusted_proxies": ["127.0.0.1"],
        "max_failed_logins": 5,
    }))
    .expect("a valid policy");
    // The app: every login is refused, as for a credential-stuffing run.
    let app = Router::new()
        .route("/api/login", post(|| async { StatusCode::UNAUTHORIZED }))
        .layer(SecurityLayer::new(policy, handle.sink()));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds 127.0.0.1:0");
    let addr = listener.local_addr().expect("bound address");
    runtime.spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    let login = format!("http://{addr}/api/login");
    fail_logins(&login, "stolen-password", ATTACKER, 6);
    fail_logins(&login, "typo", CLUMSY, 3);

    assert_one_alert_for_the_attacker(&server, &receiver);
    let summary = get(&server, READ, "/api/v1/security/summary");
    assert_eq!(summary["counts"]["failed_logins"], 9, "{summary}");
    // Nine auth events and nine request events, nothing dropped.
    let stats = handle.stats();
    assert_eq!(stats.sent, 18, "{stats:?}");
    assert_eq!(
        (stats.dropped_queue_full, stats.dropped_refused),
        (0, 0),
        "{stats:?}"
    );
    runtime.block_on(forwarder.shutdown(Duration::from_secs(5)));
}

#[test]
fn bad_tokens_against_mons_own_api_fire_one_brute_force_alert() {
    let receiver = Capture::start();
    receiver.answer(Answer::status(200));
    let own = "  security:\n    trusted_proxies: ['127.0.0.1']\n    max_failed_logins: 5\n";
    let server = TestServer::start(&config(&receiver, own));

    let events = format!("{}/api/v1/events", server.url());
    fail_logins(&events, "guessed-token", ATTACKER, 6);
    fail_logins(&events, "old-token", CLUMSY, 3);

    assert_one_alert_for_the_attacker(&server, &receiver);
}
