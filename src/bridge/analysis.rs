//! The analysis snapshot the audio thread publishes and the render thread reads, through a
//! triple buffer: the writer never waits, the reader always gets the newest complete snapshot.

/// Number of spectrum bands.
pub const BANDS: usize = 8;

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
/// exactly as the live picture would.
#[derive(Clone, Debug, Default)]
pub struct AnalysisTrack {
    pub sample_rate_hz: u32,
    pub block_frames: usize,
    pub blocks: Vec<Analysis>,
}

impl AnalysisTrack {
    /// The analysis of the block that contains `time_s`.
    pub fn at(&self, time_s: f64) -> Analysis {
        if self.blocks.is_empty() || time_s < 0.0 {
            return Analysis::default();
        }
        let i = (time_s * f64::from(self.sample_rate_hz) / self.block_frames as f64) as usize;
        self.blocks[i.min(self.blocks.len() - 1)]
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
