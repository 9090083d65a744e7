//! SMPTE timecode: hours, minutes, seconds and frames at one of the four rates MTC and LTC carry
//! (24, 25, 29.97 drop-frame and 30), and its arithmetic with show seconds. Written here rather
//! than taken from a crate: it is forty lines of integer arithmetic, drop-frame included, tested
//! below against the published tables, and both MTC and LTC build on it.
//!
//! Drop-frame (29.97): the frame *numbers* 00 and 01 are skipped at the start of every minute
//! but each tenth, so the labels keep up with the clock on the wall (30000/1001 frames a second:
//! 17982 frames every ten minutes); no picture is dropped.

use std::fmt;
use std::str::FromStr;

/// A timecode frame rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameRate {
    /// Film.
    Fps24,
    /// PAL / EBU (the default: Europe's broadcast rate, and `--timecode-rate`'s).
    #[default]
    Fps25,
    /// NTSC colour, drop-frame labels.
    Fps2997Drop,
    /// NTSC monochrome, and most music work.
    Fps30,
}

impl FrameRate {
    pub const ALL: [FrameRate; 4] = [Self::Fps24, Self::Fps25, Self::Fps2997Drop, Self::Fps30];

    /// Frames a second on the wall clock.
    pub fn fps(self) -> f64 {
        match self {
            Self::Fps24 => 24.0,
            Self::Fps25 => 25.0,
            Self::Fps2997Drop => 30_000.0 / 1001.0,
            Self::Fps30 => 30.0,
        }
    }

    /// The frame labels a second runs through (30 for 29.97).
    pub fn nominal(self) -> u32 {
        match self {
            Self::Fps24 => 24,
            Self::Fps25 => 25,
            Self::Fps2997Drop | Self::Fps30 => 30,
        }
    }

    pub fn drop_frame(self) -> bool {
        self == Self::Fps2997Drop
    }

    /// The two-bit rate code MTC sends (quarter frame 7 and the full-frame message).
    pub fn mtc_code(self) -> u8 {
        match self {
            Self::Fps24 => 0,
            Self::Fps25 => 1,
            Self::Fps2997Drop => 2,
            Self::Fps30 => 3,
        }
    }

    pub fn from_mtc_code(code: u8) -> Self {
        match code & 3 {
            0 => Self::Fps24,
            1 => Self::Fps25,
            2 => Self::Fps2997Drop,
            _ => Self::Fps30,
        }
    }

    /// The name `--timecode-rate` takes and the status reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fps24 => "24",
            Self::Fps25 => "25",
            Self::Fps2997Drop => "29.97df",
            Self::Fps30 => "30",
        }
    }
}

impl FromStr for FrameRate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == s || (s == "29.97" && r.drop_frame()))
            .ok_or_else(|| format!("`{s}` is not a timecode rate: 24, 25, 29.97df or 30"))
    }
}

/// Frames in ten minutes of drop-frame timecode.
const DF_TEN_MINUTES: u64 = 17_982;
/// Frames in a minute of drop-frame timecode that drops (not a tenth).
const DF_MINUTE: u64 = 1_798;
/// Frames a day holds at `rate` (timecode wraps at 24 hours).
fn frames_a_day(rate: FrameRate) -> u64 {
    match rate {
        FrameRate::Fps2997Drop => DF_TEN_MINUTES * 6 * 24,
        r => u64::from(r.nominal()) * 86_400,
    }
}

/// One timecode label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Timecode {
    pub hours: u8,
    pub minutes: u8,
    pub seconds: u8,
    pub frames: u8,
}

impl Timecode {
    /// The label of frame `n` counted from 00:00:00:00 at `rate` (wrapping at 24 hours).
    pub fn from_frame_count(n: u64, rate: FrameRate) -> Self {
        let mut n = n % frames_a_day(rate);
        if rate.drop_frame() {
            let (tens, rest) = (n / DF_TEN_MINUTES, n % DF_TEN_MINUTES);
            n += 18 * tens;
            if rest >= 2 {
                n += 2 * ((rest - 2) / DF_MINUTE);
            }
        }
        let fps = u64::from(rate.nominal());
        let s = n / fps;
        Self {
            hours: (s / 3600) as u8,
            minutes: (s / 60 % 60) as u8,
            seconds: (s % 60) as u8,
            frames: (n % fps) as u8,
        }
    }

    /// Frames from 00:00:00:00 to this label at `rate`.
    pub fn frame_count(self, rate: FrameRate) -> u64 {
        let fps = u64::from(rate.nominal());
        let (h, m) = (u64::from(self.hours), u64::from(self.minutes));
        let n = ((h * 3600 + m * 60 + u64::from(self.seconds)) * fps) + u64::from(self.frames);
        if rate.drop_frame() {
            let minutes = h * 60 + m;
            n - 2 * (minutes - minutes / 10)
        } else {
            n
        }
    }

