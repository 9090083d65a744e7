//! Sample clock arithmetic: the audio sample counter is the master clock, and every other
//! notion of time (seconds, beats, bars, video frames, SMPTE timecode) is derived from it here.

pub mod ltc;
pub mod timecode;

/// Converts a time in seconds to the nearest sample index at `sample_rate_hz`.
/// Negative times clamp to sample 0 (nothing can happen before the show starts).
pub fn seconds_to_samples(time_s: f64, sample_rate_hz: u32) -> u64 {
    if time_s <= 0.0 || !time_s.is_finite() {
        return 0;
    }
    (time_s * f64::from(sample_rate_hz)).round() as u64
}

/// Converts a sample index to seconds.
pub fn samples_to_seconds(samples: u64, sample_rate_hz: u32) -> f64 {
    samples as f64 / f64::from(sample_rate_hz)
}

/// Most tempo changes one performance may have.
pub const MAX_TEMPO_CHANGES: usize = 256;

/// One stretch of constant tempo.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TempoSegment {
    pub start_s: f64,
    /// Beats elapsed when the segment starts.
    pub start_beat: f64,
    pub bpm: f64,
}

/// Where a moment falls in the music: what shaders get as `beat`, `bar` and `tempo_bpm`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Musical {
    pub beat: f64,
    pub bar: f64,
    pub bpm: f64,
}

/// A tempo map: the metre and every tempo change, each at a beat. Beats, bars and musical
/// positions convert to seconds through it.
#[derive(Clone, Debug, PartialEq)]
pub struct Tempo {
    pub beats_per_bar: u32,
    /// Sorted; the first starts at 0 s.
    segments: Vec<TempoSegment>,
}

impl Default for Tempo {
    fn default() -> Self {
        Self::constant(120.0, 4)
    }
}

impl Tempo {
    pub fn constant(bpm: f64, beats_per_bar: u32) -> Self {
        Self {
            beats_per_bar: beats_per_bar.max(1),
            segments: vec![TempoSegment {
                start_s: 0.0,
                start_beat: 0.0,
                bpm,
            }],
        }
    }

    /// Changes the tempo to `bpm` from `beat` on. Changes must come in order; one at or
    /// before the last change's beat replaces what follows it.
    pub fn change_at_beat(&mut self, beat: f64, bpm: f64) {
        let beat = beat.max(0.0);
        self.segments
            .retain(|s| s.start_beat < beat || s.start_beat == 0.0 && beat == 0.0);
        if beat == 0.0 {
            self.segments = vec![TempoSegment {
                start_s: 0.0,
                start_beat: 0.0,
                bpm,
            }];
            return;
        }
        let start_s = self.time_at_beat(beat);
        if self.segments.len() < MAX_TEMPO_CHANGES {
            self.segments.push(TempoSegment {
                start_s,
                start_beat: beat,
                bpm,
            });
        }
    }

    pub fn segments(&self) -> &[TempoSegment] {
        &self.segments
    }

    fn segment_at_time(&self, time_s: f64) -> &TempoSegment {
        let i = self.segments.partition_point(|s| s.start_s <= time_s);
        &self.segments[i.saturating_sub(1)]
    }

    /// Beat, bar and tempo at `time_s`.
    pub fn musical_at(&self, time_s: f64) -> Musical {
        Musical {
            beat: self.beats_at(time_s),
            bar: self.bars_at(time_s),
            bpm: self.bpm_at(time_s),
        }
    }

    /// The tempo at `time_s`.
    pub fn bpm_at(&self, time_s: f64) -> f64 {
        self.segment_at_time(time_s).bpm
    }

    /// Beats elapsed (fractional) at `time_s`.
    pub fn beats_at(&self, time_s: f64) -> f64 {
        let s = self.segment_at_time(time_s);
        s.start_beat + (time_s - s.start_s) * s.bpm / 60.0
    }

    /// Bars elapsed (fractional) at `time_s`.
    pub fn bars_at(&self, time_s: f64) -> f64 {
        self.beats_at(time_s) / f64::from(self.beats_per_bar.max(1))
    }

    /// When `beat` (beats elapsed, fractional) falls.
    pub fn time_at_beat(&self, beat: f64) -> f64 {
        let i = self.segments.partition_point(|s| s.start_beat <= beat);
        let s = &self.segments[i.saturating_sub(1)];
        s.start_s + (beat - s.start_beat) * 60.0 / s.bpm
    }

    /// When bar `bar`, beat `beat` falls (both counted from 1, as musicians do; the beat may
    /// be fractional).
    pub fn time_at_bar_beat(&self, bar: f64, beat: f64) -> f64 {
        let beats = (bar - 1.0) * f64::from(self.beats_per_bar.max(1)) + (beat - 1.0);
        self.time_at_beat(beats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_trip_through_samples() {
        let s = seconds_to_samples(1.5, 48_000);
        assert_eq!(s, 72_000);
        assert_eq!(samples_to_seconds(s, 48_000), 1.5);
    }

    #[test]
    fn negative_and_nan_times_clamp_to_the_start() {
        assert_eq!(seconds_to_samples(-3.0, 48_000), 0);
        assert_eq!(seconds_to_samples(f64::NAN, 48_000), 0);
    }

    #[test]
    fn beats_and_bars_follow_the_tempo() {
        let t = Tempo::constant(90.0, 3);
        assert!((t.beats_at(2.0) - 3.0).abs() < 1e-12);
        assert!((t.bars_at(2.0) - 1.0).abs() < 1e-12);
        assert!((t.time_at_bar_beat(2.0, 1.0) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_tempo_change_bends_the_beat_grid_from_its_beat_on() {
        // 120 BPM for two bars of 4 (4 s), then 60 BPM.
        let mut t = Tempo::constant(120.0, 4);
        t.change_at_beat(8.0, 60.0);
        assert!((t.time_at_bar_beat(3.0, 1.0) - 4.0).abs() < 1e-12);
        assert!((t.time_at_bar_beat(3.0, 2.0) - 5.0).abs() < 1e-12);
        assert_eq!(t.bpm_at(3.9), 120.0);
        assert_eq!(t.bpm_at(4.0), 60.0);
        assert!((t.beats_at(6.0) - 10.0).abs() < 1e-12);
        for beat in [0.0, 3.3, 8.0, 11.25] {
            assert!((t.beats_at(t.time_at_beat(beat)) - beat).abs() < 1e-9);
        }
    }
}
