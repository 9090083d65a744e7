//! The `somnia` command line. Parsing only: every command lives in the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use somnia::commands;
use somnia::render::capture::VideoSettings;
use somnia::render::window::WindowOptions;

/// The version line: a build with Ableton Link says it is GPL, as the Link library is.
const VERSION: &str = if somnia::control::sync::link::BUILT {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (with Ableton Link: this binary is GPL-2.0-or-later)"
    )
} else {
    concat!(env!("CARGO_PKG_VERSION"), " (MIT OR Apache-2.0)")
};

#[derive(Parser)]
#[command(
    name = "somnia",
    version = VERSION,
    about = "A real-time audio-visual performance engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The audience-safety switches `play` and `render` share.
/// The OSC server's switches (`somnia play`).
#[derive(clap::Args, Debug)]
struct OscArgs {
    /// The UDP port OSC listens on.
    #[arg(long, default_value_t = somnia::control::osc::DEFAULT_PORT)]
    osc_port: u16,
    /// The address OSC binds: 127.0.0.1 (this machine only) unless you give another, e.g.
    /// 0.0.0.0 for every interface.
    #[arg(long, default_value = "127.0.0.1")]
    osc_bind: std::net::IpAddr,
    /// A sender network OSC accepts (repeat for more), e.g. 192.168.1.0/24 or 10.0.0.7/32.
    /// Without any, only this machine's own senders are accepted, whatever the bind.
    #[arg(long, value_parser = parse_net)]
    osc_allow: Vec<ipnet::IpNet>,
    /// Messages a second one sender may send; the rest are dropped and counted.
    #[arg(long, default_value_t = somnia::control::osc::DEFAULT_RATE_PER_S)]
    osc_rate: u32,
    /// No OSC server.
    #[arg(long)]
    no_osc: bool,
}

impl OscArgs {
    fn settings(&self) -> Option<somnia::control::osc::OscSettings> {
        if !self.no_osc && !self.osc_allow.is_empty() && self.osc_bind.is_loopback() {
            eprintln!(
                "somnia: warning: --osc-allow lets no one in while OSC listens on {} (this machine only); add --osc-bind 0.0.0.0 or an interface's address",
                self.osc_bind
            );
        }
        (!self.no_osc).then(|| somnia::control::osc::OscSettings {
            bind: std::net::SocketAddr::new(self.osc_bind, self.osc_port),
            allow: self.osc_allow.clone(),
            rate_per_s: self.osc_rate,
        })
    }
}

/// The show's journal (`somnia play`, `somnia kiosk`).
#[derive(clap::Args, Debug)]
struct JournalArgs {
    /// Keep the show's journal in this file instead of the project's journals/ folder: every
    /// live input with the moment the engine applied it, and the files the show used, so
    /// `somnia render --journal FILE` can make the show again exactly.
    #[arg(long, value_name = "FILE", conflicts_with = "no_journal")]
    journal: Option<PathBuf>,
    /// Keep no journal of this show.
    #[arg(long)]
    no_journal: bool,
    /// The most the journals folder may hold, in MB: the oldest journals are removed first,
    /// and one journal stops (with a warning; the show goes on) when it alone reaches it.
    #[arg(long, value_name = "MB", default_value_t = somnia::commands::journal_keep::DEFAULT_KEEP_MB)]
    journals_keep_mb: u64,
}

impl JournalArgs {
    fn choice(&self) -> somnia::commands::journal_keep::JournalChoice {
        somnia::commands::journal_keep::JournalChoice {
            path: self.journal.clone(),
            off: self.no_journal,
            keep_mb: self.journals_keep_mb,
        }
    }
}

