//! The recorder hot path next to a plain prometheus-client `Family` observe with the same
//! labels: `cargo bench -p mon-metrics --bench recorder`.

use criterion::{Criterion, criterion_group, criterion_main};
use mon_metrics::Recorder;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::hint::black_box;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Labels {
    endpoint: mon_core::LabelValue,
    method: mon_core::LabelValue,
    status: u16,
}

fn hot_path(c: &mut Criterion) {
    let endpoints = ["/api/rooms", "/api/calls", "/api/tokens", "/health"];
    let mut group = c.benchmark_group("record_request");

    let rec = Recorder::default();
    let mut i = 0usize;
    group.bench_function("mon_recorder_track_request", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            rec.track_request(
                black_box(endpoints[i % 4]),
                black_box("GET"),
                black_box(200),
                black_box(Duration::from_micros(8_000 + (i % 1000) as u64)),
                0,
                0,
            );
        })
    });

    let family = Family::<Labels, Histogram>::new_with_constructor(|| {
        Histogram::new(exponential_buckets(0.005, 2.0, 11))
    });
    let mut registry = Registry::default();
    registry.register("requests", "requests", family.clone());
    let mut j = 0usize;
    group.bench_function("prometheus_client_family_observe", |b| {
        b.iter(|| {
            j = j.wrapping_add(1);
            // The same work a caller does per request: build the label set, observe.
            let labels = Labels {
                endpoint: black_box(endpoints[j % 4]).into(),
                method: black_box("GET").into(),
                status: black_box(200),
            };
            family
                .get_or_create(&labels)
                .observe(black_box(0.008 + (j % 1000) as f64 * 1e-6));
        })
    });

    let handle = rec.counter_handle("hits", &[("k", "v")]).expect("handle");
    group.bench_function("mon_counter_handle_inc", |b| {
        b.iter(|| handle.inc_by(black_box(1.0)))
    });
    // The one path every custom kind takes: find the series by name and labels, record.
    let mut k = 0usize;
    group.bench_function("mon_custom_gauge_set", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            rec.gauge(black_box("queue_size"), black_box(&[("k", "v")]), k as f64)
                .expect("a valid gauge")
        })
    });
    group.finish();
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
