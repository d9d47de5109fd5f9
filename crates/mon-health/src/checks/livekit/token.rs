//! LiveKit access tokens and webhook signatures: JWT HS256 signed with the API secret.
//!
//! An access token carries `iss` (the API key), `sub` (an identity), `nbf`, `iat`, `exp`
//! and the grants of the call: `video` (`roomList`, `roomAdmin` + `room`, `roomRecord`,
//! `ingressAdmin`) and `sip` (`admin`). A webhook carries such a token in its
//! `Authorization` header (no `Bearer ` prefix) with a `sha256` claim: the standard
//! base64 of the SHA-256 of the raw body.
//!
//! ```
//! use mon_health::livekit_token::{Grants, VideoGrant, access_token, body_sha256, verify, verify_webhook};
//! use std::time::{Duration, SystemTime};
//!
//! let now = SystemTime::now();
//! let grants = Grants { video: Some(VideoGrant { room_list: true, ..VideoGrant::default() }), ..Grants::default() };
//! let token = access_token("APIkey", "secret", "mon", Duration::from_secs(60), &grants, now).unwrap();
//! let claims = verify(&token, "APIkey", "secret", now).unwrap();
//! assert_eq!(claims["video"]["roomList"], true);
//! assert!(verify(&token, "APIkey", "other secret", now).is_err());
//!
//! let body = br#"{"event":"room_started"}"#;
//! let signed = mon_health::livekit_token::webhook_token("APIkey", "secret", body, now).unwrap();
//! assert!(verify_webhook(Some(&signed), body, "APIkey", "secret", now).is_ok());
//! assert!(verify_webhook(Some(&format!("Bearer {signed}")), body, "APIkey", "secret", now).is_err());
//! # let _ = body_sha256(body);
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How long a webhook token is valid after it was issued (LiveKit signs for 5 minutes).
pub const WEBHOOK_VALIDITY: Duration = Duration::from_secs(5 * 60);

/// How far in the future a token's `nbf` may be, for clocks slightly ahead of ours (as
/// LiveKit's own verifier allows). `exp` gets no leeway.
pub const NBF_LEEWAY: Duration = Duration::from_secs(60);

/// The `video` claim: what the token lets its holder do with rooms, egress and ingress.
/// Fields that are `false` / `None` are left out of the token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoGrant {
    /// List rooms (`RoomService/ListRooms`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_list: bool,
    /// Administer the room named in `room` (`RoomService/ListParticipants`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_admin: bool,
    /// Record rooms (`Egress/ListEgress`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_record: bool,
    /// Administer ingress (`Ingress/ListIngress`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ingress_admin: bool,
    /// The room a room-scoped grant (`roomAdmin`) applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// The `sip` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipGrant {
    /// Administer SIP trunks and dispatch rules (the `SIP/List*` calls).
    #[serde(default, skip_serializing_if = "is_false")]
    pub admin: bool,
}

/// The grants of one token: the `video` and `sip` claims at the top level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// The `video` claim, if any.
    pub video: Option<VideoGrant>,
    /// The `sip` claim, if any.
    pub sip: Option<SipGrant>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Why a token could not be made or was refused. Messages never contain a key, a
/// secret or the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The API key or secret is empty.
    #[error("the LiveKit API key or secret is empty (is its environment variable set?)")]
    MissingCredentials,
    /// The `Authorization` header is missing.
    #[error("the Authorization header is missing")]
    MissingHeader,
    /// The header starts with `Bearer `: LiveKit sends the bare token.
    #[error("the Authorization header must be the bare token, without a \"Bearer \" prefix")]
    BearerPrefix,
    /// Not three base64url parts with JSON header and claims.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// The header names another algorithm than HS256.
    #[error("the token is signed with {0:?}; only HS256 is accepted")]
    Algorithm(String),
    /// The signature does not match the secret.
    #[error("the token signature does not match the API secret")]
    Signature,
    /// `iss` is not the expected API key.
    #[error("the token was issued for another API key")]
    Issuer,
    /// No `exp` claim.
    #[error("the token has no exp claim")]
    MissingExpiry,
    /// `exp` is in the past.
    #[error("the token expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet (nbf is in the future)")]
    NotYetValid,
    /// The `sha256` claim is missing or does not match the body.
    #[error("the body does not match the token's sha256 claim")]
    BodyHash,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Signs `claims` (a JSON object) with HS256.
