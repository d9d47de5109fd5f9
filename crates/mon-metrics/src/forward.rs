//! The event forwarder: an application's `mon_core::Event`s (the security layer's auth,
//! security and request events, or any other) sent to a mon-server's
//! `POST {url}/api/v1/events`, so that mon's rules (brute force, rate anomalies) see them.
//!
//! [`EventForwarder::start`] spawns a background task fed by a bounded queue.
//! [`ForwarderHandle::send`] never waits: when the queue is full the event is dropped and
//! counted. The task batches events (up to `batch_size`, or what arrived within
//! `flush_interval` of a batch's first event) and POSTs each batch as a JSON array with the
//! ingest token as a bearer token (never logged). A `429` is retried after its
//! `Retry-After`; a `5xx`, `408` or connection error after an exponential backoff capped at
//! `max_backoff`; a `400` (or any other refusal) drops the batch, counted, with the answer's
//! message logged (never the events). [`EventForwarder::shutdown`] sends what is queued.
//!
//! ```no_run
//! # async fn run() {
//! use mon_metrics::{EventForwarder, ForwarderOptions};
//!
//! let forwarder = EventForwarder::start(ForwarderOptions::new(
//!     "http://127.0.0.1:8080",
//!     Some(mon_core::Secret::new("ingest-token")),
//! ));
//! let sink = forwarder.handle().sink(); // e.g. mon_security::SecurityLayer::new(policy, sink)
//! # drop(sink);
//! forwarder.shutdown(std::time::Duration::from_secs(5)).await;
//! # }
//! ```

use mon_core::{Event, Secret};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How an [`EventForwarder`] sends: where, with which token, in what batches.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ForwarderOptions {
    /// mon-server's base URL (`http://mon:8080`); events go to `{url}/api/v1/events`.
    pub url: String,
    /// An ingest token of mon-server (`server.auth.tokens` with role `ingest`), sent as a
    /// bearer token; `None` when mon-server runs without auth.
    pub token: Option<Secret>,
    /// The most events waiting to be sent; beyond it new events are dropped (and counted).
    pub queue_capacity: usize,
    /// The most events in one POST (mon-server's ingest limit is the upper bound).
    pub batch_size: usize,
    /// How long a batch waits for more events after its first one.
    pub flush_interval: Duration,
    /// The first wait before retrying a failed POST; doubled after each failure.
    pub initial_backoff: Duration,
    /// The longest wait between retries (also the most a `Retry-After` is honoured for).
    pub max_backoff: Duration,
    /// How long one POST may take before it counts as a connection error.
    pub request_timeout: Duration,
}

