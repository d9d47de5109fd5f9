//! The layer's memory: rate-limit windows, failed-authentication counts and blocks, keyed
//! by client address or principal, bounded by `max_tracked_keys`. Every function takes
//! `now`, so the logic is tested without a clock.

use crate::RateLimit;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What a rate-limit window or a failure count is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// Requests to the route of `rate_limits` number `.0` from one address (or from
    /// clients whose address is unknown).
    Route(usize, Option<IpAddr>),
    /// Requests of one principal (`principal_rate_limit`).
    Principal(Box<str>),
    /// Failed authentications of one address or principal.
    Failures(Subject),
}

/// Who a block refuses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Subject {
    /// A client address.
    Ip(IpAddr),
    /// A principal (a user or token name as the application named it).
    Principal(String),
}

/// A current block: an address or principal refused after too many failed
/// authentications ([`SecurityLayer::blocks`](crate::SecurityLayer::blocks)).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Block {
    /// Who is refused.
    pub subject: Subject,
    /// The failed authentications that started it.
    pub failures: u32,
    /// When it started.
    pub since: DateTime<Utc>,
    /// When it ends.
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    ends: Instant,
    count: u32,
}

impl Window {
    /// Counts one more at `now`, in a new window of `window` when this one has ended.
    fn tick(&mut self, window: Duration, now: Instant) -> Window {
        if self.ends <= now {
            *self = Window {
                ends: now + window,
                count: 0,
            };
        }
        self.count = self.count.saturating_add(1);
        *self
    }
}

#[derive(Debug, Clone)]
struct Blocked {
    ends: Instant,
    block: Block,
}

/// Windows and blocks, at most `max` of each.
#[derive(Debug)]
pub(crate) struct Tracker {
    windows: HashMap<Key, Window>,
    blocks: HashMap<Subject, Blocked>,
    max: usize,
}

impl Tracker {
    pub(crate) fn new(max: usize) -> Self {
        Tracker {
            windows: HashMap::new(),
            blocks: HashMap::new(),
            max: max.max(1),
        }
    }

    /// Counts one request under `key`: `Err(retry after)` when it is over `limit` in the
    /// current window (request `limit + 1` and every later one until the window ends).
    pub(crate) fn hit(&mut self, key: Key, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let count = self.count(key, limit.window, now);
        if count.count > limit.limit {
            Err(count.ends.saturating_duration_since(now))
        } else {
            Ok(())
        }
    }

    fn count(&mut self, key: Key, window: Duration, now: Instant) -> Window {
        // One lookup for a key already counted (every request after a client's first).
        if let Some(entry) = self.windows.get_mut(&key) {
            return entry.tick(window, now);
        }
        make_room(&mut self.windows, self.max, |w| w.ends > now);
        self.windows
            .entry(key)
            .or_insert(Window {
                ends: now + window,
                count: 0,
            })
            .tick(window, now)
    }

