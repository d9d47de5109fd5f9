//! OpenTelemetry in: OTLP metrics, logs and spans (the `opentelemetry-proto` types)
//! turned into mon's own events, which then go the way of every ingested event
//! (validation, privacy, the store, the recorder, the rules). docs/otel.md is the
//! mapping in full:
//!
//! - metrics: gauges and non-monotonic sums → `gauge`; monotonic sums → `counter`
//!   increments (a cumulative sum's increase since the previous point of its series;
//!   a drop or a new start time is a reset, its value the increase); histograms and
//!   exponential histograms → `<name>_count` and `<name>_sum` increments and the
//!   `<name>_p50`/`_p95`/`_p99` of the observations since the previous point
//!   (interpolated in their buckets, as `histogram_quantile` does); summaries →
//!   `<name>_p<q>` gauges. Attributes and the resource's `service.name`/`service.version`
//!   (`service`, `service_version`) are labels.
//! - logs → `log` events: level from the severity, the body as message, trace and span
//!   ids, attributes and the service as fields.
//! - spans: `gen_ai.*` spans → `ai_usage` (provider, model, tokens, cost from
//!   `metrics.otlp.prices`); server spans of HTTP (`http.request.method`) or RPC
//!   (`rpc.system`) → `request` (route, method, status, duration); other spans are
//!   not kept.
//! - a `service.version` not seen before for its `service.name` → a `deployment` event.

use mon_core::{
    AiUsageEvent, CounterEvent, DeploymentEvent, Event, GaugeEvent, LogEvent, RequestEvent,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

pub use opentelemetry_proto::tonic::collector;

/// `metrics.otlp:` — what OTLP ingest needs besides the data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    /// US dollars per million tokens by model, for the cost of `gen_ai` spans. A
    /// model is looked up by its name, else by the longest key it starts with
    /// (`gpt-4o` prices `gpt-4o-2024-08-06`); an unpriced model costs 0.
    pub prices: BTreeMap<String, ModelPrice>,
}

/// The price of one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// US dollars per million input (prompt) tokens.
    pub input_per_million: f64,
    /// US dollars per million output (completion) tokens.
    pub output_per_million: f64,
}

impl OtlpConfig {
    /// `(key, message)` for each problem.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut errors = Vec::new();
        for (model, price) in &self.prices {
            for (field, value) in [
                ("input_per_million", price.input_per_million),
                ("output_per_million", price.output_per_million),
            ] {
                if !(value.is_finite() && value >= 0.0) {
                    errors.push((
                        format!("prices.{model}.{field}"),
                        format!("must be a price of 0 or more, not {value}"),
                    ));
                }
            }
        }
        errors
    }

    /// The price of `model`: its own, or the longest key it starts with.
    fn price(&self, model: &str) -> Option<ModelPrice> {
        self.prices.get(model).copied().or_else(|| {
            self.prices
                .iter()
                .filter(|(key, _)| model.starts_with(key.as_str()))
                .max_by_key(|(key, _)| key.len())
                .map(|(_, p)| *p)
        })
    }
}

/// The previous point of a cumulative series: its start time, and its value (a sum)
/// or its count, sum and bucket counts (a histogram).
#[derive(Debug, Clone, PartialEq)]
struct Previous {
    start: u64,
    values: Vec<f64>,
}

/// Turns OTLP requests into events. Cloning shares its state: the previous point of
/// each cumulative series and the version last seen of each service.
#[derive(Debug, Clone, Default)]
pub struct OtlpMapper {
    config: Arc<OtlpConfig>,
    state: Arc<Mutex<State>>,
    /// When it was made (Unix ns): a cumulative series that started later is seen
    /// whole, one that started before is taken as a base.
    since: u64,
}

#[derive(Debug, Default)]
struct State {
    previous: BTreeMap<String, Previous>,
    versions: BTreeMap<String, String>,
}

/// The events of one export, and what the mapper learnt from it (the latest point of
/// each cumulative series, new service versions). What it learnt is kept only with
/// [`OtlpMapper::keep`], once the events are: an export refused (a full store) and
/// sent again counts the same as if it had been taken the first time.
#[derive(Debug, Default)]
pub struct Mapped {
    /// The events, in the export's order.
    pub events: Vec<Event>,
    previous: BTreeMap<String, Previous>,
    versions: BTreeMap<String, String>,
}

