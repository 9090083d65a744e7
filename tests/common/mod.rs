//! Helpers shared by the integration tests: running the binary, reading what it wrote,
//! and measuring sound and pictures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use realfft::RealFftPlanner;

/// The `somnia` built with these tests; `SOMNIA_BIN` runs the tests against another build
/// instead (to show that a test catches a defect an older version has).
pub fn somnia() -> Command {
    let mut c = match std::env::var_os("SOMNIA_BIN") {
        Some(bin) => Command::new(bin),
        None => Command::new(env!("CARGO_BIN_EXE_somnia")),
    };
    // Each show's web server on a port of its own (tests run side by side); a test of the
    // server itself says where with --web-bind.
    c.env("SOMNIA_WEB_BIND", "127.0.0.1:0");
    c
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

/// The test running now, as `binary::name`, for the suite's report.
fn test_name() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem()?.to_str().map(String::from))
        .map(|s| s.rsplit_once('-').map_or(s.clone(), |(b, _)| b.to_string()))
        .unwrap_or_default();
    let test = std::thread::current().name().unwrap_or("?").to_string();
    format!("{binary}::{test}")
}

/// Adds a line to the suite's report (`scripts/test.sh` prints it at the end), when the suite
/// keeps one: `kind` is `skipped`, `retried` or `measured` (a figure worth seeing in the
/// summary, such as a page's transfer size).
pub fn report(kind: &str, line: &str) {
    eprintln!("{kind}: {line}");
    let Some(dir) = std::env::var_os("SOMNIA_REPORT_DIR") else {
        return;
    };
    let _ = std::fs::create_dir_all(&dir);
    let path = Path::new(&dir).join(kind);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = std::io::Write::write_all(&mut f, format!("{}: {line}\n", test_name()).as_bytes());
    }
}

/// True when scripts/test-env.sh has started Xvfb and PulseAudio for us. Without it a live test
/// is skipped, and says so in the suite's report; under CI (`CI` set) it fails instead, since
/// `scripts/test.sh` always provides it there.
pub fn live_env() -> bool {
    let on = std::env::var("SOMNIA_LIVE").is_ok_and(|v| v == "1");
    if !on {
        assert!(
            std::env::var_os("CI").is_none(),
            "no live environment under CI: scripts/test.sh starts Xvfb and PulseAudio (SOMNIA_LIVE=1)"
        );
        report(
            "skipped",
            "needs Xvfb and PulseAudio; run scripts/test.sh (it starts them)",
        );
    }
    on
}

pub struct Wav {
    pub sample_rate_hz: u32,
    pub channels: u16,
    /// Interleaved, scaled to -1..1.
    pub samples: Vec<f32>,
}

impl Wav {
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels)
    }

    /// The left channel (or the only one).
    pub fn mono(&self) -> Vec<f32> {
        self.samples
            .iter()
            .step_by(usize::from(self.channels))
            .copied()
            .collect()
    }
}

pub fn read_wav(path: &Path) -> Wav {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = r.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.unwrap() as f32 / scale)
                .collect()
        }
    };
    Wav {
        sample_rate_hz: spec.sample_rate,
        channels: spec.channels,
        samples,
    }
}

pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Magnitude spectrum of `x` (Hann-windowed); bin k is k * sample_rate / x.len() Hz.
pub fn spectrum(x: &[f32]) -> Vec<f32> {
    let n = x.len();
    let mut input: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, s)| s * (0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos()))
        .collect();
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
    let mut out = fft.make_output_vec();
    fft.process(&mut input, &mut out).unwrap();
    out.iter().map(|c| c.norm()).collect()
}

/// The strongest magnitude within ±1.5% of `hz` (a quarter of a semitone).
pub fn level_near(spec: &[f32], n: usize, sample_rate_hz: u32, hz: f32) -> f32 {
    let bin = |f: f32| (f * n as f32 / sample_rate_hz as f32).round() as usize;
    let (lo, hi) = (bin(hz * 0.985), bin(hz * 1.015).min(spec.len() - 1));
    spec[lo..=hi].iter().copied().fold(0.0, f32::max)
}

