//! The status features end to end on a real server over loopback: the check history
//! (`GET /api/v1/check-history`), incidents (open, update, resolve; roles; bad input;
//! kept across a restart) and the public status page that shows them (title, bars,
//! incidents, maintenance; nothing private; the explanation when no check is public).

mod common;
use common::{
    ADMIN, READ, SELF_CHECK_OFF, call, call_json, config, http_get, serve, start, wait_for,
};
use serde_json::{Value, json};

/// A public check `api` on a real loopback service, a private one `secret-db`, a
/// public maintenance window and a private one, and the status page's heading.
const BODY: &str = "
checks:
  - name: api
    type: tcp
    address: {open}
    interval: 200ms
    public: true
  - name: secret-db
    type: tcp
    address: {open}
    interval: 200ms
metrics:
  interval: 1s
status_page:
  title: Acme Voice
  description: Calls, agents and the phone line
  logo_url: data:image/svg+xml;base64,PHN2Zy8+
alerting:
  maintenance_windows:
    - name: api upgrade
      start: '00:00'
      end: '00:00'
      matchers: [{ name: check, value: api }]
    - name: private db vacuum
      start: '00:00'
      end: '00:00'
      matchers: [{ name: check, value: secret-db }, { name: team, value: hidden-team }]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_and_history_show_on_the_status_page_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let open = mon_tests::Capture::start();
    let addr_var = open.addr().to_string();
    let text = config(SELF_CHECK_OFF, BODY);
    let app = start(&text, &dir, &[("{open}", &addr_var)]).await;

    // History: every check, 48 buckets by default, the last ones up once runs are stored.
    let mut history = Value::Null;
    wait_for("stored runs of api in the history", async || {
        let (status, body) = call(&app, "GET", "/api/v1/check-history", Some(READ)).await;
        history = body;
        status == 200
            && history["checks"][0]["buckets"][47]["state"] == "up"
            && history["checks"][0]["uptime_percent"] == json!(100.0)
    })
    .await;
    let names: Vec<&str> = history["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["api", "secret-db"]);
    assert_eq!(
        history["checks"][0]["buckets"].as_array().map(Vec::len),
        Some(48)
    );
    assert_eq!(history["bucket_seconds"], json!(1800.0));
    assert_eq!(history["checks"][0]["buckets"][0]["state"], "none");
    let (status, short) = call(
        &app,
        "GET",
        "/api/v1/check-history?window=1h&buckets=4",
        Some(READ),
    )
    .await;
    assert_eq!(status, 200, "{short}");
    assert_eq!(
        short["checks"][0]["buckets"].as_array().map(Vec::len),
        Some(4)
    );
    for (query, names) in [
        ("window=soon", "window"),
        ("window=91d", "window"),
        ("buckets=0", "buckets"),
        ("buckets=5000", "buckets"),
        ("window=10s&buckets=60", "window"),
        ("color=red", "color"),
    ] {
        let uri = format!("/api/v1/check-history?{query}");
        let (status, body) = call(&app, "GET", &uri, Some(READ)).await;
        assert_eq!(status, 400, "{uri}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{uri}: {message}");
    }

    // Roles: reading needs a token, writing needs admin.
    let hand = json!({"title": "Calls drop in eu-west", "severity": "critical", "message": "We are looking into it"});
    let (status, _) = call(&app, "GET", "/api/v1/incidents", None).await;
    assert_eq!(status, 401);
    let (status, _) = call_json(&app, "POST", "/api/v1/incidents", None, Some(hand.clone())).await;
    assert_eq!(status, 401);
    let (status, _) = call_json(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(READ),
        Some(hand.clone()),
    )
    .await;
    assert_eq!(status, 403);

    // Bad input: 400 naming the field.
    for (body, field) in [
        (json!({"message": "no title"}), "title"),
        (json!({"title": " ", "message": "m"}), "title"),
        (json!({"title": "t", "message": ""}), "message"),
        (
            json!({"title": "t", "message": "m", "severity": "huge"}),
            "severity",
        ),
        (
            json!({"title": "t", "message": "m", "status": "panicking"}),
            "status",
        ),
        (
            json!({"title": "t", "message": "m", "alert_id": "no-such"}),
            "alert_id",
        ),
        (json!({"title": "x".repeat(201), "message": "m"}), "title"),
        (
            json!({"title": "t", "message": "m", "colour": "red"}),
            "colour",
        ),
        (json!({"title": "t"}), "message"),
    ] {
        let (status, answer) = call_json(
            &app,
            "POST",
            "/api/v1/incidents",
            Some(ADMIN),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{body}: {message}");
    }

    // Lifecycle: open, update, and a second one resolved.
    let (status, opened) =
        call_json(&app, "POST", "/api/v1/incidents", Some(ADMIN), Some(hand)).await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["status"], "investigating");
    assert_eq!(opened["severity"], "critical");
    assert_eq!(
        opened["updates"][0]["author"], "ops",
        "the admin token's name"
    );
    let id = opened["id"].as_i64().expect("id");
    let uri = format!("/api/v1/incidents/{id}/updates");
    let (status, updated) = call_json(
        &app,
        "POST",
        &uri,
        Some(ADMIN),
        Some(json!({"status": "identified", "message": "A carrier trunk is down"})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["status"], "identified");
    assert_eq!(updated["updates"].as_array().map(Vec::len), Some(2));
    let (status, one) = call(&app, "GET", &format!("/api/v1/incidents/{id}"), Some(READ)).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(
        one, updated,
        "one incident reads as its last update answered"
    );
    for missing in ["/api/v1/incidents/424242", "/api/v1/incidents/x"] {
        let (status, answer) = call(&app, "GET", missing, Some(READ)).await;
        assert_eq!(status, 404, "{missing}: {answer}");
        assert!(answer.to_string().contains("no incident"), "{answer}");
    }
    for (uri, body, code) in [
        (
            uri.as_str(),
            json!({"status": "fixed", "message": "m"}),
            400,
        ),
        (
            uri.as_str(),
            json!({"status": "monitoring", "message": " "}),
            400,
        ),
        (
            "/api/v1/incidents/424242/updates",
            json!({"status": "monitoring", "message": "m"}),
            404,
        ),
    ] {
        let (status, answer) = call_json(&app, "POST", uri, Some(ADMIN), Some(body)).await;
        assert_eq!(status, code, "{uri}: {answer}");
    }
    let (status, over) = call_json(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(ADMIN),
        Some(
            json!({"title": "Slow transcripts", "message": "Provider slow", "status": "resolved"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{over}");
    assert!(over["resolved_at"].is_string(), "{over}");
    let (status, list) = call(&app, "GET", "/api/v1/incidents", Some(READ)).await;
    assert_eq!(status, 200);
    assert_eq!(list["count"], 2);
    assert_eq!(list["incidents"][0]["title"], "Slow transcripts");

    // The page, over a real socket, without a token.
    let addr = serve(&app).await;
    let (code, head, page) = http_get(addr, "/status").await;
    assert_eq!(code, 200, "{page}");
    assert!(head.contains("content-security-policy: default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;"), "{head}");
    for shown in [
        "<h1>Acme Voice</h1>",
        "Calls, agents and the phone line",
        "src=\"data:image/svg+xml;base64,PHN2Zy8+\"",
        "<span class=\"name\">api</span>",
        "class=\"b up\"",
        "Calls drop in eu-west",
        "A carrier trunk is down",
        "identified",
        "Past incidents",
        "Slow transcripts",
        "api upgrade",
        "in progress",
        "http-equiv=\"refresh\" content=\"60\"",
    ] {
        assert!(
            page.contains(shown),
            "{shown} missing from the page:\n{page}"
        );
    }
    for private in [
        "secret-db",
        "private db vacuum",
        "hidden-team",
        ADMIN,
        READ,
        ">ops<",
        " ops ",
        "<script",
    ] {
        assert!(
            !page.contains(private),
            "{private} leaks into the page:\n{page}"
        );
    }
    assert_eq!(page.matches("class=\"b ").count(), 48, "one bar row of 48");

    // Kept in the store: a restarted server shows the same incidents.
    app.shutdown().await;
    let app = start(&text, &dir, &[("{open}", &addr_var)]).await;
    let (_, list) = call(&app, "GET", "/api/v1/incidents", Some(READ)).await;
    assert_eq!(list["count"], 2, "{list}");
    assert_eq!(
        list["incidents"][1]["updates"][1]["message"],
        "A carrier trunk is down"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_public_check_the_page_says_how_to_make_one() {
    let dir = tempfile::tempdir().expect("dir");
    let open = mon_tests::Capture::start();
    let body = "
checks:
  - name: secret-db
    type: tcp
    address: {open}
    interval: 200ms
";
    let app = start(
        &config(SELF_CHECK_OFF, body),
        &dir,
        &[("{open}", &open.addr().to_string())],
    )
    .await;
    let addr = serve(&app).await;
    let (code, _, page) = http_get(addr, "/status").await;
    assert_eq!(code, 200);
    assert!(page.contains("No check is public yet"), "{page}");
    assert!(page.contains("public: true"), "{page}");
    assert!(
        page.contains("<h1>Service status</h1>"),
        "the default title: {page}"
    );
    assert!(!page.contains("secret-db"), "{page}");
}

#[test]
fn the_status_page_config_is_checked() {
    let dir = tempfile::tempdir().expect("dir");
    let text = config(
        SELF_CHECK_OFF,
        "status_page:\n  title: ''\n  logo_url: https://cdn.example.com/logo.png\n",
    )
    .replace("{dir}", &dir.path().display().to_string());
    let error = mon_config::load_text(&text, "test.yaml", &mon_config::Environment::default())
        .expect_err("refused")
        .to_string();
    assert!(error.contains("status_page.title"), "{error}");
    assert!(error.contains("status_page.logo_url"), "{error}");
    assert!(error.contains("data:image"), "{error}");
}
