//! The security layer on mon-server's own API (`server.security`), end to end: bad tokens
//! leave failed-authentication events in the store, blocks and rate limits refuse with 429.

use mon_tests::{TestServer, eventually};
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "adm1n-secret-value";

fn config(security: &str) -> String {
    format!(
        "server:\n  auth:\n    tokens:\n      - {{ name: ops, token: \"${{ADMIN_TOKEN}}\", role: admin }}\n  security:\n{security}storage:\n  path: {{dir}}/mon.db\nprivacy:\n  client_ips: keep\n"
    )
}

fn start(security: &str) -> TestServer {
    TestServer::start_with_env(&config(security), &[("ADMIN_TOKEN", TOKEN)])
}

/// The bodies of the stored `app_events` of `kind`.
fn stored(server: &TestServer, kind: &str) -> Vec<Value> {
    let db = rusqlite::Connection::open(server.dir.path().join("mon.db")).expect("store opens");
    let mut query = db
        .prepare("SELECT body FROM app_events WHERE type = ?1 ORDER BY id")
        .expect("query prepares");
    query
        .query_map([kind], |row| row.get::<_, String>(0))
        .expect("query runs")
        .map(|body| serde_json::from_str(&body.expect("a row")).expect("JSON body"))
        .collect()
}

fn get(server: &TestServer, path: &str, token: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .expect("mon-server answers")
}

#[test]
fn twelve_bad_tokens_leave_twelve_failed_authentications() {
    let server = start("    max_failed_logins: 5\n");
    for i in 0..12 {
        let answer = get(&server, "/api/v1/status", &format!("wrong-token-{i}"));
        assert_eq!(answer.status(), 401, "attempt {i}");
    }
    // A good token is served and is no failure.
    assert_eq!(get(&server, "/api/v1/status", TOKEN).status(), 200);
    let failures = eventually("12 auth events stored", Duration::from_secs(10), || {
        let rows = stored(&server, "auth");
        (rows.len() >= 12).then_some(rows)
    });
    assert_eq!(failures.len(), 12);
    for row in &failures {
        assert_eq!(row["success"], false);
        assert_eq!(row["ip"], "127.0.0.1");
        assert_eq!(row["endpoint"], "/api/v1/status");
        assert_eq!(row["reason"], "unauthorized");
        assert_eq!(row["method"], "bearer");
    }
    let all = serde_json::to_string(&failures).expect("JSON");
    assert!(
        !all.contains("wrong-token"),
        "a presented token is never kept: {all}"
    );
    // Blocks are off by default: nothing was refused, nothing blocked.
    assert!(stored(&server, "security").is_empty());
}

#[test]
fn failed_authentications_over_the_maximum_block_the_address() {
    let server =
        start("    max_failed_logins: 3\n    failed_login_window: 5m\n    block_duration: 10m\n");
    for i in 0..4 {
        assert_eq!(
            get(&server, "/api/v1/status", "nope").status(),
            401,
            "attempt {i}"
        );
    }
    // The address is blocked now, whatever token it presents.
    let refused = get(&server, "/api/v1/status", TOKEN);
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((590..=600).contains(&retry), "Retry-After {retry}");
    let body: Value = refused.json().expect("JSON error");
    assert_eq!(body["error"]["code"], "rate_limited");
    let events = eventually("the block stored", Duration::from_secs(10), || {
        let rows = stored(&server, "security");
        (rows.len() >= 2).then_some(rows)
    });
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["blocked", "rate_limited"]);
    assert_eq!(events[0]["ip"], "127.0.0.1");
    assert_eq!(events[0]["severity"], "error");
}

#[test]
fn route_and_principal_limits_apply_to_mon_itself() {
    let server = start(
        "    rate_limits:\n      /api/v1/checks: { limit: 2, window: 1m }\n    principal_rate_limit: { limit: 5, window: 1m }\n",
    );
    for _ in 0..2 {
        assert_eq!(get(&server, "/api/v1/checks", TOKEN).status(), 200);
    }
    let refused = get(&server, "/api/v1/checks", TOKEN);
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    // The token's principal (`ops`) was claimed twice (the refused request never reached
    // the token check); three more pass, the next is refused.
    for _ in 0..3 {
        assert_eq!(get(&server, "/api/v1/status", TOKEN).status(), 200);
    }
    assert_eq!(get(&server, "/api/v1/status", TOKEN).status(), 429);
    let events = eventually("two refusals stored", Duration::from_secs(10), || {
        let rows = stored(&server, "security");
        (rows.len() >= 2).then_some(rows)
    });
    assert_eq!(events[0]["endpoint"], "/api/v1/checks");
    assert_eq!(events[1]["principal"], "ops");
    assert!(events.iter().all(|e| e["event"] == "rate_limited"));
}
