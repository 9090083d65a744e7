//! The show's journal through the real binary, under Xvfb and the PulseAudio null sink: a live
//! show steered from python-osc, the keyboard (xdotool) and a preset saved mid-show is made
//! again from its journal alone by `somnia render --journal`: its sound bit for bit against
//! what the engine played (`--record`), its frames against the window photographed while the
//! show stood paused; a show killed outright renders up to the cut; a show keeps its journal
//! in the project's `journals/` by default, the folder pruned to its cap, and `--no-journal`
//! keeps none.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// python-osc, playing a fixed part against the show from when it is told to start: notes of
/// several lengths, a ramp, a seek, a pause and a resume, at moments no block lines up with.
const PART: &str = r#"
import sys, time
from pythonosc.udp_client import SimpleUDPClient
c = SimpleUDPClient("127.0.0.1", int(sys.argv[1]))
part = [
    (0.71, "/somnia/note", [64, 0.8, 0.45]),
    (1.33, "/somnia/param/cutoff_hz", [1200.0, 1.5]),
    (2.09, "/somnia/note", [67, 0.7, 0.3]),
    (2.11, "/somnia/note", [71, 0.6, 0.9]),
    (5.57, "/somnia/param/reverb_mix", [0.6, 0.0]),
    (5.61, "/somnia/note", [59, 0.9, 1.2]),
    (6.23, "/somnia/layer/r", [0.2]),
    (7.43, "/somnia/transport/seek", [2.0]),
    (8.97, "/somnia/transport/pause", []),
    (10.41, "/somnia/transport/play", []),
    (11.13, "/somnia/note", [62, 0.8, 0.6]),
    (14.23, "/somnia/note", [69, 0.8, 0.5]),
    (15.02, "/somnia/param/cutoff_hz", [300.0, 2.0]),
    (16.5, "/somnia/note", [57, 0.9, 1.5]),
    (16.93, "/somnia/transport/pause", []),
    (18.37, "/somnia/transport/play", []),
]
print("ready", flush=True)
sys.stdin.readline()
start = time.monotonic()
for at, address, args in part:
    time.sleep(max(0.0, at - (time.monotonic() - start)))
    c.send_message(address, args)
print("done", flush=True)
"#;

/// A project of its own (the GO fixture and its preset), so a preset can be saved mid-show.
fn go_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let project = temp_project(&[("warm", "warm")]);
    let perf = project.path().join("performances/go.toml");
    std::fs::copy(fixture("performances/go.toml"), &perf).unwrap();
    (project, perf)
}

