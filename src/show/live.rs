//! The live show on the control thread: it owns the GOs given so far and the scheduler, takes
//! transport commands (from the keyboard now; OSC and MIDI send the same ones), recompiles the
//! show when a GO, a seek or a saved file changes it, and hands each new timeline to the render
//! thread. It may block and allocate; the audio thread only ever sees queued events and the
//! transport's atomics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use super::Diagnostic;
use super::cues::{LiveInput, LiveMacros};
use super::scheduler::Scheduler;
use super::timeline::{AudioAction, GoPlan, Timeline};
use crate::bridge::{AudioParam, Event, EventKind, Transport};
use crate::clock::{samples_to_seconds, seconds_to_samples};

/// What a performer (or a controller) asks of the show.
#[derive(Clone, Debug, PartialEq)]
pub enum ShowCommand {
    /// Fire the next manual cue.
    Go,
    Pause,
    Resume,
    TogglePause,
    /// Pause and go back to the start, every GO forgotten.
    Stop,
    /// Jump to a show time, seconds.
    Seek(f64),
    /// Jump to cue `n` (0-based, in file order); a manual cue waiting there is GOne.
    SeekCue(usize),
    NextCue,
    PrevCue,
    /// A file of the show was saved: load it again.
    Reload,
    /// Change to a preset (by name: it must be one of the project's), fading over `fade_s`.
    Preset {
        name: String,
        fade_s: f64,
    },
    /// Change the composer's macros (from the next bar).
    Symphony(LiveMacros),
}

/// What the control thread tells the render thread.
#[derive(Debug)]
pub enum ShowUpdate {
    Timeline(Arc<Timeline>),
    /// A reload failed; the last good show plays on.
    LoadFailed(Vec<Diagnostic>),
}

/// Loads the show with the GOs given so far.
pub type Loader = Box<dyn Fn(&GoPlan) -> Result<Timeline, Vec<Diagnostic>> + Send>;

/// The least time ahead of the clock a GO's actions are placed: its events must reach the
/// queue before their sample. More when compiling the show takes longer (see `go_lead_s`).
const GO_LEAD_S: f64 = 0.02;
/// "Previous cue" within this long after a cue fired goes to the one before it instead.
const PREV_GRACE_S: f64 = 1.0;

pub struct LiveShow {
    load: Loader,
    timeline: Arc<Timeline>,
    live: LiveInput,
    scheduler: Scheduler,
    transport: Arc<Transport>,
    rate_hz: u32,
    lookahead: u64,
    updates: Sender<ShowUpdate>,
    /// How long compiling the show takes, smoothed: a GO is placed far enough ahead for its
    /// events to be queued before their sample even on a busy machine.
    compile_s: f64,
}

impl LiveShow {
    /// `timeline` is the show as first loaded (with no GOs); `lookahead` is how far ahead of
    /// the clock events are queued, in samples.
    pub fn new(
        load: Loader,
        timeline: Arc<Timeline>,
        transport: Arc<Transport>,
        lookahead: u64,
        updates: Sender<ShowUpdate>,
    ) -> Self {
        let rate_hz = transport.sample_rate_hz();
        Self {
            load,
            scheduler: Scheduler::new(&timeline, rate_hz),
            timeline,
            live: LiveInput::default(),
            transport,
            rate_hz,
            lookahead,
            updates,
            compile_s: GO_LEAD_S / 2.0,
        }
    }

    /// How far ahead of the clock a GO or a live change lands.
    fn go_lead_s(&self) -> f64 {
        (2.0 * self.compile_s + 0.005).clamp(GO_LEAD_S, 0.25)
    }

    /// Takes over a scheduler already fed (the start of the show, queued before the audio
    /// device started).
    pub fn adopt(&mut self, scheduler: Scheduler) {
        self.scheduler = scheduler;
    }

    pub fn timeline(&self) -> &Arc<Timeline> {
        &self.timeline
    }

    /// Queues the events due before the horizon (the clock plus the lookahead).
    pub fn feed(&mut self, tx: &mut rtrb::Producer<Event>) {
        let horizon = self.transport.position_samples() + self.lookahead;
        self.scheduler.feed(horizon, tx);
    }

