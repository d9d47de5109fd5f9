//! The rule snapshot and [`SnapshotHub`], which shares the latest one.
//!
//! Producers (host collector, check scheduler, ingest) publish into the hub; readers
//! (alert engine, API, dashboard) take [`SnapshotHub::current`] or wait on
//! [`SnapshotSubscription::changed`] to evaluate right after new data arrives.

use crate::Status;
use crate::catalog::vars;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// The shortest time between two publishes of a producer that publishes what changed
/// as it changes (the recorder's publisher, the checks' view): the first change after
/// a quiet spell is published at once, a burst of changes within this time in one
/// publish at its end. So a value reaches the rules within milliseconds of the event
/// that changed it, and a flood of events costs at most one publish per this time.
pub const PUBLISH_COALESCE: Duration = Duration::from_millis(20);

/// The latest value of every rule variable plus the latest state of every check.
///
/// `values` holds flat variables documented in [`crate::catalog::CATALOG`] (`cpu_percent`,
/// `avg_api_latency_ms`, ...). A variable whose producer is not running, or whose
/// value was not finite, is absent: rules see "no data", never a made-up zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When the newest data in this snapshot was published.
    pub taken_at: DateTime<Utc>,
    /// Flat variables by name; every value is finite.
    pub values: BTreeMap<String, f64>,
    /// The latest state of each check, by check name.
    pub checks: BTreeMap<String, CheckSnapshot>,
    /// The client addresses and principals that security data singles out (the top
    /// offenders), for `each: offenders` rules; empty without security data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offenders: Vec<Offender>,
}

/// What an [`Offender`] is: a client address or an authenticated principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffenderKind {
    /// A client IP address; an alert about it carries the label `ip`.
    Ip,
    /// A principal (user or API-key id); an alert about it carries the label `principal`.
    Principal,
}

impl OffenderKind {
    /// `ip` or `principal`: the name used in JSON, rules and as the alert label.
    pub fn as_str(self) -> &'static str {
        match self {
            OffenderKind::Ip => "ip",
            OffenderKind::Principal => "principal",
        }
    }
}

/// One client address or principal with its security counts over the security window
/// (`security.failed_login_window`), as `each: offenders` rules see it (`offender`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offender {
    /// Whether `name` is an IP address or a principal.
    pub kind: OffenderKind,
    /// The address or the principal.
    pub name: String,
    /// Failed authentications within the window.
    pub failed_logins: f64,
    /// Attempts refused by an IP deny list within the window (addresses only).
    pub denied: f64,
    /// Requests refused by a rate limit within the window.
    pub rate_limited: f64,
    /// Distinct client addresses seen within the window (principals only; 0 for an address).
    pub distinct_ips: f64,
    /// Addresses first seen for this principal within the window, the principal having
    /// been seen before (principals only).
    pub new_ips: f64,
}

/// The state of one check as rules see it ("component unhealthy" conditions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSnapshot {
    /// The status of the check's latest result.
    pub status: Status,
    /// The latency of the check's latest probe, in milliseconds, when it measured one.
    pub latency_ms: Option<f64>,
    /// Whether the check is marked critical in the configuration (a critical check
    /// that is unhealthy makes the whole system unhealthy).
    pub critical: bool,
}

impl Snapshot {
    /// The value of variable `name`, if present.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }

    /// Sets variable `name` to `value`. A non-finite value (NaN, ±∞) removes the
    /// variable instead: it would mean nothing to a rule and cannot go through JSON.
    pub fn set(&mut self, name: impl Into<String>, value: f64) {
        let name = name.into();
        if value.is_finite() {
            self.values.insert(name, value);
        } else {
            self.values.remove(&name);
        }
    }

    /// The latest state of check `name`, if it has one.
    pub fn check(&self, name: &str) -> Option<&CheckSnapshot> {
        self.checks.get(name)
    }

    /// Folds `other` into `self`: its values and checks replace those of the same
    /// name, its offenders (when it has any) replace these, and `taken_at` becomes the
    /// later of the two.
    pub fn merge(&mut self, other: Snapshot) {
        for (name, value) in other.values {
            self.set(name, value);
        }
        self.checks.extend(other.checks);
        if !other.offenders.is_empty() {
            self.offenders = other.offenders;
        }
        self.taken_at = self.taken_at.max(other.taken_at);
    }
}

/// The hub source under which [`SnapshotHub::set_checks`] publishes the variables it
/// derives from the checks map. Other producers should not publish under it.
pub const CHECKS_SOURCE: &str = "checks";

