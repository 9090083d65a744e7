//! A VJ's preview of one preset: `play --preset NAME --seconds S` plays its picture and its
//! sound (the composer's phrase on the preset's own patch) for S seconds and quits; `render
//! --preset` writes the same sound, with onsets for an audio-reactive look to follow; a
//! previewed preset's journal makes its sound and its picture again, as the offline render of
//! the same preset draws it.

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

#[test]
fn a_previewed_presets_journal_makes_its_sound_bit_for_bit_and_its_picture_as_the_offline_render() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("preview.somnia-journal");
    let recorded = dir.path().join("recorded.wav");
    let o = somnia()
        .current_dir(repo())
        .args(["play", "--preset", "tapestry", "--seconds", "3"])
        .args(["--size", "160x90", "--no-osc", "--no-midi", "--no-web"])
        .arg("--journal")
        .arg(&journal)
        .arg("--record")
        .arg(&recorded)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    // Made again away from the project: from the journal alone.
    let again = dir.path().join("again");
    let o = somnia()
        .current_dir(dir.path())
        .args(["render", "--no-mp4", "--fps", "10", "--journal"])
        .arg(&journal)
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    let live = read_wav(&recorded);
    let made = read_wav(&again.join("preview.wav"));
    assert!(made.samples.len() > 2 * 48_000, "{said}");
    let shared = made.samples.len().min(live.samples.len());
    assert!(
        live.samples[..shared] == made.samples[..shared],
        "the sound made again differs from what the engine played\n{log}"
    );
    // The preset drawn offline, at the same size and rate.
    let offline = dir.path().join("offline");
    let o = somnia()
        .current_dir(repo())
        .args([
            "render",
            "--preset",
            "tapestry",
            "--seconds",
            "3",
            "--no-mp4",
        ])
        .args(["--size", "160x90", "--fps", "10", "--out"])
        .arg(&offline)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut compared = Vec::new();
    for i in [5, 15, 25] {
        let name = format!("frames/{i:06}.png");
        let (drawn, reference) = (read_png(&again.join(&name)), read_png(&offline.join(&name)));
        assert_eq!((drawn.width, drawn.height), (160, 90), "{said}");
        let (mean, far) = picture_difference(&drawn, &reference);
        compared.push(format!(
            "{:.1} s: {mean:.2}/255, {far:.2} %",
            i as f64 / 10.0
        ));
        assert!(mean <= 2.0 && far <= 1.0, "{compared:?}\n{said}");
    }
    // The look moves, so matching frames by time means something.
    let (first, last) = (
        read_png(&again.join("frames/000005.png")),
        read_png(&again.join("frames/000025.png")),
    );
    assert!(
        picture_difference(&first, &last).0 > 2.0,
        "the preview stood still"
    );
    report(
        "measured",
        &format!(
            "a preview's journal drawn again against the offline render: {}",
            compared.join("; ")
        ),
    );
}
