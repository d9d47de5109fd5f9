//! The security layer's overhead per request beside the same trivial axum handler without
//! it: `cargo bench -p mon-security --bench layer -- --warm-up-time 1 --measurement-time 3`.
//!
//! Two groups, each with the handler bare, behind the layer with the default policy, and
//! behind the layer enforcing a deny list, a route rate limit and blocks:
//! - `security_layer` (in process): each request goes through `Router::call` on a
//!   current-thread runtime (no socket), with the client address in `ConnectInfo` as a
//!   server inserts it;
//! - `security_layer_http` (what a client feels): each request is an HTTP/1.1 `GET` over
//!   a kept-alive loopback connection from a reqwest client to `axum::serve` on
//!   127.0.0.1, server and client each on a current-thread runtime of its own thread.
//!
//! The sink counts events.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use mon_security::{RateLimit, SecurityLayer, SecurityPolicy};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tower::{Service, ServiceExt};

const PATH: &str = "/api/rooms/42";

fn app() -> Router {
    Router::new().route("/api/rooms/{id}", get(|| async { "room" }))
}

/// The three routers compared, and the counter of the events their layers emitted.
fn cases() -> (Vec<(&'static str, Router)>, Arc<AtomicU64>) {
    let events = Arc::new(AtomicU64::new(0));
    let sink = {
        let events = events.clone();
        move |_: mon_core::Event| {
            events.fetch_add(1, Ordering::Relaxed);
        }
    };
    let enforcing = SecurityPolicy {
        ip_denylist: vec!["198.51.100.0/24".parse().unwrap_or_else(|e| panic!("{e}"))],
        rate_limits: [(
            "/api/rooms/{id}".to_owned(),
            RateLimit {
                limit: u32::MAX,
                window: Duration::from_secs(60),
            },
        )]
        .into(),
        block_duration: Duration::from_secs(600),
        ..SecurityPolicy::default()
    };
    let cases = vec![
        ("bare_handler", app()),
        (
            "with_layer_default_policy",
            app().layer(SecurityLayer::new(SecurityPolicy::default(), sink.clone())),
        ),
        (
            "with_layer_deny_list_rate_limit_blocks",
            app().layer(SecurityLayer::new(enforcing, sink)),
        ),
    ];
    (cases, events)
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a runtime: {e}"))
}

fn request() -> Request<Body> {
    let mut request = Request::get(PATH).body(Body::empty()).unwrap_or_default();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 40_000))));
    request
}

fn in_process(c: &mut Criterion) {
    let runtime = current_thread();
    let (cases, events) = cases();
    let mut group = c.benchmark_group("security_layer");
    for (name, mut router) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let service = ServiceExt::<Request<Body>>::ready(&mut router)
                        .await
                        .unwrap_or_else(|e| match e {});
                    let answer = service.call(request()).await.unwrap_or_else(|e| match e {});
                    assert_eq!(answer.status(), 200);
                })
            })
        });
    }
    group.finish();
    assert!(events.load(Ordering::Relaxed) > 0);
}

/// Serves `router` on 127.0.0.1 (port 0) from a thread of its own: its address.
fn serve(router: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("binding 127.0.0.1:0: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("the listener's address: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("a non-blocking listener: {e}"));
    std::thread::spawn(move || {
        current_thread().block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)
                .unwrap_or_else(|e| panic!("a tokio listener: {e}"));
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap_or_else(|e| panic!("serving on {address}: {e}"));
        });
    });
    address
}

fn over_http(c: &mut Criterion) {
    let runtime = current_thread();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .build()
        .unwrap_or_else(|e| panic!("a client: {e}"));
    let (cases, events) = cases();
    let mut group = c.benchmark_group("security_layer_http");
    for (name, router) in cases {
        let url = format!("http://{}{PATH}", serve(router));
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let answer = client
                        .get(&url)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
                    assert_eq!(answer.status(), 200);
                    // Read to the end, so the connection goes back to the pool.
                    let body = answer
                        .bytes()
                        .await
                        .unwrap_or_else(|e| panic!("the body of GET {url}: {e}"));
                    assert_eq!(&body[..], b"room");
                })
            })
        });
    }
    group.finish();
    assert!(events.load(Ordering::Relaxed) > 0);
}

criterion_group!(benches, in_process, over_http);
criterion_main!(benches);
