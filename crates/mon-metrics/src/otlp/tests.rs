use super::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, Histogram, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    exponential_histogram_data_point::Buckets,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.to_owned()))
}

fn i(key: &str, value: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(value))
}

fn resource(version: &str) -> Resource {
    Resource {
        attributes: vec![s("service.name", "agent"), s("service.version", version)],
        ..Default::default()
    }
}

fn metrics(version: &str, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource(version)),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn cumulative_sum(name: &str, start: u64, value: f64) -> Metric {
    Metric {
        name: name.to_owned(),
        data: Some(metric::Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                attributes: vec![s("provider", "deepgram")],
                start_time_unix_nano: start,
                time_unix_nano: start + 1,
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

/// The events of `mapped`, kept as the server keeps an accepted export.
fn kept(mapper: &OtlpMapper, mut mapped: Mapped) -> Vec<Event> {
    let events = std::mem::take(&mut mapped.events);
    mapper.keep(mapped);
    events
}

fn counters(events: &[Event]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for event in events {
        if let Event::Counter(c) = event {
            out.push((c.name.clone(), c.value));
        }
    }
    out
}

#[test]
fn a_cumulative_sum_becomes_its_increases_and_a_new_version_a_deployment() {
    let mapper = OtlpMapper::new(OtlpConfig::default());
    // Started before the mapper: the first point is only the base.
    let old = 1_000;
    let first = kept(
        &mapper,
        mapper.metrics(&metrics(
            "1.0",
            vec![cumulative_sum("stt.retries", old, 10.0)],
        )),
    );
    assert!(counters(&first).is_empty());
    assert!(
        matches!(&first[0], Event::Deployment(d) if d.service == "agent" && d.version == "1.0")
    );
    let second = kept(
        &mapper,
        mapper.metrics(&metrics(
            "1.0",
            vec![cumulative_sum("stt.retries", old, 14.0)],
        )),
    );
    assert_eq!(counters(&second), [("stt_retries".to_owned(), 4.0)]);
    assert!(
        !second.iter().any(|e| matches!(e, Event::Deployment(_))),
        "same version"
    );
    let Event::Counter(c) = &second[0] else {
        panic!("{second:?}")
    };
    assert_eq!(c.labels["service"], "agent");
    assert_eq!(c.labels["service_version"], "1.0");
    assert_eq!(c.labels["provider"], "deepgram");
    // A restart of the service (new start time): the whole value is the increase.
    let restart = mapper.since + 5;
    let third = kept(
        &mapper,
        mapper.metrics(&metrics(
            "1.1",
            vec![cumulative_sum("stt.retries", restart, 3.0)],
        )),
    );
    assert_eq!(counters(&third), [("stt_retries".to_owned(), 3.0)]);
    assert!(
        third
            .iter()
            .any(|e| matches!(e, Event::Deployment(d) if d.version == "1.1"))
    );
    // A series that started after the mapper counts from its first point.
    let fresh = kept(
        &mapper,
        mapper.metrics(&metrics(
            "1.1",
            vec![cumulative_sum("tts.chars", restart, 7.0)],
        )),
    );
    assert_eq!(counters(&fresh), [("tts_chars".to_owned(), 7.0)]);
}

#[test]
fn an_export_refused_and_sent_again_counts_once() {
    let mapper = OtlpMapper::new(OtlpConfig::default());
    let start = mapper.since + 1;
    kept(
        &mapper,
        mapper.metrics(&metrics("1", vec![cumulative_sum("turns", start, 5.0)])),
    );
    // Refused (not kept): the retry of the same export has the same increase...
    let refused = mapper.metrics(&metrics("1", vec![cumulative_sum("turns", start, 9.0)]));
    assert_eq!(counters(&refused.events), [("turns".to_owned(), 4.0)]);
    let retried = kept(
        &mapper,
        mapper.metrics(&metrics("1", vec![cumulative_sum("turns", start, 9.0)])),
    );
    assert_eq!(counters(&retried), [("turns".to_owned(), 4.0)]);
    // ...and once taken, the same export again adds nothing.
    let again = kept(
        &mapper,
        mapper.metrics(&metrics("1", vec![cumulative_sum("turns", start, 9.0)])),
    );
    assert_eq!(counters(&again), [("turns".to_owned(), 0.0)]);
}

#[test]
fn known_versions_are_not_marked_again() {
    let mapper = OtlpMapper::new(OtlpConfig::default());
    mapper.know_versions([("agent".to_owned(), "2.0".to_owned())]);
    let events = kept(&mapper, mapper.metrics(&metrics("2.0", vec![])));
    assert!(events.is_empty(), "{events:?}");
}

/// Prometheus' `histogram_quantile` over the same buckets, written out for the test:
/// the bucket holding rank `q * total`, linear within it from the previous bound.
#[test]
fn quantiles_interpolate_within_their_bucket() {
    // Bounds 10, 50, 100, +Inf with counts 10, 30, 50, 10 (total 100).
    let buckets = [
        (0.0, 10.0, 10.0),
        (10.0, 50.0, 30.0),
        (50.0, 100.0, 50.0),
        (100.0, f64::INFINITY, 10.0),
    ];
    // p50: rank 50 → bucket (50, 100], 10 of its 50 → 50 + 50 * 10/50 = 60.
    assert_eq!(quantile(0.5, &buckets), Some(60.0));
    // p95: rank 95 → the +Inf bucket → the highest finite bound.
    assert_eq!(quantile(0.95, &buckets), Some(100.0));
    // p5: rank 5 → bucket (0, 10], half of it → 5.
    assert_eq!(quantile(0.05, &buckets), Some(5.0));
    assert_eq!(quantile(0.5, &[(0.0, 1.0, 0.0)]), None);
}

#[test]
fn exponential_buckets_have_the_bounds_of_their_scale() {
    // Scale 0: base 2; positive offset 2 → buckets (4, 8], (8, 16].
    let p = ExponentialHistogramDataPoint {
        scale: 0,
        zero_count: 1,
        positive: Some(Buckets {
            offset: 2,
            bucket_counts: vec![3, 4],
        }),
        ..Default::default()
    };
    assert_eq!(
        exponential_buckets(&p),
        vec![(-0.0, 0.0, 1.0), (4.0, 8.0, 3.0), (8.0, 16.0, 4.0)]
    );
    // Scale 1: base √2.
    let p = ExponentialHistogramDataPoint {
        scale: 1,
        positive: Some(Buckets {
            offset: 0,
            bucket_counts: vec![1],
        }),
        ..Default::default()
    };
    let bound = exponential_buckets(&p)[1].1;
    assert!((bound - 2f64.sqrt()).abs() < 1e-12, "{bound}");
}

#[test]
fn histograms_give_count_sum_and_quantiles_of_each_interval() {
    let mapper = OtlpMapper::new(OtlpConfig::default());
    let start = mapper.since + 1;
    let point = |counts: Vec<u64>, sum: f64| Metric {
        name: "http.server.request.duration".to_owned(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                start_time_unix_nano: start,
                time_unix_nano: start + 10,
                count: counts.iter().sum(),
                sum: Some(sum),
                bucket_counts: counts,
                explicit_bounds: vec![0.1, 0.5, 1.0],
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    };
    let first = kept(
        &mapper,
        mapper.metrics(&metrics("1", vec![point(vec![10, 0, 0, 0], 0.5)])),
    );
    assert!(counters(&first).contains(&("http_server_request_duration_count".to_owned(), 10.0)));
    // The second interval: 10 more observations, all in (0.5, 1.0].
    let second = kept(
        &mapper,
        mapper.metrics(&metrics("1", vec![point(vec![10, 0, 10, 0], 8.0)])),
    );
    assert_eq!(
        counters(&second),
        [
            ("http_server_request_duration_count".to_owned(), 10.0),
            ("http_server_request_duration_sum".to_owned(), 7.5)
        ]
    );
    let p50 = second.iter().any(
        |e| matches!(e, Event::Gauge(g) if g.name == "http_server_request_duration_p50" && g.value == 0.75),
    );
    assert!(p50, "the middle of (0.5, 1.0], not of all time: {second:?}");
    // An exponential histogram, delta: its own buckets are the interval.
    let exp = Metric {
        name: "llm.latency".to_owned(),
        data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                count: 4,
                sum: Some(40.0),
                scale: 0,
                positive: Some(Buckets {
                    offset: 3,
                    bucket_counts: vec![4],
                }),
                time_unix_nano: start + 10,
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Delta as i32,
        })),
        ..Default::default()
    };
    let events = kept(&mapper, mapper.metrics(&metrics("1", vec![exp])));
    assert!(counters(&events).contains(&("llm_latency_count".to_owned(), 4.0)));
    assert!(
        events.iter().any(
            |e| matches!(e, Event::Gauge(g) if g.name == "llm_latency_p50" && g.value == 12.0)
        )
    );
}

fn span(kind: span::SpanKind, attributes: Vec<KeyValue>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource("3.1")),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    name: "span".to_owned(),
                    kind: kind as i32,
                    start_time_unix_nano: 1_700_000_000_000_000_000,
                    end_time_unix_nano: 1_700_000_000_250_000_000,
                    attributes,
                    status: Some(Status::default()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn spans_become_requests_and_ai_usage_priced_by_model() {
    let mut prices = BTreeMap::new();
    prices.insert(
        "gpt-4o".to_owned(),
        ModelPrice {
            input_per_million: 2.5,
            output_per_million: 10.0,
        },
    );
    let mapper = OtlpMapper::new(OtlpConfig { prices });
    let events = kept(
        &mapper,
        mapper.traces(&span(
            span::SpanKind::Server,
            vec![
                s("http.request.method", "POST"),
                s("http.route", "/rooms/{id}"),
                i("http.response.status_code", 503),
            ],
        )),
    );
    let Some(Event::Request(r)) = events.iter().find(|e| matches!(e, Event::Request(_))) else {
        panic!("{events:?}")
    };
    assert_eq!(
        (r.endpoint.as_str(), r.method.as_str(), r.status),
        ("/rooms/{id}", "POST", 503)
    );
    assert_eq!(r.latency_ms, 250.0);

    let events = kept(
        &mapper,
        mapper.traces(&span(
            span::SpanKind::Client,
            vec![
                s("gen_ai.system", "openai"),
                s("gen_ai.request.model", "gpt-4o"),
                s("gen_ai.response.model", "gpt-4o-2024-08-06"),
                i("gen_ai.usage.input_tokens", 1_000),
                i("gen_ai.usage.output_tokens", 200),
            ],
        )),
    );
    let [Event::AiUsage(ai)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (ai.provider.as_str(), ai.model.as_str()),
        ("openai", "gpt-4o-2024-08-06")
    );
    assert_eq!(ai.units, 1_200.0);
    // 1000 × 2.50 / 1M + 200 × 10.00 / 1M (priced by the longest key it starts with).
    assert!((ai.cost_usd - 0.0045).abs() < 1e-12, "{}", ai.cost_usd);

    let rpc = kept(
        &mapper,
        mapper.traces(&span(
            span::SpanKind::Server,
            vec![
                s("rpc.system", "grpc"),
                s("rpc.service", "Agent"),
                s("rpc.method", "Say"),
                i("rpc.grpc.status_code", 14),
            ],
        )),
    );
    assert!(matches!(&rpc[0], Event::Request(r) if r.endpoint == "Agent/Say" && r.status == 503));
    // An internal span is not kept.
    assert!(
        mapper
            .traces(&span(span::SpanKind::Internal, vec![]))
            .events
            .is_empty()
    );
}

#[test]
fn severities_map_to_levels() {
    for (number, text, want) in [
        (1, "", "trace"),
        (9, "", "info"),
        (13, "", "warn"),
        (17, "", "error"),
        (21, "", "error"),
        (0, "WARNING", "warn"),
        (0, "", "info"),
    ] {
        assert_eq!(level(number, text), want, "{number} {text}");
    }
}
