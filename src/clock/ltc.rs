//! SMPTE linear timecode (LTC): timecode as sound, the way a DJ deck, a tape machine or a
//! lighting desk sends it down an audio cable. Both ways, written here:
//!
//! - Each frame is an 80-bit word (the label in BCD, flags, user bits, and a 16-bit sync word
//!   at the end that also tells the direction), sent at 80 bits a frame in *biphase mark*: the
//!   level flips at every bit's start, and once more in its middle for a 1. Only the flips
//!   carry meaning, so a signal inverted on its way reads the same.
//! - The [`LtcDecoder`] finds the flips with hysteresis over a tracked level (so hum and noise
//!   twenty decibels down do not make false flips), learns the bit length from the signal
//!   itself and keeps following it (so a source ten per cent fast or slow reads), and reports
//!   each word whose sync word it sees, with the sample its last bit ended on.
//! - The [`LtcEncoder`] writes the words for a running clock, sample by sample, with its edges
//!   softened (as the standard's rise time asks) and the polarity bit set so each word starts
//!   on the same level.
//!
//! No allocation after construction: the encoder runs in an audio output callback.

use super::timecode::{FrameRate, Timecode};

/// The sync word, bits 64..79 as received (bit 64 first = bit 0 here).
const SYNC: u16 = 0xBFFC;

/// Bit `i` of a word.
fn bit(word: u128, i: u32) -> u32 {
    ((word >> i) & 1) as u32
}

/// The 80-bit word for `tc` at `rate` (bit 0 sent first).
pub fn word(tc: Timecode, rate: FrameRate) -> u128 {
    let mut w: u128 = 0;
    let mut put = |value: u8, at: u32, bits: u32| {
        for i in 0..bits {
            w |= u128::from((value >> i) & 1) << (at + i);
        }
    };
    put(tc.frames % 10, 0, 4);
    put(tc.frames / 10, 8, 2);
    put(u8::from(rate.drop_frame()), 10, 1);
    put(tc.seconds % 10, 16, 4);
    put(tc.seconds / 10, 24, 3);
    put(tc.minutes % 10, 32, 4);
    put(tc.minutes / 10, 40, 3);
    put(tc.hours % 10, 48, 4);
    put(tc.hours / 10, 56, 2);
    w |= u128::from(SYNC) << 64;
    // The polarity bit makes the count of ones even, so every word starts on the same level:
    // bit 59 at 25 fps, bit 27 at the others.
    let polarity = if rate == FrameRate::Fps25 { 59 } else { 27 };
    if w.count_ones() % 2 == 1 {
        w |= 1 << polarity;
    }
    w
}

/// The label in a word, if its fields are in range.
fn label(w: u128) -> Option<(Timecode, bool)> {
    let field = |at: u32, bits: u32| (0..bits).fold(0u8, |v, i| v | ((bit(w, at + i) as u8) << i));
    let tc = Timecode {
        frames: field(8, 2) * 10 + field(0, 4),
        seconds: field(24, 3) * 10 + field(16, 4),
        minutes: field(40, 3) * 10 + field(32, 4),
        hours: field(56, 2) * 10 + field(48, 4),
    };
    let digits_ok = field(0, 4) < 10 && field(16, 4) < 10 && field(32, 4) < 10 && field(48, 4) < 10;
    (digits_ok && tc.hours < 24 && tc.minutes < 60 && tc.seconds < 60 && tc.frames < 30)
        .then_some((tc, bit(w, 10) == 1))
}

/// Writes LTC for a running clock.
#[derive(Clone, Debug)]
pub struct LtcEncoder {
    rate: FrameRate,
    /// Samples a bit lasts (fractional), at the nominal speed and now.
    nominal_bit_samples: f64,
    bit_samples: f64,
    amplitude: f32,
    /// The word being sent, the bit in it, and how far into the bit (samples).
    word: u128,
    bit_index: u32,
    in_bit: f64,
    /// The frame count the word being sent carries.
    frame: u64,
    level: f32,
    /// The softened output.
    out: f32,
    /// Samples to hold the level before the word at `frame` starts (after a locate that
    /// fell between two words): no word is ever sent in part.
    hold: f64,
}