/// The web server's switches (`somnia play`): `/health` now.
#[derive(clap::Args, Debug)]
struct WebArgs {
    /// Where the web server (`GET /health`) listens: this machine only unless you give
    /// another address, e.g. 0.0.0.0:9080 for every interface.
    #[arg(long, env = "SOMNIA_WEB_BIND", default_value = somnia::web::DEFAULT_BIND)]
    web_bind: std::net::SocketAddr,
    /// No web server.
    #[arg(long)]
    no_web: bool,
    /// The audience page's address as phones should reach it, for the join code on the
    /// picture (e.g. http://dreams.local:9080/join); by default the address the server
    /// listens on, or this machine's network address when it listens on all of them.
    #[arg(long, env = "SOMNIA_JOIN_URL", value_parser = join_url_arg)]
    join_url: Option<String>,
    /// The operator console's secret (at least 12 letters, digits, - _ . ~); every request to
    /// /console needs it. Without it a new one is made at each start and printed with the
    /// console's address.
    #[arg(long, env = "SOMNIA_CONSOLE_TOKEN", value_parser = console_token_arg)]
    console_token: Option<String>,
}

fn console_token_arg(given: &str) -> Result<String, String> {
    somnia::web::console::checked_token(given)
}

fn join_url_arg(given: &str) -> Result<String, String> {
    somnia::web::join::checked_url(given).map_err(|e| e.to_string())
}

impl WebArgs {
    fn bind(&self) -> Option<std::net::SocketAddr> {
        (!self.no_web).then_some(self.web_bind)
    }
}

/// Sync with other machines (`somnia play`): MIDI clock and MTC out, timecode chased in.
#[derive(clap::Args, Debug)]
struct SyncArgs {
    /// The MIDI output (a part of its name) that --midi-clock-out and --mtc-out send to.
    #[arg(long)]
    midi_out: Option<String>,
    /// Send MIDI clock (24 a quarter note, start/stop/continue, song position on a locate),
    /// paced by the sound as it is heard.
    #[arg(long, requires = "midi_out")]
    midi_clock_out: bool,
    /// Send MIDI Time Code (quarter frames while playing, a full frame on every locate).
    #[arg(long, requires = "midi_out")]
    mtc_out: bool,
    /// MTC out's frame rate: 24, 25, 29.97df or 30.
    #[arg(long, default_value = "25")]
    timecode_rate: somnia::clock::timecode::FrameRate,
    /// The timecode at the show's start, out and in (e.g. 01:00:00:00).
    #[arg(long, default_value = "00:00:00:00")]
    timecode_offset: somnia::clock::timecode::Timecode,
    /// Chase timecode: MTC on the MIDI inputs, or LTC on a sound input (--ltc-input): locate
    /// to it, follow it, freewheel through a dropout, stop when it stays gone.
    #[arg(long, value_parser = ["mtc", "ltc"])]
    chase: Option<String>,
    /// The sound input LTC comes in on (a part of its name, as for --input); the default
    /// input without it.
    #[arg(long)]
    ltc_input: Option<String>,
    /// The input channel carrying LTC, from 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    ltc_channel: u16,
    /// Write the show's time as LTC to this sound output (a second device, or a spare one;
    /// every channel carries it), at --timecode-rate from --timecode-offset.
    #[arg(long)]
    ltc_out: Option<String>,
    /// Write the show's time as LTC on these channels of the show's own sound device (from 1,
    /// e.g. 3,4 on a four-channel interface), beside the mix and on its clock; LTC on channel 1
    /// or 2 leaves the other the mix in mono.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u16).range(1..=64))]
    ltc_out_channels: Vec<u16>,
    /// LTC out's peak level in dBFS.
    #[arg(long, default_value_t = -12.0, allow_negative_numbers = true)]
    ltc_level_db: f32,
    /// Frames the show carries on by itself when chased timecode drops out, before it stops.
    #[arg(long, default_value_t = 10)]
    freewheel_frames: u32,
    #[command(flatten)]
    link: LinkArgs,
}

/// `--loudness`: a target from -40 to -5 LUFS.
fn loudness_lufs(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (-40.0..=-5.0).contains(&v) => Ok(v),
        _ => Err(
            "a loudness target in LUFS from -40 to -5 (e.g. -14 for streaming, -23 for broadcast)"
                .into(),
        ),
    }
}

