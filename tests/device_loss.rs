//! The device supervisor against the real PulseAudio null sink: kill the sound server while
//! `somnia play` is running, start it again, and the sound comes back in the recording,
//! without restarting somnia; so does its LTC out. Needs scripts/test-env.sh (scripts/test.sh runs it).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn pulse_is_up() -> bool {
    Command::new("pactl")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn sound_resumes_after_the_audio_server_is_killed_and_restarted() {
    if !live_env() {
        return;
    }
    let pulse_pid =
        std::env::var("SOMNIA_PULSE_PID").expect("test-env.sh exports SOMNIA_PULSE_PID");
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let (engine_rec, journal) = (
        dir.path().join("engine.wav"),
        dir.path().join("lost.somnia-journal"),
    );
    let mut play = LivePlay::start(
        dir.path(),
        // LTC out on the same server: its own stream is kept as the show's sound is.
        &[
            "--size",
            "320x180",
            "--no-osc",
            "--no-midi",
            "--ltc-out",
            "default",
            "--record",
            engine_rec.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
        &fixture("performances/flood.toml"),
    );
    play.wait_until_up();

    // The sound server dies mid-show...
    assert!(
        Command::new("kill")
            .args(["-9", &pulse_pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        play.wait_for_log("audio device lost", Duration::from_secs(5)),
        "{}",
        play.log_text()
    );
    assert!(
        play.child.try_wait().unwrap().is_none(),
        "somnia died with its sound server"
    );

    // ...and comes back. The new daemon outlives this test on purpose: later tests use the
    // same server, and scripts/test-env.sh's test_env_stop ends it.
    #[allow(clippy::zombie_processes)]
    Command::new("bash")
        .arg(repo().join("scripts/start-pulse.sh"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !pulse_is_up() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "PulseAudio did not restart"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // somnia retries every half second.
    assert!(
        play.wait_for_log("audio device back", Duration::from_secs(10)),
        "{}",
        play.log_text()
    );
    assert!(
        play.wait_for_log("LTC out is back", Duration::from_secs(10)),
        "{}",
        play.log_text()
    );
    let rec = dir.path().join("after.wav");
    let mut parec = start_recording(&rec);
    std::thread::sleep(Duration::from_millis(3000));
    stop_with_sigint(&mut parec);
    let stderr = play.stop();

    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("audio device lost"), "{stderr}");
    assert!(stderr.contains("audio device back"), "{stderr}");
    let mono = read_wav(&rec).mono();
    assert!(
        mono.len() > 48_000 * 2,
        "recorded only {} samples",
        mono.len()
    );
    assert!(
        rms(&mono) > 0.01,
        "no sound after the server came back (rms {})\n{stderr}",
        rms(&mono)
    );
    let n = mono.len() / 2 * 2;
    let spec = spectrum(&mono[..n]);
    let a3 = level_near(&spec, n, 48_000, note_hz(57));
    let absent = level_near(&spec, n, 48_000, note_hz(63));
    assert!(a3 > 20.0 * absent, "A3 {a3} vs Eb4 (not played) {absent}");

    // The engine ran on through the loss (on its stand-in clock): the journal says so, and
    // makes the engine's sound again, the stretch without a device included.
    let timeline = somnia().arg("journal").arg(&journal).output().unwrap();
    let timeline = String::from_utf8_lossy(&timeline.stdout);
    assert!(
        timeline.contains("show      the sound device was lost (1 in all)"),
        "{timeline}"
    );
    let made = render_journal(&journal, &dir.path().join("again"), &[]).samples;
    let played = read_wav(&engine_rec).samples;
    assert_eq!(played.len(), made.len());
    assert_eq!(
        first_difference(&played, &made),
        None,
        "the journal does not make the sound again through the loss\n{timeline}"
    );
}