impl LtcEncoder {
    /// An encoder at `rate` for a device at `sample_rate_hz`, `amplitude` its peak (0..1).
    pub fn new(rate: FrameRate, sample_rate_hz: u32, amplitude: f32) -> Self {
        let bit_samples = f64::from(sample_rate_hz) / (80.0 * rate.fps());
        Self {
            rate,
            nominal_bit_samples: bit_samples,
            bit_samples,
            amplitude,
            word: 0,
            bit_index: 0,
            in_bit: 0.0,
            frame: 0,
            level: 1.0,
            out: 0.0,
            hold: 0.0,
        }
    }

    /// Where the next sample falls in the timecode: frames since 00:00:00:00, fractions
    /// included.
    pub fn position_frames(&self) -> f64 {
        let word_samples = 80.0 * self.bit_samples;
        self.frame as f64 - self.hold / word_samples
            + (f64::from(self.bit_index) + self.in_bit / self.bit_samples) / 80.0
    }

    /// Runs `speed` times as fast as the rate (clamped to ±10 %, what receivers follow): how
    /// a generator on one clock keeps to a show on another without skipping a frame.
    pub fn set_speed(&mut self, speed: f64) {
        let speed = if speed.is_finite() {
            speed.clamp(0.9, 1.1)
        } else {
            1.0
        };
        let at = self.in_bit / self.bit_samples;
        self.bit_samples = self.nominal_bit_samples / speed;
        self.in_bit = at * self.bit_samples;
    }

    /// Moves to `frames` (frames since 00:00:00:00, fractions included): after a locate, or a
    /// drift too large to catch up. Between two labels it holds the line still until the next
    /// label's moment and starts that word whole: a receiver sees a short gap, never a word
    /// made of two.
    pub fn locate(&mut self, frames: f64) {
        let frames = if frames.is_finite() {
            frames.max(0.0)
        } else {
            0.0
        };
        let whole = frames.ceil();
        self.frame = whole as u64;
        self.word = word(Timecode::from_frame_count(self.frame, self.rate), self.rate);
        self.bit_index = 0;
        self.in_bit = 0.0;
        self.hold = (whole - frames) * 80.0 * self.bit_samples;
    }

    /// The next sample.
    pub fn next_sample(&mut self) -> f32 {
        if self.word == 0 {
            self.locate(self.frame as f64);
        }
        if self.hold >= 1.0 {
            self.hold -= 1.0;
            self.out += 0.6 * (self.level - self.out);
            return self.out * self.amplitude;
        }
        self.hold = 0.0;
        let half = self.bit_samples / 2.0;
        let before = self.in_bit;
        if before == 0.0 {
            self.level = -self.level;
        }
        self.in_bit += 1.0;
        // A one flips again in the middle of its bit.
        if bit(self.word, self.bit_index) == 1 && before < half && self.in_bit >= half {
            self.level = -self.level;
        }
        if self.in_bit >= self.bit_samples {
            self.in_bit -= self.bit_samples;
            self.bit_index += 1;
            if self.bit_index >= 80 {
                self.frame += 1;
                self.word = word(Timecode::from_frame_count(self.frame, self.rate), self.rate);
                self.bit_index = 0;
            }
            if self.in_bit > 0.0 {
                // The next bit started inside this sample: its flip is this sample's.
                self.level = -self.level;
                if bit(self.word, self.bit_index) == 1 && self.in_bit >= half {
                    self.level = -self.level;
                }
            }
        }
        // Softened edges: a one-pole low-pass, about 25 µs at 48 kHz.
        self.out += 0.6 * (self.level - self.out);
        self.out * self.amplitude
    }
}

/// One frame read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LtcFrame {
    pub tc: Timecode,
    /// The drop-frame flag was set.
    pub drop_frame: bool,
    /// The sample (counted from the decoder's first) the word's last bit ended on: the next
    /// frame's start.
    pub end_sample: u64,
    /// Samples a bit lasted, as the decoder measured it.
    pub bit_samples: f64,
}

/// Reads LTC from sound.
#[derive(Clone, Debug)]
pub struct LtcDecoder {
    /// The slow average (DC), the level's envelope, the hysteresis state.
    dc: f32,
    envelope: f32,
    high: bool,
    previous: f32,
    /// The last zero crossing and the last edge, in samples (fractional).
    last_zero: f64,
    last_edge: Option<f64>,
    /// The bit length (samples) as learnt; 0 until the first intervals are in.
    bit_samples: f64,
    learning: [f64; 32],
    learnt: usize,
    /// A half-bit interval waiting for its twin.
    half: Option<f64>,
    word: u128,
    bits: u32,
    sample: u64,
    /// The expected bit length at the rate given, to bound what is learnt.
    nominal: f64,
}

