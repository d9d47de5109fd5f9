//! The layer around a real axum app on 127.0.0.1, driven by reqwest: lists, rate limits,
//! trusted proxies, principals, blocks, and the events each request leaves.

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mon_core::Event;
use mon_security::{Principal, RateLimit, SecurityLayer, SecurityPolicy, Subject, claim};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running app with the layer, and every event it emitted.
struct App {
    base: String,
    events: Arc<Mutex<Vec<Event>>>,
    layer: SecurityLayer,
    client: reqwest::Client,
}

/// `claim`s the `x-user` header's principal, then answers 401 unless `x-password` is `ok`.
async fn login(request: Request) -> Response {
    if let Some(user) = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        && let Err(refusal) = claim(
            request.extensions(),
            Principal::new(user).with_method("password"),
        )
    {
        return refusal.into_response();
    }
    match request.headers().get("x-password").map(|v| v.as_bytes()) {
        Some(b"ok") => "welcome".into_response(),
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// Answers 200 with the principal in the response's extensions.
async fn me() -> Response {
    let mut answer = "me".into_response();
    answer.extensions_mut().insert(Principal::new("svc-1"));
    answer
}

impl App {
    async fn start(policy: SecurityPolicy) -> App {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let events = events.clone();
            move |e: Event| events.lock().unwrap().push(e)
        };
        let layer = SecurityLayer::new(policy, sink);
        let app = Router::new()
            .route("/login", post(login))
            .route("/rooms/{id}", get(|| async { "room" }))
            .route("/me", get(me))
            .layer(layer.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        App {
            base: format!("http://{addr}"),
            events,
            layer,
            client: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.send("GET", path, headers).await
    }

    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

fn security(events: &[Event]) -> Vec<(String, Option<IpAddr>, Option<String>)> {
    events
        .iter()
        .filter_map(|e| {
            let Event::Security(s) = e else { return None };
            Some((s.event.clone(), s.ip, s.principal.clone()))
        })
        .collect()
}

fn requests(events: &[Event]) -> Vec<&mon_core::RequestEvent> {
    events
        .iter()
        .filter_map(|e| {
            let Event::Request(r) = e else { return None };
            Some(r)
        })
        .collect()
}

fn auth_failures(events: &[Event]) -> Vec<&mon_core::AuthEvent> {
    events
        .iter()
        .filter_map(|e| {
            let Event::Auth(a) = e else { return None };
            (!a.success).then_some(a)
        })
        .collect()
}

/// A refusal's `Retry-After`, in seconds.
fn retry_after(refused: &reqwest::Response) -> u64 {
    refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn ranges(list: &[&str]) -> Vec<mon_security::IpRange> {
    list.iter().map(|r| r.parse().unwrap()).collect()
}

#[tokio::test]
async fn requests_are_recorded_by_route_template_never_by_url() {
    let app = App::start(SecurityPolicy::default()).await;
    // An id no number in the events can contain by chance (latencies are printed in full).
    let answer = app.get("/rooms/RM_qzx?token=s3cret", &[]).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(app.get("/nowhere/s3cret", &[]).await.status(), 404);
    assert_eq!(app.get("/me", &[]).await.status(), 200);
    let events = app.take();
    let seen = requests(&events);
    assert_eq!(seen.len(), 3, "{events:?}");
    assert_eq!(seen[0].endpoint, "/rooms/{id}");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].status, 200);
    assert_eq!(seen[0].response_bytes, Some(4));
    assert_eq!(seen[0].ip, Some(LOCAL));
    assert!(seen[0].latency_ms >= 0.0);
    assert_eq!(seen[1].endpoint, mon_security::UNMATCHED);
    assert_eq!(seen[1].status, 404);
    assert_eq!(seen[2].principal.as_deref(), Some("svc-1"));
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains("s3cret") && !all.contains("RM_qzx"), "{all}");
    // A 404 is not an auth failure.
    assert!(auth_failures(&events).is_empty());
}

#[tokio::test]
async fn a_route_limit_answers_429_at_exactly_the_limit_plus_one() {
    let app = App::start(SecurityPolicy {
        rate_limits: [(
            "/rooms/{id}".to_owned(),
            RateLimit {
                limit: 3,
                window: Duration::from_secs(60),
            },
        )]
        .into(),
        ..SecurityPolicy::default()
    })
    .await;
    for i in 0..3 {
        // Different ids are the same route.
        assert_eq!(
            app.get(&format!("/rooms/{i}"), &[]).await.status(),
            200,
            "request {i}"
        );
    }
    let refused = app.get("/rooms/9", &[]).await;
    assert_eq!(refused.status(), 429);
    let retry = retry_after(&refused);
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another route is not limited.
    assert_eq!(app.get("/me", &[]).await.status(), 200);
    let events = app.take();
    assert_eq!(
        security(&events),
        [("rate_limited".to_owned(), Some(LOCAL), None)]
    );
    let statuses: Vec<u16> = requests(&events).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 200]);
}

