//! AI provider usage: a series per provider/service/model with a rolling latency window,
//! requests, units and cost, their rule variables (`avg_response_time_ms`,
//! `ai_cost_usd`) and the `mon_app_ai_*` families.

use super::{Histo, LATENCY_BUCKETS, OVERFLOW_LABEL, Recorder, RecorderOptions, SeriesMap};
use super::{bounded, lock, ms, system_time, with_series};
use crate::report::{Published, WindowReport, counter_f64, counter_u64, histogram};
use crate::vars;
use crate::window::{Acc, Ring, Window, current_slot, slot_of};
use mon_core::{AiUsageEvent, LabelValue};
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use std::sync::PoisonError;
use std::time::{Duration, SystemTime};

/// One AI provider/service/model.
#[derive(Debug)]
struct AiState {
    ring: Ring,
    requests: u64,
    units: f64,
    cost_usd: f64,
    latency: Histo,
}

/// One use of a provider as the recorder takes it.
struct Usage<'a> {
    provider: &'a str,
    service: &'a str,
    model: &'a str,
    units: f64,
    cost_usd: f64,
    latency_ms: f64,
}

/// The AI usage state: a series per (provider, service, model), each behind its own lock.
#[derive(Debug, Default)]
pub(crate) struct Ai(SeriesMap<(String, String, String), AiState>);

impl Ai {
    fn record(&self, options: &RecorderOptions, at: SystemTime, u: &Usage<'_>) {
        let now = current_slot();
        let max_len = options.max_label_value_bytes;
        let (provider, service, model) = (
            bounded(u.provider, max_len),
            bounded(u.service, max_len),
            bounded(u.model, max_len),
        );
        let key = (provider.to_owned(), service.to_owned(), model.to_owned());
        let overflow = (
            OVERFLOW_LABEL.to_owned(),
            service.to_owned(),
            OVERFLOW_LABEL.to_owned(),
        );
        with_series(
            &self.0,
            &key,
            options.max_series,
            || Some(overflow),
            Clone::clone,
            || AiState {
                ring: Ring::default(),
                requests: 0,
                units: 0.0,
                cost_usd: 0.0,
                latency: Histo::new(LATENCY_BUCKETS),
            },
            |s| {
                s.ring.record(slot_of(at), now, u.latency_ms, false);
                s.requests += 1;
                if u.units.is_finite() {
                    s.units += u.units;
                }
                if u.cost_usd.is_finite() {
                    s.cost_usd += u.cost_usd;
                }
                s.latency.observe(u.latency_ms / 1000.0);
            },
        );
    }

    /// Fills the AI statistics of `window` (every series together) into `w`.
    pub(crate) fn window(&self, now: u64, window: Window, w: &mut WindowReport) {
        let mut ai = Acc::default();
        for state in self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            lock(state).ring.accumulate(now, window, &mut ai);
        }
        w.ai = ai.finish(window);
    }

    /// The AI variables of `w`.
    pub(crate) fn publish(&self, w: &WindowReport, out: &mut Published) {
        let cost: f64 = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|s| lock(s).cost_usd)
            .sum();
        out.put(vars::AVG_RESPONSE_TIME_MS, w.ai.avg);
        out.put(vars::AI_COST_USD, Some(cost));
    }

    /// The `mon_app_ai_*` families.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let ai: Vec<_> = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| {
                let s = lock(v);
                (
                    k.clone(),
                    s.requests,
                    s.units,
                    s.cost_usd,
                    s.latency.clone(),
                )
            })
            .collect();
        let mut requests = encoder.encode_descriptor(
            "mon_app_ai_requests",
            "AI provider requests, by provider, service (stt, llm, tts) and model",
            None,
            MetricType::Counter,
        )?;
        for ((p, s, m), n, _, _, _) in &ai {
            counter_u64(&mut requests.encode_family(&labels(p, s, m))?, *n)?;
        }
        let mut units = encoder.encode_descriptor(
            "mon_app_ai_units",
            "AI provider units consumed (tokens, characters or audio seconds)",
            None,
            MetricType::Counter,
        )?;
        for ((p, s, m), _, u, _, _) in &ai {
            counter_f64(&mut units.encode_family(&labels(p, s, m))?, *u)?;
        }
        let mut cost = encoder.encode_descriptor(
            "mon_app_ai_cost_usd",
            "AI provider cost, in US dollars",
            None,
            MetricType::Counter,
        )?;
        for ((p, s, m), _, _, c, _) in &ai {
            counter_f64(&mut cost.encode_family(&labels(p, s, m))?, *c)?;
        }
        let mut latency = encoder.encode_descriptor(
            "mon_app_ai_latency_seconds",
            "AI provider response time, in seconds",
            None,
            MetricType::Histogram,
        )?;
        for ((p, s, m), _, _, _, h) in &ai {
            histogram(&mut latency.encode_family(&labels(p, s, m))?, h)?;
        }
        Ok(())
    }
}

/// The label set of the `mon_app_ai_*` families.
fn labels<'a>(
    provider: &'a str,
    service: &'a str,
    model: &'a str,
) -> [(&'static str, LabelValue<&'a str>); 3] {
    [
        ("provider", LabelValue(provider)),
        ("service", LabelValue(service)),
        ("model", LabelValue(model)),
    ]
}

impl Recorder {
    /// Records one use of an AI provider: `service` is `stt`, `llm` or `tts`; `units` are
    /// tokens, characters or seconds of audio.
    pub fn ai_usage(
        &self,
        provider: &str,
        service: &str,
        model: &str,
        units: f64,
        cost_usd: f64,
        latency: Duration,
    ) {
        let usage = Usage {
            provider,
            service,
            model,
            units,
            cost_usd,
            latency_ms: ms(latency),
        };
        self.inner
            .ai
            .record(&self.inner.options, SystemTime::now(), &usage);
    }

    /// Records an ingested [`AiUsageEvent`], at its own timestamp when it has one.
    pub fn record_ai_usage(&self, e: &AiUsageEvent) {
        let usage = Usage {
            provider: &e.provider,
            service: &e.service,
            model: &e.model,
            units: e.units,
            cost_usd: e.cost_usd,
            latency_ms: e.latency_ms,
        };
        self.inner
            .ai
            .record(&self.inner.options, system_time(e.timestamp), &usage);
    }
}
