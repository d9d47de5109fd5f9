//! The delivery outbox against a real loopback webhook receiver and a real SQLite
//! store: a receiver that is down then back gets every notification, once each;
//! once it answers again the rest of the queue follows at once, in order; a
//! restart in the middle of the outage changes nothing; a send cut short by a stop
//! is repeated with the same idempotency key; a refusal is not retried; a hanging
//! channel does not delay another.

use mon_alerting::{AlertEngine, AlertingConfig, Channel, Snapshot};
use mon_core::{Notification, Notifier, NotifyError, async_trait};
use mon_store::{Store, StoreOptions};
use mon_tests::{Answer, Capture, eventually_async};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Starts a webhook receiver on `addr` answering `answer`.
fn start_receiver(addr: SocketAddr, answer: u16) -> Capture {
    start_failing_receiver(addr, 0, answer)
}

/// Starts a webhook receiver on `addr`: `failures` requests get 503, then `answer`.
fn start_failing_receiver(addr: SocketAddr, failures: u32, answer: u16) -> Capture {
    let receiver = Capture::start_on(addr);
    receiver
        .queue((0..failures).map(|_| Answer::status(503)))
        .answer(Answer::status(answer));
    receiver
}

/// What the receiver accepted (or holds unanswered), in arrival order: idempotency
/// key, signature header, body.
fn received(receiver: &Capture) -> Vec<(String, Option<String>, Value)> {
    receiver
        .requests()
        .iter()
        .filter(|r| r.answered.is_none_or(|s| (200..300).contains(&s)))
        .map(|r| {
            (
                r.header("idempotency-key").unwrap_or_default().to_string(),
                r.header("x-mon-signature").map(str::to_string),
                r.json(),
            )
        })
        .collect()
}

/// A loopback address nobody listens on (yet).
fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], mon_tests::free_port()))
}

async fn wait_for(what: &str, done: impl FnMut() -> bool) {
    wait_within(what, Duration::from_secs(20), done).await;
}

async fn wait_within(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    eventually_async(what, limit, async || done()).await;
}

fn config(addr: SocketAddr) -> AlertingConfig {
    serde_yaml_ng::from_str(&format!(
        "default_rules: false
rules:
  - {{ name: A, expr: cpu_percent > 80, labels: {{ service: api }} }}
  - {{ name: B, expr: memory_percent > 90, severity: critical }}
  - {{ name: C, expr: disk_percent > 85 }}
channels:
  - name: hook
    type: webhook
    url: http://{addr}/hook?token=hookT0ken
    secret: s3cret
    timeout: 2s
retry: {{ initial_backoff: 50ms, max_backoff: 200ms }}
"
    ))
    .unwrap()
}

fn snapshot(cpu: f64) -> Snapshot {
    let mut s = Snapshot::default();
    s.set("cpu_percent", cpu);
    s.set("memory_percent", 95.0);
    s.set("disk_percent", 90.0);
    s
}

/// Stops delivery (the workers finish their attempt), then the engine and the store.
async fn shut_down(engine: AlertEngine, workers: Vec<tokio::task::JoinHandle<()>>, store: Store) {
    engine.stop_delivery();
    for worker in workers {
        worker.await.unwrap();
    }
    drop(engine);
    store.close().await.unwrap();
}

fn failures(engine: &AlertEngine) -> u32 {
    engine.channels_status()[0].consecutive_failures
}

/// The first idempotency key the receiver got.
fn received_key(receiver: &Capture) -> String {
    received(receiver)[0].0.clone()
}

