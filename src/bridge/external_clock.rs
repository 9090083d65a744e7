//! An external MIDI clock's beat and tempo, for the picture: the MIDI thread writes it at each
//! clock tick, the render thread reads it each frame. A sequence lock over plain atomics: the
//! writer never waits, and a reader that catches a write half done reads again.

use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::Instant;

use crate::clock::Musical;

/// A clock silent this long has stopped (a cable pulled, a DAW quit): the show's own tempo map
/// takes over again.
pub const STALE_S: f64 = 0.5;

#[derive(Debug)]
pub struct ExternalClock {
    /// Odd while a write is under way.
    seq: AtomicU64,
    /// Beats at the last tick (f64 bits).
    beats: AtomicU64,
    /// Tempo (f64 bits); 0: no clock.
    bpm: AtomicU64,
    /// The last tick's moment, ns since `epoch`.
    tick_ns: AtomicU64,
    epoch: Instant,
}

impl Default for ExternalClock {
    fn default() -> Self {
        Self {
            seq: AtomicU64::new(0),
            beats: AtomicU64::new(0),
            bpm: AtomicU64::new(0),
            tick_ns: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl ExternalClock {
    /// A tick at `at` marked beat `beats` at `bpm`. One writer only.
    pub fn set(&self, beats: f64, bpm: f64, at: Instant) {
        let ns = at.saturating_duration_since(self.epoch).as_nanos() as u64;
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.beats.store(beats.to_bits(), Ordering::Relaxed);
        self.bpm.store(bpm.to_bits(), Ordering::Relaxed);
        self.tick_ns.store(ns, Ordering::Relaxed);
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// The clock stopped.
    pub fn clear(&self) {
        self.set(0.0, 0.0, Instant::now());
    }

    /// (beats, bpm) at `now`, between ticks carried on at the tempo for at most one tick;
    /// `None` with no clock, or one silent for [`STALE_S`].
    pub fn beat_at(&self, now: Instant) -> Option<(f64, f64)> {
        for _ in 0..8 {
            let s0 = self.seq.load(Ordering::Acquire);
            if s0 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let beats = f64::from_bits(self.beats.load(Ordering::Relaxed));
            let bpm = f64::from_bits(self.bpm.load(Ordering::Relaxed));
            let tick_ns = self.tick_ns.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) != s0 {
                continue;
            }
            if bpm <= 0.0 {
                return None;
            }
            let since_s = now.saturating_duration_since(self.epoch).as_nanos() as f64 * 1e-9
                - tick_ns as f64 * 1e-9;
            if since_s > STALE_S {
                return None;
            }
            let ahead = (since_s.max(0.0) * bpm / 60.0).min(1.0 / 24.0);
            return Some((beats + ahead, bpm));
        }
        None
    }

    /// The musical position at `now`, if a clock is running.
    pub fn musical_at(&self, now: Instant, beats_per_bar: u32) -> Option<Musical> {
        self.beat_at(now).map(|(beat, bpm)| Musical {
            beat,
            bar: beat / f64::from(beats_per_bar.max(1)),
            bpm,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_clock_reads_back_and_carries_on_for_at_most_a_tick() {
        let c = ExternalClock::default();
        assert_eq!(c.beat_at(Instant::now()), None, "no clock yet");
        let t = Instant::now();
        c.set(8.0, 120.0, t);
        assert_eq!(c.beat_at(t), Some((8.0, 120.0)));
        let (b, _) = c.beat_at(t + Duration::from_millis(10)).unwrap();
        assert!((b - 8.02).abs() < 1e-9, "{b}");
        let (b, _) = c.beat_at(t + Duration::from_millis(100)).unwrap();
        assert!(
            (b - (8.0 + 1.0 / 24.0)).abs() < 1e-9,
            "held at the next tick: {b}"
        );
        let m = c.musical_at(t, 4).unwrap();
        assert_eq!(m.bar, 2.0);
    }

    #[test]
    fn a_silent_or_stopped_clock_gives_way_to_the_show() {
        let c = ExternalClock::default();
        let t = Instant::now();
        c.set(1.0, 100.0, t);
        assert_eq!(c.beat_at(t + Duration::from_secs(1)), None);
        c.clear();
        assert_eq!(c.beat_at(Instant::now()), None);
    }

    #[test]
    fn readers_never_see_a_torn_write() {
        let c = std::sync::Arc::new(ExternalClock::default());
        let writer = {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..200_000u32 {
                    let x = f64::from(i);
                    c.set(x, x + 1.0, Instant::now());
                }
            })
        };
        let mut seen = 0;
        while !writer.is_finished() {
            if let Some((beats, bpm)) = c.beat_at(Instant::now()) {
                let whole = beats.floor();
                assert_eq!(bpm, whole + 1.0, "beats {beats} with bpm {bpm}");
                seen += 1;
            }
        }
        writer.join().unwrap();
        assert!(seen > 0);
    }
}
