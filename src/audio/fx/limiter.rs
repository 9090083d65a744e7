//! The hearing-safety limiter, last on the master bus and on unless explicitly disabled.
//!
//! - True peak: inter-sample peaks are estimated at 4× oversampling with an 8-tap
//!   Lanczos (windowed-sinc) interpolator, as ITU-R BS.1770 meters do, so the reconstructed
//!   waveform stays under the ceiling too, not just the samples.
//! - Lookahead: the signal is delayed `LOOKAHEAD` samples; the gain needed for each peak is
//!   held (sliding minimum) and box-averaged over the same window, so the gain glides down to
//!   exactly what the peak needs by the time it comes out: no overshoot, no attack click.
//! - Release: exponential. A final clamp at the ceiling catches anything the estimate missed.

/// Converts decibels to a linear amplitude factor.
pub fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

/// Window length, samples (about 1.3 ms at 48 kHz).
pub const LOOKAHEAD: usize = 64;
/// Taps of the true-peak interpolator; it looks at the point between taps 3 and 4.
const TAPS: usize = 8;
/// The interpolated point trails the newest input by this many samples.
const TP_LAG: usize = TAPS / 2;
/// Audio delay: the gain for a peak is fully down `LOOKAHEAD - 1` samples after the peak is
/// seen, and the peak is seen `TP_LAG` samples after it arrives.
const DELAY: usize = LOOKAHEAD - 1 + TP_LAG;

#[derive(Clone, Copy, Debug)]
pub struct Limiter {
    ceiling: f32,
    enabled: bool,
    release_coef: f32,
    gain: f32,
    /// The last `TAPS` input samples per channel, oldest first, for the interpolator.
    hist: [[f32; TAPS]; 2],
    /// Interpolation weights for the points 1/4, 1/2 and 3/4 between taps 3 and 4.
    weights: [[f32; TAPS]; 3],
    delay: [[f32; 2]; DELAY],
    dpos: usize,
    need: [f32; LOOKAHEAD],
    held: [f32; LOOKAHEAD],
    held_sum: f32,
    pos: usize,
}

impl Limiter {
    /// Default ceiling, in dBFS (true peak).
    pub const DEFAULT_CEILING_DB: f32 = crate::bridge::patch::DEFAULT_LIMITER_CEILING_DB;

