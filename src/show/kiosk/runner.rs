//! The kiosk on the control thread: what plays, and what comes next.
//!
//! Each item is compiled to a timeline of its own whose clock starts where the show clock is
//! when the item comes in (`Timeline::origin_s`), so an item on the fortieth day plays exactly
//! as on the first. A couple of seconds before an item ends the next one is chosen (closed
//! hours, the attract item, the playlist, passing over quarantined items), compiled and handed
//! to the render thread with the outgoing item as its `before`: the picture crossfades from one
//! to the other, each on its own clock. The sound crossfades too: at the cut every sounding
//! voice fades out over the fade (`EventKind::FadeOut`) while the new item's patch and notes
//! come in. Only two items are ever held, so nothing grows however long the kiosk runs.
//!
//! An item that fails to load (a broken file, a shader that does not compile) is skipped with
//! its errors logged and quarantined until one of the files it names changes; when nothing can
//! play, the attract item or the built-in rest look plays. The kiosk's place (item, position,
//! shuffle state) is written to a small state file every second and on every change, written
//! whole and renamed into place, so a restart carries on where the last run was.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::file::{Item, Kiosk};
use super::playlist::{Playlist, PlaylistState};
use super::schedule::ClosedLook;
use crate::bridge::{CueBoard, CueStatus, Event, EventKind, Health, ShowCommand, Transport};
use crate::clock::{samples_to_seconds, seconds_to_samples};
use crate::show::Diagnostic;
use crate::show::live::{ShowMail, chase};
use crate::show::scheduler::Scheduler;
use crate::show::timeline::{Before, Timeline};

/// What the kiosk can play, compiled: an item's timeline (a performance to its end, a preset
/// for its hold) with every shader checked, or why it cannot play.
pub type ItemLoader = Box<dyn Fn(&Look) -> Result<Timeline, Vec<Diagnostic>> + Send>;

/// The files a look is made from (watched while it is quarantined).
pub type FilesOf = Box<dyn Fn(&Look) -> Vec<PathBuf> + Send>;

/// Something the kiosk shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Look {
    /// A playlist item or the attract item.
    Item(Item),
    /// A preset shown still and silent (the closed look).
    Still(String),
    /// A built-in look: `black` or `rest` (`show::preset::builtin_look`).
    BuiltIn(&'static str),
}

impl Look {
    /// This look as the show's journal keeps it.
    pub fn journaled(&self) -> crate::show::journal::KioskLook {
        use crate::show::journal::KioskLook;
        match self {
            Look::Item(Item::Performance { name, hold_s }) => KioskLook::Performance {
                name: name.clone(),
                hold_s: *hold_s,
            },
            Look::Item(Item::Preset { name, hold_s }) => KioskLook::Preset {
                name: name.clone(),
                hold_s: *hold_s,
            },
            Look::Still(name) => KioskLook::Still(name.clone()),
            Look::BuiltIn(name) => KioskLook::BuiltIn((*name).to_string()),
        }
    }

    /// The look a journal names (`None`: a built-in look this version does not have).
    pub fn from_journal(look: &crate::show::journal::KioskLook) -> Option<Self> {
        use crate::show::journal::KioskLook;
        use crate::show::preset::{BLACK_LOOK, REST_LOOK};
        Some(match look {
            KioskLook::Performance { name, hold_s } => Look::Item(Item::Performance {
                name: name.clone(),
                hold_s: *hold_s,
            }),
            KioskLook::Preset { name, hold_s } => Look::Item(Item::Preset {
                name: name.clone(),
                hold_s: *hold_s,
            }),
            KioskLook::Still(name) => Look::Still(name.clone()),
            KioskLook::BuiltIn(name) => {
                Look::BuiltIn([BLACK_LOOK, REST_LOOK].into_iter().find(|b| b == name)?)
            }
        })
    }
}