/// When `hz` starts sounding in `mono` (48 kHz, seconds): the first 2048-sample window (hop
/// 240) reaching 30% of its loudest.
pub fn onset_s(mono: &[f32], hz: f32) -> f64 {
    const RATE: usize = 48_000;
    const HOP: usize = 240;
    const WIN: usize = 2_048;
    let levels: Vec<f32> = mono
        .windows(WIN)
        .step_by(HOP)
        .map(|w| level_near(&spectrum(w), WIN, RATE as u32, hz))
        .collect();
    let peak = levels.iter().copied().fold(0.0, f32::max);
    let i = levels.iter().position(|l| *l >= 0.3 * peak).unwrap_or(0);
    (i * HOP + WIN / 2) as f64 / RATE as f64
}

pub fn note_hz(midi: u8) -> f32 {
    440.0 * 2f32.powf((f32::from(midi) - 69.0) / 12.0)
}

pub struct Image {
    pub width: u32,
    pub height: u32,
    /// RGB8, row-major.
    pub rgb: Vec<u8>,
}

impl Image {
    /// Mean of each channel, 0..255.
    pub fn mean_rgb(&self) -> [f64; 3] {
        let mut sum = [0.0f64; 3];
        for px in self.rgb.chunks(3) {
            for c in 0..3 {
                sum[c] += f64::from(px[c]);
            }
        }
        let n = (self.rgb.len() / 3).max(1) as f64;
        sum.map(|s| s / n)
    }

    /// Rec. 709 luma of every pixel, 0..255.
    pub fn luma(&self) -> Vec<f64> {
        self.rgb
            .chunks(3)
            .map(|p| 0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2]))
            .collect()
    }
}

pub fn read_png(path: &Path) -> Image {
    let mut dec = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    ));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let rgb = match info.color_type {
        png::ColorType::Rgba => bytes.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Rgb => bytes.to_vec(),
        png::ColorType::Grayscale => bytes.iter().flat_map(|g| [*g, *g, *g]).collect(),
        png::ColorType::GrayscaleAlpha => {
            bytes.chunks(2).flat_map(|p| [p[0], p[0], p[0]]).collect()
        }
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    Image {
        width: info.width,
        height: info.height,
        rgb,
    }
}

pub fn std_dev(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

pub fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A running `parec`. Stopped on drop too, so a test that fails half way does not leave it
/// recording (and holding the test's output open).
pub struct Recording(std::process::Child);

impl std::ops::Deref for Recording {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Recording {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            stop_with_sigint(&mut self.0);
        }
    }
}

/// Starts recording what plays into the PulseAudio null sink (its monitor) to `path`, as a
/// 48 kHz stereo 16-bit WAV. Stop it with [`stop_with_sigint`] so parec finishes the file.
pub fn start_recording(path: &Path) -> Recording {
    Recording(
        Command::new("parec")
            .args([
                "-d",
                "nullsink.monitor",
                "--file-format=wav",
                "--rate=48000",
                "--channels=2",
                "--format=s16le",
            ])
            .arg(path)
            .spawn()
            .expect("parec (pulseaudio-utils) must be installed"),
    )
}

