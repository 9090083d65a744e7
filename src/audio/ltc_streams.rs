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
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

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

/// A running LTC output.
pub struct LtcOutput {
    _stream: cpal::Stream,
    pub name: String,
    pub failed: Arc<AtomicBool>,
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

impl LtcOutput {
    /// Writes the show's time as LTC to every channel of the output device named `want` (a
    /// part of its name).
    pub fn start(
        want: &str,
        settings: LtcOutSettings,
        transport: Arc<Transport>,
    ) -> Result<Self, AudioError> {
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
            let failed = Arc::new(AtomicBool::new(false));
            let stream = build_output(&device, config, settings, transport, failed.clone())
                .map_err(|e| err(e.to_string()))?;
            stream.play().map_err(|e| err(e.to_string()))?;
            Ok(Self {
                _stream: stream,
                name,
                failed,
            })
        })
    }
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
    config: cpal::StreamConfig,
    settings: LtcOutSettings,
    transport: Arc<Transport>,
    failed: Arc<AtomicBool>,
) -> Result<cpal::Stream, cpal::Error> {
    let channels = usize::from(config.channels).max(1);
    let sample_rate = config.sample_rate;
    let amplitude = 10f32.powf(settings.level_db.min(0.0) / 20.0);
    let mut encoder = LtcEncoder::new(settings.rate, sample_rate, amplitude);
    let fps = settings.rate.fps();
    let show_rate = f64::from(transport.sample_rate_hz());
    let mut running = false;
    let mut far_since: Option<Instant> = None;
    let callback = move |data: &mut [f32], info: &cpal::OutputCallbackInfo| {
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
    let on_error = move |e: cpal::Error| {
        if !failed.swap(true, Ordering::Relaxed) {
            tracing::warn!("somnia: the LTC output failed: {e}");
        }
    };
    device.build_output_stream::<f32, _, _>(config, callback, on_error, None)
}
