//! User experience: sessions (the active set, starts, ends with their outcome, duration
//! and turns), feedback (ratings, thumbs, categories), feature use, and satisfaction next
//! to voice quality (the average rating per MOS band and per latency band, from the
//! voice quality measured in the session the feedback is about). Their rule variables
//! (`active_sessions`, `csat_percent`...), labelled series and `mon_app_session*`,
//! `mon_app_feedback*` and `mon_app_feature*` families.

use super::{OVERFLOW_LABEL, Recorder, RecorderOptions, bounded, lock, system_time};
use crate::report::{Published, WindowReport, counter_u64};
use crate::vars;
use crate::window::{Ring, Window, WindowStats, current_slot, slot_of};
use mon_core::{
    FeatureEvent, FeedbackEvent, LabelValue, SessionEvent, SessionOutcome, SessionPhase,
};
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::SystemTime;

/// The MOS bands a rating is put in, by their lower bound (ITU-T G.107's user
/// satisfaction: below 3.1 most users are dissatisfied, from 4.3 very satisfied).
pub const MOS_BANDS: &[(f64, &str)] = &[
    (4.3, "4.3-5.0"),
    (4.0, "4.0-4.3"),
    (3.6, "3.6-4.0"),
    (3.1, "3.1-3.6"),
    (f64::NEG_INFINITY, "1.0-3.1"),
];

/// The voice latency bands a rating is put in, by their lower bound in milliseconds.
pub const LATENCY_BANDS: &[(f64, &str)] = &[
    (2000.0, "2000ms+"),
    (1000.0, "1000-2000ms"),
    (500.0, "500-1000ms"),
    (200.0, "200-500ms"),
    (f64::NEG_INFINITY, "0-200ms"),
];

/// The label of the band `v` falls in.
fn band(bands: &'static [(f64, &'static str)], v: f64) -> &'static str {
    bands
        .iter()
        .find(|(lo, _)| v >= *lo)
        .map_or(OVERFLOW_LABEL, |(_, name)| name)
}

/// The category of feedback that names none.
pub const NO_CATEGORY: &str = "none";

/// The latest voice quality of a conversation, to put a rating in its bands.
#[derive(Debug, Clone, Copy)]
struct Quality {
    mos: f64,
    latency_ms: f64,
}

/// Per-name rolling counts with a running total (a feedback category, a feature).
#[derive(Debug, Default)]
struct Named {
    ring: Ring,
    total: u64,
    satisfied_total: u64,
}

#[derive(Debug, Default)]
struct ExperienceState {
    active: HashMap<String, SystemTime>,
    started: Ring,
    /// Ended sessions: 1 when abandoned (a failure), else 0.
    ended: Ring,
    /// Durations (seconds) of ended sessions.
    durations: Ring,
    turns: Ring,
    started_total: u64,
    outcomes_total: [u64; 4],
    /// Ratings (1–5); an unsatisfied one (below 4) is a failure.
    ratings: Ring,
    /// Every piece of feedback, 1 when satisfied, 0 when not: the CSAT share.
    satisfied: Ring,
    categories: BTreeMap<String, Named>,
    features: BTreeMap<String, Named>,
    by_mos: BTreeMap<&'static str, Ring>,
    by_latency: BTreeMap<&'static str, Ring>,
    /// The latest voice quality per conversation, the oldest forgotten first.
    quality: HashMap<String, Quality>,
    quality_order: VecDeque<String>,
}

/// The per-name figures of a window: feedback per category, feature use, ratings per
/// band.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ExperienceBreakdown {
    /// Feedback per category: count and rate; values are 1 when satisfied, else 0.
    pub feedback_by_category: BTreeMap<String, WindowStats>,
    /// Feature use per feature: count and rate; values are durations in seconds (0
    /// when not given).
    pub features: BTreeMap<String, WindowStats>,
    /// Ratings of sessions whose voice quality fell in each MOS band.
    pub rating_by_mos_band: BTreeMap<String, WindowStats>,
    /// Ratings of sessions whose voice latency fell in each latency band.
    pub rating_by_latency_band: BTreeMap<String, WindowStats>,
}

/// The experience state, behind one lock (a few events per session).
#[derive(Debug, Default)]
pub(crate) struct Experience(Mutex<ExperienceState>);

/// Runs `f` on the entry `name` of `map`, folded into [`OVERFLOW_LABEL`] beyond `max`.
fn named<'m>(map: &'m mut BTreeMap<String, Named>, name: &str, max: usize) -> &'m mut Named {
    let key = if map.contains_key(name) || map.len() < max {
        name
    } else {
        OVERFLOW_LABEL
    };
    map.entry(key.to_owned()).or_default()
}

