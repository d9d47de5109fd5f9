//! `mon demo`: realistic voice-agent traffic sent to a running server through
//! `POST /api/v1/events?source=demo` — calls with outcomes, API requests, voice quality,
//! STT/LLM/TTS usage and cost, errors with LiveKit codes, logs, logins and security
//! events, LiveKit room and participant events (signed webhooks to
//! `POST /api/v1/webhooks/livekit?source=demo` when `--livekit-key/--livekit-secret` are given) and
//! one deployment marker — so that every built-in dashboard shows data within a minute.
//! `--fast` replays the last hour in seconds (timestamped events); `--delete` removes
//! every stored row labelled `source=demo` (`DELETE /api/v1/sources/demo`).

use crate::{Ctx, Outcome};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime};

/// The label every demo batch carries (`?source=demo`).
pub(crate) const SOURCE: &str = "demo";

/// What `mon demo` was asked to do.
#[derive(Debug)]
pub(crate) struct DemoArgs {
    /// Simulated minutes at real pace (ignored with `fast`).
    pub(crate) minutes: u32,
    /// Replay the last hour as fast as the server takes it.
    pub(crate) fast: bool,
    /// LiveKit webhook API key and secret: send LiveKit events as signed webhooks.
    pub(crate) livekit: Option<(String, String)>,
}

/// A small deterministic generator (xorshift64*): the demo needs variety, not secrecy.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// A call in progress in the simulation.
struct Call {
    id: String,
    room: String,
    started: DateTime<Utc>,
    ends: DateTime<Utc>,
    success: bool,
    /// Conversational turns so far.
    turns: u32,
    /// The experiment arm of its session: the TTS voice it was answered with.
    variant: &'static str,
}

/// The simulated service: calls in progress and what each simulated second produces.
struct Sim {
    rng: Rng,
    calls: Vec<Call>,
    next_call: u64,
}

const ENDPOINTS: &[(&str, &str, f64)] = &[
    ("/api/calls", "POST", 180.0),
    ("/api/rooms", "POST", 120.0),
    ("/api/agents/dispatch", "POST", 240.0),
    ("/api/tokens", "GET", 25.0),
    ("/api/health", "GET", 5.0),
];
const PRINCIPALS: &[&str] = &["svc-frontend", "svc-dialer", "svc-analytics"];
/// The agent's features a turn may use.
const FEATURES: &[&str] = &[
    "voice_command",
    "booking",
    "faq_lookup",
    "transfer_to_human",
];
/// What feedback is about.
const CATEGORIES: &[&str] = &["voice_quality", "latency", "answer"];
const AI: &[(&str, &str, &str, f64, f64, f64)] = &[
    // provider, service, model, units per turn, cost per unit (USD), latency ms
    ("deepgram", "stt", "nova-2", 12.0, 0.000_072, 220.0),
    ("openai", "llm", "gpt-4o-mini", 650.0, 0.000_000_6, 700.0),
    ("cartesia", "tts", "sonic-english", 180.0, 0.000_038, 160.0),
];
const ERRORS: &[(&str, &str)] = &[
    ("LK1301", "room creation failed: the node is at capacity"),
    ("LK1102", "connection to the LiveKit server timed out"),
    (
        "LK1503",
        "audio quality degraded below the acceptable level",
    ),
    ("LK1601", "SIP call failed: 486 Busy Here from the trunk"),
    (
        "ProviderTimeout",
        "the LLM provider did not answer within 5s",
    ),
];

impl Sim {
    fn new(seed: u64) -> Sim {
        Sim {
            rng: Rng(seed | 1),
            calls: Vec::new(),
            next_call: 1,
        }
    }

