//! The audience page through real phones' protocol: python's `websockets` (a client nobody here
//! wrote) joins `somnia play` under Xvfb. Three phones agree and take dreamers 1 to 3; phone 1's
//! touch pad turns its red tile magenta and phone 2's energy turns its green tile yellow (seen
//! in the window); phone 1 leaves and its tile fades to the black below. (The flat preset's
//! parameters are b, g, r in that order: the pad moves b and g, the energy r.) Garbage, binary,
//! out-of-range and oversized messages are refused and the show plays on.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// The phones: joins, steers, says `steered`, waits for a line on stdin, leaves, says `left`,
/// then misbehaves and says `done`. Each server answer is printed as it comes, one JSON a line.
const PHONES: &str = r#"
import json, sys
from websockets.sync.client import connect
url = sys.argv[1]
def answer(ws, kind=None):
    while True:
        m = json.loads(ws.recv(timeout=10))
        if kind is None or m["t"] == kind:
            return m
phones = [connect(url) for _ in range(3)]
for p in phones:
    p.send(json.dumps({"t": "agree"}))
    print(json.dumps(answer(p)), flush=True)
a, b, c = phones
a.send(json.dumps({"t": "pad", "x": 1, "y": 0}))
b.send(json.dumps({"t": "energy", "v": 1}))
c.send(json.dumps({"t": "choice", "c": 2}))
# How the crowd feels, once it has heard all three (the first may be from before).
feel = answer(a, "feel")
while feel["size"] != 3:
    feel = answer(a, "feel")
print(json.dumps(feel), flush=True)
print("steered", flush=True)
sys.stdin.readline()
a.send(json.dumps({"t": "leave"}))
print(json.dumps(answer(a, "left")), flush=True)
print("left", flush=True)
sys.stdin.readline()
b.send("{{{ not json")
b.send(b"\x00\x01binary")
b.send(json.dumps({"t": "pad", "x": float("nan"), "y": 0}).replace("NaN", "1e999"))
import time
from websockets.exceptions import ConnectionClosed
closed = False
try:
    c.send("x" * 5000)
    end = time.time() + 5
    while time.time() < end:
        try:
            c.recv(timeout=1)
        except TimeoutError:
            pass
except ConnectionClosed:
    closed = True
print("oversized: closed" if closed else "oversized: still open", flush=True)
b.send(json.dumps({"t": "energy", "v": 0.5}))
print(json.dumps(answer(b, "feel")), flush=True)
print("done", flush=True)
"#;

#[test]
fn phones_take_dreamer_slots_steer_their_tiles_and_one_that_leaves_fades_out() {
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

    // The page itself: one document, its words in it, small.
    let (head, page) = http_get(([127, 0, 0, 1], port).into(), "/join").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/html"), "{head}");
    assert!(page.contains("Nothing is stored"), "{page}");
    assert!(page.len() < 100_000, "{} bytes", page.len());

    let (red, magenta, yellow) = ([255, 0, 0], [255, 0, 255], [255, 255, 0]);
    let before = dir.path().join("before.png");
    screenshot(&before);

    let mut phones = Script::start(PHONES, &[format!("ws://{bind}/join/ws")]);
    phones.until("steered");
    // Wait for the tiles to turn: phone 1's red to magenta, phone 2's green to yellow.
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
    // The leave fades over 2 s.
    std::thread::sleep(Duration::from_millis(2500));
    let after = dir.path().join("after.png");
    screenshot(&after);
    phones.go_on();
    phones.until("done");
    let health = health(([127, 0, 0, 1], port).into());
    let log = play.stop();
    let said = phones.wait();

    let json = |i: usize| serde_json::from_str::<serde_json::Value>(&said[i]).unwrap();
    assert_eq!(json(0)["t"], "dreamer", "{said:?}");
    assert_eq!(json(0)["slot"], 0);
    assert_eq!(json(1)["slot"], 1);
    assert_eq!(json(0)["token"].as_str().unwrap().len(), 32);
    assert_ne!(json(0)["colour_name"], json(1)["colour_name"]);
    // Four dreamer slots, so the third phone is a dreamer too.
    assert_eq!(json(2)["slot"], 2, "{said:?}");
    assert_eq!(json(3)["t"], "feel");
    assert_eq!(json(3)["size"], 3);
    assert!(said.iter().any(|l| l.contains("\"left\"")), "{said:?}");
    assert!(said.iter().any(|l| l == "oversized: closed"), "{said:?}");

    let red_before = pixels_near(&before, red);
    assert!(
        red_before > 2_000,
        "dreamer 1 starts red: {red_before}\n{log}"
    );
    assert!(
        pixels_near(&steered, red) < red_before / 20 && pixels_near(&steered, magenta) > 2_000,
        "phone 1's pad turned its tile magenta: red {}, magenta {}",
        pixels_near(&steered, red),
        pixels_near(&steered, magenta)
    );
    assert!(
        pixels_near(&steered, yellow) > 2_000,
        "phone 2's energy made yellow"
    );
    assert!(
        pixels_near(&after, magenta) < pixels_near(&steered, magenta) / 20,
        "phone 1 left and its magenta tile faded: {} then {}",
        pixels_near(&steered, magenta),
        pixels_near(&after, magenta)
    );
    assert!(pixels_near(&after, yellow) > 2_000, "phone 2 stays");
    let health = health.expect("the show still answers after the garbage");
    assert_eq!(health["status"], "ok", "{health}");
}

