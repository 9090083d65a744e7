//! A flood while playing: 50,000 OSC packets a second for 10 seconds (parameter changes,
//! malformed packets, unknown addresses) into `somnia play` holding a drone. The recorded sound
//! has no gap, the process's memory stays bounded, and the show answers `/somnia/status` after.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::*;
use rosc::{OscMessage, OscPacket, OscType};

const PORT: u16 = 9318;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

// This held only once the sound stopped depending on a fair share of the CPU (the sender alone
// takes most of a core here): the audio thread and libpulse's carrier thread run at real-time
// priority, and the ALSA PulseAudio plugin's passing I/O errors are ridden out rather than
// answered by reopening the stream (docs/ARCHITECTURE.md, "Audio under load").
#[test]
fn fifty_thousand_packets_a_second_leave_no_gap_and_bounded_memory() {
    if !live_env() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    std::thread::sleep(Duration::from_millis(300));
    let port = PORT.to_string();
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--osc-rate",
            "100000",
            "--osc-port",
            &port,
        ],
        &fixture("performances/drone.toml"),
    );
    std::thread::sleep(Duration::from_millis(2000));
    let rss_before = rss_kib(play.child.id());

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let param = |v: f32| {
        rosc::encoder::encode(&OscPacket::Message(OscMessage {
            addr: "/somnia/param/cutoff_hz".into(),
            args: vec![OscType::Float(v)],
        }))
        .unwrap()
    };
    let unknown = rosc::encoder::encode(&OscPacket::Message(OscMessage {
        addr: "/nowhere".into(),
        args: vec![],
    }))
    .unwrap();
    let junk = b"#bundle\0\xff\xff\xff\xff".to_vec();
    // Made once: the flood measures Somnia under load, not this test encoding packets.
    let params: Vec<Vec<u8>> = (0..2000).map(|i| param(600.0 + i as f32)).collect();
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed() < Duration::from_secs(10) {
        // 500 packets, then wait for the next 10 ms slot: 50,000 a second.
        for i in 0..500u64 {
            let pkt: &[u8] = match i % 4 {
                0 | 1 => &params[(sent % 2000) as usize],
                2 => &junk,
                _ => &unknown,
            };
            let _ = socket.send_to(pkt, ("127.0.0.1", PORT));
            sent += 1;
        }
        let slot = Duration::from_millis(10 * sent / 500);
        if let Some(wait) = slot.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let flood_s = started.elapsed().as_secs_f64();
    let rss_after = rss_kib(play.child.id());
    std::thread::sleep(Duration::from_millis(300));
    let log = play.stop();
    eprintln!(
        "flood: {:.0} packets/s for {flood_s:.1} s; RSS {rss_before} -> {rss_after} KiB; {} hiccup report(s) in the log",
        sent as f64 / flood_s,
        log.matches("hiccup").count()
    );
    std::thread::sleep(Duration::from_millis(200));
    stop_with_sigint(&mut parec);
    assert!(
        sent as f64 / flood_s > 45_000.0,
        "sent {sent} in {flood_s:.1} s: the flood was too slow to count"
    );
    assert!(
        rss_after < rss_before + 30 * 1024,
        "memory grew from {rss_before} KiB to {rss_after} KiB under the flood"
    );

    // The drone sounds through the whole flood: every 10 ms window is loud, none drops out.
    let mono = read_wav(&rec).mono();
    let windows: Vec<f32> = mono.chunks(480).map(rms).collect();
    let loud: Vec<usize> = windows
        .iter()
        .enumerate()
        .filter(|(_, r)| **r > 0.01)
        .map(|(i, _)| i)
        .collect();
    let (first, last) = (loud[0], *loud.last().unwrap());
    // The flood starts 2 s after launch; measure from then (start-up is not under test).
    let flood_from = first + 150;
    assert!(
        (last - first) as f64 * 0.01 > 10.0,
        "the drone spans the flood: {:.1} s",
        (last - first) as f64 * 0.01
    );
    let quiet = windows[flood_from..=last]
        .iter()
        .filter(|r| **r < 0.003)
        .count();
    let gaps: Vec<usize> = windows[flood_from..=last]
        .iter()
        .enumerate()
        .filter(|(_, r)| **r < 0.003)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        quiet, 0,
        "{quiet} silent 10 ms windows in the drone, at {gaps:?} (x10 ms)\n{log}"
    );
}
