//! Fullscreen on a chosen monitor, under Xvfb: `somnia list monitors` numbers the monitors and
//! `play --fullscreen --monitor 0` covers that screen. (Xvfb has one monitor, so choosing among
//! several is not tested here.)

mod common;

use common::*;

#[test]
fn fullscreen_on_monitor_0_as_listed_fills_that_screen() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let list = somnia().args(["list", "monitors"]).output().unwrap();
    let monitors = String::from_utf8_lossy(&list.stdout);
    assert!(monitors.starts_with("0: "), "{monitors}");
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("full.png");
    let play = LivePlay::start(
        dir.path(),
        &[
            "--fullscreen",
            "--monitor",
            "0",
            "--no-vsync",
            "--no-osc",
            "--no-midi",
        ],
        &fixture("performances/live.toml"),
    );
    play.wait_until_up();
    // The first frames may come before the window manager-less X server has resized it.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let lit = loop {
        screenshot(&shot);
        let img = read_png(&shot);
        let lit = img.luma().iter().filter(|l| **l > 20.0).count() as f64
            / (img.width * img.height) as f64;
        if lit > 0.9 || std::time::Instant::now() > until {
            break lit;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    play.stop();
    assert!(
        lit > 0.9,
        "fullscreen should cover the screen; {:.0}% lit",
        lit * 100.0
    );
}