    pub fn new(ceiling_db: f32, release_s: f32, sample_rate_hz: u32) -> Self {
        Self {
            ceiling: db_to_gain(ceiling_db),
            enabled: true,
            release_coef: (-1.0 / (release_s.max(1e-3) * sample_rate_hz as f32)).exp(),
            gain: 1.0,
            hist: [[0.0; TAPS]; 2],
            weights: lanczos_weights(),
            delay: [[0.0; 2]; DELAY],
            dpos: 0,
            need: [1.0; LOOKAHEAD],
            held: [1.0; LOOKAHEAD],
            held_sum: LOOKAHEAD as f32,
            pos: 0,
        }
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    pub fn ceiling(&self) -> f32 {
        self.ceiling
    }

    /// Samples by which the output trails the input.
    pub fn latency_samples(&self) -> usize {
        DELAY
    }

    /// The largest absolute value of the signal reconstructed around the middle of `h`: the
    /// sample itself and the three quarter-sample points after it.
    #[inline]
    fn true_peak(&self, h: &[f32; TAPS]) -> f32 {
        let mut peak = h[TP_LAG - 1].abs().max(h[TP_LAG].abs());
        for w in &self.weights {
            let v: f32 = w.iter().zip(h).map(|(a, b)| a * b).sum();
            peak = peak.max(v.abs());
        }
        peak
    }

    #[inline]
    pub fn process(&mut self, l: &mut f32, r: &mut f32) {
        // The delay runs even when disabled, so switching never shifts the timing.
        for (h, x) in self.hist.iter_mut().zip([*l, *r]) {
            h.rotate_left(1);
            h[TAPS - 1] = x;
        }
        let out = self.delay[self.dpos];
        self.delay[self.dpos] = [*l, *r];
        self.dpos = (self.dpos + 1) % DELAY;
        if !self.enabled {
            (*l, *r) = (out[0], out[1]);
            return;
        }
        let peak = self
            .true_peak(&self.hist[0])
            .max(self.true_peak(&self.hist[1]));
        self.need[self.pos] = if peak > self.ceiling {
            self.ceiling / peak
        } else {
            1.0
        };
        let min = self.need.iter().copied().fold(1.0, f32::min);
        self.held_sum += min - self.held[self.pos];
        self.held[self.pos] = min;
        self.pos = (self.pos + 1) % LOOKAHEAD;
        let target = (self.held_sum / LOOKAHEAD as f32).min(1.0);
        self.gain = if target < self.gain {
            target
        } else {
            target + (self.gain - target) * self.release_coef
        };
        *l = (out[0] * self.gain).clamp(-self.ceiling, self.ceiling);
        *r = (out[1] * self.gain).clamp(-self.ceiling, self.ceiling);
    }
}

/// Lanczos (a = 4) weights for the points 1/4, 1/2 and 3/4 of the way from tap 3 to tap 4,
/// normalised to unity gain at DC.
fn lanczos_weights() -> [[f32; TAPS]; 3] {
    let sinc = |x: f64| {
        if x.abs() < 1e-9 {
            1.0
        } else {
            (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
        }
    };
    let a = (TAPS / 2) as f64;
    let mut w = [[0.0f32; TAPS]; 3];
    for (q, row) in w.iter_mut().enumerate() {
        let point = (TP_LAG - 1) as f64 + 0.25 * (q + 1) as f64;
        let raw: Vec<f64> = (0..TAPS)
            .map(|k| {
                let x = k as f64 - point;
                if x.abs() < a {
                    sinc(x) * sinc(x / a)
                } else {
                    0.0
                }
            })
            .collect();
        let sum: f64 = raw.iter().sum();
        for (dst, v) in row.iter_mut().zip(raw) {
            *dst = (v / sum) as f32;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples at the ceiling itself: a final clamp leaves them in flat runs, gain reduction
    /// does not (it scales the crest down to the ceiling, and the samples beside a crest are
    /// lower).
    fn longest_run_at_the_ceiling(out: &[f32], ceiling: f32) -> usize {
        let (mut run, mut longest) = (0, 0);
        for s in out {
            run = if s.abs() >= ceiling * (1.0 - 1e-6) {
                run + 1
            } else {
                0
            };
            longest = longest.max(run);
        }
        longest
    }

    #[test]
    fn a_loud_sine_is_turned_down_to_the_ceiling_not_clipped_or_muted() {
        let mut lim = Limiter::new(-1.0, 0.05, 48_000);
        let c = lim.ceiling();
        let mut out = Vec::new();
        for i in 0..48_000 {
            let x = 4.0 * (i as f32 * 0.05).sin();
            let (mut l, mut r) = (x, -x);
            lim.process(&mut l, &mut r);
            assert!(
                l.abs() <= c + 1e-6 && r.abs() <= c + 1e-6,
                "sample {i}: {l}, {r} over {c}"
            );
            out.push(l);
        }
        // Settled (after the first 100 ms): limited, not muted...
        let settled = &out[4_800..];
        let peak = settled.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak >= 0.9 * c, "peak {peak} under 0.9 x the ceiling {c}");
        // ...and by gain, not by the clamp: no flat tops.
        let run = longest_run_at_the_ceiling(settled, c);
        assert!(run < 2, "{run} samples in a row pinned at the ceiling");
    }

    #[test]
    fn quiet_signals_pass_untouched_but_delayed() {
        let mut lim = Limiter::new(-1.0, 0.05, 48_000);
        let input: Vec<f32> = (0..1_000).map(|i| 0.3 * (i as f32 * 0.01).sin()).collect();
        let out: Vec<f32> = input
            .iter()
            .map(|x| {
                let (mut l, mut r) = (*x, *x);
                lim.process(&mut l, &mut r);
                l
            })
            .collect();
        let d = lim.latency_samples();
        for i in d..1_000 {
            assert!((out[i] - input[i - d]).abs() < 1e-6);
        }
    }

    #[test]
    fn inter_sample_peaks_are_kept_under_the_ceiling() {
        // A quarter-sample-rate sine phased so every sample misses the crest by 45°: the
        // samples read 0.707 of the true amplitude. Sample-peak limiting would let it through.
        let amp = 1.2;
        let mut lim = Limiter::new(-1.0, 0.05, 48_000);
        let mut out = Vec::new();
        for i in 0..4_800 {
            let x =
                amp * (std::f32::consts::FRAC_PI_2 * i as f32 + std::f32::consts::FRAC_PI_4).sin();
            let (mut l, mut r) = (x, x);
            lim.process(&mut l, &mut r);
            out.push(l);
        }
        // The reconstructed amplitude of the output: its samples times sqrt(2).
        let sample_peak = out[1_000..].iter().fold(0.0f32, |m, s| m.max(s.abs()));
        let true_peak = sample_peak * std::f32::consts::SQRT_2;
        let c = lim.ceiling();
        assert!(
            true_peak <= c * 1.02,
            "true peak {true_peak} over ceiling {c}"
        );
        // Turned down to the ceiling, not further (silence would pass the line above).
        assert!(
            true_peak >= 0.9 * c,
            "true peak {true_peak} under 0.9 x the ceiling {c}"
        );
    }

    #[test]
    fn the_gain_glides_down_before_a_sudden_peak_comes_out() {
        let mut lim = Limiter::new(-1.0, 0.05, 48_000);
        let out: Vec<f32> = (0..2_000)
            .map(|i| {
                let x = if i >= 1_000 { 3.0 } else { 0.1 };
                let (mut l, mut r) = (x, x);
                lim.process(&mut l, &mut r);
                l
            })
            .collect();
        let first_loud = 1_000 + lim.latency_samples();
        // Lookahead: the quiet samples just before the peak are already turned down...
        assert!(out[first_loud - 1] < 0.1 * 0.9, "{}", out[first_loud - 1]);
        // ...and the peak comes out under the ceiling by gain alone, not by the final clamp.
        // (A hard step's reconstruction overshoots, so true-peak detection asks for a little
        // more reduction than the sample value alone: about 10% here.)
        let c = lim.ceiling();
        assert!(
            (0.85 * c..c).contains(&out[first_loud]),
            "{} vs ceiling {c}",
            out[first_loud]
        );
    }
}