/// Asks a child to finish as Ctrl-C would, and waits for it.
pub fn stop_with_sigint(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// A throwaway project (presets/, performances/, shaders/) with the fixture shader `tint.wgsl`
/// and the fixture presets given as (fixture name, name in the project).
pub fn temp_project(presets: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["presets", "performances", "shaders"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    std::fs::copy(
        fixture("shaders/tint.wgsl"),
        dir.path().join("shaders/tint.wgsl"),
    )
    .unwrap();
    for (from, to) in presets {
        std::fs::copy(
            fixture(&format!("presets/{from}.toml")),
            dir.path().join(format!("presets/{to}.toml")),
        )
        .unwrap();
    }
    dir
}

/// `somnia play` for a live test, its stderr kept in a log file.
pub struct LivePlay {
    pub child: std::process::Child,
    log: PathBuf,
}

/// A show started by a test keeps its journal (as every show does) in the test's own folder
/// rather than the project's `journals/`, unless the test chose: `--journal FILE` there.
fn journal_in(dir: &Path, args: &[&str]) -> Vec<String> {
    if args
        .iter()
        .any(|a| *a == "--journal" || *a == "--no-journal")
    {
        return Vec::new();
    }
    static SHOWS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SHOWS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("show-{}-{n}.somnia-journal", std::process::id()));
    vec!["--journal".into(), path.to_string_lossy().into_owned()]
}

impl LivePlay {
    /// Starts `somnia play ARGS PERFORMANCE`, logging into `dir`.
    pub fn start(dir: &Path, args: &[&str], performance: &Path) -> Self {
        Self::start_with_env(dir, args, performance, &[])
    }

    /// [`LivePlay::start`] with environment variables set for it.
    pub fn start_with_env(
        dir: &Path,
        args: &[&str],
        performance: &Path,
        env: &[(&str, &str)],
    ) -> Self {
        let log = dir.join("somnia-stderr.txt");
        let child = somnia()
            .envs(env.iter().copied())
            .arg("play")
            .args(args)
            .args(journal_in(dir, args))
            .arg(performance)
            .stderr(std::process::Stdio::from(
                std::fs::File::create(&log).unwrap(),
            ))
            .spawn()
            .unwrap();
        Self { child, log }
    }

    /// `somnia kiosk ARGS` (the kiosk file among them), logging into `dir`.
    /// Each start logs into a file of its own.
    pub fn kiosk(dir: &Path, args: &[&str]) -> Self {
        Self::kiosk_with_env(dir, args, &[])
    }

    /// [`LivePlay::kiosk`] with environment variables set for it (an empty value removes
    /// one: `SOMNIA_WEB_BIND` for the server's own default address).
    pub fn kiosk_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = dir.join(format!("kiosk-stderr-{n}.txt"));
        let mut command = somnia();
        for (key, value) in env {
            if value.is_empty() {
                command.env_remove(key);
            } else {
                command.env(key, value);
            }
        }
        let child = command
            .arg("kiosk")
            .args(args)
            .args(journal_in(dir, args))
            .stderr(std::process::Stdio::from(
                std::fs::File::create(&log).unwrap(),
            ))
            .spawn()
            .unwrap();
        Self { child, log }
    }

    /// What it has printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `timeout` for `text` to appear in what it prints.
    pub fn wait_for_log(&self, text: &str, timeout: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < until {
            if self.log_text().contains(text) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }

    /// Waits until the first frame is on screen (what the live tests measure from, instead of
    /// a fixed sleep that a loaded machine outruns); panics with the log if it never comes.
    pub fn wait_until_up(&self) {
        assert!(
            self.wait_for_log("the picture is up", std::time::Duration::from_secs(30)),
            "the picture never came up:\n{}",
            self.log_text()
        );
    }

    /// Waits (up to `within`) for it to end by itself (`--exit-at-end`, `--seconds`), with
    /// status 0 and no panic; returns what it printed.
    pub fn finish(mut self, within: std::time::Duration) -> String {
        self.ended(within)
    }

    /// Stops it as Ctrl-C would and returns what it printed. It must end by itself, within
    /// a few seconds, with status 0 and no panic: an abort or a crash fails the test.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        self.ended(std::time::Duration::from_secs(10))
    }

    /// Waits up to `within` for the process to end; it must end with status 0 and no panic.
    fn ended(&mut self, within: std::time::Duration) -> String {
        let until = std::time::Instant::now() + within;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                _ if std::time::Instant::now() > until => break None,
                _ => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        };
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(!log.contains("panicked"), "{log}");
        let status = status.unwrap_or_else(|| panic!("still running after {within:?}:\n{log}"));
        assert!(
            status.success(),
            "it ended with {status} (a crash or an abort?):\n{log}"
        );
        log
    }
}

