//! Our one wrapper around cpal: choose an output device and format, and run
//! [`Engine::process`] from its callback. The supervisor (`supervisor.rs`) decides what to do
//! when a device goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::engine::Engine;
use super::ltc_channels::LtcChannels;
use super::rt_priority;
use crate::bridge::{AnalysisWriter, RecordTap, Transport};

/// The largest block the engine renders at once; longer device buffers are split.
const MAX_BLOCK_FRAMES: usize = 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// No device (or none by that name): connect one, or name another (`somnia list audio`).
    #[error("no audio output device{0}")]
    NoDevice(String),
    /// The sound system itself cannot be asked (no server, no ALSA): start it.
    #[error("the sound system cannot list its devices: {0}")]
    Host(String),
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
    /// Whether the stream is cpal's JACK client, whose `playback` instant is JACK's own
    /// estimate of when a block is heard (see [`heard_lead_s`]).
    jack_timestamps: bool,
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

/// A device as a user names it: the backend's own name for it (ALSA's PCM name: `default`,
/// `pulse`, `hw:CARD=PCH,DEV=0`), which `--audio-device` takes, and what it says it is.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceInfo {
    pub name: String,
    pub description: String,
    pub is_default: bool,
}

impl DeviceInfo {
    fn of(d: &cpal::Device, default_id: Option<&str>) -> Self {
        let desc = d.description().ok();
        let id = d.id().ok().map(|id| id.id().to_string());
        let name = id
            .clone()
            .or_else(|| desc.as_ref().map(|x| x.name().to_string()))
            .unwrap_or_else(|| "(unnamed device)".into());
        let description = desc
            .map(|x| {
                let lines: Vec<&str> = x.extended().collect();
                if lines.is_empty() {
                    x.name().to_string()
                } else {
                    lines.join(", ")
                }
            })
            .unwrap_or_default();
        Self {
            is_default: id.is_some() && id.as_deref() == default_id,
            name,
            description,
        }
    }

    /// Whether `want` names this device: its name or description, without regard to case;
    /// `exact` asks for the whole of either.
    fn matches(&self, want: &str, exact: bool) -> bool {
        let want = want.to_lowercase();
        [&self.name, &self.description].iter().any(|s| {
            let s = s.to_lowercase();
            if exact { s == want } else { s.contains(&want) }
        })
    }
}

impl std::fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.description.is_empty() || self.description == self.name {
            write!(f, "`{}`", self.name)
        } else {
            write!(f, "`{}` ({})", self.name, self.description)
        }
    }
}

/// The name a user gives `--audio-device` (or `--input`) for `d`.
pub(crate) fn device_name(d: &cpal::Device) -> String {
    DeviceInfo::of(d, None).name
}

/// Whether `want` names `d` (a part of its name or description, any case).
pub(crate) fn device_matches(d: &cpal::Device, want: &str) -> bool {
    DeviceInfo::of(d, None).matches(want, false)
}

/// The input device named `want` (a part of its name or description), or the default input;
/// `what` says in an error which input was looked for (" for input", " for LTC input").
pub(crate) fn input_device(want: Option<&str>, what: &str) -> Result<cpal::Device, AudioError> {
    let host = cpal::default_host();
    match want {
        None => host
            .default_input_device()
            .ok_or_else(|| AudioError::NoDevice(what.into())),
        Some(want) => host
            .input_devices()
            .map_err(|e| AudioError::NoDevice(format!("{what}: {e}")))?
            .find(|d| device_matches(d, want))
            .ok_or_else(|| AudioError::NoDevice(format!("{what} matching `{want}`"))),
    }
}

/// The host's default output device, and its backend name.
fn default_output(host: &cpal::Host) -> (Option<cpal::Device>, Option<String>) {
    let default = host.default_output_device();
    let id = default
        .as_ref()
        .and_then(|d| d.id().ok())
        .map(|id| id.id().to_string());
    (default, id)
}

/// The output devices of the default host, the default first.
pub fn output_devices() -> Result<Vec<DeviceInfo>, AudioError> {
    quiet_alsa(|| {
        let host = cpal::default_host();
        let (default, default_id) = default_output(&host);
        let mut out: Vec<DeviceInfo> = host
            .output_devices()
            .map_err(|e| AudioError::Host(e.to_string()))?
            .map(|d| DeviceInfo::of(&d, default_id.as_deref()))
            .collect();
        if !out.iter().any(|d| d.is_default) {
            if let Some(d) = &default {
                out.insert(0, DeviceInfo::of(d, default_id.as_deref()));
            }
        }
        out.sort_by_key(|d| !d.is_default);
        Ok(out)
    })
}

