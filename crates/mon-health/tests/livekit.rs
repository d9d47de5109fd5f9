//! The `livekit` check and `/health/livekit` against a strict fake LiveKit server: Twirp
//! routes (POST + JSON only), HS256 tokens verified with exact per-route grants, snake_case
//! replies with int64 values as strings, plain-text 401s from the auth layer, "redis
//! required", 406 not ready and slow replies.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use mon_core::{CheckOutcome, Status};
use mon_health::livekit_token::{Grants, SipGrant, VideoGrant, access_token};
use mon_health::{CheckConfig, HealthRegistry};
use mon_tests::{Answer, Capture, Request as Received};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

const KEY: &str = "APIfakeKey";
const SECRET: &str = "fake-secret-0123456789abcdef";

/// The fake's switches and what it saw.
#[derive(Default)]
struct Fake {
    /// Egress, Ingress and SIP answer 500 internal "... redis required".
    no_redis: AtomicBool,
    /// `GET /` answers 406.
    not_ready: AtomicBool,
    /// Every answer waits this many milliseconds first.
    delay_ms: AtomicU64,
    /// Routes answered 200, in order.
    served: Mutex<Vec<String>>,
    /// The longest token lifetime (exp - nbf) seen, seconds.
    longest_ttl: AtomicU64,
    /// When set, the `ListRooms` reply (a busy deployment's thousands of rooms).
    rooms_reply: Mutex<Option<String>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn twirp_error(status: StatusCode, code: &str, msg: &str) -> Answer {
    json_answer(status, &json!({"code": code, "msg": msg}).to_string())
}

fn json_answer(status: StatusCode, body: &str) -> Answer {
    Answer::status(status.as_u16())
        .header("Content-Type", "application/json")
        .body(body)
}

fn plain(status: StatusCode, text: &str) -> Answer {
    Answer::status(status.as_u16())
        .header("Content-Type", "text/plain")
        .body(text)
}

/// Verifies the token on its own (not with mon's code): HS256, our key, signature, exp
/// required and not passed, nbf not in the future. `Err` is the auth layer's plain-text 401.
fn verify(fake: &Fake, request: &Received) -> Result<Value, &'static str> {
    const NO_BEARER: &str = "invalid authorization header. Must start with Bearer ";
    const BAD_KEY: &str = "invalid API key";
    let value = request.header("authorization").ok_or(NO_BEARER)?;
    let token = value.strip_prefix("Bearer ").ok_or(NO_BEARER)?;
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(BAD_KEY);
    }
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| BAD_KEY);
    let head: Value = serde_json::from_slice(&decode(parts[0])?).map_err(|_| BAD_KEY)?;
    if head["alg"] != "HS256" {
        return Err(BAD_KEY);
    }
    let claims: Value = serde_json::from_slice(&decode(parts[1])?).map_err(|_| BAD_KEY)?;
    if claims["iss"] != KEY {
        return Err(BAD_KEY);
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    if mac.verify_slice(&decode(parts[2])?).is_err() {
        return Err("invalid token: signature is invalid");
    }
    let (Some(exp), Some(nbf)) = (claims["exp"].as_u64(), claims["nbf"].as_u64()) else {
        return Err("invalid token: exp and nbf are required");
    };
    let now = now_secs();
    if exp <= now || nbf > now {
        return Err("invalid token: expired or not valid yet");
    }
    fake.longest_ttl.fetch_max(exp - nbf, Ordering::SeqCst);
    Ok(claims)
}

fn room(name: &str, participants: u32, created: u64) -> Value {
    json!({
        "sid": format!("RM_{name}"), "name": name, "empty_timeout": 300, "departure_timeout": 20,
        "max_participants": 0, "creation_time": created.to_string(),
        "creation_time_ms": (created * 1000).to_string(), "turn_password": "", "enabled_codecs": [],
        "metadata": "", "num_participants": participants, "num_publishers": 1,
        "active_recording": false, "version": null
    })
}

fn participant(identity: &str) -> Value {
    json!({
        "sid": format!("PA_{identity}"), "identity": identity, "state": "ACTIVE", "tracks": [],
        "metadata": "", "joined_at": "1700000100", "joined_at_ms": "1700000100000", "name": identity,
        "version": 3, "permission": null, "region": "", "is_publisher": true, "kind": "STANDARD",
        "attributes": {}, "disconnect_reason": "UNKNOWN_REASON"
    })
}

