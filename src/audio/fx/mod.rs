//! The master bus, in signal order: stereo delay → reverb → glitch → safety limiter.
//! Every buffer is allocated in `new`, on the control thread; `process` only reuses them.

pub mod delay;
pub mod glitch;
pub mod limiter;
pub mod reverb;

pub use delay::Delay;
pub use glitch::Glitch;
pub use limiter::{Limiter, db_to_gain};
pub use reverb::Reverb;

/// A fixed-size stereo ring buffer with fractional reads, shared by the delay-based effects.
#[derive(Clone, Debug)]
pub struct Ring {
    l: Vec<f32>,
    r: Vec<f32>,
    write: usize,
}

impl Ring {
    pub fn new(len: usize) -> Self {
        let len = len.max(4);
        Self {
            l: vec![0.0; len],
            r: vec![0.0; len],
            write: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.l.len()
    }

    pub fn is_empty(&self) -> bool {
        self.l.is_empty()
    }

    #[inline]
    pub fn push(&mut self, l: f32, r: f32) {
        self.l[self.write] = l;
        self.r[self.write] = r;
        self.write += 1;
        if self.write == self.l.len() {
            self.write = 0;
        }
    }

    /// The frame `delay` samples before the newest one (0 = newest), linearly interpolated.
    #[inline]
    pub fn read(&self, delay: f32) -> (f32, f32) {
        let n = self.l.len();
        let d = delay.clamp(0.0, (n - 2) as f32);
        let whole = d as usize;
        let frac = d - whole as f32;
        let i0 = (self.write + 2 * n - 1 - whole) % n;
        let i1 = if i0 == 0 { n - 1 } else { i0 - 1 };
        (
            self.l[i0] + (self.l[i1] - self.l[i0]) * frac,
            self.r[i0] + (self.r[i1] - self.r[i0]) * frac,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_reads_back_what_was_pushed_at_any_delay() {
        let mut ring = Ring::new(16);
        for i in 0..40 {
            ring.push(i as f32, -(i as f32));
        }
        assert_eq!(ring.read(0.0), (39.0, -39.0));
        assert_eq!(ring.read(5.0), (34.0, -34.0));
        assert_eq!(ring.read(2.5), (36.5, -36.5));
    }
}
