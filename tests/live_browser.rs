//! The web pages in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol by tests/browser/cdp.py with real mouse and key events, against `somnia play` under
//! Xvfb. Two phones join from the audience page and steer their tiles (seen in the window), one
//! leaves and fades; the operator's console fires GO (heard in the recording), moves a fader
//! (seen) and cuts to a preset by its thumbnail (seen). Both pages pass axe-core's audit with no
//! serious or critical violation, and the audience page's transfer size is measured.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// The Chromium driver (`tests/browser/cdp.py`) running `script` at `url`, with axe-core at
/// hand for the accessibility audits.
fn driver(script: &str, url: &str) -> Script {
    let axe = std::process::Command::new("bash")
        .arg(repo().join("scripts/ensure-axe.sh"))
        .output()
        .expect("scripts/ensure-axe.sh runs");
    assert!(axe.status.success(), "axe-core: {axe:?}");
    let axe = String::from_utf8(axe.stdout).unwrap().trim().to_string();
    let browser = repo().join("tests/browser").display().to_string();
    Script::start(script, &[url, browser.as_str(), axe.as_str()])
}

const PHONES: &str = r##"
import json, sys
sys.path.insert(0, sys.argv[2])
from cdp import Browser
url, axe = sys.argv[1], sys.argv[3]
b = Browser()
try:
    a, c = b.page(url), b.page(url)
    print(json.dumps({"bytes": a.transfer_bytes()}), flush=True)
    print(json.dumps({"axe_consent": a.axe(axe)}), flush=True)
    for p in (a, c):
        p.click("#agree")
    for p in (a, c):
        p.wait("!document.getElementById('dream').hidden && document.getElementById('who-text').textContent.length > 0")
    print(json.dumps({"who": [p.eval("document.getElementById('who-text').textContent") for p in (a, c)]}), flush=True)
    print(json.dumps({"axe_joined": c.axe(axe)}), flush=True)
    # Phone 1 touches its pad near the bottom-right corner (x 0.97, y 0.03: inside the rounded
    # corner); phone 2 turns its energy up.
    a.click("#pad", 0.97, 0.97)
    c.key("#energy", "End", "End", 35)
    print(json.dumps({"pad": a.eval("[document.getElementById('x').value, document.getElementById('y').value]"), "energy": c.eval("document.getElementById('energy').value")}), flush=True)
    print("steered", flush=True)
    sys.stdin.readline()
    a.click("#leave")
    a.wait("!document.getElementById('after').hidden")
    print("left", flush=True)
    sys.stdin.readline()
finally:
    b.close()
"##;

#[test]
fn two_phones_in_chromium_join_steer_their_tiles_and_one_that_leaves_fades() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let play = LivePlay::start(
        dir.path(),
        &["--size", "320x180", "--no-osc", "--web-bind", &bind],
        &fixture("performances/mosaic-live.toml"),
    );
    play.wait_until_up();
    let (red, magenta, yellow) = ([255, 0, 0], [255, 0, 255], [255, 255, 0]);
    let before = dir.path().join("before.png");
    screenshot(&before);

    let mut phones = driver(PHONES, &format!("http://{bind}/join"));
    phones.until("steered");
    let steered = dir.path().join("steered.png");
    let deadline = Instant::now() + Duration::from_secs(5);
    while {
        screenshot(&steered);
        (pixels_near(&steered, magenta) < 2_000 || pixels_near(&steered, yellow) < 2_000)
            && Instant::now() < deadline
    } {
        std::thread::sleep(Duration::from_millis(200));
    }
    phones.go_on();
    phones.until("left");
    std::thread::sleep(Duration::from_millis(2500));
    let after = dir.path().join("after.png");
    screenshot(&after);
    let log = play.stop();
    let bytes = phones.json("bytes").as_u64().unwrap();
    let who = phones.json("who");
    let axe = [phones.json("axe_consent"), phones.json("axe_joined")];
    eprintln!("the phones said: {:?}", phones.said);
    phones.finish();

    report(
        "measured",
        &format!("the audience page took {bytes} bytes on the wire in Chromium"),
    );
    assert!(bytes > 0 && bytes < 100_000, "{bytes} bytes");
    for a in &axe {
        assert_eq!(
            a,
            &serde_json::json!([]),
            "axe-core: serious or critical violations"
        );
    }
    let who: Vec<&str> = who
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        who[0].contains('1') && who[1].contains('2'),
        "each phone is told its dreamer: {who:?}"
    );
    let red_before = pixels_near(&before, red);
    assert!(red_before > 2_000, "dreamer 1 starts red\n{log}");
    assert!(
        pixels_near(&steered, magenta) > 2_000 && pixels_near(&steered, red) < red_before / 20,
        "phone 1's touch turned its tile magenta"
    );
    assert!(
        pixels_near(&steered, yellow) > 2_000,
        "phone 2's energy made its tile yellow"
    );
    assert!(
        pixels_near(&after, magenta) < pixels_near(&steered, magenta) / 20,
        "phone 1 left and its tile faded"
    );
    assert!(pixels_near(&after, yellow) > 2_000, "phone 2 stays");
}