#[tokio::test]
async fn the_deny_list_answers_403_and_is_counted() {
    let app = App::start(SecurityPolicy {
        ip_denylist: ranges(&["127.0.0.0/8"]),
        ..SecurityPolicy::default()
    })
    .await;
    for _ in 0..2 {
        let answer = app.get("/me", &[]).await;
        assert_eq!(answer.status(), 403);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let events = app.take();
    assert_eq!(
        security(&events),
        vec![("ip_denied".to_owned(), Some(LOCAL), None); 2]
    );
    // The layer's own 403 is not a failed authentication, and the handler never ran.
    assert!(auth_failures(&events).is_empty());
    assert!(
        requests(&events)
            .iter()
            .all(|r| r.status == 403 && r.principal.is_none())
    );
}

#[tokio::test]
async fn the_allowlist_admits_only_its_ranges() {
    let outside = App::start(SecurityPolicy {
        ip_allowlist: ranges(&["10.0.0.0/8"]),
        ..SecurityPolicy::default()
    })
    .await;
    assert_eq!(outside.get("/me", &[]).await.status(), 403);
    assert_eq!(security(&outside.take())[0].0, "ip_denied");
    let inside = App::start(SecurityPolicy {
        ip_allowlist: ranges(&["10.0.0.0/8", "127.0.0.1"]),
        // The deny list wins over the allowlist.
        ip_denylist: ranges(&["10.0.0.9"]),
        ..SecurityPolicy::default()
    })
    .await;
    assert_eq!(inside.get("/me", &[]).await.status(), 200);
    assert!(security(&inside.take()).is_empty());
}

#[tokio::test]
async fn forwarded_for_cannot_be_spoofed_by_a_client() {
    // The peer (127.0.0.1) is not a trusted proxy: its X-Forwarded-For is ignored, both for
    // the deny list and for what is recorded.
    let direct = App::start(SecurityPolicy {
        ip_denylist: ranges(&["198.51.100.1"]),
        ..SecurityPolicy::default()
    })
    .await;
    let spoofed = [("x-forwarded-for", "198.51.100.7")];
    assert_eq!(direct.get("/me", &spoofed).await.status(), 200);
    assert_eq!(requests(&direct.take())[0].ip, Some(LOCAL));

    // Behind a trusted proxy (the peer): the rightmost untrusted hop is the client; what
    // the client wrote left of it is never read.
    let proxied = App::start(SecurityPolicy {
        trusted_proxies: ranges(&["127.0.0.1", "10.0.0.0/8"]),
        ip_denylist: ranges(&["198.51.100.1"]),
        ..SecurityPolicy::default()
    })
    .await;
    let hops = [("x-forwarded-for", "198.51.100.1, 203.0.113.5, 10.1.1.1")];
    assert_eq!(proxied.get("/me", &hops).await.status(), 200);
    let denied = [("x-forwarded-for", "203.0.113.5, 198.51.100.1")];
    assert_eq!(proxied.get("/me", &denied).await.status(), 403);
    let events = proxied.take();
    let ips: Vec<Option<IpAddr>> = requests(&events).iter().map(|r| r.ip).collect();
    assert_eq!(
        ips,
        [
            Some("203.0.113.5".parse().unwrap()),
            Some("198.51.100.1".parse().unwrap())
        ]
    );
}

#[tokio::test]
async fn a_principal_limit_applies_per_principal() {
    let app = App::start(SecurityPolicy {
        principal_rate_limit: Some(RateLimit {
            limit: 2,
            window: Duration::from_secs(60),
        }),
        ..SecurityPolicy::default()
    })
    .await;
    let alice = [("x-user", "alice"), ("x-password", "ok")];
    for _ in 0..2 {
        assert_eq!(app.send("POST", "/login", &alice).await.status(), 200);
    }
    let refused = app.send("POST", "/login", &alice).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let bob = [("x-user", "bob"), ("x-password", "ok")];
    assert_eq!(app.send("POST", "/login", &bob).await.status(), 200);
    let events = app.take();
    assert_eq!(
        security(&events),
        [(
            "rate_limited".to_owned(),
            Some(LOCAL),
            Some("alice".to_owned())
        )]
    );
    let principals: Vec<Option<&str>> = requests(&events)
        .iter()
        .map(|r| r.principal.as_deref())
        .collect();
    assert_eq!(
        principals,
        [Some("alice"), Some("alice"), Some("alice"), Some("bob")]
    );
}

#[tokio::test]
async fn failed_logins_over_the_maximum_block_the_address_and_the_principal() {
    let app = App::start(SecurityPolicy {
        max_failed_logins: 2,
        failed_login_window: Duration::from_secs(300),
        block_duration: Duration::from_secs(600),
        ..SecurityPolicy::default()
    })
    .await;
    let wrong = [("x-user", "mallory"), ("x-password", "guess")];
    for _ in 0..3 {
        assert_eq!(app.send("POST", "/login", &wrong).await.status(), 401);
    }
    let events = app.take();
    let failures = auth_failures(&events);
    assert_eq!(failures.len(), 3);
    assert_eq!(failures[0].method, "password");
    assert_eq!(failures[0].principal.as_deref(), Some("mallory"));
    assert_eq!(failures[0].reason.as_deref(), Some("unauthorized"));
    assert_eq!(failures[0].endpoint.as_deref(), Some("/login"));
    assert_eq!(failures[0].ip, Some(LOCAL));
    assert_eq!(
        security(&events),
        [
            ("blocked".to_owned(), Some(LOCAL), None),
            (
                "blocked".to_owned(),
                Some(LOCAL),
                Some("mallory".to_owned())
            )
        ]
    );
    // Now even the right password from that address is refused, for the block's length.
    let right = [("x-user", "mallory"), ("x-password", "ok")];
    let refused = app.send("POST", "/login", &right).await;
    assert_eq!(refused.status(), 429);
    let retry = retry_after(&refused);
    assert!((590..=600).contains(&retry), "Retry-After {retry}");
    let blocks = app.layer.blocks();
    let subjects: Vec<&Subject> = blocks.iter().map(|b| &b.subject).collect();
    assert!(subjects.contains(&&Subject::Ip(LOCAL)), "{blocks:?}");
    assert!(
        subjects.contains(&&Subject::Principal("mallory".to_owned())),
        "{blocks:?}"
    );
    assert!(blocks.iter().all(|b| b.failures == 3));
}

#[tokio::test]
async fn auth_failures_are_reported_without_blocking_by_default() {
    let app = App::start(SecurityPolicy::default()).await;
    for _ in 0..7 {
        assert_eq!(
            app.send("POST", "/login", &[("authorization", "Bearer t0ken-value")])
                .await
                .status(),
            401
        );
    }
    let events = app.take();
    let failures = auth_failures(&events);
    assert_eq!(failures.len(), 7);
    assert_eq!(failures[0].method, "bearer");
    assert!(security(&events).is_empty());
    assert!(app.layer.blocks().is_empty());
    assert!(!serde_json::to_string(&events).unwrap().contains("t0ken"));
}
