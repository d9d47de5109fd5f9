//! Voice quality: rolling windows of MOS, latency, packet loss and jitter, their rule
//! variables (`avg_mos`...) and the `mon_app_voice_*` families.

use super::{Histo, Recorder, lock, system_time};
use crate::report::{Published, WindowReport, counter_u64, histogram};
use crate::vars;
use crate::window::{Ring, Window, current_slot, slot_of};
use mon_core::VoiceQualityEvent;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use std::sync::Mutex;
use std::time::SystemTime;

/// Upper bounds of the MOS histogram.
const MOS_BUCKETS: &[f64] = &[1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0];

#[derive(Debug, Default)]
struct VoiceState {
    mos: Ring,
    latency_ms: Ring,
    packet_loss: Ring,
    jitter_ms: Ring,
    audio_level: Ring,
    noise_level: Ring,
    mos_histo: Option<Histo>,
    samples_total: u64,
}

/// One voice quality measurement as the recorder takes it.
struct Measurement {
    latency_ms: f64,
    packet_loss: f64,
    jitter_ms: f64,
    mos: f64,
    audio_level: Option<f64>,
    noise_level: Option<f64>,
}

/// The voice quality state, behind one lock (one event per turn).
#[derive(Debug, Default)]
pub(crate) struct Voice(Mutex<VoiceState>);

impl Voice {
    fn record(&self, at: SystemTime, m: &Measurement) {
        let (now, slot) = (current_slot(), slot_of(at));
        let mut guard = lock(&self.0);
        let v = &mut *guard;
        v.mos.record(slot, now, m.mos, false);
        v.latency_ms.record(slot, now, m.latency_ms, false);
        v.packet_loss.record(slot, now, m.packet_loss, false);
        v.jitter_ms.record(slot, now, m.jitter_ms, false);
        for (ring, level) in [
            (&mut v.audio_level, m.audio_level),
            (&mut v.noise_level, m.noise_level),
        ] {
            if let Some(level) = level {
                ring.record(slot, now, level, false);
            }
        }
        v.mos_histo
            .get_or_insert_with(|| Histo::new(MOS_BUCKETS))
            .observe(m.mos);
        v.samples_total += 1;
    }

    /// Fills the voice statistics of `window` into `w`.
    pub(crate) fn window(&self, now: u64, window: Window, w: &mut WindowReport) {
        let voice = lock(&self.0);
        w.mos = voice.mos.stats(now, window);
        w.voice_latency_ms = voice.latency_ms.stats(now, window);
        w.packet_loss = voice.packet_loss.stats(now, window);
        w.jitter_ms = voice.jitter_ms.stats(now, window);
        w.audio_level = voice.audio_level.stats(now, window);
        w.noise_level = voice.noise_level.stats(now, window);
    }

    /// The voice variables of `w`.
    pub(crate) fn publish(&self, w: &WindowReport, out: &mut Published) {
        out.put(vars::AVG_MOS, w.mos.avg);
        out.put(vars::AVG_VOICE_LATENCY_MS, w.voice_latency_ms.avg);
        out.put(vars::AVG_PACKET_LOSS, w.packet_loss.avg);
        out.put(vars::AVG_JITTER_MS, w.jitter_ms.avg);
        out.put(vars::AVG_AUDIO_LEVEL, w.audio_level.avg);
        out.put(vars::AVG_NOISE_LEVEL, w.noise_level.avg);
    }

    /// The `mon_app_voice_*` families.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        let (mos, voice_total) = {
            let v = lock(&self.0);
            (v.mos_histo.clone(), v.samples_total)
        };
        let f = encoder.encode_descriptor(
            "mon_app_voice_quality_samples",
            "Voice quality measurements recorded",
            None,
            MetricType::Counter,
        )?;
        counter_u64(&mut { f }, voice_total)?;
        if let Some(h) = &mos {
            let mut f = encoder.encode_descriptor(
                "mon_app_voice_mos",
                "Mean opinion score of voice quality measurements (1-5)",
                None,
                MetricType::Histogram,
            )?;
            histogram(&mut f, h)?;
        }
        Ok(())
    }
}

impl Recorder {
    /// Records the voice quality of a conversation turn.
    pub fn voice_quality(
        &self,
        _conversation_id: &str,
        latency_ms: f64,
        packet_loss: f64,
        jitter_ms: f64,
        mos: f64,
    ) {
        let m = Measurement {
            latency_ms,
            packet_loss,
            jitter_ms,
            mos,
            audio_level: None,
            noise_level: None,
        };
        self.inner.voice.record(SystemTime::now(), &m);
    }

    /// Records an ingested [`VoiceQualityEvent`], at its own timestamp when it has one.
    pub fn record_voice_quality(&self, e: &VoiceQualityEvent) {
        let m = Measurement {
            latency_ms: e.latency_ms,
            packet_loss: e.packet_loss,
            jitter_ms: e.jitter_ms,
            mos: e.mos,
            audio_level: e.audio_level,
            noise_level: e.noise_level,
        };
        let inner = &self.inner;
        inner.voice.record(system_time(e.timestamp), &m);
        inner
            .experience
            .quality(&inner.options, &e.conversation_id, e.mos, e.latency_ms);
    }
}