impl Experience {
    fn session(&self, options: &RecorderOptions, at: SystemTime, e: &SessionEvent) {
        let (now, slot) = (current_slot(), slot_of(at));
        let mut x = lock(&self.0);
        match e.phase {
            SessionPhase::Start => {
                x.started.record(slot, now, 1.0, false);
                x.started_total += 1;
                // A session that never ends must not grow the set forever.
                if x.active.len() < options.max_series.saturating_mul(100) {
                    x.active.insert(e.session_id.clone(), at);
                }
            }
            SessionPhase::End => {
                let began = x.active.remove(&e.session_id);
                let outcome = e.outcome.unwrap_or(SessionOutcome::Completed);
                let seconds = e.duration_seconds.or_else(|| {
                    began.and_then(|b| at.duration_since(b).ok().map(|d| d.as_secs_f64()))
                });
                let abandoned = outcome == SessionOutcome::Abandoned;
                x.ended
                    .record(slot, now, f64::from(u8::from(abandoned)), abandoned);
                if let Some(seconds) = seconds {
                    x.durations.record(slot, now, seconds, false);
                }
                if let Some(turns) = e.turns {
                    x.turns.record(slot, now, f64::from(turns), false);
                }
                x.outcomes_total[outcome as usize] += 1;
            }
        }
    }

    fn feedback(&self, options: &RecorderOptions, at: SystemTime, e: &FeedbackEvent) {
        let (now, slot) = (current_slot(), slot_of(at));
        let satisfied = e.satisfied();
        let mut x = lock(&self.0);
        x.satisfied
            .record(slot, now, f64::from(u8::from(satisfied)), !satisfied);
        let category = bounded(
            e.category.as_deref().unwrap_or(NO_CATEGORY),
            options.max_label_value_bytes,
        );
        let c = named(&mut x.categories, category, options.max_series);
        c.ring
            .record(slot, now, f64::from(u8::from(satisfied)), !satisfied);
        c.total += 1;
        c.satisfied_total += u64::from(satisfied);
        let Some(rating) = e.rating.map(f64::from) else {
            return;
        };
        x.ratings.record(slot, now, rating, rating < 4.0);
        let quality = e
            .session_id
            .as_ref()
            .and_then(|s| x.quality.get(s))
            .copied();
        if let Some(q) = quality {
            x.by_mos.entry(band(MOS_BANDS, q.mos)).or_default().record(
                slot,
                now,
                rating,
                rating < 4.0,
            );
            x.by_latency
                .entry(band(LATENCY_BANDS, q.latency_ms))
                .or_default()
                .record(slot, now, rating, rating < 4.0);
        }
    }

    fn feature(&self, options: &RecorderOptions, at: SystemTime, e: &FeatureEvent) {
        let (now, slot) = (current_slot(), slot_of(at));
        let name = bounded(&e.feature, options.max_label_value_bytes);
        let mut x = lock(&self.0);
        let f = named(&mut x.features, name, options.max_series);
        f.ring
            .record(slot, now, e.duration_seconds.unwrap_or(0.0), false);
        f.total += 1;
    }

    /// Remembers the voice quality of `conversation`, for the ratings given about it.
    pub(crate) fn quality(
        &self,
        options: &RecorderOptions,
        conversation: &str,
        mos: f64,
        latency_ms: f64,
    ) {
        let mut x = lock(&self.0);
        let q = Quality { mos, latency_ms };
        if x.quality.insert(conversation.to_owned(), q).is_none() {
            x.quality_order.push_back(conversation.to_owned());
            if x.quality_order.len() > options.max_series.saturating_mul(10)
                && let Some(oldest) = x.quality_order.pop_front()
            {
                x.quality.remove(&oldest);
            }
        }
    }

    /// Fills the experience statistics of `window` into `w`.
    pub(crate) fn window(&self, now: u64, window: Window, w: &mut WindowReport) {
        let x = lock(&self.0);
        w.sessions_started = x.started.stats(now, window);
        w.sessions_ended = x.ended.stats(now, window);
        w.session_duration = x.durations.stats(now, window);
        w.session_turns = x.turns.stats(now, window);
        w.ratings = x.ratings.stats(now, window);
        w.feedback = x.satisfied.stats(now, window);
        let mut uses = crate::window::Acc::default();
        for f in x.features.values() {
            f.ring.accumulate(now, window, &mut uses);
        }
        w.feature_uses = uses.finish(window);
    }

