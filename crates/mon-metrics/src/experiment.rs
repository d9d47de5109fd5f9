//! Experiments: the events of each variant gathered into rates and samples
//! ([`ArmData`]), and every variant compared with the control ([`compare_arms`]) on
//! success rates, latencies, durations, ratings, abandonment and AI cost per call, each
//! with the test that fits it ([`crate::stats`]).

use crate::MetricsError;
use crate::stats::{Confidence, Counts, Sample, compare_rates, compare_samples};
use mon_api::experiments::ArmComparisonView;
use mon_core::{Event, SessionOutcome, SessionPhase};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A rate an experiment compares: its name and how it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateMetric {
    /// Calls that ended successfully, of the calls that ended (`call_ended`).
    CallSuccessRate,
    /// Requests answered below 500, of all requests (`request`).
    RequestSuccessRate,
    /// Sessions abandoned, of the sessions that ended (`session` with `phase: end`).
    AbandonmentRate,
    /// Satisfied feedback (a rating of 4 or 5, else a thumbs up), of all feedback.
    Csat,
}

/// A sample an experiment compares (Welch's t-test on the means, Mann-Whitney U on the
/// distributions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleMetric {
    /// Request latency (`request.latency_ms`).
    RequestLatencyMs,
    /// Voice latency (`voice_quality.latency_ms`).
    VoiceLatencyMs,
    /// Mean opinion score (`voice_quality.mos`).
    Mos,
    /// AI provider latency (`ai_usage.latency_ms`).
    AiLatencyMs,
    /// Call duration (`call_ended.duration_seconds`).
    CallDurationSeconds,
    /// Session duration (`session.duration_seconds` at its end).
    SessionDurationSeconds,
    /// Feedback rating, 1–5.
    Rating,
    /// AI cost of each call: the `cost_usd` of the `ai_usage` events of one `call_id`
    /// added up.
    AiCostPerCallUsd,
}

impl RateMetric {
    /// Every rate, in the order answers list them.
    pub const ALL: [RateMetric; 4] = [
        RateMetric::CallSuccessRate,
        RateMetric::RequestSuccessRate,
        RateMetric::AbandonmentRate,
        RateMetric::Csat,
    ];
}

impl SampleMetric {
    /// Every sample, in the order answers list them.
    pub const ALL: [SampleMetric; 8] = [
        SampleMetric::RequestLatencyMs,
        SampleMetric::VoiceLatencyMs,
        SampleMetric::Mos,
        SampleMetric::AiLatencyMs,
        SampleMetric::CallDurationSeconds,
        SampleMetric::SessionDurationSeconds,
        SampleMetric::Rating,
        SampleMetric::AiCostPerCallUsd,
    ];
}

/// What one variant's events add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArmData {
    /// Events gathered.
    pub events: u64,
    rates: BTreeMap<RateMetric, (u64, u64)>,
    samples: BTreeMap<SampleMetric, Vec<f64>>,
    cost_by_call: HashMap<String, f64>,
    /// AI cost of `ai_usage` events that name no call (not in the cost per call).
    pub unattributed_cost_usd: f64,
}

impl ArmData {
    fn count(&mut self, metric: RateMetric, success: bool) {
        let (s, n) = self.rates.entry(metric).or_default();
        *s += u64::from(success);
        *n += 1;
    }

    fn value(&mut self, metric: SampleMetric, v: f64) {
        if v.is_finite() {
            self.samples.entry(metric).or_default().push(v);
        }
    }

