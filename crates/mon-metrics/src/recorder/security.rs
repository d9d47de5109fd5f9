//! Security data: what mon computes from `auth` and `security` events and from the
//! `principal`/`ip` of requests — failed authentications by address and by principal
//! over `security.failed_login_window`, refused (deny-listed) and rate-limited attempts,
//! distinct and new addresses per principal — as rule variables, as the top offenders
//! that `each: offenders` rules alert on one by one, as the summary of
//! `GET /api/v1/security/summary`, and as `mon_auth_attempts_total` and
//! `mon_security_events_total`.
//!
//! Memory is bounded: at most [`SecurityConfig::max_tracked`] addresses and as many
//! principals are tracked at once (about 1 KB each), each over a fixed number of time
//! buckets, with at most 32 addresses remembered per principal.
//! Beyond the cap, a new address or principal still counts in the totals but is not
//! tracked by name (`untracked` in the summary). Addresses, principals and failure
//! reasons are never metric labels: the labels are the auth method and the security
//! event name, each capped at 32 values (`other` beyond).

use super::{OVERFLOW_LABEL, Recorder, bounded, lock, system_time};
use crate::report::{Published, counter_u64};
use crate::vars;
use mon_core::snapshot::{Offender, OffenderKind};
use mon_core::{AuthEvent, LabelValue, RequestEvent, SecurityEvent, Severity};
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many time buckets a window is cut into: a count is exact to 1/30 of the window.
const BUCKETS: usize = 30;

/// At most this many addresses are remembered per principal (the least recently seen
/// goes first).
const MAX_IPS_PER_PRINCIPAL: usize = 32;

/// At most this many auth methods and this many security event names are metric label
/// values; beyond them, `other`.
const MAX_LABEL_VALUES: usize = 32;

/// The security event names mon gives a meaning to.
const IP_DENIED: &str = "ip_denied";
/// A request refused by a rate limit.
const RATE_LIMITED: &str = "rate_limited";

/// `security:` — what mon computes from authentication and security events, and the
/// thresholds of the built-in security rules (docs/security.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// More failed authentications than this from one address, or for one principal,
    /// within `failed_login_window` fires `Brute Force Suspected` for it (seed: 5).
    pub max_failed_logins: u32,
    /// The window failed authentications and the other security counts are taken over
    /// (seed: 300 s).
    #[serde(with = "mon_core::duration")]
    pub failed_login_window: Duration,
    /// More attempts refused by an IP deny list than this within the window fires
    /// `Denied IP Burst`.
    pub max_denied_ip_attempts: u32,
    /// A principal seen from more distinct addresses than this within the window fires
    /// `Principal From Many IPs`.
    pub max_principal_ips: u32,
    /// At most this many client addresses, and this many principals, are tracked at once.
    pub max_tracked: usize,
    /// How many addresses and principals of each ranking the rules and the summary see.
    pub top_offenders: usize,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            max_failed_logins: 5,
            failed_login_window: Duration::from_secs(300),
            max_denied_ip_attempts: 20,
            max_principal_ips: 5,
            max_tracked: 10_000,
            top_offenders: 20,
        }
    }
}

impl SecurityConfig {
    /// The values serde cannot check, as `(key, message)` pairs: a window from 10 s to
    /// 24 h, at least one tracked key and one offender, at most 1,000 offenders.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let window = self.failed_login_window;
        if window < Duration::from_secs(10) || window > Duration::from_secs(86_400) {
            out.push((
                "failed_login_window",
                format!("{} is outside 10s..24h", mon_core::duration::format(window)),
            ));
        }
        if self.max_tracked == 0 {
            out.push(("max_tracked", "must be at least 1".to_string()));
        }
        if self.top_offenders == 0 || self.top_offenders > 1000 {
            out.push(("top_offenders", "must be from 1 to 1000".to_string()));
        }
        out
    }
}