    /// The per-name figures of `window`.
    pub(crate) fn breakdown(&self, window: Window) -> ExperienceBreakdown {
        let now = current_slot();
        let x = lock(&self.0);
        let named = |map: &BTreeMap<String, Named>| {
            map.iter()
                .map(|(k, n)| (k.clone(), n.ring.stats(now, window)))
                .collect()
        };
        let banded = |map: &BTreeMap<&'static str, Ring>| {
            map.iter()
                .map(|(k, r)| ((*k).to_owned(), r.stats(now, window)))
                .collect()
        };
        ExperienceBreakdown {
            feedback_by_category: named(&x.categories),
            features: named(&x.features),
            rating_by_mos_band: banded(&x.by_mos),
            rating_by_latency_band: banded(&x.by_latency),
        }
    }

    /// The experience variables of `w`.
    pub(crate) fn publish(&self, w: &WindowReport, out: &mut Published) {
        let (active, started_total) = {
            let x = lock(&self.0);
            (x.active.len(), x.started_total)
        };
        out.put(vars::ACTIVE_SESSIONS, Some(active as f64));
        out.put(vars::TOTAL_SESSIONS, Some(started_total as f64));
        out.put(
            vars::SESSIONS_PER_MINUTE,
            Some(w.sessions_started.rate_per_min),
        );
        out.put(vars::AVG_SESSION_DURATION_SECONDS, w.session_duration.avg);
        out.put(vars::AVG_SESSION_TURNS, w.session_turns.avg);
        out.put(
            vars::SESSION_ABANDONMENT_RATE,
            (w.sessions_ended.count > 0).then(|| w.sessions_ended.failure_percent / 100.0),
        );
        out.put(vars::AVG_RATING, w.ratings.avg);
        out.put(
            vars::CSAT_PERCENT,
            (w.feedback.count > 0).then_some(w.feedback.success_percent),
        );
        out.put(vars::FEEDBACK_PER_MINUTE, Some(w.feedback.rate_per_min));
        out.put(
            vars::FEATURE_USES_PER_MINUTE,
            Some(w.feature_uses.rate_per_min),
        );
    }

    /// The `mon_app_session*`, `mon_app_feedback*` and `mon_app_feature*` families.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let (active, started, outcomes, categories, features) = {
            let x = lock(&self.0);
            let totals = |m: &BTreeMap<String, Named>| -> Vec<(String, u64, u64)> {
                m.iter()
                    .map(|(k, n)| (k.clone(), n.total, n.satisfied_total))
                    .collect()
            };
            (
                x.active.len(),
                x.started_total,
                x.outcomes_total,
                totals(&x.categories),
                totals(&x.features),
            )
        };
        let mut f = encoder.encode_descriptor(
            "mon_app_sessions_active",
            "User sessions in progress",
            None,
            MetricType::Gauge,
        )?;
        f.encode_gauge(&(active as i64))?;
        let f = encoder.encode_descriptor(
            "mon_app_sessions_started",
            "User sessions started",
            None,
            MetricType::Counter,
        )?;
        counter_u64(&mut { f }, started)?;
        let mut f = encoder.encode_descriptor(
            "mon_app_sessions_ended",
            "User sessions ended, by outcome (completed, abandoned, transferred, failed)",
            None,
            MetricType::Counter,
        )?;
        for outcome in SessionOutcome::ALL {
            counter_u64(
                &mut f.encode_family(&[("outcome", LabelValue(outcome.as_str()))])?,
                outcomes[outcome as usize],
            )?;
        }
        for (name, help, satisfied) in [
            (
                "mon_app_feedback",
                "User feedback received, by category",
                false,
            ),
            (
                "mon_app_feedback_satisfied",
                "User feedback that was satisfied (a rating of 4 or 5, or a thumbs up), by category",
                true,
            ),
        ] {
            let mut f = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (category, total, happy) in &categories {
                let n = if satisfied { *happy } else { *total };
                counter_u64(
                    &mut f.encode_family(&[("category", LabelValue(category.as_str()))])?,
                    n,
                )?;
            }
        }
        let mut f = encoder.encode_descriptor(
            "mon_app_feature_uses",
            "Uses of the agent's features, by feature",
            None,
            MetricType::Counter,
        )?;
        for (feature, total, _) in &features {
            counter_u64(
                &mut f.encode_family(&[("feature", LabelValue(feature.as_str()))])?,
                *total,
            )?;
        }
        Ok(())
    }
}

