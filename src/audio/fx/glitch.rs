//! The Dream Nexus glitch: tape stop (varispeed slowdown), stutter (beat repeat of the last
//! fraction of a beat) and bitcrush (fewer bits, lower sample rate). Each is driven by a
//! smoothed parameter, and each fades in and out, so engaging one never clicks.

use super::Ring;

/// Controls for one frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct GlitchControls {
    /// 0 = clean; 1 = 3 bits at a sixteenth of the sample rate.
    pub crush: f32,
    /// 0 = off; above 0 the last 1/4, 1/8 or 1/16 beat repeats (rising values, shorter repeats).
    pub stutter: f32,
    /// 1 = normal speed; lower slows the whole mix like a stopping tape; 0 = stopped.
    pub tape_speed: f32,
    /// One beat at the current tempo, in samples.
    pub beat_samples: f32,
}

const STUTTER_EDGE: usize = 64;

/// Crossfade from `dry` to `wet` by `amount`; exact at both ends (0 gives `dry`, 1 `wet`).
#[inline]
fn mix(dry: f32, wet: f32, amount: f32) -> f32 {
    wet * amount + dry * (1.0 - amount)
}

#[derive(Clone, Debug)]
pub struct Glitch {
    history: Ring,
    tape_lag: f32,
    tape_wet: f32,
    fade_step: f32,
    loop_l: Vec<f32>,
    loop_r: Vec<f32>,
    loop_len: usize,
    loop_pos: usize,
    stutter_on: bool,
    stutter_wet: f32,
    hold: (f32, f32),
    hold_count: u32,
}

impl Glitch {
    /// Longest tape lag and stutter loop, in seconds.
    pub const MAX_S: f32 = 4.0;

    pub fn new(sample_rate_hz: u32) -> Self {
        let n = (Self::MAX_S * sample_rate_hz as f32) as usize;
        Self {
            history: Ring::new(n),
            tape_lag: 0.0,
            tape_wet: 0.0,
            fade_step: 1.0 / (0.005 * sample_rate_hz as f32),
            loop_l: vec![0.0; n],
            loop_r: vec![0.0; n],
            loop_len: 0,
            loop_pos: 0,
            stutter_on: false,
            stutter_wet: 0.0,
            hold: (0.0, 0.0),
            hold_count: 0,
        }
    }

