//! OSC from peers nobody here wrote, into a running `somnia play` (Xvfb, PulseAudio null sink,
//! the sound recorded):
//! - python-osc sends two bundles time-tagged 0.5 s and 1.0 s ahead, a quarter second apart:
//!   their notes are heard 0.500 s apart within 1 ms (each lands on the sample of its tag);
//! - liblo's `oscsend` sends GO (the manual cue's C5 is heard); python-osc asks for
//!   `/somnia/status`, answered to its sender with every packet counted.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

const PORT: u16 = 9317;
/// Show time by which the sound server has settled the new stream's latency.
const SETTLED_S: f64 = 2.5;

/// The first sample after `from` louder than `threshold` (after silence).
fn onset_after(mono: &[f32], from: usize, threshold: f32) -> Option<usize> {
    mono[from..]
        .iter()
        .position(|s| s.abs() > threshold)
        .map(|i| i + from)
}

const SEND_TAGGED: &str = r#"
import sys, time
from pythonosc import udp_client
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
client = udp_client.SimpleUDPClient("127.0.0.1", int(sys.argv[1]))
def note(at, n):
    b = OscBundleBuilder(at)
    m = OscMessageBuilder(address="/somnia/note")
    m.add_arg(n); m.add_arg(0.9); m.add_arg(0.2)
    b.add_content(m.build())
    client.send(b.build())
t0 = time.time()
note(t0 + 0.5, 69)
time.sleep(0.25)
note(t0 + 1.0, 76)
"#;

#[test]
fn time_tagged_bundles_land_on_their_sample_oscsend_gos_and_status_is_answered() {
    if !live_env() {
        return;
    }
    retry_on_dropout(attempt, |gap_ms| {
        eprintln!("tagged 500 ms apart, heard {gap_ms:.3} ms apart");
        if (gap_ms - 500.0).abs() <= 1.0 {
            Ok(())
        } else {
            Err(format!("tagged 500 ms apart, heard {gap_ms:.2} ms apart"))
        }
    });
}

/// One run: how far apart the two tagged notes were heard (ms), and what the environment did.
fn attempt() -> (f64, Environment) {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let recording = std::time::Instant::now();
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--osc-port",
            &PORT.to_string(),
            "--no-midi",
        ],
        &fixture("performances/osc.toml"),
    );
    play.wait_until_up();
    wait_for_show_time(PORT, SETTLED_S);
    let before = osc_status(PORT);
    let count = |status: &[String], i: usize| status[i].parse::<u64>().unwrap();
    let underruns_before = count(&before, 11);
    let sent = Command::new(python_osc())
        .args(["-c", SEND_TAGGED, &PORT.to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // liblo: GO (the manual C5), then a status request (python-osc) answered to its sender.
    oscsend(PORT, "/somnia/go", "", &[]);
    std::thread::sleep(Duration::from_millis(800));
    let status = osc_status(PORT);
    let underruns_during = count(&status, 11) - underruns_before;
    let stderr = play.stop();
    std::thread::sleep(Duration::from_millis(200));
    stop_with_sigint(&mut parec);
    let recorded_for = recording.elapsed().as_secs_f64();
    assert!(sent.success(), "python-osc failed:\n{stderr}");
    assert!(
        stderr.contains(&format!("OSC on udp 127.0.0.1:{PORT}")),
        "{stderr}"
    );
    // The title, time, paused, eleven counters, the standby cue's number and label (0 and
    // none, as the GO fired the only manual cue), then the seven health figures: uptime, fps,
    // frame-time p99, dropped frames, audio and GPU device losses, resident memory; then the
    // GPU allocator's bytes and the longest run of black frames; then the sync sources (none
    // here: a count of 0); then a kiosk's figures, as `play` has them: no restarts, its title
    // playing, no next change, nothing quarantined.
    assert_eq!(status.len(), 30, "status reply: {status:?}");
    assert_eq!(figure_of(&status, 25), 0.0, "no sync sources: {status:?}");
    assert_eq!(&status[26..], ["0", "OSC test", "", "0"], "{status:?}");
    assert!(figure_of(&status, 23) > 0.0, "GPU memory: {status:?}");
    assert_eq!(figure_of(&status, 24), 0.0, "black frames: {status:?}");
    let figure = |i: usize| figure_of(&status, i);
    assert!(
        figure(16) > 1.0 && figure(17) > 5.0,
        "uptime and fps: {status:?}"
    );
    assert_eq!(
        (figure(20), figure(21)),
        (0.0, 0.0),
        "no device lost: {status:?}"
    );
    assert!(figure(22) > 10e6, "resident memory: {status:?}");
    assert_eq!(status[0], "OSC test", "{status:?}");
    assert_eq!(
        (status[14].as_str(), status[15].as_str()),
        ("0", ""),
        "{status:?}"
    );
    // Since the request before: the two bundles, the GO and this request, one message each;
    // nothing malformed or refused.
    let since = |i: usize| count(&status, i) - count(&before, i);
    assert_eq!(
        [since(3), since(4), since(5), since(6)],
        [4, 4, 0, 0],
        "{status:?}"
    );

    let mono = read_wav(&rec).mono();
    let first = onset_after(&mono, 0, 0.01).expect("the first tagged note sounds");
    // The second comes after the first's 0.2 s note and 0.1 s release: look from 0.35 s on.
    let second = onset_after(&mono, first + 16_800, 0.01).expect("the second tagged note");
    // GO fired the manual cue: C5 is in the recording.
    let n = mono.len() / 2 * 2;
    let whole = spectrum(&mono[..n]);
    let (c5, absent) = (
        level_near(&whole, n, 48_000, note_hz(72)),
        level_near(&whole, n, 48_000, note_hz(63)),
    );
    assert!(
        c5 > 20.0 * absent,
        "GO over OSC: C5 {c5}, Eb4 {absent}\n{stderr}"
    );
    let env = Environment {
        underruns: underruns_during,
        recording_short_s: recording_short_s(mono.len(), recorded_for),
        ..Environment::default()
    };
    ((second - first) as f64 / 48.0, env)
}

/// The `i`th value of a status reply as a number (-1 when it is not one).
fn figure_of(status: &[String], i: usize) -> f64 {
    status[i].parse::<f64>().unwrap_or(-1.0)
}
