//! Our small wrapper over the MIDI system: MIDI input from every port (or the ones named), with
//! hot-plug. ALSA's sequencer through midir; in the `jack` build, JACK through our own client
//! ([`super::jack_in`], on the `jack` crate: midir's JACK backend frees a port its callback may
//! still be reading).
//!
//! - Neither has an event for a device coming or going, so a thread lists the ports twice a
//!   second, connects new ones and lets go of those that vanished. A machine without MIDI (no
//!   ALSA sequencer, no JACK server) is told once and looked at again on each pass: the show
//!   plays on, and a controller plugged in later is picked up.
//! - midir calls back on its own thread (under JACK, the real-time process thread). The callback
//!   only parses the bytes into a fixed-size message, pushes it into that port's bounded ring
//!   (full: dropped and counted) and wakes our thread; it never allocates or locks.
//! - Our thread routes each message ([`super::route`]) and carries out what it means through
//!   the steering every controller shares (the engine's live queue, heard within a block; show
//!   commands; picture changes; the external clock), and saves what MIDI learn binds to the
//!   mapping file.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::learn::{LearnTarget, save_learned};
use super::route::{Routed, Router};
use super::wire::{self, MidiMsg};
use crate::bridge::{WakeSender, wake_channel};
use crate::control::intent::{Intent, Steering};

/// How often the ports are listed for hot-plug.
const SCAN_INTERVAL: Duration = Duration::from_millis(500);
/// Messages each port's ring holds between two wake-ups of our thread.
const RING_CAPACITY: usize = 1024;
/// The name our client (and ports) show in the MIDI system.
const CLIENT_NAME: &str = "somnia";

/// Names of the MIDI input ports, or why they cannot be listed.
pub fn input_port_names() -> Result<Vec<String>, MidiError> {
    Ok(Lister::open()?
        .sources()
        .into_iter()
        .map(|s| s.name)
        .collect())
}

/// A MIDI source seen in the port list.
struct Source {
    id: String,
    name: String,
    #[cfg(not(feature = "jack"))]
    port: midir::MidiInputPort,
}

/// Lists the MIDI system's sources.
struct Lister {
    #[cfg(not(feature = "jack"))]
    inner: midir::MidiInput,
    #[cfg(feature = "jack")]
    inner: super::jack_in::JackLister,
}

impl Lister {
    fn open() -> Result<Self, MidiError> {
        midi_system_present()?;
        #[cfg(not(feature = "jack"))]
        let inner = midir::MidiInput::new(CLIENT_NAME)
            .map_err(|e| MidiError::NoMidiSystem(e.to_string()))?;
        #[cfg(feature = "jack")]
        let inner = super::jack_in::JackLister::new(CLIENT_NAME)?;
        Ok(Self { inner })
    }

    fn sources(&self) -> Vec<Source> {
        #[cfg(not(feature = "jack"))]
        {
            self.inner
                .ports()
                .into_iter()
                .map(|port| Source {
                    id: port.id(),
                    name: self.inner.port_name(&port).unwrap_or_else(|_| port.id()),
                    port,
                })
                .collect()
        }
        #[cfg(feature = "jack")]
        {
            self.inner
                .sources()
                .into_iter()
                .map(|name| Source {
                    id: name.clone(),
                    name,
                })
                .collect()
        }
    }
}

/// A source's connection: listening stops when it is dropped.
#[cfg(not(feature = "jack"))]
type Connection = midir::MidiInputConnection<()>;
#[cfg(feature = "jack")]
type Connection = super::jack_in::JackInput;

/// Connects `source`; each message goes into `ring` (see [`on_midi_bytes`]).
fn connect_source(
    source: &Source,
    ring: rtrb::Producer<(MidiMsg, Instant)>,
    wake: Thread,
    stats: Arc<MidiStats>,
) -> Result<Connection, MidiError> {
    #[cfg(not(feature = "jack"))]
    {
        let mut ring = ring;
        let mut input =
            midir::MidiInput::new(CLIENT_NAME).map_err(|e| MidiError::Port(e.to_string()))?;
        // Clock, song position and MMC (system exclusive) are wanted; active sensing is
        // parsed to nothing.
        input.ignore(midir::Ignore::None);
        input
            .connect(
                &source.port,
                "in",
                move |_stamp_us, bytes, _| on_midi_bytes(bytes, &mut ring, &wake, &stats.dropped),
                (),
            )
            .map_err(|e| MidiError::Port(e.to_string()))
    }
    #[cfg(feature = "jack")]
    {
        super::jack_in::JackInput::connect(CLIENT_NAME, &source.id, ring, wake, stats)
    }
}

/// Which input ports to listen to.
#[derive(Clone, Debug, PartialEq)]
pub enum PortChoice {
    All,
    /// Ports whose name contains this (any case).
    Named(String),
}