fn egress(id: &str, status: &str) -> Value {
    json!({
        "egress_id": id, "room_id": "RM_support", "room_name": "support", "status": status,
        "started_at": "1700000200000000000", "ended_at": "0", "updated_at": "1700000300000000000",
        "details": "", "error": "", "error_code": 0, "file_results": [], "stream_results": [],
        "segment_results": [], "image_results": [], "manifest_location": "", "backup_storage_used": false
    })
}

/// One Twirp route: its path, the claim check, and the reply (on the capture's thread
/// for this connection, so a delay holds only this request).
fn serve(fake: &Fake, request: &Received) -> Answer {
    let delay = fake.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(delay));
    }
    let path = request
        .path
        .split_once('?')
        .map_or(request.path.as_str(), |(path, _)| path)
        .to_owned();
    let method = request.method.as_str();
    let body = &request.body;
    if path == "/" {
        if method != "GET" {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        }
        fake.served.lock().unwrap().push(path);
        return if fake.not_ready.load(Ordering::SeqCst) {
            plain(
                StatusCode::NOT_ACCEPTABLE,
                "Not Ready: node is shutting down",
            )
        } else {
            plain(StatusCode::OK, "OK")
        };
    }
    let Some(route) = path.strip_prefix("/twirp/") else {
        return plain(StatusCode::NOT_FOUND, "404 page not found");
    };
    let json_type = request
        .header("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim() == "application/json");
    if method != "POST" || !json_type {
        return twirp_error(
            StatusCode::NOT_FOUND,
            "bad_route",
            &format!("unsupported request to {path}"),
        );
    }
    let claims = match verify(fake, request) {
        Ok(claims) => claims,
        Err(refused) => return plain(StatusCode::UNAUTHORIZED, refused),
    };
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return twirp_error(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    "the body is not a JSON object",
                );
            }
        }
    };
    let video = &claims["video"];
    let sip_admin = claims["sip"]["admin"] == true;
    let denied = || {
        twirp_error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "permissions denied",
        )
    };
    let no_redis = fake.no_redis.load(Ordering::SeqCst);
    let redis = |what: &str| {
        twirp_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("{what} not connected (redis required)"),
        )
    };
    let reply = match route {
        "livekit.RoomService/ListRooms" => {
            if video["roomList"] != true {
                return denied();
            }
            if let Some(reply) = fake.rooms_reply.lock().unwrap().clone() {
                fake.served.lock().unwrap().push(route.to_owned());
                return json_answer(StatusCode::OK, &reply);
            }
            json!({"rooms": [room("support", 2, now_secs() - 120), room("sales", 3, now_secs() - 30)]})
        }
        "livekit.RoomService/ListParticipants" => {
            let Some(name) = request["room"].as_str() else {
                return twirp_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_argument",
                    "room is required",
                );
            };
            if video["roomAdmin"] != true || video["room"] != name {
                return denied();
            }
            match name {
                "support" => json!({"participants": [participant("agent"), participant("caller")]}),
                "sales" => {
                    json!({"participants": [participant("a"), participant("b"), participant("c")]})
                }
                _ => return twirp_error(StatusCode::NOT_FOUND, "not_found", "room not found"),
            }
        }
        "livekit.Egress/ListEgress" => {
            if video["roomRecord"] != true {
                return denied();
            }
            if no_redis {
                return redis("egress");
            }
            json!({"items": [egress("EG_1", "EGRESS_ACTIVE"), egress("EG_2", "EGRESS_FAILED"), egress("EG_3", "EGRESS_COMPLETE")], "next_page_token": null})
        }
        "livekit.Ingress/ListIngress" => {
            if video["ingressAdmin"] != true {
                return denied();
            }
            if no_redis {
                return redis("ingress");
            }
            json!({"items": [{"ingress_id": "IN_1", "name": "obs", "stream_key": "k", "url": "rtmp://x", "input_type": "RTMP_INPUT", "state": {"status": "ENDPOINT_INACTIVE", "started_at": "0", "ended_at": "0"}}]})
        }
        "livekit.SIP/ListSIPInboundTrunk"
        | "livekit.SIP/ListSIPOutboundTrunk"
        | "livekit.SIP/ListSIPDispatchRule" => {
            if !sip_admin {
                return denied();
            }
            if no_redis {
                return redis("sip");
            }
            let n = match route {
                "livekit.SIP/ListSIPInboundTrunk" => 1,
                "livekit.SIP/ListSIPOutboundTrunk" => 2,
                _ => 3,
            };
            let items: Vec<Value> = (0..n)
                .map(|i| json!({"sip_trunk_id": format!("ST_{i}"), "name": "", "metadata": ""}))
                .collect();
            json!({"items": items})
        }
        _ => {
            return twirp_error(
                StatusCode::NOT_FOUND,
                "bad_route",
                &format!("no handler for path {path}"),
            );
        }
    };
    fake.served.lock().unwrap().push(route.to_owned());
    json_answer(StatusCode::OK, &reply.to_string())
}