const CONSOLE: &str = r##"
import json, sys
sys.path.insert(0, sys.argv[2])
from cdp import Browser
from websockets.sync.client import connect
url, axe = sys.argv[1], sys.argv[3]
# A wrong token is refused, at the socket as at the page.
try:
    connect(url.replace("http://", "ws://").split("/console")[0] + "/console/ws?token=x", open_timeout=5)
    print(json.dumps({"wrong_token": "accepted"}), flush=True)
except Exception as e:
    print(json.dumps({"wrong_token": str(e)}), flush=True)
# Hostile commands on the right token: each refused and counted, the console still answers.
ws = connect(url.replace("http://", "ws://").replace("/console?", "/console/ws?"), open_timeout=5)
for bad in ["{{{", '{"t":"param","name":"r","value":1e999}',
            json.dumps({"t": "preset", "name": "../../etc/passwd"}), json.dumps({"t": "cue", "n": 99}),
            json.dumps({"t": "rm", "path": "/"}), b"\x00binary"]:
    ws.send(bad)
hostile = json.loads(ws.recv(timeout=5))["t"]
try:
    ws.send("x" * 5000)
    while True:
        ws.recv(timeout=5)
except Exception as e:
    oversized = type(e).__name__
print(json.dumps({"hostile": hostile, "oversized": oversized}), flush=True)
b = Browser()
try:
    p = b.page(url, width=1280, height=900, mobile=False)
    # Connected, the cue list in, the thumbnails drawn (the fixture project has six presets).
    p.wait("document.getElementById('status').textContent === 'connected' && document.getElementById('cue-2') !== null", 15)
    p.wait("document.querySelectorAll('#presets img').length >= 6", 30)
    print(json.dumps({"address_bar": p.eval("location.href")}), flush=True)
    print(json.dumps({"axe": p.axe(axe)}), flush=True)
    # Past the cue's planned time (3 s): it waits for GO.
    p.wait("(() => { const [m, s] = document.getElementById('time').textContent.split(':'); return 60 * m + +s > 4; })()", 15)
    p.click("#go")
    print("go", flush=True)
    sys.stdin.readline()
    p.key("#param-r", "End", "End", 35)
    print("fader", flush=True)
    sys.stdin.readline()
    p.eval("document.getElementById('fade').value = '0'")
    n = p.eval("[...document.querySelectorAll('#presets button')].findIndex(b => b.textContent.trim() === 'cool')")
    p.click(f"#preset-{n}")
    p.wait(f"document.getElementById('preset-{n}').getAttribute('aria-pressed') === 'true'")
    print("preset", flush=True)
    sys.stdin.readline()
finally:
    b.close()
"##;

