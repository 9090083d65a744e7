//! Live OSC notes never wait for each other (`somnia play`, python-osc sending, the null sink
//! recorded): a note with a length, or a bundle tagged ahead, leaves a release waiting for its
//! time, and nothing sent after it may wait behind that release. Notes sent a fifth of a second
//! apart are heard a fifth of a second apart; a chord's notes and a bundle's together; a
//! `note/off` and a `gain_db` change take effect when sent.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

const PORT: u16 = 9431;
const HOP: usize = 240;
const WIN: usize = 4_096;

const SEND: &str = r#"
import sys, time
from pythonosc import udp_client
from pythonosc.osc_bundle_builder import OscBundleBuilder, IMMEDIATELY
from pythonosc.osc_message_builder import OscMessageBuilder
c = udp_client.SimpleUDPClient("127.0.0.1", int(sys.argv[1]))
t0 = time.time()
def at(s):
    time.sleep(max(0.0, t0 + s - time.time()))
def note(n, length):
    c.send_message("/somnia/note", [n, 0.8, length])
at(0.0); note(60, 1.0)                      # C4, a second long
at(0.2); note(64, 1.0)                      # E4 a fifth of a second later
at(1.5); note(67, 0.8); note(71, 0.8); note(74, 0.8)   # a chord: G4 B4 D5
at(3.0)
b = OscBundleBuilder(IMMEDIATELY)           # a bundle: E5 and G5
for n in (76, 79):
    m = OscMessageBuilder(address="/somnia/note"); m.add_arg(n); m.add_arg(0.8); m.add_arg(0.5)
    b.add_content(m.build())
c.send(b.build())
at(4.0); note(62, 5.0)                      # D4 for five seconds...
at(4.4); c.send_message("/somnia/note/off", [62])   # ...let go after 0.4
at(5.5); note(65, 3.0)                      # F4 for three seconds...
at(6.0); c.send_message("/somnia/param/gain_db", [-40.0])  # ...turned down after half of one
at(7.0)
"#;

/// The level of `hz` in each hop of `mono`.
fn track(mono: &[f32], hz: f32) -> Vec<f32> {
    mono.windows(WIN)
        .step_by(HOP)
        .map(|w| level_near(&spectrum(w), WIN, 48_000, hz))
        .collect()
}

fn time_of(i: usize) -> f64 {
    (i * HOP + WIN / 2) as f64 / 48_000.0
}

/// When `note` starts sounding after `from_s`: the first hop reaching half its loudest there.
fn onset(mono: &[f32], note: u8, from_s: f64, to_s: f64) -> f64 {
    let levels = track(mono, note_hz(note));
    let range: Vec<(usize, f32)> = levels
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, _)| (from_s..to_s).contains(&time_of(*i)))
        .collect();
    let peak = range.iter().map(|(_, l)| *l).fold(0.0, f32::max);
    let (i, _) = range
        .iter()
        .find(|(_, l)| *l >= 0.5 * peak)
        .unwrap_or_else(|| panic!("note {note} not heard between {from_s} and {to_s} s"));
    time_of(*i)
}

#[test]
fn live_notes_with_lengths_chords_bundles_offs_and_changes_each_take_effect_when_sent() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let play = LivePlay::start(
        dir.path(),
        &["--size", "160x90", "--osc-port", "9431", "--no-midi"],
        &fixture("performances/osc.toml"),
    );
    play.wait_until_up();
    // Timing is measured once the sound server has settled the new stream.
    wait_for_show_time(PORT, 2.5);
    let sent = Command::new(python_osc())
        .args(["-c", SEND, &PORT.to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let log = play.stop();
    stop_with_sigint(&mut parec);
    assert!(sent.success(), "python-osc failed to send\n{log}");
    // Notes sent now start now: none of them reached the engine after its sample.
    assert!(
        !log.contains("after their sample"),
        "untimed notes were counted late:\n{log}"
    );
    let mono = read_wav(&rec).mono();
    // Everything is placed against C4, the first note sent (the stage is silent before it).
    let first = first_sound_after(&mono, 0.0, 0.01).expect("the notes were heard");
    let c4 = onset(&mono, 60, first - 0.1, first + 0.5);
    let at = |note: u8, from: f64, to: f64| onset(&mono, note, c4 + from, c4 + to) - c4;
    let e4 = at(64, 0.1, 1.2);
    assert!(
        (e4 - 0.2).abs() < 0.06,
        "E4 came {e4:.3} s after C4, sent 0.2 s after"
    );
    let chord = [at(67, 1.3, 2.2), at(71, 1.3, 2.2), at(74, 1.3, 2.2)];
    for (n, t) in ["G4", "B4", "D5"].iter().zip(chord) {
        assert!(
            (t - 1.5).abs() < 0.06,
            "{n} of the chord came at {t:.3} s, sent at 1.5"
        );
    }
    let bundle = [at(76, 2.8, 3.4), at(79, 2.8, 3.4)];
    assert!(
        bundle.iter().all(|t| (t - 3.0).abs() < 0.06),
        "the bundle's notes came at {bundle:?} s, sent at 3.0"
    );
    // D4 let go at 4.4: by 4.8 it has died away, though its length ran to 9.
    let d4 = track(&mono, note_hz(62));
    let level =
        |levels: &[f32], s: f64| levels[((c4 + s) * 48_000.0 - (WIN / 2) as f64) as usize / HOP];
    assert!(
        level(&d4, 4.9) < 0.1 * level(&d4, 4.25),
        "D4 still sounds after its note/off: {} then {}",
        level(&d4, 4.25),
        level(&d4, 4.9)
    );
    // gain_db -40 at 6.0: F4, still held, drops then, not when it ends.
    let (held, turned) = (
        level_db(&mono, c4 + 5.65, c4 + 5.95),
        level_db(&mono, c4 + 6.2, c4 + 6.5),
    );
    assert!(
        held - turned > 20.0,
        "gain_db -40 sent at 6.0 s: {held:.1} dB before, {turned:.1} dB after"
    );
}
