//! `somnia play` under a service manager, through a real notify socket: `READY=1` once the
//! picture is up, then `WATCHDOG=1` at half the watchdog interval from the render loop; a
//! stopped process stops the pings and a continued one resumes them.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn ready_comes_with_the_first_frame_and_the_watchdog_pings_stop_when_the_process_does() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&socket_path).unwrap();
    let log = dir.path().join("log.txt");
    let mut child = somnia()
        .args(["play", "--size", "160x90", "--no-osc", "--no-midi"])
        .arg(fixture("performances/live.toml"))
        .env("NOTIFY_SOCKET", &socket_path)
        // A 1 s watchdog: a ping every half second.
        .env("WATCHDOG_USEC", "1000000")
        .env_remove("WATCHDOG_PID")
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    // READY=1 (with what plays), and not before the picture is up.
    let until = Instant::now() + Duration::from_secs(30);
    let mut first = Vec::new();
    while Instant::now() < until && !first.iter().any(|m| m == "READY=1") {
        first.extend(notify_messages(&sock, 0.2));
    }
    assert!(
        first.iter().any(|m| m == "READY=1"),
        "no READY=1:\n{}",
        log_text()
    );
    assert!(
        log_text().contains("the picture is up"),
        "READY before the picture:\n{}",
        log_text()
    );
    assert!(
        first.iter().any(|m| m.starts_with("STATUS=playing ")),
        "{first:?}"
    );

    // Fed every half second while it plays.
    let playing = watchdog_pings(&notify_messages(&sock, 3.0));
    assert!((4..=8).contains(&playing), "{playing} pings in 3 s");

    // Stopped: the pings stop (the one already in flight aside).
    let signal = |sig: &str| {
        assert!(
            std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        )
    };
    signal("-STOP");
    notify_messages(&sock, 0.3);
    let stopped = watchdog_pings(&notify_messages(&sock, 2.0));
    signal("-CONT");
    assert_eq!(stopped, 0, "pings while the process was stopped");
    let resumed = watchdog_pings(&notify_messages(&sock, 2.0));
    assert!(resumed >= 2, "{resumed} pings in 2 s after it continued");

    // Ended on purpose: it says it is stopping.
    signal("-INT");
    let status = child.wait().unwrap();
    let last = notify_messages(&sock, 0.5);
    assert!(status.success(), "{}", log_text());
    assert!(last.iter().any(|m| m == "STOPPING=1"), "{last:?}");
}
