//! LTC on channels of the show's own sound device (`--ltc-out-channels 3,4`): the audio
//! callback writes the show's time beside the mix, sample for sample on the same clock, so the
//! words never drift from what is heard and no second device is needed (the way a stage rig
//! sends timecode down a spare pair of its interface's outputs).
//!
//! Owned by the audio thread: nothing here allocates, locks or logs.

use crate::clock::ltc::LtcEncoder;

use super::ltc_streams::LtcOutSettings;

/// Which channels of the main device carry LTC, and how it is written.
#[derive(Clone, Debug)]
pub struct LtcChannelSettings {
    /// The device's channels carrying LTC, 0-based (at most 64).
    pub channels: Vec<u16>,
    pub out: LtcOutSettings,
}

impl LtcChannelSettings {
    /// How many channels the device must be opened with.
    pub fn channels_needed(&self) -> u16 {
        self.channels
            .iter()
            .map(|c| c + 1)
            .max()
            .unwrap_or(0)
            .max(2)
    }
}

/// How far (frames) the words may stand from the show before they are moved: a seek, or the
/// show standing still and going on.
const RELOCATE_FRAMES: f64 = 0.5;

/// The audio callback's LTC writer.
pub struct LtcChannels {
    encoder: LtcEncoder,
    /// Bit `c` set: channel `c` carries LTC.
    mask: u64,
    offset_s: f64,
    fps: f64,
    sample_rate_hz: f64,
    running: bool,
}

impl LtcChannels {
    pub fn new(settings: &LtcChannelSettings, sample_rate_hz: u32) -> Self {
        let amplitude = 10f32.powf(settings.out.level_db.min(0.0) / 20.0);
        Self {
            encoder: LtcEncoder::new(settings.out.rate, sample_rate_hz, amplitude),
            mask: settings
                .channels
                .iter()
                .filter(|c| **c < 64)
                .fold(0, |m, c| m | 1 << c),
            offset_s: settings.out.offset_s,
            fps: settings.out.rate.fps(),
            sample_rate_hz: f64::from(sample_rate_hz),
            running: false,
        }
    }

    /// Whether channel `c` (0-based) carries LTC.
    pub fn carries(&self, c: usize) -> bool {
        c < 64 && self.mask & (1 << c) != 0
    }

    /// Before a block: the show's sample heard at the block's first frame (`None` while the
    /// show stands), and the show clock's rate against the sound's.
    pub fn before_block(&mut self, heard_sample: Option<u64>, show_rate: f64) {
        let Some(sample) = heard_sample else {
            self.running = false;
            return;
        };
        let target = (sample as f64 / self.sample_rate_hz + self.offset_s) * self.fps;
        if !self.running || (target - self.encoder.position_frames()).abs() > RELOCATE_FRAMES {
            self.encoder.locate(target);
            self.running = true;
        }
        // Same clock as the mix: the words run at the show's own rate, and stay on it.
        self.encoder.set_speed(show_rate);
    }

    /// The next sample of LTC (silence while the show stands).
    pub fn next_sample(&mut self) -> f32 {
        if self.running {
            self.encoder.next_sample()
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ltc::LtcDecoder;
    use crate::clock::timecode::FrameRate;

    fn settings(rate: FrameRate) -> LtcChannelSettings {
        LtcChannelSettings {
            channels: vec![2, 3],
            out: LtcOutSettings {
                rate,
                offset_s: 3600.0,
                level_db: -12.0,
            },
        }
    }

    #[test]
    fn a_block_by_block_writer_keeps_every_word_on_the_shows_clock_and_moves_on_a_seek() {
        for rate in FrameRate::ALL {
            let mut ltc = LtcChannels::new(&settings(rate), 48_000);
            assert!(ltc.carries(2) && ltc.carries(3) && !ltc.carries(0) && !ltc.carries(1));
            // 3 s in blocks of 256, then a seek to 100 s, then 2 s more: what is written, and
            // the show's sample each written sample stands for.
            let (mut out, mut show) = (Vec::new(), Vec::new());
            let mut sample = 0u64;
            for block in 0..(5 * 48_000 / 256) {
                if block == 3 * 48_000 / 256 {
                    sample = 100 * 48_000;
                }
                ltc.before_block(Some(sample), 1.0);
                for _ in 0..256 {
                    out.push(ltc.next_sample());
                    show.push(sample);
                    sample += 1;
                }
            }
            let mut heard = Vec::new();
            LtcDecoder::new(48_000, rate).push(&out, |f| heard.push(f));
            assert!(
                heard.len() as f64 > 4.5 * rate.fps(),
                "{rate:?}: {}",
                heard.len()
            );
            // A word ends where the show reaches the frame after its label, within a frame.
            let mut seen_after_seek = false;
            for f in &heard {
                let at = show[(f.end_sample as usize).min(show.len() - 1)];
                let frames = (at as f64 / 48_000.0 + 3600.0) * rate.fps();
                let label = f.tc.frame_count(rate) as f64;
                assert!(
                    (frames - label - 1.0).abs() <= 1.0,
                    "{rate:?}: {} ended at show sample {at}",
                    f.tc
                );
                seen_after_seek |= at > 100 * 48_000;
            }
            assert!(seen_after_seek, "{rate:?}");
        }
    }

    #[test]
    fn a_standing_show_writes_silence() {
        let mut ltc = LtcChannels::new(&settings(FrameRate::Fps25), 48_000);
        ltc.before_block(None, 1.0);
        assert!((0..1000).all(|_| ltc.next_sample() == 0.0));
    }
}