impl PortChoice {
    fn wants(&self, port_name: &str) -> bool {
        // The show's own sync output (MIDI clock, MTC) is never heard back as input: chasing
        // its own timecode would follow itself.
        if port_name.contains(crate::control::sync::midi_out::CLIENT_NAME) {
            return false;
        }
        match self {
            PortChoice::All => true,
            PortChoice::Named(n) => port_name.to_lowercase().contains(&n.to_lowercase()),
        }
    }
}

pub struct MidiSettings {
    pub ports: PortChoice,
    /// Who the log lines are from (`somnia play`, `somnia kiosk`).
    pub who: &'static str,
    /// Where MIDI learn saves bindings (the map's own file, or the project's `midi-map.toml`).
    pub map_path: PathBuf,
    pub router: Router,
}

/// What MIDI input has seen.
#[derive(Debug, Default)]
pub struct MidiStats {
    pub messages: AtomicU64,
    /// Dropped because a ring or queue was full.
    pub dropped: AtomicU64,
}

/// Arms MIDI learn from another thread (OSC, the keyboard): `None` disarms.
pub type MidiLearn = WakeSender<Option<LearnTarget>>;

/// MIDI input, running until dropped.
pub struct MidiInputs {
    pub stats: Arc<MidiStats>,
    learn: MidiLearn,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Why MIDI input could not start, or a port could not be listened to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MidiError {
    /// The machine has no MIDI system (no ALSA sequencer, no JACK): MIDI devices cannot be
    /// reached until it has one. Input keeps looking.
    #[error("MIDI is not available here: {0}")]
    NoMidiSystem(String),
    /// The port was found but refused us (busy, or gone as we connected): it is tried again
    /// when it comes back.
    #[error("{0}")]
    Port(String),
    /// The MIDI thread could not start: the machine is short of something.
    #[error("cannot start MIDI input: {0}")]
    Thread(std::io::Error),
}

impl MidiInputs {
    pub fn start(settings: MidiSettings, steering: Steering) -> Result<Self, MidiError> {
        let stats = Arc::new(MidiStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (waker, rx) = wake_channel(16);
        let thread = {
            let (stats, stop) = (stats.clone(), stop.clone());
            std::thread::Builder::new()
                .name("somnia-midi".into())
                .spawn(move || run(settings, &steering, stats, &stop, &rx))
                .map_err(MidiError::Thread)?
        };
        Ok(Self {
            stats,
            learn: waker.bind(thread.thread().clone()),
            stop,
            thread: Some(thread),
        })
    }

    pub fn learn(&self) -> MidiLearn {
        self.learn.clone()
    }
}

impl Drop for MidiInputs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// What midir's callback does with each message: parse it, queue it with its arrival time
/// (a full ring drops it and counts), and wake the MIDI thread. Under JACK this runs on the
/// real-time process thread, so it never allocates, frees or locks (`tests/realtime.rs`).
pub fn on_midi_bytes(
    bytes: &[u8],
    ring: &mut rtrb::Producer<(MidiMsg, Instant)>,
    wake: &Thread,
    dropped: &AtomicU64,
) {
    if let Some(msg) = wire::parse(bytes) {
        if ring.push((msg, Instant::now())).is_err() {
            dropped.fetch_add(1, Ordering::Relaxed);
        }
        wake.unpark();
    }
}

/// One open port.
struct OpenPort {
    id: String,
    name: String,
    _connection: Connection,
    rx: rtrb::Consumer<(MidiMsg, Instant)>,
}

/// The ports we listen to, kept in step with what is plugged in.
struct Ports {
    choice: PortChoice,
    lister: Option<Lister>,
    open: Vec<OpenPort>,
    /// Ports that would not open, so each failure is told once.
    failed: Vec<String>,
    told_unavailable: bool,
    who: &'static str,
    wake: Thread,
    /// Counts what the port rings drop, among the rest.
    stats: Arc<MidiStats>,
}

/// Whether the MIDI system could be there, checked without opening it: ALSA's library prints
/// its own error to stderr on every failed open, which twice a second would flood the log.
fn midi_system_present() -> Result<(), MidiError> {
    #[cfg(all(target_os = "linux", not(feature = "jack")))]
    if !std::path::Path::new("/dev/snd/seq").exists() {
        return Err(MidiError::NoMidiSystem(
            "no ALSA sequencer (/dev/snd/seq)".into(),
        ));
    }
    Ok(())
}

impl Ports {
    fn rescan(&mut self) {
        if self.lister.is_none() {
            match Lister::open() {
                Ok(l) => {
                    if self.told_unavailable {
                        tracing::info!("{}: MIDI is available now", self.who);
                    }
                    self.told_unavailable = false;
                    self.lister = Some(l);
                }
                Err(e) => {
                    if !self.told_unavailable {
                        tracing::warn!(
                            "{}: {e}; playing on, and looking again twice a second",
                            self.who
                        );
                        self.told_unavailable = true;
                    }
                    return;
                }
            }
        }
        let Some(lister) = &self.lister else { return };
        let present = lister.sources();
        self.open.retain(|o| {
            let here = present.iter().any(|s| s.id == o.id);
            if !here {
                tracing::warn!("{}: MIDI `{}` is gone", self.who, o.name);
            }
            here
        });
        self.failed.retain(|id| present.iter().any(|s| s.id == *id));
        for source in present {
            if !self.choice.wants(&source.name)
                || self.open.iter().any(|o| o.id == source.id)
                || self.failed.contains(&source.id)
            {
                continue;
            }
            match self.connect(&source) {
                Ok(open) => {
                    tracing::info!("{}: MIDI in from `{}`", self.who, source.name);
                    self.open.push(open);
                }
                Err(e) => {
                    tracing::warn!("{}: cannot listen to MIDI `{}`: {e}", self.who, source.name);
                    self.failed.push(source.id);
                }
            }
        }
    }

