//! Somnia's LTC against libltc (the reference implementation, Debian's libltc-dev, driven by
//! `tests/ltc/ltc_tool.c`): libltc reads every frame Somnia writes, at every rate, and Somnia
//! reads every frame libltc writes, fast, slow and inverted. Offline: no sound server needed.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use somnia::clock::ltc::{LtcDecoder, LtcEncoder};
use somnia::clock::timecode::{FrameRate, Timecode};

use common::{fps_arg, ltc_tool};

/// libltc's reading of `samples`: (label, drop flag, end sample) a frame.
fn libltc_reads(samples: &[f32], rate: FrameRate) -> Vec<(String, bool, u64)> {
    let mut child = Command::new(ltc_tool())
        .args(["decode", fps_arg(rate), "48000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f[4], "0", "read forwards: {l}");
            (f[0].to_string(), f[1] == "1", f[3].parse().unwrap())
        })
        .collect()
}

/// libltc's LTC from `start` for `seconds`.
fn libltc_writes(rate: FrameRate, start: &str, seconds: f64) -> Vec<f32> {
    let out = Command::new(ltc_tool())
        .args([
            "encode",
            fps_arg(rate),
            start,
            &seconds.to_string(),
            "48000",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn libltc_reads_every_frame_somnia_writes_at_every_rate() {
    for rate in FrameRate::ALL {
        let start: Timecode = "00:59:59:00".parse().unwrap();
        let mut e = LtcEncoder::new(rate, 48_000, 0.5);
        e.locate(start.frame_count(rate) as f64);
        let samples: Vec<f32> = (0..3 * 48_000).map(|_| e.next_sample()).collect();
        let read = libltc_reads(&samples, rate);
        let expected = (3.0 * rate.fps()) as usize;
        assert!(
            read.len() + 2 >= expected,
            "{rate:?}: libltc read {} of {expected} frames",
            read.len()
        );
        for (i, (label, drop, _)) in read.iter().enumerate() {
            let tc = Timecode::from_frame_count(start.frame_count(rate) + i as u64, rate);
            assert_eq!(label, &tc.to_string(), "{rate:?}: frame {i}");
            assert_eq!(*drop, rate.drop_frame(), "{rate:?}");
        }
        common::report(
            "measured",
            &format!(
                "libltc read {} of {expected} frames of Somnia's LTC at {} fps, none wrong",
                read.len(),
                rate.name()
            ),
        );
    }
}

#[test]
fn somnia_reads_libltc_at_every_rate_and_ten_per_cent_fast_slow_and_inverted() {
    for rate in FrameRate::ALL {
        let samples = libltc_writes(rate, "10:00:00:00", 2.0);
        for (how, signal) in [
            ("as sent", samples.clone()),
            ("inverted", samples.iter().map(|s| -s).collect()),
            // Resampled: played 10 % fast and 10 % slow.
            ("10 % fast", resample(&samples, 1.1)),
            ("10 % slow", resample(&samples, 0.9)),
        ] {
            let mut d = LtcDecoder::new(48_000, rate);
            let mut read = Vec::new();
            d.push(&signal, |f| read.push(f));
            let least = (2.0 * rate.fps() * 0.8) as usize;
            assert!(
                read.len() >= least,
                "{rate:?} {how}: {} frames read",
                read.len()
            );
            let start: Timecode = "10:00:00:00".parse().unwrap();
            for (a, b) in read.iter().zip(&read[1..]) {
                assert_eq!(
                    b.tc.frame_count(rate),
                    a.tc.frame_count(rate) + 1,
                    "{rate:?} {how}"
                );
            }
            assert!(read[0].tc.frame_count(rate) >= start.frame_count(rate));
            assert_eq!(read[0].drop_frame, rate.drop_frame());
        }
    }
}

/// `x` played `speed` times as fast (linear interpolation).
fn resample(x: &[f32], speed: f64) -> Vec<f32> {
    let n = (x.len() as f64 / speed) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 * speed;
            let (k, f) = (t.floor() as usize, (t - t.floor()) as f32);
            let a = x[k.min(x.len() - 1)];
            let b = x[(k + 1).min(x.len() - 1)];
            a + (b - a) * f
        })
        .collect()
}