    /// Whether every field is in range for `rate` (a label drop-frame skips is not).
    pub fn valid(self, rate: FrameRate) -> bool {
        let dropped =
            rate.drop_frame() && self.seconds == 0 && self.frames < 2 && self.minutes % 10 != 0;
        self.hours < 24
            && self.minutes < 60
            && self.seconds < 60
            && u32::from(self.frames) < rate.nominal()
            && !dropped
    }

    /// Seconds on the wall clock from 00:00:00:00 to this label.
    pub fn seconds(self, rate: FrameRate) -> f64 {
        self.frame_count(rate) as f64 / rate.fps()
    }

    /// The label showing at `time_s` seconds after 00:00:00:00 (negative times wrap back
    /// from 24 hours, as timecode does).
    pub fn at_seconds(time_s: f64, rate: FrameRate) -> Self {
        let day = frames_a_day(rate) as f64;
        let n = (time_s * rate.fps()).floor().rem_euclid(day);
        Self::from_frame_count(if n.is_finite() { n as u64 } else { 0 }, rate)
    }
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}:{:02}:{:02}",
            self.hours, self.minutes, self.seconds, self.frames
        )
    }
}

impl FromStr for Timecode {
    type Err = String;
    /// `HH:MM:SS:FF` (a `;` or `.` before the frames, drop-frame's mark, is taken too).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a timecode: write HH:MM:SS:FF, e.g. 01:00:00:00");
        let parts: Vec<&str> = s.split([':', ';', '.']).collect();
        let [h, m, sec, f] = parts.as_slice() else {
            return Err(bad());
        };
        let n = |p: &str| p.parse::<u8>().map_err(|_| bad());
        let tc = Self {
            hours: n(h)?,
            minutes: n(m)?,
            seconds: n(sec)?,
            frames: n(f)?,
        };
        (tc.hours < 24 && tc.minutes < 60 && tc.seconds < 60 && tc.frames < 30)
            .then_some(tc)
            .ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(s: &str) -> Timecode {
        s.parse().unwrap()
    }

    #[test]
    fn drop_frame_labels_skip_two_numbers_each_minute_but_the_tenth() {
        let r = FrameRate::Fps2997Drop;
        // The published boundaries: 00:00:59;29 is followed by 00:01:00;02.
        assert_eq!(Timecode::from_frame_count(1799, r), tc("00:00:59:29"));
        assert_eq!(Timecode::from_frame_count(1800, r), tc("00:01:00:02"));
        assert_eq!(Timecode::from_frame_count(17_982, r), tc("00:10:00:00"));
        assert_eq!(Timecode::from_frame_count(17_981, r), tc("00:09:59:29"));
        assert_eq!(
            Timecode::from_frame_count(107_892, r),
            tc("01:00:00:00"),
            "an hour"
        );
        for n in (0..200_000).step_by(7) {
            let label = Timecode::from_frame_count(n, r);
            assert!(label.valid(r), "{n}: {label}");
            assert_eq!(label.frame_count(r), n, "{label}");
        }
        assert!(!tc("00:01:00:00").valid(r) && tc("00:10:00:00").valid(r));
    }

    #[test]
    fn every_rate_counts_frames_and_seconds_both_ways() {
        for r in FrameRate::ALL {
            for n in [0, 1, 23, 24, 1000, 86_399 * u64::from(r.nominal())] {
                let n = n.min(frames_a_day(r) - 1);
                assert_eq!(Timecode::from_frame_count(n, r).frame_count(r), n, "{r:?}");
            }
            let t = Timecode::at_seconds(3723.5, r);
            assert!((t.seconds(r) - 3723.5).abs() < 1.0 / r.fps(), "{r:?} {t}");
            assert_eq!(r.name().parse::<FrameRate>(), Ok(r));
            assert_eq!(FrameRate::from_mtc_code(r.mtc_code()), r);
        }
        assert_eq!(
            Timecode::at_seconds(3600.0, FrameRate::Fps25),
            tc("01:00:00:00")
        );
        assert_eq!(
            Timecode::at_seconds(-1.0 / 25.0, FrameRate::Fps25),
            tc("23:59:59:24"),
            "before midnight wraps"
        );
        assert_eq!(tc("01:02:03;04").to_string(), "01:02:03:04");
        assert!("1:2".parse::<Timecode>().is_err() && "24:00:00:00".parse::<Timecode>().is_err());
    }
}
