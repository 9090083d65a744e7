//! The device supervisor. A show must survive its sound card: when the output device fails
//! (the error callback says so, or callbacks stop for two seconds), the supervisor takes the
//! engine back, keeps running it on a paced stand-in clock so the performance's time, cues
//! and pictures carry on in silence, and tries the device again: at once on the device it
//! last used (a stream that broke under a sound server's hiccup is back in milliseconds), then
//! every half second, looking for it anew. When the
//! device is back, the same engine (same voices, same position) moves onto it and the sound
//! resumes where the show is. No process restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::device::{
    AudioError, Core, PreparedOutput, open_stream, prepare_output, scratch_buffer,
};
use super::engine::Engine;
use super::ltc_channels::{LtcChannelSettings, LtcChannels};
use super::rt_priority;
use crate::bridge::{AnalysisWriter, RecordTap, Transport};

const RETRY_EVERY: Duration = Duration::from_millis(500);
const STALL_AFTER_S: f64 = 2.0;
const STANDIN_BLOCK: usize = 512;
const TICK: Duration = Duration::from_millis(5);

/// Which device to (re)open: the user's choice, kept for retries.
#[derive(Clone, Debug, Default)]
pub struct DeviceChoice {
    pub name: Option<String>,
    pub buffer_frames: Option<u32>,
    /// LTC on channels of this device beside the mix (`--ltc-out-channels`): the device is
    /// opened, and reopened, with enough channels for it.
    pub ltc: Option<LtcChannelSettings>,
}

impl DeviceChoice {
    /// The channels a device must be opened with.
    pub fn channels(&self) -> u16 {
        self.ltc
            .as_ref()
            .map_or(2, LtcChannelSettings::channels_needed)
    }
}

/// Live audio output under supervision. Dropping it stops the sound.
pub struct AudioOutput {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub name: String,
}