/// Counts of one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counts {
    failed: u32,
    denied: u32,
    rate_limited: u32,
    /// Every event naming the key (requests, auth attempts, security events).
    volume: u32,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.failed = self.failed.saturating_add(other.failed);
        self.denied = self.denied.saturating_add(other.denied);
        self.rate_limited = self.rate_limited.saturating_add(other.rate_limited);
        self.volume = self.volume.saturating_add(other.volume);
    }
}

/// Counts over the window, in [`BUCKETS`] buckets: `(bucket number, counts)` at the
/// slot `bucket % BUCKETS`.
#[derive(Debug, Clone, Default)]
struct Buckets([(u64, Counts); BUCKETS]);

impl Buckets {
    fn add(&mut self, bucket: u64, now: u64, counts: Counts) {
        if bucket + (BUCKETS as u64) <= now {
            return; // Older than the window: it no longer counts.
        }
        let slot = &mut self.0[(bucket % BUCKETS as u64) as usize];
        if slot.0 != bucket {
            *slot = (bucket, Counts::default());
        }
        slot.1.add(counts);
    }

    fn sum(&self, now: u64) -> Counts {
        let mut total = Counts::default();
        for (bucket, counts) in &self.0 {
            if *bucket + (BUCKETS as u64) > now && *bucket <= now {
                total.add(*counts);
            }
        }
        total
    }
}