impl Drop for LivePlay {
    /// A test that fails half way must not leave a show playing into the next test's recording.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The live tests of one test binary take turns: they share one sound card (the null sink, its
/// recording) and one screen. Poisoning is ignored: a failed test must not fail the others.
pub fn live_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends one OSC message with liblo's `oscsend` (a peer nobody here wrote) to a local port.
/// `types` is liblo's type string (`"f"`, `"if"`, `""`), one letter per argument.
pub fn oscsend(port: u16, address: &str, types: &str, args: &[&str]) {
    let status = Command::new("oscsend")
        // The address, not "localhost": that name can resolve to ::1 first, where the
        // show (bound to 127.0.0.1) is not listening.
        .args(["127.0.0.1", &port.to_string(), address, types])
        .args(args)
        .status()
        .expect("oscsend (liblo-tools) must be installed");
    assert!(
        status.success(),
        "oscsend {address} {types} {args:?} failed"
    );
}

/// A screenshot of the Somnia window alone (found by its title with xdotool).
pub fn window_shot(path: &Path) -> Image {
    let id = Command::new("xdotool")
        .args(["search", "--name", "Somnia"])
        .output()
        .expect("xdotool must be installed");
    let id = String::from_utf8_lossy(&id.stdout)
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no Somnia window to take a picture of"))
        .to_string();
    assert!(
        Command::new("import")
            .args(["-window", &id])
            .arg(path)
            .status()
            .unwrap()
            .success(),
        "import (ImageMagick) could not take a screenshot"
    );
    read_png(path)
}

/// Presses `key` in the Somnia window, focusing it first as a person clicking it would.
pub fn press(key: &str) {
    // Focusing a window that is still being mapped can fail once; a person would click again.
    let ok = (0..5).any(|_| {
        let ok = Command::new("xdotool")
            .args(["search", "--name", "Somnia", "windowfocus", "key", key])
            .status()
            .unwrap()
            .success();
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        ok
    });
    assert!(ok, "xdotool could not press {key} in the window");
}

/// The RMS level (dBFS) of `mono` between `from_s` and `to_s`.
pub fn level_db(mono: &[f32], from_s: f64, to_s: f64) -> f32 {
    let at = |s: f64| ((s * 48_000.0) as usize).min(mono.len());
    20.0 * rms(&mono[at(from_s)..at(to_s)]).max(1e-9).log10()
}

/// The first time (s) `mono` gets louder than `threshold` after `from_s`.
pub fn first_sound_after(mono: &[f32], from_s: f64, threshold: f32) -> Option<f64> {
    let from = (from_s * 48_000.0) as usize;
    mono.get(from..)?
        .iter()
        .position(|s| s.abs() > threshold)
        .map(|i| (i + from) as f64 / 48_000.0)
}

/// The X screensaver's timeout as `xset q` prints it.
pub fn screensaver_timeout_s() -> u32 {
    let out = std::process::Command::new("xset")
        .arg("q")
        .output()
        .expect("xset (x11-xserver-utils)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("timeout:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no screensaver timeout in:\n{text}"))
}

/// A screenshot of the whole (virtual) screen, with ImageMagick.
pub fn screenshot(path: &Path) {
    assert!(
        Command::new("import")
            .args(["-window", "root"])
            .arg(path)
            .status()
            .unwrap()
            .success(),
        "import (ImageMagick) could not take a screenshot"
    );
}

/// What the environment did to a measurement through the real sound chain while it ran: a
/// sound card that ran dry, or a recorder that fell behind, shifts everything after it in the
/// recording, which is not what a timing test measures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Environment {
    /// Underruns somnia counted (its `/somnia/status`) during the measurement.
    pub underruns: u64,
    /// How much shorter the recording is than the wall time it was recording for, seconds.
    pub recording_short_s: f64,
    /// Times somnia's log says the audio device hiccuped or failed during the measurement
    /// (the sound server's, such as the PulseAudio plugin's passing I/O error).
    pub device_hiccups: usize,
}

impl Environment {
    /// Why the measurement cannot be trusted, if the environment demonstrably dropped out.
    pub fn dropout(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.underruns > 0 {
            why.push(format!("somnia counted {} underrun(s)", self.underruns));
        }
        if self.device_hiccups > 0 {
            why.push(format!(
                "the audio device hiccuped {} time(s) (somnia's log)",
                self.device_hiccups
            ));
        }
        if self.recording_short_s > 0.1 {
            why.push(format!(
                "the recording is {:.0} ms short of its wall time",
                self.recording_short_s * 1000.0
            ));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }
}

/// How many times `log` says the audio device hiccuped or failed.
pub fn device_hiccups(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains("somnia: audio device") && (l.contains("hiccup") || l.contains("failed"))
        })
        .count()
}

/// The underruns somnia reports in `/somnia/status` (the twelfth value).
pub fn underruns(port: u16) -> u64 {
    osc_status(port)[11].parse().unwrap_or(0)
}

/// How much shorter `frames` of recording are than the `wall_s` it recorded for.
pub fn recording_short_s(frames: usize, wall_s: f64) -> f64 {
    // parec takes a moment to start: a tenth of a second is its own, not a dropout.
    (wall_s - frames as f64 / 48_000.0 - 0.1).max(0.0)
}

