//! The lines a user sees, and the exit statuses the README promises (0 done, 1 bad input or
//! arguments, 2 something missing on the machine, 3 an output that could not be made): usage
//! errors, switches that do nothing together, listing without a display or a MIDI system, the
//! meter's held peak, a jump past the end, a live preset typo, and the display going away.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn run(args: &[&str], no_display: bool) -> (Option<i32>, String, String) {
    let mut c = somnia();
    c.args(args);
    if no_display {
        c.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    }
    let o = c.output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_usage_error_is_bad_input_exit_1_and_help_is_not_an_error() {
    let (code, _, err) = run(&["play", "--no-such-switch"], true);
    assert_eq!(code, Some(1), "{err}");
    let (code, _, err) = run(&["render", "performances/first-light.toml"], true);
    assert_eq!(code, Some(1), "render without --out: {err}");
    let (code, out, _) = run(&["play", "--help"], true);
    assert_eq!(code, Some(0));
    assert!(out.contains("Space or Enter is GO"), "{out}");
    assert!(!out.to_lowercase().contains("space pauses"), "{out}");
}

#[test]
fn the_version_says_the_builds_licence_gpl_only_with_ableton_link() {
    let (code, out, _) = run(&["--version"], true);
    assert_eq!(code, Some(0));
    if cfg!(feature = "link") {
        assert!(
            out.contains("with Ableton Link") && out.contains("GPL"),
            "{out}"
        );
    } else {
        assert!(
            out.contains("MIT OR Apache-2.0") && !out.contains("GPL"),
            "{out}"
        );
    }
}

#[test]
fn switches_that_do_nothing_together_say_so() {
    let perf = fixture("performances/live.toml");
    let perf = perf.to_str().unwrap();
    let (_, _, err) = run(&["play", "--osc-allow", "192.168.1.0/24", perf], true);
    assert!(
        err.contains("--osc-allow lets no one in") && err.contains("--osc-bind"),
        "{err}"
    );
    let (_, _, err) = run(
        &[
            "play",
            "--osc-bind",
            "0.0.0.0",
            "--osc-allow",
            "10.0.0.0/8",
            perf,
        ],
        true,
    );
    assert!(!err.contains("--osc-allow lets no one in"), "{err}");
    let (_, _, err) = run(
        &["play", "--no-limiter", "--limiter-ceiling", "-3", perf],
        true,
    );
    assert!(
        err.contains("--limiter-ceiling does nothing with --no-limiter"),
        "{err}"
    );
}

#[test]
fn listing_without_a_display_or_a_midi_system_says_one_plain_line() {
    let (code, out, err) = run(&["list", "monitors"], true);
    assert_eq!(code, Some(2), "{out}{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no display"), "{err}");
    assert!(
        !err.contains(".rs") && !err.contains("cargo"),
        "no source paths: {err}"
    );
    // This machine has no ALSA sequencer: one line of ours, none of alsa-lib's.
    if !std::path::Path::new("/dev/snd/seq").exists() {
        let (code, _, err) = run(&["list", "midi"], true);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            !err.contains("ALSA lib"),
            "alsa-lib's own line came through: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn the_meter_holds_the_peak_between_its_prints() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    // The default input is the null sink's monitor: a tone played into the sink is heard.
    let mut tone = Command::new("paplay")
        .args(["--raw", "--format=s16le", "--rate=48000", "--channels=1"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("paplay (pulseaudio-utils) must be installed");
    let mut stdin = tone.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // Short clicks, 20 ms every half second, silence between.
        let mut buf = Vec::new();
        for i in 0..(48_000 * 3) {
            let on = i % 24_000 < 960;
            let s = if on {
                ((i as f32) * 0.06).sin() * 16_000.0
            } else {
                0.0
            };
            buf.extend_from_slice(&(s as i16).to_le_bytes());
        }
        let _ = std::io::Write::write_all(&mut stdin, &buf);
    });
    let (code, out, err) = run(&["meter", "--seconds", "2"], false);
    let _ = writer.join();
    let _ = tone.kill();
    let _ = tone.wait();
    assert_eq!(code, Some(0), "{err}");
    let holds: Vec<f64> = out
        .lines()
        .filter_map(|l| {
            l.split("hold=")
                .nth(1)?
                .split("dB")
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .collect();
    assert!(holds.len() >= 4, "{out}");
    // Every print holds the last clicks' peak, however quiet the instant it prints at.
    assert!(
        holds[2..].iter().all(|h| *h > -30.0),
        "held peaks {holds:?}\n{out}"
    );
    assert!(out.contains("summary: loudest peak"), "{out}");
}

#[test]
fn a_jump_past_the_end_and_a_live_preset_typo_are_refused_in_one_line_each() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    const PORT: u16 = 9451;
    let dir = tempfile::tempdir().unwrap();
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "320x180",
            "--osc-port",
            "9451",
            "--no-midi",
            "--rehearsal",
        ],
        &fixture("performances/cues.toml"),
    );
    play.wait_until_up();
    oscsend(PORT, "/somnia/transport/seek", "f", &["1000"]);
    oscsend(PORT, "/somnia/preset", "s", &["wram"]);
    assert!(
        play.wait_for_log("no preset named `wram`", Duration::from_secs(5)),
        "{}",
        play.log_text()
    );
    let t = show_time_s(PORT);
    let log = play.stop();
    let lines = |text: &str| log.lines().filter(|l| l.contains(text)).count();
    assert_eq!(lines("cannot jump to 1000 s"), 1, "{log}");
    assert_eq!(lines("no preset named `wram`"), 1, "{log}");
    assert!(t < 30.0, "the show stayed where it was: {t} s\n{log}");
    // The typo came from the network, not the file: no file position, no reload failure.
    assert!(!log.contains(".toml:1:1"), "{log}");
    assert!(!log.contains("did not reload"), "{log}");
    assert!(log.contains("did you mean `warm`?"), "{log}");
}