    /// Runs until `stop` is set: commands as they come, feeding every `tick`.
    pub fn run(
        mut self,
        commands: &Receiver<ShowCommand>,
        tx: &mut rtrb::Producer<Event>,
        tick: Duration,
        stop: &std::sync::atomic::AtomicBool,
    ) {
        // One compile up front, timed: the first GO's lead must fit this machine already.
        let started = Instant::now();
        let _ = (self.load)(&GoPlan::Live(self.live.clone()));
        self.compile_s = started.elapsed().as_secs_f64();
        self.feed(tx);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            while let Ok(cmd) = commands.try_recv() {
                self.handle(cmd, tx);
            }
            self.feed(tx);
            std::thread::sleep(tick);
        }
    }

    fn now_s(&self) -> f64 {
        samples_to_seconds(self.transport.position_samples(), self.rate_hz)
    }

    /// Carries out one command.
    pub fn handle(&mut self, cmd: ShowCommand, tx: &mut rtrb::Producer<Event>) {
        match cmd {
            ShowCommand::Go => self.go(tx),
            ShowCommand::Pause => self.transport.request_pause(true),
            ShowCommand::Resume => self.transport.request_pause(false),
            ShowCommand::TogglePause => {
                self.transport.toggle_pause();
            }
            ShowCommand::Stop => {
                self.transport.request_pause(true);
                self.live = LiveInput::default();
                self.seek(0.0, tx);
            }
            ShowCommand::Seek(t) => self.seek(t.max(0.0), tx),
            ShowCommand::SeekCue(n) => self.seek_cue(n, tx),
            ShowCommand::NextCue => {
                let now = self.now_s();
                match self.next_pending_go() {
                    Some(_) => self.go(tx),
                    None => {
                        let next = self
                            .timeline
                            .cues
                            .iter()
                            .position(|c| c.action_s.is_some_and(|t| t > now + 0.05));
                        match next {
                            Some(n) => self.seek_cue(n, tx),
                            None => eprintln!("somnia: no cue after this one"),
                        }
                    }
                }
            }
            ShowCommand::PrevCue => {
                let now = self.now_s();
                let prev = self
                    .timeline
                    .cues
                    .iter()
                    .rposition(|c| c.action_s.is_some_and(|t| t < now - PREV_GRACE_S));
                match prev {
                    Some(n) => self.seek_cue(n, tx),
                    None => self.seek(0.0, tx),
                }
            }
            ShowCommand::Reload => {
                self.reload(tx, Why::Edit);
            }
            ShowCommand::Preset { name, fade_s } => {
                let at = self.now_s() + self.go_lead_s();
                self.live.presets.push((at, name.clone(), fade_s));
                if !self.reload(tx, Why::Go) {
                    // Not a preset of this project: forget it, so the show stays loadable.
                    self.live.presets.pop();
                    eprintln!("somnia: no preset `{name}` to change to");
                } else {
                    eprintln!("somnia: preset `{name}` at {at:.2} s (fade {fade_s} s)");
                }
            }
            ShowCommand::Symphony(change) => {
                let at = self.now_s() + self.go_lead_s();
                self.live.macros.push((at, change));
                if !self.reload(tx, Why::Go) {
                    self.live.macros.pop();
                }
            }
        }
    }

    /// The first manual cue not yet GOne whose predecessors have all fired.
    fn next_pending_go(&self) -> Option<usize> {
        self.timeline
            .cues
            .iter()
            .position(|c| c.manual && c.fire_s.is_none())
    }

    fn go(&mut self, tx: &mut rtrb::Producer<Event>) {
        let Some(n) = self.next_pending_go() else {
            eprintln!("somnia: GO, but no cue is waiting for one");
            return;
        };
        let at = self.now_s() + self.go_lead_s();
        self.live.gos.insert(n, at);
        let label = self.timeline.cues[n].label.clone().unwrap_or_default();
        eprintln!("somnia: GO cue {} {label} at {at:.3} s", n + 1);
        self.reload(tx, Why::Go);
    }

    fn seek_cue(&mut self, n: usize, tx: &mut rtrb::Producer<Event>) {
        let Some(cue) = self.timeline.cues.get(n) else {
            eprintln!("somnia: there is no cue {}", n + 1);
            return;
        };
        match cue.fire_s {
            Some(t) => self.seek(t, tx),
            None if cue.manual => {
                // Standing at a cue that waits for GO means GOing it there and then.
                self.live.gos.insert(n, self.now_s() + self.go_lead_s());
                self.reload(tx, Why::Go);
            }
            None => eprintln!("somnia: cue {} waits for an earlier GO", n + 1),
        }
    }

    /// Moves the show to `time_s`: GOs after it are forgotten (those cues wait again), the
    /// audio clock jumps, and the sound is chased: the patch and every parameter as the
    /// timeline has them at that moment.
    fn seek(&mut self, time_s: f64, tx: &mut rtrb::Producer<Event>) {
        self.live.gos.retain(|_, t| *t < time_s);
        self.live.presets.retain(|(t, ..)| *t < time_s);
        self.live.macros.retain(|(t, _)| *t < time_s);
        let sample = seconds_to_samples(time_s, self.rate_hz);
        let ticket = self.transport.request_seek(sample);
        // The audio side takes it before its next block; if the device is stalled, the
        // supervisor's stand-in clock takes it just the same.
        let waited = Instant::now();
        while self.transport.seeks_done() < ticket && waited.elapsed() < Duration::from_millis(500)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.reload(tx, Why::Seek(sample));
        eprintln!("somnia: at {time_s:.2} s");
    }

    /// Compiles the show again (after a GO, a seek or a saved file) and takes it over.
    /// Returns whether the show loaded.
    fn reload(&mut self, tx: &mut rtrb::Producer<Event>, why: Why) -> bool {
        let started = Instant::now();
        let loaded = (self.load)(&GoPlan::Live(self.live.clone()));
        self.compile_s = 0.7 * self.compile_s + 0.3 * started.elapsed().as_secs_f64();
        match loaded {
            Ok(t) => {
                self.take_over(Arc::new(t), tx, why);
                true
            }
            Err(diags) => {
                if let Why::Seek(_) = why {
                    // The clock moved: the old show must be picked up there all the same.
                    self.take_over(self.timeline.clone(), tx, why);
                }
                for d in &diags {
                    eprintln!("{d}");
                }
                eprintln!("somnia: the show did not reload; the last good version plays on");
                let _ = self.updates.send(ShowUpdate::LoadFailed(diags));
                false
            }
        }
    }

    fn take_over(&mut self, timeline: Arc<Timeline>, tx: &mut rtrb::Producer<Event>, why: Why) {
        let now = self.transport.position_samples();
        self.scheduler = match why {
            // Everything queued stays; the GOne cues' events are added.
            Why::Go => Scheduler::take_over(&timeline, self.rate_hz, &self.scheduler, now, tx),
            // The queue was emptied by the seek: start there, with the sound chased to what
            // the timeline has at that moment.
            Why::Seek(sample) => {
                let mut s = Scheduler::new(&timeline, self.rate_hz);
                s.skip_until(sample);
                let time_s = samples_to_seconds(sample, self.rate_hz);
                for kind in chase(&timeline, time_s, self.rate_hz) {
                    let _ = tx.push(Event {
                        at_sample: sample,
                        kind,
                    });
                }
                s
            }
            // A saved file: what is queued plays out; from the horizon on the new show plays,
            // its notes starting clean and with the patch it has there.
            Why::Edit => {
                let horizon = now + self.lookahead;
                let mut s = Scheduler::new(&timeline, self.rate_hz);
                s.skip_until(horizon);
                let time_s = samples_to_seconds(horizon, self.rate_hz);
                for kind in [
                    EventKind::AllNotesOff,
                    EventKind::SetPatch(timeline.patch_at(time_s)),
                ] {
                    let _ = tx.push(Event {
                        at_sample: horizon,
                        kind,
                    });
                }
                s
            }
        };
        self.timeline = timeline.clone();
        let _ = self.updates.send(ShowUpdate::Timeline(timeline));
    }
}