/// Runs a measurement through the real sound chain; a timing check that fails is tried again
/// (up to three runs in all) only when the environment demonstrably dropped out during it (the
/// sound, or the machine's host taking its CPUs past [`HOST_STEAL_JUDGED_MS`]), and every such
/// retry is reported in the suite's summary. `attempt` makes its own functional
/// assertions (they fail at once, never retried) and returns what it measured and what the
/// environment did; `timing` checks the measurement.
pub fn retry_on_dropout<M>(
    attempt: impl Fn() -> (M, Environment),
    timing: impl Fn(&M) -> Result<(), String>,
) -> M {
    for run in 1..=3 {
        let stalls = HostStalls::watch();
        let (measured, env) = attempt();
        let stolen_ms = stalls.stolen_ms();
        let Err(failed) = timing(&measured) else {
            return measured;
        };
        // The machine's host taking its CPUs moves timings as a dropout does.
        let host = (stolen_ms > HOST_STEAL_JUDGED_MS).then(|| stalls.describe());
        match env.dropout().or(host) {
            Some(dropout) if run < 3 => {
                report("retried", &format!("run {run}: {failed} ({dropout})"));
            }
            Some(dropout) => panic!("{failed}, and the environment dropped out: {dropout}"),
            None => panic!("{failed} (no dropout in the environment: {env:?})"),
        }
    }
    unreachable!("the third run returns or panics")
}
/// The python with python-osc (scripts/ensure-python-osc.sh makes it; scripts/test.sh passes it
/// in SOMNIA_PYTHON).
pub fn python_osc() -> String {
    std::env::var("SOMNIA_PYTHON")
        .ok()
        .or_else(|| {
            let p = repo().join("target/pyosc/bin/python");
            p.exists().then(|| p.display().to_string())
        })
        .expect("python-osc is missing: run scripts/ensure-python-osc.sh (scripts/test.sh does)")
}

/// Asks a running show for `/somnia/status` with python-osc; the reply's values, as text.
pub fn osc_status(port: u16) -> Vec<String> {
    let out = Command::new(python_osc())
        .args([
            "-c",
            "import socket,sys\nfrom pythonosc.osc_message_builder import OscMessageBuilder\nfrom pythonosc.osc_message import OscMessage\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(2)\ns.sendto(OscMessageBuilder(address='/somnia/status').build().dgram,('127.0.0.1',int(sys.argv[1])))\nm=OscMessage(s.recv(4096))\nassert m.address=='/somnia/status', m.address\nprint('\\x1f'.join(str(p) for p in m.params), end='')",
            &port.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "no /somnia/status reply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split('\x1f')
        .map(str::to_string)
        .collect()
}

/// The show time a running show reports.
pub fn show_time_s(port: u16) -> f64 {
    osc_status(port)[1]
        .parse()
        .expect("the show time is a number")
}

/// `img` (RGB8) averaged down to a `w` x `h` thumbnail of RGB floats: what tests compare
/// pictures by when their details move.
pub fn thumbnail(rgb: &[u8], width: u32, height: u32, w: u32, h: u32) -> Vec<[f64; 3]> {
    let mut sums = vec![([0.0f64; 3], 0u32); (w * h) as usize];
    for y in 0..height {
        for x in 0..width {
            let cell = ((y * h / height) * w + x * w / width) as usize;
            let p = ((y * width + x) * 3) as usize;
            for c in 0..3 {
                sums[cell].0[c] += f64::from(rgb[p + c]);
            }
            sums[cell].1 += 1;
        }
    }
    sums.into_iter()
        .map(|(s, n)| s.map(|v| v / f64::from(n.max(1))))
        .collect()
}

/// Mean absolute difference of two thumbnails, 0..255.
pub fn thumb_distance(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    let total: f64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| (0..3).map(|c| (p[c] - q[c]).abs()).sum::<f64>())
        .sum();
    total / (3 * a.len().max(1)) as f64
}

/// Waits until a running show's clock reaches `show_s` (polled over OSC). A new stream's first
/// seconds are when the sound server settles its latency (PulseAudio moves its buffer then,
/// which shifts a recording by milliseconds); timing measurements start after them.
pub fn wait_for_show_time(port: u16, show_s: f64) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while show_time_s(port) < show_s {
        assert!(
            std::time::Instant::now() < until,
            "the show clock did not reach {show_s} s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Photographs the Somnia window until `good` holds of its mean colour (5 s at most), as a
/// person waits for the picture to change; returns the last mean colour.
pub fn shot_until(path: &Path, good: impl Fn(&[f64; 3]) -> bool) -> [f64; 3] {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let rgb = window_shot(path).mean_rgb();
        if good(&rgb) || std::time::Instant::now() > until {
            return rgb;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The shipped performances' names (`performances/NAME.toml`), sorted.
pub fn shipped_performances() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("performances"))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names
}

/// `GET /health` from `addr`: the JSON body, or why not.
/// `GET path` from `addr`: the status line and headers, and the body.
pub fn http_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<(String, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no body in {reply:?}")))?;
    Ok((head.to_string(), body.to_string()))
}

pub fn health(addr: std::net::SocketAddr) -> std::io::Result<serde_json::Value> {
    let (head, body) = http_get(addr, "/health")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    serde_json::from_str(&body).map_err(std::io::Error::other)
}

/// A loopback TCP port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every message a service manager's notify socket receives on `sock` within `for_s`.
pub fn notify_messages(sock: &std::os::unix::net::UnixDatagram, for_s: f64) -> Vec<String> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs_f64(for_s);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
        sock.set_read_timeout(Some(left.max(std::time::Duration::from_millis(1))))
            .unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => out.extend(
                String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .map(str::to_string),
            ),
            Err(_) => break,
        }
    }
    out
}

