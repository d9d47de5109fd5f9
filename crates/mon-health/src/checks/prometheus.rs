//! `type: prometheus`: scrapes a Prometheus / OpenMetrics text endpoint and maps chosen
//! series into rule-snapshot variables (by default LiveKit's voice-quality metrics).

use super::{BuildContext, KindConfig};
use crate::HealthError;
use crate::checks::common::{format_latency, redact_url};
use mon_core::{CheckOutcome, HealthCheck, async_trait};
use prometheus_parse::{Sample, Scrape, Value as PromValue};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Settings of a `prometheus` check: healthy when the endpoint answers a text exposition.
///
/// ```yaml
/// - name: livekit-metrics
///   type: prometheus
///   url: http://livekit.internal:6789/metrics
///   series:                      # default: the LiveKit voice-quality mapping below
///     - metric: livekit_jitter_us
///       labels: { kind: audio }  # only samples with these labels (default: all)
///       aggregate: avg           # avg (default), sum, min or max over the matching samples
///       scale: 0.001             # multiply (µs → ms)
///       variable: avg_jitter_ms
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusCheckConfig {
    /// The metrics endpoint, `http://` or `https://` (LiveKit's is on port 6789 when
    /// `prometheus_port` is set in its config).
    pub url: Url,
    /// Which series become which snapshot variables. Default: LiveKit's
    /// `livekit_packet_loss_percent` → `avg_packet_loss` (× 0.01), `livekit_jitter_us`
    /// → `avg_jitter_ms` (× 0.001) and `livekit_quality_score` → `avg_mos`.
    #[serde(default = "SeriesMapping::livekit_defaults")]
    pub series: Vec<SeriesMapping>,
}

/// One series mapped to a snapshot variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesMapping {
    /// The metric name in the exposition. For a histogram or summary, the mean of its
    /// observations (`_sum` / `_count`) is used.
    pub metric: String,
    /// Label values a sample must have to count (default: any labels).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// How the matching samples are combined (default `avg`).
    #[serde(default)]
    pub aggregate: Aggregate,
    /// A factor applied to the result, for units (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// The snapshot variable that receives the value: a snake_case name such as
    /// `avg_jitter_ms` (see docs/metrics.md).
    pub variable: String,
}

fn one() -> f64 {
    1.0
}

/// How the samples of one mapped series are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Aggregate {
    /// The mean (for histograms and summaries: total sum over total count).
    #[default]
    Avg,
    /// The sum.
    Sum,
    /// The smallest.
    Min,
    /// The largest.
    Max,
}

