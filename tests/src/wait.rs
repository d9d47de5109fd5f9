//! Waiting for a condition without a fixed sleep: [`eventually`] for blocking tests,
//! [`eventually_async`] for Tokio tests. Both poll at once, then after 10 ms, the
//! pause doubling up to 100 ms (quick for in-memory state, gentle on a server polled
//! over HTTP), and fail the test with `what` once `limit` has passed.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// The first pause between two polls.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause between two polls.
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// The pause after `pause`.
fn next(pause: Duration) -> Duration {
    (pause * 2).min(MAX_PAUSE)
}

/// What a polled condition answers: `bool` (done or not), `Option<T>` (done with a
/// value), or `Result<T, E>` (done with a value, or not yet and why: the last `Err`
/// is shown when the wait fails).
pub trait Outcome {
    /// What the wait returns once the condition holds.
    type Value;
    /// `Ok` once the condition holds; otherwise what to say if it never does.
    fn into_result(self) -> Result<Self::Value, Option<String>>;
}

impl Outcome for bool {
    type Value = ();
    fn into_result(self) -> Result<(), Option<String>> {
        self.then_some(()).ok_or(None)
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: std::fmt::Display> Outcome for Result<T, E> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(e.to_string()))
    }
}

/// A wait whose condition did not hold in time: what was awaited, for how long and,
/// when the condition said, why it last did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut {
    what: String,
    limit: Duration,
    last: Option<String>,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for {}",
            self.limit, self.what
        )?;
        match &self.last {
            Some(last) => write!(f, ": {last}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for TimedOut {}

impl TimedOut {
    fn new(what: &str, limit: Duration, last: Option<String>) -> TimedOut {
        TimedOut {
            what: what.to_string(),
            limit,
            last,
        }
    }
}

/// Polls `condition` until it holds and returns its value; fails the test, naming
/// `what`, when it still does not after `limit`.
pub fn eventually<O: Outcome>(
    what: &str,
    limit: Duration,
    condition: impl FnMut() -> O,
) -> O::Value {
    try_eventually(what, limit, condition).unwrap_or_else(|timed_out| panic!("{timed_out}"))
}

/// [`eventually`] that answers [`TimedOut`] instead of failing the test (for
/// tools such as xtask that report errors).
pub fn try_eventually<O: Outcome>(
    what: &str,
    limit: Duration,
    mut condition: impl FnMut() -> O,
) -> Result<O::Value, TimedOut> {
    let deadline = Instant::now() + limit;
    let mut pause = FIRST_PAUSE;
    loop {
        match condition().into_result() {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() >= deadline => {
                return Err(TimedOut::new(what, limit, last));
            }
            Err(_) => {}
        }
        std::thread::sleep(pause);
        pause = next(pause);
    }
}

/// [`eventually`] for async tests: `condition` is an async closure (`async || ...`)
/// and the wait sleeps on the Tokio timer.
pub async fn eventually_async<O: Outcome>(
    what: &str,
    limit: Duration,
    mut condition: impl AsyncFnMut() -> O,
) -> O::Value {
    // Tokio's clock, so that a test with a paused clock waits in its own time.
    let deadline = tokio::time::Instant::now() + limit;
    let mut pause = FIRST_PAUSE;
    loop {
        match condition().await.into_result() {
            Ok(value) => return value,
            Err(last) if tokio::time::Instant::now() >= deadline => {
                panic!("{}", TimedOut::new(what, limit, last))
            }
            Err(_) => {}
        }
        tokio::time::sleep(pause).await;
        pause = next(pause);
    }
}

/// Waits up to `limit` for `child` to exit and returns how it ended; kills it and
/// fails the test, naming `what`, when it is still running then.
pub fn exit_status(child: &mut Child, what: &str, limit: Duration) -> ExitStatus {
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eventually(what, limit, || {
            child.try_wait().expect("the child's status")
        })
    }));
    waited.unwrap_or_else(|panic| {
        let _ = child.kill();
        let _ = child.wait();
        std::panic::resume_unwind(panic)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_once_the_condition_holds() {
        let mut calls = 0;
        let got = eventually("the third call", Duration::from_secs(10), || {
            calls += 1;
            (calls == 3).then_some(calls * 10)
        });
        assert_eq!((got, calls), (30, 3));
    }

    #[test]
    #[should_panic(expected = "timed out after 0ns waiting for nothing")]
    fn fails_naming_what_it_waited_for() {
        eventually("nothing", Duration::ZERO, || false);
    }

    #[test]
    #[should_panic(expected = "timed out after 0ns waiting for a 200: got 503")]
    fn fails_with_the_last_error() {
        eventually("a 200", Duration::ZERO, || Err::<(), _>("got 503"));
    }

    #[tokio::test]
    async fn the_async_variant_awaits_the_condition() {
        let mut calls = 0;
        eventually_async("the second call", Duration::from_secs(10), async || {
            calls += 1;
            calls == 2
        })
        .await;
        assert_eq!(calls, 2);
    }
}
