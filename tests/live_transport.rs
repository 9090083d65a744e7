//! The transport from the keyboard, live (xdotool into the window under Xvfb): the right arrow
//! jumps to the next cue, 30 s away, and its note is heard at once.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn the_right_arrow_jumps_to_the_next_cue_and_it_sounds() {
    if !live_env() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    std::thread::sleep(Duration::from_millis(300));
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180"],
        &fixture("performances/jump.toml"),
    );
    std::thread::sleep(Duration::from_millis(2500));
    let key = Command::new("xdotool")
        .args(["search", "--name", "Somnia", "windowfocus", "key", "Right"])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let stderr = play.stop();
    std::thread::sleep(Duration::from_millis(200));
    stop_with_sigint(&mut parec);
    assert!(key.success(), "xdotool could not press the key");
    assert!(stderr.contains("somnia: at 30.00 s"), "{stderr}");

    let mono = read_wav(&rec).mono();
    let n = mono.len() / 2 * 2;
    let whole = spectrum(&mono[..n]);
    let (e5, absent) = (
        level_near(&whole, n, 48_000, note_hz(76)),
        level_near(&whole, n, 48_000, note_hz(63)),
    );
    assert!(
        e5 > 20.0 * absent,
        "the cue at 30 s was heard after the jump: E5 {e5}, Eb4 (not played) {absent}"
    );
}