    #[inline]
    pub fn process(&mut self, l: f32, r: f32, c: &GlitchControls) -> (f32, f32) {
        self.history.push(l, r);
        let (mut l, mut r) = (l, r);

        // Tape: the read head moves at `tape_speed` while the write head moves at 1.
        let speed = c.tape_speed.clamp(0.0, 1.0);
        if speed < 0.999 {
            self.tape_lag = (self.tape_lag + 1.0 - speed).min((self.history.len() - 4) as f32);
            self.tape_wet = (self.tape_wet + self.fade_step).min(1.0);
        } else {
            self.tape_wet = (self.tape_wet - self.fade_step).max(0.0);
            if self.tape_wet == 0.0 {
                self.tape_lag = 0.0;
            }
        }
        if self.tape_wet > 0.0 {
            let (tl, tr) = self.history.read(self.tape_lag);
            (l, r) = (mix(l, tl, self.tape_wet), mix(r, tr, self.tape_wet));
        }

        // Stutter: on engage, copy the last fraction of a beat and loop it.
        let want = c.stutter > 0.0;
        if want && !self.stutter_on {
            let division = if c.stutter <= 0.34 {
                0.25
            } else if c.stutter <= 0.67 {
                0.125
            } else {
                0.0625
            };
            let len =
                ((c.beat_samples * division) as usize).clamp(2 * STUTTER_EDGE, self.loop_l.len());
            for i in 0..len {
                let (a, b) = self.history.read((len - 1 - i) as f32);
                self.loop_l[i] = a;
                self.loop_r[i] = b;
            }
            self.loop_len = len;
            self.loop_pos = 0;
            self.stutter_on = true;
        } else if !want && self.stutter_on && self.stutter_wet == 0.0 {
            self.stutter_on = false;
        }
        self.stutter_wet = if want {
            (self.stutter_wet + self.fade_step).min(1.0)
        } else {
            (self.stutter_wet - self.fade_step).max(0.0)
        };
        if self.stutter_on && self.stutter_wet > 0.0 {
            let p = self.loop_pos;
            // Short fades at each repeat's ends so the loop seam does not click.
            let edge = (p.min(self.loop_len - 1 - p) as f32 / STUTTER_EDGE as f32).min(1.0);
            let (sl, sr) = (self.loop_l[p] * edge, self.loop_r[p] * edge);
            (l, r) = (mix(l, sl, self.stutter_wet), mix(r, sr, self.stutter_wet));
            self.loop_pos = (p + 1) % self.loop_len;
        }

        // Bitcrush: sample-and-hold, then quantise.
        let crush = c.crush.clamp(0.0, 1.0);
        if crush > 0.0 {
            let hold_n = 1 + (crush * crush * 15.0) as u32;
            if self.hold_count == 0 {
                self.hold = (l, r);
            }
            self.hold_count = (self.hold_count + 1) % hold_n;
            let steps = 2f32.powf(16.0 - 13.0 * crush);
            let q = |x: f32| (x * steps).round() / steps;
            let (cl, cr) = (q(self.hold.0), q(self.hold.1));
            // Blend in over the first tenth of the range so switching on is not a jump.
            let wet = (crush * 10.0).min(1.0);
            (l, r) = (mix(l, cl, wet), mix(r, cr, wet));
        } else {
            self.hold_count = 0;
        }
        (l, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(i: usize) -> f32 {
        (i as f32 * 2.0 * std::f32::consts::PI * 220.0 / 48_000.0).sin() * 0.5
    }

    #[test]
    fn neutral_controls_pass_the_signal_through() {
        let mut g = Glitch::new(48_000);
        let c = GlitchControls {
            tape_speed: 1.0,
            beat_samples: 24_000.0,
            ..Default::default()
        };
        for i in 0..10_000 {
            let x = sine(i);
            assert_eq!(g.process(x, -x, &c), (x, -x));
        }
    }

    #[test]
    fn a_stopped_tape_falls_silent_behind_the_input() {
        let mut g = Glitch::new(48_000);
        let mut c = GlitchControls {
            tape_speed: 1.0,
            beat_samples: 24_000.0,
            ..Default::default()
        };
        for i in 0..48_000 {
            // Speed falls linearly from 1 to 0 over the first half second, then stays stopped.
            c.tape_speed = (1.0 - i as f32 / 24_000.0).max(0.0);
            let (l, _) = g.process(sine(i), 0.0, &c);
            if i > 40_000 {
                // A stopped tape holds one sample: the output is constant (DC), not the sine.
                let (l2, _) = g.process(sine(i + 1), 0.0, &c);
                assert!((l - l2).abs() < 1e-6);
                break;
            }
        }
    }

    #[test]
    fn stutter_repeats_the_last_slice_of_a_beat() {
        let mut g = Glitch::new(48_000);
        let mut c = GlitchControls {
            tape_speed: 1.0,
            beat_samples: 4_000.0,
            ..Default::default()
        };
        for i in 0..8_000 {
            g.process(i as f32 / 8_000.0, 0.0, &c);
        }
        c.stutter = 0.2; // quarter beat = 1000 samples
        let out: Vec<f32> = (0..4_000)
            .map(|i| g.process(1.0 + i as f32, 0.0, &c).0)
            .collect();
        // After the fade-in, the output repeats with a period of 1000 samples.
        for i in 1_500..2_500 {
            assert!((out[i] - out[i + 1_000]).abs() < 1e-6, "sample {i}");
        }
        assert!(
            out[2_000] < 1.0,
            "it should replay the captured ramp, not the new input"
        );
    }

    #[test]
    fn full_crush_leaves_few_distinct_levels() {
        let mut g = Glitch::new(48_000);
        let c = GlitchControls {
            crush: 1.0,
            tape_speed: 1.0,
            beat_samples: 24_000.0,
            ..Default::default()
        };
        let mut levels: Vec<i32> = (0..4_800)
            .map(|i| (g.process(sine(i), 0.0, &c).0 * 1e4) as i32)
            .collect();
        levels.sort_unstable();
        levels.dedup();
        assert!(levels.len() <= 9, "{} levels", levels.len());
    }
}