/// One client address.
#[derive(Debug, Default)]
struct IpState {
    buckets: Buckets,
    /// Last event, in seconds since the epoch.
    last_seen: u64,
    /// The last refusal: when and why (`ip_denied`, `rate_limited`).
    last_block: Option<(u64, &'static str)>,
}

/// One principal.
#[derive(Debug, Default)]
struct PrincipalState {
    buckets: Buckets,
    first_seen: u64,
    last_seen: u64,
    last_block: Option<(u64, &'static str)>,
    /// Addresses seen for it: address → (first seen, last seen), seconds.
    ips: HashMap<IpAddr, (u64, u64)>,
}

/// What one event adds: counts, and for whom.
struct Observation<'a> {
    at: u64,
    ip: Option<IpAddr>,
    principal: Option<&'a str>,
    counts: Counts,
    block: Option<&'static str>,
    /// Whether the principal is authenticated from `ip` (a successful login, a request).
    authenticated: bool,
}

#[derive(Debug, Default)]
struct State {
    /// Whether any security data (auth or security event, request naming a principal
    /// or an address) was seen: the variables are published from then on.
    seen: bool,
    totals: Buckets,
    /// Auth attempts in the window, apart from the failed ones counted in `totals`.
    auth_attempts: Buckets,
    security_events: Buckets,
    ips: HashMap<IpAddr, IpState>,
    principals: HashMap<String, PrincipalState>,
    untracked: u64,
    /// `mon_auth_attempts_total`: (method, success) → count.
    auth_total: BTreeMap<(String, bool), u64>,
    /// `mon_security_events_total`: (event, severity) → count.
    events_total: BTreeMap<(String, Severity), u64>,
}

/// The security state, behind one lock.
#[derive(Debug)]
pub(crate) struct Security {
    config: SecurityConfig,
    /// Seconds per bucket.
    bucket_secs: u64,
    state: Mutex<State>,
}

impl Default for Security {
    fn default() -> Self {
        Security::new(SecurityConfig::default())
    }
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Security {
    pub(crate) fn new(config: SecurityConfig) -> Security {
        let bucket_secs = config
            .failed_login_window
            .as_secs()
            .div_ceil(BUCKETS as u64)
            .max(1);
        Security {
            config,
            bucket_secs,
            state: Mutex::new(State::default()),
        }
    }

    fn bucket(&self, secs: u64) -> u64 {
        secs / self.bucket_secs
    }

    fn now(&self) -> u64 {
        secs(SystemTime::now())
    }

    /// The seconds of the window as whole minutes (at least a fraction), for rates.
    fn window_minutes(&self) -> f64 {
        self.config.failed_login_window.as_secs_f64() / 60.0
    }

    fn observe(&self, state: &mut State, o: &Observation<'_>) {
        let now = self.now();
        let at = o.at.min(now);
        let (bucket, now_bucket) = (self.bucket(at), self.bucket(now));
        let window = self.config.failed_login_window.as_secs();
        let max = self.config.max_tracked;
        state.seen = true;
        state.totals.add(bucket, now_bucket, o.counts);
        if let Some(ip) = o.ip {
            if !state.ips.contains_key(&ip) && state.ips.len() >= max {
                state.ips.retain(|_, s| s.last_seen + window >= now);
            }
            if state.ips.contains_key(&ip) || state.ips.len() < max {
                let s = state.ips.entry(ip).or_default();
                s.buckets.add(bucket, now_bucket, o.counts);
                s.last_seen = s.last_seen.max(at);
                if let Some(why) = o.block {
                    s.last_block = Some((at, why));
                }
            } else {
                state.untracked += 1;
            }
        }
        let Some(principal) = o.principal else {
            return;
        };
        if !state.principals.contains_key(principal) && state.principals.len() >= max {
            // Forget the least recently seen principal, if it is out of the window.
            if let Some(oldest) = state
                .principals
                .iter()
                .filter(|(_, s)| s.last_seen + window < now)
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
            {
                state.principals.remove(&oldest);
            }
        }
        if !state.principals.contains_key(principal) && state.principals.len() >= max {
            state.untracked += 1;
            return;
        }
        let s = state
            .principals
            .entry(principal.to_owned())
            .or_insert_with(|| PrincipalState {
                first_seen: at,
                ..PrincipalState::default()
            });
        s.buckets.add(bucket, now_bucket, o.counts);
        s.first_seen = s.first_seen.min(at);
        s.last_seen = s.last_seen.max(at);
        if let Some(why) = o.block {
            s.last_block = Some((at, why));
        }
        if let (Some(ip), true) = (o.ip, o.authenticated) {
            if !s.ips.contains_key(&ip)
                && s.ips.len() >= MAX_IPS_PER_PRINCIPAL
                && let Some(oldest) = s.ips.iter().min_by_key(|(_, t)| t.1).map(|(k, _)| *k)
            {
                s.ips.remove(&oldest);
            }
            let seen = s.ips.entry(ip).or_insert((at, at));
            seen.0 = seen.0.min(at);
            seen.1 = seen.1.max(at);
        }
    }

    /// Counts one event of a labelled series (`series` picks its window and its totals):
    /// its volume in the window and one in the totals under `(label, key)` (once they hold
    /// [`MAX_LABEL_VALUES`] series, a new label counts under [`OVERFLOW_LABEL`]); then
    /// observes `o` for its address and principal.
    fn record_labelled<K: Ord + Copy>(
        &self,
        series: impl FnOnce(&mut State) -> (&mut Buckets, &mut BTreeMap<(String, K), u64>),
        (label, key): (&str, K),
        o: &Observation<'_>,
    ) {
        let mut state = lock(&self.state);
        let (window, totals) = series(&mut state);
        window.add(
            self.bucket(o.at.min(self.now())),
            self.bucket(self.now()),
            Counts {
                volume: 1,
                ..Counts::default()
            },
        );
        let label =
            if totals.len() >= MAX_LABEL_VALUES && !totals.contains_key(&(label.to_owned(), key)) {
                OVERFLOW_LABEL
            } else {
                label
            };
        *totals.entry((label.to_owned(), key)).or_default() += 1;
        self.observe(&mut state, o);
    }

    fn record_auth(&self, e: &AuthEvent, max_label: usize) {
        let at = secs(system_time(e.timestamp));
        self.record_labelled(
            |s| (&mut s.auth_attempts, &mut s.auth_total),
            (bounded(&e.method, max_label), e.success),
            &Observation {
                at,
                ip: e.ip,
                principal: e.principal.as_deref(),
                counts: Counts {
                    failed: u32::from(!e.success),
                    volume: 1,
                    ..Counts::default()
                },
                block: None,
                authenticated: e.success,
            },
        );
    }

    fn record_security(&self, e: &SecurityEvent, max_label: usize) {
        let at = secs(system_time(e.timestamp));
        let block = match e.event.as_str() {
            IP_DENIED => Some(IP_DENIED),
            RATE_LIMITED => Some(RATE_LIMITED),
            _ => None,
        };
        self.record_labelled(
            |s| (&mut s.security_events, &mut s.events_total),
            (bounded(&e.event, max_label), e.severity),
            &Observation {
                at,
                ip: e.ip,
                principal: e.principal.as_deref(),
                counts: Counts {
                    denied: u32::from(block == Some(IP_DENIED)),
                    rate_limited: u32::from(block == Some(RATE_LIMITED)),
                    volume: 1,
                    ..Counts::default()
                },
                block,
                authenticated: false,
            },
        );
    }

    fn record_request(&self, e: &RequestEvent) {
        if e.ip.is_none() && e.principal.is_none() {
            return;
        }
        let at = secs(system_time(e.timestamp));
        let mut state = lock(&self.state);
        self.observe(
            &mut state,
            &Observation {
                at,
                ip: e.ip,
                principal: e.principal.as_deref(),
                counts: Counts {
                    volume: 1,
                    ..Counts::default()
                },
                block: None,
                authenticated: true,
            },
        );
    }

    /// Every tracked address and principal with its counts over the window now; keys
    /// without activity in the window are left out (and addresses forgotten).
    fn rows(&self) -> (Vec<SecurityRow>, Totals) {
        let now = self.now();
        let now_bucket = self.bucket(now);
        let window = self.config.failed_login_window.as_secs();
        let since = now.saturating_sub(window);
        let mut state = lock(&self.state);
        state.ips.retain(|_, s| s.last_seen + window >= now);
        let mut rows = Vec::with_capacity(state.ips.len() + state.principals.len());
        let block = |b: Option<(u64, &'static str)>| b.filter(|(t, _)| *t >= since);
        for (ip, s) in &state.ips {
            let c = s.buckets.sum(now_bucket);
            rows.push(SecurityRow {
                kind: OffenderKind::Ip,
                name: ip.to_string(),
                failed_logins: u64::from(c.failed),
                denied: u64::from(c.denied),
                rate_limited: u64::from(c.rate_limited),
                volume: u64::from(c.volume),
                distinct_ips: 0,
                new_ips: 0,
                last_seen: s.last_seen,
                last_block: block(s.last_block),
            });
        }
        for (name, s) in &state.principals {
            if s.last_seen < since {
                continue;
            }
            let c = s.buckets.sum(now_bucket);
            let recent = s.ips.values().filter(|(_, last)| *last >= since);
            let distinct_ips = recent.clone().count() as u64;
            let new_ips = recent
                .filter(|(first, _)| *first >= since && *first > s.first_seen)
                .count() as u64;
            rows.push(SecurityRow {
                kind: OffenderKind::Principal,
                name: name.clone(),
                failed_logins: u64::from(c.failed),
                denied: u64::from(c.denied),
                rate_limited: u64::from(c.rate_limited),
                volume: u64::from(c.volume),
                distinct_ips,
                new_ips,
                last_seen: s.last_seen,
                last_block: block(s.last_block),
            });
        }
        let t = state.totals.sum(now_bucket);
        let totals = Totals {
            seen: state.seen,
            auth_attempts: u64::from(state.auth_attempts.sum(now_bucket).volume),
            failed_logins: u64::from(t.failed),
            denied: u64::from(t.denied),
            rate_limited: u64::from(t.rate_limited),
            security_events: u64::from(state.security_events.sum(now_bucket).volume),
            volume: u64::from(t.volume),
            untracked: state.untracked,
        };
        (rows, totals)
    }

    /// The rule variables (once security data was seen) and the offenders.
    pub(crate) fn publish(&self, out: &mut Published) {
        let (rows, totals) = self.rows();
        if !totals.seen {
            return;
        }
        let top = |kind: OffenderKind, f: fn(&SecurityRow) -> u64| {
            rows.iter()
                .filter(|r| r.kind == kind)
                .map(f)
                .max()
                .unwrap_or(0) as f64
        };
        let c = &self.config;
        for (name, v) in [
            (vars::FAILED_LOGINS, totals.failed_logins as f64),
            (
                vars::TOP_IP_FAILED_LOGINS,
                top(OffenderKind::Ip, |r| r.failed_logins),
            ),
            (
                vars::TOP_PRINCIPAL_FAILED_LOGINS,
                top(OffenderKind::Principal, |r| r.failed_logins),
            ),
            (
                vars::RATE_LIMITED_PER_MIN,
                totals.rate_limited as f64 / self.window_minutes(),
            ),
            (vars::DENIED_IP_ATTEMPTS, totals.denied as f64),
            (vars::SECURITY_EVENTS, totals.security_events as f64),
            (
                vars::TOP_PRINCIPAL_IPS,
                top(OffenderKind::Principal, |r| r.distinct_ips),
            ),
            (
                vars::NEW_PRINCIPAL_IPS,
                rows.iter().map(|r| r.new_ips).sum::<u64>() as f64,
            ),
            (vars::MAX_FAILED_LOGINS, f64::from(c.max_failed_logins)),
            (
                vars::MAX_DENIED_IP_ATTEMPTS,
                f64::from(c.max_denied_ip_attempts),
            ),
            (vars::MAX_PRINCIPAL_IPS, f64::from(c.max_principal_ips)),
        ] {
            out.put(name, Some(v));
        }
    }

    /// The top offenders for `each: offenders` rules: the addresses and the principals
    /// with the most failed logins, the addresses most refused, the principals seen
    /// from the most addresses (each ranking [`SecurityConfig::top_offenders`] long),
    /// ordered by kind and name.
    pub(crate) fn offenders(&self) -> Vec<Offender> {
        let (rows, _) = self.rows();
        let n = self.config.top_offenders;
        let mut picked: BTreeMap<(OffenderKind, String), &SecurityRow> = BTreeMap::new();
        let rankings: [(OffenderKind, Score, u64); 4] = [
            (OffenderKind::Ip, |r| r.failed_logins, 0),
            (OffenderKind::Ip, |r| r.denied, 0),
            (OffenderKind::Principal, |r| r.failed_logins, 0),
            (OffenderKind::Principal, |r| r.distinct_ips, 1),
        ];
        for (kind, score, floor) in rankings {
            for r in top_by(&rows, kind, score, floor, n) {
                picked.insert((r.kind, r.name.clone()), r);
            }
        }
        picked
            .into_values()
            .map(|r| Offender {
                kind: r.kind,
                name: r.name.clone(),
                failed_logins: r.failed_logins as f64,
                denied: r.denied as f64,
                rate_limited: r.rate_limited as f64,
                distinct_ips: r.distinct_ips as f64,
                new_ips: r.new_ips as f64,
            })
            .collect()
    }

    /// The summary of `GET /api/v1/security/summary`.
    pub(crate) fn summary(&self) -> SecuritySummary {
        let (rows, totals) = self.rows();
        let n = self.config.top_offenders;
        let top = |kind, score: fn(&SecurityRow) -> u64| {
            top_by(&rows, kind, score, 0, n)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        let mut blocks: Vec<SecurityRow> = rows
            .iter()
            .filter(|r| r.last_block.is_some())
            .cloned()
            .collect();
        blocks.sort_by(|a, b| b.last_block.cmp(&a.last_block).then(a.name.cmp(&b.name)));
        blocks.truncate(n);
        SecuritySummary {
            window: self.config.failed_login_window,
            totals,
            top_ips_by_failures: top(OffenderKind::Ip, |r| r.failed_logins),
            top_ips_by_volume: top(OffenderKind::Ip, |r| r.volume),
            top_principals_by_failures: top(OffenderKind::Principal, |r| r.failed_logins),
            top_principals_by_volume: top(OffenderKind::Principal, |r| r.volume),
            blocks,
        }
    }

    /// `mon_auth_attempts_total{method,result}` and `mon_security_events_total{event,severity}`.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let (auth, events) = {
            let state = lock(&self.state);
            (state.auth_total.clone(), state.events_total.clone())
        };
        let mut f = encoder.encode_descriptor(
            "mon_auth_attempts",
            "Authentication attempts applications reported, by method and result (success or failure)",
            None,
            MetricType::Counter,
        )?;
        for ((method, success), n) in &auth {
            let result = if *success { "success" } else { "failure" };
            counter_u64(
                &mut f.encode_family(&[
                    ("method", LabelValue(method.as_str())),
                    ("result", LabelValue(result)),
                ])?,
                *n,
            )?;
        }
        let mut f = encoder.encode_descriptor(
            "mon_security_events",
            "Security events applications reported, by event and severity",
            None,
            MetricType::Counter,
        )?;
        for ((event, severity), n) in &events {
            counter_u64(
                &mut f.encode_family(&[
                    ("event", LabelValue(event.as_str())),
                    ("severity", LabelValue(severity.as_str())),
                ])?,
                *n,
            )?;
        }
        Ok(())
    }
}

/// What a ranking orders rows by.
type Score = fn(&SecurityRow) -> u64;

/// The `n` rows of `kind` with the highest `score` above `floor`, highest first (ties by name).
fn top_by(
    rows: &[SecurityRow],
    kind: OffenderKind,
    score: fn(&SecurityRow) -> u64,
    floor: u64,
    n: usize,
) -> Vec<&SecurityRow> {
    let mut out: Vec<&SecurityRow> = rows
        .iter()
        .filter(|r| r.kind == kind && score(r) > floor)
        .collect();
    out.sort_by(|a, b| score(b).cmp(&score(a)).then(a.name.cmp(&b.name)));
    out.truncate(n);
    out
}

/// One address or principal with its counts over the security window.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SecurityRow {
    /// An address or a principal.
    pub kind: OffenderKind,
    /// The address or the principal.
    pub name: String,
    /// Failed authentications.
    pub failed_logins: u64,
    /// Attempts refused by an IP deny list.
    pub denied: u64,
    /// Requests refused by a rate limit.
    pub rate_limited: u64,
    /// Events naming it (requests, auth attempts, security events).
    pub volume: u64,
    /// Distinct addresses (principals only).
    pub distinct_ips: u64,
    /// Addresses new for the principal (principals only).
    pub new_ips: u64,
    /// Its last event, in seconds since the Unix epoch.
    pub last_seen: u64,
    /// Its last refusal within the window: when (seconds since the epoch) and why
    /// (`ip_denied`, `rate_limited`).
    pub last_block: Option<(u64, &'static str)>,
}

/// Counts over the security window.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Totals {
    /// Whether any security data was seen since mon started.
    pub seen: bool,
    /// Authentication attempts.
    pub auth_attempts: u64,
    /// Failed authentications.
    pub failed_logins: u64,
    /// Attempts refused by an IP deny list.
    pub denied: u64,
    /// Requests refused by a rate limit.
    pub rate_limited: u64,
    /// Security events of any kind.
    pub security_events: u64,
    /// Events naming an address or a principal.
    pub volume: u64,
    /// Events whose address or principal could not be tracked (the cap was reached),
    /// since mon started.
    pub untracked: u64,
}

/// What mon knows of security now: totals over the window, the top addresses and
/// principals by failures and by volume, and the refusals applications reported.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SecuritySummary {
    /// The window (`security.failed_login_window`).
    pub window: Duration,
    /// Counts over the window.
    pub totals: Totals,
    /// Addresses with the most failed logins.
    pub top_ips_by_failures: Vec<SecurityRow>,
    /// Addresses with the most events.
    pub top_ips_by_volume: Vec<SecurityRow>,
    /// Principals with the most failed logins.
    pub top_principals_by_failures: Vec<SecurityRow>,
    /// Principals with the most events.
    pub top_principals_by_volume: Vec<SecurityRow>,
    /// Addresses and principals an application refused (deny list, rate limit) within
    /// the window, the most recent first.
    pub blocks: Vec<SecurityRow>,
}

