//! MIDI Time Code's bytes: quarter frames and the full-frame message, both ways.
//!
//! Eight quarter frames carry one label over two frames: piece 0 (frames, low nibble) leaves
//! at the label's frame, piece 7 (hours' high bit and the rate) a frame and three quarters
//! later. A receiver therefore knows the label when piece 7 arrives, and the time then is that
//! label plus 1.75 frames; from there each quarter frame is a quarter frame more.

use crate::clock::timecode::{FrameRate, Timecode};

/// Quarter frame `piece` (0..7) of `tc`.
pub fn quarter_frame(piece: u8, tc: Timecode, rate: FrameRate) -> [u8; 2] {
    let nibble = match piece & 7 {
        0 => tc.frames & 0x0F,
        1 => tc.frames >> 4,
        2 => tc.seconds & 0x0F,
        3 => tc.seconds >> 4,
        4 => tc.minutes & 0x0F,
        5 => tc.minutes >> 4,
        6 => tc.hours & 0x0F,
        _ => ((tc.hours >> 4) & 1) | (rate.mtc_code() << 1),
    };
    [0xF1, ((piece & 7) << 4) | (nibble & 0x0F)]
}

/// The full-frame message: where a sender stands after a locate.
pub fn full_frame(tc: Timecode, rate: FrameRate) -> [u8; 10] {
    [
        0xF0,
        0x7F,
        0x7F,
        0x01,
        0x01,
        (rate.mtc_code() << 5) | (tc.hours & 0x1F),
        tc.minutes,
        tc.seconds,
        tc.frames,
        0xF7,
    ]
}

/// Puts quarter frames back together.
#[derive(Clone, Debug, Default)]
pub struct MtcReader {
    nibbles: [u8; 8],
    /// The piece expected next, while a run in order is being collected.
    expect: Option<u8>,
    /// Pieces collected in order since piece 0.
    collected: u8,
    /// The last whole label (frame count) and its rate.
    label: Option<(u64, FrameRate)>,
    /// When the last quarter frame came (seconds, the caller's clock).
    last_s: Option<f64>,
}

/// A pause between quarter frames longer than this (five of them at 24 fps) is a break: what
/// was collected before it says nothing about the time after.
const BREAK_S: f64 = 0.05;

impl MtcReader {
    /// A quarter frame's data byte, received at `time_s` (any clock in seconds); returns the
    /// time then (frames since 00:00:00:00 at the rate) once a whole label is known. Pieces
    /// out of order or after a pause (a jump, a reverse, a dropout, a lost byte) start the
    /// collection again, and no time is given until a whole label is in once more.
    pub fn quarter(&mut self, data: u8, time_s: f64) -> Option<(f64, FrameRate)> {
        let piece = data >> 4;
        let paused = self.last_s.is_some_and(|t| time_s - t > BREAK_S);
        self.last_s = Some(time_s);
        if piece > 7 {
            return None;
        }
        if paused || self.expect != Some(piece) {
            self.collected = 0;
            self.label = None;
            if piece != 0 {
                self.expect = None;
                return None;
            }
        }
        self.nibbles[usize::from(piece)] = data & 0x0F;
        self.collected += 1;
        self.expect = Some((piece + 1) % 8);
        if piece == 7 && self.collected == 8 {
            let n = &self.nibbles;
            let rate = FrameRate::from_mtc_code(n[7] >> 1);
            let tc = Timecode {
                frames: n[0] | (n[1] << 4),
                seconds: n[2] | (n[3] << 4),
                minutes: n[4] | (n[5] << 4),
                hours: n[6] | ((n[7] & 1) << 4),
            };
            self.collected = 0;
            if !tc.valid(rate) {
                self.label = None;
                return None;
            }
            self.label = Some((tc.frame_count(rate), rate));
            return Some((tc.frame_count(rate) as f64 + 1.75, rate));
        }
        // Within the next label's pieces: two frames on from the last, plus the pieces so far.
        let (frames, rate) = self.label?;
        Some((frames as f64 + 2.0 + f64::from(piece) / 4.0, rate))
    }

    /// A full frame: the sender located and stopped; the quarter frames start again from
    /// nothing.
    pub fn full(&mut self, tc: Timecode, rate: FrameRate) -> f64 {
        *self = Self::default();
        tc.frame_count(rate) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(s: &str) -> Timecode {
        s.parse().unwrap()
    }

    #[test]
    fn quarter_frames_sent_are_read_back_with_the_time_they_left_at() {
        for rate in FrameRate::ALL {
            let mut reader = MtcReader::default();
            let start = tc("01:02:03:04").frame_count(rate);
            let mut heard = Vec::new();
            // Sixteen labels' worth, each label's eight pieces over two frames.
            for q in 0..(4 * 32u64) {
                let frame = start + q / 4;
                let piece = (q % 8) as u8;
                let label = Timecode::from_frame_count(frame - u64::from(piece) / 4, rate);
                let [status, data] = quarter_frame(piece, label, rate);
                assert_eq!(status, 0xF1);
                let at_s = q as f64 / (4.0 * rate.fps());
                if let Some((frames, r)) = reader.quarter(data, at_s) {
                    assert_eq!(r, rate);
                    heard.push((q, frames));
                }
            }
            assert_eq!(
                heard.first().map(|h| h.0),
                Some(7),
                "{rate:?}: known at piece 7"
            );
            for (q, frames) in heard {
                let sent_at = start as f64 + q as f64 / 4.0;
                assert!(
                    (frames - sent_at).abs() < 1e-9,
                    "{rate:?} {q}: {frames} {sent_at}"
                );
            }
        }
    }

    #[test]
    fn a_jump_or_a_dropout_is_not_read_until_a_whole_label_is_in_again() {
        let mut reader = MtcReader::default();
        let rate = FrameRate::Fps25;
        let label = tc("00:00:10:00");
        let q = |piece: u8| quarter_frame(piece, label, rate)[1];
        for piece in 0..8 {
            reader.quarter(q(piece), f64::from(piece) * 0.01);
        }
        assert!(reader.quarter(q(0), 0.08).is_some());
        // Piece 5 after piece 0: something was lost.
        assert_eq!(reader.quarter(q(5), 0.09), None);
        assert_eq!(reader.quarter(q(6), 0.10), None);
        // In order again, then a dropout of exactly three sequences: piece 0 after piece 7
        // looks in order, but the pause says the label before it is stale.
        for piece in 0..8 {
            reader.quarter(q(piece), 1.0 + f64::from(piece) * 0.01);
        }
        assert!(reader.quarter(q(0), 1.08).is_some());
        for piece in 1..8 {
            reader.quarter(q(piece), 1.08 + f64::from(piece) * 0.01);
        }
        assert_eq!(reader.quarter(q(0), 1.15 + 0.24), None, "after a pause");
    }

    #[test]
    fn a_full_frame_round_trips_through_the_wire_parser() {
        let rate = FrameRate::Fps2997Drop;
        let label = tc("10:20:30:12");
        let bytes = full_frame(label, rate);
        assert_eq!(
            crate::control::midi::wire::parse(&bytes),
            Some(crate::control::midi::wire::MidiMsg::FullFrame(label, rate))
        );
        let mut reader = MtcReader::default();
        assert_eq!(reader.full(label, rate), label.frame_count(rate) as f64);
    }
}
