//! `somnia kiosk KIOSK.toml`: an installation that runs by itself. The kiosk file's playlist
//! plays fullscreen with crossfades (picture and sound), by its opening hours, with the keys
//! locked; the kiosk's place survives a restart, bad items are passed over, and systemd is
//! told the picture is up and kept fed from the render loop (`--print-unit` writes the unit).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::play::{
    ConsoleSettings, ControllerSettings, LOOKAHEAD_S, MidiArgs, SCHEDULER_TICK, display_available,
    midi_map, report_counters, start_controllers, stop_on_signals, window_result,
};
use super::{EXIT_BAD_INPUT, EXIT_MISSING, print_diagnostics};
use crate::audio::Engine;
use crate::audio::device::prepare_output;
use crate::audio::supervisor::{AudioOutput, DeviceChoice};
use crate::bridge::{CueBoard, Health, LiveSink, Transport, analysis_channel, event_queue};
use crate::control::osc::OscSettings;
use crate::render::window::{self, WindowOptions};
use crate::show::Diagnostic;
use crate::show::Timeline;
use crate::show::cues::GoPlan;
use crate::show::kiosk::file::{Item, Kiosk, load_kiosk_to_play};
use crate::show::kiosk::runner::{ItemLoader, KioskSetup, KioskShow, Look};
use crate::show::live::ShowMail;
use crate::show::project::Project;

const WHO: &str = "somnia kiosk";

pub struct KioskArgs {
    pub file: PathBuf,
    /// Print a systemd unit for this kiosk and exit.
    pub print_unit: bool,
    /// Where the kiosk keeps its place; default: `$XDG_STATE_HOME/somnia/kiosks/NAME`.
    pub state_dir: Option<PathBuf>,
    pub osc: Option<OscSettings>,
    pub midi: Option<MidiArgs>,
    pub web: Option<std::net::SocketAddr>,
    /// The audience page's address for the join code, when not the server's own.
    pub join_url: Option<String>,
    /// The console's secret (`--console-token`; else the kiosk file's, else one is made).
    pub console_token: Option<String>,
    pub audio_device: Option<String>,
    pub buffer_frames: Option<u32>,
    pub limiter: super::LimiterArgs,
    pub window: WindowOptions,
    /// Ableton Link (`--link`): the only sync a kiosk takes.
    pub sync: Option<crate::control::sync::SyncSettings>,
    /// The kiosk's journal (`--journal`, `--no-journal`).
    pub journal: super::journal_keep::JournalChoice,
    /// Also write the engine's own output to this WAV file (`--record`).
    pub record: Option<PathBuf>,
}

/// How long the closed look's timeline runs: opening ends it long before.
const CLOSED_S: f64 = 366.0 * 86_400.0;

