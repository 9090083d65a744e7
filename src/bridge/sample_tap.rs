//! Sound from an input callback to a thread that reads it at leisure (LTC from a sound card's
//! input to the sync thread): a wait-free ring of samples, and a clock that says when the
//! newest of them was captured, so the reader can tell the moment of any sample it reads.
//!
//! The writer is a device callback: it never waits, allocates or locks. A full ring drops the
//! newest samples and counts them (the reader is behind; timecode read from a gap is simply not
//! read).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::{Duration, Instant};

/// When the samples so far were captured.
#[derive(Debug)]
pub struct TapClock {
    /// Odd while a write is under way.
    seq: AtomicU64,
    /// Samples written into the ring so far (the reader counts what it takes the same way).
    written: AtomicU64,
    /// When the newest of them was captured, ns since `epoch`.
    at_ns: AtomicU64,
    dropped: AtomicU64,
    epoch: Instant,
}

impl TapClock {
    fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            written: AtomicU64::new(0),
            at_ns: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// (samples written, when the newest was captured), read consistently.
    pub fn read(&self) -> Option<(u64, Instant)> {
        for _ in 0..8 {
            let s0 = self.seq.load(Ordering::Acquire);
            if s0 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let written = self.written.load(Ordering::Relaxed);
            let at_ns = self.at_ns.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s0 {
                return (written > 0).then(|| (written, self.epoch + Duration::from_nanos(at_ns)));
            }
        }
        None
    }

    /// Samples dropped for a full ring.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The callback's end.
pub struct TapWriter {
    ring: rtrb::Producer<f32>,
    clock: Arc<TapClock>,
    sample_rate_hz: u32,
}

impl TapWriter {
    /// `samples` just captured, the last of them at `captured`.
    pub fn write(&mut self, samples: impl ExactSizeIterator<Item = f32>, captured: Instant) {
        let n = samples.len() as u64;
        let mut dropped = 0u64;
        for s in samples {
            if self.ring.push(s).is_err() {
                dropped += 1;
            }
        }
        // The newest sample in the ring: the last before those dropped (the newest ones).
        let mut newest = captured;
        if dropped > 0 {
            self.clock.dropped.fetch_add(dropped, Ordering::Relaxed);
            let rate = f64::from(self.sample_rate_hz.max(1));
            newest = captured
                .checked_sub(Duration::from_secs_f64(dropped as f64 / rate))
                .unwrap_or(captured);
        }
        let kept = n - dropped;
        let c = &self.clock;
        let ns = newest.saturating_duration_since(c.epoch).as_nanos() as u64;
        let s = c.seq.load(Ordering::Relaxed);
        c.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        c.written.fetch_add(kept, Ordering::Relaxed);
        c.at_ns.store(ns, Ordering::Relaxed);
        c.seq.store(s.wrapping_add(2), Ordering::Release);
    }
}

/// The reader's end.
pub struct SampleTap {
    pub ring: rtrb::Consumer<f32>,
    pub clock: Arc<TapClock>,
    pub sample_rate_hz: u32,
}

/// A tap holding `capacity` samples at `sample_rate_hz`.
pub fn sample_tap(capacity: usize, sample_rate_hz: u32) -> (TapWriter, SampleTap) {
    let (tx, rx) = rtrb::RingBuffer::new(capacity);
    let clock = Arc::new(TapClock::new());
    (
        TapWriter {
            ring: tx,
            clock: clock.clone(),
            sample_rate_hz,
        },
        SampleTap {
            ring: rx,
            clock,
            sample_rate_hz,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_arrive_in_order_with_the_moment_of_the_newest_and_a_full_ring_counts_its_drops() {
        let (mut w, mut tap) = sample_tap(4, 48_000);
        assert_eq!(tap.clock.read(), None);
        let t = Instant::now();
        w.write([1.0, 2.0, 3.0].into_iter(), t);
        assert_eq!(tap.clock.read(), Some((3, t)));
        w.write([4.0, 5.0].into_iter(), t + Duration::from_millis(1));
        assert_eq!(tap.clock.dropped(), 1);
        let got: Vec<f32> = std::iter::from_fn(|| tap.ring.pop().ok()).collect();
        assert_eq!(got, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            tap.clock.read().unwrap().0,
            4,
            "the dropped one is not counted as written"
        );
    }
}
