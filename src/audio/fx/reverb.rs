//! An 8-line feedback delay network reverb (Jot's design): mutually prime delay lengths, a
//! Householder feedback matrix (lossless mixing, maximal diffusion), per-line gains set from
//! the wanted RT60, and a one-pole low-pass in each line so highs die first, as in real rooms.

const LINES: usize = 8;
/// Line lengths in milliseconds at scale 1: mutually prime in samples at 48 kHz.
const LENGTHS_MS: [f32; LINES] = [29.7, 37.1, 41.1, 43.7, 53.9, 59.3, 67.1, 73.3];

#[derive(Clone, Debug)]
pub struct Reverb {
    lines: [Vec<f32>; LINES],
    pos: [usize; LINES],
    lp: [f32; LINES],
    lengths: [usize; LINES],
    sample_rate_hz: f32,
    decay_s: f32,
    gains: [f32; LINES],
}

impl Reverb {
    pub fn new(sample_rate_hz: u32) -> Self {
        let sr = sample_rate_hz as f32;
        let lengths = LENGTHS_MS.map(|ms| ((ms * 0.001 * sr) as usize) | 1);
        let mut r = Self {
            lines: lengths.map(|n| vec![0.0; n]),
            pos: [0; LINES],
            lp: [0.0; LINES],
            lengths,
            sample_rate_hz: sr,
            decay_s: 0.0,
            gains: [0.0; LINES],
        };
        r.set_decay(2.5);
        r
    }

    /// Sets the RT60 (time to fall by 60 dB). Cheap when unchanged.
    pub fn set_decay(&mut self, decay_s: f32) {
        let decay_s = decay_s.clamp(0.1, 30.0);
        if (decay_s - self.decay_s).abs() < 1e-4 {
            return;
        }
        self.decay_s = decay_s;
        for i in 0..LINES {
            let len_s = self.lengths[i] as f32 / self.sample_rate_hz;
            self.gains[i] = 10f32.powf(-3.0 * len_s / decay_s);
        }
    }

    /// One frame in, the wet signal out (mix it yourself).
    // The lines, filters and positions are parallel arrays: indexing reads clearest here.
    #[allow(clippy::needless_range_loop)]
    #[inline]
    pub fn process(&mut self, l: f32, r: f32, damping: f32) -> (f32, f32) {
        let mut out = [0.0f32; LINES];
        for i in 0..LINES {
            let s = self.lines[i][self.pos[i]];
            self.lp[i] += (s - self.lp[i]) * (1.0 - damping.clamp(0.0, 0.95));
            out[i] = self.lp[i] * self.gains[i];
        }
        // Householder reflection: y = x - (2/N) * sum(x). Energy-preserving and dense.
        let sum: f32 = out.iter().sum::<f32>() * (2.0 / LINES as f32);
        for i in 0..LINES {
            let input = if i % 2 == 0 { l } else { r };
            self.lines[i][self.pos[i]] = out[i] - sum + input * 0.35;
            self.pos[i] += 1;
            if self.pos[i] == self.lengths[i] {
                self.pos[i] = 0;
            }
        }
        let wl = out[0] + out[2] + out[4] + out[6];
        let wr = out[1] + out[3] + out[5] + out[7];
        (wl * 0.5, wr * 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Level of the reverb's tail (RMS over 10 ms) `after_s` after an impulse.
    fn tail_level(decay_s: f32, after_s: f32) -> f32 {
        let mut rv = Reverb::new(48_000);
        rv.set_decay(decay_s);
        let n = (after_s * 48_000.0) as usize;
        let mut sum = 0.0;
        for i in 0..n + 480 {
            let x = if i == 0 { 1.0 } else { 0.0 };
            let (l, r) = rv.process(x, x, 0.0);
            if i >= n {
                sum += l * l + r * r;
            }
        }
        (sum / 960.0).sqrt()
    }

    #[test]
    fn the_tail_decays_by_about_60_db_over_the_decay_time() {
        let early = tail_level(1.0, 0.2);
        let late = tail_level(1.0, 1.2);
        let drop_db = 20.0 * (early / late).log10();
        assert!(
            (45.0..75.0).contains(&drop_db),
            "fell {drop_db:.1} dB in 1 s"
        );
    }

    #[test]
    fn a_longer_decay_keeps_more_tail() {
        assert!(tail_level(4.0, 1.0) > 5.0 * tail_level(0.5, 1.0));
    }
}