/// The kiosk's state folder: `--state-dir`, else `$XDG_STATE_HOME/somnia/kiosks/NAME` (or
/// `~/.local/state/...`).
fn state_dir(args: &KioskArgs) -> Option<PathBuf> {
    if let Some(d) = &args.state_dir {
        return Some(d.clone());
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    let name = args.file.file_stem()?.to_string_lossy().into_owned();
    Some(base.join("somnia").join("kiosks").join(name))
}

/// Compiles what the kiosk shows, with every shader checked (naga) before the render thread
/// sees it: a look that cannot draw is refused here, where it can be passed over.
pub(super) fn item_loader(
    project: Project,
    limiter: super::LimiterArgs,
    journal: Arc<crate::bridge::JournalNotesCell>,
) -> ItemLoader {
    Box::new(move |look: &Look| {
        let mut t = match look {
            Look::Item(Item::Performance { name, hold_s }) => {
                let path = project
                    .performance_path(name)
                    .map_err(|e| vec![Diagnostic::file(&project.root, e)])?;
                let mut t = crate::show::compile::load_timeline_with(&path, &GoPlan::Planned)?;
                super::journal_keep::keep_files(&journal.get(), [path.as_path()]);
                // An excerpt: the kiosk moves on at its hold, the fade taking what sounds.
                if let Some(h) = hold_s {
                    t.duration_s = t.duration_s.min(*h);
                }
                t
            }
            Look::Item(Item::Preset { name, hold_s }) => {
                crate::show::compile::preset_preview(&project, name, *hold_s)?
            }
            Look::Still(name) => crate::show::compile::preset_timeline(&project, name, CLOSED_S)?,
            Look::BuiltIn(name) => crate::show::compile::still_timeline(
                crate::show::preset::builtin_look(name),
                CLOSED_S,
            ),
        };
        let broken: Vec<Diagnostic> = t
            .presets
            .iter()
            .filter_map(|p| crate::render::shader::check_layer(&p.layer).err())
            .collect();
        if !broken.is_empty() {
            return Err(broken);
        }
        limiter.apply_quietly(&mut t.master);
        let files = super::journal_keep::timeline_files(&t);
        super::journal_keep::keep_files(&journal.get(), files.iter().map(|p| p.as_path()));
        Ok(t)
    })
}

/// The file a look is made from, watched while it is quarantined.
fn files_of(project: &Project, look: &Look) -> Vec<PathBuf> {
    match look {
        Look::Item(Item::Performance { name, .. }) => project.performance_path(name).ok(),
        Look::Item(Item::Preset { name, .. }) | Look::Still(name) => project.preset_path(name).ok(),
        Look::BuiltIn(_) => None,
    }
    .into_iter()
    .collect()
}

/// A systemd user unit that runs this kiosk in the desktop session: started with it, told
/// when the picture is up, restarted when it ends or stops feeding the watchdog.
pub fn unit(kiosk: &Kiosk, file: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let file = abs(file);
    let root = abs(&Project::of_file(&file).root);
    let exe = std::env::current_exe()
        .ok()
        .map_or_else(|| "somnia".to_string(), |e| e.display().to_string());
    format!(
        "# Somnia kiosk: {title}. Install for the user that logs in automatically:\n\
         #   somnia kiosk --print-unit {file} > ~/.config/systemd/user/somnia-kiosk.service\n\
         #   systemctl --user daemon-reload && systemctl --user enable --now somnia-kiosk\n\
         [Unit]\n\
         Description=Somnia kiosk: {title}\n\
         PartOf=graphical-session.target\n\
         After=graphical-session.target pipewire-pulse.service pulseaudio.service\n\
         \n\
         [Service]\n\
         Type=notify\n\
         NotifyAccess=main\n\
         WorkingDirectory={root}\n\
         ExecStart={exe} kiosk {file}\n\
         Restart=always\n\
         RestartSec=2\n\
         WatchdogSec=10\n\
         TimeoutStartSec=120\n\
         TimeoutStopSec=10\n\
         \n\
         [Install]\n\
         WantedBy=graphical-session.target\n",
        title = kiosk.title,
        file = file.display(),
        root = root.display(),
    )
}

/// `somnia kiosk KIOSK.toml`.
pub fn run(args: &KioskArgs) -> i32 {
    if args.print_unit {
        crate::commands::logs::to_terminal();
        return match load_kiosk_to_play(&args.file) {
            Ok((kiosk, _)) => {
                print!("{}", unit(&kiosk, &args.file));
                0
            }
            Err(d) => {
                print_diagnostics(&d);
                EXIT_BAD_INPUT
            }
        };
    }
    // The state folder first: the log file lives there, and everything after is logged.
    let state = state_dir(args).map(|d| (std::fs::create_dir_all(&d), d));
    let log_dir = state
        .as_ref()
        .and_then(|(made, d)| made.is_ok().then_some(d.as_path()));
    if let Some(file) = crate::commands::logs::for_kiosk(log_dir) {
        tracing::info!("{WHO}: logging to {}", file.display());
    }
    let state_path = match state {
        Some((Ok(()), d)) => Some(d.join("place.json")),
        Some((Err(e), d)) => {
            tracing::warn!(
                "{WHO}: cannot make the state folder {} ({e}); a restart will start from the top",
                d.display()
            );
            None
        }
        None => None,
    };
    let kiosk = match load_kiosk_to_play(&args.file) {
        Ok((k, broken)) => {
            if !broken.is_empty() {
                broken.iter().for_each(|d| tracing::error!("{d}"));
                tracing::warn!(
                    "{WHO}: the items above cannot play; they are passed over until their files are fixed"
                );
            }
            k
        }
        Err(d) => {
            d.iter().for_each(|d| tracing::error!("{d}"));
            return EXIT_BAD_INPUT;
        }
    };
    if !display_available() {
        tracing::error!("{WHO}: no display (DISPLAY and WAYLAND_DISPLAY are not set)");
        return EXIT_MISSING;
    }
    let project = Project::of_file(&args.file);
    let midi_map = match args.midi.as_ref().map(|m| midi_map(m, &project)) {
        Some(Err(d)) => {
            d.iter().for_each(|d| tracing::error!("{d}"));
            return EXIT_BAD_INPUT;
        }
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let prepared = match prepare_output(args.audio_device.as_deref(), args.buffer_frames, 2) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{WHO}: {}", e.to_string().trim_end_matches('.'));
            return EXIT_MISSING;
        }
    };
    let rate = prepared.sample_rate_hz();
    let transport = Arc::new(Transport::new(rate));
    let health = Arc::new(Health::default());
    let updates = Arc::new(ShowMail::default());
    let display_asleep = Arc::new(AtomicBool::new(false));
    let lookahead = crate::clock::seconds_to_samples(LOOKAHEAD_S, rate)
        .max(4 * u64::from(prepared.buffer_frames().unwrap_or(0)));
    let title = kiosk.title.clone();
    // What the kiosk file says about the web pages (the command line's own come first).
    let kiosk_access = KioskAccess {
        join_code: kiosk.join_code,
        join_url: kiosk.join_url.clone(),
        console_token: kiosk.console_token.clone(),
    };
    // The item playing, for sync (Link follows its tempo map).
    let cues = Arc::new(CueBoard::default());
    // The journal's notes, for the item loader: the journal starts with the engine, after the
    // first item is loaded (its files are sent then).
    let journal_cell = Arc::new(crate::bridge::JournalNotesCell::default());
    let mut show = KioskShow::start(KioskSetup {
        load: item_loader(project.clone(), args.limiter, journal_cell.clone()),
        files_of: {
            let project = project.clone();
            Box::new(move |look| files_of(&project, look))
        },
        kiosk,
        transport: transport.clone(),
        lookahead,
        updates: updates.clone(),
        health: health.clone(),
        state_path,
        now: Box::new(jiff::Timestamp::now),
        display_asleep: display_asleep.clone(),
        cues: cues.clone(),
    });
    health.set_restarts(show.starts().saturating_sub(1));
    let timeline: Arc<Timeline> = show.timeline();

    let (mut tx, rx) = event_queue(4096);
    show.prime(&mut tx);
    let mut engine = Engine::new(rate, timeline.initial_patch, rx);
    engine.apply_master(&timeline.master);
    let journal_start =
        super::journal_keep::show_start("kiosk", &title, &timeline, &engine, &args.window, None);
    let journal = match super::journal_keep::start(
        &args.journal,
        &project.root,
        &journal_start,
        &mut engine,
        super::journal_keep::device_watch(transport.clone(), health.clone()),
        WHO,
    ) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let journal_notes = super::journal_keep::KeptJournal::notes_of(&journal);
    show.keep_journal(journal_notes.clone());
    if let Some(j) = &journal {
        journal_cell.set(j.notes.clone());
        let files = super::journal_keep::timeline_files(&timeline);
        j.files(
            [args.file.as_path()]
                .into_iter()
                .chain(files.iter().map(|p| p.as_path())),
        );
    }
    let (live_tx, live_rx) = event_queue(4096);
    engine.attach_live_queue(live_rx);
    let live_tx = Arc::new(Mutex::new(live_tx));
    let (analysis_writer, analysis_reader) = analysis_channel();
    let (recorder, record_tap) = match super::recording::start(
        args.record.as_deref(),
        rate,
        engine.latency_samples(),
        WHO,
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let output = match AudioOutput::start(
        prepared,
        DeviceChoice {
            name: args.audio_device.clone(),
            buffer_frames: args.buffer_frames,
            ltc: None,
        },
        engine,
        transport.clone(),
        analysis_writer,
        record_tap,
    ) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("{WHO}: {}", e.to_string().trim_end_matches('.'));
            return EXIT_MISSING;
        }
    };
    tracing::info!(
        "{WHO}: `{title}` on audio device `{}` at {rate} Hz",
        output.name
    );

    let stop = Arc::new(AtomicBool::new(false));
    let (command_tx, command_rx) = crate::bridge::show_commands();
    let (look_tx, look_rx) = crate::bridge::look_commands();
    let control = {
        let stop = stop.clone();
        match std::thread::Builder::new()
            .name("somnia-control".into())
            .spawn(move || show.run(&command_rx, &mut tx, SCHEDULER_TICK, &stop))
        {
            Ok(thread) => thread,
            Err(e) => {
                tracing::error!("{WHO}: cannot start the kiosk's control thread: {e}");
                return EXIT_MISSING;
            }
        }
    };
    let live_sink = LiveSink {
        live: live_tx,
        commands: command_tx,
        looks: look_tx,
        transport: transport.clone(),
        cues,
        crowd: Default::default(),
        timecode: crate::bridge::TimecodeSender::unheard(),
        journal: journal_notes,
    };
    let console = args.web.map(|_| {
        let token = args
            .console_token
            .as_deref()
            .or(kiosk_access.console_token.as_deref());
        ConsoleSettings::new(
            token,
            &crate::show::project::Project::of_file(&args.file),
            WHO,
        )
    });
    let thumbnails = console.as_ref().map(|c| c.thumbnails.clone());
    let controllers = start_controllers(
        ControllerSettings {
            osc: args.osc.clone(),
            midi: midi_map.zip(args.midi.as_ref()),
            web: args.web,
            // A kiosk's items come and go with their dreamers, so visitors' phones join the
            // crowd: their energy and agreement reach every item's shaders and its
            // `unity = "crowd"`.
            audience: Some(Vec::new()),
            console,
            sync: args.sync.clone(),
        },
        live_sink,
        &timeline.tempo,
        &title,
        &health,
        WHO,
    );
    let join = controllers
        .join_link(
            args.join_url
                .as_deref()
                .or(kiosk_access.join_url.as_deref()),
            WHO,
        )
        .map(|j| window::JoinLink {
            always: kiosk_access.join_code,
            ..j
        });
    let link = window::ShowLink {
        thumbnails,
        join,
        steering: controllers.steering.clone(),
        updates,
        looks: look_rx,
        health,
        // The presets' and shaders' folders are watched for the looks that play.
        dirs: Vec::new(),
        display_asleep: Some(display_asleep),
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
    // After the sound: the recording holds its last blocks, the journal its last frames.
    drop(recorder);
    if let Some(j) = journal {
        j.finish(rate, WHO);
    }
    report_counters(&transport, WHO);
    window_result(
        result,
        WHO,
        "A kiosk needs a display and a sound device; check them with `somnia list monitors` and `somnia list audio`",
    )
}

/// The kiosk file's settings for the web pages.
struct KioskAccess {
    join_code: bool,
    join_url: Option<String>,
    console_token: Option<String>,
}