/// A kiosk look's timeline made again as the kiosk made it for the picture: `look` placed at
/// `origin_s`, crossfading over `fade_s` from `before` (a look and its origin) if given.
pub fn placed_look(
    load: &ItemLoader,
    look: &Look,
    origin_s: f64,
    before: Option<(&Look, f64)>,
    fade_s: f64,
) -> Result<Timeline, Vec<Diagnostic>> {
    let mut t = load(look)?;
    t.origin_s = origin_s;
    if let Some((out_look, out_origin_s)) = before {
        let mut out = load(out_look)?;
        out.origin_s = out_origin_s;
        let out = Arc::new(out);
        t.before = Some(Before {
            preset_base: t.presets.len(),
            fade_s,
            timeline: out.clone(),
        });
        t.presets.extend(out.presets.iter().cloned());
    }
    Ok(t)
}

/// Which of the kiosk's looks is playing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Playlist item `n` (0-based).
    Item(usize),
    Attract,
    Closed,
    /// Nothing else could play.
    Rest,
}

/// How long before an item's end the next is chosen and compiled: time for the render
/// thread to build its pipelines before the crossfade needs them.
const PREPARE_S: f64 = 2.0;
/// How far ahead of the clock a change the kiosk decides now (a skip, the schedule) is cut.
const CUT_LEAD_S: f64 = 0.3;
/// How long the rest look plays before the playlist is tried again (a file may be fixed).
const REST_S: f64 = 30.0;
/// How often the opening hours are looked at and the state file is written.
const EVERY: Duration = Duration::from_secs(1);

/// What is playing: the look, its timeline (clock from `timeline.origin_s`) and when the
/// next one comes in.
struct Playing {
    slot: Slot,
    timeline: Arc<Timeline>,
    /// Show time of the cut to the next look (infinite while closed: opening ends it).
    ends_s: f64,
    /// The playlist's state with this look chosen: what a restart resumes.
    playlist: PlaylistState,
}

/// An item that failed, and the files whose change lifts it.
struct Quarantined {
    slot: Slot,
    files: Vec<(PathBuf, Option<(SystemTime, u64)>)>,
    why: String,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The state file: where the kiosk stands, for a restart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedPlace {
    /// The playlist item playing (0-based), if one was.
    pub item: Option<usize>,
    /// How far into it, in seconds.
    pub position_s: f64,
    /// The shuffle's generator and `bag`'s round.
    pub rng: u64,
    pub bag: Vec<usize>,
    /// How many times the kiosk has started with this file (restarts = starts - 1).
    pub starts: u64,
}

impl SavedPlace {
    pub fn read(path: &Path) -> Option<Self> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }

    /// Written to a temporary file, synced and renamed over the old one: a crash or a power
    /// cut leaves the old state or the new, never half of one.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

/// Everything the kiosk's control thread needs.
pub struct KioskSetup {
    pub kiosk: Kiosk,
    pub load: ItemLoader,
    /// The files an item is made of, watched for changes while it is quarantined.
    pub files_of: FilesOf,
    pub transport: Arc<Transport>,
    /// How far ahead of the clock events are queued, in samples.
    pub lookahead: u64,
    pub updates: Arc<ShowMail>,
    pub health: Arc<Health>,
    /// Where the kiosk's place is kept; `None`: nowhere.
    pub state_path: Option<PathBuf>,
    /// The wall clock (a test's own, to drive the opening hours).
    pub now: Box<dyn Fn() -> Timestamp + Send>,
    /// The display is to sleep (the closed look `sleep`): the render thread acts on it.
    pub display_asleep: Arc<AtomicBool>,
    /// Where the item playing is told: its title, length and tempo map from its origin on the
    /// show clock (what sync out and Link follow).
    pub cues: Arc<CueBoard>,
}

pub struct KioskShow {
    s: KioskSetup,
    playlist: Playlist,
    rate_hz: u32,
    current: Playing,
    next: Option<Playing>,
    scheduler: Scheduler,
    quarantine: Vec<Quarantined>,
    /// Playlist items since the attract item last played.
    since_attract: usize,
    open: bool,
    starts: u64,
    last_tick: Option<Instant>,
    /// A skip asked for (GO, next cue): cut at this show time.
    skip_at_s: Option<f64>,
    /// The show's journal: each look handed to the picture, by what made it.
    journal: crate::bridge::JournalNotes,
}

impl KioskShow {
    /// The kiosk at the top of the show clock: resumed where the state file says, else the
    /// first look the playlist and the hours give. [`KioskShow::prime`] queues its start.
    pub fn start(s: KioskSetup) -> Self {
        let rate_hz = s.transport.sample_rate_hz();
        let saved = s.state_path.as_deref().and_then(SavedPlace::read);
        let len = s.kiosk.items.len();
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let playlist = match &saved {
            Some(p) => Playlist::resume(
                s.kiosk.order,
                len,
                PlaylistState {
                    current: p.item,
                    rng: p.rng,
                    bag: p.bag.clone(),
                },
            ),
            None => Playlist::new(s.kiosk.order, len, seed),
        };
        let open = s.kiosk.schedule.is_open((s.now)());
        let placeholder = Playing {
            slot: Slot::Rest,
            timeline: Arc::new(crate::show::compile::still_timeline(
                crate::show::preset::builtin_look(crate::show::preset::BLACK_LOOK),
                1.0,
            )),
            ends_s: 0.0,
            playlist: PlaylistState::default(),
        };
        let mut show = Self {
            scheduler: Scheduler::new(&placeholder.timeline, rate_hz),
            current: placeholder,
            next: None,
            playlist,
            rate_hz,
            quarantine: Vec::new(),
            since_attract: 0,
            open,
            starts: saved.as_ref().map_or(0, |p| p.starts) + 1,
            last_tick: None,
            skip_at_s: None,
            journal: crate::bridge::JournalNotes::off(),
            s,
        };
        // A restart carries on with the item that was playing, where it was.
        let resumed = saved
            .filter(|p| open && p.item.is_some_and(|i| i < len))
            .and_then(|p| {
                let i = p.item?;
                let mut t = show.load(Slot::Item(i))?;
                // Near its end, it plays its last moments again rather than none.
                let last_s = show.length_s(Slot::Item(i), &t) - show.s.kiosk.fade_s - 1.0;
                let position_s = p.position_s.min(last_s).max(0.0);
                t.origin_s = -position_s;
                tracing::info!(
                    "somnia kiosk: carrying on with `{}` at {position_s:.1} s",
                    t.title
                );
                Some((Slot::Item(i), t))
            });
        let (slot, t) = resumed.unwrap_or_else(|| {
            let slot = show.choose();
            show.load_first_that_plays(slot)
        });
        let ends_s = t.origin_s + show.length_s(slot, &t);
        let t = Arc::new(t);
        show.scheduler = Scheduler::new(&t, rate_hz);
        show.current = Playing {
            slot,
            timeline: t.clone(),
            ends_s,
            playlist: show.playlist.state.clone(),
        };
        show.now_playing();
        show.s.updates.post_show(t);
        show.save();
        show
    }

    /// Queues the first look's patch and values (where a resumed item stands) and what is due
    /// in the first moments, before the sound starts: nothing of the start is late.
    pub fn prime(&mut self, tx: &mut rtrb::Producer<Event>) {
        let t = &self.current.timeline;
        for kind in chase(t, -t.origin_s, self.rate_hz) {
            let _ = tx.push(Event { at_sample: 0, kind });
        }
        self.scheduler.feed(self.s.lookahead, tx);
    }

    /// The timeline the render thread starts with.
    pub fn timeline(&self) -> Arc<Timeline> {
        self.current.timeline.clone()
    }

    /// How many times this kiosk file has started (1 on the first run).
    pub fn starts(&self) -> u64 {
        self.starts
    }

    fn now_s(&self) -> f64 {
        samples_to_seconds(self.s.transport.position_samples(), self.rate_hz)
    }

    /// Runs until `stop` is set.
    pub fn run(
        mut self,
        commands: &Receiver<ShowCommand>,
        tx: &mut rtrb::Producer<Event>,
        tick: Duration,
        stop: &AtomicBool,
    ) {
        while !stop.load(Ordering::Relaxed) {
            while let Ok(cmd) = commands.try_recv() {
                self.handle(cmd);
            }
            self.step(tx);
            std::thread::sleep(tick);
        }
        self.save();
    }