fn sign(claims: &Value, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    // HMAC accepts a key of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// An access token for `identity`, valid from `now` for `ttl`, carrying `grants`.
///
/// # Errors
/// [`TokenError::MissingCredentials`] when the key or the secret is empty.
pub fn access_token(
    api_key: &str,
    api_secret: &str,
    identity: &str,
    ttl: Duration,
    grants: &Grants,
    now: SystemTime,
) -> Result<String, TokenError> {
    if api_key.is_empty() || api_secret.is_empty() {
        return Err(TokenError::MissingCredentials);
    }
    let now = unix(now);
    let mut claims = json!({
        "iss": api_key,
        "sub": identity,
        "nbf": now,
        "iat": now,
        "exp": now + ttl.as_secs().max(1),
    });
    if let Some(video) = &grants.video {
        claims["video"] = json!(video);
    }
    if let Some(sip) = &grants.sip {
        claims["sip"] = json!(sip);
    }
    Ok(sign(&claims, api_secret))
}

/// A webhook `Authorization` value for `body`, as LiveKit makes it: valid for
/// [`WEBHOOK_VALIDITY`], with the body's `sha256`. For tests and for relaying.
///
/// # Errors
/// [`TokenError::MissingCredentials`] when the key or the secret is empty.
pub fn webhook_token(
    api_key: &str,
    api_secret: &str,
    body: &[u8],
    now: SystemTime,
) -> Result<String, TokenError> {
    webhook_token_valid_for(api_key, api_secret, body, now, WEBHOOK_VALIDITY)
}

/// [`webhook_token`] valid for `validity` from `now` instead of [`WEBHOOK_VALIDITY`].
///
/// # Errors
/// [`TokenError::MissingCredentials`] when the key or the secret is empty.
pub fn webhook_token_valid_for(
    api_key: &str,
    api_secret: &str,
    body: &[u8],
    now: SystemTime,
    validity: Duration,
) -> Result<String, TokenError> {
    if api_key.is_empty() || api_secret.is_empty() {
        return Err(TokenError::MissingCredentials);
    }
    let now = unix(now);
    let claims = json!({
        "iss": api_key,
        "nbf": now,
        "iat": now,
        "exp": now + validity.as_secs(),
        "sha256": body_sha256(body),
    });
    Ok(sign(&claims, api_secret))
}

/// The standard base64 of the SHA-256 of `body`: the webhook `sha256` claim.
pub fn body_sha256(body: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(body))
}