/// The most cumulative series remembered; beyond it the oldest keys are dropped
/// (their next point is taken as a first one).
const MAX_REMEMBERED: usize = 100_000;

impl OtlpMapper {
    /// A mapper pricing `gen_ai` spans with `config`.
    pub fn new(config: OtlpConfig) -> OtlpMapper {
        OtlpMapper {
            config: Arc::new(config),
            state: Arc::default(),
            since: chrono::Utc::now()
                .timestamp_nanos_opt()
                .map_or(0, |n| n as u64),
        }
    }

    /// Tells the mapper the version each service last deployed (the stored
    /// `deployment` events), so that a restart does not mark them again.
    pub fn know_versions(&self, versions: impl IntoIterator<Item = (String, String)>) {
        let mut state = self.lock();
        for (service, version) in versions {
            state.versions.entry(service).or_insert(version);
        }
    }

    /// Keeps what `mapped` learnt: its events were accepted.
    pub fn keep(&self, mapped: Mapped) {
        let mut state = self.lock();
        state.versions.extend(mapped.versions);
        for (key, point) in mapped.previous {
            if state.previous.len() >= MAX_REMEMBERED && !state.previous.contains_key(&key) {
                state.previous.pop_first();
            }
            state.previous.insert(key, point);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The events of a metrics export.
    pub fn metrics(&self, request: &ExportMetricsServiceRequest) -> Mapped {
        let mut out = Mapped::default();
        for rm in &request.resource_metrics {
            let service = Service::of(rm.resource.as_ref());
            self.deployment(&service, &mut out);
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    self.metric(&service, m, &mut out);
                }
            }
        }
        out
    }

    /// The events of a logs export.
    pub fn logs(&self, request: &ExportLogsServiceRequest) -> Mapped {
        let mut out = Mapped::default();
        for rl in &request.resource_logs {
            let service = Service::of(rl.resource.as_ref());
            self.deployment(&service, &mut out);
            for sl in &rl.scope_logs {
                for record in &sl.log_records {
                    let mut fields: BTreeMap<String, Value> = record
                        .attributes
                        .iter()
                        .map(|kv| (kv.key.clone(), json(kv.value.as_ref())))
                        .collect();
                    if !record.trace_id.is_empty() {
                        fields.insert("trace_id".into(), Value::String(hex(&record.trace_id)));
                    }
                    if !record.span_id.is_empty() {
                        fields.insert("span_id".into(), Value::String(hex(&record.span_id)));
                    }
                    service.fields(&mut fields);
                    let call_id = ["call_id", "call.id"]
                        .iter()
                        .find_map(|k| fields.get(*k).and_then(Value::as_str))
                        .map(str::to_owned);
                    let time = if record.time_unix_nano > 0 {
                        record.time_unix_nano
                    } else {
                        record.observed_time_unix_nano
                    };
                    out.events.push(Event::Log(LogEvent {
                        level: level(record.severity_number, &record.severity_text).to_owned(),
                        message: text(record.body.as_ref()),
                        call_id,
                        fields,
                        timestamp: timestamp(time),
                        experiment: None,
                        variant: None,
                    }));
                }
            }
        }
        out
    }

