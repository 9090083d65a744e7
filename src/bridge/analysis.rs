//! The analysis snapshot the audio thread publishes and the render thread reads, through a
//! triple buffer: the writer never waits, the reader always gets the newest complete snapshot.

/// Number of spectrum bands.
pub const BANDS: usize = 8;

/// Columns of the spectrum and samples of the waveform in an [`AudioShape`].
pub const SHAPE_LEN: usize = 256;

/// The sound's shape as shaders read it (ISF's `audio` and `audioFFT` inputs, Shadertoy's
/// audio channel), in bytes as Web Audio gives them to Shadertoy: the spectrum's 256 columns
/// from 0 Hz to a quarter of the sample rate, each -100..-30 dB as 0..255 and smoothed as Web
/// Audio smooths (0.8); the waveform the last 256 samples (mono), 128 for silence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioShape {
    pub spectrum: [u8; SHAPE_LEN],
    pub waveform: [u8; SHAPE_LEN],
}

impl Default for AudioShape {
    fn default() -> Self {
        Self {
            spectrum: [0; SHAPE_LEN],
            waveform: [128; SHAPE_LEN],
        }
    }
}

/// What the visuals see of the sound, published after every block.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Analysis {
    pub rms: f32,
    pub peak: f32,
    /// Band levels, 0..~1, log-spaced from 40 Hz to 16 kHz.
    pub bands: [f32; BANDS],
    /// How many onsets have been detected so far (a change means a new one).
    pub onsets: u32,
    /// Time of the latest onset, in seconds on the sample clock.
    pub last_onset_s: f64,
    /// Tempo estimate in BPM (0 until there are enough onsets).
    pub bpm: f32,
    /// The spectrum and waveform of the latest analysis frame.
    pub shape: AudioShape,
    /// Analysis frames so far (a change means a new `shape`).
    pub frames: u32,
}

/// The audio side's end: `publish` never blocks and never allocates.
pub struct AnalysisWriter(triple_buffer::Input<Analysis>);

/// The render side's end.
pub struct AnalysisReader(triple_buffer::Output<Analysis>);

impl AnalysisWriter {
    pub fn publish(&mut self, a: Analysis) {
        self.0.write(a);
    }
}

impl AnalysisReader {
    /// The newest snapshot.
    pub fn latest(&mut self) -> Analysis {
        *self.0.read()
    }
}

pub fn analysis_channel() -> (AnalysisWriter, AnalysisReader) {
    let (i, o) = triple_buffer::TripleBuffer::new(&Analysis::default()).split();
    (AnalysisWriter(i), AnalysisReader(o))
}

/// The analysis of every block of a render, so offline frames can react to the audio
/// exactly as the live picture would. The shapes (half a kilobyte each) are kept once per
/// analysis frame, not per block: an hour's render keeps about 170 MB of them, not four times
/// as much.
#[derive(Clone, Debug, Default)]
pub struct AnalysisTrack {
    pub sample_rate_hz: u32,
    pub block_frames: usize,
    /// Each block's analysis, its `shape` left out (see `shapes`).
    pub blocks: Vec<Analysis>,
    /// (the first block it shows in, the shape), in order: each new analysis frame's.
    pub shapes: Vec<(usize, AudioShape)>,
}

impl AnalysisTrack {
    /// Records the analysis of the next block.
    pub fn push(&mut self, mut a: Analysis) {
        let last_frames = self.blocks.last().map(|b| b.frames);
        if last_frames != Some(a.frames) {
            self.shapes.push((self.blocks.len(), a.shape));
        }
        a.shape = AudioShape::default();
        self.blocks.push(a);
    }

    /// The analysis of the block that contains `time_s`.
    pub fn at(&self, time_s: f64) -> Analysis {
        if self.blocks.is_empty() || time_s < 0.0 {
            return Analysis::default();
        }
        let i = (time_s * f64::from(self.sample_rate_hz) / self.block_frames as f64) as usize;
        let i = i.min(self.blocks.len() - 1);
        let mut a = self.blocks[i];
        let shown = self.shapes.partition_point(|(from, _)| *from <= i);
        if let Some((_, shape)) = shown.checked_sub(1).and_then(|k| self.shapes.get(k)) {
            a.shape = *shape;
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_sees_the_newest_snapshot() {
        let (mut w, mut r) = analysis_channel();
        assert_eq!(r.latest(), Analysis::default());
        w.publish(Analysis {
            rms: 0.1,
            ..Default::default()
        });
        w.publish(Analysis {
            rms: 0.2,
            ..Default::default()
        });
        assert_eq!(r.latest().rms, 0.2);
    }
}
