//! The accept loop: HTTP/1.1 connections with a connection limit, a header-read timeout
//! and a keep-alive timeout, so idle or half-open clients can never starve the probes.
//!
//! `axum::serve` keeps every connection open as long as the client wants; here each
//! connection holds a permit of a semaphore (`server.limits.max_connections`), hyper closes
//! a connection whose request headers do not arrive within `header_read_timeout`, and a
//! connection with no request in flight for `keep_alive_timeout` is closed. When the
//! process runs out of file descriptors, accepting pauses until a connection closes
//! instead of spinning. Shutdown stops accepting, lets in-flight requests finish and
//! closes idle connections at once.

use crate::config::LimitsConfig;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// The head (request line and headers) hyper buffers at most: well above the JSON-answered
/// `max_uri_bytes` and `max_header_bytes`; beyond it hyper itself answers 431 or 414.
fn head_buffer(limits: &LimitsConfig) -> usize {
    (4 * (limits.max_uri_bytes + limits.max_header_bytes)).max(256 * 1024)
}

/// How long accepting pauses after the process ran out of file descriptors, at most.
const FD_EXHAUSTED_PAUSE: Duration = Duration::from_millis(250);

/// Serves `router` on `listener` until `shutdown` completes, then waits up to `grace` for
/// open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &LimitsConfig,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    // Signalled whenever a connection ends: an fd and a permit are free again.
    let closed = Arc::new(Notify::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(head_buffer(limits))
        // Header counts beyond this are refused by hyper; the JSON 431 of
        // `max_header_bytes` answers everything below it.
        .max_headers(1000);
    let keep_alive = limits.keep_alive_timeout;
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    drop(permit);
                    if out_of_descriptors(&e) {
                        tracing::warn!(error = %e, "cannot accept a connection: out of file descriptors; waiting for one to close");
                        let _ = tokio::time::timeout(FD_EXHAUSTED_PAUSE, closed.notified()).await;
                    } else {
                        tracing::debug!(error = %e, "accepting a connection failed");
                    }
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            activity: Arc::new(Activity::default()),
            keep_alive,
        };
        let router = router.clone();
        let builder = builder.clone();
        let closed = closed.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            connection.run(builder, stream, router, stop).await;
            drop(permit);
            closed.notify_one();
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection returns its permit when it ends.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
}

/// Accept errors that mean the process or system is out of file descriptors or memory:
/// the listener stays readable, so retrying at once would spin.
fn out_of_descriptors(e: &io::Error) -> bool {
    // EMFILE 24, ENFILE 23, ENOBUFS 105, ENOMEM 12 on Linux.
    matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12))
}

/// When the connection last had a request in flight, and how many it has now.
#[derive(Debug)]
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        }
    }
}

impl Activity {
    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    /// `None` while a request is in flight, else when the connection turns idle-expired.
    fn idle_deadline(&self, keep_alive: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(*self.last.lock().unwrap_or_else(|e| e.into_inner()) + keep_alive)
    }
}

/// Marks a request in flight until dropped (when its answer is ready).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        activity.touch();
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One accepted connection.
struct Connection {
    activity: Arc<Activity>,
    keep_alive: Duration,
}

impl Connection {
    async fn run(
        self,
        builder: hyper::server::conn::http1::Builder,
        stream: tokio::net::TcpStream,
        router: Router,
        mut stop: watch::Receiver<bool>,
    ) {
        let activity = self.activity.clone();
        // The client's address, for the security layer (axum's `ConnectInfo`).
        let peer = stream.peer_addr().ok().map(axum::extract::ConnectInfo);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let guard = InFlight::new(&activity);
            let mut request = request.map(axum::body::Body::new);
            if let Some(peer) = peer {
                request.extensions_mut().insert(peer);
            }
            let answer = router.clone().oneshot(request);
            async move {
                let answer = answer.await;
                drop(guard);
                answer
            }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        let mut closing = false;
        loop {
            let deadline = self.activity.idle_deadline(self.keep_alive);
            let check_at = deadline.unwrap_or_else(|| Instant::now() + self.keep_alive);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = tokio::time::sleep_until(check_at), if !closing => {
                    let idle = self
                        .activity
                        .idle_deadline(self.keep_alive)
                        .is_some_and(|d| d <= Instant::now());
                    if idle {
                        // Closes at once when idle; otherwise after the current answer.
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
                _ = stop.wait_for(|stop| *stop), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;

    /// Shutdown stops accepting and closes idle connections at once, while a request in
    /// flight gets its whole answer before `serve` returns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_lets_the_request_in_flight_finish() {
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let (release_tx, release_rx) = oneshot::channel::<()>();
        let hooks = Arc::new(Mutex::new(Some((started_tx, release_rx))));
        let router = Router::new().route(
            "/slow",
            axum::routing::get(move || {
                let hooks = hooks.lock().unwrap().take();
                async move {
                    if let Some((started, release)) = hooks {
                        let _ = started.send(());
                        let _ = release.await;
                    }
                    "finished"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let limits = LimitsConfig::default();
        let server = tokio::spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            serve(listener, router, &limits, stop, Duration::from_secs(30)).await;
        });

        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut busy = tokio::net::TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"GET /slow HTTP/1.1\r\nhost: mon\r\n\r\n")
            .await
            .unwrap();
        started_rx.await.unwrap();
        stop_tx.send(()).unwrap();

        // The idle connection is closed (end of stream), so it does not hold shutdown up.
        let mut buf = Vec::new();
        assert_eq!(idle.read_to_end(&mut buf).await.unwrap(), 0);
        // No new connection is accepted any more: connecting fails, or the connection is
        // closed without an answer.
        let refused = match tokio::net::TcpStream::connect(addr).await {
            Err(_) => true,
            Ok(mut late) => {
                let _ = late
                    .write_all(b"GET /slow HTTP/1.1\r\nhost: mon\r\n\r\n")
                    .await;
                let mut buf = Vec::new();
                let _ = late.read_to_end(&mut buf).await;
                buf.is_empty()
            }
        };
        assert!(refused, "a connection was served after shutdown");
        assert!(
            !server.is_finished(),
            "serve returned with a request in flight"
        );

        release_tx.send(()).unwrap();
        let mut answer = Vec::new();
        busy.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("finished"), "{answer}");
        server.await.unwrap();
    }
}
