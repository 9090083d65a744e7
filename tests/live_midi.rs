//! MIDI from peers over a JACK dummy server into a running `somnia play` (Xvfb, PulseAudio null
//! sink, the sound recorded). Built with `--features jack` (scripts/test.sh does), since a
//! machine without a sound card has no ALSA sequencer:
//! - `jack_midiseq` (JACK's own example client) loops a note: it is heard, at its pitch; the L
//!   key (xdotool) arms MIDI learn, target after target;
//! - a second MIDI client (midir in this test process) is plugged in while the show plays and
//!   picked up; it plays a note, bends one, fires GO from a note, teaches a fader to `gain_db`
//!   by MIDI learn (armed over OSC by liblo's `oscsend`) and turns the sound down and up with
//!   it, runs a MIDI clock and sends a program change; unplugged, it is let go;
//! - MIDI input is started and let go again and again while a peer floods it, as a show ends
//!   while timecode flows: each time it hears the peer, and the process never crashes.
#![cfg(feature = "jack")]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// One live show at a time: both tests play into, and record, the same sink.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn jack_running() -> bool {
    // Bounded: a wedged server must fail the test, not hang it.
    Command::new("timeout")
        .args(["5", "jack_lsp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn require_jack() -> bool {
    if !live_env() {
        return false;
    }
    assert!(
        jack_running(),
        "no JACK server: start one with scripts/test-env.sh (JACK_DEFAULT_SERVER={:?})",
        std::env::var("JACK_DEFAULT_SERVER").ok()
    );
    true
}

/// The samples from `from_s` to `to_s` of the recording.
fn span(mono: &[f32], rate: u32, from_s: f64, to_s: f64) -> &[f32] {
    let at = |s: f64| ((s * f64::from(rate)) as usize).min(mono.len());
    &mono[at(from_s)..at(to_s)]
}

/// The first sample after `from` louder than `threshold`.
fn onset_after(mono: &[f32], from: usize, threshold: f32) -> Option<usize> {
    mono[from..]
        .iter()
        .position(|s| s.abs() > threshold)
        .map(|i| i + from)
}

#[test]
fn notes_from_jack_midiseq_are_heard_at_their_pitch() {
    if !require_jack() {
        return;
    }
    retry_on_host_stall(midiseq_run);
}

/// One run of [`notes_from_jack_midiseq_are_heard_at_their_pitch`].
fn midiseq_run() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let map = dir.path().join("map.toml");
    let mut parec = start_recording(&rec);
    let map_arg = map.display().to_string();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "160x90", "--no-osc", "--midi-map", &map_arg],
        &fixture("performances/osc.toml"),
    );
    play.wait_until_up();
    // A 1 s loop at 48 kHz: A4 for its first quarter second.
    let mut seq = Command::new("jack_midiseq")
        .args(["midiseq", "48000", "0", "69", "12000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "jack_midiseq (jackd2's example clients) is missing: scripts/install-system-deps.sh",
        );
    let picked_up = play.wait_for_log("MIDI in from `midiseq:out`", Duration::from_secs(3));
    std::thread::sleep(Duration::from_millis(3000));
    // As Ctrl-C: it closes its JACK client (a killed client can stall the dummy server).
    stop_with_sigint(&mut seq);
    // MIDI learn from the keyboard, once the notes are over (the next one would be learnt):
    // L arms GO, L again the next target (play).
    let keys = Command::new("xdotool")
        .args([
            "search",
            "--name",
            "Somnia",
            "windowfocus",
            "key",
            "l",
            "sleep",
            "0.2",
            "key",
            "l",
        ])
        .status()
        .unwrap();
    play.wait_for_log(
        "MIDI learn: move a control for `play`",
        Duration::from_secs(5),
    );
    let log = play.stop();
    stop_with_sigint(&mut parec);
    assert!(picked_up, "{log}");
    assert!(keys.success(), "xdotool could not press L");
    assert!(log.contains("MIDI learn: move a control for `go`"), "{log}");
    assert!(
        log.contains("MIDI learn: move a control for `play`"),
        "{log}"
    );

    let wav = read_wav(&rec);
    let mono = wav.mono();
    let rate = wav.sample_rate_hz;
    let first = onset_after(&mono, 0, 0.01).unwrap_or_else(|| panic!("no note was heard: {log}"));
    let note = &mono[first + rate as usize / 50..first + rate as usize / 5];
    let spec = spectrum(note);
    let a4 = level_near(&spec, note.len(), rate, note_hz(69));
    for other in [64, 67, 71, 72] {
        let o = level_near(&spec, note.len(), rate, note_hz(other));
        assert!(a4 > 10.0 * o, "A4 {a4} vs note {other} {o}");
    }
    // The loop goes on: a second A4 a second later.
    let second = onset_after(&mono, first + rate as usize / 2, 0.01).expect("no second note");
    let gap_s = (second - first) as f64 / f64::from(rate);
    assert!((gap_s - 1.0).abs() < 0.05, "notes {gap_s} s apart");
}

/// A MIDI client of our own, the way a second program would be one.
struct Peer(midir::MidiOutputConnection);

impl Peer {
    fn plug_in() -> Self {
        use midir::os::unix::VirtualOutput;
        let out = midir::MidiOutput::new("peer").expect("a JACK client");
        Self(out.create_virtual("out").expect("a virtual MIDI output"))
    }

    fn send(&mut self, bytes: &[u8]) {
        self.0.send(bytes).expect("MIDI send");
    }
}

#[test]
fn a_second_midi_client_is_hot_plugged_and_steers_notes_go_learn_clock_and_presets() {
    if !require_jack() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    retry_on_dropout(steer_attempt, |(mono, rate)| {
        let first =
            onset_after(mono, 0, 0.01).expect("no note was heard") as f64 / f64::from(*rate);
        let window = |k: f64| span(mono, *rate, first + k + 0.03, first + k + 0.25);
        let level = |w: &[f32], note: u8| level_near(&spectrum(w), w.len(), *rate, note_hz(note));
        let check = |ok: bool, what: String| if ok { Ok(()) } else { Err(what) };
        let plain = window(0.0);
        check(
            level(plain, 69) > 10.0 * level(plain, 71),
            "A4 as sent".into(),
        )?;
        let bent = window(1.0);
        check(
            level(bent, 71) > 10.0 * level(bent, 69),
            "bent up to B4".into(),
        )?;
        let go = window(2.0);
        check(
            level(go, 72) > 10.0 * level(go, 50),
            "GO's C5, and no D3".into(),
        )?;
        let (loud, quiet, again) = (rms(plain), rms(window(3.0)), rms(window(4.0)));
        check(
            quiet < loud / 100.0,
            format!("the learned fader at 0: {quiet} vs {loud}"),
        )?;
        check(
            again > loud / 2.0,
            format!("the learned fader up: {again} vs {loud}"),
        )
    });
}

/// One run: the recording (mono, rate) after every functional check, and what the environment
/// did while it was made.
fn steer_attempt() -> ((Vec<f32>, u32), Environment) {
    const OSC_PORT: u16 = 9331;
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let map = dir.path().join("map.toml");
    std::fs::write(&map, "# GO on D3\n[go]\nnote = 50\n").unwrap();
    let mut parec = start_recording(&rec);
    let recording = Instant::now();
    let map_arg = map.display().to_string();
    let (engine_rec, journal) = (
        dir.path().join("engine.wav"),
        dir.path().join("midi.somnia-journal"),
    );
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--osc-port",
            &OSC_PORT.to_string(),
            "--midi",
            "peer",
            "--midi-map",
            &map_arg,
            "--record",
            engine_rec.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
        &fixture("performances/osc.toml"),
    );
    play.wait_until_up();
    let underruns_before = underruns(OSC_PORT);
    let mut peer = Peer::plug_in();
    let picked_up = play.wait_for_log("MIDI in from `peer:out`", Duration::from_secs(3));

    // Each step on its own second, timed from the first note.
    let t0 = Instant::now();
    let at = |s: f64| {
        let due = t0 + Duration::from_secs_f64(s);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    };
    // 0 s: A4, as it is.
    peer.send(&[0x90, 69, 100]);
    at(0.3);
    peer.send(&[0x80, 69, 0]);
    // 1 s: A4 bent all the way up (two semitones: B4).
    at(0.9);
    peer.send(&[0xE0, 0x7F, 0x7F]);
    at(1.0);
    peer.send(&[0x90, 69, 100]);
    at(1.3);
    peer.send(&[0x80, 69, 0]);
    at(1.5);
    peer.send(&[0xE0, 0x00, 0x40]);
    // 2 s: D3 is GO: the manual cue's C5 plays, D3 does not.
    at(2.0);
    peer.send(&[0x90, 50, 100]);
    at(2.1);
    peer.send(&[0x80, 50, 0]);
    // MIDI learn, armed over OSC; the fader (CC 7) at 0 teaches it and sets -60 dB.
    at(2.5);
    oscsend(OSC_PORT, "/somnia/midi/learn", "s", &["gain_db"]);
    at(2.9);
    peer.send(&[0xB0, 7, 0]);
    at(3.0);
    peer.send(&[0x90, 69, 100]);
    at(3.3);
    peer.send(&[0x80, 69, 0]);
    // 4 s: the fader near the top (-0.2 dB): loud again.
    at(3.9);
    peer.send(&[0xB0, 7, 115]);
    at(4.0);
    peer.send(&[0x90, 69, 100]);
    at(4.3);
    peer.send(&[0x80, 69, 0]);
    // A clock at 100 bpm (25 ms a tick) for 1.5 s, then stop; a program change.
    peer.send(&[0xFA]);
    for i in 0..60 {
        at(4.5 + f64::from(i) * 0.025);
        peer.send(&[0xF8]);
    }
    peer.send(&[0xFC]);
    peer.send(&[0xC0, 0]);
    at(6.5);
    // Unplugged: let go.
    drop(peer);
    let gone = play.wait_for_log("MIDI `peer:out` is gone", Duration::from_secs(3));
    let underruns_during = underruns(OSC_PORT) - underruns_before;
    let log = play.stop();
    stop_with_sigint(&mut parec);
    let recorded_for = recording.elapsed().as_secs_f64();
    assert!(picked_up, "{log}");
    assert!(gone, "{log}");
    assert!(
        log.contains("MIDI learn: CC 7 on channel 1 steers `gain_db`"),
        "{log}"
    );
    let saved = std::fs::read_to_string(&map).unwrap();
    assert!(saved.starts_with("# GO on D3\n[go]\nnote = 50"), "{saved}");
    assert!(saved.contains("param = \"gain_db\""), "{saved}");
    // The sender here is a test thread's sleeps through JACK's 5 ms periods: within 1 bpm.
    let bpm: f64 = log
        .split("following MIDI clock at ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("no clock followed: {log}"));
    assert!((bpm - 100.0).abs() < 1.0, "{bpm} bpm: {log}");
    assert!(log.contains("MIDI clock stopped"), "{log}");
    assert!(log.contains("somnia: GO cue 2"), "{log}");
    // Program 1 is the project's first preset by name.
    assert!(log.contains("somnia: preset `bars`"), "{log}");
    // Everything MIDI did (notes, the bend, the learned fader, GO, the clock's tempo, the
    // program change) is in the show's journal, which makes the engine's output again.
    let timeline = somnia().arg("journal").arg(&journal).output().unwrap();
    let timeline = String::from_utf8_lossy(&timeline.stdout);
    assert!(timeline.contains("MIDI peer:out"), "{timeline}");
    // The MIDI map the show ran with is in it too.
    assert!(timeline.contains("map.toml ("), "{timeline}");
    let made = render_journal(&journal, &dir.path().join("again"), &[]).samples;
    let played = read_wav(&engine_rec).samples;
    assert_eq!(played.len(), made.len());
    assert_eq!(
        first_difference(&played, &made),
        None,
        "the journal's render differs from what the engine played\n{timeline}"
    );

    let wav = read_wav(&rec);
    let mono = wav.mono();
    let env = Environment {
        underruns: underruns_during,
        recording_short_s: recording_short_s(mono.len(), recorded_for),
        ..Environment::default()
    };
    ((mono, wav.sample_rate_hz), env)
}

#[test]
fn a_midi_note_is_heard_at_once_while_an_osc_notes_release_waits_for_its_time() {
    if !require_jack() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const OSC_PORT: u16 = 9332;
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--osc-port",
            &OSC_PORT.to_string(),
            "--midi",
            "peer",
        ],
        &fixture("performances/osc.toml"),
    );
    play.wait_until_up();
    let mut peer = Peer::plug_in();
    let picked_up = play.wait_for_log("MIDI in from `peer:out`", Duration::from_secs(3));
    // C4 over OSC, three seconds long: its release waits in the engine for its time...
    oscsend(OSC_PORT, "/somnia/note", "iff", &["60", "0.8", "3.0"]);
    std::thread::sleep(Duration::from_millis(500));
    // ...and A4 from MIDI, half a second later, must not wait behind it.
    peer.send(&[0x90, 69, 100]);
    std::thread::sleep(Duration::from_millis(300));
    peer.send(&[0x80, 69, 0]);
    std::thread::sleep(Duration::from_millis(3500));
    drop(peer);
    let log = play.stop();
    stop_with_sigint(&mut parec);
    assert!(picked_up, "{log}");
    let wav = read_wav(&rec);
    let (mono, rate) = (wav.mono(), wav.sample_rate_hz);
    let c4 = onset_after(&mono, 0, 0.01).expect("C4 was heard") as f64 / f64::from(rate);
    // A4's onset: the first 20 ms window after C4's where A4 stands out.
    let a4 = (0..300)
        .map(|k| c4 + 0.1 + f64::from(k) * 0.01)
        .find(|&t| {
            let w = span(&mono, rate, t, t + 0.04);
            let l = |n: u8| level_near(&spectrum(w), w.len(), rate, note_hz(n));
            l(69) > 0.5 * l(60)
        })
        .expect("A4 was heard");
    assert!(
        (a4 - c4 - 0.5).abs() < 0.1,
        "A4 (MIDI) came {:.3} s after C4 (OSC, held 3 s); it was sent 0.5 s after\n{log}",
        a4 - c4
    );
    // And C4 still ends at its own time: heard before 3 s, gone after.
    let c4_level = |from_s: f64| {
        let w = span(&mono, rate, c4 + from_s, c4 + from_s + 0.3);
        let spec = spectrum(w);
        level_near(&spec, w.len(), rate, note_hz(60))
            / level_near(&spec, w.len(), rate, note_hz(63)).max(1e-9)
    };
    assert!(c4_level(2.5) > 20.0, "C4 sounds until its end");
    assert!(c4_level(3.4) < 2.0, "C4 is let go at 3 s");
}