#[test]
fn losing_the_display_mid_show_ends_with_one_line_and_exit_2() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    // A display of this test's own, so the others' stays up.
    let mut n = 150;
    while std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists() {
        n += 1;
    }
    let mut xvfb = Command::new("Xvfb")
        .args([
            &format!(":{n}"),
            "-screen",
            "0",
            "640x480x24",
            "-nolisten",
            "tcp",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let socket = format!("/tmp/.X11-unix/X{n}");
    let until = Instant::now() + Duration::from_secs(10);
    while !std::path::Path::new(&socket).exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("log.txt");
    let mut play = somnia()
        .env("DISPLAY", format!(":{n}"))
        .args(["play", "--size", "160x90", "--no-osc", "--no-midi"])
        .arg(fixture("performances/cues.toml"))
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let up = Instant::now() + Duration::from_secs(30);
    let is_up = || {
        std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .contains("the picture is up")
    };
    while !is_up() && Instant::now() < up {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        is_up(),
        "the picture never came up on the test's own display"
    );
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let until = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = play.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > until {
            let _ = play.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert_eq!(status.and_then(|s| s.code()), Some(2), "{log}");
    // One line says it, and nothing follows.
    let after: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.contains("the display went away"))
        .collect();
    assert_eq!(after.len(), 1, "{log}");
}

#[test]
fn print_unit_writes_a_notify_unit_with_a_watchdog_that_restarts_the_shipped_kiosk_always() {
    let (code, unit, err) = run(&["kiosk", "--print-unit", "kiosks/sanctuary.toml"], true);
    assert_eq!(code, Some(0), "{err}");
    // Three sections, each key once, read as systemd reads them.
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((name.to_string(), Vec::new()));
            continue;
        }
        let (key, value) = line.split_once('=').expect("key=value");
        sections
            .last_mut()
            .expect("a key before any section")
            .1
            .push((key.to_string(), value.to_string()));
    }
    let names: Vec<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Unit", "Service", "Install"], "{unit}");
    let service = &sections[1].1;
    let get = |key: &str| {
        let found: Vec<&str> = service
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{key} in:\n{unit}");
        found[0].to_string()
    };
    assert_eq!(get("Type"), "notify");
    assert_eq!(get("Restart"), "always");
    let watchdog_s: u64 = get("WatchdogSec").parse().unwrap();
    assert!((2..=60).contains(&watchdog_s), "{watchdog_s}");
    // It runs this very binary on the kiosk file by its absolute path, from the project.
    let exec = get("ExecStart");
    let words: Vec<&str> = exec.split(' ').collect();
    assert_eq!(words.len(), 3, "{exec}");
    assert_eq!(
        std::fs::canonicalize(words[0]).unwrap(),
        std::fs::canonicalize(env!("CARGO_BIN_EXE_somnia")).unwrap()
    );
    assert_eq!(words[1], "kiosk");
    let file = std::path::Path::new(words[2]);
    assert!(file.is_absolute() && file.is_file(), "{exec}");
    assert!(
        std::path::Path::new(&get("WorkingDirectory"))
            .join("kiosks")
            .is_dir()
    );
    assert_eq!(
        sections[2].1,
        [("WantedBy".into(), "graphical-session.target".into())]
    );
    // A kiosk file with a mistake prints no unit: the mistake, at its place, and exit 1.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "title = \"Bad\"\norder = \"sideways\"\n").unwrap();
    let (code, out, err) = run(&["kiosk", "--print-unit", bad.to_str().unwrap()], true);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("bad.toml:2:"), "{err}");
}

#[test]
fn ltc_on_both_of_the_sounds_own_channels_is_refused_in_one_line_as_bad_input() {
    let (code, _, err) = run(
        &[
            "play",
            "performances/first-light.toml",
            "--ltc-out-channels",
            "1,2",
        ],
        true,
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("--ltc-out-channels takes channels 1 and 2"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (code, _, err) = run(
        &[
            "play",
            "performances/first-light.toml",
            "--ltc-out-channels",
            "0",
        ],
        true,
    );
    assert_eq!(code, Some(1), "channels count from 1: {err}");
}

#[test]
fn a_crash_says_its_signal_and_thread_and_gives_frames_addr2line_names() {
    let o = somnia()
        .arg("--version")
        .env("SOMNIA_DEBUG_CRASH", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // The signal takes its course: the process ends by it (a kiosk's systemd restarts it).
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(11), "{:?}: {err}", o.status);
    assert!(
        err.contains("somnia: crashed with SIGSEGV on thread `somnia-debug`"),
        "{err}"
    );
    // Each of our binary's frames as `somnia(+0xOFFSET)`: addr2line names the handler's
    // caller chain, down to the thread's own code.
    let bin = env!("CARGO_BIN_EXE_somnia");
    let offsets: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("somnia(+0x"))
        .filter_map(|l| l.split("(+").nth(1)?.split(')').next())
        .collect();
    assert!(offsets.len() >= 3, "{err}");
    let named = Command::new("addr2line")
        .args(["-fCie", bin])
        .args(&offsets)
        .output()
        .expect("addr2line (binutils)");
    let names = String::from_utf8_lossy(&named.stdout);
    assert!(names.contains("crash_note::on_fatal"), "{names}");
    assert!(
        names.contains("crash_note::crash_if_asked"),
        "the crashing thread's code: {names}"
    );
}