    fn handle(&mut self, cmd: ShowCommand) {
        match cmd {
            ShowCommand::Go | ShowCommand::NextCue => {
                tracing::info!("somnia kiosk: skipping to the next item");
                self.skip_at_s = Some(self.now_s() + CUT_LEAD_S);
            }
            // Files are looked at when an item is chosen; nothing to do now.
            ShowCommand::Reload => {}
            other => tracing::warn!("somnia kiosk: {other:?} is not for a kiosk, which plays on"),
        }
    }

    /// One pass: the hours, the next look, the queue, the state file.
    pub fn step(&mut self, tx: &mut rtrb::Producer<Event>) {
        let now_s = self.now_s();
        let due = self.last_tick.is_none_or(|t| t.elapsed() >= EVERY);
        if due {
            self.last_tick = Some(Instant::now());
            let open = self.s.kiosk.schedule.is_open((self.s.now)());
            if open != self.open {
                self.open = open;
                tracing::info!("somnia kiosk: {}", if open { "opening" } else { "closing" });
                self.cut_at(now_s + CUT_LEAD_S);
            }
            self.save();
        }
        if let Some(at) = self.skip_at_s.take() {
            self.cut_at(at);
        }
        if self.next.is_none() && now_s >= self.current.ends_s - PREPARE_S {
            self.prepare(self.current.ends_s.max(now_s + CUT_LEAD_S));
        }
        let horizon = self.s.transport.position_samples() + self.s.lookahead;
        let cut = self
            .next
            .as_ref()
            .map(|n| seconds_to_samples(n.timeline.origin_s, self.rate_hz));
        match cut {
            Some(cut) if horizon >= cut => {
                self.scheduler.feed(cut, tx);
                self.splice(cut, tx);
                self.scheduler.feed(horizon, tx);
            }
            _ => {
                self.scheduler.feed(horizon, tx);
            }
        }
        // Once the fade is over the outgoing item is let go.
        let t = &self.current.timeline;
        if t.before.is_some() && t.outgoing_at(now_s).is_none() {
            let alone = t.alone();
            self.current.timeline = alone.clone();
            self.s.updates.post_show(alone);
            self.note_plan(self.current.slot, self.current.timeline.origin_s, None);
        }
    }

    /// Ends the current look at `at_s` (a skip, opening or closing): what was prepared is
    /// chosen again.
    fn cut_at(&mut self, at_s: f64) {
        if self.next.take().is_some() {
            // Not yet spliced: its place in the playlist is given back.
            self.playlist.state = self.current.playlist.clone();
        }
        self.current.ends_s = at_s;
    }

    /// Chooses, compiles and hands over the next look, coming in at `cut_s`.
    fn prepare(&mut self, cut_s: f64) {
        let first_choice = self.choose();
        let (slot, mut t) = self.load_first_that_plays(first_choice);
        let length_s = self.length_s(slot, &t);
        t.origin_s = cut_s;
        let fade_s = self.s.kiosk.fade_s;
        if fade_s > 0.0 {
            let out = self.current.timeline.alone();
            t.before = Some(Before {
                preset_base: t.presets.len(),
                fade_s,
                timeline: out.clone(),
            });
            t.presets.extend(out.presets.iter().cloned());
        }
        let t = Arc::new(t);
        // The render thread gets it now, and builds what it needs while the old look plays on.
        self.s.updates.post_show(t.clone());
        let before = (fade_s > 0.0).then(|| (self.current.slot, self.current.timeline.origin_s));
        self.note_plan(slot, cut_s, before);
        self.next = Some(Playing {
            slot,
            timeline: t,
            ends_s: cut_s + length_s.max(fade_s),
            playlist: self.playlist.state.clone(),
        });
    }

    /// At sample `cut`: the old sound fades out, the new look's patch and values come in, and
    /// its events follow.
    fn splice(&mut self, cut: u64, tx: &mut rtrb::Producer<Event>) {
        let Some(next) = self.next.take() else { return };
        let fade = seconds_to_samples(self.s.kiosk.fade_s, self.rate_hz).max(1);
        let over_samples = fade.min(u64::from(u32::MAX)) as u32;
        let mut events = vec![EventKind::FadeOut { over_samples }];
        events.extend(chase(&next.timeline, 0.0, self.rate_hz));
        for kind in events {
            // A full queue drops it: the show goes on, a little off.
            let _ = tx.push(Event {
                at_sample: cut,
                kind,
            });
        }
        self.scheduler = Scheduler::new(&next.timeline, self.rate_hz);
        self.scheduler.skip_until(cut);
        self.current = next;
        self.now_playing();
        self.save();
    }

