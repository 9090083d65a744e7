//! Offline rendering: the same [`Engine::process`] driven by a plain loop, as fast as the
//! machine allows, into a WAV file (48 kHz stereo 32-bit float, via hound). The same
//! performance and settings always give the same bytes.

use std::path::Path;

use super::engine::Engine;
use crate::bridge::{Analysis, event_queue};
use crate::show::Timeline;
use crate::show::scheduler::Scheduler;

/// Frames per block in offline renders.
pub const OFFLINE_BLOCK_FRAMES: usize = 256;

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

/// Renders `seconds` of `timeline`, handing each block (interleaved stereo) to `sink`.
/// `progress` is told the frames done so far after every block.
pub fn render_blocks(
    timeline: &Timeline,
    seconds: f64,
    sample_rate_hz: u32,
    block_frames: usize,
    mut sink: impl FnMut(&[f32]) -> std::io::Result<()>,
    mut progress: impl FnMut(u64),
) -> std::io::Result<AnalysisTrack> {
    let total = crate::clock::seconds_to_samples(seconds, sample_rate_hz);
    let (mut tx, rx) = event_queue(1024);
    let mut scheduler = Scheduler::new(timeline, sample_rate_hz);
    let mut engine = Engine::new(sample_rate_hz, timeline.initial_patch, rx);
    let mut buf = vec![0.0f32; 2 * block_frames];
    let mut track = AnalysisTrack {
        sample_rate_hz,
        block_frames,
        blocks: Vec::with_capacity((total as usize) / block_frames + 1),
    };
    let mut done = 0u64;
    while done < total {
        let frames = (total - done).min(block_frames as u64) as usize;
        let block = &mut buf[..2 * frames];
        // Everything due before the end of this block; events that do not fit wait for the next.
        scheduler.feed(done + frames as u64, &mut tx);
        engine.process(block, false);
        sink(block)?;
        track.blocks.push(engine.analysis());
        done += frames as u64;
        progress(done);
    }
    Ok(track)
}

/// Renders `seconds` of `timeline` to a WAV file at `path`.
pub fn render_wav(
    timeline: &Timeline,
    seconds: f64,
    path: &Path,
    progress: impl FnMut(u64),
) -> std::io::Result<AnalysisTrack> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: crate::SAMPLE_RATE_HZ,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(std::io::Error::other)?;
    let track = render_blocks(
        timeline,
        seconds,
        crate::SAMPLE_RATE_HZ,
        OFFLINE_BLOCK_FRAMES,
        |block| {
            for s in block {
                writer.write_sample(*s).map_err(std::io::Error::other)?;
            }
            Ok(())
        },
        progress,
    )?;
    writer.finalize().map_err(std::io::Error::other)?;
    Ok(track)
}
