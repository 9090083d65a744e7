//! `somnia kiosk` through the real binary, under Xvfb and the PulseAudio null sink: a playlist
//! with a broken performance and a preset whose shader fails plays on, passing over both (and
//! saying so in the log and on `/health`), the picture never black for longer than the fade;
//! killed outright mid-item it starts again on the same item where it was; no single key ends
//! it, the chord does; fullscreen, it keeps the screen awake, serves `/health` on loopback by
//! default and rebuilds a lost GPU; with every item broken the attract item (or the rest look)
//! plays, and a mended item comes back; its sound crossfades between items; under
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
fn killed_outright_mid_item_a_kiosk_starts_again_on_the_same_item_where_it_was_and_only_its_chord_ends_it()
 {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = kiosk_project(30.0);
    // One item that turns from red to blue 3 s in, so a screenshot tells where in it we are.
    std::fs::write(
        dir.path().join("performances/turn.toml"),
        "title = \"Turn\"\nduration = 60\npreset = \"warm\"\n[[cue]]\nat = 3\npreset = \"cool\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kiosks/test.toml"),
        "fade_s = 1\n[[item]]\nperformance = \"torn\"\n[[item]]\nperformance = \"turn\"\n",
    )
    .unwrap();
    let blue = |c: &[f64; 3]| c[2] > 40.0 && c[2] > 2.0 * c[0];
    let shot = dir.path().join("shot.png");
    let mut first = start(dir.path(), &[]);
    first.wait_until_up();
    assert!(
        first.wait_for_log("now Turn (item 2)", Duration::from_secs(10)),
        "{}",
        first.log_text()
    );
    // Past the turn to blue, and a second or two for the state file to catch up: killed.
    let rgb = shot_until(&shot, blue);
    assert!(blue(&rgb), "{rgb:?}");
    std::thread::sleep(Duration::from_millis(2000));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let place: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("state/place.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(place["item"], 1, "{place}");
    let saved_s = place["position_s"].as_f64().unwrap();
    assert!(saved_s > 3.5, "{place}");
    let second = start(dir.path(), &[]);
    second.wait_until_up();
    let log = second.log_text();
    assert!(
        log.contains(&format!("carrying on with `Turn` at {saved_s:.1} s"))
            && log.contains("now Turn (item 2)"),
        "{log}"
    );
    // Where it was: blue from its first frames, not the item's red start again.
    let rgb = window_rgb(&shot);
    assert!(blue(&rgb), "the item started over: {rgb:?}\n{log}");
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
        .filter(|l| l.ends_with("INFO somnia kiosk: now Turn (item 2)"))
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
    // In the kiosk's own time zone (UTC here), at the hour the file names.
    assert!(
        h["next_change"]
            .as_str()
            .unwrap()
            .contains("T10:00:00+00:00[UTC]"),
        "{h}"
    );
}

/// The Somnia window's mean colour, 0..255 each.
fn window_rgb(path: &Path) -> [f64; 3] {
    window_shot(path).mean_rgb()
}

/// Waits up to `within` for `text` in the kiosk's log, failing with the log.
fn expect_log(kiosk: &LivePlay, text: &str, within: Duration) {
    assert!(
        kiosk.wait_for_log(text, within),
        "no `{text}` within {within:?}:\n{}",
        kiosk.log_text()
    );
}

