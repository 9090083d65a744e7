//! Sync with other machines and apps: the show's clock out as MIDI clock and MTC, the show
//! chasing timecode in (MTC from the MIDI thread, LTC from the sound input), and the show
//! following an Ableton Link session's tempo and phase ([`link`]). One thread,
//! `somnia-sync`, owns all of it: it reads the show's heard time from the transport, sends
//! what [`schedule`] plans at the moments it plans them, feeds what it hears to the [`chase`],
//! carries out what the chase says through the same `Steering` every controller uses, and
//! reports each source's standing to the health board (`/somnia/status`, `/health`, the
//! console).
//!
//! It wakes every couple of milliseconds, and at each message's time: never on the audio
//! thread, which knows nothing of it.

pub mod chase;
pub mod link;
mod link_in;
pub mod midi_out;
pub mod mtc;
pub mod schedule;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::bridge::{
    Health, SampleTap, ShowCommand, SyncReport, SyncState, TimecodeReading, TimecodeSource,
    Transport,
};
use crate::clock::ltc::{LtcDecoder, LtcFrame};
use crate::clock::timecode::FrameRate;
use crate::control::intent::{Intent, Steering};
use chase::{ChaseAction, ChaseSettings, Chaser};
use link::{LinkSession, LinkSettings};
use link_in::LinkIn;
use midi_out::MidiOut;
use schedule::{OutPlanner, OutSettings, ShowClock, Timed};

/// What to send and what to follow.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncSettings {
    /// The MIDI output (part of a port's name) clock and MTC leave by.
    pub midi_out: Option<String>,
    pub clock_out: bool,
    pub mtc_out: bool,
    /// MTC out's rate.
    pub rate: FrameRate,
    /// Seconds of timecode at the show's time 0, out and in.
    pub offset_s: f64,
    /// Chase timecode heard (MTC from MIDI in; LTC from the sound input).
    pub chase: bool,
    pub freewheel_frames: u32,
    /// Chase LTC from this input device (a part of its name; empty: the default input) and
    /// channel (from 0) instead of MTC.
    pub ltc_in: Option<(String, u16)>,
    /// Write LTC to this output device (a part of its name), at `ltc_level_db` peak.
    pub ltc_out: Option<String>,
    pub ltc_level_db: f32,
    /// Write LTC on these channels (from 0) of the show's own sound device, beside the mix
    /// (the audio callback writes it; the sync thread has no part in it).
    pub ltc_out_channels: Vec<u16>,
    /// Join an Ableton Link session and follow it (feature `link`).
    pub link: Option<LinkSettings>,
    /// Whether a locate may close a Link phase error (a kiosk's items only ease).
    pub link_can_locate: bool,
}

impl SyncSettings {
    /// Whether anything is asked of the sync thread.
    pub fn wanted(&self) -> bool {
        self.needs_thread() || self.ltc_out.is_some() || !self.ltc_out_channels.is_empty()
    }

    /// Whether the sync thread has anything to do once the sound devices (LTC out) are aside.
    pub fn needs_thread(&self) -> bool {
        self.chase
            || self.link.is_some()
            || (self.midi_out.is_some() && (self.clock_out || self.mtc_out))
    }
}

/// How often the thread looks at the clock and the readings at least.
const LOOK_EVERY: Duration = Duration::from_millis(2);
/// How often the reports are written.
const REPORT_EVERY: Duration = Duration::from_millis(100);
/// How often the show is held to a Link session's tempo and phase.
const LINK_EVERY: Duration = Duration::from_millis(10);