    /// The events of a traces export: AI usage and served requests.
    pub fn traces(&self, request: &ExportTraceServiceRequest) -> Mapped {
        let mut out = Mapped::default();
        for rs in &request.resource_spans {
            let service = Service::of(rs.resource.as_ref());
            self.deployment(&service, &mut out);
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    if let Some(event) = self.ai_usage(span).or_else(|| request_event(span)) {
                        out.events.push(event);
                    }
                }
            }
        }
        out
    }

    /// A `deployment` event when `service` runs a version not seen before.
    fn deployment(&self, service: &Service, out: &mut Mapped) {
        let (Some(name), Some(version)) = (&service.name, &service.version) else {
            return;
        };
        let known = match out.versions.get(name) {
            Some(v) => v == version,
            None => self.lock().versions.get(name) == Some(version),
        };
        if known {
            return;
        }
        out.versions.insert(name.clone(), version.clone());
        out.events.push(Event::Deployment(DeploymentEvent {
            service: name.clone(),
            version: version.clone(),
            commit: None,
            environment: service.environment.clone(),
            timestamp: None,
            experiment: None,
            variant: None,
        }));
    }

    fn metric(
        &self,
        service: &Service,
        m: &opentelemetry_proto::tonic::metrics::v1::Metric,
        out: &mut Mapped,
    ) {
        let name = prometheus_name(&m.name);
        let labels = |attributes: &[KeyValue]| {
            let mut labels = service.labels();
            for kv in attributes {
                labels.insert(label_name(&kv.key), text(kv.value.as_ref()));
            }
            labels
        };
        match &m.data {
            Some(metric::Data::Gauge(g)) => {
                for p in &g.data_points {
                    out.events.push(gauge(
                        &name,
                        labels(&p.attributes),
                        number(&p.value),
                        p.time_unix_nano,
                    ));
                }
            }
            Some(metric::Data::Sum(s)) => {
                let cumulative =
                    s.aggregation_temporality == AggregationTemporality::Cumulative as i32;
                for p in &s.data_points {
                    let labels = labels(&p.attributes);
                    let value = number(&p.value);
                    if !s.is_monotonic {
                        out.events
                            .push(gauge(&name, labels, value, p.time_unix_nano));
                        continue;
                    }
                    let increase = if cumulative {
                        self.increase(out, &name, &labels, p.start_time_unix_nano, &[value])
                            .map(|d| d[0])
                    } else {
                        Some(value)
                    };
                    if let Some(increase) = increase {
                        out.events
                            .push(counter(&name, labels, increase, p.time_unix_nano));
                    }
                }
            }
            Some(metric::Data::Histogram(h)) => {
                let cumulative =
                    h.aggregation_temporality == AggregationTemporality::Cumulative as i32;
                for p in &h.data_points {
                    let point = Interval {
                        start: p.start_time_unix_nano,
                        time: p.time_unix_nano,
                        count: p.count,
                        sum: p.sum,
                        buckets: explicit_buckets(p),
                    };
                    self.histogram(&name, labels(&p.attributes), cumulative, point, out);
                }
            }
            Some(metric::Data::ExponentialHistogram(h)) => {
                let cumulative =
                    h.aggregation_temporality == AggregationTemporality::Cumulative as i32;
                for p in &h.data_points {
                    let point = Interval {
                        start: p.start_time_unix_nano,
                        time: p.time_unix_nano,
                        count: p.count,
                        sum: p.sum,
                        buckets: exponential_buckets(p),
                    };
                    self.histogram(&name, labels(&p.attributes), cumulative, point, out);
                }
            }
            Some(metric::Data::Summary(s)) => {
                for p in &s.data_points {
                    for q in &p.quantile_values {
                        let suffix = format!("{}", (q.quantile * 100.0).round());
                        out.events.push(gauge(
                            &format!("{name}_p{suffix}"),
                            labels(&p.attributes),
                            q.value,
                            p.time_unix_nano,
                        ));
                    }
                }
            }
            None => {}
        }
    }

    /// `<name>_count` and `<name>_sum` increments and the quantiles of what was
    /// observed since the previous point (the point itself when delta).
    fn histogram(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        cumulative: bool,
        point: Interval,
        out: &mut Mapped,
    ) {
        let Interval {
            start,
            time,
            count,
            sum,
            buckets,
        } = point;
        let mut values = vec![count as f64, sum.unwrap_or(0.0)];
        values.extend(buckets.iter().map(|(.., c)| *c));
        let delta = if cumulative {
            match self.increase(out, name, &labels, start, &values) {
                Some(delta) => delta,
                None => return,
            }
        } else {
            values
        };
        out.events.push(counter(
            &format!("{name}_count"),
            labels.clone(),
            delta[0],
            time,
        ));
        if sum.is_some() {
            out.events.push(counter(
                &format!("{name}_sum"),
                labels.clone(),
                delta[1].max(0.0),
                time,
            ));
        }
        let observed: Vec<Bucket> = buckets
            .iter()
            .zip(&delta[2..])
            .map(|(&(lower, upper, _), &c)| (lower, upper, c))
            .collect();
        for q in [0.5, 0.95, 0.99] {
            if let Some(value) = quantile(q, &observed) {
                let p = (q * 100.0).round();
                out.events
                    .push(gauge(&format!("{name}_p{p}"), labels.clone(), value, time));
            }
        }
    }

    /// The increase of a cumulative series since its previous point. Its first point
    /// is the increase when the series started after the mapper was made (nothing
    /// before it was missed), else only the base to compare the next with (`None`):
    /// a restart of mon does not count a service's whole history again. A point
    /// that started anew or whose first value dropped is a reset: its values are the
    /// increase.
    fn increase(
        &self,
        out: &mut Mapped,
        name: &str,
        labels: &BTreeMap<String, String>,
        start: u64,
        values: &[f64],
    ) -> Option<Vec<f64>> {
        let key = format!("{name}{labels:?}");
        let now = Previous {
            start,
            values: values.to_vec(),
        };
        let before = match out.previous.insert(key.clone(), now) {
            Some(before) => Some(before),
            None => self.lock().previous.get(&key).cloned(),
        };
        let Some(before) = before else {
            return (start >= self.since && start > 0).then(|| values.to_vec());
        };
        let reset = before.start != start
            || before.values.len() != values.len()
            || values.first() < before.values.first();
        Some(if reset {
            values.to_vec()
        } else {
            values
                .iter()
                .zip(&before.values)
                .map(|(v, b)| (v - b).max(0.0))
                .collect()
        })
    }

    fn ai_usage(&self, span: &Span) -> Option<Event> {
        let attrs = Attributes(&span.attributes);
        let provider = attrs
            .text("gen_ai.provider.name")
            .or_else(|| attrs.text("gen_ai.system"))?;
        let model = attrs
            .text("gen_ai.response.model")
            .or_else(|| attrs.text("gen_ai.request.model"))
            .unwrap_or_else(|| "unknown".to_owned());
        let input = attrs
            .number("gen_ai.usage.input_tokens")
            .or_else(|| attrs.number("gen_ai.usage.prompt_tokens"))
            .unwrap_or(0.0);
        let output = attrs
            .number("gen_ai.usage.output_tokens")
            .or_else(|| attrs.number("gen_ai.usage.completion_tokens"))
            .unwrap_or(0.0);
        let (experiment, variant) = arm(&attrs);
        let cost = self.config.price(&model).map_or(0.0, |p| {
            (input * p.input_per_million + output * p.output_per_million) / 1_000_000.0
        });
        Some(Event::AiUsage(AiUsageEvent {
            provider,
            service: "llm".to_owned(),
            model,
            units: input + output,
            cost_usd: cost,
            latency_ms: duration_ms(span),
            call_id: attrs.text("session.id"),
            timestamp: timestamp(span.end_time_unix_nano),
            experiment,
            variant,
        }))
    }
}

