//! `somnia kiosk` through the real binary, under Xvfb and the PulseAudio null sink: a playlist
//! with a broken performance and a preset whose shader fails plays on, passing over both (and
//! saying so in the log and on `/health`), the picture never black for longer than the fade;
//! killed outright mid-item it starts again on the same item; no single key ends it, the chord
//! does; under
//! systemd it says READY with its first frame, names each item, feeds the watchdog only while
//! it runs, and logs to the journal with priorities (otherwise to a file in its state folder).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

/// A project with two good looks (`warm`, `cool`), a preset whose shader does not compile
/// (`cracked`), a performance that does not parse (`torn`) and a kiosk playing all four.
fn kiosk_project(hold_s: f64) -> tempfile::TempDir {
    let dir = temp_project(&[("warm", "warm"), ("cool", "cool"), ("warm", "cracked")]);
    let root = dir.path();
    std::fs::write(
        root.join("shaders/cracked.wgsl"),
        "@fragment\nfn fs_main(in: VsOut) -> @location(0) vec4<f32> {\n    return vec4<f32>(undefined_thing, 1.0);\n}\n",
    )
    .unwrap();
    let cracked = std::fs::read_to_string(root.join("presets/cracked.toml"))
        .unwrap()
        .replace("tint.wgsl", "cracked.wgsl");
    std::fs::write(root.join("presets/cracked.toml"), cracked).unwrap();
    std::fs::write(
        root.join("performances/torn.toml"),
        "title = \"Torn\n[[cue]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("kiosks")).unwrap();
    std::fs::write(
        root.join("kiosks/test.toml"),
        format!(
            "title = \"Test kiosk\"\norder = \"in-order\"\nfade_s = 1\nhold_s = {hold_s}\n\
             [[item]]\nperformance = \"torn\"\n[[item]]\npreset = \"warm\"\n\
             [[item]]\npreset = \"cracked\"\n[[item]]\npreset = \"cool\"\n"
        ),
    )
    .unwrap();
    dir
}

fn start(root: &Path, extra: &[&str]) -> LivePlay {
    let kiosk = root.join("kiosks/test.toml");
    let state = root.join("state");
    let mut args = vec![
        kiosk.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--windowed",
        "--size",
        "160x90",
        "--no-osc",
        "--no-midi",
    ];
    args.extend_from_slice(extra);
    LivePlay::kiosk(root, &args)
}

/// The window's mean brightness, 0..255.
fn brightness(path: &Path) -> f64 {
    let img = window_shot(path);
    let t = thumbnail(&img.rgb, img.width, img.height, 8, 5);
    t.iter().map(|p| (p[0] + p[1] + p[2]) / 3.0).sum::<f64>() / t.len() as f64
}

#[test]
fn a_kiosk_passes_over_broken_items_and_is_never_black_for_longer_than_its_fade() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = kiosk_project(2.0);
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let kiosk = start(dir.path(), &["--web-bind", &bind]);
    kiosk.wait_until_up();
    // Shots every 200 ms for two rounds of the playlist; the longest dark run is measured.
    let (mut dark_since, mut longest_dark_s) = (None::<Instant>, 0.0f64);
    let until = Instant::now() + Duration::from_secs(9);
    let shot = dir.path().join("shot.png");
    while Instant::now() < until {
        let b = brightness(&shot);
        let now = Instant::now();
        match (b < 8.0, dark_since) {
            (true, None) => dark_since = Some(now),
            (false, Some(t)) => {
                longest_dark_s = longest_dark_s.max(now.duration_since(t).as_secs_f64());
                dark_since = None;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let h = health(([127, 0, 0, 1], port).into()).unwrap();
    let log = kiosk.stop();
    assert!(
        log.contains("performance `torn` cannot play")
            && log.contains("preset `cracked` cannot play"),
        "both broken items are reported:\n{log}"
    );
    assert!(
        log.contains("now warm (item 2)") && log.contains("now cool (item 4)"),
        "{log}"
    );
    assert!(
        !log.contains("now cracked") && !log.contains("now Torn"),
        "{log}"
    );
    let quarantined = h["quarantined"].as_array().unwrap();
    assert_eq!(quarantined.len(), 2, "{h}");
    // The kiosk's own meter (every presented frame, measured on the GPU) agrees: no black frame.
    assert_eq!(h["picture"]["black_frames_longest"], 0, "{h}");
    assert!(h["picture"]["luminance"].as_f64().unwrap() > 0.01, "{h}");
    assert!(
        h["gpu_memory"]["allocated_bytes"].as_u64().unwrap() > 0,
        "{h}"
    );
    assert!(
        longest_dark_s <= 1.0 + 0.4,
        "the picture was dark for {longest_dark_s:.1} s (the fade is 1 s):\n{log}"
    );
    report(
        "kiosk",
        &format!("broken items passed over; longest dark stretch {longest_dark_s:.1} s"),
    );
}

#[test]
fn killed_outright_mid_item_a_kiosk_starts_again_on_the_same_item_and_only_its_chord_ends_it() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = kiosk_project(30.0);
    let mut first = start(dir.path(), &[]);
    first.wait_until_up();
    assert!(
        first.wait_for_log("now warm (item 2)", Duration::from_secs(10)),
        "{}",
        first.log_text()
    );
    // Let the state file catch up with a second or two of the item, then kill it outright.
    std::thread::sleep(Duration::from_millis(2500));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let place: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("state/place.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(place["item"], 1, "{place}");
    let second = start(dir.path(), &[]);
    second.wait_until_up();
    let log = second.log_text();
    assert!(
        log.contains("carrying on with `warm`") && log.contains("now warm (item 2)"),
        "{log}"
    );
    // Escape, Space, q and Alt+F4 are a visitor's; only the chord ends it.
    for key in ["Escape", "space", "q", "alt+F4"] {
        press(key);
    }
    std::thread::sleep(Duration::from_millis(800));
    let mut second = second;
    assert!(
        matches!(second.child.try_wait(), Ok(None)),
        "a single key ended the kiosk:\n{}",
        second.log_text()
    );
    // The chord, held down as a person would, ends it cleanly.
    let window = || {
        std::process::Command::new("xdotool")
            .args(["search", "--name", "Somnia", "windowfocus"])
            .status()
            .unwrap()
    };
    assert!(window().success());
    let xdotool = |how: &str| {
        std::process::Command::new("xdotool")
            .args([how, "ctrl+alt+shift+q"])
            .status()
            .unwrap()
            .success()
    };
    assert!(xdotool("keydown"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(xdotool("keyup"));
    let until = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match second.child.try_wait().unwrap() {
            Some(s) => break s,
            None if Instant::now() < until => std::thread::sleep(Duration::from_millis(100)),
            None => panic!("the chord did not end the kiosk:\n{}", second.log_text()),
        }
    };
    let log = second.log_text();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("ctrl+alt+shift+q pressed; the show ends"),
        "{log}"
    );
    // Both runs are in the state folder's log, each line stamped with its UTC time and level.
    let file = std::fs::read_to_string(dir.path().join("state/somnia.log")).unwrap();
    let item_lines: Vec<&str> = file
        .lines()
        .filter(|l| l.ends_with("INFO somnia kiosk: now warm (item 2)"))
        .collect();
    assert_eq!(item_lines.len(), 2, "{file}");
    for line in item_lines {
        let stamp = line.split_whitespace().next().unwrap();
        assert!(
            stamp.len() >= 20 && stamp.starts_with("20") && stamp.ends_with('Z'),
            "{line}"
        );
    }
    assert!(
        file.contains("ERROR ") && file.contains("WARN somnia kiosk: "),
        "{file}"
    );
}

#[test]
fn under_systemd_a_kiosk_is_ready_with_its_first_frame_names_each_item_pings_only_while_running_and_logs_to_the_journal()
 {
    use std::os::unix::fs::MetadataExt;
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = kiosk_project(3.0);
    let root = dir.path();
    let socket_path = root.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    // Our stderr file stands in for the journal's stream: systemd names it in JOURNAL_STREAM.
    let log = root.join("journal.txt");
    let stderr = std::fs::File::create(&log).unwrap();
    let stream = stderr.metadata().unwrap();
    let mut child = somnia()
        .arg("kiosk")
        .arg(root.join("kiosks/test.toml"))
        .args(["--state-dir"])
        .arg(root.join("state"))
        .args(["--windowed", "--size", "160x90", "--no-osc", "--no-midi"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1000000")
        .env_remove("WATCHDOG_PID")
        .env(
            "JOURNAL_STREAM",
            format!("{}:{}", stream.dev(), stream.ino()),
        )
        .stderr(std::process::Stdio::from(stderr))
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let signal = |sig: &str| {
        assert!(
            std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        )
    };

    // READY=1 with the first frame, naming the first item that plays (the first is broken).
    let mut said = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until && !said.iter().any(|m| m == "READY=1") {
        said.extend(notify_messages(&sock, 0.2));
    }
    assert!(
        said.iter().any(|m| m == "READY=1"),
        "no READY=1:\n{}",
        log_text()
    );
    assert!(log_text().contains("the picture is up"), "{}", log_text());
    assert!(
        said.iter().any(|m| m == "STATUS=playing warm (item 2)"),
        "{said:?}"
    );

    // Fed every half second while it plays; the next good item is named when it comes.
    let playing = notify_messages(&sock, 3.0);
    assert!((4..=8).contains(&watchdog_pings(&playing)), "{playing:?}");
    let mut later = playing;
    later.extend(notify_messages(&sock, 2.0));
    assert!(
        later.iter().any(|m| m == "STATUS=playing cool (item 4)"),
        "{later:?}\n{}",
        log_text()
    );

    // A stopped process stops the pings; continued, it feeds the watchdog again.
    signal("-STOP");
    notify_messages(&sock, 0.3);
    let stopped = watchdog_pings(&notify_messages(&sock, 2.0));
    signal("-CONT");
    assert_eq!(stopped, 0, "pings while the process was stopped");
    let resumed = watchdog_pings(&notify_messages(&sock, 2.0));
    assert!(resumed >= 2, "{resumed} pings in 2 s after it continued");

    signal("-INT");
    assert!(child.wait().unwrap().success(), "{}", log_text());
    assert!(
        notify_messages(&sock, 0.5)
            .iter()
            .any(|m| m == "STOPPING=1"),
        "no STOPPING=1"
    );
    // The journal gets each line with its priority (and stamps the time itself); no log file
    // is written beside it.
    let journal = log_text();
    assert!(
        journal.contains("<6>somnia kiosk: now warm (item 2)"),
        "{journal}"
    );
    assert!(
        journal.contains("<3>") && journal.contains("<4>somnia kiosk: "),
        "{journal}"
    );
    assert!(
        journal
            .lines()
            .filter(|l| l.contains("somnia"))
            .all(|l| l.starts_with('<')),
        "a line without its priority:\n{journal}"
    );
    assert!(!root.join("state/somnia.log").exists());
}

#[test]
fn a_closed_kiosk_shows_its_black_look_and_health_counts_the_black_frames() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = kiosk_project(2.0);
    // Open only on the day after tomorrow (UTC), so it is closed now.
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    // 1970-01-01 was a Thursday.
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][((days + 2 + 3) % 7) as usize];
    let file = dir.path().join("kiosks/test.toml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&format!(
        "[schedule]\ntimezone = \"UTC\"\nclosed = \"black\"\n\
         [[schedule.open]]\ndays = [\"{day}\"]\nfrom = \"10:00\"\nto = \"11:00\"\n"
    ));
    std::fs::write(&file, text).unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let kiosk = start(dir.path(), &["--web-bind", &bind]);
    kiosk.wait_until_up();
    std::thread::sleep(Duration::from_secs(2));
    let shot = dir.path().join("shot.png");
    let seen = brightness(&shot);
    let h = health(([127, 0, 0, 1], port).into()).unwrap();
    let log = kiosk.stop();
    assert!(log.contains("now closed"), "{log}");
    assert!(
        seen < 2.0,
        "the closed look is not black: brightness {seen:.1}"
    );
    let now = h["picture"]["black_frames_now"].as_u64().unwrap();
    assert!(now >= 30, "{now} black frames in 2 s: {h}");
    assert_eq!(
        h["picture"]["black_frames_longest"].as_u64().unwrap(),
        now,
        "{h}"
    );
    assert!(h["next_change"].as_str().unwrap().contains("10:00"), "{h}");
}