async fn start_fake() -> (SocketAddr, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let shared = Arc::clone(&fake);
    let capture = Capture::start();
    capture.answer_with(move |request| serve(&shared, request));
    (capture.addr(), fake)
}

fn config(addr: SocketAddr, secret: &str, extra: Value) -> CheckConfig {
    let mut value = json!({
        "name": "livekit", "type": "livekit", "url": format!("ws://{addr}"),
        "api_key": KEY, "api_secret": secret, "timeout": "3s",
    });
    if let (Value::Object(v), Value::Object(extra)) = (&mut value, extra) {
        v.extend(extra);
    }
    serde_json::from_value(value).unwrap()
}

async fn run(config: &CheckConfig) -> CheckOutcome {
    config
        .build(&mon_health::check_kinds())
        .unwrap()
        .check()
        .await
}

fn service<'a>(outcome: &'a CheckOutcome, name: &str) -> &'a Value {
    &outcome.details["services"][name]
}

#[tokio::test]
async fn every_service_is_probed_with_its_own_grants() {
    let (addr, fake) = start_fake().await;
    let outcome = run(&config(addr, SECRET, json!({}))).await;
    assert_eq!(outcome.status, Status::Healthy, "{outcome:?}");
    for name in ["room", "egress", "ingress", "sip", "auth", "server"] {
        let s = service(&outcome, name);
        assert_eq!(s["status"], "healthy", "{name}: {s}");
        assert!(s["latency_ms"].as_f64().is_some(), "{name}: {s}");
        assert_eq!(s["error_code"], Value::Null, "{name}: {s}");
    }
    // Every route was answered 200 (so every token carried exactly the right grant).
    let served = fake.served.lock().unwrap().clone();
    for route in [
        "livekit.RoomService/ListRooms",
        "livekit.RoomService/ListParticipants",
        "livekit.Egress/ListEgress",
        "livekit.Ingress/ListIngress",
        "livekit.SIP/ListSIPInboundTrunk",
        "livekit.SIP/ListSIPOutboundTrunk",
        "livekit.SIP/ListSIPDispatchRule",
        "/",
    ] {
        assert!(
            served.iter().any(|s| s == route),
            "{route} not served: {served:?}"
        );
    }
    // Short-lived tokens.
    let ttl = fake.longest_ttl.load(Ordering::SeqCst);
    assert!((1..=60).contains(&ttl), "token lifetime {ttl}s");
    // Rooms and participants, int64 strings parsed.
    assert_eq!(outcome.details["active_rooms"], 2);
    assert_eq!(outcome.details["active_participants"], 5);
    assert_eq!(
        outcome.variables,
        BTreeMap::from([
            ("active_rooms".to_owned(), 2.0),
            ("active_participants".to_owned(), 5.0)
        ])
    );
    let room = service(&outcome, "room");
    let age = room["oldest_room_age_seconds"].as_i64().unwrap();
    assert!(
        (110..=300).contains(&age),
        "creation_time parsed from a string: {room}"
    );
    assert_eq!(room["listed_room_participants"], 2, "{room}");
    let egress = service(&outcome, "egress");
    assert_eq!(
        (
            egress["egress_total"].as_u64(),
            egress["egress_active"].as_u64(),
            egress["egress_failed"].as_u64()
        ),
        (Some(3), Some(1), Some(1))
    );
    let sip = service(&outcome, "sip");
    assert_eq!(
        (
            sip["inbound_trunks"].as_u64(),
            sip["outbound_trunks"].as_u64(),
            sip["dispatch_rules"].as_u64()
        ),
        (Some(1), Some(2), Some(3))
    );
    assert_eq!(service(&outcome, "ingress")["ingress_total"], 1);
    assert!(
        outcome.message.contains("2 rooms, 5 participants"),
        "{}",
        outcome.message
    );
}

