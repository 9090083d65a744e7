//! Several outputs live, under an Xvfb of its own with one wide screen (3840x1080, which it
//! reports as one monitor): `somnia play --outputs` opens a window per output at its position
//! (the fallback for setups that report one big screen), each showing its slice; the test card
//! toggles live over OSC (liblo's `oscsend`); a virtual output streams raw frames into a named
//! pipe that ffmpeg reads; a half-written output map is refused with file:line:col and the
//! last good mapping stays.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;

const PORT: u16 = 9461;

/// An Xvfb of the test's own, stopped when dropped.
struct WideScreen {
    child: Child,
    display: String,
}

impl WideScreen {
    fn start() -> Self {
        // A free display of the test's own (the suite's is from 99 up, another test's from
        // 150): the first without a lock file from 250.
        let mut n = 250;
        while std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            n += 1;
        }
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "3840x1080x24",
                "-nolisten",
                "tcp",
            ])
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("Xvfb must be installed");
        let until = Instant::now() + Duration::from_secs(10);
        while !std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            assert!(Instant::now() < until, "Xvfb {display} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, display }
    }

    /// The mean luma of a part of the screen: x, y, width, height.
    fn luma(&self, dir: &std::path::Path, rect: (u32, u32, u32, u32)) -> f64 {
        let shot = dir.join("shot.png");
        let crop = format!("{}x{}+{}+{}", rect.2, rect.3, rect.0, rect.1);
        let ok = Command::new("import")
            .env("DISPLAY", &self.display)
            .args(["-window", "root", "-crop", &crop])
            .arg(&shot)
            .status()
            .unwrap()
            .success();
        assert!(ok, "import (ImageMagick) could not take a screenshot");
        let img = read_png(&shot);
        let l = img.luma();
        l.iter().sum::<f64>() / l.len() as f64
    }
}

impl Drop for WideScreen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MAP: &str = r#"# Two outputs on one wide screen.
canvas = [1920, 540]

[[output]]
name = "left"
window = { monitor = 1, position = [0, 0] }
size = [960, 540]
[[output.slice]]
crop = [0, 0, 960, 540]

[[output]]
name = "right"
window = { monitor = 2, position = [1920, 0] }
size = [960, 540]
[[output.slice]]
crop = [960, 0, 960, 540]
flip_x = true

[[output]]
name = "stream"
virtual = { file = "stream.rgba" }
size = [320, 90]
[[output.slice]]
crop = [0, 0, 1920, 540]
"#;

