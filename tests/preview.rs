//! A VJ's preview of one preset: `play --preset NAME --seconds S` plays its picture and its
//! sound (the composer's phrase on the preset's own patch) for S seconds and quits; `render
//! --preset` writes the same sound, with onsets for an audio-reactive look to follow.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// How many times the level jumps up by 6 dB from one 50 ms window to the next: note onsets.
fn onsets(mono: &[f32]) -> usize {
    let levels: Vec<f32> = mono.chunks(2_400).map(rms).collect();
    levels
        .windows(2)
        .filter(|w| w[1] > 2.0 * w[0] && w[1] > 0.005)
        .count()
}

#[test]
fn a_rendered_preset_preview_plays_its_pluck_with_onsets_for_the_look_to_follow() {
    let dir = tempfile::tempdir().unwrap();
    let o = somnia()
        .current_dir(repo())
        .args([
            "render",
            "--preset",
            "tapestry",
            "--seconds",
            "6",
            "--no-mp4",
        ])
        .args(["--size", "64x36", "--fps", "2", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let wav = read_wav(&dir.path().join("tapestry.wav"));
    let mono = wav.mono();
    assert_eq!(mono.len(), 6 * 48_000, "the length asked for");
    let db = level_db(&mono, 0.0, 6.0);
    assert!(db > -40.0, "the preview is heard: {db:.1} dBFS");
    assert!(
        onsets(&mono) >= 3,
        "notes come and go: {} onsets",
        onsets(&mono)
    );
}

#[test]
fn play_previews_a_preset_with_its_sound_for_the_seconds_asked_then_quits() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let started = Instant::now();
    let o = somnia()
        .current_dir(repo())
        .args(["play", "--preset", "canopy", "--seconds", "4"])
        .args(["--size", "160x90", "--no-osc", "--no-midi"])
        .output()
        .unwrap();
    let wall = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    stop_with_sigint(&mut parec);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    assert!(
        wall > Duration::from_secs(4) && wall < Duration::from_secs(20),
        "4 s of preview took {wall:?}\n{log}"
    );
    let mono = read_wav(&rec).mono();
    let first = first_sound_after(&mono, 0.0, 0.005).expect("the preview was heard");
    let db = level_db(&mono, first, first + 3.0);
    assert!(db > -45.0, "the preview's sound: {db:.1} dBFS\n{log}");
    // It plays for the 4 s asked (the last notes' release a little longer), then stops.
    let last = mono.iter().rposition(|s| s.abs() > 0.005).unwrap() as f64 / 48_000.0;
    assert!(
        (3.3..5.0).contains(&(last - first)),
        "the preview sounded for {:.2} s\n{log}",
        last - first
    );
}