    /// What plays next: the closed look outside the hours; the attract item between items
    /// (as often as the file says); else the playlist's next item that is not quarantined;
    /// else the attract item; else the rest look.
    fn choose(&mut self) -> Slot {
        if !self.open {
            return Slot::Closed;
        }
        let attract_ok = self.s.kiosk.attract.is_some() && !self.is_quarantined(Slot::Attract);
        let every = self.s.kiosk.attract_every;
        if attract_ok
            && every > 0
            && self.since_attract >= every
            && matches!(self.current.slot, Slot::Item(_))
        {
            self.since_attract = 0;
            return Slot::Attract;
        }
        let quarantined: Vec<usize> = (0..self.s.kiosk.items.len())
            .filter(|i| self.is_quarantined(Slot::Item(*i)))
            .collect();
        match self.playlist.next(|i| !quarantined.contains(&i)) {
            Some(i) => {
                self.since_attract += 1;
                Slot::Item(i)
            }
            None if attract_ok => Slot::Attract,
            None => Slot::Rest,
        }
    }

    fn look(&self, slot: Slot) -> Look {
        match slot {
            Slot::Item(i) => Look::Item(self.s.kiosk.items[i].clone()),
            Slot::Attract => Look::Item(
                self.s
                    .kiosk
                    .attract
                    .clone()
                    .expect("the attract slot is chosen only when there is one"),
            ),
            Slot::Closed => match &self.s.kiosk.schedule.closed {
                ClosedLook::Preset(name) => Look::Still(name.clone()),
                ClosedLook::Black | ClosedLook::Sleep => {
                    Look::BuiltIn(crate::show::preset::BLACK_LOOK)
                }
            },
            Slot::Rest => Look::BuiltIn(crate::show::preset::REST_LOOK),
        }
    }

    /// Tells `journal` what each look handed to the picture is, from the one showing now.
    pub fn keep_journal(&mut self, journal: crate::bridge::JournalNotes) {
        self.journal = journal;
        self.note_plan(self.current.slot, self.current.timeline.origin_s, None);
    }

    /// The journal's plan for `slot`'s look at `origin_s`, crossfading from `before`.
    fn note_plan(&self, slot: Slot, origin_s: f64, before: Option<(Slot, f64)>) {
        if !self.journal.is_on() {
            return;
        }
        // The looks' own files first (each version is kept once): the first look was loaded
        // before the journal began.
        for s in std::iter::once(slot).chain(before.map(|b| b.0)) {
            for file in (self.s.files_of)(&self.look(s)) {
                self.journal.file(&file);
            }
        }
        let plan = crate::show::journal::Plan::Kiosk {
            look: self.look(slot).journaled(),
            origin_s,
            before: before.map(|(s, o)| (self.look(s).journaled(), o)),
            fade_s: self.s.kiosk.fade_s,
        };
        if let Ok(bytes) = postcard::to_stdvec(&plan) {
            self.journal.send(crate::bridge::Note::Plan(bytes));
        }
    }

    /// Compiles `slot`'s look; a failure is logged and quarantined.
    fn load(&mut self, slot: Slot) -> Option<Timeline> {
        let look = self.look(slot);
        match (self.s.load)(&look) {
            Ok(t) => Some(t),
            Err(diags) => {
                let why = diags
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n");
                tracing::error!("{why}");
                tracing::warn!(
                    "somnia kiosk: {} cannot play; it is passed over until its files change",
                    describe(&look)
                );
                let mut files = (self.s.files_of)(&look);
                files.extend(diags.iter().map(|d| d.path.clone()));
                files.sort();
                files.dedup();
                let files = files
                    .into_iter()
                    .map(|f| {
                        let s = stamp(&f);
                        (f, s)
                    })
                    .collect();
                self.quarantine.push(Quarantined { slot, files, why });
                self.report_quarantine();
                None
            }
        }
    }