/// Ableton Link (`somnia play` and `somnia kiosk`; a build with `--features link`).
#[derive(clap::Args, Debug)]
struct LinkArgs {
    /// Join the Ableton Link session on the local network: the show follows its tempo and
    /// keeps its phase over the performance's bar; a tempo set here goes to the others.
    #[arg(long)]
    link: bool,
    /// With --link, start and stop with the peers that share start/stop.
    #[arg(long, requires = "link")]
    link_start_stop: bool,
}

impl LinkArgs {
    fn settings(&self, can_locate: bool) -> Option<somnia::control::sync::SyncSettings> {
        let s = somnia::control::sync::SyncSettings {
            link: self
                .link
                .then_some(somnia::control::sync::link::LinkSettings {
                    start_stop: self.link_start_stop,
                }),
            link_can_locate: can_locate,
            ..Default::default()
        };
        s.wanted().then_some(s)
    }
}

impl SyncArgs {
    fn settings(&self) -> Option<somnia::control::sync::SyncSettings> {
        let s = somnia::control::sync::SyncSettings {
            midi_out: self.midi_out.clone(),
            clock_out: self.midi_clock_out,
            mtc_out: self.mtc_out,
            rate: self.timecode_rate,
            offset_s: self.timecode_offset.seconds(self.timecode_rate),
            chase: self.chase.is_some(),
            freewheel_frames: self.freewheel_frames,
            ltc_in: (self.chase.as_deref() == Some("ltc")).then(|| {
                (
                    self.ltc_input.clone().unwrap_or_default(),
                    self.ltc_channel - 1,
                )
            }),
            ltc_out: self.ltc_out.clone(),
            ltc_level_db: self.ltc_level_db,
            ltc_out_channels: self.ltc_out_channels.iter().map(|c| c - 1).collect(),
            link: self
                .link
                .link
                .then_some(somnia::control::sync::link::LinkSettings {
                    start_stop: self.link.link_start_stop,
                }),
            link_can_locate: true,
        };
        s.wanted().then_some(s)
    }
}

/// MIDI input's switches (`somnia play`).
#[derive(clap::Args, Debug)]
struct MidiArgs {
    /// The MIDI inputs to listen to: `all` (the default), or a part of a port's name as
    /// `somnia list midi` prints it. Ports plugged in while playing are picked up.
    #[arg(long, default_value = "all")]
    midi: String,
    /// The MIDI map: controllers to parameters, notes to GO and transport, programs to presets.
    /// Default: the project's `midi-map.toml`, if there is one. MIDI learn saves into it.
    #[arg(long)]
    midi_map: Option<PathBuf>,
    /// No MIDI input.
    #[arg(long)]
    no_midi: bool,
}

impl MidiArgs {
    fn settings(&self) -> Option<commands::play::MidiArgs> {
        (!self.no_midi).then(|| commands::play::MidiArgs {
            ports: match self.midi.as_str() {
                "all" => somnia::control::midi::input::PortChoice::All,
                name => somnia::control::midi::input::PortChoice::Named(name.to_string()),
            },
            map: self.midi_map.clone(),
        })
    }
}

/// A network (`192.168.1.0/24`) or a single address (`10.0.0.7`).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{s}` is not a network; write e.g. 192.168.1.0/24 or 10.0.0.7"))
}

#[derive(clap::Args)]
struct Safety {
    /// The safety limiter's true-peak ceiling in dBFS (default -1, or the performance's).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_ceiling)]
    limiter_ceiling: Option<f32>,
    /// Turn the hearing-safety limiter off. Only for measurement or an external limiter.
    #[arg(long)]
    no_limiter: bool,
    /// Turn the photosensitive flash guard off. Only for measurement.
    #[arg(long)]
    no_flash_guard: bool,
}