/// The latest [`Snapshot`], shared between producers and readers.
///
/// Cloning is cheap (an `Arc`); every clone sees the same data. Each producer
/// publishes under its own source name (`"host"`, `"ingest"`, ...) and replaces only
/// that source's values, so producers never erase each other.
///
/// When two sources publish the same variable, one fixed precedence decides, never the
/// order of publishes (so a value cannot flip between sources from one publish to the
/// next): a check's variables (source `check:<name>`, e.g. a `prometheus` check mapping
/// a series to `avg_mos`) win over mon's own producers (ingested events, host, LiveKit
/// webhooks); among sources of the same kind, the greatest source name wins.
#[derive(Debug, Clone)]
pub struct SnapshotHub {
    inner: Arc<HubInner>,
}

#[derive(Debug)]
struct HubInner {
    state: Mutex<HubState>,
    /// Holds the merged view; sending wakes every subscription.
    tx: watch::Sender<Arc<Snapshot>>,
}

#[derive(Debug, Default)]
struct HubState {
    /// Values by source.
    sources: BTreeMap<String, BTreeMap<String, f64>>,
    checks: BTreeMap<String, CheckSnapshot>,
    offenders: Vec<Offender>,
}

/// The prefix of the hub sources of checks' own variables (`check:<name>`), which take
/// precedence over every other source.
pub const CHECK_SOURCE_PREFIX: &str = "check:";

impl HubState {
    /// Replaces `source`'s values; false (and nothing done) when they are the same.
    fn replace_source(&mut self, source: &str, values: BTreeMap<String, f64>) -> bool {
        if self
            .sources
            .get(source)
            .map_or(values.is_empty(), |old| *old == values)
        {
            return false;
        }
        if values.is_empty() {
            self.sources.remove(source);
        } else {
            self.sources.insert(source.to_owned(), values);
        }
        true
    }

    fn merged(&self) -> Snapshot {
        // Lowest precedence first: later sources overwrite earlier ones.
        let mut ordered: Vec<_> = self.sources.iter().collect();
        ordered.sort_by_key(|(name, _)| (name.starts_with(CHECK_SOURCE_PREFIX), *name));
        let mut values = BTreeMap::new();
        for (_, source_values) in ordered {
            values.extend(source_values.iter().map(|(k, v)| (k.clone(), *v)));
        }
        Snapshot {
            taken_at: Utc::now(),
            values,
            checks: self.checks.clone(),
            offenders: self.offenders.clone(),
        }
    }
}

impl Default for SnapshotHub {
    fn default() -> Self {
        SnapshotHub::new()
    }
}

impl SnapshotHub {
    /// An empty hub: no values, no checks.
    pub fn new() -> SnapshotHub {
        SnapshotHub {
            inner: Arc::new(HubInner {
                state: Mutex::new(HubState::default()),
                tx: watch::Sender::new(Arc::new(Snapshot::default())),
            }),
        }
    }

    /// Replaces every value published earlier under `source` with `values` and
    /// wakes subscribers — unless nothing changed: a producer may publish on a timer
    /// without making every rule re-evaluate. Non-finite values are dropped (see
    /// [`Snapshot::set`]); an empty `values` withdraws the source.
    pub fn publish_values(&self, source: &str, values: impl IntoIterator<Item = (String, f64)>) {
        let values: BTreeMap<String, f64> =
            values.into_iter().filter(|(_, v)| v.is_finite()).collect();
        self.update(|state| state.replace_source(source, values));
    }

    /// Replaces the checks map and wakes subscribers (unless nothing changed). Also
    /// publishes the variables
    /// derived from it under source [`CHECKS_SOURCE`]: `health_percentage`,
    /// `healthy_checks` and `total_checks` (absent when there are no checks).
    pub fn set_checks(&self, checks: BTreeMap<String, CheckSnapshot>) {
        let derived = health_values(&checks);
        self.update(|state| {
            let changed = state.checks != checks;
            state.checks = checks;
            state.replace_source(CHECKS_SOURCE, derived) || changed
        });
    }

    /// Replaces the security offenders (one producer publishes them: the security
    /// recorder); wakes subscribers only when they changed.
    pub fn set_offenders(&self, offenders: Vec<Offender>) {
        self.update(|state| {
            let changed = state.offenders != offenders;
            state.offenders = offenders;
            changed
        });
    }

    /// A copy of the merged view: every source's values, the checks map and the offenders.
    pub fn current(&self) -> Snapshot {
        self.inner.tx.borrow().as_ref().clone()
    }

    /// A subscription whose [`SnapshotSubscription::changed`] resolves at the next
    /// publish after this call.
    pub fn subscribe(&self) -> SnapshotSubscription {
        SnapshotSubscription {
            rx: self.inner.tx.subscribe(),
        }
    }

    fn update(&self, change: impl FnOnce(&mut HubState) -> bool) {
        // A panic in another thread while holding the lock cannot leave the state
        // half-written (every change is a whole-map replacement), so poisoning is ignored.
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if change(&mut state) {
            // Sent while the lock is held so that subscribers see publishes in order.
            self.inner.tx.send_replace(Arc::new(state.merged()));
        }
    }
}

