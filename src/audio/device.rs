//! Our one wrapper around cpal: choose an output device and format, and run
//! [`Engine::process`] from its callback. The supervisor (`supervisor.rs`) decides what to do
//! when a device goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::engine::Engine;
use super::rt_priority;
use crate::bridge::{AnalysisWriter, Transport};

/// The largest block the engine renders at once; longer device buffers are split.
const MAX_BLOCK_FRAMES: usize = 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    #[error("no audio output device{0}")]
    NoDevice(String),
    #[error("the audio device `{device}` cannot play: {reason}")]
    Stream { device: String, reason: String },
}

/// An output device with the format chosen for it, before the engine exists (the engine
/// needs the sample rate).
pub struct PreparedOutput {
    device: cpal::Device,
    config: cpal::StreamConfig,
    format: cpal::SampleFormat,
    pub name: String,
}

impl PreparedOutput {
    pub fn sample_rate_hz(&self) -> u32 {
        self.config.sample_rate
    }

    pub fn buffer_frames(&self) -> Option<u32> {
        match self.config.buffer_size {
            cpal::BufferSize::Fixed(n) => Some(n),
            _ => None,
        }
    }
}

pub(crate) fn device_name(d: &cpal::Device) -> String {
    d.description()
        .map(|desc| desc.to_string())
        .unwrap_or_else(|_| "(unnamed device)".into())
}

/// Names of the output devices of the default host.
pub fn output_device_names() -> Result<Vec<String>, String> {
    let host = cpal::default_host();
    let devices = host.output_devices().map_err(|e| e.to_string())?;
    Ok(devices.map(|d| device_name(&d)).collect())
}

/// Runs `f` with the process's stderr sent to /dev/null. ALSA's library prints several lines
/// of its own to stderr when no card or sound server is reachable; cpal hands us the error as a
/// value, and we print one clear line instead. `SOMNIA_AUDIO_DEBUG=1` keeps ALSA's output.
#[cfg(target_os = "linux")]
pub(crate) fn quiet_alsa<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: `self.0` is a descriptor we duplicated from stderr and still own.
            unsafe {
                libc::dup2(self.0, 2);
                libc::close(self.0);
            }
        }
    }
    if std::env::var_os("SOMNIA_AUDIO_DEBUG").is_some() {
        return f();
    }
    // SAFETY: plain descriptor calls; every descriptor opened here is closed or handed to
    // `Restore`, which puts stderr back even if `f` panics.
    let _restore = unsafe {
        let saved = libc::dup(2);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if saved < 0 || null < 0 {
            if saved >= 0 {
                libc::close(saved);
            }
            if null >= 0 {
                libc::close(null);
            }
            return f();
        }
        libc::dup2(null, 2);
        libc::close(null);
        Restore(saved)
    };
    f()
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn quiet_alsa<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// Picks the named device (or the default) and a format: 48 kHz stereo f32 when offered,
/// else the device's default format.
pub fn prepare_output(
    name: Option<&str>,
    buffer_frames: Option<u32>,
) -> Result<PreparedOutput, AudioError> {
    quiet_alsa(|| prepare_output_inner(name, buffer_frames))
}

fn prepare_output_inner(
    name: Option<&str>,
    buffer_frames: Option<u32>,
) -> Result<PreparedOutput, AudioError> {
    let host = cpal::default_host();
    let device = match name {
        None => host.default_output_device().ok_or_else(|| {
            AudioError::NoDevice(format!(
                " (the {} audio system reports none)",
                host.id().name()
            ))
        })?,
        Some(want) => host
            .output_devices()
            .map_err(|e| AudioError::NoDevice(format!(": {e}")))?
            .find(|d| device_name(d).contains(want))
            .ok_or_else(|| {
                AudioError::NoDevice(format!(
                    " matching `{want}`; `somnia list audio` shows the devices"
                ))
            })?,
    };
    let name = device_name(&device);
    let stream_err = |reason: String| AudioError::Stream {
        device: name.clone(),
        reason,
    };
    let wanted = device
        .supported_output_configs()
        .map_err(|e| stream_err(e.to_string()))?
        .filter(|c| c.channels() >= 2)
        .find(|c| {
            c.sample_format() == cpal::SampleFormat::F32
                && c.min_sample_rate() <= crate::SAMPLE_RATE_HZ
                && c.max_sample_rate() >= crate::SAMPLE_RATE_HZ
        })
        .map(|c| c.with_sample_rate(crate::SAMPLE_RATE_HZ));
    let supported = match wanted {
        Some(c) => c,
        None => device
            .default_output_config()
            .map_err(|e| stream_err(e.to_string()))?,
    };
    let mut config = supported.config();
    if let Some(n) = buffer_frames {
        config.buffer_size = cpal::BufferSize::Fixed(n);
    }
    Ok(PreparedOutput {
        device,
        config,
        format: supported.sample_format(),
        name,
    })
}