/// `somnia list audio`: one device a line, its name first (what `--audio-device` takes), the
/// default marked with `*`.
pub fn output_device_lines() -> Result<Vec<String>, AudioError> {
    let devices = output_devices()?;
    let width = devices.iter().map(|d| d.name.len()).max().unwrap_or(0);
    Ok(devices
        .iter()
        .map(|d| {
            let mark = if d.is_default { "*" } else { " " };
            let note = if d.is_default {
                " (the default: what play uses without --audio-device)"
            } else {
                ""
            };
            format!("{mark} {:<width$}  {}{note}", d.name, d.description)
        })
        .collect())
}

/// Finds the device `want` names: its whole name or description first (any case), then a
/// part of one; `default` is the default device.
fn find_output(host: &cpal::Host, want: &str) -> Result<cpal::Device, AudioError> {
    let (default, default_id) = default_output(host);
    if let Some(d) = default.filter(|d| DeviceInfo::of(d, None).matches(want, true)) {
        return Ok(d);
    }
    let devices: Vec<cpal::Device> = host
        .output_devices()
        .map_err(|e| AudioError::NoDevice(format!(": {e}")))?
        .collect();
    let info: Vec<DeviceInfo> = devices
        .iter()
        .map(|d| DeviceInfo::of(d, default_id.as_deref()))
        .collect();
    let found = (info.iter().position(|d| d.matches(want, true)))
        .or_else(|| info.iter().position(|d| d.matches(want, false)));
    match found {
        Some(i) => Ok(devices.into_iter().nth(i).expect("an index into the list")),
        None => Err(AudioError::NoDevice(format!(
            " named `{want}`; `somnia list audio` shows the devices ({})",
            info.iter()
                .map(|d| d.name.as_str())
                .take(8)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
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

/// Opens nothing yet: finds the output `name` (the default without one) and a format for it
/// at the engine's rate with at least `channels` channels (2, or more when LTC rides on a
/// channel of its own).
pub fn prepare_output(
    name: Option<&str>,
    buffer_frames: Option<u32>,
    channels: u16,
) -> Result<PreparedOutput, AudioError> {
    let prepared = quiet_alsa(|| prepare_output_inner(name, buffer_frames, channels.max(2)))?;
    if prepared.config.channels < channels {
        return Err(AudioError::Stream {
            device: prepared.name.clone(),
            reason: format!(
                "it has {} output channels and {channels} are wanted (--ltc-out-channels); \
                 name a device with more, or put LTC on a second device with --ltc-out",
                prepared.config.channels
            ),
        });
    }
    Ok(prepared)
}

fn prepare_output_inner(
    name: Option<&str>,
    buffer_frames: Option<u32>,
    channels: u16,
) -> Result<PreparedOutput, AudioError> {
    if name.is_some_and(|n| n.starts_with(JACK_CLIENT)) {
        return prepare_jack_output(buffer_frames);
    }
    let host = cpal::default_host();
    let device = match name {
        None => host.default_output_device().ok_or_else(|| {
            AudioError::NoDevice(format!(
                " (the {} audio system reports none)",
                host.id().name()
            ))
        })?,
        Some(want) => find_output(&host, want)?,
    };
    let name = device_name(&device);
    let stream_err = |reason: String| AudioError::Stream {
        device: name.clone(),
        reason,
    };
    // The fewest channels that hold what is wanted: a device offering 1 to 32 (ALSA's
    // PulseAudio plugin) is opened with 2, or with 4 for LTC on channels 3 and 4.
    let wanted = device
        .supported_output_configs()
        .map_err(|e| stream_err(e.to_string()))?
        .filter(|c| {
            c.channels() >= channels
                && c.sample_format() == cpal::SampleFormat::F32
                && c.min_sample_rate() <= crate::SAMPLE_RATE_HZ
                && c.max_sample_rate() >= crate::SAMPLE_RATE_HZ
        })
        .min_by_key(|c| c.channels())
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
        jack_timestamps: false,
    })
}

/// `--audio-device jack:`: sound as a JACK client of our own (the `jack` build), its ports
/// connected to the server's playback ports, each block timed by JACK's own port latency.
/// (A plain `jack` is ALSA's JACK plugin, whose timing the plugin's buffer blurs.)
pub const JACK_CLIENT: &str = "jack:";

#[cfg(feature = "jack")]
fn prepare_jack_output(buffer_frames: Option<u32>) -> Result<PreparedOutput, AudioError> {
    let host = cpal::host_from_id(cpal::HostId::Jack)
        .map_err(|e| AudioError::NoDevice(format!(" (JACK: {e}; is a JACK server running?)")))?;
    let device = host.default_output_device().ok_or_else(|| {
        AudioError::NoDevice(" (no JACK server answered; is one running?)".to_string())
    })?;
    let name = format!("{JACK_CLIENT}{}", device_name(&device));
    let supported = device
        .default_output_config()
        .map_err(|e| AudioError::Stream {
            device: name.clone(),
            reason: e.to_string(),
        })?;
    let mut config = supported.config();
    // JACK's period is the server's: a buffer asked for here cannot change it.
    if buffer_frames.is_some() {
        tracing::info!(
            "somnia: a JACK client's buffer is the JACK server's period; --buffer is left aside"
        );
    }
    config.buffer_size = cpal::BufferSize::Default;
    Ok(PreparedOutput {
        device,
        config,
        format: supported.sample_format(),
        name,
        jack_timestamps: true,
    })
}

#[cfg(not(feature = "jack"))]
fn prepare_jack_output(_buffer_frames: Option<u32>) -> Result<PreparedOutput, AudioError> {
    Err(AudioError::NoDevice(
        " `jack:`: this somnia was built without its own JACK client (build with \
         `--features jack`); `--audio-device jack` reaches JACK through ALSA's plugin"
            .to_string(),
    ))
}

/// Everything the audio callback owns. It travels in a `Box` so it can move between a device
/// stream and the supervisor's stand-in clock without being rebuilt.
pub struct Core {
    pub engine: Engine,
    pub analysis: AnalysisWriter,
    /// LTC on channels of this device beside the mix (`--ltc-out-channels`).
    pub ltc: Option<LtcChannels>,
    /// The engine's own output, to a WAV file (`--record`).
    pub record: Option<RecordTap>,
}

impl Core {
    /// Carries out what the control thread asked of the clock (a seek, the show's rate) before
    /// a block.
    pub fn follow(&mut self, transport: &Transport) {
        self.engine.set_show_rate(transport.show_rate());
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
        if let Some(ltc) = self.ltc.as_mut() {
            // The words carry the time of the sound that leaves with them: the mix comes out
            // of the limiter its lookahead behind the engine's clock.
            let heard = (!paused).then(|| {
                self.engine
                    .show_position_samples()
                    .saturating_sub(self.engine.latency_samples() as u64)
            });
            ltc.before_block(heard, self.engine.show_rate());
        }
        for out in data.chunks_mut(MAX_BLOCK_FRAMES * channels) {
            let frames = out.len() / channels;
            let block = &mut scratch[..2 * frames];
            self.engine.process(block, paused);
            if let Some(r) = self.record.as_mut() {
                r.push(block);
            }
            for (frame, src) in out.chunks_mut(channels).zip(block.chunks(2)) {
                let code = self.ltc.as_mut().map(LtcChannels::next_sample);
                let ltc = self.ltc.as_ref();
                let carries = |c: usize| ltc.is_some_and(|l| l.carries(c));
                // LTC on channel 1 or 2 leaves the other the mix, in mono.
                let (left, right) = if carries(0) || carries(1) {
                    let mono = 0.5 * (src[0] + src[1]);
                    (mono, mono)
                } else {
                    (src[0], src[1])
                };
                for (c, s) in frame.iter_mut().enumerate() {
                    *s = T::from_sample(match (code, c) {
                        (Some(x), c) if carries(c) => x,
                        (_, 0) => left,
                        (_, 1) => right,
                        _ => 0.0,
                    });
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
            // What the engine made is what the show played, device or not.
            if let Some(r) = self.record.as_mut() {
                r.push(&scratch[..2 * n]);
            }
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

/// How far the show clock may run ahead of the wall clock on a device before it is held back.
/// Far more than any real device buffers; a device that takes sound faster than it plays it
/// (ALSA's `null`, which plays nowhere) gets there within a callback or two.
const PACE_SLACK_S: f64 = 0.5;

/// Keeps the show clock from outrunning the wall clock. A real device asks for sound at its
/// own pace and never trips it; one with no pace of its own would otherwise race the show to
/// its end in a second. Held back, such a device gets silence and the callback waits out the
/// difference (a sleep on a device that plays nowhere, never on a real one). Plain data: no
/// allocation, no locks.
#[derive(Debug, Default)]
struct Pacer {
    /// (wall instant, engine sample) the clock is measured from; re-anchored after a jump, a
    /// pause or a stall, so time not played is never banked.
    origin: Option<(Instant, u64)>,
    /// Where the last block ended: a block starting elsewhere means the clock jumped.
    next: u64,
}

impl Pacer {
    /// How far ahead of the wall clock (seconds) the engine would be with `frames` more
    /// rendered from `start`, at `now`.
    fn ahead_s(&mut self, now: Instant, start: u64, frames: u64, rate_hz: f64) -> f64 {
        let wall_s = |t0: Instant| now.saturating_duration_since(t0).as_secs_f64();
        let clock_s = |p0: u64, to: u64| to.saturating_sub(p0) as f64 / rate_hz;
        let (t0, p0) = match self.origin {
            // Behind the wall clock by more than a tenth (a pause, a stall): re-anchored.
            Some((t0, p0)) if start == self.next && clock_s(p0, start) >= wall_s(t0) - 0.1 => {
                (t0, p0)
            }
            _ => (now, start),
        };
        self.origin = Some((t0, p0));
        clock_s(p0, start + frames) - wall_s(t0)
    }
}

/// JACK's clock now (its microseconds, cpal's JACK timestamps' time base: CLOCK_MONOTONIC_RAW
/// under jackd, CLOCK_MONOTONIC under PipeWire's JACK). Called only from cpal's JACK process
/// callback, where a client exists (libjack's clock needs one); one clock read, no locks.
#[cfg(feature = "jack")]
fn jack_now() -> Option<Duration> {
    // SAFETY: a plain clock read; a JACK client is open in this process (we are in its
    // process callback).
    Some(Duration::from_micros(unsafe { jack_sys::jack_get_time() }))
}

#[cfg(not(feature = "jack"))]
fn jack_now() -> Option<Duration> {
    None
}

/// Seconds from now until the block the host timestamped `playback` is heard, given the
/// host's clock `host_now`. JACK's `playback` is its own estimate of when the cycle began
/// (its delay-locked loop, which smooths out when each cycle happened to wake) plus the ports'
/// latency. Timing blocks by this thread's wake-up instead put each wake-up's lateness into the
/// heard clock, and after the server woke late the heard beat stood milliseconds off what JACK
/// (and every other JACK client) said for as long as its loop took to settle. Negative when it
/// was due already; `None` when the two are more than a second apart (not the same clock).
fn heard_lead_s(playback: cpal::StreamInstant, host_now: Duration) -> Option<f64> {
    let lead_s = playback.as_nanos() as f64 * 1e-9 - host_now.as_secs_f64();
    (lead_s.abs() < 1.0).then_some(lead_s)
}

/// A gap in the sound longer than this, seen in the device's own timestamps, counts as an
/// underrun. Longer than a timestamp's jitter (a few ms through the ALSA PulseAudio plugin),
/// shorter than anything a listener would miss.
const GAP_S: f64 = 0.015;
/// A new stream's timestamps are not watched for gaps until it has played this long: the
/// sound server fills its buffer before it starts the stream, and the first blocks' times
/// say when they were queued, not when they will play.
const SETTLE_S: f64 = 0.25;

/// Finds gaps the device does not report. The ALSA PulseAudio plugin hides the server's
/// underruns (its `handle_underrun` is off by default): the server plays silence while the
/// stream is starved and everything after is heard late, yet no xrun reaches cpal. A block
/// that follows the last one in the engine's clock but is to be heard later than the last
/// one's end is such a gap. Plain data: no allocation, no locks.
#[derive(Debug, Default)]
struct GapWatch {
    /// (engine sample, when it is heard) at the end of the last block that moved the clock.
    last_end: Option<(u64, Instant)>,
    /// Frames the stream has been given so far.
    streamed_frames: u64,
}

impl GapWatch {
    /// Records a block from `start` to `end` (engine samples) heard from `heard_at`; whether
    /// the sound had a gap before it.
    fn gap_before(&mut self, start: u64, end: u64, heard_at: Instant, rate_hz: f64) -> bool {
        let settled = self.streamed_frames as f64 >= SETTLE_S * rate_hz;
        self.streamed_frames += end.saturating_sub(start);
        let gap = match self.last_end {
            Some((at, heard)) if settled && at == start => {
                heard_at.saturating_duration_since(heard).as_secs_f64() > GAP_S
            }
            _ => false,
        };
        // A block that did not move the clock (paused) or moved it elsewhere (a seek) starts
        // the watch afresh.
        self.last_end = (end > start).then(|| {
            let block_s = (end - start) as f64 / rate_hz;
            (end, heard_at + Duration::from_secs_f64(block_s))
        });
        gap
    }

    fn forget(&mut self) {
        self.last_end = None;
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
    let mut pacer = Pacer::default();
    let mut gaps = GapWatch::default();
    let rate_hz = f64::from(prepared.config.sample_rate);
    let jack_timestamps = prepared.jack_timestamps;
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
        // The sound's own clock paces the device and finds its gaps; the show's clock (the same
        // but while following another clock's tempo) is what is published.
        let start = core.engine.position_samples();
        let show_start = core.engine.show_position_samples();
        let now = Instant::now();
        let frames = (data.len() / channels) as u64;
        let ahead_s = pacer.ahead_s(now, start, frames, rate_hz);
        if ahead_s > PACE_SLACK_S {
            // A device with no pace of its own: silence, and wait out the difference.
            data.fill(T::EQUILIBRIUM);
            transport.count_paced_block();
            transport.mark_callback(now);
            gaps.forget();
            std::thread::sleep(Duration::from_secs_f64(
                (ahead_s - PACE_SLACK_S + 0.005).min(0.02),
            ));
            return;
        }
        pacer.next = start + frames;
        core.render(data, channels, &mut scratch, transport.is_pause_requested());
        transport.count_late_events(core.engine.take_late_events());
        transport.count_dropped_events(core.engine.take_dropped_live_events());
        // The block just rendered starts sounding after the device's output latency; publish
        // that moment so the picture shows what is heard, not what is being computed.
        let ts = info.timestamp();
        // JACK's clock and ours read together (rendering took time since `now`).
        let host_clock = jack_timestamps
            .then(|| jack_now().map(|host_now| (Instant::now(), host_now)))
            .flatten();
        let heard_at = match host_clock.and_then(|(at, host_now)| {
            heard_lead_s(ts.playback, host_now).map(|lead_s| (at, lead_s))
        }) {
            Some((at, lead_s)) if lead_s >= 0.0 => at + Duration::from_secs_f64(lead_s.min(0.5)),
            Some((at, lead_s)) => at
                .checked_sub(Duration::from_secs_f64(-lead_s))
                .unwrap_or(at),
            None => {
                now + ts
                    .playback
                    .saturating_duration_since(ts.callback)
                    .min(Duration::from_millis(500))
            }
        } + core.latency();
        let end = core.engine.position_samples();
        if gaps.gap_before(start, end, heard_at, rate_hz) {
            transport.count_underrun();
        }
        transport.publish_position(show_start, (data.len() / channels) as u32, heard_at);
        transport.note_heard(heard_at);
        transport.mark_callback(now);
    };
    let err_name = prepared.name.clone();
    let mut last_hiccup: Option<Instant> = None;
    let on_error = move |e: cpal::Error| {
        // An xrun is an underrun; so is the ALSA PulseAudio plugin's passing I/O error, which
        // it reports when libpulse has no timing data after the server ran dry (see
        // `is_fatal`): either way the sound had a gap, and what follows is heard late.
        if matches!(
            e.kind(),
            cpal::ErrorKind::Xrun | cpal::ErrorKind::BackendError
        ) {
            err_transport.count_underrun();
        }
        // Runs on cpal's stream thread, not inside the audio callback: printing is fine here.
        if is_fatal(&e, err_transport.seconds_since_callback(Instant::now())) {
            if !failed.swap(true, Ordering::Relaxed) {
                tracing::warn!("somnia: audio device `{err_name}` failed: {e}");
            }
        } else if !matches!(e.kind(), cpal::ErrorKind::Xrun) {
            // At most one line every few seconds: a flaky device must not flood the log.
            let now = Instant::now();
            if last_hiccup.is_none_or(|t: Instant| now.duration_since(t).as_secs() >= 5) {
                last_hiccup = Some(now);
                tracing::info!("somnia: audio device `{err_name}` hiccup (playing on): {e}");
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
    fn a_backend_error_after_a_quarter_second_without_callbacks_is_fatal() {
        assert!(!is_fatal(&backend_error(), 0.24), "fatal at 0.24 s");
        assert!(is_fatal(&backend_error(), 0.26), "not fatal at 0.26 s");
    }

    /// Blocks of 480 samples at 48 kHz (10 ms), heard where `heard_ms` says.
    fn gaps_in(blocks: &[(u64, u64, u64)]) -> Vec<bool> {
        let t0 = Instant::now();
        let mut watch = GapWatch::default();
        blocks
            .iter()
            .map(|&(start, end, heard_ms)| {
                watch.gap_before(start, end, t0 + Duration::from_millis(heard_ms), 48_000.0)
            })
            .collect()
    }

    #[test]
    fn blocks_heard_back_to_back_within_a_timestamps_jitter_are_no_gap() {
        let blocks = [
            (0, 480, 100),
            (480, 960, 112),
            (960, 1440, 118),
            (1440, 1920, 128),
        ];
        assert_eq!(gaps_in(&blocks), [false; 4]);
    }

    #[test]
    fn a_block_heard_a_tenth_of_a_second_after_the_last_one_ended_is_a_gap() {
        let mut blocks: Vec<(u64, u64, u64)> =
            (0..30).map(|i| (i * 480, (i + 1) * 480, i * 10)).collect();
        blocks[29].2 += 100;
        assert_eq!(gaps_in(&blocks).iter().filter(|g| **g).count(), 1);
        assert!(gaps_in(&blocks)[29]);
    }

    #[test]
    fn a_new_streams_first_quarter_second_is_not_watched() {
        let mut blocks: Vec<(u64, u64, u64)> =
            (0..30).map(|i| (i * 480, (i + 1) * 480, i * 10)).collect();
        // The fourth block is heard late while the server starts; the 28th once it plays.
        for b in &mut blocks[3..] {
            b.2 += 40;
        }
        for b in &mut blocks[27..] {
            b.2 += 40;
        }
        let gaps: Vec<usize> = (0..30).filter(|i| gaps_in(&blocks)[*i]).collect();
        assert_eq!(gaps, [27]);
    }

    #[test]
    fn a_pause_or_a_seek_is_no_gap() {
        // Paused blocks leave the clock where it was; a seek starts it elsewhere.
        let blocks = [
            (0, 480, 0),
            (480, 480, 10),
            (480, 480, 900),
            (480, 960, 1000),
        ];
        assert_eq!(gaps_in(&blocks), [false; 4]);
        let blocks = [(0, 480, 0), (96_000, 96_480, 500)];
        assert_eq!(gaps_in(&blocks), [false; 2]);
    }

    #[test]
    fn an_unplugged_device_is_given_up_at_once() {
        assert!(is_fatal(&cpal::ErrorKind::DeviceNotAvailable.into(), 0.0));
    }

    #[test]
    fn a_hosts_playback_time_is_its_lead_from_the_hosts_now_and_another_clocks_is_refused() {
        let now = Duration::from_secs(1000);
        let lead = |us| heard_lead_s(cpal::StreamInstant::from_micros(us), now);
        assert!((lead(1_000_005_333).unwrap() - 0.005_333).abs() < 1e-9);
        assert!((lead(999_998_000).unwrap() + 0.002).abs() < 1e-9);
        assert_eq!(lead(5_000_000), None);
    }

    #[test]
    fn underruns_and_reroutes_never_stop_the_stream() {
        for kind in [cpal::ErrorKind::Xrun, cpal::ErrorKind::DeviceChanged] {
            assert!(!is_fatal(&kind.into(), 10.0));
        }
    }
}
