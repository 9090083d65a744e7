//! The hearing-safety peak limiter, last in the chain and on unless explicitly disabled.
//! Instant attack (a sample can never leave above the ceiling), smooth exponential release.
//! Lookahead and true-peak detection come with the full master bus (issue 3).

/// Converts decibels to a linear amplitude factor.
pub fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

#[derive(Clone, Copy, Debug)]
pub struct Limiter {
    ceiling: f32,
    gain: f32,
    release_coef: f32,
    enabled: bool,
}

impl Limiter {
    /// Default ceiling, in dBFS.
    pub const DEFAULT_CEILING_DB: f32 = -1.0;

    pub fn new(ceiling_db: f32, release_s: f32, sample_rate_hz: u32) -> Self {
        Self {
            ceiling: db_to_gain(ceiling_db),
            gain: 1.0,
            release_coef: (-1.0 / (release_s.max(1e-3) * sample_rate_hz as f32)).exp(),
            enabled: true,
        }
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    pub fn ceiling(&self) -> f32 {
        self.ceiling
    }

    #[inline]
    pub fn process(&mut self, l: &mut f32, r: &mut f32) {
        if !self.enabled {
            return;
        }
        let peak = l.abs().max(r.abs());
        let wanted = if peak > self.ceiling {
            self.ceiling / peak
        } else {
            1.0
        };
        if wanted < self.gain {
            self.gain = wanted;
        } else {
            self.gain = wanted + (self.gain - wanted) * self.release_coef;
        }
        *l *= self.gain;
        *r *= self.gain;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sample_leaves_above_the_ceiling() {
        let mut lim = Limiter::new(-1.0, 0.05, 48_000);
        for i in 0..48_000 {
            let x = 4.0 * (i as f32 * 0.05).sin();
            let (mut l, mut r) = (x, -x);
            lim.process(&mut l, &mut r);
            assert!(l.abs() <= lim.ceiling() + 1e-6 && r.abs() <= lim.ceiling() + 1e-6);
        }
    }

    #[test]
    fn quiet_signals_pass_untouched() {
        let mut lim = Limiter::new(-1.0, 0.05, 48_000);
        let (mut l, mut r) = (0.25, -0.5);
        lim.process(&mut l, &mut r);
        assert_eq!((l, r), (0.25, -0.5));
    }
}