/// Three phones: join (two dreamers, then the crowd), all full of energy and of one mind, say
/// `together`; wait for a line; then three minds, say `apart`.
const CROWD: &str = r#"
import json, sys
from websockets.sync.client import connect
url = sys.argv[1]
def feel(ws, want):
    while True:
        m = json.loads(ws.recv(timeout=10))
        if m["t"] == "feel" and want(m):
            return m
phones = [connect(url) for _ in range(3)]
for p in phones:
    p.send(json.dumps({"t": "agree"}))
    print(ws := p.recv(timeout=10), flush=True)
for p in phones:
    p.send(json.dumps({"t": "energy", "v": 1}))
    p.send(json.dumps({"t": "choice", "c": 1}))
print(json.dumps(feel(phones[0], lambda m: m["size"] == 3 and m["agreement"] == 1 and m["energy"] == 1)), flush=True)
print("together", flush=True)
sys.stdin.readline()
for c, p in enumerate(phones):
    p.send(json.dumps({"t": "choice", "c": c}))
print(json.dumps(feel(phones[0], lambda m: m["agreement"] < 0.5)), flush=True)
print("apart", flush=True)
sys.stdin.readline()
"#;

#[test]
fn the_crowds_energy_reaches_the_shaders_and_its_agreement_brings_the_tiles_together() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let journal = dir.path().join("crowd.somnia-journal");
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "320x180",
            "--no-osc",
            "--web-bind",
            &bind,
            "--journal",
            journal.to_str().unwrap(),
        ],
        &fixture("performances/mosaic-crowd.toml"),
    );
    play.wait_until_up();
    let (red, blue) = ([255, 0, 0], [0, 0, 255]);
    let shot = |name: &str| {
        let path = dir.path().join(name);
        screenshot(&path);
        path
    };
    // Waits (up to 5 s) for a screenshot that `ok` accepts; the last one taken.
    let shot_until = |name: &str, ok: &dyn Fn(&std::path::Path) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let path = shot(name);
            if ok(&path) || Instant::now() > deadline {
                return path;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let before = shot("before.png");
    let half = 320 * 180 / 2;

    let mut phones = Script::start(CROWD, &[format!("ws://{bind}/join/ws")]);
    phones.until("together");
    let together = shot_until("together.png", &|p| pixels_near(p, blue) > 40_000);
    phones.go_on();
    phones.until("apart");
    let apart = shot_until("apart.png", &|p| pixels_near(p, blue) < half * 11 / 10);
    phones.go_on();
    let log = play.stop();
    let said = phones.wait();

    assert!(
        said[2].contains("\"crowd\""),
        "the third phone is the crowd: {said:?}"
    );
    let (red_before, blue_before) = (pixels_near(&before, red), pixels_near(&before, blue));
    assert!(
        red_before > half * 9 / 10 && blue_before == 0,
        "no one agrees yet: two tiles, red and (no energy) black: red {red_before}, blue {blue_before}\n{log}"
    );
    let (red_together, blue_together) = (pixels_near(&together, red), pixels_near(&together, blue));
    assert!(
        red_together < 500 && blue_together > 2 * half * 9 / 10,
        "of one mind, the tiles merged under the blue layer, bright with their energy: red {red_together}, blue {blue_together}"
    );
    // A third agree: the unity is a third, so the red tile shows again, mixed a little with
    // the merged blue.
    let reddish = |shot: &std::path::Path| {
        let img = read_png(shot);
        img.rgb
            .chunks(3)
            .filter(|p| p[0] > 120 && u16::from(p[0]) > 2 * u16::from(p[2]) && p[1] < 40)
            .count()
    };
    let (red_apart, blue_apart) = (reddish(&apart), pixels_near(&apart, blue));
    assert!(
        red_apart > half * 9 / 10 && blue_apart < half * 11 / 10,
        "of three minds, the tiles came apart again, the red one showing: red {red_apart}, blue {blue_apart}"
    );

    // Drawn again from the journal (the crowd's figures as the shaders had them): the tiles
    // merge in blue, then come apart, as on the screen.
    let again = dir.path().join("again");
    let o = somnia()
        .args(["render", "--no-mp4", "--fps", "5", "--journal"])
        .arg(&journal)
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut frames: Vec<_> = std::fs::read_dir(again.join("frames"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    frames.sort();
    let merged = frames
        .iter()
        .position(|f| pixels_near(f, blue) > 2 * half * 9 / 10 && pixels_near(f, red) < 500);
    let parted = merged.and_then(|m| {
        frames[m..]
            .iter()
            .position(|f| reddish(f) > half * 9 / 10 && pixels_near(f, blue) < half * 11 / 10)
            .map(|k| m + k)
    });
    let story: Vec<(usize, usize)> = frames
        .iter()
        .map(|f| (pixels_near(f, red), pixels_near(f, blue)))
        .collect();
    assert!(
        merged.is_some() && parted.is_some(),
        "the journal's frames (red, blue pixels at 5 fps): {story:?}"
    );
    report(
        "measured",
        &format!(
            "the crowd drawn again from the journal: merged in frame {} and apart again in frame {} of {} (5 fps)",
            merged.unwrap(),
            parted.unwrap(),
            frames.len()
        ),
    );
}