    /// How long `subject` is still refused, if it is.
    pub(crate) fn blocked(&self, subject: &Subject, now: Instant) -> Option<Duration> {
        self.blocks
            .get(subject)
            .map(|b| b.ends.saturating_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Counts a failed authentication of `subject`: the block it starts, when it is failure
    /// `max + 1` within `window` and `block_for` is not zero (the count starts again).
    pub(crate) fn failure(
        &mut self,
        subject: Subject,
        max: u32,
        window: Duration,
        block_for: Duration,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Option<Block> {
        let key = Key::Failures(subject.clone());
        let count = self.count(key.clone(), window, now).count;
        if count <= max || block_for.is_zero() {
            return None;
        }
        self.windows.remove(&key);
        let until = chrono::TimeDelta::from_std(block_for)
            .ok()
            .and_then(|d| wall.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let block = Block {
            subject: subject.clone(),
            failures: count,
            since: wall,
            until,
        };
        if !self.blocks.contains_key(&subject) {
            make_room(&mut self.blocks, self.max, |b| b.ends > now);
        }
        self.blocks.insert(
            subject,
            Blocked {
                ends: now + block_for,
                block: block.clone(),
            },
        );
        Some(block)
    }

    /// The blocks still running at `now`.
    pub(crate) fn blocks(&self, now: Instant) -> Vec<Block> {
        let mut blocks: Vec<Block> = self
            .blocks
            .values()
            .filter(|b| b.ends > now)
            .map(|b| b.block.clone())
            .collect();
        blocks.sort_by_key(|b| std::cmp::Reverse(b.since));
        blocks
    }
}

/// Before a new key goes into a full `map`: drops the entries that are no longer `live`,
/// then, if that freed too little, arbitrary ones down to three quarters of `max` (so the
/// work is done once per many inserts, never per request).
fn make_room<K, V>(map: &mut HashMap<K, V>, max: usize, live: impl Fn(&V) -> bool) {
    if map.len() < max {
        return;
    }
    map.retain(|_, v| live(v));
    if map.len() >= max {
        let mut excess = map.len() - max * 3 / 4;
        map.retain(|_, _| {
            let keep = excess == 0;
            excess = excess.saturating_sub(1);
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        limit: 3,
        window: Duration::from_secs(60),
    };

    #[test]
    fn the_request_after_the_limit_is_refused_until_the_window_ends() {
        let mut t = Tracker::new(10);
        let t0 = Instant::now();
        let key = || Key::Route(0, None);
        for i in 0..3 {
            assert_eq!(t.hit(key(), LIMIT, t0 + Duration::from_secs(i)), Ok(()));
        }
        assert_eq!(
            t.hit(key(), LIMIT, t0 + Duration::from_millis(10_500)),
            Err(Duration::from_millis(49_500))
        );
        // Another key has its own window.
        assert_eq!(t.hit(Key::Principal("a".into()), LIMIT, t0), Ok(()));
        // A new window starts once this one ends.
        assert_eq!(t.hit(key(), LIMIT, t0 + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn failures_over_the_maximum_start_a_block_that_ends() {
        let mut t = Tracker::new(10);
        let t0 = Instant::now();
        let wall = Utc::now();
        let ip = Subject::Ip("203.0.113.7".parse().unwrap());
        let fail = |t: &mut Tracker, at: u64, block: u64| {
            t.failure(
                ip.clone(),
                2,
                Duration::from_secs(300),
                Duration::from_secs(block),
                t0 + Duration::from_secs(at),
                wall,
            )
        };
        // Without a block duration, failures are only counted.
        for at in 0..5 {
            assert_eq!(fail(&mut t, at, 0), None);
        }
        let mut t = Tracker::new(10);
        assert_eq!(fail(&mut t, 0, 600), None);
        assert_eq!(fail(&mut t, 1, 600), None);
        let block = fail(&mut t, 2, 600).expect("the third failure blocks");
        assert_eq!(block.failures, 3);
        assert_eq!(block.until - block.since, chrono::TimeDelta::seconds(600));
        assert_eq!(
            t.blocked(&ip, t0 + Duration::from_secs(2)),
            Some(Duration::from_secs(600))
        );
        assert_eq!(t.blocks(t0 + Duration::from_secs(3)).len(), 1);
        assert_eq!(t.blocked(&ip, t0 + Duration::from_secs(602)), None);
        assert!(t.blocks(t0 + Duration::from_secs(602)).is_empty());
    }

    #[test]
    fn memory_stays_bounded_under_many_keys() {
        let mut t = Tracker::new(100);
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            let ip = std::net::Ipv4Addr::from(i).into();
            let _ = t.hit(Key::Route(0, Some(ip)), LIMIT, t0);
            let _ = t.failure(
                Subject::Ip(ip),
                0,
                Duration::from_secs(60),
                Duration::from_secs(60),
                t0,
                Utc::now(),
            );
            assert!(t.windows.len() <= 100 && t.blocks.len() <= 100, "at {i}");
        }
        // Ended windows go first: a live key survives a sweep of ended ones.
        let mut t = Tracker::new(2);
        let _ = t.hit(Key::Route(0, None), LIMIT, t0);
        let later = t0 + Duration::from_secs(120);
        let _ = t.hit(Key::Route(1, None), LIMIT, later);
        let _ = t.hit(Key::Route(2, None), LIMIT, later);
        assert!(t.windows.contains_key(&Key::Route(1, None)));
        assert!(!t.windows.contains_key(&Key::Route(0, None)));
    }
}
