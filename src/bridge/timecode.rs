//! Timecode heard from outside (MTC from the MIDI thread, LTC from the sound input's thread),
//! on its way to the sync thread that chases it, and what every sync source reports back for
//! `/somnia/status`, `/health` and the console.
//!
//! Readings travel a bounded channel: the sync thread takes them every few milliseconds; when
//! it is not running (no `--chase`), or is behind, a reading is dropped, and the next one, a
//! quarter frame later, says the same thing better.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Instant;

use crate::clock::timecode::FrameRate;

/// Readings waiting for the sync thread at most.
pub const TIMECODE_QUEUE: usize = 256;

/// Where a reading came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimecodeSource {
    Mtc,
    Ltc,
}

impl TimecodeSource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Mtc => "mtc",
            Self::Ltc => "ltc",
        }
    }
}

/// The time a timecode source said, as of the moment it was received.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimecodeReading {
    pub source: TimecodeSource,
    /// Frames since 00:00:00:00 (fractions between labels, where the source tells them).
    pub frames: f64,
    pub rate: FrameRate,
    /// Running (quarter frames, LTC words) or a locate while stopped (MTC's full frame).
    pub running: bool,
    pub received: Instant,
}

impl TimecodeReading {
    /// Seconds since 00:00:00:00.
    pub fn seconds(&self) -> f64 {
        self.frames / self.rate.fps()
    }
}

/// The sending end, which every controller's sink holds.
#[derive(Clone, Debug)]
pub struct TimecodeSender(SyncSender<TimecodeReading>);

impl TimecodeSender {
    /// A sender nobody hears: every reading is dropped (a show with no chase; replaced by the
    /// real one when the sync thread starts).
    pub fn unheard() -> Self {
        timecode_channel().0
    }

    /// Hands a reading on; false if it was dropped (no chaser, or a full queue).
    pub fn send(&self, reading: TimecodeReading) -> bool {
        match self.0.try_send(reading) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

/// A bounded timecode channel.
pub fn timecode_channel() -> (TimecodeSender, Receiver<TimecodeReading>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(TIMECODE_QUEUE);
    (TimecodeSender(tx), rx)
}

/// How a sync source stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncState {
    /// Following (in) or sending (out).
    Locked,
    /// The source went quiet; the show carries on by itself for a while.
    Freewheeling,
    /// Nothing heard for too long: the show stopped and waits for it.
    Lost,
    /// Not heard yet.
    Waiting,
}

impl SyncState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::Freewheeling => "freewheeling",
            Self::Lost => "lost",
            Self::Waiting => "waiting",
        }
    }
}

/// One sync source's report.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncReport {
    /// `mtc in`, `ltc in`, `mtc out`, `midi clock out`, `ltc out`, `link`.
    pub name: &'static str,
    pub state: SyncState,
    /// The show's time less the source's (frames at `rate`; for clocks, ms), as last measured.
    pub offset: Option<f64>,
    /// The rate, or the tempo, in words (`25`, `29.97df`, `120.0 bpm`).
    pub detail: String,
}

/// The sync thread's reports, latest first written wins.
#[derive(Debug, Default)]
pub struct SyncBoard(Mutex<Vec<SyncReport>>);

impl SyncBoard {
    pub fn set(&self, reports: Vec<SyncReport>) {
        if let Ok(mut r) = self.0.lock() {
            *r = reports;
        }
    }

    pub fn get(&self) -> Vec<SyncReport> {
        self.0.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_or_unheard_channel_drops_a_reading_and_never_waits() {
        let (tx, rx) = timecode_channel();
        let r = TimecodeReading {
            source: TimecodeSource::Mtc,
            frames: 50.0,
            rate: FrameRate::Fps25,
            running: true,
            received: Instant::now(),
        };
        assert_eq!(r.seconds(), 2.0);
        for _ in 0..TIMECODE_QUEUE {
            assert!(tx.send(r));
        }
        assert!(!tx.send(r), "full");
        drop(rx);
        assert!(!tx.send(r), "no chaser");
    }
}