/// Verifies an HS256 token against `api_key` / `api_secret` at time `now` (signature in
/// constant time, `iss`, a required `exp` not passed, `nbf` at most [`NBF_LEEWAY`] ahead)
/// and returns its claims.
///
/// # Errors
/// A [`TokenError`] saying which check failed.
pub fn verify(
    token: &str,
    api_key: &str,
    api_secret: &str,
    now: SystemTime,
) -> Result<Map<String, Value>, TokenError> {
    if api_key.is_empty() || api_secret.is_empty() {
        return Err(TokenError::MissingCredentials);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("expected three dot-separated parts"));
    };
    let signing_input = &token[..header.len() + 1 + payload.len()];
    let decode = |part: &str, what: &'static str| {
        URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| TokenError::Malformed(what))
    };
    let header: Value = serde_json::from_slice(&decode(header, "the header is not base64url")?)
        .map_err(|_| TokenError::Malformed("the header is not JSON"))?;
    match header.get("alg").and_then(Value::as_str) {
        Some("HS256") => {}
        Some(other) => return Err(TokenError::Algorithm(other.chars().take(16).collect())),
        None => return Err(TokenError::Malformed("the header has no alg")),
    }
    let signature = decode(signature, "the signature is not base64url")?;
    let mut mac = HmacSha256::new_from_slice(api_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(signing_input.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::Signature)?;
    let claims: Value = serde_json::from_slice(&decode(payload, "the claims are not base64url")?)
        .map_err(|_| TokenError::Malformed("the claims are not JSON"))?;
    let Value::Object(claims) = claims else {
        return Err(TokenError::Malformed("the claims are not a JSON object"));
    };
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    if !bool::from(iss.as_bytes().ct_eq(api_key.as_bytes())) {
        return Err(TokenError::Issuer);
    }
    let now = unix(now);
    let time = |name: &str| claims.get(name).and_then(Value::as_f64);
    match time("exp") {
        None => return Err(TokenError::MissingExpiry),
        Some(exp) if exp <= now as f64 => return Err(TokenError::Expired),
        Some(_) => {}
    }
    if time("nbf").is_some_and(|nbf| nbf > (now + NBF_LEEWAY.as_secs()) as f64) {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

/// Verifies a LiveKit webhook: the bare token in `authorization` (no `Bearer ` prefix),
/// signed by `api_secret` with `iss` = `api_key` and valid at `now`, whose `sha256`
/// claim matches `body` (compared in constant time).
///
/// # Errors
/// A [`TokenError`] saying which check failed; the caller should answer 401.
pub fn verify_webhook(
    authorization: Option<&str>,
    body: &[u8],
    api_key: &str,
    api_secret: &str,
    now: SystemTime,
) -> Result<Map<String, Value>, TokenError> {
    let token = authorization
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(TokenError::MissingHeader)?;
    if token.len() >= 7 && token[..7].eq_ignore_ascii_case("bearer ") {
        return Err(TokenError::BearerPrefix);
    }
    let claims = verify(token, api_key, api_secret, now)?;
    let claimed = claims
        .get("sha256")
        .and_then(Value::as_str)
        .and_then(|c| STANDARD.decode(c).ok())
        .ok_or(TokenError::BodyHash)?;
    let actual = Sha256::digest(body);
    if !bool::from(claimed.as_slice().ct_eq(actual.as_slice())) {
        return Err(TokenError::BodyHash);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "APIkey";
    const SECRET: &str = "s3cret-value";

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn room_list() -> Grants {
        Grants {
            video: Some(VideoGrant {
                room_list: true,
                ..VideoGrant::default()
            }),
            sip: None,
        }
    }

    #[test]
    fn access_token_round_trips_with_its_claims() {
        let token = access_token(
            KEY,
            SECRET,
            "mon",
            Duration::from_secs(60),
            &room_list(),
            now(),
        )
        .unwrap();
        let claims = verify(&token, KEY, SECRET, now()).unwrap();
        assert_eq!(claims["iss"], KEY);
        assert_eq!(claims["sub"], "mon");
        assert_eq!(claims["nbf"], 1_700_000_000u64);
        assert_eq!(claims["exp"], 1_700_000_060u64);
        assert_eq!(claims["video"], json!({"roomList": true}));
        assert!(claims.get("sip").is_none());
        assert!(!token.contains(SECRET));
    }

    #[test]
    fn verify_refuses_each_kind_of_bad_token() {
        let token = access_token(
            KEY,
            SECRET,
            "mon",
            Duration::from_secs(60),
            &room_list(),
            now(),
        )
        .unwrap();
        let later = now() + Duration::from_secs(61);
        let earlier = now() - NBF_LEEWAY - Duration::from_secs(1);
        let cases: [(&str, &str, &str, SystemTime, TokenError); 5] = [
            (&token, KEY, "wrong", now(), TokenError::Signature),
            (&token, "otherkey", SECRET, now(), TokenError::Issuer),
            (&token, KEY, SECRET, later, TokenError::Expired),
            (&token, KEY, SECRET, earlier, TokenError::NotYetValid),
            (
                "a.b",
                KEY,
                SECRET,
                now(),
                TokenError::Malformed("expected three dot-separated parts"),
            ),
        ];
        for (token, key, secret, at, want) in cases {
            assert_eq!(verify(token, key, secret, at), Err(want.clone()), "{want}");
        }
        // No exp at all, or another algorithm.
        let no_exp = sign(&json!({"iss": KEY}), SECRET);
        assert_eq!(
            verify(&no_exp, KEY, SECRET, now()),
            Err(TokenError::MissingExpiry)
        );
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"iss":"APIkey","exp":9999999999}"#)
        );
        assert_eq!(
            verify(&none_alg, KEY, SECRET, now()),
            Err(TokenError::Algorithm("none".into()))
        );
        // A clock a little ahead of ours is tolerated.
        assert!(verify(&token, KEY, SECRET, now() - NBF_LEEWAY).is_ok());
        assert_eq!(
            access_token(
                "",
                SECRET,
                "mon",
                Duration::from_secs(1),
                &room_list(),
                now()
            ),
            Err(TokenError::MissingCredentials)
        );
    }

    #[test]
    fn webhook_checks_header_prefix_and_body_hash() {
        let body = br#"{"event":"room_started","room":{"name":"a"}}"#;
        let token = webhook_token(KEY, SECRET, body, now()).unwrap();
        assert!(verify_webhook(Some(&token), body, KEY, SECRET, now()).is_ok());
        let cases = [
            (None, &body[..], TokenError::MissingHeader),
            (
                Some(format!("Bearer {token}")),
                &body[..],
                TokenError::BearerPrefix,
            ),
            (
                Some(token.clone()),
                &br#"{"event":"room_finished"}"#[..],
                TokenError::BodyHash,
            ),
        ];
        for (header, body, want) in cases {
            assert_eq!(
                verify_webhook(header.as_deref(), body, KEY, SECRET, now()),
                Err(want.clone()),
                "{want}"
            );
        }
        let expired = now() + WEBHOOK_VALIDITY + Duration::from_secs(1);
        assert_eq!(
            verify_webhook(Some(&token), body, KEY, SECRET, expired),
            Err(TokenError::Expired)
        );
        // A token without the sha256 claim is refused too.
        let plain = access_token(
            KEY,
            SECRET,
            "x",
            Duration::from_secs(60),
            &Grants::default(),
            now(),
        )
        .unwrap();
        assert_eq!(
            verify_webhook(Some(&plain), body, KEY, SECRET, now()),
            Err(TokenError::BodyHash)
        );
        // The well-known SHA-256 of the empty string, standard base64.
        assert_eq!(
            body_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
