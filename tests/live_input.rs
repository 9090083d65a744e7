//! The live input path through real components: kicks at 120 BPM are played into the
//! PulseAudio null sink with `paplay` (pulseaudio-utils), and `somnia meter` hears them on the
//! default input (the sink's monitor, via cpal and ALSA) and reports their onsets and tempo.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn write_kicks(path: &std::path::Path, seconds: usize) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..48_000 * seconds {
        let t = (i % 24_000) as f32 / 48_000.0;
        let f = 60.0 + 60.0 * (-t * 40.0).exp();
        let x = 0.8 * (2.0 * std::f32::consts::PI * f * t).sin() * (-t * 12.0).exp();
        let v = (x * 32_767.0) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn meter_hears_kicks_on_the_line_in_with_their_tempo() {
    if !live_env() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kicks = dir.path().join("kicks.wav");
    write_kicks(&kicks, 8);
    let _turn = live_turn();
    let log = dir.path().join("meter-stderr.txt");
    let meter = somnia()
        .args(["meter", "--seconds", "7"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // It listens once it says so; the kicks start then.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("listening to")
    {
        assert!(std::time::Instant::now() < until, "the meter did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        Command::new("paplay")
            .args(["-d", "nullsink"])
            .arg(&kicks)
            .status()
            .unwrap()
            .success()
    );
    let out = meter.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(out.status.success(), "{stderr}");
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("summary:"))
        .unwrap_or_else(|| panic!("no summary:\n{stdout}"));
    let field = |name: &str| -> f64 {
        summary
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{summary}"))
    };
    let (onsets, bpm) = (field("onsets="), field("bpm="));
    // About 6.5 s of kicks heard, one every 500 ms.
    assert!((10.0..=15.0).contains(&onsets), "{summary}");
    assert!((bpm - 120.0).abs() <= 1.0, "{summary}");
}
