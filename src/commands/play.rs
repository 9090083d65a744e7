use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{EXIT_BAD_INPUT, EXIT_MISSING, print_diagnostics};
use crate::audio::Engine;
use crate::audio::device::prepare_output;
use crate::audio::supervisor::{AudioOutput, DeviceChoice};
use crate::bridge::LiveSink;
use crate::bridge::{CueBoard, Transport, analysis_channel, event_queue};
use crate::control::intent::Steering;
use crate::control::midi::binding::MidiMap;
use crate::control::midi::input::{MidiInputs, MidiSettings, PortChoice};
use crate::control::midi::map_file::load_map;
use crate::control::midi::route::Router;
use crate::control::osc::{OscServer, OscSettings, OscSink};
use crate::render::window::{self, WindowError, WindowOptions};
use crate::show::cues::GoPlan;
use crate::show::live::{LiveShow, Loader, ShowMail};
use crate::show::scheduler::Scheduler;

pub struct PlayArgs {
    pub source: super::Source,
    /// The OSC server's settings; `None` turns it off.
    pub osc: Option<OscSettings>,
    /// MIDI input; `None` turns it off.
    pub midi: Option<MidiArgs>,
    /// Where the web server (`/health`) listens; `None` turns it off.
    pub web: Option<std::net::SocketAddr>,
    /// The audience page's address for the join code, when not the server's own.
    pub join_url: Option<String>,
    /// The console's secret (`--console-token`); `None`: one is made and printed.
    pub console_token: Option<String>,
    pub audio_device: Option<String>,
    /// Visuals follow this input (empty: the default input) instead of Somnia's own sound.
    pub input: Option<String>,
    /// Also write the engine's own output to this WAV file (`--record`).
    pub record: Option<std::path::PathBuf>,
    /// The show's journal (`--journal`, `--no-journal`).
    pub journal: super::journal_keep::JournalChoice,
    pub buffer_frames: Option<u32>,
    pub limiter: super::LimiterArgs,
    pub window: WindowOptions,
    /// MIDI clock and MTC out, the timecode chase.
    pub sync: Option<crate::control::sync::SyncSettings>,
}

/// MIDI input as asked for on the command line.
#[derive(Clone, Debug)]
pub struct MidiArgs {
    pub ports: PortChoice,
    /// The mapping file; `None`: the project's `midi-map.toml`, if there is one.
    pub map: Option<std::path::PathBuf>,
}

/// The project's default MIDI map, which MIDI learn makes if there is none.
pub const MIDI_MAP_FILE: &str = "midi-map.toml";

/// The MIDI map and where learn saves, or the map's errors.
pub(super) fn midi_map(
    args: &MidiArgs,
    project: &crate::show::project::Project,
) -> Result<(MidiMap, std::path::PathBuf, Vec<String>), Vec<crate::show::Diagnostic>> {
    let presets = project.preset_names();
    let path = args
        .map
        .clone()
        .unwrap_or_else(|| project.root.join(MIDI_MAP_FILE));
    let map = if path.exists() {
        load_map(&path, &presets)?
    } else {
        if args.map.is_some() {
            tracing::info!(
                "somnia play: no MIDI map at {} yet; MIDI learn will make it",
                path.display()
            );
        }
        MidiMap::default()
    };
    Ok((map, path, presets))
}

/// How far ahead of the clock the scheduler queues events. Generous, because events carry
/// their sample and wait in the engine's queue until it arrives.
pub(super) const LOOKAHEAD_S: f64 = 0.2;
pub(super) const SCHEDULER_TICK: Duration = Duration::from_millis(5);

fn headless_hint(args: &PlayArgs) -> String {
    format!(
        "To render without a screen or sound card, run: somnia render {} --out out/",
        args.source.describe()
    )
}

/// Reports an audio device that cannot be used, in one line, and gives the exit code.
fn audio_missing(args: &PlayArgs, e: &crate::audio::device::AudioError) -> i32 {
    let what = e.to_string();
    tracing::error!(
        "somnia play: {}. {}",
        what.trim_end_matches('.'),
        headless_hint(args)
    );
    EXIT_MISSING
}

