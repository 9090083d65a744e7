//! Opening an input device's stream, shared by line in (`input.rs`) and LTC in
//! (`ltc_streams.rs`): the device found by name, its own format taken, each block handed on as
//! interleaved f32. The callback converts into a buffer made here, so it never allocates, and
//! the handler it calls is made (and boxed) before the stream starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cpal::traits::{DeviceTrait, StreamTrait};

use super::device::{AudioError, device_name, input_device, quiet_alsa};

/// The most frames handed on at once; longer device buffers are split.
pub(crate) const MAX_FRAMES: usize = 4096;

/// What a block handler is: each block's interleaved samples and its channel count.
pub(crate) type BlockHandler = Box<dyn FnMut(&[f32], usize) + Send>;

/// A running input stream. Dropping it stops listening.
pub(crate) struct OpenedInput {
    pub stream: cpal::Stream,
    pub name: String,
    pub sample_rate_hz: u32,
}

/// Opens the input `want` names (a part of its name; the default input without one) and starts
/// it. `make` sees the device's configuration first: it may refuse it (a reason, said with the
/// device's name) or return the handler every block goes to. An error later marks `failed`
/// and is logged once as `what` failing (`"the LTC input"`). `looked_for` says in a "not
/// found" error which input was looked for (`" for input"`).
pub(crate) fn start_input(
    want: Option<&str>,
    looked_for: &str,
    what: &'static str,
    failed: Arc<AtomicBool>,
    make: impl FnOnce(&cpal::StreamConfig) -> Result<BlockHandler, String>,
) -> Result<OpenedInput, AudioError> {
    quiet_alsa(|| {
        let device = input_device(want, looked_for)?;
        let name = device_name(&device);
        let err = |reason: String| AudioError::Stream {
            device: name.clone(),
            reason,
        };
        let supported = device
            .default_input_config()
            .map_err(|e| err(e.to_string()))?;
        let config = supported.config();
        let handler = make(&config).map_err(err)?;
        let sample_rate_hz = config.sample_rate;
        let stream = match supported.sample_format() {
            cpal::SampleFormat::F32 => build::<f32>(&device, config, handler, what, failed),
            cpal::SampleFormat::I16 => build::<i16>(&device, config, handler, what, failed),
            cpal::SampleFormat::I32 => build::<i32>(&device, config, handler, what, failed),
            other => return Err(err(format!("sample format {other} is not supported"))),
        }
        .map_err(|e| err(e.to_string()))?;
        stream.play().map_err(|e| err(e.to_string()))?;
        Ok(OpenedInput {
            stream,
            name,
            sample_rate_hz,
        })
    })
}

fn build<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut handler: BlockHandler,
    what: &'static str,
    failed: Arc<AtomicBool>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: cpal::SizedSample,
    f32: cpal::FromSample<T>,
{
    let channels = usize::from(config.channels).max(1);
    // Made once here; the callback only reuses it.
    let mut converted = vec![0.0f32; MAX_FRAMES * channels];
    let callback = move |data: &[T], _: &cpal::InputCallbackInfo| {
        for chunk in data.chunks(MAX_FRAMES * channels) {
            let out = &mut converted[..chunk.len()];
            for (o, s) in out.iter_mut().zip(chunk) {
                *o = cpal::Sample::from_sample(*s);
            }
            handler(out, channels);
        }
    };
    let on_error = move |e: cpal::Error| {
        if !failed.swap(true, Ordering::Relaxed) {
            tracing::warn!("somnia: {what} failed: {e}");
        }
    };
    device.build_input_stream::<T, _, _>(config, callback, on_error, None)
}