/// The experiment arm a span's attributes `experiment` and `variant` name, when they
/// name both.
fn arm(attrs: &Attributes<'_>) -> (Option<String>, Option<String>) {
    match (attrs.text("experiment"), attrs.text("variant")) {
        (Some(experiment), Some(variant)) => (Some(experiment), Some(variant)),
        _ => (None, None),
    }
}

/// A server span of HTTP or RPC as a `request` event.
fn request_event(span: &Span) -> Option<Event> {
    if span.kind != span::SpanKind::Server as i32 {
        return None;
    }
    let attrs = Attributes(&span.attributes);
    let failed = span
        .status
        .as_ref()
        .is_some_and(|s| s.code == status::StatusCode::Error as i32);
    let (endpoint, method, status) = if let Some(method) = attrs
        .text("http.request.method")
        .or_else(|| attrs.text("http.method"))
    {
        let endpoint = attrs
            .text("http.route")
            .unwrap_or_else(|| span.name.clone());
        let status = attrs
            .number("http.response.status_code")
            .or_else(|| attrs.number("http.status_code"))
            .map_or(if failed { 500 } else { 200 }, |s| s as u16);
        (endpoint, method, status)
    } else if let Some(system) = attrs.text("rpc.system") {
        let endpoint = match (attrs.text("rpc.service"), attrs.text("rpc.method")) {
            (Some(service), Some(method)) => format!("{service}/{method}"),
            _ => span.name.clone(),
        };
        let status = attrs
            .number("rpc.grpc.status_code")
            .map_or(if failed { 500 } else { 200 }, |code| {
                grpc_status(code as i64)
            });
        (endpoint, system, status)
    } else {
        return None;
    };
    let (experiment, variant) = arm(&attrs);
    Some(Event::Request(RequestEvent {
        endpoint,
        method,
        status: status.clamp(100, 599),
        latency_ms: duration_ms(span),
        request_bytes: None,
        response_bytes: None,
        principal: None,
        ip: None,
        timestamp: timestamp(span.end_time_unix_nano),
        experiment,
        variant,
    }))
}