impl LtcDecoder {
    /// A decoder for a signal at `sample_rate_hz` carrying timecode at about `rate`.
    pub fn new(sample_rate_hz: u32, rate: FrameRate) -> Self {
        Self {
            dc: 0.0,
            envelope: 0.0,
            high: false,
            previous: 0.0,
            last_zero: 0.0,
            last_edge: None,
            bit_samples: 0.0,
            learning: [0.0; 32],
            learnt: 0,
            half: None,
            word: 0,
            bits: 0,
            sample: 0,
            nominal: f64::from(sample_rate_hz) / (80.0 * rate.fps()),
        }
    }

    /// Samples read so far.
    pub fn samples(&self) -> u64 {
        self.sample
    }

    /// Reads `samples`; `found` gets each frame whose word completes in them.
    pub fn push(&mut self, samples: &[f32], mut found: impl FnMut(LtcFrame)) {
        for &x in samples {
            let x = if x.is_finite() { x } else { 0.0 };
            self.dc += 0.0005 * (x - self.dc);
            let v = x - self.dc;
            self.envelope = (self.envelope * 0.9995).max(v.abs());
            let now = self.sample as f64;
            if (v >= 0.0) != (self.previous >= 0.0) {
                let span = f64::from(self.previous - v);
                let frac = if span.abs() > 1e-12 {
                    f64::from(self.previous) / span
                } else {
                    0.5
                };
                self.last_zero = now - 1.0 + frac.clamp(0.0, 1.0);
            }
            self.previous = v;
            let threshold = 0.3 * self.envelope;
            let flipped = match self.high {
                false => v > threshold,
                true => v < -threshold,
            };
            self.sample += 1;
            if !flipped || self.envelope < 1e-4 {
                continue;
            }
            self.high = !self.high;
            let edge = self.last_zero;
            if let Some(last) = self.last_edge.replace(edge) {
                self.interval(edge - last, &mut found);
            }
        }
    }

    fn interval(&mut self, d: f64, found: &mut impl FnMut(LtcFrame)) {
        // Half a bit at 40 % over the fastest rate to a bit at 40 % under the slowest.
        if !(self.nominal * 0.3..=self.nominal * 1.6).contains(&d) {
            self.lose();
            return;
        }
        if self.bit_samples == 0.0 {
            self.learning[self.learnt] = d;
            self.learnt += 1;
            if self.learnt == self.learning.len() {
                // Whole bits are the longest intervals; halves about half as long.
                let longest = self.learning.iter().cloned().fold(0.0, f64::max);
                let (sum, n) = self
                    .learning
                    .iter()
                    .filter(|d| **d > 0.75 * longest)
                    .fold((0.0, 0), |(s, n), d| (s + d, n + 1));
                self.bit_samples = sum / f64::from(n);
                self.learnt = 0;
            }
            return;
        }
        let t = self.bit_samples;
        if d > 0.75 * t {
            if self.half.take().is_some() {
                // A lone half bit: out of step; start the word again.
                self.word = 0;
                self.bits = 0;
            }
            self.bit_samples += 0.05 * (d - t);
            self.shift(0, found);
        } else if let Some(first) = self.half.take() {
            self.bit_samples += 0.05 * (first + d - t);
            self.shift(1, found);
        } else {
            self.half = Some(d);
        }
    }

    fn shift(&mut self, b: u32, found: &mut impl FnMut(LtcFrame)) {
        self.word = (self.word >> 1) | (u128::from(b) << 79);
        self.bits = self.bits.saturating_add(1);
        if self.bits >= 80
            && ((self.word >> 64) & 0xFFFF) as u16 == SYNC
            && let Some((tc, drop_frame)) = label(self.word)
        {
            found(LtcFrame {
                tc,
                drop_frame,
                end_sample: self
                    .last_edge
                    .map_or(self.sample, |e| e.max(0.0).round() as u64),
                bit_samples: self.bit_samples,
            });
        }
    }

