//! The join code on the picture, read by a real QR reader: `somnia play` draws the audience
//! page's address as a QR code when a cue says `join_code = true`; zbar's `zbarimg` (a reader
//! nobody here wrote) decodes a screenshot of the window to that address, and once a cue hides
//! the code, finds none.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// What zbarimg reads in `png`: its `QR-Code:...` lines' texts.
fn qr_codes(png: &std::path::Path) -> Vec<String> {
    let out = Command::new("zbarimg")
        .args(["--quiet", "-Sdisable", "-Sqrcode.enable"])
        .arg(png)
        .output()
        .expect("zbarimg runs (scripts/install-system-deps.sh installs zbar-tools)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("QR-Code:").map(str::to_string))
        .collect()
}

#[test]
fn a_cue_shows_the_join_code_and_a_qr_reader_decodes_it_to_the_audience_pages_address() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let journal = dir.path().join("join.somnia-journal");
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "640x360",
            "--no-osc",
            "--web-bind",
            &bind,
            "--journal",
            journal.to_str().unwrap(),
        ],
        &fixture("performances/join.toml"),
    );
    play.wait_until_up();
    let up = Instant::now();
    let url = format!("http://{bind}/join");

    // Shown from the start (it fades in over half a second).
    let shown = dir.path().join("shown.png");
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut read = Vec::new();
    while read.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        screenshot(&shown);
        read = qr_codes(&shown);
    }
    // The page behind the address answers.
    let (head, _) = http_get(([127, 0, 0, 1], port).into(), "/join").unwrap();
    // Hidden at 4 s of the show (which started before the picture was up).
    std::thread::sleep(Duration::from_secs(5).saturating_sub(up.elapsed()));
    let hidden = dir.path().join("hidden.png");
    screenshot(&hidden);
    let log = play.stop();

    assert_eq!(
        read,
        std::slice::from_ref(&url),
        "the code on the picture reads as the page's address\n{log}"
    );
    assert!(
        log.contains(&format!("the audience page is at {url}")),
        "the log says where the page is:\n{log}"
    );
    assert_eq!(qr_codes(&hidden), Vec::<String>::new(), "hidden at 4 s");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // Drawn again from the journal: the code reads as the same address at 2 s, and is gone
    // at 4.5 s.
    let drawn_at = |s: f64| {
        let out = dir.path().join(format!("again-{s}"));
        let o = somnia()
            .args(["render", "--no-mp4", "--fps", "2", "--journal"])
            .arg(&journal)
            .arg("--out")
            .arg(&out)
            .args(["--from", &s.to_string(), "--to", &(s + 0.5).to_string()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        qr_codes(&out.join("frames/000000.png"))
    };
    assert_eq!(drawn_at(2.0), vec![url], "the code drawn from the journal");
    assert_eq!(
        drawn_at(4.5),
        Vec::<String>::new(),
        "hidden in the journal's frames"
    );
}

#[test]
fn a_kiosk_with_join_code_shows_its_address_over_every_item_and_visitors_join_the_crowd() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = temp_project(&[("warm", "warm"), ("cool", "cool")]);
    let root = dir.path();
    let port = free_port();
    std::fs::create_dir_all(root.join("kiosks")).unwrap();
    std::fs::write(
        root.join("kiosks/test.toml"),
        format!(
            "title = \"Join kiosk\"\nhold_s = 2\nfade_s = 0.5\njoin_code = true\n\
             join_url = \"http://sanctuary.local:{port}/join\"\n\
             console_token = \"gallery-night-2026\"\n\
             [[item]]\npreset = \"warm\"\n[[item]]\npreset = \"cool\"\n"
        ),
    )
    .unwrap();
    let kiosk = root.join("kiosks/test.toml");
    let state = root.join("state");
    let bind = format!("127.0.0.1:{port}");
    let play = LivePlay::kiosk(
        root,
        &[
            kiosk.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--windowed",
            "--size",
            "640x360",
            "--no-osc",
            "--no-midi",
            "--web-bind",
            &bind,
        ],
    );
    play.wait_until_up();
    // Over one item, then over the next.
    let mut read = Vec::new();
    for name in ["first.png", "second.png"] {
        let shot = dir.path().join(name);
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut codes = Vec::new();
        while codes.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(300));
            screenshot(&shot);
            codes = qr_codes(&shot);
        }
        read.push(codes);
        std::thread::sleep(Duration::from_millis(2200));
    }
    // A visitor's phone joins the crowd (a kiosk's items come and go with their dreamers).
    let phone = Command::new(python_osc())
        .args([
            "-c",
            "import json,sys\nfrom websockets.sync.client import connect\nws=connect(sys.argv[1])\nws.send(json.dumps({'t':'agree'}))\nprint(json.loads(ws.recv(timeout=10))['t'])",
            &format!("ws://{bind}/join/ws"),
        ])
        .output()
        .unwrap();
    let addr: std::net::SocketAddr = bind.parse().unwrap();
    let (console, _) = http_get(addr, "/console?token=gallery-night-2026").unwrap();
    let log = play.stop();

    let url = format!("http://sanctuary.local:{port}/join");
    assert_eq!(
        read,
        [vec![url.clone()], vec![url.clone()]],
        "the kiosk's code reads as its join_url over both items\n{log}"
    );
    assert_eq!(String::from_utf8_lossy(&phone.stdout).trim(), "crowd");
    assert!(
        console.starts_with("HTTP/1.1 200"),
        "the kiosk file's console token opens the console: {console}"
    );
}