/// A busy deployment: `ListRooms` answers `count` rooms of about 670 bytes each (10,000 is
/// over the old 4 MiB limit, 50,000 is what the check must handle). The first room closed
/// after it was listed, so its `ListParticipants` answers `not_found`: the next is asked.
#[tokio::test]
async fn thousands_of_rooms_and_a_room_that_just_closed() {
    let (addr, fake) = start_fake().await;
    for count in [10_000_u64, 50_000] {
        let created = now_secs() - 600;
        // A real server lists the enabled codecs of every room: most of its ~670 bytes.
        let codecs: Vec<Value> = [
            "audio/opus",
            "audio/red",
            "video/VP8",
            "video/H264",
            "video/VP9",
            "video/AV1",
        ]
        .iter()
        .map(|mime| json!({"mime": mime, "fmtp_line": "minptime=10;useinbandfec=1"}))
        .collect();
        let rooms: Vec<Value> = (0..count)
            .map(|i| {
                let mut r = match i {
                    0 => room("closed-just-now", 1, created),
                    1 => room("support", 2, created),
                    _ => room(&format!("room-{i:05}"), 2, created + i),
                };
                r["enabled_codecs"] = json!(codecs);
                r
            })
            .collect();
        let reply = json!({ "rooms": rooms }).to_string();
        assert!(
            reply.len() as u64 > count * 600,
            "{count} rooms are {} bytes",
            reply.len()
        );
        *fake.rooms_reply.lock().unwrap() = Some(reply);
        fake.served.lock().unwrap().clear();
        let outcome = run(&config(addr, SECRET, json!({"timeout": "30s"}))).await;
        let room = service(&outcome, "room");
        assert_eq!(room["status"], "healthy", "{count} rooms: {room}");
        assert_eq!(outcome.details["active_rooms"], count, "{room}");
        assert_eq!(
            outcome.details["active_participants"],
            count * 2 - 1,
            "{room}"
        );
        assert_eq!(room["listed_room_participants"], 2, "{room}");
        let asked = fake
            .served
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.ends_with("ListParticipants"))
            .count();
        // The closed room's 404 is not served (not 200); the next room's answer is.
        assert_eq!(asked, 1, "{count} rooms");
        assert_eq!(
            outcome.status,
            Status::Healthy,
            "{count} rooms: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn the_fake_refuses_a_token_missing_the_routes_grant() {
    let (addr, _fake) = start_fake().await;
    let client = reqwest::Client::new();
    let all_but = |skip: &str| {
        let mut video = VideoGrant {
            room_list: skip != "roomList",
            room_admin: skip != "roomAdmin",
            room_record: skip != "roomRecord",
            ingress_admin: skip != "ingressAdmin",
            room: Some(if skip == "room" {
                "other".into()
            } else {
                "support".into()
            }),
        };
        if skip == "video" {
            video = VideoGrant::default();
        }
        Grants {
            video: Some(video),
            sip: Some(SipGrant {
                admin: skip != "sip.admin",
            }),
        }
    };
    // (route, body, the grant it needs)
    let cases = [
        ("RoomService/ListRooms", json!({}), "roomList"),
        (
            "RoomService/ListParticipants",
            json!({"room": "support"}),
            "roomAdmin",
        ),
        (
            "RoomService/ListParticipants",
            json!({"room": "support"}),
            "room",
        ),
        ("Egress/ListEgress", json!({}), "roomRecord"),
        ("Ingress/ListIngress", json!({}), "ingressAdmin"),
        ("SIP/ListSIPInboundTrunk", json!({}), "sip.admin"),
        ("SIP/ListSIPOutboundTrunk", json!({}), "sip.admin"),
        ("SIP/ListSIPDispatchRule", json!({}), "sip.admin"),
    ];
    let post = |route: &str, body: &Value, grants: &Grants| {
        let token = access_token(
            KEY,
            SECRET,
            "t",
            Duration::from_secs(60),
            grants,
            SystemTime::now(),
        )
        .unwrap();
        client
            .post(format!("http://{addr}/twirp/livekit.{route}"))
            .header("content-type", "application/json")
            .bearer_auth(token)
            .body(body.to_string())
            .send()
    };
    for (route, body, grant) in &cases {
        let refused = post(route, body, &all_but(grant)).await.unwrap();
        assert_eq!(refused.status(), 401, "{route} without {grant}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["code"], "unauthenticated", "{route} without {grant}");
        let accepted = post(route, body, &all_but("nothing")).await.unwrap();
        assert_eq!(accepted.status(), 200, "{route} with every grant");
        let reply: Value = accepted.json().await.unwrap();
        assert!(reply.is_object(), "{route}: {reply}");
    }
    // Not POST, or not JSON: 404 bad_route.
    let get = client
        .get(format!("http://{addr}/twirp/livekit.RoomService/ListRooms"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 404);
    assert_eq!(get.json::<Value>().await.unwrap()["code"], "bad_route");
    let form = client
        .post(format!("http://{addr}/twirp/livekit.RoomService/ListRooms"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=b")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 404);
}

#[tokio::test]
async fn a_wrong_secret_gets_the_plain_text_401_and_the_auth_service_fails() {
    let (addr, _fake) = start_fake().await;
    let outcome = run(&config(
        addr,
        "not-the-secret",
        json!({"services": ["room", "auth"]}),
    ))
    .await;
    assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
    let room = service(&outcome, "room");
    assert_eq!(room["status"], "unhealthy", "{room}");
    assert_eq!(room["error_code"], "unauthenticated", "{room}");
    assert!(
        room["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 401: invalid token"),
        "{room}"
    );
    let auth = service(&outcome, "auth");
    assert_eq!(auth["status"], "unhealthy", "{auth}");
    assert_eq!(auth["error_code"], "unauthenticated", "{auth}");
    assert!(
        outcome.details["services"].get("egress").is_none(),
        "only the listed services"
    );
    assert!(outcome.variables.is_empty(), "{:?}", outcome.variables);
    let shown = format!("{} {}", outcome.message, outcome.details);
    assert!(!shown.contains("not-the-secret"), "{shown}");

    // An unknown key: the auth layer's other plain-text answer.
    let mut other_key = config(addr, SECRET, json!({"services": ["ingress"]}));
    other_key.kind.fields["api_key"] = "APIunknown".into();
    let outcome = run(&other_key).await;
    let ingress = service(&outcome, "ingress");
    assert_eq!(ingress["error_code"], "unauthenticated", "{ingress}");
    assert!(
        ingress["message"]
            .as_str()
            .unwrap()
            .contains("invalid API key"),
        "{ingress}"
    );
}

#[tokio::test]
async fn redis_required_is_not_configured_and_degrades_only() {
    let (addr, fake) = start_fake().await;
    fake.no_redis.store(true, Ordering::SeqCst);
    let outcome = run(&config(addr, SECRET, json!({}))).await;
    assert_eq!(outcome.status, Status::Degraded, "{outcome:?}");
    for name in ["egress", "ingress", "sip"] {
        let s = service(&outcome, name);
        assert_eq!(s["status"], "not_configured", "{name}: {s}");
        assert_eq!(s["error_code"], "internal", "{name}: {s}");
    }
    for name in ["room", "auth", "server"] {
        assert_eq!(service(&outcome, name)["status"], "healthy", "{name}");
    }
    assert_eq!(outcome.details["active_rooms"], 2);
}

#[tokio::test]
async fn a_node_that_is_not_ready_is_unhealthy() {
    let (addr, fake) = start_fake().await;
    fake.not_ready.store(true, Ordering::SeqCst);
    let outcome = run(&config(addr, SECRET, json!({"services": ["server"]}))).await;
    assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
    let server = service(&outcome, "server");
    assert_eq!(server["error_code"], "http_406", "{server}");
    assert!(
        server["message"].as_str().unwrap().contains("Not Ready"),
        "{server}"
    );
}

#[tokio::test]
async fn slow_services_time_out_one_by_one() {
    let (addr, fake) = start_fake().await;
    fake.delay_ms.store(5_000, Ordering::SeqCst);
    let outcome = run(&config(
        addr,
        SECRET,
        json!({"timeout": "300ms", "services": ["room", "egress", "server"]}),
    ))
    .await;
    assert_eq!(outcome.status, Status::Unhealthy, "{outcome:?}");
    for name in ["room", "egress", "server"] {
        let s = service(&outcome, name);
        assert_eq!(s["status"], "unhealthy", "{name}: {s}");
        assert_eq!(s["error_code"], "timeout", "{name}: {s}");
    }
    assert_eq!(outcome.details["active_rooms"], Value::Null);
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let outcome = run(&config(
        closed,
        SECRET,
        json!({"services": ["room", "server"]}),
    ))
    .await;
    assert_eq!(outcome.status, Status::Unhealthy);
    assert_eq!(service(&outcome, "room")["error_code"], "connect");
    assert_eq!(service(&outcome, "server")["error_code"], "connect");
}

#[test]
fn config_errors_name_the_field() {
    let cases = [
        (json!({"api_secret": ""}), "api_secret"),
        (json!({"api_key": " "}), "api_key"),
        (json!({"url": "ftp://x"}), "url"),
        (json!({"services": []}), "services"),
        (json!({"services": ["room", "room"]}), "services[1]"),
    ];
    for (change, field) in cases {
        let mut value = json!({"name": "lk", "type": "livekit", "url": "https://lk.example", "api_key": "k", "api_secret": "s"});
        if let (Value::Object(v), Value::Object(c)) = (&mut value, change) {
            v.extend(c);
        }
        let config: CheckConfig = serde_json::from_value(value).unwrap();
        match config.validate(&mon_health::check_kinds()) {
            Err(mon_health::HealthError::InvalidConfig { field: got, .. }) => {
                assert_eq!(got, field)
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let unknown = serde_json::from_value::<CheckConfig>(
        json!({"name": "lk", "type": "livekit", "url": "https://x", "api_key": "k", "api_secret": "s", "services": ["video"]}),
    );
    assert!(
        unknown
            .unwrap()
            .validate(&mon_health::check_kinds())
            .is_err()
    );
    let debug = format!("{:?}", serde_json::from_value::<CheckConfig>(json!({"name": "lk", "type": "livekit", "url": "https://x", "api_key": "k", "api_secret": "hunter2"})).unwrap());
    assert!(!debug.contains("hunter2"), "{debug}");
}

async fn get_json(app: Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn health_livekit_shows_services_rooms_and_participants() {
    let registry = HealthRegistry::new();
    let (code, body) = get_json(mon_health::router(registry.clone()), "/health/livekit").await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    let (addr, fake) = start_fake().await;
    fake.no_redis.store(true, Ordering::SeqCst);
    registry.register("livekit", "livekit", true).unwrap();
    registry.record("livekit", run(&config(addr, SECRET, json!({}))).await);
    let (code, body) = get_json(mon_health::router(registry.clone()), "/health/livekit").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["active_rooms"], 2);
    assert_eq!(body["active_participants"], 5);
    assert_eq!(body["services"]["room"]["status"], "healthy");
    assert_eq!(body["services"]["sip"]["status"], "not_configured");
    assert_eq!(body["services"]["server"]["status"], "healthy");
    assert_eq!(body["total_services"], 6);
    assert_eq!(body["healthy_services"], 3);
    assert_eq!(body["checks"][0]["name"], "livekit");

    fake.not_ready.store(true, Ordering::SeqCst);
    registry.record("livekit", run(&config(addr, SECRET, json!({}))).await);
    let (code, body) = get_json(mon_health::router(registry), "/health/livekit").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["services"]["server"]["status"], "unhealthy");
}

/// The `/metrics` text of `registry`'s families.
fn exposition(registry: &HealthRegistry) -> String {
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    text
}

#[tokio::test]
async fn rooms_and_participants_are_gauges_while_list_rooms_answers() {
    let (addr, _fake) = start_fake().await;
    let registry = HealthRegistry::new();
    registry.register("lk", "livekit", true).unwrap();
    registry.register("api", "http", true).unwrap();
    registry.record("lk", run(&config(addr, SECRET, json!({}))).await);
    registry.record(
        "api",
        CheckOutcome::new(Status::Healthy, Duration::from_millis(1), "ok"),
    );
    let text = exposition(&registry);
    for line in [
        "# TYPE mon_livekit_rooms_active gauge",
        "mon_livekit_rooms_active{check=\"lk\"} 2",
        "# TYPE mon_livekit_participants_active gauge",
        "mon_livekit_participants_active{check=\"lk\"} 5",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("check=\"api\"} 2"), "{text}");

    // ListRooms refused (a wrong secret): no stale value, as in the snapshot.
    registry.record(
        "lk",
        run(&config(addr, "wrong-secret-0123456789abcdef", json!({}))).await,
    );
    let text = exposition(&registry);
    assert!(!text.contains("mon_livekit_rooms_active{"), "{text}");
    assert!(!text.contains("mon_livekit_participants_active{"), "{text}");
}
