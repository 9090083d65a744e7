//! The live show on the control thread: it owns the GOs given so far and the scheduler, takes
//! transport commands (from the keyboard now; OSC and MIDI send the same ones), recompiles the
//! show when a GO, a seek or a saved file changes it, and hands each new timeline to the render
//! thread. It may block and allocate; the audio thread only ever sees queued events and the
//! transport's atomics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::Diagnostic;
use super::cues::GoPlan;
use super::cues::{CueState, LiveInput};
use super::loops;
use super::scheduler::Scheduler;
use super::timeline::{AudioAction, Timeline};
use crate::bridge::{AudioParam, CueBoard, CueName, CueStatus, Event, EventKind, Transport};
use crate::bridge::{CueRow, CueRowState, ParamFacts, PresetFacts, ShowCommand, ShowMailbox};
use crate::clock::{samples_to_seconds, seconds_to_samples};

/// How the live show reaches the render thread: the newest timeline, and why a reload failed.
pub type ShowMail = ShowMailbox<Timeline, Vec<Diagnostic>>;

/// Loads the show with the GOs given so far.
pub type Loader = Box<dyn Fn(&GoPlan) -> Result<Timeline, Vec<Diagnostic>> + Send>;

/// The least time ahead of the clock a GO's actions are placed: its events must reach the
/// queue before their sample. More when compiling the show takes longer (see `go_lead_s`).
const GO_LEAD_S: f64 = 0.02;
/// "Previous cue" within this long after a cue fired goes to the one before it instead.
const PREV_GRACE_S: f64 = 1.0;
/// A cue this close ahead counts as "here", not "next".
const HERE_S: f64 = 0.05;

pub struct LiveShow {
    load: Loader,
    timeline: Arc<Timeline>,
    live: LiveInput,
    scheduler: Scheduler,
    transport: Arc<Transport>,
    rate_hz: u32,
    lookahead: u64,
    updates: Arc<ShowMail>,
    /// Where the cue list stands, for whoever reports it.
    board: Arc<CueBoard>,
    /// Stopped (S): paused at the top, every GO forgotten, until GO starts the show.
    stopped: bool,
    /// How long compiling the show takes, smoothed: a GO is placed far enough ahead for its
    /// events to be queued before their sample even on a busy machine.
    compile_s: f64,
    /// The show's journal: each timeline handed to the picture, by what it was compiled with.
    journal: crate::bridge::JournalNotes,
}

impl LiveShow {
    /// `timeline` is the show as first loaded (with no GOs); `lookahead` is how far ahead of
    /// the clock events are queued, in samples.
    pub fn new(
        load: Loader,
        timeline: Arc<Timeline>,
        transport: Arc<Transport>,
        lookahead: u64,
        updates: Arc<ShowMail>,
        board: Arc<CueBoard>,
    ) -> Self {
        let rate_hz = transport.sample_rate_hz();
        let show = Self {
            load,
            scheduler: Scheduler::new(&timeline, rate_hz),
            timeline,
            live: LiveInput::default(),
            transport,
            rate_hz,
            lookahead,
            updates,
            board,
            stopped: false,
            compile_s: GO_LEAD_S / 2.0,
            journal: crate::bridge::JournalNotes::off(),
        };
        show.publish();
        show
    }

