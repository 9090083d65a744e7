//! The cue list live, as a performer drives it (`somnia play` on Xvfb, keys from xdotool, OSC
//! from liblo and python-osc, the sound recorded): the standby cue is named; → and ← step
//! through the cues in time order and → never jumps over the standby; after S, GO starts the
//! show from the top; one key press is one GO, whatever focus change comes with it; and
//! saving the performance while it plays never undoes a GO.

mod common;

use std::time::Duration;

use common::*;

/// How many GOs the log reports.
fn gos(log: &str) -> usize {
    log.lines()
        .filter(|l| l.starts_with("somnia: GO cue "))
        .count()
}

fn wait_log(play: &LivePlay, text: &str) {
    assert!(
        play.wait_for_log(text, Duration::from_secs(5)),
        "`{text}` never came:\n{}",
        play.log_text()
    );
}

/// Whether `note` sounds clearly in `mono` between `from_s` and `to_s` (against a pitch no cue
/// plays).
fn heard(mono: &[f32], note: u8, from_s: f64, to_s: f64) -> bool {
    let at = |s: f64| ((s * 48_000.0) as usize).min(mono.len());
    let seg = &mono[at(from_s)..at(to_s)];
    let n = seg.len() / 2 * 2;
    if n < 4_800 {
        return false;
    }
    let spec = spectrum(&seg[..n]);
    level_near(&spec, n, 48_000, note_hz(note)) > 20.0 * level_near(&spec, n, 48_000, note_hz(63))
}

#[test]
fn the_arrows_step_through_the_cues_in_time_order_and_never_jump_over_the_standby_cue() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    const PORT: u16 = 9421;
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let t0 = std::time::Instant::now();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--osc-port", "9421", "--no-midi"],
        &fixture("performances/cues.toml"),
    );
    play.wait_until_up();
    // → after the opening cue: the next in time order is the timed one at 4 s, not the manual.
    while show_time_s(PORT) < 0.8 {
        std::thread::sleep(Duration::from_millis(100));
    }
    press("Right");
    wait_log(&play, "somnia: at 4.00 s");
    let first_jump_s = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        gos(&play.log_text()),
        0,
        "→ fired a GO:\n{}",
        play.log_text()
    );
    // The manual cue stands by, named in the log and in /somnia/status.
    wait_log(&play, "somnia: standby: cue 3 “the turn”");
    let status = osc_status(PORT);
    assert_eq!(
        (status[14].as_str(), status[15].as_str()),
        ("3", "the turn"),
        "/somnia/status names the standby cue: {status:?}"
    );
    // → again: the next cue is the standby: the show goes there and fires it.
    press("Right");
    wait_log(&play, "somnia: GO cue 3 “the turn” (jumped to)");
    wait_log(&play, "somnia: at 30.00 s");
    let second_jump_s = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(1500));
    // ← more than a second after it fired: back to that cue, which stands by again.
    press("Left");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        osc_status(PORT)[14],
        "3",
        "back at the manual cue, it stands by again:\n{}",
        play.log_text()
    );
    // ← again at once: the cue before it in time order.
    press("Left");
    let back = || play.log_text().matches("somnia: at 4.00 s").count() == 2;
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while !back() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(back(), "← did not go back to 4 s:\n{}", play.log_text());
    let log = play.stop();
    stop_with_sigint(&mut parec);
    let mono = read_wav(&rec).mono();
    assert!(
        heard(&mono, 72, first_jump_s - 0.2, first_jump_s + 1.0),
        "C5, the cue at 4 s, is heard after the first →"
    );
    assert!(
        heard(&mono, 76, second_jump_s - 0.2, second_jump_s + 1.0),
        "E5, the manual cue, is heard after the second →\n{log}"
    );
}