/// The HTTP status a gRPC status code corresponds to (as gRPC gateways map them).
fn grpc_status(code: i64) -> u16 {
    match code {
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500,
    }
}

/// The resource's service: `service.name`, `service.version`, `deployment.environment(.name)`.
#[derive(Debug, Default)]
struct Service {
    name: Option<String>,
    version: Option<String>,
    environment: Option<String>,
}

impl Service {
    fn of(resource: Option<&Resource>) -> Service {
        let Some(resource) = resource else {
            return Service::default();
        };
        let attrs = Attributes(&resource.attributes);
        Service {
            name: attrs.text("service.name").filter(|s| !s.is_empty()),
            version: attrs.text("service.version").filter(|s| !s.is_empty()),
            environment: attrs
                .text("deployment.environment.name")
                .or_else(|| attrs.text("deployment.environment"))
                .filter(|s| !s.is_empty()),
        }
    }

    /// `service` and `service_version` labels.
    fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        if let Some(name) = &self.name {
            labels.insert("service".to_owned(), name.clone());
        }
        if let Some(version) = &self.version {
            labels.insert("service_version".to_owned(), version.clone());
        }
        labels
    }

    /// `service.name` and `service.version` fields of a log.
    fn fields(&self, fields: &mut BTreeMap<String, Value>) {
        for (key, value) in [
            ("service.name", &self.name),
            ("service.version", &self.version),
        ] {
            if let Some(value) = value {
                fields.insert(key.to_owned(), Value::String(value.clone()));
            }
        }
    }
}

/// Attribute look-ups by key.
struct Attributes<'a>(&'a [KeyValue]);

impl Attributes<'_> {
    fn get(&self, key: &str) -> Option<&any_value::Value> {
        self.0
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| match v {
            any_value::Value::StringValue(s) => s.clone(),
            other => json_of(other).to_string(),
        })
    }

    fn number(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            any_value::Value::IntValue(i) => Some(*i as f64),
            any_value::Value::DoubleValue(d) => Some(*d),
            any_value::Value::StringValue(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

fn json(value: Option<&AnyValue>) -> Value {
    value
        .and_then(|v| v.value.as_ref())
        .map_or(Value::Null, json_of)
}

fn json_of(value: &any_value::Value) -> Value {
    match value {
        any_value::Value::StringValue(s) => Value::String(s.clone()),
        any_value::Value::BoolValue(b) => Value::Bool(*b),
        any_value::Value::IntValue(i) => Value::from(*i),
        any_value::Value::DoubleValue(d) => Value::from(*d),
        any_value::Value::ArrayValue(a) => {
            Value::Array(a.values.iter().map(|v| json(Some(v))).collect())
        }
        any_value::Value::KvlistValue(kv) => Value::Object(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), json(kv.value.as_ref())))
                .collect(),
        ),
        any_value::Value::BytesValue(b) => Value::String(hex(b)),
        #[allow(unreachable_patterns)]
        _ => Value::Null,
    }
}

/// An attribute or body as text: a string as it is, anything else as JSON.
fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(other) => json_of(other).to_string(),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn number(value: &Option<number_data_point::Value>) -> f64 {
    match value {
        Some(number_data_point::Value::AsDouble(d)) => *d,
        Some(number_data_point::Value::AsInt(i)) => *i as f64,
        None => 0.0,
    }
}

fn timestamp(unix_nano: u64) -> Option<chrono::DateTime<chrono::Utc>> {
    (unix_nano > 0).then(|| chrono::DateTime::from_timestamp_nanos(unix_nano as i64))
}

fn duration_ms(span: &Span) -> f64 {
    span.end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano) as f64
        / 1e6
}

/// mon's level of an OTLP severity number (1–4 trace, 5–8 debug, 9–12 info, 13–16
/// warn, 17–24 error and fatal), or of its text when the number is unset.
fn level(number: i32, text: &str) -> &'static str {
    match number {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=24 => "error",
        _ => match text.to_ascii_lowercase().as_str() {
            "trace" => "trace",
            "debug" => "debug",
            "warn" | "warning" => "warn",
            "error" | "fatal" | "critical" => "error",
            _ => "info",
        },
    }
}

