//! The health endpoint through the real binary: `somnia play` serves `GET /health` as JSON on
//! 127.0.0.1 by default, with the picture's and the devices' figures, and is not reachable on
//! any other address unless bound there explicitly.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use common::*;

/// `somnia play` of the live fixture with its web server bound at `bind`, up and drawing.
fn play_serving(dir: &std::path::Path, bind: &str) -> LivePlay {
    let play = LivePlay::start(
        dir,
        &[
            "--size",
            "160x90",
            "--no-osc",
            "--no-midi",
            "--web-bind",
            bind,
        ],
        &fixture("performances/live.toml"),
    );
    play.wait_until_up();
    play
}

/// This machine's address on its network, if it has one (no packet is sent).
fn lan_address() -> Option<std::net::IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("10.255.255.255:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn health_answers_on_loopback_with_the_shows_figures_and_nowhere_else() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let port = 9481;
    let play = play_serving(dir.path(), &format!("127.0.0.1:{port}"));
    std::thread::sleep(Duration::from_secs(2));
    let here: SocketAddr = ([127, 0, 0, 1], port).into();
    let h = health(here).unwrap_or_else(|e| panic!("{e}\n{}", play.log_text()));
    let num = |k: &str| {
        h[k].as_f64()
            .unwrap_or_else(|| panic!("`{k}` is not a number in {h}"))
    };
    assert_eq!(h["status"], "ok", "{h}");
    assert!(h["playing"].as_str().is_some_and(|p| !p.is_empty()), "{h}");
    assert!(num("uptime_s") >= 2.0, "{h}");
    assert!(num("frames_presented") > 10.0, "{h}");
    assert!(num("fps") > 5.0, "the picture is moving: {h}");
    assert!(num("frame_time_p99_ms") > 0.0, "{h}");
    assert!(num("resident_memory_bytes") > 10e6, "{h}");
    for k in [
        "dropped_frames",
        "audio_underruns",
        "audio_device_losses",
        "gpu_device_losses",
    ] {
        assert!(num(k) >= 0.0, "{k}: {h}");
    }
    assert!(
        h["quarantined"].as_array().is_some_and(Vec::is_empty),
        "{h}"
    );
    // Loopback is the whole of 127.0.0.0/8, but the server is bound to 127.0.0.1 only: the
    // same machine at 127.0.0.2 is refused, and so is its network address.
    let other: SocketAddr = ([127, 0, 0, 2], port).into();
    assert!(health(other).is_err(), "reachable at {other}");
    if let Some(lan) = lan_address() {
        assert!(health((lan, port).into()).is_err(), "reachable at {lan}");
    }
    let log = play.stop();
    assert!(!log.contains("cannot serve http"), "{log}");
}

#[test]
fn health_answers_on_another_address_only_when_bound_there() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let port = 9482;
    let play = play_serving(dir.path(), &format!("0.0.0.0:{port}"));
    let other: SocketAddr = ([127, 0, 0, 2], port).into();
    let h = health(other).unwrap_or_else(|e| panic!("{e}\n{}", play.log_text()));
    assert_eq!(h["status"], "ok", "{h}");
    play.stop();
}

#[test]
fn a_taken_port_is_said_once_and_the_show_plays_on() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--no-osc",
            "--no-midi",
            "--web-bind",
            &addr,
        ],
        &fixture("performances/live.toml"),
    );
    play.wait_until_up();
    let log = play.stop();
    assert_eq!(
        log.matches("cannot serve http").count(),
        1,
        "one line about the taken port:\n{log}"
    );
}

#[test]
fn a_client_holding_half_a_request_does_not_hold_up_the_end_of_the_show() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let port = 9483;
    let play = play_serving(dir.path(), &format!("127.0.0.1:{port}"));
    let mut held = TcpStream::connect(("127.0.0.1", port)).unwrap();
    held.write_all(b"GET /hea").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // `stop` needs a clean exit within a few seconds.
    let started = std::time::Instant::now();
    play.stop();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the show took {:?} to end",
        started.elapsed()
    );
    drop(held);
}