impl Recorder {
    /// Records an ingested [`SessionEvent`], at its own timestamp when it has one.
    pub fn record_session(&self, e: &SessionEvent) {
        let inner = &self.inner;
        inner
            .experience
            .session(&inner.options, system_time(e.timestamp), e);
    }

    /// Records an ingested [`FeedbackEvent`], at its own timestamp when it has one.
    pub fn record_feedback(&self, e: &FeedbackEvent) {
        let inner = &self.inner;
        inner
            .experience
            .feedback(&inner.options, system_time(e.timestamp), e);
    }

    /// Records an ingested [`FeatureEvent`], at its own timestamp when it has one.
    pub fn record_feature(&self, e: &FeatureEvent) {
        let inner = &self.inner;
        inner
            .experience
            .feature(&inner.options, system_time(e.timestamp), e);
    }

    /// A user session began.
    pub fn session_started(&self, session_id: &str, user_id: Option<&str>) {
        self.record_session(&SessionEvent {
            session_id: session_id.to_owned(),
            phase: SessionPhase::Start,
            user_id: user_id.map(str::to_owned),
            turns: None,
            outcome: None,
            duration_seconds: None,
            timestamp: None,
            experiment: None,
            variant: None,
        });
    }

    /// A user session ended with `outcome` after `turns` turns (its duration is the time
    /// since [`Recorder::session_started`]).
    pub fn session_ended(&self, session_id: &str, outcome: SessionOutcome, turns: Option<u32>) {
        self.record_session(&SessionEvent {
            session_id: session_id.to_owned(),
            phase: SessionPhase::End,
            user_id: None,
            turns,
            outcome: Some(outcome),
            duration_seconds: None,
            timestamp: None,
            experiment: None,
            variant: None,
        });
    }

    /// A feature was used, for `duration` when it has one.
    pub fn feature_used(
        &self,
        feature: &str,
        session_id: Option<&str>,
        duration: Option<std::time::Duration>,
    ) {
        self.record_feature(&FeatureEvent {
            feature: feature.to_owned(),
            user_id: None,
            session_id: session_id.map(str::to_owned),
            duration_seconds: duration.map(|d| d.as_secs_f64()),
            timestamp: None,
            experiment: None,
            variant: None,
        });
    }

    /// The per-name figures of `window`: feedback per category, feature use, ratings
    /// per MOS and latency band.
    pub fn experience_breakdown(&self, window: Window) -> ExperienceBreakdown {
        self.inner.experience.breakdown(window)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Recorder, Window, encode_prometheus_text};
    use mon_core::Event;
    use serde_json::json;

    fn record(rec: &Recorder, events: &[serde_json::Value]) {
        for e in events {
            let event = Event::from_json(e.clone()).expect("decodes");
            event.validate(256).expect("valid");
            rec.record(&event).expect("recorded");
        }
    }