    /// Tells `journal` what each timeline handed to the picture was compiled with, so the
    /// picture can be drawn again from the journal.
    pub fn keep_journal(&mut self, journal: crate::bridge::JournalNotes) {
        self.journal = journal;
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

    /// A cue's time (score time, as the timeline keeps cues) on the show clock: its first
    /// pass, where loops repeat it.
    fn show_s(&self, score_s: f64) -> f64 {
        loops::show_time(&self.timeline.loops, score_s)
    }

    /// Carries out one command.
    pub fn handle(&mut self, cmd: ShowCommand, tx: &mut rtrb::Producer<Event>) {
        match cmd {
            ShowCommand::Go => self.go(tx),
            ShowCommand::Pause => self.transport.request_pause(true),
            ShowCommand::Resume => {
                self.stopped = false;
                self.transport.request_pause(false);
            }
            ShowCommand::TogglePause => {
                let paused = self.transport.toggle_pause();
                if !paused {
                    self.stopped = false;
                }
                tracing::info!("somnia: {}", if paused { "paused" } else { "playing" });
            }
            ShowCommand::Stop => {
                self.transport.request_pause(true);
                self.live = LiveInput::default();
                self.stopped = true;
                self.seek(0.0, Vec::new(), tx);
                tracing::info!("somnia: stopped at the top; GO starts the show");
            }
            ShowCommand::Seek(t) => {
                let end_s = self.timeline.duration_s;
                if t.is_finite() && (0.0..=end_s).contains(&t) {
                    self.seek(t, Vec::new(), tx);
                } else {
                    tracing::warn!(
                        "somnia: cannot jump to {t} s: the show runs from 0 to {end_s:.1} s"
                    );
                }
            }
            ShowCommand::SeekCue(n) => self.jump_to_cue(n, tx),
            ShowCommand::NextCue => self.next_cue(tx),
            ShowCommand::PrevCue => self.prev_cue(tx),
            ShowCommand::Reload => {
                if self.reload(tx, Why::Edit) {
                    tracing::info!("somnia: reloaded `{}`", self.timeline.title);
                }
            }
            ShowCommand::Preset { name, fade_s } => {
                let at = self.now_s() + self.go_lead_s();
                self.live.presets.push((at, name.clone(), fade_s));
                match self.reload(tx, Why::Live) {
                    true => {
                        tracing::info!("somnia: preset `{name}` at {at:.2} s (fade {fade_s} s)")
                    }
                    // Not a preset of this project: forget it, so the show stays loadable.
                    false => {
                        self.live.presets.pop();
                    }
                }
            }
            ShowCommand::Symphony(change) => {
                let at = self.now_s() + self.go_lead_s();
                self.live.macros.push((at, change));
                if !self.reload(tx, Why::Live) {
                    self.live.macros.pop();
                }
            }
        }
    }

    /// The standby cue: what the next GO fires.
    fn standby(&self) -> Option<usize> {
        self.timeline
            .cues
            .iter()
            .position(|c| c.manual && c.state == CueState::Pending)
    }

    fn cue_name(&self, n: usize) -> CueName {
        CueName {
            number: n + 1,
            label: self.timeline.cues[n].label.clone().unwrap_or_default(),
        }
    }

    /// Tells the board (and the log, when the standby changes) where the cue list stands.
    fn publish(&self) {
        let t = &self.timeline;
        let status = CueStatus {
            standby: self.standby().map(|n| self.cue_name(n)),
            cues: (0..t.cues.len())
                .map(|n| {
                    let c = &t.cues[n];
                    CueRow {
                        name: self.cue_name(n),
                        time_s: c.expected_s.map(|s| self.show_s(s)),
                        manual: c.manual,
                        state: match c.state {
                            CueState::Fired => CueRowState::Timed,
                            CueState::Pending => CueRowState::Waiting,
                            CueState::Skipped => CueRowState::Skipped,
                        },
                    }
                })
                .collect(),
            presets: t
                .presets
                .iter()
                .map(|p| PresetFacts {
                    name: p.name.clone(),
                    params: p
                        .layer
                        .params
                        .iter()
                        .map(|d| ParamFacts {
                            name: d.name.clone(),
                            min: d.min,
                            max: d.max,
                            default: d.default,
                        })
                        .collect(),
                })
                .collect(),
            title: t.title.clone(),
            duration_s: t.duration_s,
            symphony: t.symphony,
            tempo: t.tempo.clone(),
            origin_s: t.origin_s,
        };
        let before = self.board.get();
        if before.standby != status.standby {
            match &status.standby {
                Some(c) => tracing::info!("somnia: standby: {c}"),
                None => tracing::info!("somnia: standby: none (no cue waits for GO)"),
            }
        }
        self.board.set(status);
    }

    /// GO: fires the standby cue now. After a stop it starts the show from the top (and fires
    /// the standby too if it stands at the top).
    fn go(&mut self, tx: &mut rtrb::Producer<Event>) {
        if self.stopped {
            self.stopped = false;
            self.transport.request_pause(false);
            tracing::info!("somnia: GO: the show starts from the top");
            let at_top = self.standby().is_some_and(|n| {
                self.timeline.cues[n]
                    .expected_s
                    .is_some_and(|t| self.show_s(t) <= HERE_S)
            });
            if !at_top {
                return;
            }
        }
        let Some(n) = self.standby() else {
            tracing::info!("somnia: GO, but no cue is waiting for one");
            return;
        };
        let at = self.now_s() + self.go_lead_s();
        self.fire(n, at, tx);
    }

    /// Fires manual cue `n` at show time `at`.
    fn fire(&mut self, n: usize, at: f64, tx: &mut rtrb::Producer<Event>) {
        let key = self.timeline.cues[n].key.clone();
        self.live.gos.insert(key, at);
        let name = self.cue_name(n);
        tracing::info!("somnia: GO {name} at {at:.3} s");
        self.reload(tx, Why::Go);
    }

    /// The cues the transport steps through, in the order they come: (show time, index). A
    /// cue waiting for GO is placed where it comes if GOne on time; passed-over ones are left
    /// out.
    fn in_time_order(&self) -> Vec<(f64, usize)> {
        let mut order: Vec<(f64, usize)> = self
            .timeline
            .cues
            .iter()
            .enumerate()
            .filter(|(_, c)| c.state != CueState::Skipped)
            .filter_map(|(i, c)| Some((self.show_s(c.expected_s?), i)))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        order
    }

    /// → : the next cue in time order; never past the standby cue (the cues after it wait for
    /// it), which is GOne instead: where it is due, or now if that has passed.
    fn next_cue(&mut self, tx: &mut rtrb::Producer<Event>) {
        let now = self.now_s();
        let next = self
            .in_time_order()
            .into_iter()
            .find(|(t, _)| *t > now + HERE_S);
        let waiting = |i: usize| self.timeline.cues[i].state != CueState::Fired;
        match (next, self.standby()) {
            (Some((_, i)), Some(s)) if waiting(i) => {
                let due = self.timeline.cues[s].expected_s.map(|t| self.show_s(t));
                if due.is_some_and(|t| t > now + HERE_S) {
                    self.jump_to_cue(s, tx);
                } else {
                    self.go(tx);
                }
            }
            (None, Some(_)) => self.go(tx),
            (Some((_, i)), _) => self.jump_to_cue(i, tx),
            (None, None) => tracing::info!("somnia: no cue after this one"),
        }
    }

    /// ← : the cue before this one in time order (or the one before that within a second of
    /// it firing); before the first, the top.
    fn prev_cue(&mut self, tx: &mut rtrb::Producer<Event>) {
        let now = self.now_s();
        let prev = self.in_time_order().into_iter().rev().find(|(t, i)| {
            *t < now - PREV_GRACE_S && self.timeline.cues[*i].state == CueState::Fired
        });
        match prev {
            Some((_, n)) => self.jump_to_cue(n, tx),
            None => self.seek(0.0, Vec::new(), tx),
        }
    }

    /// Jumps to cue `n` (0-based, file order) and fires it there. A cue whose act waits (or
    /// was passed over) has its act GOne where it would have come, with any waiting act
    /// before it.
    fn jump_to_cue(&mut self, n: usize, tx: &mut rtrb::Producer<Event>) {
        let Some(cue) = self.timeline.cues.get(n) else {
            tracing::info!("somnia: there is no cue {}", n + 1);
            return;
        };
        if let Some(t) = cue.fire_s {
            self.seek(self.show_s(t), Vec::new(), tx);
            return;
        }
        let (Some(act), Some(t)) = (cue.act, cue.expected_s) else {
            tracing::info!("somnia: cue {} has no time to jump to", n + 1);
            return;
        };
        // Waiting acts up to this one are GOne where they come; passed-over ones stay so.
        let first = self.standby().unwrap_or(act).min(act);
        let gos: Vec<(String, f64)> = self.timeline.cues[first..=act]
            .iter()
            .enumerate()
            .filter(|(k, c)| c.manual && (first + k == act || c.state == CueState::Pending))
            .filter_map(|(_, c)| Some((c.key.clone(), self.show_s(c.expected_s?))))
            .collect();
        if !gos.is_empty() {
            tracing::info!("somnia: GO {} (jumped to)", self.cue_name(act));
        }
        self.seek(self.show_s(t), gos, tx);
    }

    /// Moves the show to `time_s`: GOs after it are forgotten (those acts wait again), `gos`
    /// are given, the audio clock jumps, and the sound is chased: the patch and every
    /// parameter as the timeline has them at that moment.
    fn seek(&mut self, time_s: f64, gos: Vec<(String, f64)>, tx: &mut rtrb::Producer<Event>) {
        self.live.gos.retain(|_, t| *t < time_s);
        self.live.gos.extend(gos);
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
        tracing::info!("somnia: at {time_s:.2} s");
    }

    /// Compiles the show again (after a GO, a seek or a saved file) and takes it over.
    /// Returns whether the show loaded. Only a saved file's errors go to the picture's
    /// rehearsal overlay: a GO or a live change that fails was not the file's doing.
    fn reload(&mut self, tx: &mut rtrb::Producer<Event>, why: Why) -> bool {
        let started = Instant::now();
        let loaded = (self.load)(&GoPlan::Live(self.live.clone()));
        self.compile_s = 0.7 * self.compile_s + 0.3 * started.elapsed().as_secs_f64();
        let ok = match loaded {
            Ok(t) => {
                self.take_over(Arc::new(t), tx, why);
                true
            }
            Err(diags) => {
                if let Why::Seek(_) = why {
                    // The clock moved: the old show must be picked up there all the same.
                    self.take_over(self.timeline.clone(), tx, why);
                }
                match why {
                    // A controller's change that does not fit (a preset name the project
                    // does not have): the sender's mistake, not the file's, so no file
                    // position and nothing on the rehearsal overlay.
                    Why::Live => {
                        for d in &diags {
                            let hint = d.hint.as_deref().map(|h| format!(" ({h})"));
                            tracing::warn!(
                                "somnia: {}{}; the show goes on",
                                d.message,
                                hint.unwrap_or_default()
                            );
                        }
                    }
                    _ => {
                        for d in &diags {
                            tracing::error!("{d}");
                        }
                        tracing::warn!(
                            "somnia: the show did not reload; the last good version plays on"
                        );
                    }
                }
                if let Why::Edit = why {
                    self.updates.post_load_failed(diags);
                }
                false
            }
        };
        self.publish();
        ok
    }

    fn take_over(&mut self, timeline: Arc<Timeline>, tx: &mut rtrb::Producer<Event>, why: Why) {
        let now = self.transport.position_samples();
        self.scheduler = match why {
            // Everything queued stays; the GOne cues' events are added.
            Why::Go | Why::Live => {
                Scheduler::take_over(&timeline, self.rate_hz, &self.scheduler, now, tx)
            }
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
        self.updates.post_show(timeline);
        if self.journal.is_on() {
            let plan = crate::show::journal::Plan::Live(self.live.clone());
            if let Ok(plan) = postcard::to_stdvec(&plan) {
                self.journal.send(crate::bridge::Note::Plan(plan));
            }
        }
    }
}

/// Why the show is being taken over.
#[derive(Clone, Copy, Debug)]
enum Why {
    Go,
    /// A controller's change (a preset, the composer's macros), compiled in like a GO.
    Live,
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
