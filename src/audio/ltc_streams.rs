//! LTC's own sound devices, beside the show's:
//!
//! - [`LtcInput`]: one channel of an input device (a DJ deck's timecode, a desk's LTC out)
//!   into a [`SampleTap`] the sync thread decodes from. The callback only copies.
//! - [`LtcOutput`]: an output device (a second sound card, or a spare pair on a virtual one)
//!   carrying the show's time as LTC: each block is written for the show time heard when
//!   that block is heard, so the timecode lines up with the sound; a pause writes silence (a
//!   stopped source sends nothing) and a locate starts the words again at the new time.
//!
//! Both callbacks never allocate, lock or log: the encoder and the tap are made before.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::device::{AudioError, device_matches, device_name, quiet_alsa};
use super::input_stream::start_input;
use crate::bridge::{SampleTap, Transport, sample_tap};
use crate::clock::ltc::LtcEncoder;
use crate::clock::timecode::FrameRate;

/// Seconds of input the tap holds: plenty for a sync thread that looks every 2 ms.
const TAP_S: u32 = 2;

/// A running LTC input.
pub struct LtcInput {
    _stream: cpal::Stream,
    pub name: String,
    pub failed: Arc<AtomicBool>,
}

impl LtcInput {
    /// Listens to `channel` (from 0) of the input device named `want` (a part of its name; the
    /// default input without one). Returns the stream and the tap to read from.
    pub fn start(want: Option<&str>, channel: u16) -> Result<(Self, SampleTap), AudioError> {
        let failed = Arc::new(AtomicBool::new(false));
        let mut tap = None;
        let opened = start_input(
            want,
            " for LTC input",
            "the LTC input",
            failed.clone(),
            |config| {
                if channel >= config.channels {
                    return Err(format!(
                        "it has {} input channel(s); --ltc-channel counts from 1",
                        config.channels
                    ));
                }
                let (mut writer, reader) =
                    sample_tap((config.sample_rate * TAP_S) as usize, config.sample_rate);
                tap = Some(reader);
                let channel = usize::from(channel);
                Ok(Box::new(move |block: &[f32], channels: usize| {
                    // Taken as captured now: the input's own latency is a constant the chase's
                    // offset absorbs, and cpal's capture stamps are not on `Instant`'s clock.
                    let now = Instant::now();
                    writer.write(
                        block.chunks_exact(channels).map(|frame| frame[channel]),
                        now,
                    );
                }))
            },
        )?;
        let tap = tap.expect("made before the stream started");
        Ok((
            Self {
                _stream: opened.stream,
                name: opened.name,
                failed,
            },
            tap,
        ))
    }
}

/// A running LTC output, kept running: its own thread (`somnia-ltc-out`) owns the stream and
/// opens it again when it stops calling back or fails (a sound server restarted, a USB
/// interface replugged), as the show's own sound is kept. A receiver that lost the words
/// hears them again from the show's time; nothing else in the show waits on it.
pub struct LtcOutput {
    pub name: String,
    /// Times the device ran dry or its sound server hiccuped: each is a gap in the words a
    /// receiver hears (said when the output ends, as the show's own underruns are).
    dry: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    keeper: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LtcOutput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(k) = self.keeper.take() {
            k.thread().unpark();
            let _ = k.join();
        }
        let dry = self.dry.load(Ordering::Relaxed);
        if dry > 0 {
            tracing::warn!(
                "somnia: LTC out on {} ran dry {dry} time(s): a receiver heard a gap in the timecode each time",
                self.name
            );
        }
    }
}

/// How LTC out is written.
#[derive(Clone, Copy, Debug)]
pub struct LtcOutSettings {
    pub rate: FrameRate,
    /// Seconds of timecode at the show's time 0.
    pub offset_s: f64,
    /// Peak level, dBFS.
    pub level_db: f32,
}

/// A stream silent this long (its callback not called) has stopped: it is opened again. Far
/// past any block a device asks for, and past the near two seconds a PulseAudio stream can
/// stand silent as it starts on a busy machine (measured here: 1.8 s; reopened sooner, the
/// new stream stood silent as long again).
const STOPPED_AFTER: Duration = Duration::from_secs(3);
/// How often the keeper looks, and how long it waits between tries to open again.
const LOOK_EVERY: Duration = Duration::from_millis(100);
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// At most one hiccup line this often: a flaky device must not flood the log.
const HICCUP_LOG_EVERY: Duration = Duration::from_secs(5);

