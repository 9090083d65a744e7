//! GO, live: `somnia play` waits at a manual cue until the space bar (sent to the window with
//! xdotool under Xvfb) fires it, and the cue that auto-follows it comes when it ends. Timing
//! is measured in the recorded sound against the note that opens the show.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn a_manual_cue_waits_for_go_and_its_follower_comes_when_it_ends() {
    if !live_env() {
        return;
    }
    retry_on_dropout(attempt, |(go_s, a4_show, follow_s)| {
        if (a4_show - go_s).abs() >= 0.03 {
            return Err(format!(
                "A4 sounded at {a4_show:.3} s of the show; the GO was at {go_s:.3} s"
            ));
        }
        if (follow_s - 1.0).abs() >= 0.03 {
            return Err(format!(
                "E5 should follow A4 when it ends, 1 s later; it came {follow_s:.3} s later"
            ));
        }
        Ok(())
    });
}

/// One run: (the GO's show time, A4's show time, E5 after A4), and what the environment did.
fn attempt() -> ((f64, f64, f64), Environment) {
    const PORT: u16 = 9425;
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let recording = std::time::Instant::now();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--osc-port", "9425", "--no-midi"],
        &fixture("performances/go.toml"),
    );
    play.wait_until_up();
    // From here on: A3, which places the show clock in the recording, is at 0.5 s, and a gap
    // in the sound anywhere between it and E5 moves the notes after it.
    let underruns_before = underruns(PORT);
    // Past the cue's planned time (3 s): live, it must still be waiting.
    while show_time_s(PORT) < 4.0 {
        std::thread::sleep(Duration::from_millis(100));
    }
    press("space");
    std::thread::sleep(Duration::from_millis(2500));
    let underruns_during = underruns(PORT) - underruns_before;
    let stderr = play.stop();
    std::thread::sleep(Duration::from_millis(200));
    stop_with_sigint(&mut parec);
    let recorded_for = recording.elapsed().as_secs_f64();
    // "somnia: GO cue 2 “The dreamer wakes” at 4.812 s"
    let go_s: f64 = stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("somnia: GO cue 2 ")?
                .rsplit(" at ")
                .next()?
                .strip_suffix(" s")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no GO in the log:\n{stderr}"));
    assert!(
        go_s > 4.0,
        "the GO came at {go_s} s, after the planned 3 s: it waited"
    );

    let mono = read_wav(&rec).mono();
    let (a3, a4, e5) = (
        onset_s(&mono, note_hz(57)),
        onset_s(&mono, note_hz(69)),
        onset_s(&mono, note_hz(76)),
    );
    // A3 is at 0.5 s of the show: that places the show clock in the recording.
    let env = Environment {
        underruns: underruns_during,
        recording_short_s: recording_short_s(mono.len(), recorded_for),
        ..Environment::default()
    };
    ((go_s, a4 - a3 + 0.5, e5 - a4), env)
}