pub fn watchdog_pings(msgs: &[String]) -> usize {
    msgs.iter().filter(|m| *m == "WATCHDOG=1").count()
}

/// Pixels of the screenshot at `shot` within 40 of `rgb` in every channel.
/// How far apart two pictures of one size are: the mean difference of their channels (of
/// 255), and the share (%) of pixels where a channel differs by more than 24 (the golden
/// frames' tolerance).
pub fn picture_difference(a: &Image, b: &Image) -> (f64, f64) {
    let n = a.rgb.len() / 3;
    let (mut sum, mut far) = (0.0f64, 0usize);
    for (p, q) in a.rgb.chunks(3).zip(b.rgb.chunks(3)) {
        sum += (0..3).map(|c| f64::from(p[c].abs_diff(q[c]))).sum::<f64>();
        if (0..3).any(|c| p[c].abs_diff(q[c]) > 24) {
            far += 1;
        }
    }
    (
        sum / (3 * n.max(1)) as f64,
        100.0 * far as f64 / n.max(1) as f64,
    )
}

pub fn pixels_near(shot: &Path, rgb: [u8; 3]) -> usize {
    let img = read_png(shot);
    img.rgb
        .chunks(3)
        .filter(|p| p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) < 40))
        .count()
}

/// libltc's encoder and decoder on the command line (`tests/ltc/ltc_tool.c`, Debian's
/// libltc-dev), built once into target/.
pub fn ltc_tool() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = repo().join("target").join("ltc_tool");
            let status = Command::new("cc")
                .arg(repo().join("tests/ltc/ltc_tool.c"))
                .args(["-lltc", "-o"])
                .arg(&out)
                .status()
                .expect("a C compiler");
            assert!(
                status.success(),
                "ltc_tool did not build: install libltc-dev (scripts/install-system-deps.sh)"
            );
            out
        })
        .clone()
}

/// A PulseAudio null sink of the test's own (at 48 kHz), unloaded on drop.
pub struct NullSink {
    pub name: String,
    module: String,
}

impl NullSink {
    pub fn new(name: &str, channels: u16) -> Self {
        let out = Command::new("pactl")
            .args([
                "load-module",
                "module-null-sink",
                &format!("sink_name={name}"),
                "rate=48000",
                &format!("channels={channels}"),
            ])
            .output()
            .expect("pactl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            name: name.into(),
            module: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        }
    }

    /// Its monitor: the source that hears what is played into it.
    pub fn monitor(&self) -> String {
        format!("{}.monitor", self.name)
    }

    /// Starts `pacat` playing the raw 48 kHz mono float file `raw` into it.
    pub fn play(&self, raw: &Path) -> std::process::Child {
        Command::new("pacat")
            .arg(format!("--device={}", self.name))
            .args([
                "--format=float32le",
                "--rate=48000",
                "--channels=1",
                "--raw",
            ])
            .arg(raw)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pacat (pulseaudio-utils)")
    }
}

/// libltc's timecode at `fps` from `start` (HH:MM:SS:FF) for `seconds`, written to `raw` as
/// 48 kHz mono float.
pub fn libltc_encode(fps: &str, start: &str, seconds: f64, raw: &Path) {
    let encoded = Command::new(ltc_tool())
        .args(["encode", fps, start, &seconds.to_string(), "48000"])
        .output()
        .unwrap();
    assert!(encoded.status.success(), "{encoded:?}");
    std::fs::write(raw, &encoded.stdout).unwrap();
}

impl Drop for NullSink {
    fn drop(&mut self) {
        let _ = Command::new("pactl")
            .args(["unload-module", &self.module])
            .status();
    }
}