/// The health variables derived from a checks map.
fn health_values(checks: &BTreeMap<String, CheckSnapshot>) -> BTreeMap<String, f64> {
    let total = checks.len();
    if total == 0 {
        return BTreeMap::new();
    }
    let count = |f: fn(&CheckSnapshot) -> bool| checks.values().filter(|c| f(c)).count() as f64;
    let healthy = count(|c| c.status == Status::Healthy);
    BTreeMap::from([
        (vars::TOTAL_CHECKS.to_owned(), total as f64),
        (vars::HEALTHY_CHECKS.to_owned(), healthy),
        (
            vars::DEGRADED_CHECKS.to_owned(),
            count(|c| c.status == Status::Degraded),
        ),
        (
            vars::UNHEALTHY_CHECKS.to_owned(),
            count(|c| c.status == Status::Unhealthy),
        ),
        (
            vars::CRITICAL_UNHEALTHY_CHECKS.to_owned(),
            count(|c| c.critical && c.status == Status::Unhealthy),
        ),
        (
            vars::HEALTH_PERCENTAGE.to_owned(),
            healthy * 100.0 / total as f64,
        ),
    ])
}

/// A reader's handle on a [`SnapshotHub`] that can wait for the next publish.
#[derive(Debug)]
pub struct SnapshotSubscription {
    rx: watch::Receiver<Arc<Snapshot>>,
}

impl SnapshotSubscription {
    /// Waits for a publish this subscription has not seen yet and returns the merged
    /// view after it. Several publishes in a row may be seen as one. Returns `None`
    /// once every clone of the hub is dropped (no more data can arrive).
    pub async fn changed(&mut self) -> Option<Snapshot> {
        self.rx.changed().await.ok()?;
        Some(self.rx.borrow_and_update().as_ref().clone())
    }