/// A MIDI client in this process sending a controller change every 0.2 ms until told to stop:
/// JACK's process thread delivers some every period, so an input is always let go while its
/// callback is busy.
struct Flood {
    flooding: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Flood {
    fn start(name: &str) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let flooding = std::sync::Arc::new(AtomicBool::new(true));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = {
            let (flooding, name) = (flooding.clone(), name.to_string());
            std::thread::spawn(move || {
                use midir::os::unix::VirtualOutput;
                let out = midir::MidiOutput::new(&name).expect("a JACK client");
                let mut conn = out.create_virtual("out").expect("a virtual MIDI output");
                ready_tx.send(()).unwrap();
                let mut v = 0u8;
                while flooding.load(Ordering::Relaxed) {
                    let _ = conn.send(&[0xB0, 1, v & 0x7F]);
                    v = v.wrapping_add(1);
                    std::thread::sleep(Duration::from_micros(200));
                }
            })
        };
        ready_rx.recv().unwrap();
        Self { flooding, thread }
    }

    /// Stops and closes the client: its port is gone from JACK when this returns.
    fn stop(self) {
        self.flooding
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap();
    }
}

#[test]
fn midi_input_let_go_a_hundred_times_while_a_peer_floods_it_hears_it_each_time_and_never_crashes() {
    use somnia::bridge::{LiveSink, Transport, event_queue};
    use somnia::control::intent::Steering;
    use somnia::control::midi::input::{MidiInputs, MidiSettings, PortChoice};
    use somnia::control::midi::route::Router;
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Mutex, mpsc};

    if !require_jack() {
        return;
    }
    let (live_tx, _live_rx) = event_queue(4096);
    let (cmd_tx, _cmd_rx) = mpsc::sync_channel(16);
    let steering = Steering {
        sink: LiveSink {
            live: Arc::new(Mutex::new(live_tx)),
            commands: cmd_tx,
            looks: mpsc::sync_channel(16).0,
            transport: Arc::new(Transport::new(48_000)),
            cues: Default::default(),
            crowd: Default::default(),
            timecode: somnia::bridge::TimecodeSender::unheard(),
            journal: somnia::bridge::JournalNotes::off(),
        },
        learn: None,
    };
    let map_dir = tempfile::tempdir().unwrap();
    // Every other time the peer is one that leaves just before the input is let go, as a
    // timecode source that ends a moment before the show does.
    let staying = format!("flood{}", std::process::id());
    let leaving = format!("leaving{}", std::process::id());
    let stays = Flood::start(&staying);
    const TIMES: usize = 100;
    let mut heard = Vec::new();
    for time in 0..TIMES {
        let leaves = (time % 2 == 1).then(|| Flood::start(&leaving));
        let input = MidiInputs::start(
            MidiSettings {
                ports: PortChoice::Named(
                    if leaves.is_some() { &leaving } else { &staying }.clone(),
                ),
                who: "test",
                map_path: map_dir.path().join("midi-map.toml"),
                router: Router::new(Default::default(), Default::default(), Vec::new()),
            },
            steering.clone(),
        )
        .expect("MIDI input");
        let since = Instant::now();
        while input.stats.messages.load(Ordering::Relaxed) < 10
            && since.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        heard.push(input.stats.messages.load(Ordering::Relaxed));
        if let Some(peer) = leaves {
            peer.stop();
            std::thread::sleep(Duration::from_millis((time % 7) as u64));
        }
        // Let go with messages on their way (or its source just gone).
        drop(input);
    }
    stays.stop();
    let deaf = heard.iter().filter(|&&n| n < 10).count();
    assert_eq!(
        deaf, 0,
        "{deaf} of {TIMES} inputs heard under 10 messages: {heard:?}"
    );
    report(
        "measured",
        &format!(
            "MIDI input let go {TIMES} times while a peer sent 5000 messages a second (half of them just after the peer left): no crash, each heard at least 10 (at most {})",
            heard.iter().max().unwrap()
        ),
    );
}