impl Safety {
    fn limiter(&self) -> commands::LimiterArgs {
        if self.no_limiter && self.limiter_ceiling.is_some() {
            eprintln!(
                "somnia: warning: --limiter-ceiling does nothing with --no-limiter (the limiter is off)"
            );
        }
        commands::LimiterArgs {
            ceiling_db: self.limiter_ceiling,
            off: self.no_limiter,
        }
    }

    /// Whether the flash guard runs: always, unless `--no-flash-guard` (which is said aloud).
    fn flash_guard(&self) -> bool {
        if self.no_flash_guard {
            eprintln!("somnia: warning: the photosensitive flash guard is OFF (--no-flash-guard)");
        }
        !self.no_flash_guard
    }
}

#[derive(Subcommand)]
enum Command {
    /// Play a performance live: a window and sound. Space or Enter is GO, P pauses, Esc quits.
    Play {
        #[arg(required_unless_present = "preset")]
        performance: Option<PathBuf>,
        /// Play one preset of the current folder's project instead of a performance: its
        /// picture, and its sound playing the composer's default phrase.
        #[arg(long, conflicts_with = "performance")]
        preset: Option<String>,
        /// Play this many seconds of show time, then quit (a preset's preview runs 30 s
        /// without it).
        #[arg(long, value_parser = parse_seconds)]
        seconds: Option<f64>,
        /// Borderless fullscreen, cursor hidden (on the primary monitor unless --monitor).
        #[arg(long)]
        fullscreen: bool,
        /// The monitor for --fullscreen, as `somnia list monitors` numbers them.
        #[arg(long)]
        monitor: Option<usize>,
        /// An output map (outputs/*.toml): a borderless window per output on its monitor,
        /// each showing its slices of the canvas, warped and blended for its projector.
        #[arg(long)]
        outputs: Option<PathBuf>,
        /// Do not wait for the display's refresh: lower latency, possible tearing.
        #[arg(long)]
        no_vsync: bool,
        /// Output device (a part of its name, as `somnia list audio` prints it).
        #[arg(long)]
        audio_device: Option<String>,
        /// Audio buffer size in frames (the device's default if not given).
        #[arg(long)]
        buffer: Option<u32>,
        /// Window size, WIDTHxHEIGHT.
        #[arg(long, value_parser = parse_size)]
        size: Option<(u32, u32)>,
        /// Quit when the performance ends instead of holding the last look.
        #[arg(long)]
        exit_at_end: bool,
        /// Rehearsal mode: errors from files saved while playing (a shader that does not
        /// compile, a broken preset) also show in a small overlay on the picture.
        #[arg(long)]
        rehearsal: bool,
        /// Make the visuals follow an audio input (line in) instead of Somnia's own sound;
        /// optionally name the device (a part of its name).
        #[arg(long, num_args = 0..=1, default_missing_value = "")]
        input: Option<String>,
        /// Also write the engine's own output (before the sound card) to this WAV file, in the
        /// offline render's format: frame n is the show's sample n.
        #[arg(long)]
        record: Option<PathBuf>,
        #[command(flatten)]
        journal: JournalArgs,
        #[command(flatten)]
        osc: OscArgs,
        #[command(flatten)]
        midi: MidiArgs,
        #[command(flatten)]
        web: WebArgs,
        #[command(flatten)]
        sync: SyncArgs,
        #[command(flatten)]
        safety: Safety,
    },
    /// Render a performance offline: DIR/NAME.wav, DIR/frames/*.png and, with ffmpeg, DIR/NAME.mp4.
    /// With --journal, a live show made again from its journal.
    Render {
        #[arg(required_unless_present_any = ["preset", "journal"])]
        performance: Option<PathBuf>,
        /// Make a live show again from its journal alone (journals/*.somnia-journal, kept by
        /// `somnia play`): the sound is the engine's live output, bit for bit.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["performance", "preset"])]
        journal: Option<PathBuf>,
        /// With --journal: start at this second of the show (as it was heard, pauses included).
        #[arg(long, value_parser = parse_seconds, requires = "journal")]
        from: Option<f64>,
        /// With --journal: end at this second of the show.
        #[arg(long, value_parser = parse_seconds, requires = "journal")]
        to: Option<f64>,
        /// Render one preset of the current folder's project instead of a performance: its
        /// picture, and its sound playing the composer's default phrase.
        #[arg(long, conflicts_with = "performance")]
        preset: Option<String>,
        #[arg(long)]
        out: PathBuf,
        /// Length to render (default: the performance's duration; 30 s for a preset).
        #[arg(long, value_parser = parse_seconds)]
        seconds: Option<f64>,
        /// Frame size, WIDTHxHEIGHT (default 1280x720; with --journal, the live window's).
        #[arg(long, value_parser = parse_size)]
        size: Option<(u32, u32)>,
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=240))]
        fps: u32,
        /// Do not make the MP4 even if ffmpeg is installed.
        #[arg(long)]
        no_mp4: bool,
        /// Write no PNG frames: the pictures go only into the MP4 (which needs ffmpeg). With
        /// --no-mp4 too, only the WAV is written and nothing is drawn.
        #[arg(long)]
        no_frames: bool,
        /// Bring the whole render to this integrated loudness (EBU R128, LUFS: -14 for
        /// streaming, -23 for broadcast) with one gain, under the limiter's true-peak ceiling.
        #[arg(long, allow_negative_numbers = true, value_parser = loudness_lufs)]
        loudness: Option<f64>,
        /// Render every output of this output map (outputs/*.toml) as its projector would
        /// show it: DIR/frames/OUTPUT/*.png and DIR/NAME-OUTPUT.mp4.
        #[arg(long)]
        outputs: Option<PathBuf>,
        #[command(flatten)]
        safety: Safety,
    },
    /// Run an installation unattended: the kiosk file's playlist, fullscreen, by its opening
    /// hours, with the keys locked (its chord or a signal ends it); it resumes after a restart.
    Kiosk {
        /// The kiosk file, e.g. kiosks/sanctuary.toml.
        file: PathBuf,
        /// Print a systemd unit for this kiosk (with the way to install it) and exit.
        #[arg(long)]
        print_unit: bool,
        /// Where the kiosk keeps its place (default: $XDG_STATE_HOME/somnia/kiosks/NAME).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// The key chord that ends the kiosk; no single key does.
        #[arg(long, default_value = somnia::control::keys::Chord::DEFAULT, value_parser = somnia::control::keys::Chord::parse)]
        quit_chord: somnia::control::keys::Chord,
        /// A window instead of fullscreen (for setting up).
        #[arg(long)]
        windowed: bool,
        /// The monitor to fill, as `somnia list monitors` numbers them.
        #[arg(long)]
        monitor: Option<usize>,
        /// An output map (outputs/*.toml): a borderless window per output on its monitor,
        /// each showing its slices of the canvas, warped and blended for its projector.
        #[arg(long)]
        outputs: Option<PathBuf>,
        /// Window size with --windowed, WIDTHxHEIGHT.
        #[arg(long, value_parser = parse_size)]
        size: Option<(u32, u32)>,
        #[arg(long)]
        no_vsync: bool,
        #[arg(long)]
        audio_device: Option<String>,
        #[arg(long)]
        buffer: Option<u32>,
        #[command(flatten)]
        osc: OscArgs,
        #[command(flatten)]
        midi: MidiArgs,
        #[command(flatten)]
        web: WebArgs,
        #[command(flatten)]
        link: LinkArgs,
        /// Also write the engine's own output (before the sound card) to this WAV file.
        #[arg(long)]
        record: Option<PathBuf>,
        #[command(flatten)]
        journal: JournalArgs,
        #[command(flatten)]
        safety: Safety,
    },
    /// Validate presets, performances and shaders; errors as file:line:col. Exit 1 on any error.
    Check { files: Vec<PathBuf> },
    /// Print a show's journal as a readable timeline: each live input and from whom, the
    /// files and their saved changes, what happened to the show.
    Journal {
        /// The journal, e.g. journals/20261203-201500-first-light.somnia-journal.
        file: PathBuf,
        /// Every entry the engine applied too (notes, parameters, patches).
        #[arg(long)]
        engine: bool,
    },
    /// Soundcheck an audio input: prints its level, bands, onsets and tempo as the visuals see them.
    Meter {
        /// Input device (a part of its name); the default input if not given.
        #[arg(long)]
        input: Option<String>,
        /// How long to listen.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// List presets, performances (of the current folder), audio devices, MIDI ports or monitors.
    List {
        #[arg(value_enum)]
        what: commands::list::What,
    },
    /// Import shaders from other tools into the current folder's project, as presets.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// ISF shaders (VDMX, Resolume Wire, the ISF editor's library): a .fs file or a folder of
    /// them. Each is checked, copied into shaders/ (with its .vs and imported images) and gets
    /// a preset in presets/ with its inputs as parameters.
    Isf {
        /// The .fs file, or a folder of them.
        source: PathBuf,
        /// Replace presets (and shaders) already imported.
        #[arg(long)]
        force: bool,
    },
    /// A Shadertoy shader: a .glsl file with mainImage, or the site's JSON export (with its
    /// buffers and Common). It is checked, copied into shaders/ and gets a preset that keeps
    /// its author and licence.
    Shadertoy {
        /// The .glsl or .json file.
        source: PathBuf,
        /// The shader's licence, if its author gave one; Shadertoy's default (CC BY-NC-SA
        /// 3.0, non-commercial) otherwise.
        #[arg(long)]
        license: Option<String>,
        /// Replace a preset already imported.
        #[arg(long)]
        force: bool,
    },
}