#[test]
fn a_fullscreen_kiosk_fills_the_screen_keeps_it_awake_serves_health_on_loopback_only_and_rebuilds_a_lost_gpu()
 {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let before_s = screensaver_timeout_s();
    assert!(before_s > 0, "the test display blanks by default");
    let dir = kiosk_project(30.0);
    let root = dir.path();
    let osc_port = free_port();
    let osc = osc_port.to_string();
    let state = root.join("state");
    let (engine_rec, journal) = (root.join("engine.wav"), root.join("day.somnia-journal"));
    // As an installation runs it: fullscreen, the web server where it is by default.
    let kiosk = LivePlay::kiosk_with_env(
        root,
        &[
            root.join("kiosks/test.toml").to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--osc-port",
            &osc,
            "--no-midi",
            "--no-vsync",
            "--record",
            engine_rec.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
        &[("SOMNIA_DEBUG_LOSE_GPU_AT_S", "6"), ("SOMNIA_WEB_BIND", "")],
    );
    kiosk.wait_until_up();
    // The screen is covered by the first item that plays (`warm`, red).
    let shot = root.join("screen.png");
    let until = Instant::now() + Duration::from_secs(5);
    let red_share = loop {
        screenshot(&shot);
        let img = read_png(&shot);
        let red = img
            .rgb
            .chunks(3)
            .filter(|p| p[0] > 40 && p[0] > 2 * p[2])
            .count() as f64
            / (img.width * img.height) as f64;
        if red > 0.9 || Instant::now() > until {
            break red;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        red_share > 0.9,
        "the kiosk covers {:.0}% of the screen",
        red_share * 100.0
    );
    assert_eq!(screensaver_timeout_s(), 0, "the screensaver is off");
    // /health by default on 127.0.0.1:9080, and only there.
    let health_at: std::net::SocketAddr = ([127, 0, 0, 1], 9080).into();
    let h = health(health_at).unwrap_or_else(|e| panic!("{e}\n{}", kiosk.log_text()));
    assert_eq!(h["playing"], "warm (item 2)", "{h}");
    assert_eq!(h["restarts"], 0, "{h}");
    // The broken first item; `cracked` is tried only when its turn comes, 30 s on.
    assert_eq!(h["quarantined"].as_array().map(Vec::len), Some(1), "{h}");
    assert!(health(([127, 0, 0, 2], 9080).into()).is_err());
    // /somnia/status says the same, after the sync sources (none here).
    let status = osc_status(osc_port);
    assert_eq!(status[25], "0", "no sync sources: {status:?}");
    assert_eq!(status[26], "0", "restarts: {status:?}");
    assert_eq!(status[27], "warm (item 2)", "{status:?}");
    assert_eq!(status[28], "", "always open: {status:?}");
    assert_eq!(status[29], "1", "{status:?}");
    assert!(status[30].starts_with("performance `torn`"), "{status:?}");
    // The GPU device is lost 6 s in: rebuilt, the picture is back within 2 s.
    expect_log(
        &kiosk,
        "the graphics device was lost",
        Duration::from_secs(20),
    );
    let lost = Instant::now();
    let back = loop {
        let rgb = window_rgb(&root.join("after.png"));
        if rgb[0] > 40.0 || lost.elapsed() > Duration::from_secs(2) {
            break rgb;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(back[0] > 40.0, "{back:?}\n{}", kiosk.log_text());
    let h = health(health_at).unwrap();
    assert_eq!(h["gpu_device_losses"], 1, "{h}");
    assert_eq!(h["playing"], "warm (item 2)", "{h}");
    kiosk.stop();
    assert_eq!(
        screensaver_timeout_s(),
        before_s,
        "the screensaver is as it was after"
    );
    // The kiosk's journal says what happened, and its sound, made again from it, is what the
    // engine played, through the GPU's rebuild.
    let timeline = somnia().arg("journal").arg(&journal).output().unwrap();
    let timeline = String::from_utf8_lossy(&timeline.stdout);
    assert!(
        timeline.contains("show      the GPU device was lost and rebuilt (1 in all)"),
        "{timeline}"
    );
    assert!(timeline.contains("somnia kiosk"), "{timeline}");
    let made = render_journal(&journal, &root.join("again"), &[]).samples;
    let played = read_wav(&engine_rec).samples;
    assert!(played.len() > 2 * 48_000 * 6, "{}", played.len());
    assert_eq!(played.len(), made.len());
    assert_eq!(
        first_difference(&played, &made),
        None,
        "the kiosk's journal does not make its sound again\n{timeline}"
    );
}

#[test]
fn with_every_item_broken_the_attract_item_plays_a_fixed_item_leaves_quarantine_and_without_either_the_rest_look_plays()
 {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = kiosk_project(2.0);
    let root = dir.path();
    std::fs::write(
        root.join("kiosks/attract.toml"),
        "fade_s = 0.5\nhold_s = 2\n[[item]]\nperformance = \"torn\"\n\
         [[item]]\npreset = \"cracked\"\n[attract]\npreset = \"cool\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("kiosks/rest.toml"),
        "[[item]]\nperformance = \"torn\"\n",
    )
    .unwrap();
    let run = |file: &str| {
        let port = free_port();
        let kiosk = LivePlay::kiosk(
            root,
            &[
                root.join("kiosks").join(file).to_str().unwrap(),
                "--state-dir",
                root.join("state").join(file).to_str().unwrap(),
                "--windowed",
                "--size",
                "160x90",
                "--no-osc",
                "--no-midi",
                "--web-bind",
                &format!("127.0.0.1:{port}"),
            ],
        );
        kiosk.wait_until_up();
        (kiosk, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
    };
    let shot = root.join("shot.png");

    // Both items are broken: the attract item (`cool`, blue) plays instead.
    let (kiosk, web) = run("attract.toml");
    expect_log(&kiosk, "now cool (attract)", Duration::from_secs(10));
    let rgb = shot_until(&shot, |c| c[2] > 40.0 && c[2] > 2.0 * c[0]);
    assert!(
        rgb[2] > 40.0 && rgb[2] > 2.0 * rgb[0],
        "not the attract item: {rgb:?}"
    );
    let h = health(web).unwrap();
    assert_eq!(h["quarantined"].as_array().map(Vec::len), Some(2), "{h}");
    // The shader is mended: at the attract item's end the preset is tried again, and plays.
    std::fs::copy(
        fixture("shaders/tint.wgsl"),
        root.join("shaders/cracked.wgsl"),
    )
    .unwrap();
    expect_log(&kiosk, "now cracked (item 2)", Duration::from_secs(10));
    assert!(
        kiosk
            .log_text()
            .contains("a quarantined item's files changed; it is tried again"),
        "{}",
        kiosk.log_text()
    );
    // `cracked` is a copy of `warm`: red.
    let rgb = shot_until(&shot, |c| c[0] > 40.0 && c[0] > 2.0 * c[2]);
    assert!(
        rgb[0] > 40.0 && rgb[0] > 2.0 * rgb[2],
        "not the mended item: {rgb:?}"
    );
    let h = health(web).unwrap();
    let quarantined = h["quarantined"].as_array().unwrap();
    assert_eq!(quarantined.len(), 1, "{h}");
    assert!(
        quarantined[0]
            .as_str()
            .unwrap()
            .starts_with("performance `torn`"),
        "{h}"
    );
    kiosk.stop();

    // Nothing can play and there is no attract item: the built-in rest look, dim but alive.
    let (kiosk, web) = run("rest.toml");
    expect_log(
        &kiosk,
        "now rest (nothing else can play)",
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_secs(2));
    let first = window_shot(&shot);
    std::thread::sleep(Duration::from_secs(2));
    let second = window_shot(&root.join("shot2.png"));
    let h = health(web).unwrap();
    kiosk.stop();
    assert_eq!(h["playing"], "rest (nothing else can play)", "{h}");
    assert_eq!(h["picture"]["black_frames_longest"], 0, "never black: {h}");
    let mean = |i: &Image| i.mean_rgb().iter().sum::<f64>() / 3.0;
    assert!(mean(&first) > 3.0, "{:?}", first.mean_rgb());
    let drift = thumb_distance(
        &thumbnail(&first.rgb, first.width, first.height, 16, 9),
        &thumbnail(&second.rgb, second.width, second.height, 16, 9),
    );
    assert!(drift > 0.05, "the rest look stands still ({drift:.3})");
}

#[test]
fn the_sound_crossfades_between_items_with_no_gap_both_notes_heard_in_the_fade() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = temp_project(&[("warm", "warm"), ("cool", "cool")]);
    let root = dir.path();
    // A held A3 for 4 s, then a held F#5 (no harmonic of A3) for 4 s, with a 1 s crossfade.
    for (name, preset, note) in [("low", "warm", "A3"), ("high", "cool", "F#5")] {
        std::fs::write(
            root.join(format!("performances/{name}.toml")),
            format!(
                "title = \"{name}\"\nduration = 4\npreset = \"{preset}\"\n\
                 [[cue]]\nat = 0\nnotes = [\"{note}\"]\nlength_s = 8\n"
            ),
        )
        .unwrap();
    }
    std::fs::create_dir_all(root.join("kiosks")).unwrap();
    std::fs::write(
        root.join("kiosks/test.toml"),
        "fade_s = 1\n[[item]]\nperformance = \"low\"\n[[item]]\nperformance = \"high\"\n",
    )
    .unwrap();
    let rec = root.join("rec.wav");
    let mut parec = start_recording(&rec);
    let rec_start = Instant::now();
    let journal = root.join("fade.somnia-journal");
    let kiosk = start(root, &["--journal", journal.to_str().unwrap()]);
    kiosk.wait_until_up();
    expect_log(&kiosk, "now high (item 2)", Duration::from_secs(15));
    let changed_s = rec_start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(3));
    let log = kiosk.stop();
    stop_with_sigint(&mut parec);
    let mono = read_wav(&rec).mono();
    let (a3, f_sharp5) = (note_hz(57), note_hz(78));
    // Where each note is heard, 50 ms windows: the low note's last, the high note's first.
    let window = 2400;
    // A note is heard in a window within 20 dB of its loudest.
    let heard = |hz: f32| -> Vec<bool> {
        let levels: Vec<f32> = mono
            .chunks(window)
            .map(|w| {
                let mut w = w.to_vec();
                w.resize(window, 0.0);
                level_near(&spectrum(&w), window, 48_000, hz)
            })
            .collect();
        let loudest = levels.iter().copied().fold(0.0, f32::max);
        levels.iter().map(|l| *l > loudest * 0.1).collect()
    };
    let (low, high) = (heard(a3), heard(f_sharp5));
    let low_last = low.iter().rposition(|h| *h).expect("the low note is heard") as f64 * 0.05;
    let high_first = high
        .iter()
        .position(|h| *h)
        .expect("the high note is heard") as f64
        * 0.05;
    assert!(
        (changed_s - 4.0..changed_s + 2.0).contains(&high_first),
        "the high note came at {high_first:.2} s, the change was logged at {changed_s:.2} s\n{log}"
    );
    // Both notes sound together for most of the fade: a crossfade, not a cut.
    let overlap_s = low_last - high_first;
    assert!(
        (0.4..=1.3).contains(&overlap_s),
        "the notes overlapped {overlap_s:.2} s (the fade is 1 s)"
    );
    // And the sound never drops out across the change.
    let quietest_db = (0..40)
        .map(|i| {
            let from = high_first - 1.0 + f64::from(i) * 0.05;
            level_db(&mono, from, from + 0.05)
        })
        .fold(f32::INFINITY, f32::min);
    let steady_db = level_db(&mono, high_first - 2.0, high_first - 1.0);
    assert!(
        quietest_db > steady_db - 12.0,
        "a gap: {quietest_db:.1} dB against {steady_db:.1} dB steady"
    );
    report(
        "kiosk",
        &format!(
            "sound crossfade: both notes heard together {overlap_s:.2} s of a 1 s fade; quietest 50 ms {:.1} dB under the steady level",
            steady_db - quietest_db
        ),
    );

    // The kiosk's picture drawn again from its journal alone (the project gone): the red
    // item, a crossfade through both, then the blue item, never black.
    let copied = tempfile::tempdir().unwrap();
    let kept = copied.path().join("fade.somnia-journal");
    std::fs::copy(&journal, &kept).unwrap();
    drop(dir);
    let o = somnia()
        .args([
            "render",
            "--no-mp4",
            "--fps",
            "10",
            "--size",
            "64x36",
            "--journal",
        ])
        .arg(&kept)
        .arg("--out")
        .arg(copied.path().join("again"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let frames = copied.path().join("again/frames");
    let mut n = std::fs::read_dir(&frames).unwrap().count();
    n = n.min(200);
    let colours: Vec<[f64; 3]> = (0..n)
        .map(|i| read_png(&frames.join(format!("{i:06}.png"))).mean_rgb())
        .collect();
    // Each item alone: its colour with hardly any of the other's.
    let red = |c: &[f64; 3]| c[0] > 150.0 && c[2] < 30.0;
    let blue = |c: &[f64; 3]| c[2] > 150.0 && c[0] < 30.0;
    let first_blue = colours.iter().position(blue);
    let last_red = colours.iter().rposition(red);
    assert!(
        colours.iter().all(|c| c.iter().sum::<f64>() > 30.0),
        "a black frame: {colours:?}"
    );
    assert!(red(&colours[2]), "{colours:?}");
    assert!(blue(&colours[n - 2]), "{colours:?}");
    let (Some(last_red), Some(first_blue)) = (last_red, first_blue) else {
        panic!("{colours:?}")
    };
    // Between them, the fade: frames of both, for most of its second (its S-curve's ends are
    // within a few percent of either item).
    let fade_frames = first_blue.saturating_sub(last_red + 1);
    assert!(
        (5..=12).contains(&fade_frames),
        "{fade_frames} frames of fade: {colours:?}"
    );
    report(
        "kiosk",
        &format!(
            "picture from the journal: red to frame {last_red}, {fade_frames} frames of crossfade at 10 fps, blue from frame {first_blue}"
        ),
    );
}
