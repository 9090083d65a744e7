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

/// Below this speed a tape's level follows its speed down to silence at 0, as a real tape's
/// playback does: a stopped tape is silent, not the one sample under the head held as a DC
/// offset.
const TAPE_SILENT_BELOW: f32 = 0.1;
/// A tape that has fallen the whole history behind the input has run out: over this much lag
/// (seconds) before that it fades to silence, rather than playing on from the oldest sample at
/// the input's speed.
const TAPE_RUN_OUT_S: f32 = 0.05;

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
    /// Lag over which a tape that has run out fades, samples.
    tape_run_out: f32,
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
            tape_run_out: TAPE_RUN_OUT_S * sample_rate_hz as f32,
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

        // Tape: the read head moves at `tape_speed` while the write head moves at 1. Held
        // stopped (or slow) long enough, the lag reaches the history's length: from there the
        // head could only move at the input's speed, so the tape has run out and is silent.
        let speed = c.tape_speed.clamp(0.0, 1.0);
        let max_lag = (self.history.len() - 4) as f32;
        if speed < 0.999 {
            self.tape_lag = (self.tape_lag + 1.0 - speed).min(max_lag);
            self.tape_wet = (self.tape_wet + self.fade_step).min(1.0);
        } else {
            self.tape_wet = (self.tape_wet - self.fade_step).max(0.0);
            if self.tape_wet == 0.0 {
                self.tape_lag = 0.0;
            }
        }
        if self.tape_wet > 0.0 {
            let (tl, tr) = self.history.read(self.tape_lag);
            let level = (speed / TAPE_SILENT_BELOW).min(1.0)
                * ((max_lag - self.tape_lag) / self.tape_run_out).min(1.0);
            (l, r) = (
                mix(l, tl * level, self.tape_wet),
                mix(r, tr * level, self.tape_wet),
            );
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

    fn peak(x: &[f32]) -> f32 {
        x.iter().fold(0.0f32, |m, s| m.max(s.abs()))
    }

    #[test]
    fn a_tape_stop_held_for_6_s_stays_silent_and_the_sound_returns_with_the_tape() {
        let mut g = Glitch::new(48_000);
        let mut c = GlitchControls {
            tape_speed: 1.0,
            beat_samples: 24_000.0,
            ..Default::default()
        };
        // Speed falls from 1 to 0 over 20,000 samples, is held at 0 for 6 s (longer than the
        // 4 s history), then rises back to 1 over 10 ms (the engine's shortest ramp).
        let (stopped, back, ramp) = (20_000, 20_000 + 6 * 48_000, 480);
        let out: Vec<f32> = (0..back + 48_000)
            .map(|i| {
                c.tape_speed = if i < stopped {
                    1.0 - i as f32 / stopped as f32
                } else if i < back {
                    0.0
                } else {
                    ((i - back) as f32 / ramp as f32).min(1.0)
                };
                g.process(sine(i), 0.0, &c).0
            })
            .collect();
        // Slowing down, it still sounds...
        let slowing = peak(&out[stopped / 2..stopped * 3 / 4]);
        assert!(slowing > 0.4, "silent while slowing down: peak {slowing}");
        // ...stopped, it is silent (no held sample, no DC), and nothing from before the stop
        // plays again while the tape speeds back up.
        for (from, to) in [(stopped, back - 48_000), (back - 48_000, back + ramp)] {
            let loudest = peak(&out[from..to]);
            assert!(
                loudest < 1e-3,
                "{loudest} between samples {from} and {to} of a stopped tape"
            );
        }
        // Back to speed: a 5 ms fade back in, no click, then the input itself.
        let steps = |x: &[f32]| {
            x.windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0.0, f32::max)
        };
        let own_step = steps(&(0..4_800).map(sine).collect::<Vec<_>>());
        let picking_up = steps(&out[back..back + 2_400]);
        assert!(
            picking_up <= 1.5 * own_step,
            "picking up stepped {picking_up}, the input steps {own_step}"
        );
        for (i, y) in out.iter().enumerate().skip(back + 1_000) {
            assert_eq!(*y, sine(i), "sample {i} after the tape came back");
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
        // 3 bits over a sine of amplitude 0.5: the nine steps from -0.5 to 0.5, and no more;
        // at least five of them, or the sine did not come through at all.
        assert!(
            (5..=9).contains(&levels.len()),
            "{} levels: {levels:?}",
            levels.len()
        );
    }
}
