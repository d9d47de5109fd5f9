//! `type: heartbeat`: a dead man's switch. Jobs ping mon (`POST /api/v1/heartbeat/{name}`,
//! `/start`, `/fail`); the check is up while pings arrive every `period`, late within
//! `grace` after that, and down once `period + grace` passed without one.

use super::{BuildContext, KindConfig};
use crate::HealthError;
use chrono::{DateTime, Utc};
use mon_core::{CheckOutcome, HealthCheck, Status, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Settings of a `heartbeat` check.
///
/// ```yaml
/// - name: nightly-backup
///   type: heartbeat
///   period: 1d
///   grace: 1h
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatCheckConfig {
    /// How often the job is expected to ping.
    #[serde(with = "mon_core::duration")]
    pub period: Duration,
    /// How long after a missed `period` the check is late (degraded) before it is down (default `5m`).
    #[serde(default = "default_grace", with = "mon_core::duration")]
    pub grace: Duration,
}

fn default_grace() -> Duration {
    Duration::from_secs(300)
}

impl HeartbeatCheckConfig {
    /// A heartbeat expected every `period`, with the default grace.
    pub fn new(period: Duration) -> HeartbeatCheckConfig {
        HeartbeatCheckConfig {
            period,
            grace: default_grace(),
        }
    }
}

impl KindConfig for HeartbeatCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        if self.period.is_zero() {
            return Err(HealthError::invalid(
                check,
                "period",
                "must be longer than zero, such as 1h",
            ));
        }
        Ok(())
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        ctx.heartbeats.add(ctx.name, self.period, self.grace);
        Ok(Arc::new(HeartbeatCheck {
            name: ctx.name.to_owned(),
            heartbeats: ctx.heartbeats.clone(),
        }))
    }
}

/// What a job reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HeartbeatSignal {
    /// The job ran (or is alive): `POST /api/v1/heartbeat/{name}`.
    Success,
    /// The job started: `POST .../start`. The next success measures its run time.
    Start,
    /// The job failed: `POST .../fail`. The check is down until the next success.
    Fail,
}

/// The heartbeat state of every `heartbeat` check, shared by the checks and the ping endpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct Heartbeats(Arc<Mutex<BTreeMap<String, Beat>>>);

/// One heartbeat check's pings; what is kept across restarts is [`KeptBeat`].
#[derive(Debug, Clone)]
struct Beat {
    period: Duration,
    grace: Duration,
    kept: KeptBeat,
}

/// A heartbeat check's pings, kept across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeptBeat {
    /// When mon started waiting (the "new" state lasts at most `period + grace`).
    since: DateTime<Utc>,
    last_success: Option<DateTime<Utc>>,
    last_start: Option<DateTime<Utc>>,
    last_fail: Option<DateTime<Utc>>,
    last_run: Option<Duration>,
    pings: u64,
}

impl Heartbeats {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Beat>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Declares a heartbeat check (or updates its timing, keeping its pings).
    pub(crate) fn add(&self, name: &str, period: Duration, grace: Duration) {
        let mut beats = self.lock();
        let beat = beats.entry(name.to_owned()).or_insert_with(|| Beat {
            period,
            grace,
            kept: KeptBeat {
                since: Utc::now(),
                last_success: None,
                last_start: None,
                last_fail: None,
                last_run: None,
                pings: 0,
            },
        });
        beat.period = period;
        beat.grace = grace;
    }

    /// Records a signal at `at`; `false` if `name` is not a heartbeat check.
    pub(crate) fn signal(&self, name: &str, signal: HeartbeatSignal, at: DateTime<Utc>) -> bool {
        let mut beats = self.lock();
        let Some(Beat { kept: beat, .. }) = beats.get_mut(name) else {
            return false;
        };
        beat.pings += 1;
        match signal {
            HeartbeatSignal::Success => {
                // A success after a start (and no newer success) ends that run.
                if let Some(start) = beat.last_start
                    && beat.last_success.is_none_or(|s| s < start)
                {
                    beat.last_run = (at - start).to_std().ok();
                }
                beat.last_success = Some(at);
            }
            HeartbeatSignal::Start => beat.last_start = Some(at),
            HeartbeatSignal::Fail => beat.last_fail = Some(at),
        }
        true
    }

    /// The pings of `name`, to keep across restarts; `None` if it is not a heartbeat check.
    pub(crate) fn kept(&self, name: &str) -> Option<KeptBeat> {
        self.lock().get(name).map(|b| b.kept.clone())
    }

    /// Takes back the pings kept before a restart; `false` if `name` is not a heartbeat check.
    pub(crate) fn restore(&self, name: &str, kept: KeptBeat) -> bool {
        match self.lock().get_mut(name) {
            Some(beat) => {
                beat.kept = kept;
                true
            }
            None => false,
        }
    }

