//! Choosing an audio device, as a user does it from `somnia list audio` (through ALSA and the
//! test environment's PulseAudio): devices are listed by the names `--audio-device` takes, the
//! default marked; names match without regard to case; and a device with no pace of its own
//! (ALSA's `null`, which takes sound as fast as it is made) never lets the show clock outrun
//! the wall clock.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn short_show(dir: &std::path::Path) -> std::path::PathBuf {
    let perf = dir.join("performances/short.toml");
    std::fs::write(
        &perf,
        "duration = 3\npreset = \"warm\"\n[[cue]]\nat = 0.5\nnotes = [\"A3\"]\nlength_s = 1\n",
    )
    .unwrap();
    perf
}

#[test]
fn list_audio_names_each_device_as_play_takes_it_and_marks_the_default() {
    if !live_env() {
        return;
    }
    let o = somnia().args(["list", "audio"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("* default ") && lines[0].contains("(the default"),
        "the default first, marked:\n{out}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with('*')).count(),
        1,
        "{out}"
    );
    // Every line starts with a name (no blanks), then says what the device is.
    for l in &lines {
        let name = l[2..].split_whitespace().next().unwrap_or("");
        assert!(!name.is_empty() && l.len() > name.len() + 4, "`{l}`");
    }
    assert!(
        lines.iter().any(|l| l[2..].starts_with("pulse ")),
        "the PulseAudio device by its name:\n{out}"
    );
}

#[test]
fn a_device_is_found_by_its_name_in_any_case_and_the_default_by_what_play_calls_it() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let project = temp_project(&[("warm", "warm")]);
    let perf = short_show(project.path());
    for (asked, opened) in [
        ("PULSE", "pulse"),
        ("default", "default"),
        ("Default Audio Device", "default"),
    ] {
        let o = somnia()
            .args(["play", "--audio-device", asked, "--exit-at-end"])
            .args(["--size", "160x90", "--no-osc", "--no-midi"])
            .arg(&perf)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "--audio-device {asked:?}:\n{log}");
        assert!(
            log.contains(&format!("on audio device `{opened}`")),
            "--audio-device {asked:?} opens `{opened}`:\n{log}"
        );
    }
    let o = somnia()
        .args(["play", "--audio-device", "no-such-card"])
        .arg(&perf)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{log}");
    assert!(log.contains("somnia list audio"), "{log}");
}

#[test]
fn a_device_that_takes_sound_faster_than_it_plays_it_is_held_to_real_time() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let project = temp_project(&[("warm", "warm")]);
    let perf = short_show(project.path());
    let started = Instant::now();
    let o = somnia()
        .args(["play", "--audio-device", "null", "--exit-at-end"])
        .args(["--size", "160x90", "--no-osc", "--no-midi"])
        .arg(&perf)
        .output()
        .unwrap();
    let wall = started.elapsed();
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    // A 3 s show ends after 3 s of wall time at the least (start-up adds to it).
    assert!(
        wall > Duration::from_millis(3_000),
        "the 3 s show ended after {wall:?}: its clock ran away\n{log}"
    );
    assert!(log.contains("takes sound faster than it plays it"), "{log}");
}