#[test]
fn the_console_in_chromium_fires_go_moves_a_fader_and_cuts_to_a_preset_by_its_thumbnail() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let token = "stage-left-2026";
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "320x180",
            "--no-osc",
            "--web-bind",
            &bind,
            "--console-token",
            token,
        ],
        &fixture("performances/console.toml"),
    );
    play.wait_until_up();
    let addr: std::net::SocketAddr = bind.parse().unwrap();
    let (refused, _) = http_get(addr, "/console?token=wrong").unwrap();
    let (no_token, _) = http_get(addr, "/console").unwrap();

    let mut console = driver(CONSOLE, &format!("http://{bind}/console?token={token}"));
    console.until("go");
    std::thread::sleep(Duration::from_millis(1500));
    console.go_on();
    console.until("fader");
    let red = dir.path().join("red.png");
    let deadline = Instant::now() + Duration::from_secs(5);
    while {
        screenshot(&red);
        pixels_near(&red, [255, 0, 0]) < 320 * 180 * 9 / 10 && Instant::now() < deadline
    } {
        std::thread::sleep(Duration::from_millis(200));
    }
    console.go_on();
    console.until("preset");
    std::thread::sleep(Duration::from_millis(500));
    let cool = dir.path().join("cool.png");
    screenshot(&cool);
    let health = health(addr).expect("/health answers");
    let log = play.stop();
    std::thread::sleep(Duration::from_millis(200));
    stop_with_sigint(&mut parec);
    let wrong = console.json("wrong_token");
    assert_eq!(
        console.json("hostile"),
        "state",
        "the console answers after hostile commands"
    );
    assert_eq!(
        console.json("oversized"),
        "ConnectionClosedError",
        "an oversized frame closes the socket"
    );
    let counted = &health["console"];
    assert!(
        counted["malformed"].as_u64() >= Some(6) && counted["refused_tokens"].as_u64() >= Some(3),
        "refused and counted: {counted}"
    );
    let address_bar = console.json("address_bar");
    let axe = console.json("axe");
    eprintln!("the console said: {:?}", console.said);
    console.finish();

    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(no_token.starts_with("HTTP/1.1 401"), "{no_token}");
    assert!(
        wrong.as_str().unwrap().contains("401"),
        "the socket refuses a wrong token: {wrong}"
    );
    assert!(
        !address_bar.as_str().unwrap().contains(token),
        "the token leaves the address bar: {address_bar}"
    );
    assert_eq!(
        axe,
        serde_json::json!([]),
        "axe-core: serious or critical violations"
    );
    // GO: logged, and A4 heard where the log puts it (C3 at 0.5 s places the show clock).
    let go_s: f64 = log
        .lines()
        .find_map(|l| {
            l.strip_prefix("somnia: GO cue 2 ")?
                .rsplit(" at ")
                .next()?
                .strip_suffix(" s")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no GO in the log:\n{log}"));
    let mono = read_wav(&rec).mono();
    let a4_s = onset_s(&mono, note_hz(69)) - onset_s(&mono, note_hz(48)) + 0.5;
    assert!(
        go_s > 4.0 && (a4_s - go_s).abs() < 0.25,
        "the console's GO at {go_s:.3} s; A4 heard at {a4_s:.3} s of the show"
    );
    assert!(
        pixels_near(&red, [255, 0, 0]) > 320 * 180 * 9 / 10,
        "the console's fader turned the flat preset red"
    );
    assert!(
        pixels_near(&cool, [255, 0, 0]) < 1_000,
        "the console cut to `cool`: the red is gone"
    );
}

const SYNC: &str = r##"
import json, sys
sys.path.insert(0, sys.argv[2])
from cdp import Browser
b = Browser()
try:
    p = b.page(sys.argv[1], width=1280, height=900, mobile=False)
    text = "document.getElementById('sync').textContent"
    p.wait(text + ".includes('ltc in')")
    print(json.dumps({"waiting": p.eval(text), "heading": p.eval("document.getElementById('h-sync').textContent")}), flush=True)
    print("ready", flush=True)
    # Locked, and the offset measured (none in the moment after the locate).
    p.wait(text + ".includes('locked, ')", timeout=20)
    print(json.dumps({"locked": p.eval(text)}), flush=True)
    p.wait(text + ".includes('lost')", timeout=20)
    print(json.dumps({"lost": p.eval(text)}), flush=True)
finally:
    b.close()
"##;

#[test]
fn the_consoles_sync_section_shows_ltc_in_locked_with_its_offset_and_then_lost() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    // A sink of the test's own, whose monitor is the show's input: libltc's timecode goes in.
    let sink = NullSink::new(&format!("console_ltc_{}", std::process::id()), 1);
    let raw = dir.path().join("ltc.raw");
    libltc_encode("25", "01:00:10:00", 4.0, &raw);
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let token = "sync-desk-2026";
    let monitor = sink.monitor();
    let play = LivePlay::start_with_env(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--no-osc",
            "--no-midi",
            "--web-bind",
            &bind,
            "--console-token",
            token,
            "--chase",
            "ltc",
            "--timecode-offset",
            "01:00:00:00",
        ],
        &fixture("performances/osc.toml"),
        &[("PULSE_SOURCE", monitor.as_str())],
    );
    play.wait_until_up();
    let mut console = driver(SYNC, &format!("http://{bind}/console?token={token}"));
    console.until("ready");
    let status = sink.play(&raw).wait().unwrap();
    assert!(status.success());
    let said = console.wait();
    let log = play.stop();
    let find = |key: &str| {
        said.iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|v| v.get(key).and_then(|s| s.as_str()).map(String::from))
            .unwrap_or_else(|| panic!("no `{key}` in {said:?}\n{log}"))
    };
    assert_eq!(find("heading"), "Sync");
    // Before the timecode: the source is listed, not locked.
    let waiting = find("waiting");
    assert!(!waiting.contains("locked"), "{waiting}");
    // Locked, with the offset measured in frames (within one: the chase test's bound).
    let locked = find("locked");
    let offset: f64 = locked
        .split("ltc in: locked, ")
        .nth(1)
        .and_then(|rest| rest.split(" frames off").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no offset in `{locked}`"));
    assert!(offset.abs() <= 1.0, "{locked}");
    // Then, the timecode gone past the freewheel, lost.
    assert!(find("lost").contains("ltc in: lost"), "{said:?}");
}