/// `H:MM:SS.mmm` as seconds.
fn clock_s(label: &str) -> Option<f64> {
    let mut parts = label.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

#[test]
fn a_live_show_steered_by_osc_the_keyboard_and_a_saved_preset_renders_again_from_its_journal_bit_for_bit()
 {
    if !live_env() {
        return;
    }
    let (project, perf) = go_project();
    let dir = tempfile::tempdir().unwrap();
    let (rec, journal) = (
        dir.path().join("live.wav"),
        dir.path().join("show.somnia-journal"),
    );
    let port = free_port();
    let (log, said) = {
        let _turn = live_turn();
        let mut part = Script::start(PART, &[port.to_string()]);
        part.until("ready");
        let play = LivePlay::start(
            dir.path(),
            &[
                "--size",
                "320x180",
                "--no-midi",
                "--no-web",
                "--osc-port",
                &port.to_string(),
                "--seconds",
                "20",
                "--record",
                rec.to_str().unwrap(),
                "--journal",
                journal.to_str().unwrap(),
            ],
            &perf,
        );
        play.wait_until_up();
        part.go_on();
        let began = Instant::now();
        let at = |s: f64| {
            let t = Duration::from_secs_f64(s);
            if let Some(wait) = t.checked_sub(began.elapsed()) {
                std::thread::sleep(wait);
            }
        };
        // GO from the keyboard at an odd moment, past the manual cue's planned 3 s.
        at(4.37);
        press("space");
        // The window while the show stands paused (the layer's red taken down over OSC).
        at(9.7);
        window_shot(&dir.path().join("paused-1.png"));
        // The preset saved with a new sound, a saw through a darker filter, and more green.
        at(12.61);
        let preset = project.path().join("presets/warm.toml");
        let text = std::fs::read_to_string(&preset).unwrap();
        std::fs::write(
            &preset,
            text.replace("waveform = \"triangle\"", "waveform = \"saw\"")
                .replace("cutoff_hz = 6000", "cutoff_hz = 1800")
                .replace("g = { default = 0.3 }", "g = { default = 0.8 }"),
        )
        .unwrap();
        at(17.6);
        window_shot(&dir.path().join("paused-2.png"));
        let said = part.wait();
        let log = play.finish(Duration::from_secs(40));
        (log, said)
    };
    assert!(said.iter().any(|l| l == "done"), "{said:?}");
    let live = read_wav(&rec);
    let seconds = live.frames() as f64 / 48_000.0;
    assert!(seconds > 18.0, "{seconds:.2} s recorded\n{log}");
    assert!(log.contains("keeping the show's journal in"), "{log}");
    assert!(log.contains("the journal"), "{log}");

    // What the journal says happened, and from whom.
    let timeline = somnia().arg("journal").arg(&journal).output().unwrap();
    assert!(timeline.status.success(), "{timeline:?}");
    let timeline = String::from_utf8_lossy(&timeline.stdout).into_owned();
    for expected in [
        "keyboard  GO",
        "OSC 127.0.0.1:",
        "note 64 at 0.80 for 0.450 s",
        "cutoff_hz to 1200 over 1.500 s",
        "seek to 2.000 s",
        "engine    located to 2.000 s",
        "engine    paused",
        "engine    playing",
        "file      presets/warm.toml",
        "end       the show ended",
    ] {
        assert!(
            timeline.contains(expected),
            "no `{expected}` in:\n{timeline}\n{log}"
        );
    }
    // Both versions of the saved preset are in it.
    assert_eq!(
        timeline.matches("file      presets/warm.toml").count(),
        2,
        "{timeline}"
    );

    // The show made again from the journal alone: the project's files gone.
    drop(project);
    let again = render_journal(&journal, &dir.path().join("again"), &[]);
    let late = log.contains("after their sample");
    let differs = first_difference(&live.samples, &again.samples);
    report(
        "measured",
        &format!(
            "journal: {seconds:.2} s of a live show (OSC notes, ramps, GO, a seek, a pause, a saved preset) rendered again from its journal ({} bytes): {}",
            std::fs::metadata(&journal).unwrap().len(),
            match differs {
                None if again.samples.len() == live.samples.len() => {
                    "identical, bit for bit".to_string()
                }
                None => format!("{} frames against {}", again.frames(), live.frames()),
                Some(i) => format!("first differs at frame {i}"),
            }
        ),
    );
    assert_eq!(again.frames(), live.frames(), "{log}");
    assert_eq!(differs, None, "{log}\n{timeline}");
    assert!(!late || differs.is_none());
    assert!(rms(&live.samples) > 1e-4, "the show was silent");

    // The picture drawn again, at the window's size, where the show stood paused: as the
    // window showed it, within the golden frames' tolerance.
    let pauses: Vec<(f64, f64)> = {
        let at = |word: &str| -> Vec<f64> {
            timeline
                .lines()
                .filter(|l| l.ends_with(&format!("engine    {word}")))
                .filter_map(|l| clock_s(l.split_whitespace().next()?))
                .collect()
        };
        at("paused").into_iter().zip(at("playing")).collect()
    };
    assert_eq!(pauses.len(), 2, "{timeline}");
    let mut looked = Vec::new();
    for (k, (paused_s, playing_s)) in pauses.iter().enumerate() {
        let mid = (paused_s + playing_s) / 2.0;
        let out = dir.path().join(format!("frames-{k}"));
        let o = somnia()
            .args(["render", "--no-mp4", "--fps", "10", "--journal"])
            .arg(&journal)
            .arg("--out")
            .arg(&out)
            .args([
                "--from",
                &format!("{mid:.3}"),
                "--to",
                &format!("{:.3}", mid + 0.1),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        let drawn = read_png(&out.join("frames/000000.png"));
        let shot = read_png(&dir.path().join(format!("paused-{}.png", k + 1)));
        assert_eq!((drawn.width, drawn.height), (shot.width, shot.height));
        let (mean, far) = picture_difference(&drawn, &shot);
        looked.push(format!(
            "paused at {paused_s:.2} s: mean difference {mean:.2}/255, {far:.2} % of pixels past 24/255 (colour {:?} drawn, {:?} shown)",
            drawn.mean_rgb().map(|c| c.round()),
            shot.mean_rgb().map(|c| c.round())
        ));
        assert!(mean <= 2.0 && far <= 1.0, "{looked:?}\n{timeline}");
    }
    report(
        "measured",
        &format!(
            "journal: frames drawn again against the window: {}",
            looked.join("; ")
        ),
    );
    // The second pause shows the saved preset's green and the live red.
    let second = read_png(&dir.path().join("paused-2.png")).mean_rgb();
    let first = read_png(&dir.path().join("paused-1.png")).mean_rgb();
    assert!(second[1] > first[1] * 2.0, "{first:?} then {second:?}");

    // At any size and rate: a second of it at 1920x1080 and 60 fps, the same picture as at
    // the window's size (its colour, where the saved preset showed).
    let (paused_s, _) = pauses[1];
    let from = format!("{:.3}", paused_s + 0.3);
    let big = dir.path().join("big");
    let o = somnia()
        .args([
            "render",
            "--no-mp4",
            "--fps",
            "60",
            "--size",
            "1920x1080",
            "--journal",
        ])
        .arg(&journal)
        .arg("--out")
        .arg(&big)
        .args(["--from", &from, "--to", &format!("{:.3}", paused_s + 1.3)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let frames = std::fs::read_dir(big.join("frames")).unwrap().count();
    assert_eq!(frames, 60);
    let hd = read_png(&big.join("frames/000000.png"));
    assert_eq!((hd.width, hd.height), (1920, 1080));
    let small = read_png(&dir.path().join("paused-2.png")).mean_rgb();
    let hd_rgb = hd.mean_rgb();
    assert!(
        (0..3).all(|c| (hd_rgb[c] - small[c]).abs() < 4.0),
        "{hd_rgb:?} at 1080p against {small:?} in the window"
    );

    // A stretch of it: the same samples, cut out.
    let part = render_journal(
        &journal,
        &dir.path().join("part"),
        &["--from", "5", "--to", "7.5"],
    );
    assert_eq!(part.frames(), 120_000);
    assert!(part.samples[..] == live.samples[2 * 240_000..2 * 360_000]);
}

/// The samples of a WAV file whose writer was killed (its header's lengths never written):
/// everything after the `data` chunk's header, as f32.
fn torn_wav_samples(path: &std::path::Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let data = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk");
    bytes[data + 8..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn a_show_killed_outright_renders_from_its_journal_everything_up_to_the_cut() {
    if !live_env() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (rec, journal) = (
        dir.path().join("live.wav"),
        dir.path().join("cut.somnia-journal"),
    );
    let port = free_port();
    {
        let _turn = live_turn();
        let blanking_s = screensaver_timeout_s();
        let mut part = Script::start(PART, &[port.to_string()]);
        part.until("ready");
        let mut play = LivePlay::start(
            dir.path(),
            &[
                "--size",
                "160x90",
                "--no-midi",
                "--no-web",
                "--osc-port",
                &port.to_string(),
                "--record",
                rec.to_str().unwrap(),
                "--journal",
                journal.to_str().unwrap(),
            ],
            &fixture("performances/go.toml"),
        );
        play.wait_until_up();
        part.go_on();
        std::thread::sleep(Duration::from_millis(6300));
        play.child.kill().unwrap();
        let _ = play.child.wait();
        // The rest of its part has no show to play to.
        part.kill();
        // Killed, it could not put the display's blanking back: the next show does, as a
        // restarted installation would.
        let next = somnia()
            .args([
                "play",
                "--size",
                "160x90",
                "--no-osc",
                "--no-midi",
                "--no-web",
            ])
            .args(["--no-journal", "--seconds", "0.5"])
            .arg(fixture("performances/go.toml"))
            .output()
            .unwrap();
        assert!(next.status.success(), "{next:?}");
        assert_eq!(screensaver_timeout_s(), blanking_s);
    }
    let live = torn_wav_samples(&rec);
    let o = somnia()
        .arg("render")
        .arg("--journal")
        .arg(&journal)
        .arg("--out")
        .arg(dir.path().join("again"))
        .args(["--no-frames", "--no-mp4"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("was cut off"), "{err}");
    let again = read_wav(&dir.path().join("again/cut.wav"));
    let (got_s, live_s) = (
        again.frames() as f64 / 48_000.0,
        live.len() as f64 / 96_000.0,
    );
    report(
        "measured",
        &format!(
            "journal: killed 6.3 s in, the journal held {got_s:.2} s and the recording {live_s:.2} s"
        ),
    );
    // Flushed every second: at most the last second is lost.
    assert!(
        got_s > 4.5,
        "{got_s:.2} s rendered, {live_s:.2} s recorded\n{err}"
    );
    let n = again.samples.len().min(live.len());
    assert!(n > 2 * 48_000 * 4);
    assert_eq!(first_difference(&again.samples[..n], &live[..n]), None);
}

#[test]
fn a_show_keeps_its_journal_in_the_projects_journals_folder_pruned_to_its_cap_unless_told_not_to() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let (project, perf) = go_project();
    let journals = project.path().join("journals");
    std::fs::create_dir_all(&journals).unwrap();
    // Two old journals of 700 KB each, the folder capped at 1 MB: the older must go.
    let old = std::time::SystemTime::now() - Duration::from_secs(86_400);
    for (i, name) in ["older", "old"].iter().enumerate() {
        let p = journals.join(format!("{name}.somnia-journal"));
        std::fs::write(&p, vec![0u8; 700 << 10]).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old + Duration::from_secs(60 * i as u64))
            .unwrap();
    }
    let run = |extra: &[&str]| {
        let o = somnia()
            .args([
                "play",
                "--size",
                "160x90",
                "--no-midi",
                "--no-osc",
                "--no-web",
            ])
            .args(["--seconds", "2"])
            .args(extra)
            .arg(&perf)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let log = run(&["--journals-keep-mb", "1"]);
    let mut kept: Vec<String> = std::fs::read_dir(&journals)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}\n{log}");
    assert!(kept.contains(&"old.somnia-journal".to_string()), "{kept:?}");
    assert!(log.contains("removed the old journal"), "{log}");
    let new = kept.iter().find(|k| k.ends_with("-go-test.somnia-journal"));
    let new = journals.join(new.unwrap_or_else(|| panic!("{kept:?}")));
    assert!(
        log.contains(&format!("keeping the show's journal in {}", new.display())),
        "{log}"
    );
    let timeline = somnia().arg("journal").arg(&new).output().unwrap();
    let timeline = String::from_utf8_lossy(&timeline.stdout);
    assert!(
        timeline.contains("`GO test`: somnia play 160x90"),
        "{timeline}"
    );
    assert!(timeline.contains("end       the show ended"), "{timeline}");

    let log = run(&["--no-journal"]);
    assert_eq!(std::fs::read_dir(&journals).unwrap().count(), 2);
    assert!(!log.contains("journal"), "{log}");
}
