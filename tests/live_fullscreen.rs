//! Fullscreen on a chosen monitor, under Xvfb: `somnia list monitors` numbers the monitors and
//! `play --fullscreen --monitor 0` covers that screen. (Its own test binary, so no other window
//! or sound plays at the same time.)

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn fullscreen_on_a_chosen_monitor_fills_the_screen() {
    if !live_env() {
        return;
    }
    let list = somnia().args(["list", "monitors"]).output().unwrap();
    let monitors = String::from_utf8_lossy(&list.stdout);
    assert!(monitors.starts_with("0: "), "{monitors}");
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("full.png");
    let mut play = somnia()
        .args([
            "play",
            "--exit-at-end",
            "--fullscreen",
            "--monitor",
            "0",
            "--no-vsync",
        ])
        .arg(fixture("performances/live.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        Command::new("import")
            .args(["-window", "root"])
            .arg(&shot)
            .status()
            .unwrap()
            .success()
    );
    assert!(play.wait().unwrap().success());
    let img = read_png(&shot);
    let lit =
        img.luma().iter().filter(|l| **l > 20.0).count() as f64 / (img.width * img.height) as f64;
    assert!(
        lit > 0.9,
        "fullscreen should cover the screen; {:.0}% lit",
        lit * 100.0
    );
}
