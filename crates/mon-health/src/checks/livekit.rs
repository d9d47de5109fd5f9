//! `type: livekit`: probes a LiveKit server's APIs over Twirp with short-lived access
//! tokens, one sub-result per service, and reads its rooms and participants.

pub mod token;
mod twirp;
pub mod webhook;

use super::{BuildContext, KindConfig, validate_services};
use crate::HealthError;
use crate::checks::common::{format_latency, redact_url};
use mon_core::{CheckOutcome, HealthCheck, Secret, Status, async_trait, vars};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use token::{Grants, SipGrant, VideoGrant};
use twirp::{Twirp, TwirpError, int_value};
use url::Url;

/// Settings of a `livekit` check.
///
/// ```yaml
/// - name: livekit
///   type: livekit
///   url: https://livekit.example.com     # or wss://; the server's HTTP port
///   api_key: ${LIVEKIT_API_KEY}
///   api_secret: ${LIVEKIT_API_SECRET}
///   services: [room, egress, ingress, sip, auth, server]   # the default: all
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivekitCheckConfig {
    /// The LiveKit server: `http(s)://` or `ws(s)://` (mapped to `http(s)://`), host and port
    /// of its HTTP API (7880 by default in LiveKit).
    pub url: Url,
    /// The API key: the `iss` of every access token.
    pub api_key: String,
    /// The API secret that signs the tokens. Write it as `${VAR}`; it never appears in
    /// outcomes, logs or API answers.
    pub api_secret: Secret,
    /// The services to probe (default: all of them). `room`: `ListRooms`, then
    /// `ListParticipants` of one room; `egress`: `ListEgress`; `ingress`: `ListIngress`;
    /// `sip`: the three SIP lists; `auth`: token creation and acceptance; `server`: `GET /`.
    #[serde(default = "LivekitService::all")]
    pub services: Vec<LivekitService>,
}

/// One LiveKit service a `livekit` check probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LivekitService {
    /// RoomService: `ListRooms` (grant `video.roomList`) and `ListParticipants`
    /// (`video.roomAdmin` for that `video.room`).
    Room,
    /// Egress: `ListEgress` (`video.roomRecord`).
    Egress,
    /// Ingress: `ListIngress` (`video.ingressAdmin`).
    Ingress,
    /// SIP: `ListSIPInboundTrunk`, `ListSIPOutboundTrunk`, `ListSIPDispatchRule` (`sip.admin`).
    Sip,
    /// Access tokens: created with the API secret and accepted by the server.
    Auth,
    /// The node's health route `GET /`: 200 `OK`, or 406 when not ready.
    Server,
}

impl LivekitService {
    /// Every service, in the order they are reported.
    pub fn all() -> Vec<LivekitService> {
        use LivekitService::*;
        vec![Room, Egress, Ingress, Sip, Auth, Server]
    }

    /// The name as written in config and details.
    pub fn as_str(self) -> &'static str {
        match self {
            LivekitService::Room => "room",
            LivekitService::Egress => "egress",
            LivekitService::Ingress => "ingress",
            LivekitService::Sip => "sip",
            LivekitService::Auth => "auth",
            LivekitService::Server => "server",
        }
    }
}

/// Hides the secret (Secret prints `***` anyway) and the URL's credentials.
impl fmt::Debug for LivekitCheckConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LivekitCheckConfig")
            .field("url", &redact_url(&self.url))
            .field("api_key", &self.api_key)
            .field("api_secret", &self.api_secret)
            .field("services", &self.services)
            .finish()
    }
}

impl LivekitCheckConfig {
    /// The HTTP base URL (`ws://` → `http://`, `wss://` → `https://`).
    fn http_url(&self) -> Result<Url, String> {
        let scheme = match self.url.scheme() {
            "http" | "ws" => "http",
            "https" | "wss" => "https",
            other => {
                return Err(format!(
                    "unsupported scheme {other:?} in {:?}: use http(s):// or ws(s)://",
                    redact_url(&self.url)
                ));
            }
        };
        let text = self.url.as_str().replacen(self.url.scheme(), scheme, 1);
        Url::parse(&text).map_err(|e| e.to_string())
    }
}