/// The running sync thread; dropping it stops it.
pub struct SyncThread {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SyncThread {
    /// Starts the thread: outputs opened now, so a missing port is said at once (the show
    /// plays on without it).
    pub fn start(
        settings: SyncSettings,
        steering: Steering,
        health: Arc<Health>,
        readings: Receiver<TimecodeReading>,
        ltc: Option<SampleTap>,
        who: &str,
    ) -> std::io::Result<Self> {
        let link = settings.link.and_then(|l| {
            LinkSession::join(120.0, l)
                .inspect(|_| tracing::info!("{who}: joined Ableton Link"))
                .inspect_err(|e| tracing::warn!("{who}: {e}; playing on without Link"))
                .ok()
                .map(|session| LinkIn::new(session, l, settings.link_can_locate))
        });
        let out = settings.midi_out.as_deref().and_then(|name| {
            MidiOut::open(name)
                .inspect(|_| tracing::info!("{who}: sync out on the MIDI output matching `{name}`"))
                .inspect_err(|e| tracing::warn!("{who}: {e}; playing on without MIDI sync out"))
                .ok()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let who_owned = who.to_string();
            std::thread::Builder::new()
                .name("somnia-sync".into())
                .spawn(move || {
                    if out.is_some() {
                        promote_for_sync_out(&who_owned);
                    }
                    let ltc = ltc.map(|tap| LtcIn::new(tap, settings.rate));
                    let io = Io { out, ltc, link };
                    run(settings, io, &steering, &health, &readings, &stop)
                })?
        };
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for SyncThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The show's clock as heard at `now`.
pub(super) fn show_clock(transport: &Transport, now: Instant) -> ShowClock {
    let sr = transport.sample_rate_hz();
    let running = transport.sounding(now);
    let samples = match running {
        true => transport.sample_heard_at(now),
        false => None,
    };
    ShowClock {
        now,
        show_s: crate::clock::samples_to_seconds(
            samples.unwrap_or_else(|| transport.position_samples()),
            sr,
        ),
        playing: running && samples.is_some(),
    }
}

/// How long from `now` until a seek asked for now is heard: the sound already on its way.
pub(super) fn seek_lead_s(transport: &Transport, now: Instant) -> f64 {
    let sr = f64::from(transport.sample_rate_hz());
    match transport.sample_heard_at(now) {
        Some(heard) => transport.next_block_sample().saturating_sub(heard) as f64 / sr,
        None => 0.0,
    }
}

/// LTC heard on a sound input, decoded here.
struct LtcIn {
    tap: SampleTap,
    decoder: LtcDecoder,
    rate: FrameRate,
    buffer: Vec<f32>,
    found: Vec<LtcFrame>,
}

impl LtcIn {
    fn new(tap: SampleTap, rate: FrameRate) -> Self {
        Self {
            decoder: LtcDecoder::new(tap.sample_rate_hz, rate),
            rate,
            buffer: Vec::with_capacity(8192),
            found: Vec::with_capacity(16),
            tap,
        }
    }

    /// Decodes what came in since the last look; the readings, stamped with the moment each
    /// word ended.
    fn read(&mut self, out: &mut Vec<TimecodeReading>) {
        let Some((written, newest)) = self.tap.clock.read() else {
            return;
        };
        loop {
            self.buffer.clear();
            while self.buffer.len() < self.buffer.capacity() {
                match self.tap.ring.pop() {
                    Ok(s) => self.buffer.push(s),
                    Err(_) => break,
                }
            }
            if self.buffer.is_empty() {
                break;
            }
            let found = &mut self.found;
            self.decoder.push(&self.buffer, |f| found.push(f));
        }
        let rate_hz = f64::from(self.tap.sample_rate_hz.max(1));
        for f in self.found.drain(..) {
            let rate = if f.drop_frame {
                FrameRate::Fps2997Drop
            } else {
                self.rate
            };
            // The word's end, counted back from the newest sample captured.
            let behind_s = written.saturating_sub(f.end_sample + 1) as f64 / rate_hz;
            let received = newest
                .checked_sub(Duration::from_secs_f64(behind_s))
                .unwrap_or(newest);
            out.push(TimecodeReading {
                source: TimecodeSource::Ltc,
                frames: f.tc.frame_count(rate) as f64 + 1.0,
                rate,
                running: true,
                received,
            });
        }
    }
}

/// What the sync thread talks to.
struct Io {
    out: Option<MidiOut>,
    ltc: Option<LtcIn>,
    link: Option<LinkIn>,
}

/// The sync thread's SCHED_FIFO priority while it sends clock or timecode out: just below the
/// audio thread's (10), above every normal thread.
const SYNC_RT_PRIORITY: i32 = 9;

/// Asks real-time priority for the calling (sync) thread, and says what came of it. Clock and
/// timecode out must leave within a millisecond of their time; at normal priority a busy
/// machine (a software renderer on both cores) held this thread back 20 ms at a time, and a
/// quarter frame then came late or, past its time when planned, not at all.
fn promote_for_sync_out(who: &str) {
    match crate::bridge::priority::set_fifo(0, SYNC_RT_PRIORITY) {
        crate::bridge::Priority::RealTime => {
            tracing::info!("{who}: clock and timecode out run at real-time priority");
        }
        crate::bridge::Priority::Refused(errno) => tracing::warn!(
            "{who}: clock and timecode out run at normal priority (real-time was refused: {}); \
             on a busy machine they may come late. Allow real-time scheduling (README, \"Audio\")",
            std::io::Error::from_raw_os_error(errno)
        ),
    }
}

fn run(
    settings: SyncSettings,
    io: Io,
    steering: &Steering,
    health: &Health,
    readings: &Receiver<TimecodeReading>,
    stop: &AtomicBool,
) {
    let Io {
        mut out,
        mut ltc,
        mut link,
    } = io;
    let transport = steering.sink.transport.clone();
    let mut origin_s = 0.0;
    let mut planner = OutPlanner::new(OutSettings {
        clock: settings.clock_out,
        mtc: settings.mtc_out,
        rate: settings.rate,
        offset_s: settings.offset_s,
    });
    let mut chaser = settings.chase.then(|| {
        Chaser::new(ChaseSettings {
            offset_s: settings.offset_s,
            freewheel_frames: settings.freewheel_frames,
        })
    });
    let mut pending: std::collections::VecDeque<Timed> = Default::default();
    let mut next_report = Instant::now();
    let mut source = None;
    let mut heard = Vec::with_capacity(64);
    let mut tempo = crate::clock::Tempo::default();
    let mut underruns = transport.underruns();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        // The sound card ran dry: what is heard slipped (Link's follower sees it for itself).
        let now_underruns = transport.underruns();
        if now_underruns != underruns {
            underruns = now_underruns;
            if let Some(c) = chaser.as_mut() {
                c.sound_slipped(now);
            }
        }
        // Timecode heard: MTC through the MIDI thread, LTC decoded here.
        heard.clear();
        heard.extend(readings.try_iter());
        if let Some(l) = ltc.as_mut() {
            l.read(&mut heard);
        }
        for r in heard.drain(..) {
            let Some(c) = chaser.as_mut() else { continue };
            source = Some(r.source);
            let clock = show_clock(&transport, r.received);
            if let Some(action) = c.heard(&r, clock.show_s, clock.playing) {
                act(action, steering, &transport, Instant::now());
            }
        }
        if let Some(action) = chaser.as_mut().and_then(|c| c.tick(now)) {
            act(action, steering, &transport, now);
        }
        if let Some(l) = link.as_mut().filter(|l| now >= l.next) {
            l.next = now + LINK_EVERY;
            l.tick(now, steering, &tempo, origin_s);
        }
        // Clock and timecode out.
        if let Some(o) = out.as_mut() {
            let horizon = o.lead() + LOOK_EVERY * 2;
            let planned = planner.poll(show_clock(&transport, now), &tempo, horizon);
            if planner.located() {
                pending.clear();
                o.forget();
            }
            pending.extend(planned);
            pending.make_contiguous().sort_by_key(|m| m.at);
            while let Some(m) = pending.front() {
                if m.at.saturating_duration_since(Instant::now()) > o.lead() + LOOK_EVERY {
                    break;
                }
                let m = pending.pop_front().expect("looked at");
                o.send(&m);
            }
        }
        if now >= next_report {
            next_report = now + REPORT_EVERY;
            let board = steering.sink.cues.get();
            tempo = board.tempo;
            origin_s = board.origin_s;
            planner.set_origin(board.origin_s);
            let mut r = reports(&settings, chaser.as_ref(), source, out.as_ref());
            r.extend(link.as_ref().map(LinkIn::report));
            health.sync.set(r);
        }
        let until_next = pending
            .front()
            .map(|m| m.at.saturating_duration_since(Instant::now()))
            .map_or(LOOK_EVERY, |d| {
                d.saturating_sub(out.as_ref().map_or(Duration::ZERO, MidiOut::lead))
                    .min(LOOK_EVERY)
            });
        std::thread::sleep(until_next.max(Duration::from_micros(200)));
    }
}

/// Carries out what the chase says.
fn act(action: ChaseAction, steering: &Steering, transport: &Transport, now: Instant) {
    let show = |c: ShowCommand| {
        steering.carry_out(Intent::Show(c), now);
    };
    match action {
        ChaseAction::Locate { show_s, at, play } => {
            // Where the source is by the time the locate is heard.
            let since_s = now.saturating_duration_since(at).as_secs_f64();
            let lead_s = if play {
                seek_lead_s(transport, now)
            } else {
                0.0
            };
            let target_s = show_s + if play { since_s + lead_s } else { 0.0 };
            show(ShowCommand::Seek(target_s.max(0.0)));
            show(if play {
                ShowCommand::Resume
            } else {
                ShowCommand::Pause
            });
        }
        ChaseAction::Stop => show(ShowCommand::Pause),
    }
}

fn reports(
    settings: &SyncSettings,
    chaser: Option<&Chaser>,
    source: Option<crate::bridge::TimecodeSource>,
    out: Option<&MidiOut>,
) -> Vec<SyncReport> {
    let mut r = Vec::new();
    if let Some(c) = chaser {
        // Before anything is heard, the source is the one asked for.
        let asked = settings
            .ltc_in
            .as_ref()
            .map(|_| crate::bridge::TimecodeSource::Ltc);
        r.push(SyncReport {
            name: match source.or(asked) {
                Some(crate::bridge::TimecodeSource::Ltc) => "ltc in",
                _ => "mtc in",
            },
            state: c.state(),
            offset: c.offset_frames(),
            detail: c.rate().map_or("", FrameRate::name).to_string(),
        });
    }
    if let Some(o) = out {
        let state = SyncState::Locked;
        if settings.mtc_out {
            r.push(SyncReport {
                name: "mtc out",
                state,
                offset: None,
                detail: format!("{} ({} dropped)", settings.rate.name(), o.dropped),
            });
        }
        if settings.clock_out {
            r.push(SyncReport {
                name: "midi clock out",
                state,
                offset: None,
                detail: format!("{} dropped", o.dropped),
            });
        }
    }
    r.extend(ltc_out_reports(settings));
    r
}

/// LTC out, written by sound devices rather than this thread: on a device of its own (as
/// started: `ltc_out` is cleared when it could not be), and on channels of the show's.
pub fn ltc_out_reports(settings: &SyncSettings) -> Vec<SyncReport> {
    let mut r = Vec::new();
    if let Some(device) = &settings.ltc_out {
        r.push(SyncReport {
            name: "ltc out",
            state: SyncState::Locked,
            offset: None,
            detail: format!("{} on {device}", settings.rate.name()),
        });
    }
    if !settings.ltc_out_channels.is_empty() {
        let channels: Vec<String> = settings
            .ltc_out_channels
            .iter()
            .map(|c| (c + 1).to_string())
            .collect();
        r.push(SyncReport {
            name: "ltc out",
            state: SyncState::Locked,
            offset: None,
            detail: format!(
                "{} on the show's channel {}",
                settings.rate.name(),
                channels.join(",")
            ),
        });
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ltc_out_is_reported_on_its_device_and_on_the_shows_channels_counted_from_one() {
        let settings = SyncSettings {
            ltc_out: Some("USB Audio".into()),
            ltc_out_channels: vec![2, 3],
            rate: FrameRate::Fps2997Drop,
            ..Default::default()
        };
        let r = ltc_out_reports(&settings);
        let said: Vec<String> = r
            .iter()
            .map(|r| format!("{}: {} ({})", r.name, r.state.name(), r.detail))
            .collect();
        assert_eq!(
            said,
            [
                "ltc out: locked (29.97df on USB Audio)",
                "ltc out: locked (29.97df on the show's channel 3,4)"
            ]
        );
        assert!(ltc_out_reports(&SyncSettings::default()).is_empty());
    }
}