    /// The check's verdict at `now`; `None` if `name` is not a heartbeat check.
    pub(crate) fn evaluate(&self, name: &str, now: DateTime<Utc>) -> Option<CheckOutcome> {
        let Beat {
            period: every,
            grace: slack,
            kept: beat,
        } = self.lock().get(name)?.clone();
        let period = chrono::Duration::from_std(every).unwrap_or(chrono::TimeDelta::MAX);
        let grace = chrono::Duration::from_std(slack).unwrap_or(chrono::TimeDelta::MAX);
        let deadline = period.checked_add(&grace).unwrap_or(chrono::TimeDelta::MAX);
        let ago =
            |t: DateTime<Utc>| mon_core::duration::format((now - t).to_std().unwrap_or_default());
        let running = beat.last_start.is_some_and(|s| {
            beat.last_success.is_none_or(|t| t < s) && beat.last_fail.is_none_or(|t| t < s)
        });
        let failed = beat
            .last_fail
            .filter(|f| beat.last_success.is_none_or(|s| s < *f));
        let (state, status, message) = if let Some(at) = failed {
            (
                "down",
                Status::Unhealthy,
                format!("the job reported a failure {} ago", ago(at)),
            )
        } else {
            match beat.last_success {
                None if now - beat.since > deadline => (
                    "down",
                    Status::Unhealthy,
                    format!("no ping received in {}", ago(beat.since)),
                ),
                None => (
                    "new",
                    Status::Unknown,
                    "waiting for the first ping".to_owned(),
                ),
                Some(at) if now - at <= period => {
                    ("up", Status::Healthy, format!("last ping {} ago", ago(at)))
                }
                Some(at) if now - at <= deadline => (
                    "late",
                    Status::Degraded,
                    format!(
                        "late: last ping {} ago, expected every {}",
                        ago(at),
                        mon_core::duration::format(every)
                    ),
                ),
                Some(at) => (
                    "down",
                    Status::Unhealthy,
                    format!(
                        "down: last ping {} ago, expected every {} (grace {})",
                        ago(at),
                        mon_core::duration::format(every),
                        mon_core::duration::format(slack)
                    ),
                ),
            }
        };
        let details = json!({
            "state": state,
            "period": mon_core::duration::format(every),
            "grace": mon_core::duration::format(slack),
            "last_ping": beat.last_success,
            "last_start": beat.last_start,
            "last_fail": beat.last_fail,
            "running": running,
            "last_run_ms": beat.last_run.map(|d| d.as_secs_f64() * 1000.0),
            "pings": beat.pings,
        });
        Some(CheckOutcome::new(status, Duration::ZERO, message).with_details(details))
    }
}

/// A built `heartbeat` check: reads the pings, sends nothing.
struct HeartbeatCheck {
    name: String,
    heartbeats: Heartbeats,
}

#[async_trait]
impl HealthCheck for HeartbeatCheck {
    fn kind(&self) -> &str {
        "heartbeat"
    }

    async fn check(&self) -> CheckOutcome {
        self.heartbeats
            .evaluate(&self.name, Utc::now())
            .unwrap_or_else(|| {
                CheckOutcome::unhealthy(Duration::ZERO, "the heartbeat is not registered")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_pings() {
        let hub = Heartbeats::default();
        hub.add("job", Duration::from_secs(60), Duration::from_secs(30));
        let t0 = hub.lock()["job"].kept.since;
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let state = |now: i64| {
            let o = hub.evaluate("job", at(now)).unwrap();
            (o.details["state"].as_str().unwrap().to_owned(), o.status)
        };
        assert_eq!(state(10), ("new".into(), Status::Unknown));
        assert_eq!(state(91), ("down".into(), Status::Unhealthy));

        assert!(hub.signal("job", HeartbeatSignal::Success, at(100)));
        // (seconds since t0, state, status)
        for (now, want, status) in [
            (100, "up", Status::Healthy),
            (160, "up", Status::Healthy),
            (170, "late", Status::Degraded),
            (190, "late", Status::Degraded),
            (191, "down", Status::Unhealthy),
        ] {
            assert_eq!(state(now), (want.to_owned(), status), "at {now}s");
        }

        assert!(hub.signal("job", HeartbeatSignal::Start, at(200)));
        let o = hub.evaluate("job", at(201)).unwrap();
        assert_eq!(o.details["running"], true);
        assert!(hub.signal("job", HeartbeatSignal::Success, at(212)));
        let o = hub.evaluate("job", at(213)).unwrap();
        assert_eq!(o.details["last_run_ms"], 12_000.0);
        assert_eq!(o.details["running"], false);
        assert_eq!(o.status, Status::Healthy);

        assert!(hub.signal("job", HeartbeatSignal::Fail, at(220)));
        assert_eq!(state(221), ("down".into(), Status::Unhealthy));
        assert!(hub.signal("job", HeartbeatSignal::Success, at(230)));
        assert_eq!(state(231), ("up".into(), Status::Healthy));

        assert!(!hub.signal("nope", HeartbeatSignal::Success, at(0)));
        assert!(hub.evaluate("nope", at(0)).is_none());
    }
}
