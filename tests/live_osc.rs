//! OSC from peers nobody here wrote, into a running `somnia play` (Xvfb, PulseAudio null sink,
//! the sound recorded):
//! - python-osc sends two bundles time-tagged 0.5 s and 1.0 s ahead, a quarter second apart:
//!   their notes are heard 0.500 s apart within 1 ms (each lands on the sample of its tag);
//! - liblo's `oscsend` sends GO and a note; `/somnia/status` is answered to the sender.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

const PORT: &str = "9317";

/// The first sample after `from` louder than `threshold` (after silence).
fn onset_after(mono: &[f32], from: usize, threshold: f32) -> Option<usize> {
    mono[from..]
        .iter()
        .position(|s| s.abs() > threshold)
        .map(|i| i + from)
}

fn python() -> Option<String> {
    std::env::var("SOMNIA_PYTHON").ok().or_else(|| {
        let p = repo().join("target/pyosc/bin/python");
        p.exists().then(|| p.display().to_string())
    })
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
fn time_tagged_bundles_land_on_their_sample_and_oscsend_gos_and_gets_status() {
    if !live_env() {
        return;
    }
    retried(attempt);
}

fn attempt() {
    let Some(python) = python() else {
        panic!("python-osc is missing: run scripts/ensure-python-osc.sh (scripts/test.sh does)");
    };
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    std::thread::sleep(Duration::from_millis(300));
    let play = LivePlay::start(
        dir.path(),
        &["--size", "160x90", "--osc-port", PORT],
        &fixture("performances/osc.toml"),
    );
    std::thread::sleep(Duration::from_millis(2500));

    let sent = Command::new(&python)
        .args(["-c", SEND_TAGGED, PORT])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // liblo: GO (the manual C5), then a status request answered to oscdump's port.
    let go = Command::new("oscsend")
        .args(["localhost", PORT, "/somnia/go"])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let status = Command::new(&python)
        .args([
            "-c",
            "import socket,sys\nfrom pythonosc.osc_message_builder import OscMessageBuilder\nfrom pythonosc.osc_message import OscMessage\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(2)\ns.sendto(OscMessageBuilder(address='/somnia/status').build().dgram,('127.0.0.1',int(sys.argv[1])))\nm=OscMessage(s.recv(4096))\nprint(m.address, *m.params)",
            PORT,
        ])
        .output()
        .unwrap();
    let stderr = play.stop();
    std::thread::sleep(Duration::from_millis(200));
    stop_with_sigint(&mut parec);
    assert!(
        sent.success() && go.success(),
        "the OSC peers failed:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("OSC on udp 127.0.0.1:{PORT}")),
        "{stderr}"
    );
    let reply = String::from_utf8_lossy(&status.stdout);
    assert!(
        reply.starts_with("/somnia/status OSC test "),
        "status reply: {reply}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // The address, the two-word title, then time, paused, eleven counters and the standby
    // cue's number: 0, as the GO fired the only manual cue (its label, empty, prints nothing).
    let words: Vec<&str> = reply.split_whitespace().collect();
    assert_eq!(words.len(), 17, "status reply: {reply}");
    assert_eq!(words[16], "0", "status reply: {reply}");

    let mono = read_wav(&rec).mono();
    let first = onset_after(&mono, 0, 0.01).expect("the first tagged note sounds");
    // The second comes after the first's 0.2 s note and 0.1 s release: look from 0.35 s on.
    let second = onset_after(&mono, first + 16_800, 0.01).expect("the second tagged note");
    let gap_ms = (second - first) as f64 / 48.0;
    eprintln!("tagged 500 ms apart, heard {gap_ms:.3} ms apart");
    assert!(
        (gap_ms - 500.0).abs() <= 1.0,
        "tagged 500 ms apart, heard {gap_ms:.2} ms apart"
    );
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
}