    /// Adds one event of the variant.
    pub fn add(&mut self, event: &Event) {
        self.events += 1;
        match event {
            Event::Request(e) => {
                self.count(RateMetric::RequestSuccessRate, e.status < 500);
                self.value(SampleMetric::RequestLatencyMs, e.latency_ms);
            }
            Event::CallEnded(e) => {
                self.count(RateMetric::CallSuccessRate, e.success);
                self.value(SampleMetric::CallDurationSeconds, e.duration_seconds);
            }
            Event::VoiceQuality(e) => {
                self.value(SampleMetric::VoiceLatencyMs, e.latency_ms);
                self.value(SampleMetric::Mos, e.mos);
            }
            Event::AiUsage(e) => {
                self.value(SampleMetric::AiLatencyMs, e.latency_ms);
                match &e.call_id {
                    Some(call) => *self.cost_by_call.entry(call.clone()).or_default() += e.cost_usd,
                    None => self.unattributed_cost_usd += e.cost_usd,
                }
            }
            Event::Session(e) => {
                if e.phase == SessionPhase::End {
                    self.count(
                        RateMetric::AbandonmentRate,
                        e.outcome == Some(SessionOutcome::Abandoned),
                    );
                    if let Some(d) = e.duration_seconds {
                        self.value(SampleMetric::SessionDurationSeconds, d);
                    }
                }
            }
            Event::Feedback(e) => {
                self.count(RateMetric::Csat, e.satisfied());
                if let Some(r) = e.rating {
                    self.value(SampleMetric::Rating, f64::from(r));
                }
            }
            Event::CallStarted(_)
            | Event::Error(_)
            | Event::Gauge(_)
            | Event::Counter(_)
            | Event::Heartbeat(_)
            | Event::Log(_)
            | Event::Livekit(_)
            | Event::Auth(_)
            | Event::Security(_)
            | Event::Deployment(_)
            | Event::Feature(_) => {}
        }
    }

    /// `successes` and `trials` of `metric`.
    pub fn rate(&self, metric: RateMetric) -> (u64, u64) {
        self.rates.get(&metric).copied().unwrap_or_default()
    }

    /// The values of `metric`.
    pub fn sample(&self, metric: SampleMetric) -> Vec<f64> {
        match metric {
            SampleMetric::AiCostPerCallUsd => self.cost_by_call.values().copied().collect(),
            _ => self.samples.get(&metric).cloned().unwrap_or_default(),
        }
    }
}

/// A p-value in words: `p = 0.012`, or `p < 0.001` below what three decimals show.
fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_owned()
    } else {
        format!("p = {p:.3}")
    }
}