impl KindConfig for LivekitCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        self.http_url()
            .map_err(|message| HealthError::invalid(check, "url", message))?;
        if self.url.host_str().is_none_or(str::is_empty) {
            return Err(HealthError::invalid(
                check,
                "url",
                format!("{:?} has no host", redact_url(&self.url)),
            ));
        }
        if self.api_key.trim().is_empty() {
            return Err(HealthError::invalid(
                check,
                "api_key",
                "is empty (is its environment variable set?); write api_key: ${LIVEKIT_API_KEY}",
            ));
        }
        if self.api_secret.expose().trim().is_empty() {
            return Err(HealthError::invalid(
                check,
                "api_secret",
                "is empty (is its environment variable set?); write api_secret: ${LIVEKIT_API_SECRET}",
            ));
        }
        validate_services(
            check,
            &self.services,
            |s| s.as_str(),
            "room, egress, ingress, sip, auth, server",
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        let build_error = |message: String| HealthError::Build {
            check: ctx.name.to_owned(),
            kind: "livekit".to_owned(),
            message,
        };
        let base = self.http_url().map_err(build_error)?;
        let deadline = ctx.request_deadline();
        let client = Twirp::new(base, deadline).map_err(build_error)?;
        let mut services = self.services.clone();
        services.sort();
        Ok(Arc::new(LivekitCheck {
            client,
            display_url: redact_url(&self.url),
            api_key: self.api_key.clone(),
            api_secret: self.api_secret.clone(),
            services,
            deadline,
        }))
    }
}

/// How long the check's access tokens are valid: long enough for one run, no more.
const TOKEN_TTL: Duration = Duration::from_secs(60);
/// The identity (`sub`) of the check's tokens.
const IDENTITY: &str = "mon-health";

/// A built `livekit` check.
struct LivekitCheck {
    client: Twirp,
    display_url: String,
    api_key: String,
    api_secret: Secret,
    /// Sorted, so results come in a stable order.
    services: Vec<LivekitService>,
    deadline: Duration,
}

/// A service's verdict in `/health/livekit` and the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum ServiceStatus {
    Healthy,
    Unhealthy,
    /// The server runs without what the service needs (Redis): not down, not usable.
    NotConfigured,
}

/// One service's sub-result.
#[derive(Debug, Clone)]
struct ServiceResult {
    status: ServiceStatus,
    latency: Duration,
    error_code: Option<String>,
    message: String,
    /// Service-specific numbers (rooms, egress counts...).
    facts: serde_json::Map<String, Value>,
}

impl ServiceResult {
    fn healthy(latency: Duration, message: String, facts: Value) -> ServiceResult {
        ServiceResult {
            status: ServiceStatus::Healthy,
            latency,
            error_code: None,
            message,
            facts: match facts {
                Value::Object(map) => map,
                _ => serde_json::Map::new(),
            },
        }
    }

    fn failed(latency: Duration, error: &TwirpError, what: &str) -> ServiceResult {
        let status = if error.redis_required() {
            ServiceStatus::NotConfigured
        } else {
            ServiceStatus::Unhealthy
        };
        let message = if status == ServiceStatus::NotConfigured {
            format!("{what}: not configured on this server (redis required)")
        } else {
            format!("{what}: {}", error.message())
        };
        ServiceResult {
            status,
            latency,
            error_code: Some(error.code()),
            message,
            facts: serde_json::Map::new(),
        }
    }

    fn to_json(&self) -> Value {
        let mut out = json!({
            "status": self.status,
            "latency_ms": self.latency.as_secs_f64() * 1000.0,
            "error_code": self.error_code,
            "message": self.message,
        });
        if let Value::Object(map) = &mut out {
            map.extend(self.facts.clone());
        }
        out
    }
}

/// What one service run produced, plus whether the server refused our token.
struct Probe {
    result: ServiceResult,
    /// The error of a call refused for its credentials, for the `auth` service.
    refused: Option<TwirpError>,
}

impl LivekitCheck {
    fn token(&self, grants: &Grants) -> Result<String, token::TokenError> {
        token::access_token(
            &self.api_key,
            self.api_secret.expose(),
            IDENTITY,
            TOKEN_TTL,
            grants,
            SystemTime::now(),
        )
    }

    fn video(grant: VideoGrant) -> Grants {
        Grants {
            video: Some(grant),
            sip: None,
        }
    }