    fn connect(&self, source: &Source) -> Result<OpenPort, MidiError> {
        let (tx, rx) = rtrb::RingBuffer::<(MidiMsg, Instant)>::new(RING_CAPACITY);
        let connection = connect_source(source, tx, self.wake.clone(), self.stats.clone())?;
        Ok(OpenPort {
            id: source.id.clone(),
            name: source.name.clone(),
            _connection: connection,
            rx,
        })
    }
}

fn run(
    settings: MidiSettings,
    steering: &Steering,
    stats: Arc<MidiStats>,
    stop: &AtomicBool,
    learn_rx: &Receiver<Option<LearnTarget>>,
) {
    let MidiSettings {
        ports: choice,
        who,
        map_path,
        mut router,
    } = settings;
    let mut ports = Ports {
        choice,
        lister: None,
        open: Vec::new(),
        failed: Vec::new(),
        told_unavailable: false,
        who,
        wake: std::thread::current(),
        stats: stats.clone(),
    };
    let epoch = Instant::now();
    let mut next_scan = Instant::now();
    let mut routed = Vec::new();
    let mut clock_log = ClockLog { who, told_bpm: 0.0 };
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() >= next_scan {
            ports.rescan();
            next_scan = Instant::now() + SCAN_INTERVAL;
        }
        while let Ok(target) = learn_rx.try_recv() {
            match &target {
                Some(t) => tracing::info!(
                    "{who}: MIDI learn: move a control for `{}` (it will be saved to {})",
                    t.name(),
                    map_path.display()
                ),
                None => tracing::info!("{who}: MIDI learn off"),
            }
            router.arm(target);
        }
        for port in &mut ports.open {
            while let Ok((msg, at)) = port.rx.pop() {
                stats.messages.fetch_add(1, Ordering::Relaxed);
                router.route(&msg, at.duration_since(epoch).as_secs_f64(), &mut routed);
                for r in routed.drain(..) {
                    clock_log.note(&r);
                    carry_out(r, at, steering, &stats, (&map_path, who, &port.name));
                }
            }
        }
        std::thread::park_timeout(next_scan.saturating_duration_since(Instant::now()));
    }
}

/// Tells the log when an external clock is followed, changes tempo, or stops.
struct ClockLog {
    who: &'static str,
    /// The tempo last told; 0 while no clock is followed.
    told_bpm: f64,
}

impl ClockLog {
    /// Changes smaller than this are jitter, not news.
    const STEP_BPM: f64 = 1.0;

    fn note(&mut self, routed: &Routed) {
        match routed {
            Routed::Steer(Intent::Clock { bpm, .. })
                if (bpm - self.told_bpm).abs() >= Self::STEP_BPM =>
            {
                tracing::info!("{}: following MIDI clock at {bpm:.1} bpm", self.who);
                self.told_bpm = *bpm;
            }
            Routed::Steer(Intent::ClockStopped) if self.told_bpm > 0.0 => {
                tracing::info!(
                    "{}: MIDI clock stopped; the show's own tempo again",
                    self.who
                );
                self.told_bpm = 0.0;
            }
            _ => {}
        }
    }
}

fn carry_out(
    routed: Routed,
    at: Instant,
    steering: &Steering,
    stats: &MidiStats,
    (map_path, who, port): (&std::path::Path, &str, &str),
) {
    match routed {
        Routed::Steer(intent) => {
            let carried = steering.carry_out_from(format_args!("MIDI {port}"), intent, at);
            stats.dropped.fetch_add(carried.dropped, Ordering::Relaxed);
        }
        Routed::Learned(learned) => match save_learned(map_path, &learned) {
            Ok(()) => tracing::info!(
                "{who}: MIDI learn: {learned}; saved to {}",
                map_path.display()
            ),
            Err(e) => tracing::warn!(
                "{who}: MIDI learn: {learned}, but it was not saved to {}: {e}",
                map_path.display()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_choice_matches_any_case_inside_the_port_name() {
        let c = PortChoice::Named("nanokontrol".into());
        assert!(c.wants("nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0"));
        assert!(!c.wants("Midi Through:Midi Through Port-0 14:0"));
        assert!(PortChoice::All.wants("anything"));
        assert!(
            !PortChoice::All.wants("somnia-sync:out"),
            "the show's own sync output"
        );
    }
}
