//! The security layer's overhead per request beside the same trivial axum handler without
//! it: `cargo bench -p mon-security --bench layer -- --warm-up-time 1 --measurement-time 3`.
//!
//! Each request goes through `Router::call` on a current-thread runtime (no socket), with
//! the client address in `ConnectInfo` as a server inserts it; the sink counts events.

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

fn app() -> Router {
    Router::new().route("/api/rooms/{id}", get(|| async { "room" }))
}

fn request() -> Request<Body> {
    let mut request = Request::get("/api/rooms/42")
        .body(Body::empty())
        .unwrap_or_default();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 40_000))));
    request
}

fn overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("a runtime: {e}"));
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
    let mut group = c.benchmark_group("security_layer");
    for (name, mut router) in [
        ("bare_handler", app()),
        (
            "with_layer_default_policy",
            app().layer(SecurityLayer::new(SecurityPolicy::default(), sink.clone())),
        ),
        (
            "with_layer_deny_list_rate_limit_blocks",
            app().layer(SecurityLayer::new(enforcing.clone(), sink.clone())),
        ),
    ] {
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

criterion_group!(benches, overhead);
criterion_main!(benches);