/// Why the show is being taken over.
#[derive(Clone, Copy, Debug)]
enum Why {
    Go,
    Seek(u64),
    Edit,
}

/// The events that bring the sound to `timeline`'s state at `time_s`: its patch, and every
/// audio parameter's value there (a ramp in progress continues from where it is).
pub fn chase(timeline: &Timeline, time_s: f64, rate_hz: u32) -> Vec<EventKind> {
    let mut out = vec![EventKind::SetPatch(timeline.patch_at(time_s))];
    let mut last: BTreeMap<usize, (f64, f32, f64, crate::bridge::Curve)> = BTreeMap::new();
    let mut params: Vec<AudioParam> = Vec::new();
    for c in timeline.audio.iter().take_while(|c| c.time_s <= time_s) {
        match c.action {
            AudioAction::Param {
                param,
                value,
                ramp_s,
                curve,
            } => {
                if !params.contains(&param) {
                    params.push(param);
                }
                last.insert(param.index(), (c.time_s, value, ramp_s, curve));
            }
            AudioAction::Patch(_) => last.clear(),
            _ => {}
        }
    }
    for p in params {
        let Some(&(start, value, ramp_s, curve)) = last.get(&p.index()) else {
            continue;
        };
        let left_s = start + ramp_s - time_s;
        out.push(EventKind::SetParam {
            param: p,
            value,
            // A ramp in progress goes on for what is left of it (from wherever the engine's
            // value is: close enough for a jump in the show).
            ramp_samples: if left_s > 0.0 {
                (left_s * f64::from(rate_hz)) as u32
            } else {
                0
            },
            curve,
        });
    }
    out
}