    /// `slot`'s look, or the next choice's when it cannot play, down to the rest look (built
    /// in, so it always can), with the slot that did load.
    fn load_first_that_plays(&mut self, mut slot: Slot) -> (Slot, Timeline) {
        for _ in 0..self.s.kiosk.items.len() + 3 {
            if let Some(t) = self.load(slot) {
                return (slot, t);
            }
            slot = match slot {
                Slot::Closed => Slot::Rest,
                Slot::Rest => break,
                _ => self.choose(),
            };
        }
        let rest = crate::show::compile::still_timeline(
            crate::show::preset::builtin_look(crate::show::preset::REST_LOOK),
            REST_S,
        );
        (Slot::Rest, rest)
    }

    /// How long `slot` plays: a performance to its end, a preset for its hold, the closed
    /// look until opening.
    fn length_s(&self, slot: Slot, t: &Timeline) -> f64 {
        match slot {
            Slot::Closed => f64::INFINITY,
            Slot::Rest => REST_S,
            Slot::Item(_) | Slot::Attract => t.duration_s,
        }
    }

    /// Whether `slot` is quarantined; one whose files changed is let out (and tried again).
    fn is_quarantined(&mut self, slot: Slot) -> bool {
        let before = self.quarantine.len();
        self.quarantine
            .retain(|q| q.slot != slot || !q.files.iter().any(|(f, s)| stamp(f) != *s));
        if self.quarantine.len() != before {
            tracing::info!("somnia kiosk: a quarantined item's files changed; it is tried again");
            self.report_quarantine();
        }
        self.quarantine.iter().any(|q| q.slot == slot)
    }

    fn report_quarantine(&self) {
        let names: Vec<String> = self
            .quarantine
            .iter()
            .map(|q| {
                let first = q.why.lines().next().unwrap_or_default();
                format!("{}: {first}", describe(&self.look(q.slot)))
            })
            .collect();
        self.s.health.set_quarantined(names);
    }

    fn now_playing(&mut self) {
        let t = &self.current.timeline;
        let what = match self.current.slot {
            Slot::Item(i) => format!("{} (item {})", t.title, i + 1),
            Slot::Attract => format!("{} (attract)", t.title),
            Slot::Closed => "closed".to_string(),
            Slot::Rest => "rest (nothing else can play)".to_string(),
        };
        tracing::info!("somnia kiosk: now {what}");
        self.s.health.set_playing(&what);
        self.s.cues.set(CueStatus {
            title: t.title.clone(),
            duration_s: t.duration_s,
            tempo: t.tempo.clone(),
            origin_s: t.origin_s,
            ..CueStatus::default()
        });
        self.s.display_asleep.store(
            self.current.slot == Slot::Closed && self.s.kiosk.schedule.closed == ClosedLook::Sleep,
            Ordering::Relaxed,
        );
        let next_change = self
            .s
            .kiosk
            .schedule
            .next_change((self.s.now)())
            // In the kiosk's own time zone: the hours the artist wrote, not UTC.
            .map(|t| t.to_zoned(self.s.kiosk.schedule.tz.clone()).to_string());
        self.s.health.set_next_change(next_change);
    }

    /// Writes where the kiosk stands (skipped when there is no state file).
    fn save(&self) {
        let Some(path) = &self.s.state_path else {
            return;
        };
        let item = match self.current.slot {
            Slot::Item(i) => Some(i),
            _ => None,
        };
        let place = SavedPlace {
            item,
            position_s: (self.now_s() - self.current.timeline.origin_s).max(0.0),
            rng: self.current.playlist.rng,
            bag: self.current.playlist.bag.clone(),
            starts: self.starts,
        };
        if let Err(e) = place.write(path) {
            tracing::warn!(
                "somnia kiosk: cannot write the state file {}: {e}",
                path.display()
            );
        }
    }
}

/// A look in words, for the log.
pub fn describe(look: &Look) -> String {
    match look {
        Look::Item(Item::Performance { name, .. }) => format!("performance `{name}`"),
        Look::Item(Item::Preset { name, .. }) | Look::Still(name) => format!("preset `{name}`"),
        Look::BuiltIn(name) => format!("the built-in {name} look"),
    }
}