impl SeriesMapping {
    /// LiveKit's voice-quality metrics mapped to mon's voice-quality variables.
    pub fn livekit_defaults() -> Vec<SeriesMapping> {
        let map = |metric: &str, scale: f64, variable: &str| SeriesMapping {
            metric: metric.to_owned(),
            labels: BTreeMap::new(),
            aggregate: Aggregate::Avg,
            scale,
            variable: variable.to_owned(),
        };
        vec![
            map("livekit_packet_loss_percent", 0.01, "avg_packet_loss"),
            map("livekit_jitter_us", 0.001, "avg_jitter_ms"),
            map("livekit_quality_score", 1.0, "avg_mos"),
        ]
    }
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_variable(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl KindConfig for PrometheusCheckConfig {
    fn validate(&self, check: &str) -> Result<(), HealthError> {
        if !matches!(self.url.scheme(), "http" | "https") || self.url.host().is_none() {
            return Err(HealthError::invalid(
                check,
                "url",
                format!(
                    "{:?} is not an http:// or https:// URL with a host",
                    redact_url(&self.url)
                ),
            ));
        }
        if self.series.is_empty() {
            return Err(HealthError::invalid(
                check,
                "series",
                "is empty; map at least one series (or leave it out for the LiveKit defaults)",
            ));
        }
        for (i, s) in self.series.iter().enumerate() {
            if !valid_metric_name(&s.metric) {
                return Err(HealthError::invalid(
                    check,
                    format!("series[{i}].metric"),
                    format!(
                        "{:?} is not a Prometheus metric name; use letters, digits, `_` and `:`",
                        s.metric
                    ),
                ));
            }
            if !valid_variable(&s.variable) {
                return Err(HealthError::invalid(
                    check,
                    format!("series[{i}].variable"),
                    format!(
                        "{:?} is not a snapshot variable name; use snake_case such as avg_jitter_ms",
                        s.variable
                    ),
                ));
            }
            if !s.scale.is_finite() || s.scale == 0.0 {
                return Err(HealthError::invalid(
                    check,
                    format!("series[{i}].scale"),
                    format!(
                        "{} is not a usable factor; use a finite non-zero number",
                        s.scale
                    ),
                ));
            }
            if let Some(first) = self.series[..i]
                .iter()
                .position(|o| o.variable == s.variable)
            {
                return Err(HealthError::invalid(
                    check,
                    format!("series[{i}].variable"),
                    format!(
                        "{:?} is already filled by series[{first}]; each variable takes one series",
                        s.variable
                    ),
                ));
            }
        }
        Ok(())
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn HealthCheck>, HealthError> {
        let client = reqwest::Client::builder()
            .timeout(ctx.timeout)
            .connect_timeout(ctx.timeout)
            .user_agent(concat!("mon-health/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HealthError::Build {
                check: ctx.name.to_owned(),
                kind: "prometheus".to_owned(),
                message: e.to_string(),
            })?;
        Ok(Arc::new(PrometheusCheck {
            client,
            url: self.url.clone(),
            display_url: redact_url(&self.url),
            series: self.series.clone(),
            timeout: ctx.timeout,
        }))
    }
}

/// Longest exposition read.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A built `prometheus` check.
struct PrometheusCheck {
    client: reqwest::Client,
    url: Url,
    display_url: String,
    series: Vec<SeriesMapping>,
    timeout: Duration,
}

impl PrometheusCheck {
    async fn fetch(&self) -> Result<String, String> {
        let mut response = self
            .client
            .get(self.url.clone())
            // The classic text format; OpenMetrics text parses the same way.
            .header(
                reqwest::header::ACCEPT,
                "text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5,*/*;q=0.1",
            )
            .send()
            .await
            .map_err(|e| self.describe(e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(e))? {
            body.extend_from_slice(&chunk);
            if body.len() > BODY_LIMIT {
                return Err(format!("the exposition is over {BODY_LIMIT} bytes"));
            }
        }
        String::from_utf8(body).map_err(|_| "the exposition is not UTF-8 text".to_owned())
    }

    fn describe(&self, e: reqwest::Error) -> String {
        if e.is_timeout() {
            format!(
                "timed out after {}",
                mon_core::duration::format(self.timeout)
            )
        } else {
            crate::checks::error_chain(&e.without_url())
        }
    }
}

/// The value of one mapped series in `scrape`, if any sample matches.
fn evaluate(scrape: &Scrape, mapping: &SeriesMapping) -> Option<f64> {
    let matches = |sample: &Sample| {
        mapping
            .labels
            .iter()
            .all(|(k, v)| sample.labels.get(k) == Some(v.as_str()))
    };
    let find = |name: &str, like: &Sample| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && *s.labels == *like.labels)
            .and_then(|s| scalar(&s.value))
    };
    // (sum, count) per matching series: count 1 for a plain value.
    let mut parts: Vec<(f64, f64)> = Vec::new();
    for sample in scrape
        .samples
        .iter()
        .filter(|s| s.metric == mapping.metric && matches(s))
    {
        match &sample.value {
            PromValue::Histogram(_) | PromValue::Summary(_) => {
                let sum = find(&format!("{}_sum", mapping.metric), sample);
                let count = find(&format!("{}_count", mapping.metric), sample);
                if let (Some(sum), Some(count)) = (sum, count) {
                    parts.push((sum, count));
                }
            }
            value => {
                if let Some(v) = scalar(value) {
                    parts.push((v, 1.0));
                }
            }
        }
    }
    let means = || parts.iter().filter(|(_, c)| *c > 0.0).map(|(s, c)| s / c);
    let value = match mapping.aggregate {
        Aggregate::Avg => {
            let (sum, count) = parts
                .iter()
                .fold((0.0, 0.0), |(s, c), (ps, pc)| (s + ps, c + pc));
            (count > 0.0).then(|| sum / count)
        }
        Aggregate::Sum => (!parts.is_empty()).then(|| parts.iter().map(|(s, _)| s).sum()),
        Aggregate::Min => means().reduce(f64::min),
        Aggregate::Max => means().reduce(f64::max),
    }?;
    let value = value * mapping.scale;
    value.is_finite().then_some(value)
}

fn scalar(value: &PromValue) -> Option<f64> {
    match value {
        PromValue::Counter(v) | PromValue::Gauge(v) | PromValue::Untyped(v) => {
            v.is_finite().then_some(*v)
        }
        PromValue::Histogram(_) | PromValue::Summary(_) => None,
    }
}

#[async_trait]
impl HealthCheck for PrometheusCheck {
    fn kind(&self) -> &str {
        "prometheus"
    }

    async fn check(&self) -> CheckOutcome {
        let started = Instant::now();
        let fetched = self.fetch().await;
        let latency = started.elapsed();
        let text = match fetched {
            Ok(text) => text,
            Err(message) => {
                return CheckOutcome::unhealthy(latency, format!("scrape failed: {message}"))
                    .with_details(json!({"url": self.display_url, "variables": {}}));
            }
        };
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let scrape = match Scrape::parse(lines) {
            Ok(scrape) => scrape,
            Err(e) => {
                return CheckOutcome::unhealthy(
                    latency,
                    format!("the answer is not a Prometheus text exposition: {e}"),
                )
                .with_details(json!({"url": self.display_url, "variables": {}}));
            }
        };
        if scrape.samples.is_empty() {
            return CheckOutcome::unhealthy(
                latency,
                "the answer holds no samples: is this a Prometheus /metrics endpoint?",
            )
            .with_details(json!({"url": self.display_url, "variables": {}}));
        }
        let mut variables = BTreeMap::new();
        let mut missing = Vec::new();
        for mapping in &self.series {
            match evaluate(&scrape, mapping) {
                Some(v) => {
                    variables.insert(mapping.variable.clone(), v);
                }
                None => missing.push(mapping.metric.clone()),
            }
        }
        let message = format!(
            "scraped {} samples in {}; {} of {} series mapped",
            scrape.samples.len(),
            format_latency(latency),
            variables.len(),
            self.series.len()
        );
        // Series absent from the exposition (LiveKit publishes quality metrics only with
        // traffic) leave their variables absent; the endpoint itself is healthy.
        CheckOutcome::healthy(latency, message)
            .with_details(json!({
                "url": self.display_url,
                "samples": scrape.samples.len(),
                "variables": variables,
                "missing": missing,
            }))
            .with_variables(variables)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(text: &str) -> Scrape {
        Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
    }

    fn mapping(metric: &str, aggregate: Aggregate, labels: &[(&str, &str)]) -> SeriesMapping {
        SeriesMapping {
            metric: metric.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            aggregate,
            scale: 1.0,
            variable: "x".into(),
        }
    }

    #[test]
    fn gauges_histograms_and_aggregates() {
        let s = scrape(
            "# TYPE g gauge\n\
             g{kind=\"audio\"} 2\n\
             g{kind=\"video\"} 6\n\
             # TYPE h histogram\n\
             h_bucket{kind=\"audio\",le=\"10\"} 1\n\
             h_bucket{kind=\"audio\",le=\"+Inf\"} 2\n\
             h_sum{kind=\"audio\"} 30\n\
             h_count{kind=\"audio\"} 2\n\
             h_bucket{kind=\"video\",le=\"+Inf\"} 2\n\
             h_sum{kind=\"video\"} 10\n\
             h_count{kind=\"video\"} 2\n",
        );
        // (mapping, expected)
        let cases = [
            (mapping("g", Aggregate::Avg, &[]), Some(4.0)),
            (mapping("g", Aggregate::Sum, &[]), Some(8.0)),
            (mapping("g", Aggregate::Min, &[]), Some(2.0)),
            (mapping("g", Aggregate::Max, &[]), Some(6.0)),
            (
                mapping("g", Aggregate::Avg, &[("kind", "video")]),
                Some(6.0),
            ),
            (mapping("g", Aggregate::Avg, &[("kind", "data")]), None),
            (mapping("h", Aggregate::Avg, &[]), Some(10.0)),
            (
                mapping("h", Aggregate::Avg, &[("kind", "audio")]),
                Some(15.0),
            ),
            (mapping("h", Aggregate::Max, &[]), Some(15.0)),
            (mapping("nope", Aggregate::Avg, &[]), None),
        ];
        for (m, want) in cases {
            assert_eq!(evaluate(&s, &m), want, "{m:?}");
        }
        let mut scaled = mapping("g", Aggregate::Sum, &[]);
        scaled.scale = 0.5;
        assert_eq!(evaluate(&s, &scaled), Some(4.0));
    }

    #[test]
    fn names_are_validated() {
        assert!(valid_metric_name("livekit_jitter_us"));
        assert!(valid_metric_name("ns:metric_1"));
        assert!(!valid_metric_name("1abc"));
        assert!(!valid_metric_name("a-b"));
        assert!(valid_variable("avg_jitter_ms"));
        assert!(!valid_variable("AvgJitter"));
        assert!(!valid_variable(""));
    }
}
