//! What the engine applied, from the audio thread to the show's journal (`somnia play` writes
//! one by default): every event with the output frame it took effect on, and every pause,
//! seek and change of the show's rate. The engine is deterministic, so these and the settings
//! it started with are enough to make its output again, bit for bit (`somnia render
//! --journal`), whatever sent them: a cue, OSC, MIDI, the console, Link.
//!
//! The writer is the audio thread (the device callback, or the supervisor's stand-in clock
//! while a device is lost): a wait-free ring of fixed-size `Copy` entries; a full ring drops
//! the entry and counts it (the journal then says the re-render may differ from that frame
//! on). The frames output so far are published in an atomic, so the journal knows how far a
//! show got even when nothing happened in it for a while.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::events::EventKind;

/// One thing the engine did to itself, besides rendering.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Applied {
    /// An event took effect (a note, a parameter, a patch, ...).
    Event(EventKind),
    /// The transport paused (true) or played (false) from this frame.
    Pause(bool),
    /// The clock moved to this show sample (`Engine::seek`).
    Seek(u64),
    /// The show's clock runs at this rate against the sound's from here (Link).
    Rate(f64),
}

/// What the engine applied, and at which of its output frames (counted from its first, the
/// limiter's lookahead included; paused frames counted too).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub frame: u64,
    pub what: Applied,
}

/// What the two ends share.
#[derive(Debug, Default)]
pub struct JournalCounters {
    /// Frames the engine has output so far.
    pub frames: AtomicU64,
    /// Entries dropped for a full ring.
    pub dropped: AtomicU64,
}

/// The audio thread's end.
pub struct JournalTap {
    ring: rtrb::Producer<Entry>,
    counters: Arc<JournalCounters>,
}

/// The journal writer's end.
pub struct JournalDrain {
    ring: rtrb::Consumer<Entry>,
    pub counters: Arc<JournalCounters>,
}

/// A ring of `capacity` entries.
pub fn journal_channel(capacity: usize) -> (JournalTap, JournalDrain) {
    let (tx, rx) = rtrb::RingBuffer::new(capacity.max(1));
    let counters = Arc::new(JournalCounters::default());
    (
        JournalTap {
            ring: tx,
            counters: counters.clone(),
        },
        JournalDrain { ring: rx, counters },
    )
}

impl JournalTap {
    /// Hands over one entry, or drops and counts it when the ring is full. Wait-free.
    #[inline]
    pub fn push(&mut self, entry: Entry) {
        if self.ring.push(entry).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The engine has output `frames` frames in all.
    #[inline]
    pub fn frames_done(&self, frames: u64) {
        self.counters.frames.store(frames, Ordering::Release);
    }
}

impl JournalDrain {
    /// Everything handed over so far, in order.
    pub fn drain(&mut self, mut out: impl FnMut(Entry)) {
        while let Ok(e) = self.ring.pop() {
            out(e);
        }
    }

    /// Frames the engine has output so far.
    pub fn frames(&self) -> u64 {
        self.counters.frames.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_out_in_order_and_a_full_ring_drops_and_counts() {
        let (mut tap, mut drain) = journal_channel(2);
        for frame in 0..3 {
            tap.push(Entry {
                frame,
                what: Applied::Pause(frame == 1),
            });
        }
        tap.frames_done(512);
        let mut got = Vec::new();
        drain.drain(|e| got.push(e.frame));
        assert_eq!(got, [0, 1]);
        assert_eq!(drain.counters.dropped.load(Ordering::Relaxed), 1);
        assert_eq!(drain.frames(), 512);
    }
}
