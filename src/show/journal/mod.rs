//! A show's journal: everything needed to make a live show again, exactly (`somnia render
//! --journal`), and to read it back (`somnia journal`).
//!
//! The engine is deterministic, so its output is fully described by the settings it started
//! with and what it applied on which output frame (`bridge::journal_tap`). The journal keeps
//! those, the files the show used by content, and every live input with where it came from.
//! [`record`] is the file, [`writer`] the thread that keeps it, [`prune`] the folder's cap.

pub mod prune;
pub mod record;
pub mod writer;

pub use record::{Journal, KioskLook, Plan, ReadError, Record, Start};
pub use writer::{JournalSummary, JournalWriter};

/// A journal file's extension.
pub const EXTENSION: &str = "somnia-journal";

/// Frames of the engine's output in a human's clock: `H:MM:SS.mmm`.
pub fn clock_label(frame: u64, sample_rate_hz: u32) -> String {
    let ms = (u128::from(frame) * 1000 / u128::from(sample_rate_hz.max(1))) as u64;
    format!(
        "{}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_hour_and_a_bit_reads_as_hours_minutes_seconds_and_milliseconds() {
        assert_eq!(
            super::clock_label(48_000 * 3723 + 24_000, 48_000),
            "1:02:03.500"
        );
        // A damaged journal's frame reads as a time, however large.
        assert!(super::clock_label(u64::MAX, 48_000).ends_with(".325"));
    }
}