/// libltc's reading of `samples` (48 kHz mono) at `fps` (`fps_arg`): a line a frame read,
/// `HH:MM:SS:FF DROP OFF_START OFF_END REVERSE` (see `tests/ltc/ltc_tool.c`).
pub fn libltc_decode(samples: &[f32], fps: &str) -> Vec<String> {
    use std::process::Stdio;
    let mut decode = Command::new(ltc_tool())
        .args(["decode", fps, "48000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = decode.stdin.take().unwrap();
    let bytes: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&bytes)
    });
    let out = decode.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// How ltc_tool names `rate`.
pub fn fps_arg(rate: somnia::clock::timecode::FrameRate) -> &'static str {
    use somnia::clock::timecode::FrameRate;
    match rate {
        FrameRate::Fps24 => "24",
        FrameRate::Fps25 => "25",
        FrameRate::Fps2997Drop => "29.97",
        _ => "30",
    }
}

/// A python script (the test environment's interpreter) spoken to line by line: it prints what
/// it saw (JSON lines) and words when it reaches a step, and waits for a line on stdin to go
/// on. The audience's phones and the browser tests' Chromium driver are such scripts.
pub struct Script {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    /// Every line it has printed so far.
    pub said: Vec<String>,
}

impl Script {
    /// `python -c SOURCE ARGS...`, its stderr passed through.
    pub fn start<S: AsRef<std::ffi::OsStr>>(source: &str, args: &[S]) -> Self {
        use std::process::Stdio;
        let mut child = Command::new(python_osc())
            .args(["-c", source])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        Self {
            child,
            stdin,
            lines,
            said: Vec::new(),
        }
    }

    /// Reads until the line `word`; panics if the script ends first.
    pub fn until(&mut self, word: &str) {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            let done = line == word;
            self.said.push(line);
            if done {
                return;
            }
        }
        panic!("the script stopped before `{word}`: {:?}", self.said);
    }

    /// Lets it go on past the step it waits at.
    pub fn go_on(&mut self) {
        use std::io::Write;
        writeln!(self.stdin).unwrap();
    }

    /// The JSON line that has `key`.
    pub fn json(&self, key: &str) -> serde_json::Value {
        self.said
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v.get(key).is_some())
            .unwrap_or_else(|| panic!("no `{key}` in {:?}", self.said))[key]
            .clone()
    }

    /// Ends it where it stands (the show it played to is gone).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Lets it go on once more and waits for it to end.
    pub fn finish(mut self) {
        self.go_on();
        let _ = self.child.wait();
    }

    /// Waits for it to end (it needs nothing more): every line it printed.
    pub fn wait(mut self) -> Vec<String> {
        for line in self.lines.by_ref().map_while(Result::ok) {
            self.said.push(line);
        }
        let _ = self.child.wait();
        std::mem::take(&mut self.said)
    }
}

/// A moment the machine itself stopped running us: time its host took from our CPUs.
#[derive(Clone, Copy, Debug)]
pub struct Stall {
    /// About when (within a look or two).
    pub at: std::time::Instant,
    /// The CPU time taken (the kernel counts it in hundredths of a second).
    pub late: std::time::Duration,
}

/// The machine's own stalls while a timing test runs, measured in the same run as the test's
/// figures (its noise floor, as a benchmark has its reference). A virtual machine's vCPU is
/// now and then descheduled by its host for several milliseconds (CI's two-core VMs: up to
/// 18 ms, about once a second on a busy host; nothing inside the VM can prevent it), and no
/// program inside it, Somnia or a peer, keeps time across that. The kernel counts that time
/// as steal (`/proc/stat`); a thread of the test's reads it every few milliseconds and notes
/// when it grew. It only reads: a watcher of its own that woke every millisecond at a
/// real-time priority disturbed the sound servers it was to judge. A timing test leaves out
/// what it measured beside a stall, counts it, and still needs enough measured clear of them.
pub struct HostStalls {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    found: std::sync::Arc<std::sync::Mutex<Vec<Stall>>>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

/// Steal time so far, summed over the CPUs, in the kernel's hundredths of a second.
fn steal_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?;
    cpu.split_whitespace().nth(8)?.parse().ok()
}

impl HostStalls {
    const LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(5);