impl Recorder {
    /// Records an authentication attempt ([`AuthEvent`]), at its own timestamp when it has one.
    pub fn record_auth(&self, e: &AuthEvent) {
        self.inner
            .security
            .record_auth(e, self.inner.options.max_label_value_bytes);
    }

    /// Records a [`SecurityEvent`], at its own timestamp when it has one.
    pub fn record_security(&self, e: &SecurityEvent) {
        self.inner
            .security
            .record_security(e, self.inner.options.max_label_value_bytes);
    }

    /// Records the principal and address of a request (nothing when it names neither).
    pub fn record_request_security(&self, e: &RequestEvent) {
        self.inner.security.record_request(e);
    }

    /// The top security offenders now (`each: offenders` rules).
    pub fn security_offenders(&self) -> Vec<Offender> {
        self.inner.security.offenders()
    }

    /// The security summary now.
    pub fn security_summary(&self) -> SecuritySummary {
        self.inner.security.summary()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecorderOptions;
    use mon_core::Event;
    use serde_json::json;

    fn recorder(config: SecurityConfig) -> Recorder {
        Recorder::new(RecorderOptions {
            security: config,
            ..RecorderOptions::default()
        })
    }

    fn record(rec: &Recorder, v: serde_json::Value) {
        let event: Event = serde_json::from_value(v).expect("a valid event");
        rec.record(&event).expect("recorded");
    }

    fn fail(rec: &Recorder, ip: &str, principal: &str) {
        record(
            rec,
            json!({"type":"auth","success":false,"method":"password","ip":ip,"principal":principal}),
        );
    }

    #[test]
    fn nothing_is_published_without_security_data() {
        let rec = Recorder::default();
        record(
            &rec,
            json!({"type":"request","endpoint":"/x","method":"GET","status":200,"latency_ms":1.0}),
        );
        let values = rec.snapshot_values();
        assert_eq!(values.get("failed_logins"), None);
        assert_eq!(values.get("max_failed_logins"), None);
        assert!(rec.security_offenders().is_empty());
    }

    #[test]
    fn failures_count_by_address_and_principal_and_offenders_are_ranked() {
        let rec = recorder(SecurityConfig::default());
        for i in 0..6 {
            fail(&rec, "203.0.113.7", &format!("user{i}"));
        }
        fail(&rec, "198.51.100.9", "admin");
        fail(&rec, "198.51.100.8", "admin");
        record(
            &rec,
            json!({"type":"security","event":"ip_denied","ip":"192.0.2.1"}),
        );
        record(
            &rec,
            json!({"type":"security","event":"rate_limited","principal":"svc","severity":"info"}),
        );
        // A failed login an hour old is outside the window.
        let long_ago = chrono::Utc::now() - chrono::TimeDelta::hours(1);
        record(
            &rec,
            json!({"type":"auth","success":false,"method":"password","ip":"203.0.113.7","timestamp":long_ago}),
        );
        let v = rec.snapshot_values();
        for (name, want) in [
            ("failed_logins", 8.0),
            ("top_ip_failed_logins", 6.0),
            ("top_principal_failed_logins", 2.0),
            ("denied_ip_attempts", 1.0),
            ("security_events", 2.0),
            ("rate_limited_per_min", 1.0 / 5.0),
            ("max_failed_logins", 5.0),
        ] {
            assert_eq!(v.get(name), Some(&want), "{name}: {v:?}");
        }
        for name in v.keys() {
            assert!(crate::lookup(name).is_some(), "{name} is not in CATALOG");
        }
        let offenders: Vec<(OffenderKind, String, f64)> = rec
            .security_offenders()
            .into_iter()
            .filter(|o| o.name == "203.0.113.7" || o.name == "admin" || o.name == "192.0.2.1")
            .map(|o| (o.kind, o.name, o.failed_logins + o.denied))
            .collect();
        assert_eq!(
            offenders,
            [
                (OffenderKind::Ip, "192.0.2.1".to_string(), 1.0),
                (OffenderKind::Ip, "203.0.113.7".to_string(), 6.0),
                (OffenderKind::Principal, "admin".to_string(), 2.0),
            ]
        );
        let summary = rec.security_summary();
        assert_eq!(
            summary.totals.auth_attempts, 8,
            "the old attempt is outside the window"
        );
        assert_eq!(summary.top_ips_by_failures[0].name, "203.0.113.7");
        let blocks: Vec<(&str, Option<&str>)> = summary
            .blocks
            .iter()
            .map(|b| (b.name.as_str(), b.last_block.map(|(_, why)| why)))
            .collect();
        assert!(
            blocks.contains(&("192.0.2.1", Some("ip_denied"))),
            "{blocks:?}"
        );
        assert!(
            blocks.contains(&("svc", Some("rate_limited"))),
            "{blocks:?}"
        );
    }

    #[test]
    fn a_principal_from_many_addresses_and_new_addresses() {
        let rec = recorder(SecurityConfig::default());
        let earlier = chrono::Utc::now() - chrono::TimeDelta::seconds(60);
        record(
            &rec,
            json!({"type":"auth","success":true,"method":"token","principal":"svc","ip":"10.0.0.1","timestamp":earlier}),
        );
        for ip in ["10.0.0.2", "10.0.0.3"] {
            record(
                &rec,
                json!({"type":"request","endpoint":"/x","method":"GET","status":200,"latency_ms":1.0,"principal":"svc","ip":ip}),
            );
        }
        // A failed login from elsewhere is not the principal's address.
        fail(&rec, "10.9.9.9", "svc");
        let v = rec.snapshot_values();
        assert_eq!(v.get("top_principal_ips"), Some(&3.0), "{v:?}");
        assert_eq!(v.get("new_principal_ips"), Some(&2.0), "{v:?}");
        let svc = rec
            .security_offenders()
            .into_iter()
            .find(|o| o.name == "svc")
            .expect("svc is an offender by addresses");
        assert_eq!((svc.distinct_ips, svc.new_ips), (3.0, 2.0));
    }

    #[test]
    fn tracking_is_bounded_and_labels_stay_few() {
        let rec = recorder(SecurityConfig {
            max_tracked: 10,
            ..SecurityConfig::default()
        });
        for i in 0..50u8 {
            record(
                &rec,
                json!({"type":"auth","success":false,"method":format!("m{i}"),
                       "ip":format!("10.0.1.{i}"),"principal":format!("p{i}")}),
            );
        }
        let summary = rec.security_summary();
        assert_eq!(summary.totals.failed_logins, 50, "totals count everything");
        assert_eq!(
            summary.totals.untracked, 80,
            "40 addresses and 40 principals"
        );
        assert_eq!(summary.top_ips_by_failures.len(), 10);
        let auth = lock(&rec.inner.security.state).auth_total.len();
        assert_eq!(auth, MAX_LABEL_VALUES + 1, "32 methods and `other`");
    }

    #[test]
    fn config_problems_name_the_key() {
        let problems = |c: SecurityConfig| -> Vec<&'static str> {
            c.problems().into_iter().map(|(k, _)| k).collect()
        };
        assert!(problems(SecurityConfig::default()).is_empty());
        for (config, key) in [
            (
                SecurityConfig {
                    failed_login_window: Duration::from_secs(1),
                    ..SecurityConfig::default()
                },
                "failed_login_window",
            ),
            (
                SecurityConfig {
                    max_tracked: 0,
                    ..SecurityConfig::default()
                },
                "max_tracked",
            ),
            (
                SecurityConfig {
                    top_offenders: 5000,
                    ..SecurityConfig::default()
                },
                "top_offenders",
            ),
        ] {
            assert_eq!(problems(config), [key]);
        }
    }
}
