//! Live input (line in): an optional cpal input stream analysed exactly like the output, so
//! the visuals can follow a DJ's music instead of (or as well as) Somnia's own sound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cpal::traits::{DeviceTrait, StreamTrait};

use super::analysis::Analyzer;
use super::device::{AudioError, device_name, input_device, quiet_alsa};
use crate::bridge::AnalysisWriter;

/// The largest input buffer analysed in one go; longer ones are split.
const MAX_FRAMES: usize = 4096;

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
    pub fn start(name: Option<&str>, writer: AnalysisWriter) -> Result<Self, AudioError> {
        quiet_alsa(|| Self::start_inner(name, writer))
    }

    fn start_inner(name: Option<&str>, writer: AnalysisWriter) -> Result<Self, AudioError> {
        let device = input_device(name, " for input")?;
        let dev_name = device_name(&device);
        let err = |reason: String| AudioError::Stream {
            device: dev_name.clone(),
            reason,
        };
        let supported = device
            .default_input_config()
            .map_err(|e| err(e.to_string()))?;
        let config = supported.config();
        let sample_rate_hz = config.sample_rate;
        let failed = Arc::new(AtomicBool::new(false));
        let stream = match supported.sample_format() {
            cpal::SampleFormat::F32 => build::<f32>(&device, config, writer, failed.clone()),
            cpal::SampleFormat::I16 => build::<i16>(&device, config, writer, failed.clone()),
            cpal::SampleFormat::I32 => build::<i32>(&device, config, writer, failed.clone()),
            other => return Err(err(format!("sample format {other} is not supported"))),
        }
        .map_err(|e| err(e.to_string()))?;
        stream.play().map_err(|e| err(e.to_string()))?;
        Ok(Self {
            _stream: stream,
            failed,
            name: dev_name,
            sample_rate_hz,
        })
    }

    /// True once the device reported an error.
    pub fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

fn build<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut writer: AnalysisWriter,
    failed: Arc<AtomicBool>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: cpal::SizedSample,
    f32: cpal::FromSample<T>,
{
    let channels = usize::from(config.channels).max(1);
    let mut analyzer = Analyzer::new(config.sample_rate);
    // Allocated once here; the callback only reuses it.
    let mut stereo = vec![0.0f32; 2 * MAX_FRAMES];
    let mut position: i64 = 0;
    let callback = move |data: &[T], _: &cpal::InputCallbackInfo| {
        for chunk in data.chunks(MAX_FRAMES * channels) {
            let frames = chunk.len() / channels;
            for (dst, frame) in stereo.chunks_mut(2).zip(chunk.chunks(channels)) {
                let l: f32 = cpal::Sample::from_sample(frame[0]);
                let r: f32 = if channels > 1 {
                    cpal::Sample::from_sample(frame[1])
                } else {
                    l
                };
                dst[0] = l;
                dst[1] = r;
            }
            analyzer.push(&stereo[..2 * frames], position);
            position += frames as i64;
        }
        writer.publish(analyzer.analysis());
    };
    let on_error = move |e: cpal::Error| {
        if !failed.swap(true, Ordering::Relaxed) {
            tracing::warn!("somnia: audio input failed: {e}");
        }
    };
    device.build_input_stream::<T, _, _>(config, callback, on_error, None)
}