impl ForwarderOptions {
    /// Defaults: a queue of 10 000 events, batches of at most 500 sent within 1s, retries
    /// from 500ms doubling up to 30s, a 10s request timeout.
    pub fn new(url: impl Into<String>, token: Option<Secret>) -> Self {
        ForwarderOptions {
            url: url.into(),
            token,
            queue_capacity: 10_000,
            batch_size: 500,
            flush_interval: Duration::from_secs(1),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Why events were dropped (the `reason` label of `mon_forwarder_events_dropped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DropReason {
    /// The queue was full.
    QueueFull,
    /// mon-server refused the batch (400, 401, 403, 413...): sending it again cannot help.
    Refused,
    /// The forwarder was shut down.
    Closed,
}

impl DropReason {
    fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Refused => "refused",
            DropReason::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DropLabel {
    reason: mon_core::LabelValue<&'static str>,
}

/// The forwarder's counters (also on `/metrics` through [`ForwarderHandle::register`]).
#[derive(Debug, Default)]
struct Metrics {
    sent: Counter,
    retries: Counter,
    dropped: Family<DropLabel, Counter>,
    /// Events taken into the queue and not yet sent or dropped (queued or in flight).
    pending: AtomicUsize,
}

impl Metrics {
    fn drop_events(&self, reason: DropReason, count: usize) {
        self.dropped
            .get_or_create(&DropLabel {
                reason: mon_core::LabelValue(reason.as_str()),
            })
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped
            .get_or_create(&DropLabel {
                reason: mon_core::LabelValue(reason.as_str()),
            })
            .get()
    }
}

/// The forwarder's counts since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForwarderStats {
    /// Events mon-server accepted.
    pub sent: u64,
    /// POSTs sent again after a 429, 5xx or connection error.
    pub retries: u64,
    /// Events dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Events dropped because mon-server refused their batch.
    pub dropped_refused: u64,
    /// Events handed over after shutdown (or left when its grace ran out).
    pub dropped_closed: u64,
}

/// Where events are handed to the forwarder: cheap to clone, never waits.
#[derive(Debug, Clone)]
pub struct ForwarderHandle {
    queue: mpsc::Sender<Event>,
    metrics: Arc<Metrics>,
}

impl ForwarderHandle {
    /// Queues `event`; when the queue is full (or the forwarder stopped) it is dropped and
    /// counted.
    pub fn send(&self, event: Event) {
        match self.queue.try_send(event) {
            Ok(()) => {
                self.metrics.pending.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.drop_events(DropReason::QueueFull, 1);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.metrics.drop_events(DropReason::Closed, 1);
            }
        }
    }

    /// A sink for `mon_security::SecurityLayer::new(policy, sink)` (or any `Fn(Event)`).
    pub fn sink(&self) -> impl Fn(Event) + Send + Sync + 'static {
        let handle = self.clone();
        move |event| handle.send(event)
    }

    /// The counts so far.
    pub fn stats(&self) -> ForwarderStats {
        let m = &self.metrics;
        ForwarderStats {
            sent: m.sent.get(),
            retries: m.retries.get(),
            dropped_queue_full: m.dropped(DropReason::QueueFull),
            dropped_refused: m.dropped(DropReason::Refused),
            dropped_closed: m.dropped(DropReason::Closed),
        }
    }

    /// Registers `mon_forwarder_events_sent_total`, `mon_forwarder_retries_total` and
    /// `mon_forwarder_events_dropped_total{reason="queue_full"|"refused"|"closed"}`.
    pub fn register(&self, registry: &mut Registry) {
        let m = &self.metrics;
        registry.register(
            "mon_forwarder_events_sent",
            "Events the forwarder delivered to mon-server",
            m.sent.clone(),
        );
        registry.register(
            "mon_forwarder_retries",
            "POSTs of events retried after a 429, 5xx or connection error",
            m.retries.clone(),
        );
        registry.register(
            "mon_forwarder_events_dropped",
            "Events the forwarder dropped, by reason (queue_full, refused, closed)",
            m.dropped.clone(),
        );
    }
}

/// A running forwarder: the background task and a [`ForwarderHandle`] to feed it.
#[derive(Debug)]
pub struct EventForwarder {
    handle: ForwarderHandle,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl EventForwarder {
    /// Spawns the sending task on the current tokio runtime.
    pub fn start(options: ForwarderOptions) -> Self {
        let (queue, rx) = mpsc::channel(options.queue_capacity.max(1));
        let metrics = Arc::new(Metrics::default());
        let (stop, stopped) = watch::channel(false);
        let client = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .build()
            .unwrap_or_default();
        let sender = Sender {
            url: format!("{}/api/v1/events", options.url.trim_end_matches('/')),
            client,
            options,
            metrics: Arc::clone(&metrics),
        };
        let task = tokio::spawn(sender.run(rx, stopped));
        EventForwarder {
            handle: ForwarderHandle { queue, metrics },
            stop,
            task,
        }
    }

    /// A handle to send events with.
    pub fn handle(&self) -> ForwarderHandle {
        self.handle.clone()
    }

    /// Stops taking events and sends the queued ones, waiting at most `grace` (a batch
    /// still retrying then is abandoned, counted as dropped `closed`).
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
            // Wait for the abort to land, so the count below is final.
            let _ = task.await;
            tracing::warn!(
                grace = ?grace,
                "the event forwarder did not finish sending within its grace period"
            );
        }
        // Whatever is still queued or in flight after the task ended is lost.
        let lost = self.handle.metrics.pending.swap(0, Ordering::Relaxed);
        self.handle.metrics.drop_events(DropReason::Closed, lost);
    }
}

/// The task's side: the HTTP client and where it sends.
struct Sender {
    url: String,
    client: reqwest::Client,
    options: ForwarderOptions,
    metrics: Arc<Metrics>,
}

/// What became of one POST.
enum Outcome {
    Accepted,
    /// Send it again after this long (from `Retry-After`) or the backoff.
    Retry(Option<Duration>),
    Refused,
}

impl Sender {
    async fn run(self, mut rx: mpsc::Receiver<Event>, mut stopped: watch::Receiver<bool>) {
        let batch_size = self.options.batch_size.max(1);
        let mut stopping = false;
        while !stopping {
            let first = tokio::select! {
                event = rx.recv() => event,
                _ = stopped.wait_for(|stop| *stop) => None,
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            let deadline = Instant::now() + self.options.flush_interval;
            while batch.len() < batch_size {
                tokio::select! {
                    biased;
                    event = rx.recv() => match event {
                        Some(event) => batch.push(event),
                        None => { stopping = true; break; }
                    },
                    _ = stopped.wait_for(|stop| *stop) => { stopping = true; break; }
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
            self.deliver(batch).await;
        }
        // Shutting down: nothing new is taken; what is queued goes out.
        rx.close();
        let mut batch = Vec::with_capacity(batch_size);
        while let Ok(event) = rx.try_recv() {
            batch.push(event);
            if batch.len() == batch_size {
                self.deliver(std::mem::take(&mut batch)).await;
            }
        }
        if !batch.is_empty() {
            self.deliver(batch).await;
        }
    }

    /// POSTs `batch` until mon-server accepts or refuses it.
    async fn deliver(&self, batch: Vec<Event>) {
        self.try_deliver(&batch).await;
        self.metrics
            .pending
            .fetch_sub(batch.len(), Ordering::Relaxed);
    }

    async fn try_deliver(&self, batch: &[Event]) {
        let body = match serde_json::to_vec(batch) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(error = %e, events = batch.len(), "events could not be encoded as JSON");
                self.metrics.drop_events(DropReason::Refused, batch.len());
                return;
            }
        };
        let mut backoff = self.options.initial_backoff;
        loop {
            match self.post(&body).await {
                Outcome::Accepted => {
                    self.metrics
                        .sent
                        .inc_by(u64::try_from(batch.len()).unwrap_or(u64::MAX));
                    return;
                }
                Outcome::Refused => {
                    self.metrics.drop_events(DropReason::Refused, batch.len());
                    return;
                }
                Outcome::Retry(retry_after) => {
                    let wait = retry_after.unwrap_or(backoff).min(self.options.max_backoff);
                    backoff = (backoff * 2).min(self.options.max_backoff);
                    self.metrics.retries.inc();
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn post(&self, body: &[u8]) -> Outcome {
        let mut request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(token) = &self.options.token {
            request = request.bearer_auth(token.expose());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(
                    url = %mon_core::redact_url(&self.url),
                    error = %crate::export::request_error(e),
                    "could not send events to mon; retrying"
                );
                return Outcome::Retry(None);
            }
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Accepted;
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let message = refusal_message(&response.text().await.unwrap_or_default());
        let url = mon_core::redact_url(&self.url);
        if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
            tracing::warn!(url = %url, status = status.as_u16(), message = %message, "mon did not take events now; retrying");
            Outcome::Retry(retry_after)
        } else {
            tracing::warn!(url = %url, status = status.as_u16(), message = %message, "mon refused a batch of events; dropped");
            Outcome::Refused
        }
    }
}

/// The message of mon's `{"error": {"code", "message"}}` answer, or the start of any other
/// answer, with URLs redacted; never the events sent.
fn refusal_message(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect());
    mon_core::redact_urls(&message).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mon_core::CounterEvent;
    use mon_tests::{Answer, Capture, eventually_async};

    const WAIT: Duration = Duration::from_secs(10);

    fn counter(i: u32) -> Event {
        Event::Counter(CounterEvent {
            name: "forwarded".to_owned(),
            value: f64::from(i),
            labels: Default::default(),
            timestamp: None,
            experiment: None,
            variant: None,
        })
    }

    fn options(receiver: &Capture) -> ForwarderOptions {
        let mut options =
            ForwarderOptions::new(receiver.url(""), Some(Secret::new("ingest-secret-9")));
        options.flush_interval = Duration::from_secs(3600);
        options.initial_backoff = Duration::from_secs(3600);
        options.max_backoff = Duration::from_secs(7200);
        options
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_go_out_in_batches_and_the_rest_on_shutdown() {
        let receiver = Capture::start();
        receiver.answer(Answer::status(200));
        let mut options = options(&receiver);
        options.batch_size = 3;
        let forwarder = EventForwarder::start(options);
        let handle = forwarder.handle();
        for i in 0..7 {
            handle.send(counter(i));
        }
        // Two full batches go at once; the seventh waits for its (hour-long) interval...
        eventually_async("two batches", WAIT, async || receiver.requests().len() == 2).await;
        // ...and goes out on shutdown.
        forwarder.shutdown(WAIT).await;
        let requests = receiver.requests();
        let sizes: Vec<usize> = requests
            .iter()
            .map(|r| r.json().as_array().map_or(0, Vec::len))
            .collect();
        assert_eq!(sizes, [3, 3, 1]);
        let values: Vec<f64> = requests
            .iter()
            .flat_map(|r| r.json().as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["value"].as_f64())
            .collect();
        assert_eq!(values, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        for request in &requests {
            assert_eq!(request.path, "/api/v1/events");
            assert_eq!(
                request.header("authorization"),
                Some("Bearer ingest-secret-9")
            );
        }
        assert_eq!(handle.stats().sent, 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_429_is_retried_after_its_retry_after() {
        let receiver = Capture::start();
        receiver.queue([Answer::status(429).header("Retry-After", "1")]);
        receiver.answer(Answer::status(200));
        let mut options = options(&receiver);
        options.batch_size = 2;
        // The backoff is an hour: only the answer's `Retry-After` brings the retry soon.
        let forwarder = EventForwarder::start(options);
        let handle = forwarder.handle();
        handle.send(counter(1));
        handle.send(counter(2));
        eventually_async("the retry", WAIT, async || receiver.requests().len() == 2).await;
        let requests = receiver.requests();
        assert_eq!(
            requests[0].text(),
            requests[1].text(),
            "the same batch again"
        );
        eventually_async("the batch counted sent", WAIT, async || {
            handle.stats().sent == 2
        })
        .await;
        assert_eq!(handle.stats().retries, 1);
        forwarder.shutdown(WAIT).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_drops_and_counts() {
        let receiver = Capture::start();
        receiver.hold(true);
        let mut options = options(&receiver);
        options.batch_size = 1;
        options.queue_capacity = 2;
        let forwarder = EventForwarder::start(options);
        let handle = forwarder.handle();
        let mut registry = Registry::default();
        handle.register(&mut registry);
        handle.send(counter(0));
        // The first event is on its way (the receiver hangs): the queue is empty again.
        eventually_async("the first POST", WAIT, async || {
            receiver.requests().len() == 1
        })
        .await;
        for i in 1..=5 {
            handle.send(counter(i));
        }
        let stats = handle.stats();
        assert_eq!(stats.dropped_queue_full, 3, "{stats:?}");
        assert_eq!(stats.sent, 0);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodes");
        assert!(
            text.contains("mon_forwarder_events_dropped_total{reason=\"queue_full\"} 3"),
            "{text}"
        );
        // Shutdown cannot finish against a hanging receiver: the one in flight and the
        // two queued are lost.
        forwarder.shutdown(Duration::from_millis(200)).await;
        assert_eq!(handle.stats().dropped_closed, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_400_drops_the_batch_without_retrying() {
        let receiver = Capture::start();
        receiver.answer(
            Answer::status(400).body(r#"{"error":{"code":"invalid_event","message":"bad"}}"#),
        );
        let mut options = options(&receiver);
        options.batch_size = 1;
        let forwarder = EventForwarder::start(options);
        let handle = forwarder.handle();
        handle.send(counter(1));
        eventually_async("the batch refused", WAIT, async || {
            handle.stats().dropped_refused == 1
        })
        .await;
        forwarder.shutdown(WAIT).await;
        assert_eq!(receiver.requests().len(), 1);
        assert_eq!(handle.stats().retries, 0);
    }

    #[test]
    fn a_refusal_shows_the_message_of_mons_answer() {
        assert_eq!(
            refusal_message(r#"{"error":{"code":"invalid_event","message":"event 2: no type"}}"#),
            "event 2: no type"
        );
        assert_eq!(refusal_message("plain text"), "plain text");
    }
}