/// The performance file, or else the preset (clap guarantees one of them), previewed for
/// `seconds`.
fn source(
    performance: Option<PathBuf>,
    preset: Option<String>,
    seconds: Option<f64>,
) -> commands::Source {
    match (performance, preset) {
        (Some(p), _) => commands::Source::Performance(p),
        // clap requires one of them; should it not, loading reports "no preset named ``".
        (None, name) => commands::Source::Preset {
            name: name.unwrap_or_default(),
            seconds,
        },
    }
}

/// A length in seconds: more than zero, at most a day.
fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!(
            "`{s}`: a length in seconds, more than 0 and at most 86400"
        )),
    }
}

fn parse_ceiling(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (-24.0..=0.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}`: the ceiling is in dBFS, from -24 to 0")),
    }
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{s}` is not a size; write WIDTHxHEIGHT, e.g. 1280x720"))?;
    let dim = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (16..=8192).contains(n))
    };
    match (dim(w), dim(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!(
            "`{s}`: width and height must be whole numbers from 16 to 8192"
        )),
    }
}

fn main() {
    somnia::bridge::launch::mark_launch();
    // Before any thread: a crash names its thread and frames.
    commands::crash_note::install();
    commands::crash_note::crash_if_asked();
    // Mesa's device-select Vulkan layer only reorders GPUs (wgpu picks its own adapter), and on
    // a headless machine it prints Wayland connection errors. Off unless the user set it.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: nothing else runs yet; no other thread can read the environment concurrently.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    // A usage error is bad input (exit 1, as the README says); help and version are not errors.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                commands::EXIT_BAD_INPUT
            } else {
                0
            });
        }
    };
    // A kiosk decides where its logs go once it knows its state folder; the rest log to stderr.
    if !matches!(cli.command, Command::Kiosk { .. }) {
        commands::logs::to_terminal();
    }
    let code = match cli.command {
        Command::Play {
            performance,
            preset,
            seconds,
            fullscreen,
            monitor,
            outputs,
            no_vsync,
            audio_device,
            buffer,
            size,
            exit_at_end,
            rehearsal,
            input,
            record,
            journal,
            osc,
            midi,
            web,
            sync,
            safety,
        } => match commands::output_map(outputs.as_deref()) {
            Err(code) => code,
            Ok(outputs) => commands::play::run(&commands::play::PlayArgs {
                sync: sync.settings(),
                osc: osc.settings(),
                web: web.bind(),
                join_url: web.join_url.clone(),
                console_token: web.console_token.clone(),
                midi: midi.settings(),
                source: source(performance, preset, seconds),
                audio_device,
                input,
                record,
                journal: journal.choice(),
                buffer_frames: buffer,
                limiter: safety.limiter(),
                window: WindowOptions {
                    monitor,
                    vsync: !no_vsync,
                    flash_guard: safety.flash_guard(),
                    fullscreen,
                    exit_at_end,
                    quit_after_s: seconds,
                    size,
                    rehearsal,
                    lock: None,
                    outputs,
                },
            }),
        },
        Command::Render {
            journal: Some(journal),
            from,
            to,
            out,
            size,
            fps,
            no_mp4,
            no_frames,
            loudness,
            ..
        } => commands::render_journal::run(&commands::render_journal::JournalRender {
            journal,
            out,
            from_s: from,
            to_s: to,
            loudness_lufs: loudness,
            size,
            fps,
            no_frames,
            no_mp4,
        }),
        Command::Journal { file, engine } => commands::journal::run(&file, engine),
        Command::Render {
            performance,
            preset,
            out,
            seconds,
            size,
            fps,
            no_mp4,
            no_frames,
            loudness,
            outputs,
            safety,
            ..
        } => match commands::output_map(outputs.as_deref()) {
            Err(code) => code,
            Ok(outputs) => commands::render::run(&commands::render::RenderArgs {
                loudness_lufs: loudness,
                source: source(performance, preset, seconds),
                out,
                seconds,
                video: VideoSettings {
                    flash_guard: safety.flash_guard(),
                    width: size.unwrap_or((1280, 720)).0,
                    height: size.unwrap_or((1280, 720)).1,
                    fps,
                },
                no_mp4,
                no_frames,
                limiter: safety.limiter(),
                outputs,
            }),
        },
        Command::Kiosk {
            file,
            print_unit,
            state_dir,
            quit_chord,
            windowed,
            monitor,
            outputs,
            size,
            no_vsync,
            audio_device,
            buffer,
            osc,
            midi,
            web,
            link,
            record,
            journal,
            safety,
        } => match commands::output_map(outputs.as_deref()) {
            Err(code) => code,
            Ok(outputs) => commands::kiosk::run(&commands::kiosk::KioskArgs {
                journal: journal.choice(),
                record,
                file,
                print_unit,
                state_dir,
                // A kiosk's items cannot be located within: it eases into the session's phase.
                sync: link.settings(false),
                osc: osc.settings(),
                midi: midi.settings(),
                web: web.bind(),
                join_url: web.join_url.clone(),
                console_token: web.console_token.clone(),
                audio_device,
                buffer_frames: buffer,
                limiter: safety.limiter(),
                window: WindowOptions {
                    monitor,
                    vsync: !no_vsync,
                    flash_guard: safety.flash_guard(),
                    fullscreen: !windowed,
                    exit_at_end: false,
                    quit_after_s: None,
                    size,
                    rehearsal: false,
                    lock: Some(quit_chord),
                    outputs,
                },
            }),
        },
        Command::Check { files } => commands::check::run(&files),
        Command::Meter { input, seconds } => commands::meter::run(input.as_deref(), seconds),
        Command::List { what } => commands::list::run(what),
        Command::Import {
            what: ImportWhat::Isf { source, force },
        } => commands::import::run_isf(std::path::Path::new("."), &source, force),
        Command::Import {
            what:
                ImportWhat::Shadertoy {
                    source,
                    license,
                    force,
                },
        } => commands::import::run_shadertoy(
            std::path::Path::new("."),
            &source,
            license.as_deref(),
            force,
        ),
    };
    std::process::exit(code);
}
