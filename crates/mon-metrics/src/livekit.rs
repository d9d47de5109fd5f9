//! LiveKit room and participant metrics from webhooks (`room_started`, `participant_joined`,
//! `egress_ended`...) and from applications' room-creation errors: counters for `/metrics`,
//! rolling windows for the rule snapshot (`connection_success_rate`,
//! `room_creation_failures`, ...), published under [`LIVEKIT_SOURCE`].
//!
//! ```
//! use mon_metrics::{LivekitMetrics, Window, vars};
//! use serde_json::json;
//! use std::time::SystemTime;
//!
//! let livekit = LivekitMetrics::new(Window::FiveMinutes);
//! let now = SystemTime::now();
//! livekit.record_webhook("participant_joined", &json!({"participant": {"identity": "a"}}), now);
//! livekit.record_webhook("participant_joined", &json!({}), now);
//! livekit.record_webhook("participant_connection_aborted", &json!({}), now);
//! livekit.record_webhook("participant_joined", &json!({}), now);
//! let values = livekit.snapshot_values();
//! assert_eq!(values[vars::CONNECTION_SUCCESS_RATE], 0.75);
//! assert_eq!(values[vars::PARTICIPANTS_JOINED], 3.0);
//! ```

use crate::snapshot::SnapshotHub;
use crate::vars;
use crate::window::{Ring, Window, slot_of};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The hub source under which LiveKit webhook and room-error variables are published.
pub const LIVEKIT_SOURCE: &str = "livekit";

/// The LiveKit webhook events mon knows; others are counted as `other`.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "participant_connection_aborted",
    "track_published",
    "track_unpublished",
    "egress_started",
    "egress_updated",
    "egress_ended",
    "ingress_started",
    "ingress_ended",
];

/// Rooms whose start time is remembered (for durations when `room.creationTime` is absent).
const MAX_OPEN_ROOMS: usize = 100_000;

/// LiveKit activity: counters since start and rolling windows for rules.
///
/// Cloning is cheap; every clone records into the same metrics.
#[derive(Debug, Clone)]
pub struct LivekitMetrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    rule_window: Window,
    state: Mutex<State>,
    events: Family<EventLabel, Counter>,
    rooms_started: Counter,
    rooms_finished: Counter,
    participants_joined: Counter,
    participants_left: Counter,
    participants_aborted: Counter,
    egress_failures: Counter,
    room_creation_failures: Counter,
    room_duration: Histogram,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EventLabel {
    event: mon_core::LabelValue,
}

#[derive(Debug, Default)]
struct State {
    /// Whether anything was recorded yet: until then the source publishes nothing.
    seen: bool,
    rooms_started: Ring,
    rooms_finished: Ring,
    participants_joined: Ring,
    participants_left: Ring,
    /// One value per connection attempt; failures are aborted connections.
    connections: Ring,
    egress_failures: Ring,
    room_creation_failures: Ring,
    /// Values are room durations in seconds.
    room_durations: Ring,
    /// Start time (Unix seconds) of rooms seen starting, by sid (or name).
    open_rooms: HashMap<String, i64>,
    totals: LivekitTotals,
}

/// Counters since mon started (also on `/metrics` as `mon_livekit_*_total`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LivekitTotals {
    /// Webhook events accepted.
    pub events: u64,
    /// `room_started` events.
    pub rooms_started: u64,
    /// `room_finished` events.
    pub rooms_finished: u64,
    /// `participant_joined` events.
    pub participants_joined: u64,
    /// `participant_left` events.
    pub participants_left: u64,
    /// `participant_connection_aborted` events.
    pub participants_aborted: u64,
    /// `egress_ended` events with status `EGRESS_FAILED`.
    pub egress_failures: u64,
    /// Room-creation errors (`LK1301`) reported by applications.
    pub room_creation_failures: u64,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An integer that protobuf JSON may write as a string (`"1700000000"`) or a number.
fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl LivekitMetrics {
    /// Empty metrics whose snapshot variables cover `rule_window`.
    pub fn new(rule_window: Window) -> LivekitMetrics {
        LivekitMetrics {
            inner: Arc::new(Inner {
                rule_window,
                state: Mutex::new(State::default()),
                events: Family::default(),
                rooms_started: Counter::default(),
                rooms_finished: Counter::default(),
                participants_joined: Counter::default(),
                participants_left: Counter::default(),
                participants_aborted: Counter::default(),
                egress_failures: Counter::default(),
                room_creation_failures: Counter::default(),
                // 10 s to about 2.8 h.
                room_duration: Histogram::new([
                    10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 10_800.0,
                ]),
            }),
        }
    }

    /// Registers the `mon_livekit_*` families in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        let i = &self.inner;
        registry.register(
            "mon_livekit_webhook_events",
            "LiveKit webhook events accepted, by event",
            i.events.clone(),
        );
        for (name, help, counter) in [
            (
                "mon_livekit_rooms_started",
                "LiveKit rooms started (room_started webhooks)",
                &i.rooms_started,
            ),
            (
                "mon_livekit_rooms_finished",
                "LiveKit rooms finished (room_finished webhooks)",
                &i.rooms_finished,
            ),
            (
                "mon_livekit_participants_joined",
                "LiveKit participants joined",
                &i.participants_joined,
            ),
            (
                "mon_livekit_participants_left",
                "LiveKit participants left",
                &i.participants_left,
            ),
            (
                "mon_livekit_participants_aborted",
                "LiveKit participant connections aborted",
                &i.participants_aborted,
            ),
            (
                "mon_livekit_egress_failures",
                "LiveKit egress that ended with EGRESS_FAILED",
                &i.egress_failures,
            ),
            (
                "mon_livekit_room_creation_failures",
                "Room-creation errors (LK1301) reported by applications",
                &i.room_creation_failures,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        registry.register_with_unit(
            "mon_livekit_room_duration",
            "Duration of finished LiveKit rooms",
            prometheus_client::registry::Unit::Seconds,
            i.room_duration.clone(),
        );
    }

    /// Records one verified webhook event (`payload` is the webhook body, lowerCamelCase)
    /// received at `at`. Returns whether the event name is one mon knows.
    pub fn record_webhook(&self, event: &str, payload: &Value, at: SystemTime) -> bool {
        let known = WEBHOOK_EVENTS.contains(&event);
        let i = &self.inner;
        i.events
            .get_or_create(&EventLabel {
                event: if known { event } else { "other" }.into(),
            })
            .inc();
        let now = slot_of(SystemTime::now());
        let slot = slot_of(at);
        let room = payload.get("room").unwrap_or(&Value::Null);
        let room_key = room
            .get("sid")
            .or_else(|| room.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let event_time = payload
            .get("createdAt")
            .and_then(int)
            .filter(|t| *t > 0)
            .unwrap_or_else(|| unix_seconds(at));
        let mut state = lock(&i.state);
        state.seen = true;
        state.totals.events += 1;
        match event {
            "room_started" => {
                i.rooms_started.inc();
                state.totals.rooms_started += 1;
                state.rooms_started.record(slot, now, 1.0, false);
                let started = room
                    .get("creationTime")
                    .and_then(int)
                    .filter(|t| *t > 0)
                    .unwrap_or(event_time);
                if let Some(key) = room_key
                    && state.open_rooms.len() < MAX_OPEN_ROOMS
                {
                    state.open_rooms.insert(key, started);
                }
            }
            "room_finished" => {
                i.rooms_finished.inc();
                state.totals.rooms_finished += 1;
                state.rooms_finished.record(slot, now, 1.0, false);
                let remembered = room_key.and_then(|k| state.open_rooms.remove(&k));
                let started = room
                    .get("creationTime")
                    .and_then(int)
                    .filter(|t| *t > 0)
                    .or(remembered);
                if let Some(started) = started
                    && event_time >= started
                {
                    let seconds = (event_time - started) as f64;
                    i.room_duration.observe(seconds);
                    state.room_durations.record(slot, now, seconds, false);
                }
            }
            "participant_joined" => {
                i.participants_joined.inc();
                state.totals.participants_joined += 1;
                state.participants_joined.record(slot, now, 1.0, false);
                state.connections.record(slot, now, 1.0, false);
            }
            "participant_left" => {
                i.participants_left.inc();
                state.totals.participants_left += 1;
                state.participants_left.record(slot, now, 1.0, false);
            }
            "participant_connection_aborted" => {
                i.participants_aborted.inc();
                state.totals.participants_aborted += 1;
                state.connections.record(slot, now, 1.0, true);
            }
            "egress_ended" => {
                let status = payload
                    .get("egressInfo")
                    .and_then(|e| e.get("status"))
                    .unwrap_or(&Value::Null);
                // Protobuf JSON writes the enum by name; 4 is EGRESS_FAILED by number.
                if status == "EGRESS_FAILED" || status == 4 {
                    i.egress_failures.inc();
                    state.totals.egress_failures += 1;
                    state.egress_failures.record(slot, now, 1.0, true);
                }
            }
            _ => {}
        }
        known
    }

    /// Records a room-creation failure an application reported (error code `LK1301`).
    pub fn record_room_creation_failure(&self, at: SystemTime) {
        let i = &self.inner;
        i.room_creation_failures.inc();
        let mut state = lock(&i.state);
        state.seen = true;
        state.totals.room_creation_failures += 1;
        state
            .room_creation_failures
            .record(slot_of(at), slot_of(SystemTime::now()), 1.0, true);
    }

    /// The counters since mon started.
    pub fn totals(&self) -> LivekitTotals {
        lock(&self.inner.state).totals.clone()
    }

    /// The rule-snapshot variables over the rule window: counts of rooms, participants,
    /// egress failures and room-creation failures; `connection_success_rate` =
    /// joined / (joined + aborted) and `avg_room_duration_seconds` when the window has
    /// data. Empty until a webhook or room error was recorded.
    pub fn snapshot_values(&self) -> BTreeMap<String, f64> {
        let state = lock(&self.inner.state);
        let mut out = BTreeMap::new();
        if !state.seen {
            return out;
        }
        let window = self.inner.rule_window;
        let now = slot_of(SystemTime::now());
        let count = |ring: &Ring| ring.stats(now, window).count as f64;
        for (name, ring) in [
            (vars::ROOMS_STARTED, &state.rooms_started),
            (vars::ROOMS_FINISHED, &state.rooms_finished),
            (vars::PARTICIPANTS_JOINED, &state.participants_joined),
            (vars::PARTICIPANTS_LEFT, &state.participants_left),
            (vars::EGRESS_FAILURES, &state.egress_failures),
            (vars::ROOM_CREATION_FAILURES, &state.room_creation_failures),
        ] {
            out.insert(name.to_owned(), count(ring));
        }
        let connections = state.connections.stats(now, window);
        out.insert(
            vars::PARTICIPANTS_ABORTED.to_owned(),
            connections.failures as f64,
        );
        if connections.count > 0 {
            out.insert(
                vars::CONNECTION_SUCCESS_RATE.to_owned(),
                (connections.count - connections.failures) as f64 / connections.count as f64,
            );
        }
        if let Some(avg) = state.room_durations.stats(now, window).avg {
            out.insert(vars::AVG_ROOM_DURATION_SECONDS.to_owned(), avg);
        }
        out
    }

    /// Publishes [`Self::snapshot_values`] into `hub` under [`LIVEKIT_SOURCE`].
    pub fn publish(&self, hub: &SnapshotHub) {
        hub.publish_values(LIVEKIT_SOURCE, self.snapshot_values());
    }
}

/// Publishes `metrics` into `hub` every `interval` (so windows age out), until `stop`.
pub fn spawn_livekit_publisher(
    metrics: LivekitMetrics,
    hub: SnapshotHub,
    interval: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    crate::snapshot::spawn_every(interval, None, stop, move || metrics.publish(&hub))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nothing_is_published_before_the_first_event() {
        let m = LivekitMetrics::new(Window::FiveMinutes);
        assert!(m.snapshot_values().is_empty());
        m.record_room_creation_failure(SystemTime::now());
        let v = m.snapshot_values();
        assert_eq!(v[vars::ROOM_CREATION_FAILURES], 1.0);
        assert_eq!(v.get(vars::CONNECTION_SUCCESS_RATE), None);
        assert_eq!(m.totals().room_creation_failures, 1);
    }

    #[test]
    fn rooms_participants_egress_and_durations() {
        let m = LivekitMetrics::new(Window::FiveMinutes);
        let now = SystemTime::now();
        let t = unix_seconds(now);
        let room = |sid: &str, created: Option<i64>| {
            let mut r = json!({"sid": sid, "name": sid});
            if let Some(c) = created {
                r["creationTime"] = json!(c.to_string());
            }
            r
        };
        // A: creationTime on the finish event (int64 as a string): 120 s.
        m.record_webhook(
            "room_started",
            &json!({"room": room("RM_A", None), "createdAt": (t - 120).to_string()}),
            now,
        );
        m.record_webhook(
            "room_finished",
            &json!({"room": room("RM_A", Some(t - 120)), "createdAt": t.to_string()}),
            now,
        );
        // B: no creationTime: the remembered start, 60 s.
        m.record_webhook(
            "room_started",
            &json!({"room": room("RM_B", None), "createdAt": (t - 60).to_string()}),
            now,
        );
        m.record_webhook(
            "room_finished",
            &json!({"room": room("RM_B", None), "createdAt": t.to_string()}),
            now,
        );
        for event in [
            "participant_joined",
            "participant_joined",
            "participant_left",
            "participant_connection_aborted",
        ] {
            assert!(m.record_webhook(event, &json!({}), now));
        }
        m.record_webhook(
            "egress_ended",
            &json!({"egressInfo": {"status": "EGRESS_FAILED"}}),
            now,
        );
        m.record_webhook(
            "egress_ended",
            &json!({"egressInfo": {"status": "EGRESS_COMPLETE"}}),
            now,
        );
        assert!(!m.record_webhook("something_new", &json!({}), now));

        let v = m.snapshot_values();
        let want = [
            (vars::ROOMS_STARTED, 2.0),
            (vars::ROOMS_FINISHED, 2.0),
            (vars::PARTICIPANTS_JOINED, 2.0),
            (vars::PARTICIPANTS_LEFT, 1.0),
            (vars::PARTICIPANTS_ABORTED, 1.0),
            (vars::EGRESS_FAILURES, 1.0),
            (vars::ROOM_CREATION_FAILURES, 0.0),
        ];
        for (name, value) in want {
            assert_eq!(v.get(name), Some(&value), "{name}");
        }
        assert!((v[vars::CONNECTION_SUCCESS_RATE] - 2.0 / 3.0).abs() < 1e-12);
        assert!(
            (v[vars::AVG_ROOM_DURATION_SECONDS] - 90.0).abs() < 1.0,
            "{v:?}"
        );
        let totals = m.totals();
        assert_eq!((totals.events, totals.egress_failures), (11, 1));

        let mut registry = Registry::default();
        m.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("mon_livekit_rooms_started_total 2"), "{text}");
        assert!(
            text.contains("mon_livekit_webhook_events_total{event=\"other\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("mon_livekit_room_duration_seconds_count 2"),
            "{text}"
        );
    }

    #[test]
    fn old_events_leave_the_window() {
        let m = LivekitMetrics::new(Window::OneMinute);
        let long_ago = SystemTime::now() - Duration::from_secs(600);
        m.record_webhook("participant_connection_aborted", &json!({}), long_ago);
        let v = m.snapshot_values();
        assert_eq!(v[vars::PARTICIPANTS_ABORTED], 0.0);
        assert_eq!(v.get(vars::CONNECTION_SUCCESS_RATE), None);
        assert_eq!(m.totals().participants_aborted, 1);
    }
}