    #[test]
    fn sessions_feedback_and_features_become_variables_series_and_families() {
        let rec = Recorder::default();
        record(
            &rec,
            &[
                json!({"type":"session","session_id":"s1","phase":"start"}),
                json!({"type":"session","session_id":"s2","phase":"start"}),
                json!({"type":"session","session_id":"s3","phase":"start"}),
                json!({"type":"session","session_id":"s1","phase":"end","outcome":"completed","turns":6,"duration_seconds":60.0}),
                json!({"type":"session","session_id":"s2","phase":"end","outcome":"abandoned","turns":2,"duration_seconds":20.0}),
                // Voice quality of s1 (good) and s2 (bad), then their ratings.
                json!({"type":"voice_quality","conversation_id":"s1","latency_ms":150.0,"packet_loss":0.0,"jitter_ms":2.0,"mos":4.4,"audio_level":0.7,"noise_level":0.1}),
                json!({"type":"voice_quality","conversation_id":"s2","latency_ms":1200.0,"packet_loss":0.1,"jitter_ms":40.0,"mos":2.8,"audio_level":0.5,"noise_level":0.3}),
                json!({"type":"feedback","rating":5,"category":"voice_quality","session_id":"s1"}),
                json!({"type":"feedback","rating":2,"category":"voice_quality","session_id":"s2","comment":"robotic"}),
                json!({"type":"feedback","thumbs":"up","category":"answer"}),
                json!({"type":"feedback","rating":4}),
                json!({"type":"feature","feature":"voice_command","duration_seconds":5.0}),
                json!({"type":"feature","feature":"voice_command"}),
                json!({"type":"feature","feature":"transfer"}),
            ],
        );
        let v = rec.snapshot_values();
        assert_eq!(v["active_sessions"], 1.0);
        assert_eq!(v["total_sessions"], 3.0);
        assert_eq!(v["avg_session_duration_seconds"], 40.0);
        assert_eq!(v["avg_session_turns"], 4.0);
        assert_eq!(v["session_abandonment_rate"], 0.5);
        assert_eq!(v["avg_rating"], 11.0 / 3.0);
        assert_eq!(v["csat_percent"], 75.0);
        assert!((v["avg_audio_level"] - 0.6).abs() < 1e-9, "{v:?}");
        assert!((v["avg_noise_level"] - 0.2).abs() < 1e-9, "{v:?}");
        assert!(v["feature_uses_per_minute"] > 0.0);

        let x = rec.experience_breakdown(Window::FiveMinutes);
        assert_eq!(x.features["voice_command"].count, 2);
        assert_eq!(x.features["transfer"].count, 1);
        assert_eq!(x.feedback_by_category["voice_quality"].count, 2);
        assert_eq!(x.feedback_by_category["answer"].success_percent, 100.0);
        assert_eq!(x.feedback_by_category["none"].count, 1);
        assert_eq!(x.rating_by_mos_band["4.3-5.0"].avg, Some(5.0));
        assert_eq!(x.rating_by_mos_band["1.0-3.1"].avg, Some(2.0));
        assert_eq!(x.rating_by_latency_band["0-200ms"].avg, Some(5.0));
        assert_eq!(x.rating_by_latency_band["1000-2000ms"].avg, Some(2.0));
        // Feedback without a session, or about one without voice quality, is in no band.
        let banded: u64 = x.rating_by_mos_band.values().map(|s| s.count).sum();
        assert_eq!(banded, 2);

        let samples = crate::recorder_samples(&rec, chrono::Utc::now());
        let sample = |name: &str, label: &str, value: &str| {
            samples
                .iter()
                .find(|s| s.name == name && s.labels.get(label).map(String::as_str) == Some(value))
                .map(|s| s.value)
        };
        assert_eq!(
            sample("avg_rating_by_mos_band", "mos_band", "1.0-3.1"),
            Some(2.0)
        );
        assert_eq!(
            sample("category_csat_percent", "category", "voice_quality"),
            Some(50.0)
        );
        assert!(sample("feature_uses_per_min", "feature", "transfer").is_some());

        let mut registry = prometheus_client::registry::Registry::default();
        rec.register(&mut registry);
        let text = encode_prometheus_text(&registry).expect("encodes");
        for line in [
            "mon_app_sessions_active 1",
            "mon_app_sessions_started_total 3",
            "mon_app_sessions_ended_total{outcome=\"abandoned\"} 1",
            "mon_app_sessions_ended_total{outcome=\"transferred\"} 0",
            "mon_app_feedback_total{category=\"voice_quality\"} 2",
            "mon_app_feedback_satisfied_total{category=\"voice_quality\"} 1",
            "mon_app_feature_uses_total{feature=\"voice_command\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn a_session_end_without_a_duration_takes_the_time_since_its_start() {
        let rec = Recorder::default();
        let start = chrono::Utc::now() - chrono::Duration::seconds(30);
        record(
            &rec,
            &[
                json!({"type":"session","session_id":"s","phase":"start","timestamp":start}),
                json!({"type":"session","session_id":"s","phase":"end","outcome":"transferred"}),
                // An end never started still counts as ended, without a duration.
                json!({"type":"session","session_id":"t","phase":"end","outcome":"failed"}),
            ],
        );
        let v = rec.snapshot_values();
        let d = v["avg_session_duration_seconds"];
        assert!((29.0..40.0).contains(&d), "{d}");
        assert_eq!(v["session_abandonment_rate"], 0.0);
        assert_eq!(v["active_sessions"], 0.0);
    }

    #[test]
    fn names_beyond_the_series_limit_fold_into_other() {
        let rec = Recorder::new(crate::RecorderOptions {
            max_series: 2,
            ..Default::default()
        });
        for f in ["a", "b", "c", "d"] {
            rec.feature_used(f, None, None);
        }
        let x = rec.experience_breakdown(Window::OneMinute);
        let names: Vec<&str> = x.features.keys().map(String::as_str).collect();
        assert_eq!(names, ["a", "b", "other"]);
        assert_eq!(x.features["other"].count, 2);
    }
}
