//! A strict fake LiveKit RoomService for e2e steps, following LiveKit's Twirp API as the
//! server answers it: `POST /twirp/livekit.RoomService/{ListRooms,ListParticipants}` with
//! `Content-Type: application/json` only (else Twirp `bad_route`), an HS256 access token
//! verified against the key and secret with `exp`/`nbf` (a plain-text 401 from the auth
//! layer otherwise), the grants each route needs (`video.roomList`; `video.roomAdmin` for
//! the named room) and snake_case replies with int64 fields as strings.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use mon_tests::{Answer, Capture, Request};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// The API key the fake accepts.
pub(crate) const KEY: &str = "APIe2eKey";
/// The API secret the fake verifies tokens with.
pub(crate) const SECRET: &str = "e2e-livekit-secret-0123456789abcdef";
/// The rooms the fake lists: (name, participants).
pub(crate) const ROOMS: &[(&str, u32)] = &[("support", 2), ("sales", 3), ("billing", 4)];

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn twirp_error(status: u16, code: &str, msg: &str) -> Answer {
    Answer::status(status)
        .header("Content-Type", "application/json")
        .body(&json!({"code": code, "msg": msg}).to_string())
}

fn plain(status: u16, text: &str) -> Answer {
    Answer::status(status)
        .header("Content-Type", "text/plain")
        .body(text)
}

/// The token's claims when it is an HS256 JWT of [`KEY`] signed with [`SECRET`], in date.
fn verify(request: &Request) -> Result<Value, &'static str> {
    const NO_BEARER: &str = "invalid authorization header. Must start with Bearer ";
    const BAD_KEY: &str = "invalid API key";
    let token = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(NO_BEARER)?;
    let parts: Vec<&str> = token.split('.').collect();
    let [head, claims, signature] = parts.as_slice() else {
        return Err(BAD_KEY);
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| BAD_KEY);
    let head: Value = serde_json::from_slice(&decode(head)?).map_err(|_| BAD_KEY)?;
    let body: Value = serde_json::from_slice(&decode(claims)?).map_err(|_| BAD_KEY)?;
    if head["alg"] != "HS256" || body["iss"] != KEY {
        return Err(BAD_KEY);
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).map_err(|_| BAD_KEY)?;
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    if mac.verify_slice(&decode(signature)?).is_err() {
        return Err("invalid token: signature is invalid");
    }
    let now = now_secs();
    match (body["exp"].as_u64(), body["nbf"].as_u64()) {
        (Some(exp), Some(nbf)) if exp > now && nbf <= now => Ok(body),
        _ => Err("invalid token: expired, not valid yet, or without exp/nbf"),
    }
}

/// One answer of the fake.
fn serve(request: &Request) -> Answer {
    let path = request.path.split('?').next().unwrap_or_default();
    let Some(route) = path.strip_prefix("/twirp/") else {
        return plain(404, "404 page not found");
    };
    let json_type = request
        .header("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim() == "application/json");
    if request.method != "POST" || !json_type {
        return twirp_error(404, "bad_route", &format!("unsupported request to {path}"));
    }
    let claims = match verify(request) {
        Ok(claims) => claims,
        Err(refused) => return plain(401, refused),
    };
    let video = &claims["video"];
    let denied = || twirp_error(401, "unauthenticated", "permissions denied");
    let reply = match route {
        "livekit.RoomService/ListRooms" if video["roomList"] == true => {
            let created = now_secs() - 60;
            let rooms: Vec<Value> = ROOMS
                .iter()
                .map(|(name, n)| {
                    json!({"sid": format!("RM_{name}"), "name": name, "empty_timeout": 300,
                           "creation_time": created.to_string(), "num_participants": n,
                           "num_publishers": 1, "metadata": "", "active_recording": false})
                })
                .collect();
            json!({ "rooms": rooms })
        }
        "livekit.RoomService/ListParticipants" => {
            let room = request.json()["room"].as_str().map(str::to_owned);
            let Some(room) = room else {
                return twirp_error(400, "invalid_argument", "room is required");
            };
            if video["roomAdmin"] != true || video["room"] != room.as_str() {
                return denied();
            }
            let Some((_, n)) = ROOMS.iter().find(|(name, _)| *name == room) else {
                return twirp_error(404, "not_found", "room not found");
            };
            let participants: Vec<Value> = (0..*n)
                .map(|i| {
                    json!({"sid": format!("PA_{i}"), "identity": format!("p{i}"), "state": "ACTIVE",
                                "joined_at": "1700000100", "name": "", "metadata": ""})
                })
                .collect();
            json!({ "participants": participants })
        }
        "livekit.RoomService/ListRooms" => return denied(),
        _ => return twirp_error(404, "bad_route", &format!("no handler for path {path}")),
    };
    Answer::status(200)
        .header("Content-Type", "application/json")
        .body(&reply.to_string())
}

/// Starts the fake on loopback.
pub(crate) fn start() -> Capture {
    let capture = Capture::start();
    capture.answer_with(serve);
    capture
}
