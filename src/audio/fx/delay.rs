//! A tempo-synced stereo delay with cross-feedback (ping-pong) and a darkening filter in the
//! loop, so repeats fade like tape rather than ringing metallically.
//!
//! A change of delay time crossfades from the old read tap to the new one over 50 ms instead
//! of sliding the tap (which would smear the pitch and, for big jumps, click).

use super::Ring;

#[derive(Clone, Debug)]
pub struct Delay {
    ring: Ring,
    /// The tap being heard, in samples.
    time: f32,
    /// The tap being faded to, and how far the fade has got (0..1).
    next_time: f32,
    fade: f32,
    fade_step: f32,
    lp_l: f32,
    lp_r: f32,
}

impl Delay {
    /// Longest delay, in seconds.
    pub const MAX_S: f32 = 4.0;

    pub fn new(sample_rate_hz: u32) -> Self {
        Self {
            ring: Ring::new((Self::MAX_S * sample_rate_hz as f32) as usize + 4),
            time: 0.0,
            next_time: 0.0,
            fade: 0.0,
            fade_step: 1.0 / (0.05 * sample_rate_hz as f32),
            lp_l: 0.0,
            lp_r: 0.0,
        }
    }

    /// Processes one frame. `time_samples` is the wanted delay, `feedback` 0..0.95, `mix` 0..1.
    #[inline]
    pub fn process(
        &mut self,
        l: f32,
        r: f32,
        time_samples: f32,
        feedback: f32,
        mix: f32,
    ) -> (f32, f32) {
        let target = time_samples.clamp(1.0, (self.ring.len() - 3) as f32);
        if self.time == 0.0 {
            self.time = target;
            self.next_time = target;
        }
        if self.fade == 0.0 && (target - self.time).abs() >= 0.5 {
            self.next_time = target;
            self.fade = self.fade_step;
        }
        // Read before this frame is pushed: `time - 1` back from the newest is `time` back from now.
        let (mut dl, mut dr) = self.ring.read(self.time - 1.0);
        if self.fade > 0.0 {
            let (nl, nr) = self.ring.read(self.next_time - 1.0);
            dl = nl * self.fade + dl * (1.0 - self.fade);
            dr = nr * self.fade + dr * (1.0 - self.fade);
            self.fade += self.fade_step;
            if self.fade >= 1.0 {
                self.time = self.next_time;
                self.fade = 0.0;
            }
        }
        self.lp_l += (dl - self.lp_l) * 0.35;
        self.lp_r += (dr - self.lp_r) * 0.35;
        let fb = feedback.clamp(0.0, 0.95);
        // Cross-feedback: each side's echo returns on the other side.
        self.ring.push(l + self.lp_r * fb, r + self.lp_l * fb);
        (l + dl * mix, r + dr * mix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impulse_comes_back_after_the_delay_time() {
        let mut d = Delay::new(48_000);
        let out: Vec<f32> = (0..2_000)
            .map(|i| {
                d.process(if i == 0 { 1.0 } else { 0.0 }, 0.0, 1_000.0, 0.0, 1.0)
                    .0
            })
            .collect();
        let echo = out[1..].iter().position(|s| s.abs() > 0.1).map(|i| i + 1);
        assert_eq!(echo, Some(1_000));
    }
}