    /// The merged view now, without waiting.
    pub fn current(&self) -> Snapshot {
        self.rx.borrow().as_ref().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn vals(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    fn check(status: Status, critical: bool) -> CheckSnapshot {
        CheckSnapshot {
            status,
            latency_ms: Some(12.5),
            critical,
        }
    }

    #[test]
    fn two_sources_merge_and_republishing_replaces_only_that_source() {
        let hub = SnapshotHub::new();
        hub.publish_values(
            "host",
            vals(&[("cpu_percent", 10.0), ("memory_percent", 40.0)]),
        );
        hub.publish_values("ingest", vals(&[("active_calls", 3.0)]));
        let s = hub.current();
        assert_eq!(s.get("cpu_percent"), Some(10.0));
        assert_eq!(s.get("memory_percent"), Some(40.0));
        assert_eq!(s.get("active_calls"), Some(3.0));

        // Re-publishing "host" without memory_percent removes it; ingest is untouched.
        hub.publish_values("host", vals(&[("cpu_percent", 55.0)]));
        let s = hub.current();
        assert_eq!(s.get("cpu_percent"), Some(55.0));
        assert_eq!(s.get("memory_percent"), None);
        assert_eq!(s.get("active_calls"), Some(3.0));

        // An empty publish withdraws the source.
        hub.publish_values("ingest", Vec::new());
        assert_eq!(hub.current().get("active_calls"), None);
        assert_eq!(hub.current().get("cpu_percent"), Some(55.0));
    }

    /// Overlapping sources: one fixed precedence, whatever the order of publishes.
    /// (publishes in order, the value rules see after each).
    #[test]
    fn overlapping_sources_follow_one_precedence_not_publish_order() {
        type Step<'a> = (&'a str, Option<f64>, Option<f64>);
        let cases: [&[Step<'_>]; 4] = [
            // A prometheus check and ingested events both publish avg_mos: the check wins,
            // and the recorder's later publishes do not take it back.
            &[
                ("ingest", Some(4.1), Some(4.1)),
                ("check:sfu", Some(3.2), Some(3.2)),
                ("ingest", Some(4.3), Some(3.2)),
                ("check:sfu", Some(3.0), Some(3.0)),
                ("ingest", Some(4.4), Some(3.0)),
            ],
            // The other order of first publishes: the same winner.
            &[
                ("check:sfu", Some(3.2), Some(3.2)),
                ("ingest", Some(4.3), Some(3.2)),
            ],
            // The check withdraws its value: the events' value is used again.
            &[
                ("check:sfu", Some(3.2), Some(3.2)),
                ("ingest", Some(4.3), Some(3.2)),
                ("check:sfu", None, Some(4.3)),
                ("check:sfu", Some(2.9), Some(2.9)),
            ],
            // Two sources of one kind: the greater name, in any order.
            &[
                ("livekit", Some(2.0), Some(2.0)),
                ("ingest", Some(1.0), Some(2.0)),
                ("livekit", Some(5.0), Some(5.0)),
            ],
        ];
        for steps in cases {
            let hub = SnapshotHub::new();
            for (source, value, want) in steps {
                hub.publish_values(source, value.map(|v| ("avg_mos".to_owned(), v)));
                assert_eq!(hub.current().get("avg_mos"), *want, "{steps:?} at {source}");
            }
        }
    }

    #[test]
    fn non_finite_is_dropped() {
        let hub = SnapshotHub::new();
        hub.publish_values("a", vals(&[("x", 1.0)]));
        hub.publish_values(
            "b",
            vals(&[("x", 2.0), ("nan", f64::NAN), ("inf", f64::INFINITY)]),
        );
        assert_eq!(hub.current().get("x"), Some(2.0));
        hub.publish_values("a", vals(&[("x", 3.0)]));
        let s = hub.current();
        assert_eq!(s.get("x"), Some(2.0));
        assert_eq!(s.get("nan"), None);
        assert_eq!(s.get("inf"), None);
        // What the hub holds always survives a JSON round trip.
        let json = serde_json::to_string(&s).expect("snapshot serialises");
        let back: Snapshot = serde_json::from_str(&json).expect("snapshot deserialises");
        assert_eq!(back, s);
    }

    #[test]
    fn checks_map_is_carried_and_health_variables_derived() {
        let hub = SnapshotHub::new();
        hub.publish_values("host", vals(&[("cpu_percent", 5.0)]));
        hub.set_checks(BTreeMap::from([
            ("api".to_owned(), check(Status::Healthy, true)),
            ("cache".to_owned(), check(Status::Unhealthy, false)),
            ("db".to_owned(), check(Status::Degraded, true)),
            ("stt".to_owned(), check(Status::Healthy, false)),
        ]));
        let s = hub.current();
        assert_eq!(s.check("cache"), Some(&check(Status::Unhealthy, false)));
        assert_eq!(s.check("api").map(|c| c.critical), Some(true));
        assert_eq!(s.checks.len(), 4);
        assert_eq!(s.get("health_percentage"), Some(50.0));
        assert_eq!(s.get("healthy_checks"), Some(2.0));
        assert_eq!(s.get("total_checks"), Some(4.0));
        assert_eq!(s.get("cpu_percent"), Some(5.0));

        // Checks survive later values publishes (also one under another "health" source),
        // and clearing them withdraws the derived values.
        hub.publish_values("host", vals(&[("cpu_percent", 6.0)]));
        hub.publish_values("health", vals(&[("health_percentage", 50.0)]));
        let s = hub.current();
        assert_eq!(s.checks.len(), 4);
        assert_eq!(s.get("total_checks"), Some(4.0));
        hub.publish_values("health", Vec::new());
        hub.set_checks(BTreeMap::new());
        let s = hub.current();
        assert!(s.checks.is_empty());
        assert_eq!(s.get("health_percentage"), None);
        assert_eq!(s.get("cpu_percent"), Some(6.0));
    }

    #[tokio::test]
    async fn changed_wakes_a_waiter_and_ends_when_the_hub_is_gone() {
        let hub = SnapshotHub::new();
        let mut sub = hub.subscribe();
        let waiter = tokio::spawn(async move {
            let first = sub.changed().await;
            (first, sub)
        });
        let publisher = hub.clone();
        publisher.publish_values("host", vals(&[("cpu_percent", 42.0)]));

        let (first, mut sub) = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("changed() woke up within the deadline")
            .expect("waiter task did not panic");
        assert_eq!(first.and_then(|s| s.get("cpu_percent")), Some(42.0));
        assert_eq!(sub.current().get("cpu_percent"), Some(42.0));

        drop(publisher);
        drop(hub);
        let end = tokio::time::timeout(Duration::from_secs(5), sub.changed())
            .await
            .expect("changed() returned within the deadline");
        assert_eq!(end, None);
    }

    #[test]
    fn snapshot_set_get_and_merge() {
        let mut a = Snapshot::default();
        a.set("x", 1.0);
        a.set("y", 2.0);
        a.set("y", f64::NAN);
        assert_eq!(a.get("x"), Some(1.0));
        assert_eq!(a.get("y"), None);

        let later = Utc::now();
        let mut b = Snapshot {
            taken_at: later,
            ..Snapshot::default()
        };
        b.set("x", 10.0);
        b.set("z", 3.0);
        b.checks
            .insert("api".to_owned(), check(Status::Healthy, false));
        a.merge(b);
        assert_eq!(a.get("x"), Some(10.0));
        assert_eq!(a.get("z"), Some(3.0));
        assert!(a.check("api").is_some());
        assert_eq!(a.taken_at, later);
    }
}