    /// Starts watching.
    pub fn watch() -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        use std::time::{Duration, Instant};
        let stop = Arc::new(AtomicBool::new(false));
        let found = Arc::new(Mutex::new(Vec::new()));
        let (stop_w, found_w) = (stop.clone(), found.clone());
        let watcher = std::thread::Builder::new()
            .name("host-stalls".into())
            .spawn(move || {
                let Some(mut last) = steal_ticks() else {
                    return;
                };
                while !stop_w.load(Ordering::Relaxed) {
                    std::thread::sleep(Self::LOOK_EVERY);
                    let Some(now_ticks) = steal_ticks() else {
                        return;
                    };
                    if now_ticks > last {
                        let late = Duration::from_millis(10 * (now_ticks - last));
                        let at = Instant::now()
                            .checked_sub(late)
                            .unwrap_or_else(Instant::now);
                        found_w.lock().unwrap().push(Stall { at, late });
                    }
                    last = now_ticks;
                }
            })
            .ok();
        Self {
            stop,
            found,
            watcher,
        }
    }

    /// Every stall so far, in time order.
    pub fn found(&self) -> Vec<Stall> {
        let mut v = self.found.lock().unwrap().clone();
        v.sort_by_key(|s| s.at);
        v
    }

    /// The stalls that overlap `from..to`, give or take a look.
    pub fn within(&self, from: std::time::Instant, to: std::time::Instant) -> Vec<Stall> {
        let slack = Self::LOOK_EVERY * 2;
        self.found()
            .into_iter()
            .filter(|s| s.at <= to + slack && s.at + s.late + slack >= from)
            .collect()
    }

    /// All the CPU time the host took so far, in ms.
    pub fn stolen_ms(&self) -> f64 {
        self.found()
            .iter()
            .map(|s| s.late.as_secs_f64() * 1e3)
            .sum()
    }

    /// The stalls as the suite's report says them: how many and their total.
    pub fn describe(&self) -> String {
        format!(
            "the machine's host took its CPUs {} time(s), {:.0} ms in all",
            self.found().len(),
            self.stolen_ms()
        )
    }
}

impl Drop for HostStalls {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}

/// Most of the host's steal a timing test's run may see and still be judged: past this, the
/// machine itself stood still long enough to move what the test measures (a few stalls the
/// length of an audio period).
pub const HOST_STEAL_JUDGED_MS: f64 = 30.0;

/// Runs `test` (a timing test through real devices, which asserts by panicking); a run that
/// fails while the machine's host took more than [`HOST_STEAL_JUDGED_MS`] of its CPUs is run
/// again (five runs in all: a CI run saw the host take a third of the machine for minutes,
/// and three runs all fell in it), and each such retry is reported in the suite's summary with
/// what the host took. A failure on a quiet machine fails at once, and so does the last run.
pub fn retry_on_host_stall(test: impl Fn()) {
    const RUNS: usize = 5;
    for run in 1..=RUNS {
        let stalls = HostStalls::watch();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&test));
        let stolen_ms = stalls.stolen_ms();
        match outcome {
            Ok(()) => return,
            Err(failure) if run < RUNS && stolen_ms > HOST_STEAL_JUDGED_MS => {
                let what = failure
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| failure.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                let first_line = what.lines().next().unwrap_or("");
                report(
                    "retried",
                    &format!("run {run}: {first_line} ({})", stalls.describe()),
                );
            }
            Err(failure) => std::panic::resume_unwind(failure),
        }
    }
}

/// `somnia render --journal JOURNAL --out OUT --no-frames --no-mp4 ARGS`: the WAV it wrote.
pub fn render_journal(journal: &Path, out: &Path, args: &[&str]) -> Wav {
    let o = somnia()
        .arg("render")
        .arg("--journal")
        .arg(journal)
        .arg("--out")
        .arg(out)
        .args(["--no-frames", "--no-mp4"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let stem = journal.file_stem().unwrap().to_str().unwrap();
    read_wav(&out.join(format!("{stem}.wav")))
}

/// The first frame at which two interleaved stereo recordings differ, bit for bit.
pub fn first_difference(a: &[f32], b: &[f32]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits())
        .map(|i| i / 2)
}

/// Stops process `pid` whole (SIGSTOP) for `stall`, then lets it go on (SIGCONT): every thread
/// of it stands, as when a busy machine stalls it; its sound card runs dry meanwhile.
pub fn stall_process(pid: u32, stall: std::time::Duration) {
    let pid = pid as libc::pid_t;
    // SAFETY: plain signals to a process this test started and has not yet waited for; it is
    // always continued.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    std::thread::sleep(stall);
    unsafe { libc::kill(pid, libc::SIGCONT) };
}
