//! Live input (line in): an optional cpal input stream analysed exactly like the output, so
//! the visuals can follow a DJ's music instead of (or as well as) Somnia's own sound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::analysis::Analyzer;
use super::device::AudioError;
use super::input_stream::{MAX_FRAMES, start_input};
use crate::bridge::AnalysisWriter;

/// A running input stream. Dropping it stops listening.
pub struct AudioInput {
    _stream: cpal::Stream,
    failed: Arc<AtomicBool>,
    pub name: String,
    pub sample_rate_hz: u32,
}

impl AudioInput {
    /// Opens the named input device (a part of its name) or the default one and starts
    /// publishing its analysis to `writer`.
    pub fn start(name: Option<&str>, mut writer: AnalysisWriter) -> Result<Self, AudioError> {
        let failed = Arc::new(AtomicBool::new(false));
        let opened = start_input(
            name,
            " for input",
            "audio input",
            failed.clone(),
            |config| {
                let mut analyzer = Analyzer::new(config.sample_rate);
                // Made once here; the callback only reuses it.
                let mut stereo = vec![0.0f32; 2 * MAX_FRAMES];
                let mut position: i64 = 0;
                Ok(Box::new(move |block: &[f32], channels: usize| {
                    let frames = block.len() / channels;
                    for (dst, frame) in stereo.chunks_mut(2).zip(block.chunks(channels)) {
                        dst[0] = frame[0];
                        dst[1] = if channels > 1 { frame[1] } else { frame[0] };
                    }
                    analyzer.push(&stereo[..2 * frames], position);
                    position += frames as i64;
                    writer.publish(analyzer.analysis());
                }))
            },
        )?;
        Ok(Self {
            _stream: opened.stream,
            failed,
            name: opened.name,
            sample_rate_hz: opened.sample_rate_hz,
        })
    }

    /// True once the device reported an error.
    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}