/// The name of `m` in JSON (`call_success_rate`...).
fn name_of(m: impl Serialize) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Compares every variant of `arms` but `control` with `control`, in name order.
///
/// # Errors
/// [`MetricsError::InvalidSample`] when a sample cannot be compared (not for data that
/// came through validated events).
pub fn compare_arms(
    arms: &BTreeMap<String, ArmData>,
    control: &str,
    confidence: Confidence,
) -> Result<Vec<ArmComparisonView>, MetricsError> {
    let Some(base) = arms.get(control) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (variant, arm) in arms.iter().filter(|(v, _)| *v != control) {
        let mut c = ArmComparisonView {
            variant: variant.clone(),
            control: control.to_owned(),
            rates: BTreeMap::new(),
            samples: BTreeMap::new(),
            findings: Vec::new(),
            warnings: Vec::new(),
        };
        for metric in RateMetric::ALL {
            let ((sa, na), (sb, nb)) = (base.rate(metric), arm.rate(metric));
            if na + nb == 0 {
                continue;
            }
            let r = compare_rates(
                Counts::new(control, sa, na),
                Counts::new(variant, sb, nb),
                confidence,
            )?;
            let name = name_of(metric);
            if let (true, Some(d), Some(p)) = (r.significant, r.difference, r.p_value) {
                c.findings.push(format!(
                    "{name}: {variant} {:+.1} points against {control} ({})",
                    d * 100.0,
                    p_text(p)
                ));
            }
            if let Some(w) = &r.warning {
                c.warnings.push(format!("{name}: {w}"));
            }
            c.rates.insert(name, r);
        }
        for metric in SampleMetric::ALL {
            let (a, b) = (base.sample(metric), arm.sample(metric));
            if a.is_empty() && b.is_empty() {
                continue;
            }
            let s = compare_samples(
                Sample::new(control, &a),
                Sample::new(variant, &b),
                confidence,
            )?;
            let name = name_of(metric);
            if let (true, Some(d), Some(p)) =
                (s.means.significant, s.means.difference, s.means.p_value)
            {
                c.findings.push(format!(
                    "{name}: {variant} mean {d:+.3} against {control} (Welch {})",
                    p_text(p)
                ));
            }
            if let Some(w) = s.means.warning.as_ref().or(s.ranks.warning.as_ref()) {
                c.warnings.push(format!("{name}: {w}"));
            }
            c.samples.insert(name, s);
        }
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arm(events: &[serde_json::Value]) -> ArmData {
        let mut arm = ArmData::default();
        for e in events {
            arm.add(&Event::from_json(e.clone()).expect("decodes"));
        }
        arm
    }

    #[test]
    fn events_add_up_into_rates_and_samples() {
        let a = arm(&[
            json!({"type":"call_ended","call_id":"1","duration_seconds":30.0,"success":true}),
            json!({"type":"call_ended","call_id":"2","duration_seconds":50.0,"success":false}),
            json!({"type":"ai_usage","provider":"p","service":"llm","model":"m","units":1.0,"cost_usd":0.25,"latency_ms":100.0,"call_id":"1"}),
            json!({"type":"ai_usage","provider":"p","service":"tts","model":"m","units":1.0,"cost_usd":0.5,"latency_ms":300.0,"call_id":"1"}),
            json!({"type":"ai_usage","provider":"p","service":"stt","model":"m","units":1.0,"cost_usd":1.0,"latency_ms":50.0}),
            json!({"type":"session","session_id":"s","phase":"end","outcome":"abandoned","duration_seconds":12.0}),
            json!({"type":"session","session_id":"s","phase":"start"}),
            json!({"type":"feedback","rating":2}),
            json!({"type":"feedback","thumbs":"up"}),
        ]);
        assert_eq!(a.events, 9);
        assert_eq!(a.rate(RateMetric::CallSuccessRate), (1, 2));
        assert_eq!(a.rate(RateMetric::AbandonmentRate), (1, 1));
        assert_eq!(a.rate(RateMetric::Csat), (1, 2));
        assert_eq!(a.sample(SampleMetric::AiCostPerCallUsd), vec![0.75]);
        assert_eq!(a.unattributed_cost_usd, 1.0);
        assert_eq!(
            a.sample(SampleMetric::AiLatencyMs),
            vec![100.0, 300.0, 50.0]
        );
        assert_eq!(a.sample(SampleMetric::Rating), vec![2.0]);
        assert_eq!(a.sample(SampleMetric::SessionDurationSeconds), vec![12.0]);
    }

    #[test]
    fn a_clear_difference_is_a_finding_and_a_small_sample_a_warning() {
        let calls = |ok: usize, failed: usize| -> Vec<serde_json::Value> {
            (0..ok + failed)
                .map(|i| json!({"type":"call_ended","call_id":i.to_string(),"duration_seconds":10.0,"success":i < ok}))
                .collect()
        };
        let arms = BTreeMap::from([
            ("control".to_owned(), arm(&calls(500, 500))),
            ("b".to_owned(), arm(&calls(800, 200))),
            ("tiny".to_owned(), arm(&calls(3, 1))),
        ]);
        let out = compare_arms(&arms, "control", Confidence::default()).expect("compares");
        let names: Vec<&str> = out.iter().map(|c| c.variant.as_str()).collect();
        assert_eq!(names, ["b", "tiny"]);
        let b = &out[0];
        assert!(b.rates["call_success_rate"].significant);
        assert!(
            b.findings
                .iter()
                .any(|f| f.starts_with("call_success_rate: b +30.0 points against control")),
            "{:?}",
            b.findings
        );
        assert!(!out[1].rates["call_success_rate"].significant);
        assert!(
            out[1]
                .warnings
                .iter()
                .any(|w| w.starts_with("call_success_rate: ")
                    && w.contains("Too small a sample to tell")),
            "{:?}",
            out[1].warnings
        );
        // No request, feedback or session events: those metrics are left out.
        assert!(!b.rates.contains_key("csat"));
        assert!(!b.samples.contains_key("rating"));
        assert!(
            compare_arms(&arms, "absent", Confidence::default())
                .unwrap()
                .is_empty()
        );
    }
}
