//! The engine's own output, from the audio callback to the thread that writes it to a WAV file
//! (`somnia play --record FILE`): a wait-free ring of interleaved stereo samples.
//!
//! The writer is the audio callback: it never waits, allocates or locks. A ring too full for a
//! whole block drops that block and counts its frames (the disk is behind); the file then
//! lacks them, and the count says so at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the two ends share.
#[derive(Debug, Default)]
pub struct RecordCounters {
    /// Frames handed over, and frames dropped for a full ring.
    pub kept: AtomicU64,
    pub dropped: AtomicU64,
}

/// The audio callback's end.
pub struct RecordTap {
    ring: rtrb::Producer<f32>,
    /// Samples still to leave out at the start: the limiter's lookahead, so the file starts at
    /// the show's time 0 as an offline render's does.
    skip: usize,
    counters: Arc<RecordCounters>,
}

/// The writer thread's end.
pub struct RecordDrain {
    ring: rtrb::Consumer<f32>,
    pub counters: Arc<RecordCounters>,
}

/// A ring holding `seconds` of stereo at `sample_rate_hz`, the first `skip_frames` frames left
/// out.
pub fn record_channel(
    seconds: f64,
    sample_rate_hz: u32,
    skip_frames: usize,
) -> (RecordTap, RecordDrain) {
    let capacity = (seconds.max(0.1) * f64::from(sample_rate_hz)) as usize * 2;
    let (tx, rx) = rtrb::RingBuffer::new(capacity);
    let counters = Arc::new(RecordCounters::default());
    (
        RecordTap {
            ring: tx,
            skip: 2 * skip_frames,
            counters: counters.clone(),
        },
        RecordDrain { ring: rx, counters },
    )
}

impl RecordTap {
    /// Hands over one block the engine made (interleaved stereo), whole or not at all.
    pub fn push(&mut self, block: &[f32]) {
        let left_out = self.skip.min(block.len());
        self.skip -= left_out;
        let block = &block[left_out..];
        if block.is_empty() {
            return;
        }
        let frames = (block.len() / 2) as u64;
        match self.ring.write_chunk_uninit(block.len()) {
            Ok(chunk) => {
                chunk.fill_from_iter(block.iter().copied());
                self.counters.kept.fetch_add(frames, Ordering::Relaxed);
            }
            Err(_) => {
                self.counters.dropped.fetch_add(frames, Ordering::Relaxed);
            }
        }
    }
}

impl RecordDrain {
    /// Everything handed over so far, to `out` (in slices as the ring holds them).
    pub fn drain(&mut self, mut out: impl FnMut(&[f32])) {
        let n = self.ring.slots();
        if n == 0 {
            return;
        }
        if let Ok(chunk) = self.ring.read_chunk(n) {
            let (a, b) = chunk.as_slices();
            out(a);
            out(b);
            chunk.commit_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_come_out_in_order_less_the_lookahead_and_a_full_ring_drops_whole_blocks() {
        let (mut tap, mut drain) = record_channel(0.1, 100, 3);
        // 10 stereo frames of ramp: the first 3 left out.
        let block: Vec<f32> = (0..20).map(|i| i as f32).collect();
        tap.push(&block);
        let mut got = Vec::new();
        drain.drain(|s| got.extend_from_slice(s));
        assert_eq!(got, (6..20).map(|i| i as f32).collect::<Vec<_>>());
        // The ring holds 20 samples: a 12-sample block fits, a second does not and is counted.
        tap.push(&block[..12]);
        tap.push(&block[..12]);
        assert_eq!(tap.counters.dropped.load(Ordering::Relaxed), 6);
        assert_eq!(tap.counters.kept.load(Ordering::Relaxed), 7 + 6);
        got.clear();
        drain.drain(|s| got.extend_from_slice(s));
        assert_eq!(got.len(), 12);
    }
}