#[test]
fn after_a_stop_go_starts_the_show_from_the_top() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    const PORT: u16 = 9422;
    let dir = tempfile::tempdir().unwrap();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--osc-port", "9422", "--no-midi"],
        &fixture("performances/cues.toml"),
    );
    play.wait_until_up();
    while show_time_s(PORT) < 1.0 {
        std::thread::sleep(Duration::from_millis(100));
    }
    press("s");
    let until = std::time::Instant::now() + Duration::from_secs(5);
    let stopped = loop {
        let s = osc_status(PORT);
        if s[2] == "True" || std::time::Instant::now() > until {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(stopped[2], "True", "S pauses: {stopped:?}");
    assert!(
        stopped[1].parse::<f64>().unwrap() < 0.05,
        "at the top: {stopped:?}"
    );
    press("space");
    std::thread::sleep(Duration::from_millis(1000));
    let going = osc_status(PORT);
    let log = play.stop();
    assert_eq!(going[2], "False", "GO plays: {going:?}\n{log}");
    let t: f64 = going[1].parse().unwrap();
    assert!(
        (0.7..1.6).contains(&t),
        "the show runs from the top: at {t} s\n{log}"
    );
    assert_eq!(
        gos(&log),
        0,
        "the GO started the show, it fired no cue:\n{log}"
    );
}

#[test]
fn one_key_press_that_comes_with_a_focus_change_is_one_go_and_one_pause() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    const PORT: u16 = 9423;
    let dir = tempfile::tempdir().unwrap();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--osc-port", "9423", "--no-midi"],
        &fixture("performances/gos.toml"),
    );
    play.wait_until_up();
    // The window starts without focus: xdotool focuses it and presses space, as a performer
    // clicking the window and pressing the key would. X11 replays the held key on focus.
    press("space");
    std::thread::sleep(Duration::from_millis(800));
    let after_go = osc_status(PORT);
    // Focus goes elsewhere (the root window), and P comes with the focus coming back.
    let root = std::process::Command::new("xdotool")
        .args(["search", "--maxdepth", "0", "--name", ""])
        .output()
        .unwrap();
    let root = String::from_utf8_lossy(&root.stdout)
        .lines()
        .next()
        .map(String::from);
    if let Some(root) = root {
        let _ = std::process::Command::new("xdotool")
            .args(["windowfocus", &root])
            .status();
    }
    press("p");
    std::thread::sleep(Duration::from_millis(800));
    let after_p = osc_status(PORT);
    let log = play.stop();
    assert_eq!(gos(&log), 1, "one press, one GO:\n{log}");
    assert_eq!(
        after_go[14], "2",
        "cue 2 stands by after one GO: {after_go:?}"
    );
    assert_eq!(
        after_p[2], "True",
        "one P pauses (twice would resume):\n{log}"
    );
}

#[test]
fn saving_the_performance_while_it_plays_never_undoes_a_go() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    const PORT: u16 = 9424;
    let project = temp_project(&[("warm", "warm"), ("cool", "cool")]);
    let perf = project.path().join("performances/show.toml");
    let show = std::fs::read_to_string(fixture("performances/gos.toml")).unwrap();
    std::fs::write(&perf, &show).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--osc-port", "9424", "--no-midi"],
        &perf,
    );
    play.wait_until_up();
    oscsend(PORT, "/somnia/go", "", &[]);
    wait_log(&play, "somnia: GO cue 1 ");
    let blue = shot_until(&dir.path().join("go.png"), |c| c[2] > c[0] + 40.0);
    assert!(
        blue[2] > blue[0] + 40.0,
        "the GO turned the picture blue: {blue:?}"
    );
    // A manual cue inserted before the one GOne, and a timed cue before that: saved.
    let edited = show.replacen(
        "[[cue]]",
        "[[cue]]\nat = 2\nnotes = [\"A3\"]\n\n[[cue]]\nat = 5\ngo = true\nlabel = \"new\"\npreset = \"warm\"\n\n[[cue]]",
        1,
    );
    std::fs::write(&perf, edited).unwrap();
    wait_log(&play, "reloaded");
    // For a second after the reload the picture must not turn back to red.
    let watch = std::time::Instant::now();
    let mut after = blue;
    while watch.elapsed() < Duration::from_secs(1) && after[2] > after[0] + 40.0 {
        after = window_shot(&dir.path().join("saved.png")).mean_rgb();
    }
    let status = osc_status(PORT);
    let log = play.stop();
    assert!(
        after[2] > after[0] + 40.0,
        "still blue after the save (the GO stands): {after:?}\n{log}"
    );
    assert_eq!(
        status[15], "two",
        "the standby is still the cue after the one GOne:\n{log}"
    );
    // "reloaded" is said for the save, and only for it (not for the GO before it).
    assert_eq!(log.matches("somnia: reloaded `").count(), 1, "{log}");
}