/// Each key received, and how often.
fn counts(receiver: &Capture) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (key, _, _) in received(receiver) {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let addr = free_addr();
    let engine = config(addr).build_with_store(store.clone()).unwrap();
    engine.start_delivery();

    // Three alerts fire, A resolves: four notifications while the receiver is down.
    engine
        .evaluate_and_record(&snapshot(95.0), chrono::Utc::now())
        .await;
    engine
        .evaluate_and_record(&snapshot(10.0), chrono::Utc::now())
        .await;
    wait_for("failed attempts", || failures(&engine) >= 3).await;
    let status = &engine.channels_status()[0];
    assert_eq!(status.queued, 4);
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("could not connect"),
        "{status:?}"
    );
    assert!(
        !status.last_error.as_deref().unwrap().contains("hookT0ken"),
        "no URL token in errors"
    );

    let receiver = start_receiver(addr, 200);
    wait_for("all four delivered", || {
        engine.channels_status()[0].queued == 0
    })
    .await;
    let counts = counts(&receiver);
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    let status = &engine.channels_status()[0];
    assert_eq!((status.delivered, status.consecutive_failures), (4, 0));
    assert!(status.last_success.is_some());

    // The body is documented mon JSON, signed.
    let received = received(&receiver);
    let (key, signature, body) = &received[0];
    assert_eq!(body["version"], "1");
    assert_eq!(body["receiver"], "hook");
    assert_eq!(body["transition"], "firing");
    assert_eq!(&body["idempotency_key"], key.as_str());
    assert_eq!(body["alerts"][0]["rule"], "A");
    assert_eq!(body["alerts"][0]["labels"]["service"], "api");
    let expected = mon_alerting::channels::webhook::signature(
        &mon_core::Secret::new("s3cret"),
        serde_json::to_string(body).unwrap().as_bytes(),
    );
    assert_eq!(signature.as_deref(), Some(expected.as_str()));
    let transitions: Vec<&str> = received
        .iter()
        .map(|(_, _, b)| b["transition"].as_str().unwrap())
        .collect();
    assert_eq!(transitions.iter().filter(|t| **t == "resolved").count(), 1);
    for (key, _, _) in &received {
        assert_eq!(
            store
                .notification_state_blocking("hook", key)
                .unwrap()
                .as_deref(),
            Some("delivered")
        );
    }
    engine.stop_delivery();
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_receiver_answers_the_rest_of_the_queue_follows_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mon.db"), StoreOptions::default()).unwrap();
    let addr = free_addr();
    // The receiver refuses twice; the backoff (1.5 s, then 3 s) is longer than what
    // the rest of the queue may take once the head went through.
    let receiver = start_failing_receiver(addr, 2, 200);
    let mut config = config(addr);
    config.retry.initial_backoff = Duration::from_millis(1500);
    config.retry.max_backoff = Duration::from_secs(10);
    let engine = config.build_with_store(store.clone()).unwrap();
    let fired = engine
        .evaluate_and_record(&snapshot(95.0), chrono::Utc::now())
        .await;
    let resolved = engine
        .evaluate_and_record(&snapshot(10.0), chrono::Utc::now())
        .await;
    let expected: Vec<String> = fired
        .iter()
        .chain(&resolved)
        .map(|c| c.idempotency_key())
        .collect();
    assert_eq!(expected.len(), 4);
    engine.start_delivery();

    wait_for("the first delivery", || !received(&receiver).is_empty()).await;
    assert_eq!(
        receiver
            .requests()
            .iter()
            .filter(|r| r.answered == Some(503))
            .count(),
        2,
        "both refusals were used"
    );
    wait_within("the rest of the queue", Duration::from_secs(1), || {
        received(&receiver).len() == 4
    })
    .await;
    let got: Vec<String> = received(&receiver)
        .iter()
        .map(|(key, _, _)| key.clone())
        .collect();
    assert_eq!(got, expected, "in the order they were queued, once each");
    let status = &engine.channels_status()[0];
    assert_eq!(
        (status.delivered, status.consecutive_failures, status.queued),
        (4, 0, 0)
    );
    engine.stop_delivery();
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_outage_neither_forgets_nor_resends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let addr = free_addr();

    // First life: three alerts fire while the receiver is down.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let engine = config(addr).build_with_store(store.clone()).unwrap();
    let workers = engine.start_delivery();
    let fired = engine
        .evaluate_and_record(&snapshot(95.0), chrono::Utc::now())
        .await;
    assert_eq!(fired.len(), 3);
    wait_for("a failed attempt", || failures(&engine) >= 1).await;
    shut_down(engine, workers, store).await;

    // Second life: the incident and the queue are back; the receiver too.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let engine = config(addr).build_with_store(store.clone()).unwrap();
    assert_eq!(engine.active_alerts().len(), 3, "open alerts restored");
    assert_eq!(
        engine.channels_status()[0].queued,
        3,
        "undelivered notifications restored"
    );
    let receiver = start_receiver(addr, 200);
    engine.start_delivery();
    // Still firing: no new firing notification.
    let changes = engine
        .evaluate_and_record(&snapshot(95.0), chrono::Utc::now())
        .await;
    assert!(changes.is_empty(), "{changes:?}");
    wait_for("the queue drained", || {
        engine.channels_status()[0].queued == 0
    })
    .await;
    let got = counts(&receiver);
    assert_eq!(got.len(), 3);
    assert!(got.values().all(|n| *n == 1), "{got:?}");
    engine.stop_delivery();
    drop(engine);
    store.close().await.unwrap();
    drop(store);

    // Third life: nothing left to send, nothing re-sent.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    assert!(store.pending_notifications_blocking().unwrap().is_empty());
    let engine = config(addr).build_with_store(store.clone()).unwrap();
    assert_eq!(engine.channels_status()[0].queued, 0);
    assert_eq!(engine.active_alerts().len(), 3);
    assert!(
        engine
            .evaluate(&snapshot(95.0), chrono::Utc::now())
            .is_empty()
    );

    // Retention (90 days by default) removes delivered notifications, not open alerts.
    let key = received_key(&receiver);
    assert!(
        store
            .notification_state_blocking("hook", &key)
            .unwrap()
            .is_some()
    );
    engine
        .prune_history(chrono::Utc::now() + chrono::TimeDelta::days(91))
        .await;
    assert_eq!(
        store.notification_state_blocking("hook", &key).unwrap(),
        None
    );
    assert_eq!(store.open_alerts_blocking().unwrap().len(), 3);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_cut_short_is_sent_again_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mon.db");
    let addr = free_addr();
    let receiver = start_receiver(addr, 200);
    receiver.hold(true);
    let mut config = config(addr);
    config.rules.truncate(1);

    // The receiver gets the notification, but mon stops before hearing the answer.
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let engine = config.build_with_store(store.clone()).unwrap();
    let workers = engine.start_delivery();
    engine
        .evaluate_and_record(&snapshot(95.0), chrono::Utc::now())
        .await;
    wait_for("the receiver got it", || !received(&receiver).is_empty()).await;
    shut_down(engine, workers, store).await;

    // Next start: the same notification, with the same idempotency key.
    receiver.hold(false);
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let engine = config.build_with_store(store.clone()).unwrap();
    engine.start_delivery();
    wait_for("the repeat", || engine.channels_status()[0].delivered == 1).await;
    let got = counts(&receiver);
    assert_eq!(got.len(), 1, "{got:?}");
    let (key, n) = got.into_iter().next().unwrap();
    assert_eq!(n, 2, "at least once: the cut send is repeated");
    // The delivery is counted first; its state is written to the store just after.
    wait_for("the delivered state in the store", || {
        store
            .notification_state_blocking("hook", &key)
            .unwrap()
            .as_deref()
            == Some("delivered")
    })
    .await;
    engine.stop_delivery();
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_not_retried() {
    let addr = free_addr();
    let receiver = start_receiver(addr, 400);
    let mut config = config(addr);
    config.rules.truncate(1);
    let engine = config.build().unwrap();
    engine.start_delivery();
    engine
        .evaluate_and_record(&snapshot(95.0), chrono::Utc::now())
        .await;
    wait_for("the refusal", || engine.channels_status()[0].failed == 1).await;
    let status = &engine.channels_status()[0];
    assert_eq!((status.queued, status.consecutive_failures), (0, 1));
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("answered 400"),
        "{status:?}"
    );
    assert!(received(&receiver).is_empty());
    engine.stop_delivery();
}

/// A channel that never answers.
struct Hanging;

#[async_trait]
impl Notifier for Hanging {
    fn name(&self) -> &str {
        "hanging"
    }
    async fn send(&self, _: &Notification) -> Result<(), NotifyError> {
        std::future::pending().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_channel_does_not_delay_another() {
    let addr = free_addr();
    let receiver = start_receiver(addr, 200);
    let config = config(addr);
    let built = config.build().unwrap();
    let mut channels: Vec<Channel> = built.channels();
    channels.push(Channel {
        timeout: Duration::from_secs(3600),
        ..Channel::new(Arc::new(Hanging))
    });
    let rules = config
        .effective_rules()
        .iter()
        .map(|r| mon_alerting::Rule::from_config(r, &[]).unwrap())
        .collect();
    let engine = AlertEngine::new(rules, channels);
    engine.start_delivery();
    engine
        .evaluate_and_record(&snapshot(95.0), chrono::Utc::now())
        .await;
    wait_for("the webhook got all three", || {
        received(&receiver).len() == 3
    })
    .await;
    let statuses = engine.channels_status();
    assert_eq!(
        (statuses[1].name.as_str(), statuses[1].queued),
        ("hanging", 3)
    );
    engine.stop_delivery();
}
