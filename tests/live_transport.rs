//! The transport from the keyboard, live (xdotool into the window under Xvfb): the right arrow
//! jumps to the next cue, 30 s away, and its note is heard at once (within 0.4 s of the press).

mod common;

use std::time::Duration;

use common::*;

#[test]
fn the_right_arrow_jumps_to_the_next_cue_and_it_is_heard_at_once() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let t0 = std::time::Instant::now();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--osc-port", "9426", "--no-midi"],
        &fixture("performances/jump.toml"),
    );
    play.wait_until_up();
    // Well after the opening note (0.5 to 0.9 s), so the next cue is the one 30 s away.
    wait_for_show_time(9426, 2.0);
    let press_s = t0.elapsed().as_secs_f64();
    press("Right");
    assert!(
        play.wait_for_log("somnia: at 30.00 s", Duration::from_secs(5)),
        "{}",
        play.log_text()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let stderr = play.stop();
    stop_with_sigint(&mut parec);

    // E5 (the cue at 30 s) in 50 ms windows: absent before the press, there within 0.4 s of
    // it (the recording starts a little after t0, so its clock is at most a little behind).
    let mono = read_wav(&rec).mono();
    let e5_in = |from_s: f64| {
        let at = ((from_s * 48_000.0) as usize).min(mono.len());
        let w = &mono[at..(at + 2_400).min(mono.len())];
        let n = w.len() / 2 * 2;
        let spec = spectrum(&w[..n]);
        let (e5, absent) = (
            level_near(&spec, n, 48_000, note_hz(76)),
            level_near(&spec, n, 48_000, note_hz(63)),
        );
        e5 > 20.0 * absent && rms(w) > 0.005
    };
    // From half a second before the press: the opening A3 (whose third harmonic is E5's
    // pitch) ended a second before it.
    let first = (0..200)
        .map(|k| press_s - 0.5 + f64::from(k) * 0.025)
        .find(|t| e5_in(*t))
        .unwrap_or_else(|| panic!("E5 was never heard\n{stderr}"));
    assert!(
        first > press_s - 0.15 && first < press_s + 0.4,
        "E5 first heard at {first:.3} s of the recording; → was pressed at {press_s:.3} s\n{stderr}"
    );
}
