//! Audience dreamers over OSC (python-osc into `somnia play` under Xvfb): a dreamer steers
//! their own layer (green turns cyan), and one who sends `/leave` fades out of the mosaic, by
//! consent, leaving the shared dreamscape (black here) in their tile.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

const PORT: &str = "9319";

fn send(args: &[&str]) {
    let script = "import sys\nfrom pythonosc import udp_client\nc = udp_client.SimpleUDPClient('127.0.0.1', int(sys.argv[1]))\nargs = [float(a) for a in sys.argv[3:]]\nc.send_message(sys.argv[2], args)\n";
    let ok = Command::new(python_osc())
        .args(["-c", script, PORT])
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "python-osc could not send {args:?}");
}

#[test]
fn a_dreamer_steers_their_layer_and_leaves_by_consent() {
    if !live_env() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--osc-port", PORT],
        &fixture("performances/mosaic-live.toml"),
    );
    play.wait_until_up();
    let (red, cyan) = ([255, 0, 0], [0, 255, 255]);
    let before = dir.path().join("before.png");
    screenshot(&before);
    send(&["/somnia/dreamer/2/b", "1"]);
    send(&["/somnia/dreamer/1/leave"]);
    // The leave fades over 2 s: wait for it to finish, 5 s at most.
    let after = dir.path().join("after.png");
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        screenshot(&after);
        let done = pixels_near(&after, red) < 100 && pixels_near(&after, cyan) > 5_000;
        if done || std::time::Instant::now() > until {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let stderr = play.stop();

    let red_before = pixels_near(&before, red);
    assert!(
        red_before > 5_000,
        "dreamer 1's red tile: {red_before} pixels\n{stderr}"
    );
    assert_eq!(pixels_near(&before, cyan), 0);
    assert!(
        pixels_near(&after, red) < red_before / 50,
        "dreamer 1 left: {} red pixels",
        pixels_near(&after, red)
    );
    assert!(
        pixels_near(&after, cyan) > 5_000,
        "dreamer 2 turned their layer cyan"
    );
}
