//! `somnia play --record FILE` through the real binary, under Xvfb and the PulseAudio null
//! sink: the engine's own output, written while the show plays to the sound card, is bit for
//! bit the offline render of the same performance (the reference a re-render must equal), and a
//! file that cannot be made is refused before the show starts.

mod common;

use common::*;

#[test]
fn what_play_records_is_bit_for_bit_the_offline_render_of_the_same_seconds() {
    if !live_env() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let perf = repo().join("performances/first-light.toml");
    let (live, log) = {
        let _turn = live_turn();
        let rec = dir.path().join("live.wav");
        let play = LivePlay::start(
            dir.path(),
            &[
                "--size",
                "160x90",
                "--no-osc",
                "--no-midi",
                "--no-web",
                "--seconds",
                "6",
                "--record",
                rec.to_str().unwrap(),
            ],
            &perf,
        );
        let log = play.finish(std::time::Duration::from_secs(40));
        (read_wav(&rec), log)
    };
    let out = dir.path().join("render");
    let rendered = somnia()
        .arg("render")
        .arg(&perf)
        .args(["--seconds", "8", "--no-mp4", "--no-frames", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{rendered:?}");
    let offline = read_wav(&out.join("first-light.wav"));
    assert_eq!((live.sample_rate_hz, live.channels), (48_000, 2));
    let seconds = live.frames() as f64 / 48_000.0;
    assert!(seconds > 4.0, "{seconds:.2} s recorded\n{log}");
    assert!(
        log.contains(&format!("recorded {seconds:.1} s of the engine's output")),
        "{log}"
    );
    // A machine that fell behind plays late events at once: then, and only then, may the two
    // differ (and the log says so).
    let late = log.contains("after their sample");
    let first_difference = live
        .samples
        .iter()
        .zip(&offline.samples)
        .position(|(a, b)| a.to_bits() != b.to_bits());
    report(
        "measured",
        &format!(
            "--record: {seconds:.2} s of the live engine's output against the offline render: {}",
            match first_difference {
                None => "identical, bit for bit".to_string(),
                Some(i) => format!("first differs at frame {}", i / 2),
            }
        ),
    );
    assert!(
        first_difference.is_none() || late,
        "the live recording differs from the render at frame {}\n{log}",
        first_difference.unwrap_or(0) / 2
    );
    assert!(rms(&live.samples) > 1e-4, "the recording is silent");
}

#[test]
fn a_recording_that_cannot_be_made_is_refused_before_the_show_with_exit_3() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let o = somnia()
        .args([
            "play",
            "--size",
            "160x90",
            "--no-osc",
            "--no-midi",
            "--no-web",
        ])
        .args(["--record", "/nonexistent-folder/show.wav"])
        .arg(repo().join("performances/first-light.toml"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("cannot write the recording /nonexistent-folder/show.wav"),
        "{err}"
    );
    assert!(!err.contains("the picture is up"), "{err}");
}