    /// One Twirp call with a fresh token carrying `grants`.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        service: &str,
        method: &str,
        body: Value,
        grants: Grants,
    ) -> Result<T, TwirpError> {
        let token = self.token(&grants).map_err(|e| TwirpError::Http {
            status: 0,
            text: e.to_string(),
        })?;
        self.client.call(service, method, &body, &token).await
    }

    /// Runs `probe` for `service` within the deadline.
    async fn timed<F>(&self, service: LivekitService, probe: F) -> Option<Probe>
    where
        F: Future<Output = Result<ServiceResult, (TwirpError, &'static str)>>,
    {
        if !self.services.contains(&service) {
            return None;
        }
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.deadline, probe).await;
        let latency = started.elapsed();
        Some(match outcome {
            Ok(Ok(mut result)) => {
                result.latency = latency;
                Probe {
                    result,
                    refused: None,
                }
            }
            Ok(Err((error, what))) => Probe {
                result: ServiceResult::failed(latency, &error, what),
                refused: error.unauthenticated().then_some(error),
            },
            Err(_) => Probe {
                result: ServiceResult::failed(latency, &TwirpError::Timeout, service.as_str()),
                refused: None,
            },
        })
    }

    async fn room(&self) -> Result<ServiceResult, (TwirpError, &'static str)> {
        let grants = Self::video(VideoGrant {
            room_list: true,
            ..VideoGrant::default()
        });
        let reply: ListRoomsReply = self
            .call("RoomService", "ListRooms", json!({}), grants)
            .await
            .map_err(|e| (e, "ListRooms"))?;
        let rooms = reply.rooms.unwrap_or_default();
        let participants: i64 = rooms
            .iter()
            .map(|r| r.num_participants.as_ref().and_then(int_value).unwrap_or(0))
            .sum();
        let now = chrono::Utc::now().timestamp();
        let oldest = rooms
            .iter()
            .filter_map(|r| r.creation_time.as_ref().and_then(int_value))
            .filter(|t| *t > 0)
            .min();
        let mut facts = json!({
            "active_rooms": rooms.len(),
            "active_participants": participants,
            "oldest_room_age_seconds": oldest.map(|t| (now - t).max(0)),
        });
        // ListParticipants of one room proves the room-admin grant works too. A room that
        // closed between the two calls answers `not_found`: the next room is asked instead.
        let names = rooms.iter().filter_map(|r| r.name.as_deref());
        for name in names.take(LIST_PARTICIPANTS_TRIES) {
            let grants = Self::video(VideoGrant {
                room_admin: true,
                room: Some(name.to_owned()),
                ..VideoGrant::default()
            });
            let reply: Value = match self
                .call(
                    "RoomService",
                    "ListParticipants",
                    json!({ "room": name }),
                    grants,
                )
                .await
            {
                Ok(reply) => reply,
                Err(e) if e.code() == "not_found" => continue,
                Err(e) => return Err((e, "ListParticipants")),
            };
            let listed = list(&reply, "participants").map_err(|e| (e, "ListParticipants"))?;
            facts["listed_room_participants"] = json!(listed.len());
            break;
        }
        let message = format!("{} rooms, {participants} participants", rooms.len());
        Ok(ServiceResult::healthy(Duration::ZERO, message, facts))
    }

    async fn egress(&self) -> Result<ServiceResult, (TwirpError, &'static str)> {
        let grants = Self::video(VideoGrant {
            room_record: true,
            ..VideoGrant::default()
        });
        let reply = self
            .call("Egress", "ListEgress", json!({}), grants)
            .await
            .map_err(|e| (e, "ListEgress"))?;
        let items = list(&reply, "items").map_err(|e| (e, "ListEgress"))?;
        let status_of = |item: &Value| {
            item.get("status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let count = |names: &[&str]| {
            items
                .iter()
                .filter(|i| names.contains(&status_of(i).as_str()))
                .count()
        };
        let active = count(&["EGRESS_STARTING", "EGRESS_ACTIVE", "EGRESS_ENDING"]);
        let failed = count(&["EGRESS_FAILED", "EGRESS_ABORTED", "EGRESS_LIMIT_REACHED"]);
        let facts =
            json!({"egress_total": items.len(), "egress_active": active, "egress_failed": failed});
        Ok(ServiceResult::healthy(
            Duration::ZERO,
            format!("{} egress, {active} active, {failed} failed", items.len()),
            facts,
        ))
    }

    async fn ingress(&self) -> Result<ServiceResult, (TwirpError, &'static str)> {
        let grants = Self::video(VideoGrant {
            ingress_admin: true,
            ..VideoGrant::default()
        });
        let reply = self
            .call("Ingress", "ListIngress", json!({}), grants)
            .await
            .map_err(|e| (e, "ListIngress"))?;
        let items = list(&reply, "items").map_err(|e| (e, "ListIngress"))?;
        Ok(ServiceResult::healthy(
            Duration::ZERO,
            format!("{} ingress", items.len()),
            json!({"ingress_total": items.len()}),
        ))
    }

    async fn sip(&self) -> Result<ServiceResult, (TwirpError, &'static str)> {
        let mut facts = serde_json::Map::new();
        for (method, fact) in [
            ("ListSIPInboundTrunk", "inbound_trunks"),
            ("ListSIPOutboundTrunk", "outbound_trunks"),
            ("ListSIPDispatchRule", "dispatch_rules"),
        ] {
            let grants = Grants {
                video: None,
                sip: Some(SipGrant { admin: true }),
            };
            let reply = self
                .call("SIP", method, json!({}), grants)
                .await
                .map_err(|e| (e, method))?;
            let items = list(&reply, "items").map_err(|e| (e, method))?;
            facts.insert(fact.to_owned(), json!(items.len()));
        }
        let message = format!(
            "{} inbound trunks, {} outbound trunks, {} dispatch rules",
            facts["inbound_trunks"], facts["outbound_trunks"], facts["dispatch_rules"]
        );
        Ok(ServiceResult::healthy(
            Duration::ZERO,
            message,
            Value::Object(facts),
        ))
    }

    async fn server(&self) -> Result<ServiceResult, (TwirpError, &'static str)> {
        match self.client.health().await {
            Ok(text) => Ok(ServiceResult::healthy(
                Duration::ZERO,
                format!("GET / answered {text:?}"),
                json!({}),
            )),
            Err(TwirpError::Http { status: 406, text }) => Err((
                TwirpError::Http { status: 406, text },
                "the node is not ready (GET /)",
            )),
            Err(e) => Err((e, "GET /")),
        }
    }

    /// The `auth` sub-result: tokens can be made, and no call was refused for its credentials.
    fn auth(&self, probes: &[&Probe]) -> ServiceResult {
        let started = Instant::now();
        let made = self.token(&Self::video(VideoGrant {
            room_list: true,
            ..VideoGrant::default()
        }));
        let latency = started.elapsed();
        if let Err(e) = made {
            return ServiceResult {
                status: ServiceStatus::Unhealthy,
                latency,
                error_code: Some("token".to_owned()),
                message: format!("cannot create an access token: {e}"),
                facts: serde_json::Map::new(),
            };
        }
        if let Some(refused) = probes.iter().find_map(|p| p.refused.as_ref()) {
            let mut result =
                ServiceResult::failed(latency, refused, "the server refused the token");
            result.status = ServiceStatus::Unhealthy;
            return result;
        }
        ServiceResult::healthy(
            latency,
            format!("HS256 token created in {}", format_latency(latency)),
            json!({}),
        )
    }
}