/// What the stream's callback and error handler tell the keeper.
struct Liveness {
    /// When the callback last ran, in ms since `since`.
    called_ms: AtomicU64,
    since: Instant,
    /// The stream reported an error it cannot play on through.
    failed: AtomicBool,
}

impl Liveness {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            called_ms: AtomicU64::new(0),
            since: Instant::now(),
            failed: AtomicBool::new(false),
        })
    }

    fn mark(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.since).as_millis() as u64;
        self.called_ms.store(ms, Ordering::Relaxed);
    }

    fn silent_for(&self, now: Instant) -> Duration {
        let called = self.since + Duration::from_millis(self.called_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(called)
    }
}

impl LtcOutput {
    /// Writes the show's time as LTC to every channel of the output device named `want` (a
    /// part of its name). Fails only when the device cannot be opened at all now.
    pub fn start(
        want: &str,
        settings: LtcOutSettings,
        transport: Arc<Transport>,
    ) -> Result<Self, AudioError> {
        let stop = Arc::new(AtomicBool::new(false));
        let dry = Arc::new(AtomicU64::new(0));
        let (opened_tx, opened_rx) = std::sync::mpsc::sync_channel(1);
        let want = want.to_string();
        let keeper_stop = stop.clone();
        let keeper_dry = dry.clone();
        let keeper = std::thread::Builder::new()
            .name("somnia-ltc-out".into())
            .spawn(move || {
                let open = || open_output(&want, settings, transport.clone(), keeper_dry.clone());
                let (mut stream, name, mut live) = match open() {
                    Ok((stream, name, live)) => {
                        let _ = opened_tx.send(Ok(name.clone()));
                        (Some(stream), name, live)
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                let mut next_try = Instant::now();
                while !keeper_stop.load(Ordering::Relaxed) {
                    std::thread::park_timeout(LOOK_EVERY);
                    let now = Instant::now();
                    match &stream {
                        Some(_) => {
                            let failed = live.failed.load(Ordering::Relaxed);
                            let silent = live.silent_for(now);
                            if failed || silent >= STOPPED_AFTER {
                                stream = None;
                                tracing::warn!(
                                    "somnia: LTC out on {name} {}; opening it again",
                                    if failed {
                                        "failed".to_string()
                                    } else {
                                        format!("was silent {:.1} s", silent.as_secs_f64())
                                    }
                                );
                                next_try = now;
                            }
                        }
                        None if now >= next_try => match open() {
                            Ok((s, _, l)) => {
                                tracing::info!("somnia: LTC out is back on {name}");
                                stream = Some(s);
                                live = l;
                            }
                            Err(_) => next_try = now + RETRY_EVERY,
                        },
                        None => {}
                    }
                }
            })
            .map_err(|e| AudioError::Stream {
                device: "LTC out".into(),
                reason: e.to_string(),
            })?;
        match opened_rx.recv() {
            Ok(Ok(name)) => Ok(Self {
                name,
                dry,
                stop,
                keeper: Some(keeper),
            }),
            Ok(Err(e)) => {
                let _ = keeper.join();
                Err(e)
            }
            Err(_) => {
                let _ = keeper.join();
                Err(AudioError::Stream {
                    device: "LTC out".into(),
                    reason: "its thread ended before opening it".into(),
                })
            }
        }
    }
}

/// Opens and starts the LTC stream on the output device named `want`.
fn open_output(
    want: &str,
    settings: LtcOutSettings,
    transport: Arc<Transport>,
    dry: Arc<AtomicU64>,
) -> Result<(cpal::Stream, String, Arc<Liveness>), AudioError> {
    quiet_alsa(|| {
        let host = cpal::default_host();
        let device = host
            .output_devices()
            .map_err(|e| AudioError::NoDevice(format!(" for LTC: {e}")))?
            .find(|d| device_matches(d, want))
            .ok_or_else(|| AudioError::NoDevice(format!(" for LTC matching `{want}`")))?;
        let name = device_name(&device);
        let err = |reason: String| AudioError::Stream {
            device: name.clone(),
            reason,
        };
        let supported = device
            .default_output_config()
            .map_err(|e| err(e.to_string()))?;
        if supported.sample_format() != cpal::SampleFormat::F32 {
            return Err(err(format!(
                "sample format {} is not supported for LTC (32-bit float is)",
                supported.sample_format()
            )));
        }
        let config = supported.config();
        // Made now: the keeper counts its silence from here until the first callback.
        let live = Liveness::new();
        let stream = build_output(
            &device,
            &name,
            config,
            settings,
            transport,
            live.clone(),
            dry,
        )
        .map_err(|e| err(e.to_string()))?;
        stream.play().map_err(|e| err(e.to_string()))?;
        Ok((stream, name, live))
    })
}

/// How far the words may be from the show before they start again at its time (a locate);
/// closer, they catch up by running a little fast or slow.
const RELOCATE_FRAMES: f64 = 2.0;
/// ... for this long on end: a sound card's timestamps can jump for a block or two, and a
/// locate makes a gap a receiver hears.
const RELOCATE_AFTER_S: f64 = 0.1;
/// How fast a drift is made up: the share of the difference a second (at most 2 %).
const CATCH_UP_PER_S: f64 = 0.5;
const MAX_SPEED_CHANGE: f64 = 0.02;

fn build_output(
    device: &cpal::Device,
    name: &str,
    config: cpal::StreamConfig,
    settings: LtcOutSettings,
    transport: Arc<Transport>,
    live: Arc<Liveness>,
    dry: Arc<AtomicU64>,
) -> Result<cpal::Stream, cpal::Error> {
    let channels = usize::from(config.channels).max(1);
    let sample_rate = config.sample_rate;
    let amplitude = 10f32.powf(settings.level_db.min(0.0) / 20.0);
    let mut encoder = LtcEncoder::new(settings.rate, sample_rate, amplitude);
    let fps = settings.rate.fps();
    let show_rate = f64::from(transport.sample_rate_hz());
    let mut running = false;
    let mut far_since: Option<Instant> = None;
    let called = live.clone();
    let callback = move |data: &mut [f32], info: &cpal::OutputCallbackInfo| {
        called.mark(Instant::now());
        let ts = info.timestamp();
        let latency = ts.playback.duration_since(ts.callback);
        let heard_at = Instant::now() + latency;
        let playing = transport.sounding(Instant::now());
        let heard = playing
            .then(|| transport.sample_heard_at(heard_at))
            .flatten();
        let Some(sample) = heard else {
            data.fill(0.0);
            running = false;
            return;
        };
        let target = (sample as f64 / show_rate + settings.offset_s) * fps;
        let behind_frames = target - encoder.position_frames();
        let now = Instant::now();
        let far = behind_frames.abs() > RELOCATE_FRAMES;
        far_since = if far { far_since.or(Some(now)) } else { None };
        let far_long = far_since
            .is_some_and(|t| now.saturating_duration_since(t).as_secs_f64() >= RELOCATE_AFTER_S);
        if !running || far_long {
            encoder.locate(target);
            encoder.set_speed(1.0);
            running = true;
            far_since = None;
        } else {
            // The device's clock is not the show's: follow it without skipping a frame.
            let change =
                (CATCH_UP_PER_S * behind_frames / fps).clamp(-MAX_SPEED_CHANGE, MAX_SPEED_CHANGE);
            encoder.set_speed(1.0 + change);
        }
        for frame in data.chunks_exact_mut(channels) {
            frame.fill(encoder.next_sample());
        }
    };
    let name = name.to_string();
    let mut last_hiccup: Option<Instant> = None;
    let on_error = move |e: cpal::Error| {
        // On cpal's stream thread, not in the callback. An xrun, or the ALSA PulseAudio
        // plugin's passing I/O error after the server ran dry, is a gap the words ride out
        // (the keeper reopens the stream if it really stopped); anything else is a failure.
        match e.kind() {
            cpal::ErrorKind::Xrun => {
                dry.fetch_add(1, Ordering::Relaxed);
            }
            cpal::ErrorKind::BackendError | cpal::ErrorKind::DeviceChanged => {
                dry.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                if last_hiccup.is_none_or(|t| now.duration_since(t) >= HICCUP_LOG_EVERY) {
                    last_hiccup = Some(now);
                    tracing::info!("somnia: LTC out on {name} hiccup (playing on): {e}");
                }
            }
            _ => {
                if !live.failed.swap(true, Ordering::Relaxed) {
                    tracing::warn!("somnia: the LTC output on {name} failed: {e}");
                }
            }
        }
    };
    device.build_output_stream::<f32, _, _>(config, callback, on_error, None)
}