/// Waits until `check` holds for the screen, or panics with `what` and the log.
fn wait_for(play: &LivePlay, what: &str, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            Instant::now() < until,
            "{what} never showed:\n{}",
            play.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A project with the bars preset, a performance of it and the map (`outputs/wall.toml`).
fn wall_project(map: &str) -> tempfile::TempDir {
    let dir = temp_project(&[("bars", "bars")]);
    std::fs::copy(
        fixture("shaders/bars.wgsl"),
        dir.path().join("shaders/bars.wgsl"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("performances/bars.toml"),
        "title = \"Bars\"\nduration = 600\npreset = \"bars\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("outputs")).unwrap();
    std::fs::write(dir.path().join("outputs/wall.toml"), map).unwrap();
    dir
}

/// Both windows show their slices: the left one white at its left, the right one mirrored.
fn slices_shown(screen: &WideScreen, shots: &std::path::Path) -> bool {
    screen.luma(shots, (60, 200, 120, 100)) > 200.0
        && screen.luma(shots, (300, 200, 120, 100)) < 30.0
        && screen.luma(shots, (1980, 200, 120, 100)) < 30.0
        && screen.luma(shots, (2220, 200, 120, 100)) > 200.0
}

#[test]
fn two_output_windows_on_one_wide_screen_show_their_slices_and_the_test_card_toggles_over_osc() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let screen = WideScreen::start();
    let dir = wall_project(MAP);
    let map = dir.path().join("outputs/wall.toml");
    // The virtual output's stream goes into a named pipe, for ffmpeg to carry onwards.
    let fifo = dir.path().join("outputs/stream.rgba");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let play = LivePlay::start_with_env(
        dir.path(),
        &[
            "--outputs",
            map.to_str().unwrap(),
            "--osc-port",
            &PORT.to_string(),
            "--no-midi",
            "--no-vsync",
        ],
        &dir.path().join("performances/bars.toml"),
        &[("DISPLAY", screen.display.as_str())],
    );
    play.wait_until_up();
    assert!(
        play.log_text()
            .contains("2 output window(s) and 1 virtual output(s)"),
        "{}",
        play.log_text()
    );
    let shots = dir.path();
    // The canvas's bars are 240 px wide, white first. The left output shows canvas 0..960:
    // white at its left; the right one shows canvas 960..1920 mirrored: its left edge is the
    // canvas's last bar, black, and its second bar white.
    wait_for(&play, "the left slice", || {
        screen.luma(shots, (60, 200, 120, 100)) > 200.0
            && screen.luma(shots, (300, 200, 120, 100)) < 30.0
    });
    wait_for(&play, "the right slice, mirrored", || {
        screen.luma(shots, (1980, 200, 120, 100)) < 30.0
            && screen.luma(shots, (2220, 200, 120, 100)) > 200.0
    });
    // Nothing between the two windows: the screen is black there.
    assert!(screen.luma(shots, (1000, 100, 800, 300)) < 5.0);
    // ffmpeg (a peer nobody here wrote) reads the virtual output's raw frames from the pipe:
    // the whole canvas, its eight bars 40 px wide, white first.
    let got = dir.path().join("stream-%d.png");
    let ffmpeg = Command::new("timeout")
        .args([
            "20",
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgba",
        ])
        .args(["-s", "320x90", "-i"])
        .arg(&fifo)
        .args(["-frames:v", "3", "-y"])
        .arg(&got)
        .status()
        .unwrap();
    assert!(
        ffmpeg.success(),
        "ffmpeg could not read the stream:\n{}",
        play.log_text()
    );
    let frame = read_png(&dir.path().join("stream-3.png"));
    let luma = frame.luma();
    let at = |x: usize| luma[45 * 320 + x];
    assert!(
        at(20) > 200.0 && at(60) < 30.0 && at(100) > 200.0,
        "the stream shows the bars"
    );
    assert!(play.wait_for_log("streams to", Duration::from_secs(5)));
    let bars = screen.luma(shots, (0, 0, 960, 540));
    let bars_right = screen.luma(shots, (1920, 0, 960, 540));

    oscsend(PORT, "/somnia/outputs/test_card", "T", &[]);
    wait_for(&play, "the test card", || {
        let card = screen.luma(shots, (0, 0, 960, 540));
        (card - bars).abs() > 30.0 && screen.luma(shots, (1920, 0, 960, 540)) > 20.0
    });
    oscsend(PORT, "/somnia/output/left/test_card", "F", &[]);
    wait_for(&play, "the left slice again", || {
        screen.luma(shots, (60, 200, 120, 100)) > 200.0
    });

    // A half-written map (a save cut short, an editor mid-write) is refused at its place, and
    // the mapping on screen stays.
    std::fs::write(&map, &MAP[..MAP.find("flip_x").unwrap() + 6]).unwrap();
    assert!(
        play.wait_for_log("the output map does not read", Duration::from_secs(10)),
        "{}",
        play.log_text()
    );
    let log = play.log_text();
    assert!(
        log.contains("wall.toml:17:7:"),
        "file:line:col of the cut: {log}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(screen.luma(shots, (60, 200, 120, 100)) > 200.0);
    let right = screen.luma(shots, (1920, 0, 960, 540));
    assert!(
        (right - bars_right).abs() > 30.0,
        "the right output still shows its test card ({right:.0} against {bars_right:.0} for the bars)"
    );
    play.stop();
}

/// The two windows without the stream.
fn two_windows() -> &'static str {
    &MAP[..MAP.find("\n[[output]]\nname = \"stream\"").unwrap()]
}

#[test]
fn a_lost_gpu_device_rebuilds_every_output_window_with_its_calibration() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let screen = WideScreen::start();
    let dir = wall_project(two_windows());
    let map = dir.path().join("outputs/wall.toml");
    let play = LivePlay::start_with_env(
        dir.path(),
        &[
            "--outputs",
            map.to_str().unwrap(),
            "--osc-port",
            &(PORT + 1).to_string(),
            "--no-midi",
            "--no-vsync",
        ],
        &dir.path().join("performances/bars.toml"),
        &[
            ("DISPLAY", screen.display.as_str()),
            ("SOMNIA_DEBUG_LOSE_GPU_AT_S", "4"),
        ],
    );
    play.wait_until_up();
    let shots = dir.path();
    wait_for(&play, "both slices", || slices_shown(&screen, shots));
    let bars_right = screen.luma(shots, (1920, 0, 960, 540));
    // A calibration made live, before the loss: the right output's test card.
    oscsend(PORT + 1, "/somnia/output/right/test_card", "T", &[]);
    wait_for(&play, "the right output's test card", || {
        (screen.luma(shots, (1920, 0, 960, 540)) - bars_right).abs() > 30.0
    });
    assert!(
        play.wait_for_log("the picture is back", Duration::from_secs(20)),
        "the GPU side was never rebuilt:\n{}",
        play.log_text()
    );
    // Both windows draw again, the left its slice and the right still its test card.
    wait_for(&play, "the left slice after the loss", || {
        screen.luma(shots, (60, 200, 120, 100)) > 200.0
            && screen.luma(shots, (300, 200, 120, 100)) < 30.0
    });
    wait_for(&play, "the right test card after the loss", || {
        (screen.luma(shots, (1920, 0, 960, 540)) - bars_right).abs() > 30.0
    });
    play.stop();
}

#[test]
fn a_kiosk_plays_on_every_output_of_its_map() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let screen = WideScreen::start();
    let dir = wall_project(two_windows());
    std::fs::create_dir_all(dir.path().join("kiosks")).unwrap();
    let kiosk = dir.path().join("kiosks/wall.toml");
    std::fs::write(&kiosk, "[[item]]\npreset = \"bars\"\nhold_s = 600\n").unwrap();
    let map = dir.path().join("outputs/wall.toml");
    let state = dir.path().join("state");
    let play = LivePlay::kiosk_with_env(
        dir.path(),
        &[
            kiosk.to_str().unwrap(),
            "--outputs",
            map.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--no-osc",
            "--no-midi",
            "--no-vsync",
        ],
        &[("DISPLAY", screen.display.as_str())],
    );
    wait_for(&play, "the kiosk's item on both outputs", || {
        slices_shown(&screen, dir.path())
    });
    assert!(
        play.log_text().contains("2 output window(s)"),
        "{}",
        play.log_text()
    );
    play.stop();
}