    /// The signal was lost: learn the bit length again.
    fn lose(&mut self) {
        self.bit_samples = 0.0;
        self.learnt = 0;
        self.half = None;
        self.word = 0;
        self.bits = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `seconds` of LTC from `start` at `rate`, at a device running `speed` times fast.
    fn ltc(start: &str, rate: FrameRate, seconds: f64, speed: f64) -> Vec<f32> {
        let sample_rate = 48_000;
        let mut e = LtcEncoder::new(rate, (f64::from(sample_rate) / speed) as u32, 0.5);
        e.locate(start.parse::<Timecode>().unwrap().frame_count(rate) as f64);
        (0..(seconds * f64::from(sample_rate)) as usize)
            .map(|_| e.next_sample())
            .collect()
    }

    fn read(samples: &[f32], rate: FrameRate) -> Vec<LtcFrame> {
        let mut d = LtcDecoder::new(48_000, rate);
        let mut frames = Vec::new();
        d.push(samples, |f| frames.push(f));
        frames
    }

    #[test]
    fn a_word_holds_its_label_its_sync_word_and_an_even_count_of_ones() {
        for rate in FrameRate::ALL {
            let tc: Timecode = "23:59:58:21".parse().unwrap();
            let w = word(tc, rate);
            assert_eq!(label(w), Some((tc, rate.drop_frame())));
            assert_eq!(((w >> 64) & 0xFFFF) as u16, SYNC);
            assert_eq!(w.count_ones() % 2, 0, "{rate:?}");
        }
    }

    #[test]
    fn every_rate_reads_back_frame_after_frame() {
        for rate in FrameRate::ALL {
            let frames = read(&ltc("01:00:00:00", rate, 2.0, 1.0), rate);
            let start = "01:00:00:00".parse::<Timecode>().unwrap().frame_count(rate);
            assert!(
                frames.len() as f64 > 2.0 * rate.fps() - 4.0,
                "{rate:?}: {}",
                frames.len()
            );
            for (a, b) in frames.iter().zip(&frames[1..]) {
                assert_eq!(
                    b.tc.frame_count(rate),
                    a.tc.frame_count(rate) + 1,
                    "{rate:?}"
                );
                assert_eq!(b.drop_frame, rate.drop_frame());
            }
            // Each word ends where the next frame starts.
            let f = frames.last().unwrap();
            let end_s = f.end_sample as f64 / 48_000.0;
            let label_end_s = (f.tc.frame_count(rate) + 1 - start) as f64 / rate.fps();
            assert!(
                (end_s - label_end_s).abs() < 0.001,
                "{rate:?}: {end_s} {label_end_s}"
            );
        }
    }

    #[test]
    fn ten_per_cent_fast_or_slow_inverted_or_noisy_still_reads() {
        let rate = FrameRate::Fps25;
        for speed in [0.9, 1.1] {
            let frames = read(&ltc("00:10:00:00", rate, 2.0, speed), rate);
            assert!(frames.len() > 40, "speed {speed}: {}", frames.len());
        }
        let inverted: Vec<f32> = ltc("00:10:00:00", rate, 1.0, 1.0)
            .iter()
            .map(|x| -x)
            .collect();
        assert!(read(&inverted, rate).len() > 20);
        // White noise 20 dB under the signal, and a hum.
        let mut seed = 12345u32;
        let noisy: Vec<f32> = ltc("00:10:00:00", rate, 2.0, 1.0)
            .iter()
            .enumerate()
            .map(|(i, x)| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                x + 0.1 * noise + 0.05 * (i as f32 * 50.0 * std::f32::consts::TAU / 48_000.0).sin()
            })
            .collect();
        let frames = read(&noisy, rate);
        assert!(frames.len() > 45, "{}", frames.len());
        for (a, b) in frames.iter().zip(&frames[1..]) {
            assert_eq!(b.tc.frame_count(rate), a.tc.frame_count(rate) + 1);
        }
    }

    #[test]
    fn silence_and_garbage_read_as_nothing() {
        assert!(read(&vec![0.0; 48_000], FrameRate::Fps25).is_empty());
        let garbage: Vec<f32> = (0..48_000)
            .map(|i| ((i * 7919) % 13) as f32 - 6.0)
            .collect();
        assert!(read(&garbage, FrameRate::Fps25).is_empty());
        let nan = vec![f32::NAN; 1000];
        assert!(read(&nan, FrameRate::Fps25).is_empty());
    }
}
