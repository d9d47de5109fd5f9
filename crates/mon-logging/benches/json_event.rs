//! ns per JSON event with five fields inside a call scope: mon-logging's layer beside a
//! bare tracing-subscriber JSON layer, both writing to the same sink (`io::sink`).
//!
//! `cargo bench -p mon-logging --bench json_event`

use criterion::{Criterion, criterion_group, criterion_main};
use mon_logging::{Format, LogHandle, LoggingConfig};
use std::sync::Arc;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

fn event() {
    tracing::info!(
        caller = "+1234567890",
        room = "sip-call-42",
        latency_ms = 42u64,
        success = true,
        mos = 4.2,
        "call connected"
    );
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("json_event_5_fields_call_context");

    let handle = LogHandle::new(
        &LoggingConfig {
            app: Some("voice-agent".into()),
            environment: Some("production".into()),
            ..LoggingConfig::default()
        },
        Format::Json,
        Some(BoxMakeWriter::new(std::io::sink)),
        &|_| None,
        Arc::new(chrono::Utc::now),
    )
    .expect("handle");
    let mon = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(handle.layer());
    tracing::subscriber::with_default(mon, || {
        let _call = mon_logging::call_scope("ast-123-456").entered();
        group.bench_function("mon_logging", |b| b.iter(event));
    });

    let bare = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(std::io::sink),
        );
    tracing::subscriber::with_default(bare, || {
        let _call = tracing::info_span!("call", call_id = "ast-123-456").entered();
        group.bench_function("tracing_subscriber_json", |b| b.iter(event));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