/// A name as Prometheus takes it for a metric or a label: every character other than a
/// letter, digit or `_` (`.`, `-`, `/`) as `_`, and a `_` before a leading digit.
pub(crate) fn prometheus_name(name: &str) -> String {
    let mut clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with(|c: char| c.is_ascii_digit()) {
        clean.insert(0, '_');
    }
    clean
}

/// An attribute key as a label name (as [`prometheus_name`]; a reserved name gets a `_`).
fn label_name(key: &str) -> String {
    let clean = prometheus_name(key);
    match clean.as_str() {
        "le" | "quantile" | "job" | "instance" => format!("{clean}_"),
        _ if clean.starts_with("__") => clean.trim_start_matches('_').to_owned() + "_",
        _ => clean,
    }
}

fn gauge(name: &str, labels: BTreeMap<String, String>, value: f64, time: u64) -> Event {
    Event::Gauge(GaugeEvent {
        name: name.to_owned(),
        value,
        labels,
        timestamp: timestamp(time),
        experiment: None,
        variant: None,
    })
}

fn counter(name: &str, labels: BTreeMap<String, String>, value: f64, time: u64) -> Event {
    Event::Counter(CounterEvent {
        name: name.to_owned(),
        value,
        labels,
        timestamp: timestamp(time),
        experiment: None,
        variant: None,
    })
}

/// A histogram bucket: `(lower bound, upper bound, count)`.
type Bucket = (f64, f64, f64);

/// One histogram point, explicit or exponential.
struct Interval {
    start: u64,
    time: u64,
    count: u64,
    sum: Option<f64>,
    buckets: Vec<Bucket>,
}

/// The buckets of an explicit-bounds histogram: bucket `i` is
/// `(bounds[i-1], bounds[i]]`, the first from 0 (as `histogram_quantile` takes it),
/// the last up to +∞.
fn explicit_buckets(p: &HistogramDataPoint) -> Vec<Bucket> {
    p.bucket_counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let upper = p.explicit_bounds.get(i).copied().unwrap_or(f64::INFINITY);
            let lower = match i {
                0 => upper.min(0.0),
                _ => p.explicit_bounds[i - 1],
            };
            (lower, upper, *c as f64)
        })
        .collect()
}

/// The buckets of an exponential histogram, lowest first: negative ones, the zero
/// bucket (`[-zero_threshold, zero_threshold]`), positive ones (index `i` covers
/// `(base^i, base^(i+1)]`, `base = 2^(2^-scale)`).
fn exponential_buckets(p: &ExponentialHistogramDataPoint) -> Vec<Bucket> {
    let base = 2f64.powf(2f64.powi(-p.scale));
    let bound = |index: i32| base.powi(index);
    let mut out = Vec::new();
    if let Some(negative) = &p.negative {
        for (i, c) in negative.bucket_counts.iter().enumerate().rev() {
            let index = negative.offset + i as i32;
            out.push((-bound(index + 1), -bound(index), *c as f64));
        }
    }
    out.push((-p.zero_threshold, p.zero_threshold, p.zero_count as f64));
    if let Some(positive) = &p.positive {
        for (i, c) in positive.bucket_counts.iter().enumerate() {
            let index = positive.offset + i as i32;
            out.push((bound(index), bound(index + 1), *c as f64));
        }
    }
    out
}

/// The `q` quantile of observations counted in `buckets` (lowest first), linear
/// within its bucket as Prometheus' `histogram_quantile` takes it; a quantile in a
/// bucket without an upper bound is that bucket's lower bound.
fn quantile(q: f64, buckets: &[Bucket]) -> Option<f64> {
    let total: f64 = buckets.iter().map(|(.., c)| c).sum();
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut below = 0.0;
    for &(lower, upper, count) in buckets {
        if count > 0.0 && below + count >= rank {
            if upper.is_infinite() {
                return Some(lower);
            }
            return Some(lower + (upper - lower) * (rank - below) / count);
        }
        below += count;
    }
    buckets.last().map(|&(lower, ..)| lower)
}

#[cfg(test)]
mod tests;