/// Everything the audio callback owns. It travels in a `Box` so it can move between a device
/// stream and the supervisor's stand-in clock without being rebuilt.
pub struct Core {
    pub engine: Engine,
    pub analysis: AnalysisWriter,
}

impl Core {
    /// Carries out what the control thread asked of the clock (a seek) before a block.
    pub fn follow(&mut self, transport: &Transport) {
        if let Some(sample) = transport.take_seek() {
            self.engine.seek(sample);
            transport.seek_done();
        }
    }

    /// Renders one block for a device buffer `data` of `channels`-channel frames.
    fn render<T: cpal::Sample + cpal::FromSample<f32>>(
        &mut self,
        data: &mut [T],
        channels: usize,
        scratch: &mut [f32],
        paused: bool,
    ) {
        for out in data.chunks_mut(MAX_BLOCK_FRAMES * channels) {
            let frames = out.len() / channels;
            let block = &mut scratch[..2 * frames];
            self.engine.process(block, paused);
            for (frame, src) in out.chunks_mut(channels).zip(block.chunks(2)) {
                for (c, s) in frame.iter_mut().enumerate() {
                    let v = match c {
                        0 => src[0],
                        1 => src[1],
                        _ => 0.0,
                    };
                    *s = T::from_sample(v);
                }
            }
        }
        self.analysis.publish(self.engine.analysis());
    }

    /// Renders `frames` and throws them away: the supervisor's silent stand-in for a device.
    pub fn render_silently(&mut self, frames: usize, scratch: &mut [f32], paused: bool) {
        let mut left = frames;
        while left > 0 {
            let n = left.min(MAX_BLOCK_FRAMES);
            self.engine.process(&mut scratch[..2 * n], paused);
            left -= n;
        }
        self.analysis.publish(self.engine.analysis());
    }

    /// The output's delay behind the engine clock (the limiter's lookahead).
    pub fn latency(&self) -> Duration {
        Duration::from_secs_f64(
            self.engine.latency_samples() as f64 / f64::from(self.engine.sample_rate_hz()),
        )
    }
}

/// A scratch buffer big enough for [`Core::render_silently`] and the device callback.
pub fn scratch_buffer() -> Vec<f32> {
    vec![0.0f32; 2 * MAX_BLOCK_FRAMES]
}

/// Owns the `Core` inside a stream's callback and sends it home when the callback is dropped
/// (the stream closed, or failed to build), so a lost device never loses the engine.
struct Holder {
    core: Option<Box<Core>>,
    home: Sender<Box<Core>>,
}

impl Drop for Holder {
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            let _ = self.home.send(core);
        }
    }
}

/// How long a stream may report backend errors without calling back before it is given up
/// and reopened. Short, so a dead stream is silent for a fraction of a second rather than the
/// watchdog's two; long enough to ride out the ALSA PulseAudio plugin's passing I/O errors.
const SILENT_ERRORS_FATAL_S: f64 = 0.25;

/// Whether a stream error means the stream is dead (as opposed to a glitch it survives).
/// An xrun, a reroute or a refused real-time promotion leave the stream playing. A backend
/// error does too while the stream still calls back: the ALSA PulseAudio plugin
/// (alsa-plugins 1.2.7) reports libpulse's "no timing data yet" after an underrun as an I/O
/// error, and cpal's worker polls again and plays on. Reopening on each of those threw away
/// the buffered sound (150-240 ms gaps under load). A stream that errors and has not called
/// back for `SILENT_ERRORS_FATAL_S` is dead; so is any other kind of error.
fn is_fatal(e: &cpal::Error, seconds_since_callback: f64) -> bool {
    match e.kind() {
        cpal::ErrorKind::Xrun
        | cpal::ErrorKind::DeviceChanged
        | cpal::ErrorKind::RealtimeDenied => false,
        cpal::ErrorKind::BackendError => seconds_since_callback > SILENT_ERRORS_FATAL_S,
        _ => true,
    }
}