const CONSOLE: &str = r##"
import json, sys
sys.path.insert(0, sys.argv[2])
from cdp import Browser
url = sys.argv[1]
b = Browser()
try:
    p = b.page(url, width=1280, height=900, mobile=False)
    p.wait("!document.getElementById('outputs-box').hidden && document.querySelectorAll('#outputs li').length === 2")
    print(json.dumps({"outputs": p.eval("[...document.querySelectorAll('#outputs li')].map((l) => l.firstChild.textContent.trim())")}), flush=True)
    p.click("#cards-on")
    print("cards", flush=True)
    sys.stdin.readline()
    p.click("#cards-off")
    # Nudge the left output's top-left corner right, three times, then save.
    for _ in range(3):
        p.click('[aria-label="Move left\'s tl corner →"]')
    # The console hears the show's own account of the corner (its snapshot), then saves.
    p.wait("last && last.outputs[0].corners[0][0] === 3")
    p.click("#outputs-save")
    print("saved", flush=True)
    sys.stdin.readline()
finally:
    b.close()
"##;

#[test]
fn the_console_in_chromium_shows_the_test_cards_nudges_a_corner_and_saves_the_map() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let screen = WideScreen::start();
    let dir = wall_project(two_windows());
    let map = dir.path().join("outputs/wall.toml");
    let bind = format!("127.0.0.1:{}", free_port());
    let token = "projectionist-2026";
    let play = LivePlay::start_with_env(
        dir.path(),
        &[
            "--outputs",
            map.to_str().unwrap(),
            "--no-osc",
            "--no-midi",
            "--no-vsync",
            "--web-bind",
            &bind,
            "--console-token",
            token,
        ],
        &dir.path().join("performances/bars.toml"),
        &[("DISPLAY", screen.display.as_str())],
    );
    play.wait_until_up();
    let shots = dir.path();
    wait_for(&play, "both slices", || slices_shown(&screen, shots));
    let bars = screen.luma(shots, (0, 0, 960, 540));
    let browser = repo().join("tests/browser").display().to_string();
    let url = format!("http://{bind}/console?token={token}");
    let mut console = Script::start(CONSOLE, &[url.as_str(), browser.as_str()]);
    console.until("cards");
    assert_eq!(
        console.json("outputs"),
        serde_json::json!(["left (960×540)", "right (960×540)"])
    );
    wait_for(&play, "the test cards from the console", || {
        (screen.luma(shots, (0, 0, 960, 540)) - bars).abs() > 30.0
    });
    console.go_on();
    console.until("saved");
    // The save is written whole, with the file as it was kept in backups/.
    let until = Instant::now() + Duration::from_secs(10);
    let saved = loop {
        let text = std::fs::read_to_string(&map).unwrap();
        if text.contains("corners") || Instant::now() > until {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let back = somnia::show::outputs::parse_outputs(&map, &saved).unwrap();
    assert_eq!(
        back.outputs[0].corners[0],
        [3.0, 0.0],
        "three nudges right:\n{saved}"
    );
    assert!(
        saved.starts_with("# Two outputs on one wide screen."),
        "comments kept:\n{saved}"
    );
    let backups: Vec<_> = std::fs::read_dir(dir.path().join("outputs/backups"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read_to_string(backups[0].path()).unwrap(),
        two_windows()
    );
    console.go_on();
    console.finish();
    play.stop();
}