    /// The events of the simulated second ending at `t`, and the LiveKit webhook bodies
    /// (`event` name and payload) of that second.
    fn second(&mut self, t: DateTime<Utc>) -> (Vec<Value>, Vec<(String, Value)>) {
        let ts = t.to_rfc3339();
        let mut events = Vec::new();
        let mut livekit = Vec::new();
        let rng = &mut self.rng;
        // API traffic: about 5 requests a second.
        for _ in 0..(3 + rng.next() % 5) {
            let (endpoint, method, typical) = *rng.pick(ENDPOINTS);
            let slow = rng.chance(0.01);
            let latency = if slow {
                rng.between(1200.0, 3500.0)
            } else {
                typical * rng.between(0.5, 1.8)
            };
            let status = if rng.chance(0.02) {
                503
            } else if rng.chance(0.02) {
                429
            } else if method == "POST" {
                201
            } else {
                200
            };
            events.push(json!({
                "type": "request", "endpoint": endpoint, "method": method, "status": status,
                "latency_ms": (latency * 10.0).round() / 10.0,
                "principal": rng.pick(PRINCIPALS),
                "ip": format!("198.51.100.{}", 10 + rng.next() % 20),
                "timestamp": ts,
            }));
        }
        // A new call about every 4 seconds, lasting 30 s to 4 minutes.
        if rng.chance(0.25) {
            let n = self.next_call;
            self.next_call += 1;
            let call = Call {
                id: format!("demo-call-{n}"),
                room: format!("demo-room-{n}"),
                started: t,
                ends: t + TimeDelta::seconds(30 + (rng.next() % 210) as i64),
                success: rng.chance(0.93),
                turns: 0,
                variant: if n.is_multiple_of(2) {
                    "control"
                } else {
                    "warm-voice"
                },
            };
            events.push(json!({"type": "call_started", "call_id": call.id, "timestamp": ts}));
            events.push(json!({
                "type": "session", "session_id": call.id, "phase": "start",
                "user_id": format!("demo-user-{}", n % 40), "timestamp": ts,
            }));
            events.push(json!({
                "type": "log", "level": "info", "message": "call started", "call_id": call.id,
                "fields": {"room": call.room, "logger": "voice-agent"}, "timestamp": ts,
            }));
            livekit.push((
                "room_started".to_owned(),
                json!({"room": {"sid": format!("RM_{}", call.room), "name": call.room,
                                "creationTime": t.timestamp().to_string()}}),
            ));
            for identity in ["caller", "agent"] {
                livekit.push((
                    "participant_joined".to_owned(),
                    json!({"room": {"sid": format!("RM_{}", call.room), "name": call.room},
                           "participant": {"identity": format!("{identity}-{n}")}}),
                ));
            }
            self.calls.push(call);
        }
        // Every call in progress: a conversational turn now and then, voice quality
        // every ten seconds.
        for call in &mut self.calls {
            if rng.chance(0.2) {
                call.turns += 1;
                if rng.chance(0.3) {
                    events.push(json!({
                        "type": "feature", "feature": rng.pick(FEATURES), "session_id": call.id,
                        "duration_seconds": rng.between(1.0, 12.0).round(), "timestamp": ts,
                    }));
                }
                for (provider, service, model, units, per_unit, latency) in AI {
                    let units = (units * rng.between(0.6, 1.4)).round();
                    events.push(json!({
                        "type": "ai_usage", "provider": provider, "service": service,
                        "model": model, "units": units, "cost_usd": units * per_unit,
                        "latency_ms": (latency * rng.between(0.7, 1.6)).round(),
                        "call_id": call.id, "experiment": "tts-voice", "variant": call.variant,
                        "timestamp": ts,
                    }));
                }
            }
            if (t - call.started).num_seconds() % 10 == 0 {
                let poor = !call.success && rng.chance(0.5);
                events.push(json!({
                    "type": "voice_quality", "conversation_id": call.id,
                    "latency_ms": rng.between(140.0, if poor { 900.0 } else { 320.0 }).round(),
                    "packet_loss": rng.between(0.0, if poor { 0.08 } else { 0.015 }),
                    "jitter_ms": rng.between(4.0, if poor { 70.0 } else { 25.0 }).round(),
                    "mos": rng.between(if poor { 2.6 } else { 3.8 }, if poor { 3.6 } else { 4.5 }),
                    "audio_level": rng.between(0.5, 0.9),
                    "noise_level": rng.between(0.02, if poor { 0.5 } else { 0.2 }),
                    "timestamp": ts,
                }));
            }
        }
        // Calls that end now.
        let (ended, going): (Vec<Call>, Vec<Call>) =
            self.calls.drain(..).partition(|c| c.ends <= t);
        self.calls = going;
        for call in ended {
            let duration = (call.ends - call.started).num_milliseconds() as f64 / 1000.0;
            events.push(json!({
                "type": "call_ended", "call_id": call.id, "duration_seconds": duration,
                "success": call.success, "timestamp": ts,
                "experiment": "tts-voice", "variant": call.variant,
            }));
            let outcome = match (call.success, rng.chance(0.5)) {
                (true, _) if rng.chance(0.1) => "transferred",
                (true, _) => "completed",
                (false, true) => "abandoned",
                (false, false) => "failed",
            };
            events.push(json!({
                "type": "session", "session_id": call.id, "phase": "end", "outcome": outcome,
                "turns": call.turns, "duration_seconds": duration, "timestamp": ts,
                "experiment": "tts-voice", "variant": call.variant,
            }));
            if rng.chance(0.6) {
                // Happier callers on successful calls, and a little more with the warm voice.
                let lift = if call.variant == "warm-voice" {
                    0.4
                } else {
                    0.0
                };
                let rating = if call.success {
                    rng.between(3.0 + lift, 5.99).floor().min(5.0)
                } else {
                    rng.between(1.0, 3.99).floor()
                };
                events.push(json!({
                    "type": "feedback", "rating": rating as u8, "category": rng.pick(CATEGORIES),
                    "session_id": call.id, "timestamp": ts,
                    "experiment": "tts-voice", "variant": call.variant,
                }));
            }
            let sid = format!("RM_{}", call.room);
            if call.success {
                livekit.push((
                    "participant_left".to_owned(),
                    json!({"room": {"sid": sid, "name": call.room},
                           "participant": {"identity": format!("caller-{}", call.id)}}),
                ));
            } else {
                livekit.push((
                    "participant_connection_aborted".to_owned(),
                    json!({"room": {"sid": sid, "name": call.room},
                           "participant": {"identity": format!("caller-{}", call.id)}}),
                ));
                events.push(json!({
                    "type": "log", "level": "warn", "message": "call ended unsuccessfully",
                    "call_id": call.id, "fields": {"logger": "voice-agent"}, "timestamp": ts,
                }));
            }
            livekit.push((
                "room_finished".to_owned(),
                json!({"room": {"sid": sid, "name": call.room,
                                "creationTime": call.started.timestamp().to_string()},
                       "createdAt": t.timestamp().to_string()}),
            ));
        }
        // Errors: about two a minute, LiveKit codes among them.
        if rng.chance(0.035) {
            let (kind, message) = *rng.pick(ERRORS);
            events.push(json!({
                "type": "error", "kind": kind, "message": message,
                "context": {"component": "voice-agent", "room": format!("demo-room-{}", self.next_call)},
                "timestamp": ts,
            }));
        }
        if rng.chance(0.01) {
            livekit.push((
                "egress_ended".to_owned(),
                json!({"egressInfo": {"egressId": format!("EG_demo_{}", rng.next() % 10_000),
                                      "status": "EGRESS_FAILED", "error": "upload failed"}}),
            ));
        }
        // Logins (a few bad passwords from one address) and refusals.
        if rng.chance(0.1) {
            let bad = rng.chance(0.3);
            let principal = *rng.pick(&["alice", "bob", "ops-admin"]);
            let mut auth = json!({
                "type": "auth", "success": !bad, "method": "password",
                "principal": principal, "endpoint": "/login", "timestamp": ts,
                "ip": if bad { "203.0.113.66".to_owned() } else { format!("198.51.100.{}", 40 + rng.next() % 5) },
            });
            if bad {
                auth["reason"] = json!("bad_password");
            }
            events.push(auth);
        }
        if rng.chance(0.03) {
            events.push(json!({
                "type": "security", "event": "rate_limited", "severity": "warning",
                "ip": "203.0.113.66", "endpoint": "/api/calls", "timestamp": ts,
            }));
        }
        (events, livekit)
    }
}