impl AudioOutput {
    /// Starts `engine` on the prepared device. Fails only if that first start fails; after
    /// that, device trouble is handled here and reported on stderr.
    pub fn start(
        prepared: PreparedOutput,
        choice: DeviceChoice,
        engine: Engine,
        transport: Arc<Transport>,
        analysis: AnalysisWriter,
        record: Option<RecordTap>,
    ) -> Result<Self, AudioError> {
        let (home_tx, home_rx) = channel();
        let failed = Arc::new(AtomicBool::new(false));
        let sample_rate_hz = engine.sample_rate_hz();
        let ltc = choice
            .ltc
            .as_ref()
            .map(|s| LtcChannels::new(s, sample_rate_hz));
        let core = Box::new(Core {
            engine,
            analysis,
            ltc,
            record,
        });
        let stream = open_stream(
            &prepared,
            core,
            transport.clone(),
            failed.clone(),
            home_tx.clone(),
        )?;
        transport.mark_callback(Instant::now());
        let stop = Arc::new(AtomicBool::new(false));
        let name = prepared.name.clone();
        let sup = Supervisor {
            last: Some(prepared),
            choice,
            sample_rate_hz,
            transport,
            failed,
            home_tx,
            home_rx,
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("somnia-audio-supervisor".into())
            .spawn(move || sup.run(stream))
            .map_err(|e| AudioError::Stream {
                device: name.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
            name,
        })
    }
}

impl Drop for AudioOutput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Supervisor {
    choice: DeviceChoice,
    sample_rate_hz: u32,
    transport: Arc<Transport>,
    failed: Arc<AtomicBool>,
    home_tx: Sender<Box<Core>>,
    home_rx: Receiver<Box<Core>>,
    stop: Arc<AtomicBool>,
    /// The device and format last opened: a stream that broke is reopened on it first,
    /// without listing the devices again (which takes tens of milliseconds of silence).
    last: Option<PreparedOutput>,
}

impl Supervisor {
    fn run(mut self, stream: cpal::Stream) {
        let mut stream = Some(stream);
        let mut core: Option<Box<Core>> = None;
        let mut scratch = scratch_buffer();
        let mut standin_since = Instant::now();
        let mut standin_frames = 0u64;
        let mut next_try = Instant::now();
        let mut lost_at = Instant::now();
        let mut priority_said = false;
        let mut pace_said = false;
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if !priority_said && let Some(priority) = self.transport.audio_priority() {
                // Said once: a reopened stream's thread asks again and gets the same answer.
                priority_said = true;
                tracing::info!("{}", rt_priority::describe(priority));
            }
            if !pace_said && self.transport.paced_blocks() > 0 {
                pace_said = true;
                tracing::warn!(
                    "somnia: the audio device `{}` takes sound faster than it plays it (it plays nowhere, like ALSA's `null`): the show is held to real time, but nothing is heard; choose another with --audio-device (somnia list audio)",
                    self.last.as_ref().map_or("?", |p| p.name.as_str())
                );
            }
            if stream.is_some() {
                let stalled = self.transport.seconds_since_callback(now) > STALL_AFTER_S;
                if self.failed.load(Ordering::Relaxed) || stalled {
                    if stalled {
                        tracing::warn!("somnia: the audio device stopped calling back");
                    }
                    // Closing the stream drops its callback, which sends the engine home.
                    drop(stream.take());
                    core = self.home_rx.recv_timeout(Duration::from_secs(2)).ok();
                    if core.is_none() {
                        tracing::warn!(
                            "somnia: the audio engine could not be recovered from the failed device; sound is off"
                        );
                        return;
                    }
                    tracing::warn!(
                        "somnia: audio device lost; the show goes on silently and sound resumes when it is back"
                    );
                    self.transport.count_device_loss();
                    standin_since = Instant::now();
                    lost_at = standin_since;
                    standin_frames = 0;
                    // The first try at once: most failures are a stream that broke (a sound
                    // server's hiccup), not a device that went, and reopen in milliseconds.
                    // A device that went fails fast, and is tried again every RETRY_EVERY.
                    next_try = Instant::now();
                }
            } else if let Some(c) = core.as_mut() {
                // The stand-in clock: run the engine at real-time pace, output discarded.
                let due = standin_since.elapsed().as_secs_f64() * f64::from(self.sample_rate_hz);
                while (standin_frames + STANDIN_BLOCK as u64) as f64 <= due {
                    c.follow(&self.transport);
                    let start = c.engine.show_position_samples();
                    c.render_silently(
                        STANDIN_BLOCK,
                        &mut scratch,
                        self.transport.is_pause_requested(),
                    );
                    self.transport
                        .count_late_events(c.engine.take_late_events());
                    self.transport
                        .count_dropped_events(c.engine.take_dropped_live_events());
                    let t = Instant::now();
                    self.transport
                        .publish_position(start, STANDIN_BLOCK as u32, t);
                    self.transport.mark_callback(t);
                    standin_frames += STANDIN_BLOCK as u64;
                }
                if now >= next_try {
                    next_try = now + RETRY_EVERY;
                    if let Some(c) = core.take() {
                        match self.reopen(c) {
                            Ok(s) => {
                                tracing::info!(
                                    "somnia: audio device back after {} ms; sound resumed",
                                    lost_at.elapsed().as_millis()
                                );
                                stream = Some(s);
                            }
                            Err(c) => core = c,
                        }
                        if stream.is_none() && core.is_none() {
                            tracing::warn!(
                                "somnia: the audio engine was lost while reopening the device; sound is off"
                            );
                            return;
                        }
                    }
                }
            }
            std::thread::sleep(TICK);
        }
        drop(stream);
    }

    /// Tries to put `core` on the device again. On failure, gives the core back.
    fn reopen(&mut self, core: Box<Core>) -> Result<cpal::Stream, Option<Box<Core>>> {
        // The device last used first; if that fails, look for it (or the default) again.
        let core = match self.last.take() {
            Some(last) => match self.open_on(&last, core) {
                Ok(s) => {
                    self.last = Some(last);
                    return Ok(s);
                }
                Err(Some(core)) => core,
                Err(None) => return Err(None),
            },
            None => core,
        };
        let prepared = match prepare_output(
            self.choice.name.as_deref(),
            self.choice.buffer_frames,
            self.choice.channels(),
        ) {
            Ok(p) if p.sample_rate_hz() == self.sample_rate_hz => p,
            _ => return Err(Some(core)),
        };
        let opened = self.open_on(&prepared, core);
        if opened.is_ok() {
            self.last = Some(prepared);
        }
        opened
    }

    /// Opens a stream on `prepared` running `core`; on failure, gives the core back.
    fn open_on(
        &self,
        prepared: &PreparedOutput,
        core: Box<Core>,
    ) -> Result<cpal::Stream, Option<Box<Core>>> {
        self.failed.store(false, Ordering::Relaxed);
        self.transport.mark_callback(Instant::now());
        match open_stream(
            prepared,
            core,
            self.transport.clone(),
            self.failed.clone(),
            self.home_tx.clone(),
        ) {
            Ok(s) => Ok(s),
            Err(_) => Err(self.home_rx.recv_timeout(Duration::from_secs(2)).ok()),
        }
    }
}