/// Opens and starts a stream on `prepared` that runs `core`. On failure the core is sent back
/// through `home` (the callback holding it is dropped by cpal) and the error is returned.
pub fn open_stream(
    prepared: &PreparedOutput,
    core: Box<Core>,
    transport: Arc<Transport>,
    failed: Arc<AtomicBool>,
    home: Sender<Box<Core>>,
) -> Result<cpal::Stream, AudioError> {
    let holder = Holder {
        core: Some(core),
        home,
    };
    let stream = quiet_alsa(|| match prepared.format {
        cpal::SampleFormat::F32 => build::<f32>(prepared, holder, transport, failed),
        cpal::SampleFormat::I16 => build::<i16>(prepared, holder, transport, failed),
        cpal::SampleFormat::I32 => build::<i32>(prepared, holder, transport, failed),
        cpal::SampleFormat::U16 => build::<u16>(prepared, holder, transport, failed),
        other => Err(AudioError::Stream {
            device: prepared.name.clone(),
            reason: format!("sample format {other} is not supported"),
        }),
    })?;
    quiet_alsa(|| stream.play()).map_err(|e| AudioError::Stream {
        device: prepared.name.clone(),
        reason: e.to_string(),
    })?;
    rt_priority::promote_sound_server_threads();
    Ok(stream)
}

fn build<T>(
    prepared: &PreparedOutput,
    mut holder: Holder,
    transport: Arc<Transport>,
    failed: Arc<AtomicBool>,
) -> Result<cpal::Stream, AudioError>
where
    T: cpal::SizedSample + cpal::FromSample<f32>,
{
    let channels = usize::from(prepared.config.channels).max(1);
    // Allocated here, once, before the stream starts: the callback only reuses it.
    let mut scratch = scratch_buffer();
    // The error callback's view of the clock: it counts underruns and reads how long the
    // stream has been silent.
    let err_transport = transport.clone();
    let mut asked_priority = false;
    let callback = move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
        if !asked_priority {
            // Once per stream, on its own thread: one system call, reported through an atomic.
            asked_priority = true;
            transport.note_audio_priority(rt_priority::promote_current_thread());
        }
        let Some(core) = holder.core.as_mut() else {
            data.fill(T::EQUILIBRIUM);
            return;
        };
        core.follow(&transport);
        let start = core.engine.position_samples();
        let now = Instant::now();
        core.render(data, channels, &mut scratch, transport.is_pause_requested());
        transport.count_late_events(core.engine.take_late_events());
        // The block just rendered starts sounding after the device's output latency; publish
        // that moment so the picture shows what is heard, not what is being computed.
        let ts = info.timestamp();
        let latency = ts
            .playback
            .saturating_duration_since(ts.callback)
            .min(Duration::from_millis(500))
            + core.latency();
        transport.publish_position(start, (data.len() / channels) as u32, now + latency);
        transport.mark_callback(now);
    };
    let err_name = prepared.name.clone();
    let mut last_hiccup: Option<Instant> = None;
    let on_error = move |e: cpal::Error| {
        if matches!(e.kind(), cpal::ErrorKind::Xrun) {
            err_transport.count_underrun();
        }
        // Runs on cpal's stream thread, not inside the audio callback: printing is fine here.
        if is_fatal(&e, err_transport.seconds_since_callback(Instant::now())) {
            if !failed.swap(true, Ordering::Relaxed) {
                eprintln!("somnia: audio device `{err_name}` failed: {e}");
            }
        } else if !matches!(e.kind(), cpal::ErrorKind::Xrun) {
            // At most one line every few seconds: a flaky device must not flood the log.
            let now = Instant::now();
            if last_hiccup.is_none_or(|t: Instant| now.duration_since(t).as_secs() >= 5) {
                last_hiccup = Some(now);
                eprintln!("somnia: audio device `{err_name}` hiccup (playing on): {e}");
            }
        }
    };
    prepared
        .device
        .build_output_stream::<T, _, _>(prepared.config, callback, on_error, None)
        .map_err(|e| AudioError::Stream {
            device: prepared.name.clone(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend_error() -> cpal::Error {
        cpal::Error::with_message(
            cpal::ErrorKind::BackendError,
            "ALSA function 'snd_pcm_avail_delay' failed with error 'I/O error (5)'",
        )
    }

    #[test]
    fn a_backend_error_from_a_stream_that_still_calls_back_is_ridden_out() {
        assert!(!is_fatal(&backend_error(), 0.01));
    }

    #[test]
    fn a_backend_error_after_a_quarter_second_without_callbacks_reopens_the_stream() {
        assert!(is_fatal(&backend_error(), 0.3));
    }

    #[test]
    fn an_unplugged_device_is_given_up_at_once() {
        assert!(is_fatal(&cpal::ErrorKind::DeviceNotAvailable.into(), 0.0));
    }

    #[test]
    fn underruns_and_reroutes_never_stop_the_stream() {
        for kind in [cpal::ErrorKind::Xrun, cpal::ErrorKind::DeviceChanged] {
            assert!(!is_fatal(&kind.into(), 10.0));
        }
    }
}
