//! The device supervisor against the real PulseAudio null sink: kill the sound server while
//! `somnia play` is running, start it again, and the sound comes back in the recording,
//! without restarting somnia. Needs scripts/test-env.sh (scripts/test.sh runs it).

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
    let dir = tempfile::tempdir().unwrap();
    let mut play = somnia()
        .args(["play", "--exit-at-end", "--size", "320x180"])
        .arg(fixture("performances/drone.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));

    // The sound server dies mid-show...
    assert!(
        Command::new("kill")
            .args(["-9", &pulse_pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        play.try_wait().unwrap().is_none(),
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
    std::thread::sleep(Duration::from_millis(2000));
    let rec = dir.path().join("after.wav");
    let mut parec = start_recording(&rec);
    std::thread::sleep(Duration::from_millis(3000));
    stop_with_sigint(&mut parec);
    let _ = Command::new("kill")
        .args(["-TERM", &play.id().to_string()])
        .status();
    let _ = play.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(play.stderr.as_mut().unwrap(), &mut stderr).unwrap();

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
}
