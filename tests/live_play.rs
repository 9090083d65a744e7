//! `somnia play` through real components: a window on Xvfb drawn by wgpu, sound through cpal
//! into a PulseAudio null sink, recorded from the sink's monitor with `parec` and measured.
//! scripts/test.sh starts Xvfb and PulseAudio (scripts/test-env.sh) and sets SOMNIA_LIVE=1.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn play_sounds_the_cue_files_notes_in_order_and_shows_a_picture() {
    if !live_env() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let shot = dir.path().join("shot.png");
    let _turn = live_turn();
    let mut parec = start_recording(&rec);
    let play = LivePlay::start(
        dir.path(),
        &[
            "--exit-at-end",
            "--size",
            "640x360",
            "--no-osc",
            "--no-midi",
        ],
        &fixture("performances/live.toml"),
    );
    play.wait_until_up();
    let shot_ok = Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .status()
        .unwrap()
        .success();
    let stderr = play.finish(Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    stop_with_sigint(&mut parec);

    // Start-up is said in figures: the picture and the first sound, from the launch.
    let figures: Vec<f64> = stderr
        .lines()
        .find(|l| l.contains("the picture is up"))
        .unwrap_or_else(|| panic!("{stderr}"))
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|w| w.contains('.'))
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        figures.len() == 2 && figures.iter().all(|s| (0.0..20.0).contains(s)),
        "picture up and first sound, in seconds after launch: {figures:?}\n{stderr}"
    );
    report(
        "measured",
        &format!(
            "start-up: the picture up {:.2} s and the first sound {:.2} s after launch",
            figures[0], figures[1]
        ),
    );

    // The sound: A4 then E5, each clearly present while the other is not.
    let wav = read_wav(&rec);
    let mono = wav.mono();
    assert!(
        mono.len() > 48_000 * 3,
        "recorded only {} samples",
        mono.len()
    );
    let hop = 4_800;
    let (a4, e5) = (note_hz(69), note_hz(76));
    let mut a4_best = (0.0f32, 0usize);
    let mut e5_best = (0.0f32, 0usize);
    for (i, w) in mono.windows(9_600).step_by(hop).enumerate() {
        let spec = spectrum(w);
        let (la, le) = (
            level_near(&spec, w.len(), 48_000, a4),
            level_near(&spec, w.len(), 48_000, e5),
        );
        if la > a4_best.0 {
            a4_best = (la, i);
        }
        if le > e5_best.0 {
            e5_best = (le, i);
        }
    }
    let whole = spectrum(&mono[..mono.len() / 2 * 2]);
    let absent = level_near(&whole, mono.len() / 2 * 2, 48_000, note_hz(63));
    let (pa, pe) = (
        level_near(&whole, mono.len() / 2 * 2, 48_000, a4),
        level_near(&whole, mono.len() / 2 * 2, 48_000, e5),
    );
    assert!(
        pa > 20.0 * absent && pe > 20.0 * absent,
        "A4 {pa}, E5 {pe}, Eb4 (not played) {absent}\n{stderr}"
    );
    let gap_s = (e5_best.1 as f64 - a4_best.1 as f64) * hop as f64 / 48_000.0;
    assert!(
        (1.0..=2.4).contains(&gap_s),
        "E5 should peak about 1.7 s after A4, got {gap_s:.2} s"
    );

    // The picture: the window (640x360 of the 1280x720 screen) is drawn, not black.
    assert!(shot_ok, "screenshot failed");
    let img = read_png(&shot);
    let lit =
        img.luma().iter().filter(|l| **l > 20.0).count() as f64 / (img.width * img.height) as f64;
    assert!(lit > 0.15, "only {:.1}% of the screen is lit", lit * 100.0);
}

#[test]
fn play_without_a_display_prints_one_clear_line_and_exits_nonzero() {
    let o = somnia()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .arg("play")
        .arg(fixture("performances/live.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no display") && stderr.contains("somnia render"),
        "{stderr}"
    );
}

#[test]
fn play_without_an_audio_device_says_so_and_exits_nonzero() {
    if !live_env() {
        return;
    }
    // A display exists, but the sound server the default device plays into does not.
    let o = somnia()
        .env("PULSE_SERVER", "unix:/nonexistent/pulse")
        .arg("play")
        .arg(fixture("performances/live.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // ALSA's own multi-line complaints are kept out: exactly one line, ours.
    let ours: Vec<&str> = stderr.trim().lines().collect();
    assert_eq!(ours.len(), 1, "{stderr}");
    assert!(
        ours[0].starts_with("somnia play:")
            && ours[0].contains("audio")
            && ours[0].contains("somnia render"),
        "{stderr}"
    );
}

#[test]
fn a_broken_shader_at_play_start_exits_one_with_its_file_line_and_column() {
    if !live_env() {
        return;
    }
    let dir = temp_project(&[("warm", "glow")]);
    let shader = dir.path().join("shaders/tint.wgsl");
    // Line 4, column 24: the stray `*` after `+`.
    std::fs::write(
        &shader,
        "// broken on purpose\n@fragment\nfn fs_main(in: VsOut) -> @location(0) vec4<f32> {\n    let x = params.r + * 2.0;\n    return vec4<f32>(x);\n}\n",
    )
    .unwrap();
    let perf = dir.path().join("performances/show.toml");
    std::fs::write(&perf, "duration = 5\npreset = \"glow\"\n").unwrap();
    let o = somnia()
        .args(["play", "--seconds", "3", "--no-midi", "--no-osc"])
        .arg(&perf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "bad input, not a missing device:\n{stderr}"
    );
    let want = format!("{}:4:24:", shader.display());
    assert!(stderr.contains(&want), "`{want}` in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_screen_does_not_blank_while_a_show_plays_and_its_settings_come_back_after() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let before = screensaver_timeout_s();
    assert!(
        before > 0,
        "the test display blanks by default ({before} s)"
    );
    let dir = tempfile::tempdir().unwrap();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "160x90", "--no-osc", "--no-midi"],
        &fixture("performances/live.toml"),
    );
    play.wait_until_up();
    assert_eq!(
        screensaver_timeout_s(),
        0,
        "the screensaver is off while it plays"
    );
    play.stop();
    assert_eq!(screensaver_timeout_s(), before, "and back as it was after");
}

#[test]
fn a_show_killed_outright_leaves_no_blanking_settings_behind_for_the_next_to_keep() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    assert!(
        std::process::Command::new("xset")
            .args(["s", "420", "420"])
            .status()
            .unwrap()
            .success()
    );
    let dir = tempfile::tempdir().unwrap();
    let args = ["--size", "160x90", "--no-osc", "--no-midi"];
    let perf = fixture("performances/live.toml");
    let mut first = LivePlay::start(dir.path(), &args, &perf);
    first.wait_until_up();
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert_eq!(
        screensaver_timeout_s(),
        0,
        "killed: nothing put the settings back"
    );
    // The next show takes the settings the killed one found, and puts those back.
    let next = LivePlay::start(dir.path(), &args, &perf);
    next.wait_until_up();
    next.stop();
    assert_eq!(screensaver_timeout_s(), 420);
}