/// The deployment marker the demo starts with.
fn deployment(t: DateTime<Utc>) -> Value {
    json!({
        "type": "deployment", "service": "voice-agent", "version": "1.4.2",
        "commit": "d3m0c0ffee", "environment": "demo", "timestamp": t.to_rfc3339(),
    })
}

/// Sends the LiveKit events of the second at `t`: signed webhooks when a key is given
/// (LiveKit's receiver counts them when they arrive), else `livekit` events forwarded
/// with their timestamp into `events` (as an application that verified them would).
fn livekit_events(
    ctx: &Ctx,
    keys: Option<&(String, String)>,
    list: Vec<(String, Value)>,
    t: DateTime<Utc>,
    events: &mut Vec<Value>,
) -> Result<usize, Outcome> {
    let Some((key, secret)) = keys else {
        events.extend(list.into_iter().map(|(event, payload)| {
            json!({"type": "livekit", "event": event, "payload": payload, "timestamp": t.to_rfc3339()})
        }));
        return Ok(0);
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Outcome::Usage(format!("cannot build an HTTP client: {e}")))?;
    let url = format!(
        "{}/api/v1/webhooks/livekit?source={SOURCE}",
        ctx.client.server()
    );
    let mut sent = 0;
    for (event, mut payload) in list {
        // LiveKit's WebhookEvent: the event name, a unique id and the creation time.
        payload["event"] = json!(event);
        payload["id"] = json!(format!(
            "EV_demo_{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        ));
        if payload.get("createdAt").is_none() {
            payload["createdAt"] = json!(Utc::now().timestamp().to_string());
        }
        let body = payload.to_string();
        let token = mon_health::livekit_token::webhook_token(
            key,
            secret,
            body.as_bytes(),
            SystemTime::now(),
        )
        .map_err(|e| Outcome::Usage(format!("--livekit-key/--livekit-secret: {e}")))?;
        let response = client
            .post(&url)
            .header("Authorization", token)
            .header("Content-Type", "application/webhook+json")
            .body(body)
            .send()
            .map_err(|e| Outcome::Unreachable(format!("cannot reach {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(Outcome::Unreachable(format!(
                "{} from {url}: the server refused the signed webhook; give it the same key \
                 and secret under livekit.webhook (docs/livekit.md)",
                response.status().as_u16()
            )));
        }
        sent += 1;
    }
    Ok(sent)
}

/// One plain progress line on stderr, rewritten in place.
fn progress(done: u64, total: u64, events: usize) {
    let width = 30;
    let filled = (done * width / total.max(1)) as usize;
    err!(
        "\r[{}{}] {:>3}%  {done}/{total} s simulated, {events} events sent",
        "#".repeat(filled),
        ".".repeat(width as usize - filled),
        done * 100 / total.max(1)
    );
}

fn send(ctx: &Ctx, events: &[Value]) -> Result<(), Outcome> {
    if events.is_empty() {
        return Ok(());
    }
    ctx.client
        .post_json(
            &format!("/api/v1/events?source={SOURCE}"),
            Some(&Value::Array(events.to_vec())),
        )
        .map(|_| ())
}

/// `mon demo`: simulates `args.minutes` minutes at real pace (a batch a second), or with
/// `--fast` the last hour in batches of timestamped events, then says how to delete it.
pub(crate) fn run(ctx: &Ctx, args: &DemoArgs) -> Result<Outcome, Outcome> {
    let mut sim = Sim::new(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    );
    let (total, start) = if args.fast {
        (3600u64, Utc::now() - TimeDelta::hours(1))
    } else {
        (u64::from(args.minutes.max(1)) * 60, Utc::now())
    };
    let mut sent = 0usize;
    // The replay's deployment went live a quarter into the hour: inside a 1-hour chart.
    let deployed = if args.fast {
        start + TimeDelta::minutes(15)
    } else {
        start
    };
    send(ctx, &[deployment(deployed)])?;
    sent += 1;
    let began = Instant::now();
    let mut batch = Vec::new();
    for second in 1..=total {
        let t = if args.fast {
            start + TimeDelta::seconds(second as i64)
        } else {
            // Real pace: wait for the second to come.
            let due = Duration::from_secs(second - 1);
            if let Some(wait) = due.checked_sub(began.elapsed()) {
                std::thread::sleep(wait);
            }
            Utc::now()
        };
        let (events, livekit) = sim.second(t);
        batch.extend(events);
        // Signed webhooks count when they arrive: in the replay only the last 15
        // minutes' are sent, so that the rule window is not crowded with a whole hour.
        let arrives_now = args.livekit.is_some() && args.fast && second + 900 < total;
        if !arrives_now {
            sent += livekit_events(ctx, args.livekit.as_ref(), livekit, t, &mut batch)?;
        }
        if !args.fast || batch.len() >= 500 || second == total {
            sent += batch.len();
            send(ctx, &batch)?;
            batch.clear();
        }
        if !args.fast || second % 60 == 0 {
            progress(second, total, sent);
        }
    }
    err!("\n");
    let replay = if args.fast {
        "an hour replayed"
    } else {
        "real pace"
    };
    outln!(
        "sent {sent} demo events ({replay}) to {}; open {}/ to see the dashboards.\n\
         The demo's stored rows carry source=demo: `mon demo --delete` removes them.",
        ctx.client.server(),
        ctx.client.server()
    );
    Ok(Outcome::Ok)
}

/// `mon demo --delete`: every stored row and series labelled `source=demo` (admin token).
pub(crate) fn delete(ctx: &Ctx) -> Result<Outcome, Outcome> {
    let answer = ctx
        .client
        .delete_json(&format!("/api/v1/sources/{SOURCE}"))?;
    let count = |k: &str| answer["deleted"][k].as_u64().unwrap_or(0);
    outln!(
        "deleted the demo's rows: {} application events, {} log records, {} error groups, \
         {} series with {} points",
        count("app_events"),
        count("logs"),
        count("errors"),
        count("series"),
        count("points")
    );
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An hour of simulated traffic holds every kind the dashboards read, each valid for
    /// the server (decoded and validated by mon_core as `POST /api/v1/events` does).
    #[test]
    fn an_hour_holds_every_kind_and_every_event_is_valid() {
        let mut sim = Sim::new(42);
        let start = Utc::now() - TimeDelta::hours(1);
        let mut kinds = std::collections::BTreeSet::new();
        let mut livekit = std::collections::BTreeSet::new();
        let mut lk_codes = 0;
        let mut all = vec![deployment(start)];
        for s in 1..=3600 {
            let (events, hooks) = sim.second(start + TimeDelta::seconds(s));
            all.extend(events);
            livekit.extend(hooks.into_iter().map(|(e, _)| e));
        }
        for value in all {
            let event = mon_core::Event::from_json(value.clone()).expect("decodes");
            event.validate(256).expect("valid");
            kinds.insert(event.type_name());
            if value["kind"].as_str().is_some_and(|k| k.starts_with("LK")) {
                lk_codes += 1;
            }
        }
        for kind in [
            "request",
            "call_started",
            "call_ended",
            "voice_quality",
            "ai_usage",
            "error",
            "log",
            "auth",
            "security",
            "deployment",
            "session",
            "feedback",
            "feature",
        ] {
            assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
        }
        for event in [
            "room_started",
            "room_finished",
            "participant_joined",
            "participant_left",
            "participant_connection_aborted",
        ] {
            assert!(livekit.contains(event), "no {event} in {livekit:?}");
        }
        assert!(lk_codes > 0, "no LiveKit error codes");
    }
}