pub(super) fn display_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Ctrl-C and `kill` (SIGINT, SIGTERM) end the show as Esc does, so the sound stops cleanly
/// and the process exits 0; a second one ends the process at once.
pub(super) fn stop_on_signals() {
    #[cfg(target_os = "linux")]
    {
        extern "C" fn on_signal(signal: libc::c_int) {
            crate::bridge::shutdown::request();
            // SAFETY: signal() is async-signal-safe; the next such signal takes its default
            // action (the process ends), for a show that does not stop.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: installs a handler that only stores an atomic and resets itself.
            unsafe {
                libc::signal(signal, on_signal as *const () as libc::sighandler_t);
            }
        }
    }
}

/// `somnia play PERFORMANCE`: a window and live sound, on one clock.
pub fn run(args: &PlayArgs) -> i32 {
    // Live, manual cues wait for their GO.
    let live_plan = GoPlan::Live(Default::default());
    let timeline = match args.source.load_with(&live_plan) {
        Ok((mut t, _)) => {
            args.limiter.apply(&mut t.master);
            Arc::new(t)
        }
        Err(d) => {
            print_diagnostics(&d);
            return EXIT_BAD_INPUT;
        }
    };
    let project = match &args.source {
        super::Source::Performance(p) => crate::show::project::Project::of_file(p),
        super::Source::Preset { .. } => crate::show::project::Project::new("."),
    };
    let midi_map = match args.midi.as_ref().map(|m| midi_map(m, &project)) {
        Some(Err(d)) => {
            print_diagnostics(&d);
            return EXIT_BAD_INPUT;
        }
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let ltc_channels = match ltc_channel_settings(args.sync.as_ref()) {
        Ok(l) => l,
        Err(why) => {
            tracing::error!("somnia play: {why}");
            return EXIT_BAD_INPUT;
        }
    };
    if !display_available() {
        tracing::error!(
            "somnia play: no display (DISPLAY and WAYLAND_DISPLAY are not set). {}",
            headless_hint(args)
        );
        return EXIT_MISSING;
    }
    let choice = DeviceChoice {
        name: args.audio_device.clone(),
        buffer_frames: args.buffer_frames,
        ltc: ltc_channels,
    };
    let prepared = match prepare_output(
        args.audio_device.as_deref(),
        args.buffer_frames,
        choice.channels(),
    ) {
        Ok(p) => p,
        Err(e) => return audio_missing(args, &e),
    };
    let rate = prepared.sample_rate_hz();
    let transport = Arc::new(Transport::new(rate));
    let (mut tx, rx) = event_queue(4096);
    let mut scheduler = Scheduler::new(&timeline, rate);
    // Queue what is due at the very start before the first callback can run.
    let lookahead = crate::clock::seconds_to_samples(LOOKAHEAD_S, rate)
        .max(4 * u64::from(prepared.buffer_frames().unwrap_or(0)));
    scheduler.feed(lookahead, &mut tx);
    let mut engine = Engine::new(rate, timeline.initial_patch, rx);
    engine.apply_master(&timeline.master);
    tracing::info!("somnia: voices on the {} path", engine.simd_path().name());
    let journal_start = super::journal_keep::show_start(
        "play",
        &timeline.title,
        &timeline,
        &engine,
        &args.window,
        match &args.source {
            super::Source::Performance(p) => Some(
                p.strip_prefix(&project.root)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned(),
            ),
            super::Source::Preset { .. } => None,
        },
    );
    let health = Arc::new(crate::bridge::Health::default());
    let journal = match super::journal_keep::start(
        &args.journal,
        &project.root,
        &journal_start,
        &mut engine,
        super::journal_keep::device_watch(transport.clone(), health.clone()),
        "somnia play",
    ) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let journal_notes = super::journal_keep::KeptJournal::notes_of(&journal);
    let performance_file = match &args.source {
        super::Source::Performance(p) => Some(p.clone()),
        super::Source::Preset { .. } => None,
    };
    if let Some(j) = &journal {
        let files = super::journal_keep::timeline_files(&timeline);
        // The maps the show runs with: how MIDI steered it, how its projectors were fed.
        let maps = [
            midi_map.as_ref().map(|m| m.1.as_path()),
            args.window.outputs.as_ref().map(|o| o.path.as_path()),
        ];
        j.files(
            performance_file
                .iter()
                .chain(&files)
                .map(|p| p.as_path())
                .chain(maps.into_iter().flatten()),
        );
        // A preview says which preset, for how long: its picture is drawn again from that.
        if let super::Source::Preset { name, seconds } = &args.source {
            let plan = crate::show::journal::Plan::Preset {
                name: name.clone(),
                seconds: seconds.unwrap_or(super::Source::PRESET_SECONDS),
            };
            if let Ok(bytes) = postcard::to_stdvec(&plan) {
                j.notes.send(crate::bridge::Note::Plan(bytes));
            }
        }
    }
    // Live input (OSC and MIDI) has a queue of its own into the engine.
    let (live_tx, live_rx) = event_queue(4096);
    engine.attach_live_queue(live_rx);
    let live_tx = Arc::new(Mutex::new(live_tx));
    let (analysis_writer, mut analysis_reader) = analysis_channel();
    let (recorder, record_tap) = match super::recording::start(
        args.record.as_deref(),
        rate,
        engine.latency_samples(),
        "somnia play",
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let output = match AudioOutput::start(
        prepared,
        choice,
        engine,
        transport.clone(),
        analysis_writer,
        record_tap,
    ) {
        Ok(o) => o,
        Err(e) => return audio_missing(args, &e),
    };
    tracing::info!(
        "somnia play: `{}` on audio device `{}` at {rate} Hz",
        timeline.title,
        output.name
    );

    // With --input, the picture follows the line in; the engine's own analysis is unused.
    let mut _input = None;
    if let Some(name) = &args.input {
        let (writer, reader) = analysis_channel();
        match crate::audio::input::AudioInput::start(
            Some(name.as_str()).filter(|n| !n.is_empty()),
            writer,
        ) {
            Ok(i) => {
                tracing::info!("somnia play: visuals follow the input `{}`", i.name);
                analysis_reader = reader;
                _input = Some(i);
            }
            Err(e) => {
                tracing::warn!("somnia play: {e}; the visuals follow Somnia's own sound instead")
            }
        }
    }

    // The control thread: the live show. It keeps the event queue filled a little ahead of
    // the audio clock and carries out GOs, seeks and reloads.
    let stop = Arc::new(AtomicBool::new(false));
    // Bounded: a flood of commands is dropped and counted, never queued without end.
    let (command_tx, command_rx) = crate::bridge::show_commands();
    let updates = Arc::new(ShowMail::default());
    let (look_tx, look_rx) = crate::bridge::look_commands();
    let cue_board = Arc::new(CueBoard::default());
    let show = {
        let (source, limiter) = (args.source.clone(), args.limiter);
        let notes = journal_notes.clone();
        let load: Loader = Box::new(move |plan| {
            let (mut t, _) = source.load_with(plan)?;
            limiter.apply_quietly(&mut t.master);
            // A saved edit's new version goes into the journal (each version once).
            let files = super::journal_keep::timeline_files(&t);
            super::journal_keep::keep_files(
                &notes,
                performance_file.iter().chain(&files).map(|p| p.as_path()),
            );
            Ok(t)
        });
        let mut show = LiveShow::new(
            load,
            timeline.clone(),
            transport.clone(),
            lookahead,
            updates.clone(),
            cue_board.clone(),
        );
        show.adopt(scheduler);
        show.keep_journal(journal_notes.clone());
        show
    };
    let control = {
        let stop = stop.clone();
        match std::thread::Builder::new()
            .name("somnia-control".into())
            .spawn(move || show.run(&command_rx, &mut tx, SCHEDULER_TICK, &stop))
        {
            Ok(thread) => thread,
            Err(e) => {
                tracing::error!("somnia play: cannot start the show's control thread: {e}");
                return EXIT_MISSING;
            }
        }
    };
    // Every controller steers the show through the same bounded queues.
    let live_sink = LiveSink {
        live: live_tx,
        commands: command_tx.clone(),
        looks: look_tx,
        transport: transport.clone(),
        cues: cue_board,
        crowd: Default::default(),
        timecode: crate::bridge::TimecodeSender::unheard(),
        journal: journal_notes,
    };
    health.set_playing(&timeline.title);
    let console = args
        .web
        .map(|_| ConsoleSettings::new(args.console_token.as_deref(), &project, "somnia play"));
    let thumbnails = console.as_ref().map(|c| c.thumbnails.clone());
    let controllers = start_controllers(
        ControllerSettings {
            osc: args.osc.clone(),
            midi: midi_map.zip(args.midi.as_ref()),
            web: args.web,
            audience: Some(crate::web::audience::slot_controls(&timeline)),
            console,
            sync: args.sync.clone(),
        },
        live_sink,
        &timeline.tempo,
        &timeline.title,
        &health,
        "somnia play",
    );

    let join = controllers.join_link(args.join_url.as_deref(), "somnia play");
    let link = window::ShowLink {
        thumbnails,
        steering: controllers.steering.clone(),
        updates,
        looks: look_rx,
        health,
        dirs: match &args.source {
            super::Source::Performance(p) => {
                p.parent().map(Path::to_path_buf).into_iter().collect()
            }
            super::Source::Preset { .. } => Vec::new(),
        },
        join,
        display_asleep: None,
    };

    crate::render::display_lost::exit_when_lost(EXIT_MISSING);
    stop_on_signals();
    let result = window::run(
        timeline,
        transport.clone(),
        analysis_reader,
        args.window.clone(),
        Some(link),
    );
    stop.store(true, Ordering::Relaxed);
    controllers.stop();
    let _ = control.join();
    drop(output);
    // After the sound: the last blocks are in the ring, and the file is finished.
    drop(recorder);
    if let Some(j) = journal {
        j.finish(rate, "somnia play");
    }
    report_counters(&transport, "somnia play");
    window_result(result, "somnia play", &headless_hint(args))
}

/// A loaded MIDI map: the map, where MIDI learn saves, and the project's preset names.
pub(super) type LoadedMidiMap = (MidiMap, std::path::PathBuf, Vec<String>);

/// The controllers the command line asks for.
pub(super) struct ControllerSettings<'a> {
    pub osc: Option<OscSettings>,
    /// MIDI input, with its map loaded before the sound starts (a bad map is bad input).
    pub midi: Option<(LoadedMidiMap, &'a MidiArgs)>,
    pub web: Option<std::net::SocketAddr>,
    /// The audience page's dreamer slots (`/join`, served by the web server); `None`: no page.
    pub audience: Option<Vec<crate::web::audience::slots::SlotControls>>,
    /// The operator's console (`/console`, served by the web server); `None`: no console.
    pub console: Option<ConsoleSettings>,
    /// MIDI clock and MTC out, the timecode chase; `None`: neither.
    pub sync: Option<crate::control::sync::SyncSettings>,
}

/// The console's secret and where its thumbnails come from.
pub(super) struct ConsoleSettings {
    pub token: String,
    pub thumbnails: Arc<crate::bridge::Thumbnails>,
    /// The thumbnail painter, joined when the show ends (see [`Controllers::stop`]).
    pub painter: Option<std::thread::JoinHandle<()>>,
}

impl ConsoleSettings {
    /// The token given (`--console-token`), or a new one; and a fresh thumbnail board with its
    /// painter running, drawing every preset of `project`.
    pub fn new(given: Option<&str>, project: &crate::show::project::Project, who: &str) -> Self {
        let thumbnails = Arc::new(crate::bridge::Thumbnails::default());
        let project = project.clone();
        let load = Box::new(move || {
            project
                .preset_names()
                .iter()
                .filter_map(|name| {
                    let path = project.preset_path(name).ok()?;
                    crate::show::preset::load_preset(&project, &path).ok()
                })
                .collect()
        });
        let painter = crate::render::thumbnails::start(&thumbnails, load)
            .inspect_err(|e| tracing::warn!("{who}: the console's thumbnails cannot be drawn: {e}"))
            .ok();
        Self {
            token: given.map_or_else(crate::web::console::new_token, str::to_string),
            thumbnails,
            painter,
        }
    }
}

/// A show's controllers, running while this is held.
pub(super) struct Controllers {
    /// What the keys steer: the sink every controller steers through, and MIDI learn (armed
    /// from OSC and the keys) when MIDI input runs.
    pub steering: Steering,
    _midi: Option<MidiInputs>,
    _osc: Option<OscServer>,
    _web: Option<crate::web::WebServer>,
    _sync: Option<crate::control::sync::SyncThread>,
    _ltc: (
        Option<crate::audio::ltc_streams::LtcInput>,
        Option<crate::audio::ltc_streams::LtcOutput>,
    ),
    painter: Option<std::thread::JoinHandle<()>>,
}

impl Controllers {
    /// Stops every controller and waits for the thumbnail painter, whose GPU device must not
    /// outlive the process's teardown. Call once the window (which also holds the thumbnail
    /// board) has closed.
    pub fn stop(mut self) {
        let painter = self.painter.take();
        drop(self);
        if let Some(p) = painter {
            let _ = p.join();
        }
    }

    /// Where the audience joins, when the web server runs: `given` (`--join-url`) or the
    /// server's own address; said in the log, with a word when phones cannot reach it.
    pub fn join_link(&self, given: Option<&str>, who: &str) -> Option<window::JoinLink> {
        let addr = self._web.as_ref()?.local_addr;
        let url = match given {
            Some(u) => u.to_string(),
            None => crate::web::join::join_url(addr, &crate::web::join::interface_addresses()),
        };
        if given.is_none() && addr.ip().is_loopback() {
            tracing::info!(
                "{who}: the audience page is at {url}, on this machine only (--web-bind 0.0.0.0:{} lets phones in)",
                addr.port()
            );
        } else {
            tracing::info!("{who}: the audience joins at {url}");
        }
        Some(window::JoinLink {
            url: url.into(),
            always: false,
        })
    }
}

/// Starts MIDI input, the OSC server and the web server, all steering the show through
/// `sink`. One that cannot start is said (lines begin with `who`) and the show plays on
/// without it.
pub(super) fn start_controllers(
    settings: ControllerSettings<'_>,
    mut sink: LiveSink,
    tempo: &crate::clock::Tempo,
    title: &str,
    health: &Arc<crate::bridge::Health>,
    who: &'static str,
) -> Controllers {
    let transport = sink.transport.clone();
    // Timecode heard reaches the sync thread only when it chases.
    let (timecode_tx, timecode_rx) = crate::bridge::timecode_channel();
    let sync_settings = settings
        .sync
        .filter(crate::control::sync::SyncSettings::wanted);
    if sync_settings.as_ref().is_some_and(|s| s.chase) {
        sink.timecode = timecode_tx;
    }
    let midi = settings.midi.and_then(|((map, map_path, presets), m)| {
        let settings = MidiSettings {
            ports: m.ports.clone(),
            who,
            map_path,
            router: Router::new(map, tempo.clone(), presets),
        };
        MidiInputs::start(
            settings,
            Steering {
                sink: sink.clone(),
                learn: None,
            },
        )
        .inspect_err(|e| tracing::warn!("{who}: {e}; playing on without MIDI"))
        .ok()
    });
    let steering = Steering {
        sink,
        learn: midi.as_ref().map(MidiInputs::learn),
    };
    let osc = settings.osc.and_then(|osc| {
        let sink = OscSink {
            steering: steering.clone(),
            title: title.to_string(),
            midi_stats: midi.as_ref().map(|m| m.stats.clone()),
            health: health.clone(),
        };
        start_osc(osc, sink, who)
    });
    let audience = settings.audience.map(|slots| {
        crate::web::audience::socket::AudienceState::new(
            crate::web::audience::slots::Audience::new(Default::default(), slots),
            steering.clone(),
        )
    });
    let mut painter = None;
    let console = settings.console.map(|mut c| {
        painter = c.painter.take();
        crate::web::console::ConsoleState {
            token: c.token.into(),
            steering: steering.clone(),
            health: health.clone(),
            thumbnails: c.thumbnails,
            audience: audience.clone(),
            osc: osc.as_ref().map(|o| o.stats.clone()),
            refused: Default::default(),
            malformed: Default::default(),
        }
    });
    let console_token = console.as_ref().map(|c| c.token.clone());
    let osc_addr = osc.as_ref().map(|o| o.local_addr);
    let cues = steering.sink.cues.clone();
    let web = settings.web.and_then(|bind| {
        let state = crate::web::WebState {
            transport: transport.clone(),
            health: health.clone(),
            audience,
            console,
            cues: Some(cues),
            osc_addr,
            web_addr: None,
            oscquery: Default::default(),
        };
        start_web(bind, state, who)
    });
    if let (Some(web), Some(token)) = (&web, console_token) {
        let addr = web.local_addr;
        let host = match addr.ip().is_unspecified() {
            true => std::net::SocketAddr::new([127, 0, 0, 1].into(), addr.port()),
            false => addr,
        };
        tracing::info!("{who}: the operator's console is at http://{host}/console?token={token}");
    }
    let (sync, ltc) = start_sync(sync_settings, &steering, health, timecode_rx, who);
    Controllers {
        steering,
        _midi: midi,
        _osc: osc,
        _web: web,
        _sync: sync,
        _ltc: ltc,
        painter,
    }
}

type LtcStreams = (
    Option<crate::audio::ltc_streams::LtcInput>,
    Option<crate::audio::ltc_streams::LtcOutput>,
);

/// LTC on channels of the show's own device (`--ltc-out-channels`), as the sync switches ask;
/// refused when it would leave the show's sound no channel.
fn ltc_channel_settings(
    sync: Option<&crate::control::sync::SyncSettings>,
) -> Result<Option<crate::audio::ltc_channels::LtcChannelSettings>, String> {
    let Some(s) = sync.filter(|s| !s.ltc_out_channels.is_empty()) else {
        return Ok(None);
    };
    if s.ltc_out_channels.contains(&0) && s.ltc_out_channels.contains(&1) {
        return Err(
            "--ltc-out-channels takes channels 1 and 2, where the show's own sound goes; \
             leave it one of them (e.g. --ltc-out-channels 2) or use channels 3 and up"
                .to_string(),
        );
    }
    Ok(Some(crate::audio::ltc_channels::LtcChannelSettings {
        channels: s.ltc_out_channels.clone(),
        out: crate::audio::ltc_streams::LtcOutSettings {
            rate: s.rate,
            offset_s: s.offset_s,
            level_db: s.ltc_level_db,
        },
    }))
}

/// The sync thread and LTC's sound devices, as `settings` asks; what cannot start is said and
/// the show plays on without it.
fn start_sync(
    settings: Option<crate::control::sync::SyncSettings>,
    steering: &Steering,
    health: &Arc<crate::bridge::Health>,
    timecode_rx: std::sync::mpsc::Receiver<crate::bridge::TimecodeReading>,
    who: &str,
) -> (Option<crate::control::sync::SyncThread>, LtcStreams) {
    use crate::audio::ltc_streams::{LtcInput, LtcOutSettings, LtcOutput};
    let Some(s) = settings else {
        return (None, (None, None));
    };
    let ltc_out = s.ltc_out.as_deref().and_then(|device| {
        let out = LtcOutSettings {
            rate: s.rate,
            offset_s: s.offset_s,
            level_db: s.ltc_level_db,
        };
        LtcOutput::start(device, out, steering.sink.transport.clone())
            .inspect(|o| tracing::info!("{who}: LTC out at {} fps on {}", s.rate.name(), o.name))
            .inspect_err(|e| tracing::warn!("{who}: {e}; playing on without LTC out"))
            .ok()
    });
    let (ltc_in, tap) = match s.ltc_in.as_ref().filter(|_| s.chase) {
        Some((device, channel)) => {
            let want = (!device.is_empty()).then_some(device.as_str());
            match LtcInput::start(want, *channel) {
                Ok((input, tap)) => {
                    tracing::info!(
                        "{who}: chasing LTC on {} channel {}",
                        input.name,
                        channel + 1
                    );
                    (Some(input), Some(tap))
                }
                Err(e) => {
                    tracing::warn!("{who}: {e}; playing on without chasing LTC");
                    (None, None)
                }
            }
        }
        None => (None, None),
    };
    // What the sync board shows: LTC out only as it started.
    let mut s = s;
    if ltc_out.is_none() {
        s.ltc_out = None;
    }
    if !s.needs_thread() {
        // No sync thread to report: LTC out's standing is said once.
        health.sync.set(crate::control::sync::ltc_out_reports(&s));
    }
    let thread = s.needs_thread().then(|| {
        crate::control::sync::SyncThread::start(
            s.clone(),
            steering.clone(),
            health.clone(),
            timecode_rx,
            tap,
            who,
        )
        .inspect_err(|e| tracing::warn!("{who}: cannot start the sync thread: {e}"))
        .ok()
    });
    (thread.flatten(), (ltc_in, ltc_out))
}

/// The OSC server on `settings`, steering through `sink`; a port that cannot be had is said
/// and the show plays on without it. `who` starts each line (`somnia play`).
fn start_osc(settings: OscSettings, sink: OscSink, who: &str) -> Option<OscServer> {
    let open_bind = !settings.bind.ip().is_loopback();
    let no_allow = settings.allow.is_empty();
    match OscServer::start(settings, sink) {
        Ok(server) => {
            tracing::info!("{who}: OSC on udp {}", server.local_addr);
            if open_bind && no_allow {
                tracing::info!(
                    "{who}: OSC accepts loopback senders only; add --osc-allow NET (e.g. 192.168.1.0/24) to let a network in"
                );
            }
            Some(server)
        }
        Err(e) => {
            tracing::warn!("{who}: {e}; playing on without OSC (try --osc-port)");
            None
        }
    }
}

/// The web server on `bind`; a taken port is said and the show plays on without it.
fn start_web(
    bind: std::net::SocketAddr,
    state: crate::web::WebState,
    who: &str,
) -> Option<crate::web::WebServer> {
    crate::web::WebServer::start(bind, state)
        .inspect_err(|e| tracing::warn!("{who}: {e}; playing on without it (--web-bind moves it)"))
        .ok()
}

/// What went wrong with the sound along the way, said once at the end.
pub(super) fn report_counters(transport: &Transport, who: &str) {
    let dropped = transport.dropped_events();
    if dropped > 0 {
        tracing::warn!(
            "{who}: {dropped} live event(s) were dropped: more than {} were waiting for their time at once",
            crate::audio::engine::LIVE_PENDING
        );
    }
    let late = transport.late_events();
    if late > 0 {
        tracing::warn!(
            "{who}: {late} event(s) reached the engine after their sample and played at once (the machine fell behind)"
        );
    }
    let underruns = transport.underruns();
    if underruns > 0 {
        tracing::warn!(
            "{who}: the sound card ran dry {underruns} time(s) (a larger --buffer helps on a busy machine)"
        );
    }
}

/// The exit status for how the window ended, said in one line.
pub(super) fn window_result(result: Result<(), WindowError>, who: &str, hint: &str) -> i32 {
    match result {
        Ok(()) => 0,
        Err(WindowError::NoDisplay(e)) => {
            tracing::error!("{who}: no display ({e}). {hint}");
            EXIT_MISSING
        }
        // A broken shader is bad input, as `somnia render` has it: fix the file.
        Err(WindowError::Shaders(diags)) => {
            print_diagnostics(&diags);
            tracing::error!("{who}: a shader of the show does not compile; fix it and play again");
            EXIT_BAD_INPUT
        }
        Err(e) => {
            tracing::error!("{who}: {e}");
            EXIT_MISSING
        }
    }
}
