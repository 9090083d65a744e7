//! Live changes as a show's cues and controllers make them (`somnia play` on Xvfb, the null sink
//! recorded, the window photographed):
//! - a cue that changes preset and ramps an audio parameter ramps from the new preset's value;
//! - a layer value set over OSC lasts until the next preset cut, as the file's own do;
//! - a window closed by another program ends the show quietly.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// A saw pad, `cutoff_hz` and `gain_db` as given.
fn saw_preset(cutoff_hz: f64, gain_db: f64) -> String {
    format!(
        "[layer]\nshader = \"tint.wgsl\"\n[layer.params]\nr = {{ default = 0.5 }}\ng = {{ default = 0.5 }}\nb = {{ default = 0.5 }}\n\
         [audio]\ngain_db = {gain_db}\n[audio.osc1]\nwaveform = \"saw\"\n[audio.osc2]\nlevel = 0\n\
         [audio.filter]\ncutoff_hz = {cutoff_hz}\nresonance = 0\nenv_octaves = 0\nkey_track = 0\nvelocity_octaves = 0\n\
         [audio.amp_env]\nattack_s = 0.005\nrelease_s = 0.1\n"
    )
}

/// The share of `w`'s power above `hz`.
fn share_above(w: &[f32], hz: f32) -> f32 {
    let power: Vec<f32> = spectrum(w).iter().map(|m| m * m).collect();
    let bin = (hz * w.len() as f32 / 48_000.0) as usize;
    let total: f32 = power.iter().sum();
    power[bin..].iter().sum::<f32>() / total.max(1e-12)
}

#[test]
fn a_cue_that_changes_preset_ramps_its_audio_from_the_new_presets_value() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let project = temp_project(&[]);
    let root = project.path();
    std::fs::write(root.join("presets/open.toml"), saw_preset(20_000.0, -12.0)).unwrap();
    std::fs::write(root.join("presets/dark.toml"), saw_preset(500.0, -12.0)).unwrap();
    std::fs::write(root.join("presets/quiet.toml"), saw_preset(3_000.0, -50.0)).unwrap();
    // A short blip on the open preset places the show in the recording. At 1 s an A2 on the
    // dark preset, whose filter opens from its 500 Hz to 6 kHz over 2 s; at 4 s one on the
    // quiet preset, fading up from its -50 dB to -12 over 2 s.
    let perf = root.join("performances/ramps.toml");
    std::fs::write(
        &perf,
        "duration = 10\npreset = \"open\"\n\
         [[cue]]\nat = 0.5\nnotes = [\"A2\"]\nlength_s = 0.1\n\
         [[cue]]\nat = 1\npreset = \"dark\"\nnotes = [\"A2\"]\nlength_s = 2.5\n\
         ramp = { param = \"cutoff_hz\", to = 6000, over_s = 2, curve = \"exponential\" }\n\
         [[cue]]\nat = 4\npreset = \"quiet\"\nnotes = [\"A2\"]\nlength_s = 2.5\n\
         ramp = { param = \"gain_db\", to = -12, over_s = 2 }\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let play = LivePlay::start(
        dir.path(),
        &["--size", "160x90", "--no-osc", "--no-midi"],
        &perf,
    );
    play.wait_until_up();
    std::thread::sleep(Duration::from_millis(7000));
    let log = play.stop();
    stop_with_sigint(&mut parec);
    let mono = read_wav(&rec).mono();
    // The note starts at 0.5 s of the show: that places the show in the recording.
    let start = first_sound_after(&mono, 0.0, 0.005).expect("the note was heard") - 0.5;
    let window = |s: f64| {
        let at = ((start + s) * 48_000.0) as usize;
        &mono[at..at + 8_192]
    };
    // Brightness (the share of the spectrum above 1.5 kHz) rises through the ramp.
    let bright: Vec<f32> = [1.15, 2.0, 2.85]
        .iter()
        .map(|s| share_above(window(*s), 1_500.0))
        .collect();
    assert!(
        bright[0] < bright[1] && bright[1] < bright[2] && bright[2] > 2.0 * bright[0],
        "the filter opens from the new preset's 500 Hz: brightness {bright:?}\n{log}"
    );
    // The level rises through the fade-in from the quiet preset's -50 dB.
    let level: Vec<f32> = [4.1, 5.0, 5.9]
        .iter()
        .map(|s| 20.0 * rms(window(*s)).log10())
        .collect();
    assert!(
        level[0] < level[1] - 3.0 && level[1] < level[2] - 3.0 && level[0] < -35.0,
        "the fade-in from the quiet preset: {level:?} dB\n{log}"
    );
}

#[test]
fn a_layer_value_set_over_osc_lasts_until_the_next_preset_cut() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    const PORT: u16 = 9441;
    let project = temp_project(&[("warm", "warm"), ("cool", "cool")]);
    let perf = project.path().join("performances/cut.toml");
    std::fs::write(
        &perf,
        "duration = 30\npreset = \"warm\"\n[[cue]]\nat = 4\npreset = \"cool\"\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--osc-port", "9441", "--no-midi"],
        &perf,
    );
    play.wait_until_up();
    // Green all the way up on the warm look (its own g is 0.3).
    oscsend(PORT, "/somnia/layer/g", "f", &["1.0"]);
    let set = shot_until(&dir.path().join("set.png"), |rgb| rgb[1] > 150.0);
    while show_time_s(PORT) < 4.5 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let cut = shot_until(&dir.path().join("cut.png"), |rgb| rgb[2] > 150.0);
    let log = play.stop();
    assert!(
        set[1] > 150.0,
        "the OSC value shows on the warm look: {set:?}\n{log}"
    );
    assert!(
        cut[1] < 100.0 && cut[2] > 150.0,
        "after the cut, the cool look as it is (g 0.3), not the OSC value: {cut:?}\n{log}"
    );
}

#[test]
fn a_window_closed_by_another_program_ends_the_show_with_one_line() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let mut play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--no-osc", "--no-midi"],
        &fixture("performances/live.toml"),
    );
    play.wait_until_up();
    let closed = std::process::Command::new("xdotool")
        .args(["search", "--name", "Somnia", "windowclose"])
        .status()
        .unwrap();
    assert!(closed.success(), "xdotool could not close the window");
    let until = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = play.child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > until {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = play.log_text();
    assert!(
        status.is_some(),
        "still running 5 s after its window went:\n{log}"
    );
    assert!(status.unwrap().success(), "{log}");
    // One line says it, and nothing follows (the log does not keep growing) but the show's
    // closing lines, said once each as every show ends: where its journal is, and the counts
    // where the machine gave cause (a sound card that ran dry, events late).
    let closing = [
        "the sound card ran dry",
        "after their sample",
        "live event(s) were dropped",
        "s of the show in",
    ];
    let after: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.contains("the window was closed by another program"))
        .filter(|l| !closing.iter().any(|c| l.contains(c)))
        .collect();
    assert_eq!(after.len(), 1, "{log}");
}
