//! Sample clock arithmetic: the audio sample counter is the master clock, and every other
//! notion of time (seconds, beats, bars, video frames) is derived from it here.

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

/// A constant tempo. Tempo maps (changes over time) arrive with the cue work; until then a
/// performance has one tempo and one metre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tempo {
    pub bpm: f64,
    pub beats_per_bar: u32,
}

impl Default for Tempo {
    fn default() -> Self {
        Self {
            bpm: 120.0,
            beats_per_bar: 4,
        }
    }
}

impl Tempo {
    /// Beats elapsed (fractional) at `time_s`.
    pub fn beats_at(&self, time_s: f64) -> f64 {
        time_s * self.bpm / 60.0
    }

    /// Bars elapsed (fractional) at `time_s`.
    pub fn bars_at(&self, time_s: f64) -> f64 {
        self.beats_at(time_s) / f64::from(self.beats_per_bar.max(1))
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
        let t = Tempo {
            bpm: 90.0,
            beats_per_bar: 3,
        };
        assert!((t.beats_at(2.0) - 3.0).abs() < 1e-12);
        assert!((t.bars_at(2.0) - 1.0).abs() < 1e-12);
    }
}