/// The array `field` of a reply; absent counts as empty (LiveKit may omit defaults).
/// Rooms asked for their participants before giving up when each has just closed.
const LIST_PARTICIPANTS_TRIES: usize = 3;

/// The fields of a `ListRooms` reply the check reads; the rest of each room is skipped
/// while parsing, so 50,000 rooms cost their bytes and not a JSON tree.
#[derive(Debug, Deserialize)]
struct ListRoomsReply {
    rooms: Option<Vec<RoomBrief>>,
}

/// One room of a `ListRooms` reply (int64 fields come as strings or numbers).
#[derive(Debug, Deserialize)]
struct RoomBrief {
    name: Option<String>,
    num_participants: Option<Value>,
    creation_time: Option<Value>,
}

fn list<'a>(reply: &'a Value, field: &str) -> Result<&'a [Value], TwirpError> {
    match reply.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(TwirpError::BadResponse(format!(
            "`{field}` is not an array"
        ))),
    }
}

#[async_trait]
impl HealthCheck for LivekitCheck {
    fn kind(&self) -> &str {
        "livekit"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let (room, egress, ingress, sip, server) = tokio::join!(
            self.timed(LivekitService::Room, self.room()),
            self.timed(LivekitService::Egress, self.egress()),
            self.timed(LivekitService::Ingress, self.ingress()),
            self.timed(LivekitService::Sip, self.sip()),
            self.timed(LivekitService::Server, self.server()),
        );
        let probes: Vec<(LivekitService, &Probe)> = [
            (LivekitService::Room, &room),
            (LivekitService::Egress, &egress),
            (LivekitService::Ingress, &ingress),
            (LivekitService::Sip, &sip),
            (LivekitService::Server, &server),
        ]
        .into_iter()
        .filter_map(|(s, p)| p.as_ref().map(|p| (s, p)))
        .collect();
        let mut results: Vec<(LivekitService, ServiceResult)> =
            probes.iter().map(|(s, p)| (*s, p.result.clone())).collect();
        if self.services.contains(&LivekitService::Auth) {
            let all: Vec<&Probe> = probes.iter().map(|(_, p)| *p).collect();
            results.push((LivekitService::Auth, self.auth(&all)));
        }
        results.sort_by_key(|(s, _)| *s);
        let latency = started.elapsed();

        let mut services = serde_json::Map::new();
        for (service, result) in &results {
            services.insert(service.as_str().to_owned(), result.to_json());
        }
        let rooms = room
            .as_ref()
            .filter(|p| p.result.status == ServiceStatus::Healthy)
            .map(|p| &p.result.facts);
        let active_rooms = rooms.and_then(|f| f.get("active_rooms")).cloned();
        let active_participants = rooms.and_then(|f| f.get("active_participants")).cloned();
        let mut variables = BTreeMap::new();
        if let (Some(r), Some(p)) = (
            active_rooms.as_ref().and_then(Value::as_f64),
            active_participants.as_ref().and_then(Value::as_f64),
        ) {
            variables.insert(vars::ACTIVE_ROOMS.to_owned(), r);
            variables.insert(vars::ACTIVE_PARTICIPANTS.to_owned(), p);
        }

        let failing: Vec<String> = results
            .iter()
            .filter(|(_, r)| r.status == ServiceStatus::Unhealthy)
            .map(|(s, r)| format!("{} ({})", s.as_str(), r.message))
            .collect();
        let unconfigured: Vec<&str> = results
            .iter()
            .filter(|(_, r)| r.status == ServiceStatus::NotConfigured)
            .map(|(s, _)| s.as_str())
            .collect();
        let took = format_latency(latency);
        let (status, message) = if !failing.is_empty() {
            (
                Status::Unhealthy,
                format!("LiveKit unhealthy in {took}: {}", failing.join("; ")),
            )
        } else if !unconfigured.is_empty() {
            (
                Status::Degraded,
                format!(
                    "LiveKit up in {took}; not configured (redis required): {}",
                    unconfigured.join(", ")
                ),
            )
        } else {
            let rooms = match (&active_rooms, &active_participants) {
                (Some(r), Some(p)) => format!(", {r} rooms, {p} participants"),
                _ => String::new(),
            };
            (
                Status::Healthy,
                format!(
                    "LiveKit: {} services healthy in {took}{rooms}",
                    results.len()
                ),
            )
        };
        CheckOutcome::new(status, latency, message)
            .with_details(json!({
                "url": self.display_url,
                "services": services,
                "active_rooms": active_rooms,
                "active_participants": active_participants,
                "variables": variables,
            }))
            .with_variables(variables)
    }
}

/// The body of `GET /health/livekit` from the `livekit` checks' latest results: the
/// overall `status`, each service's `status` (`healthy`, `unhealthy` or
/// `not_configured`) with its latency and error code, and `active_rooms` /
/// `active_participants`. `None` when no `livekit` check is configured.
///
/// With several `livekit` checks, services are keyed `<check>/<service>` and the room
/// numbers are summed.
pub(crate) fn health_view(checks: &[crate::CheckState]) -> Option<(Status, Value)> {
    let livekit: Vec<&crate::CheckState> = checks.iter().filter(|c| c.kind == "livekit").collect();
    if livekit.is_empty() {
        return None;
    }
    let status = Status::worst(livekit.iter().map(|c| c.status()));
    let several = livekit.len() > 1;
    let mut services = serde_json::Map::new();
    let (mut rooms, mut participants) = (None::<i64>, None::<i64>);
    let mut entries = Vec::new();
    for check in &livekit {
        let entry = check.entry();
        if let Some(Value::Object(own)) = entry.details.get("services") {
            for (name, service) in own {
                let key = if several {
                    format!("{}/{name}", check.name)
                } else {
                    name.clone()
                };
                services.insert(key, service.clone());
            }
        }
        let add = |total: &mut Option<i64>, field: &str| {
            if let Some(n) = entry.details.get(field).and_then(Value::as_i64) {
                *total = Some(total.unwrap_or(0) + n);
            }
        };
        add(&mut rooms, "active_rooms");
        add(&mut participants, "active_participants");
        entries.push(json!({
            "name": entry.name,
            "status": entry.status,
            "message": entry.message,
            "latency_ms": entry.latency_ms,
            "observed_at": entry.observed_at,
        }));
    }
    let healthy = services
        .values()
        .filter(|s| s["status"] == "healthy")
        .count();
    Some((
        status,
        json!({
            "status": status,
            "timestamp": chrono::Utc::now(),
            "services": services,
            "healthy_services": healthy,
            "total_services": services.len(),
            "active_rooms": rooms,
            "active_participants": participants,
            "checks": entries,
        }),
    ))
}
