//! Every shipped performance, played live as a performer would (`somnia play` on Xvfb, the sound
//! into the PulseAudio null sink and recorded): the show jumps to each of its looks in turn
//! (OSC seeks), its GO is given from the keyboard or over OSC, and at each stop the window is
//! photographed and the recording measured. Each photograph must show the look the offline
//! renderer draws for that moment of the show (the live timeline, its GO included, compiled by
//! the library the same way), not the look before it; the sound must be there.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use somnia::bridge::AnalysisTrack;
use somnia::render::capture::FrameRenderer;
use somnia::show::Timeline;
use somnia::show::compile::{load_timeline, load_timeline_with};
use somnia::show::cues::GoPlan;
use somnia::show::cues::LiveInput;
use somnia::show::loops;

const PORT: u16 = 9411;
const W: u32 = 320;
const H: u32 = 180;
/// Pictures are compared as coarse thumbnails: the looks' moving details (and the glitch's
/// time-seeded blocks) differ between two moments a few milliseconds apart; their colours and
/// layout do not.
const THUMB: (u32, u32) = (8, 6);

/// One stop of the tour: where the show was sent, and what was seen and heard.
struct Stop {
    what: String,
    /// Show time of the photograph.
    show_s: f64,
    /// Seconds into the recording when the show got there.
    rec_s: f64,
    live: Vec<[f64; 3]>,
}

fn offline(fr: &mut FrameRenderer, tl: &Timeline, t: f64) -> Vec<[f64; 3]> {
    let rgba = fr.frame_at(tl, &AnalysisTrack::default(), t).unwrap();
    let rgb: Vec<u8> = rgba.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    thumbnail(&rgb, W, H, THUMB.0, THUMB.1)
}

/// Sends the show to `to_s`, lets it play there for most of a second (the sound is measured
/// over that stretch), and photographs it, noting the show time of the photograph.
fn visit(play: &LivePlay, dir: &Path, what: String, to_s: f64, rec_start: Instant) -> Stop {
    let jumps = |log: &str| log.matches("somnia: at ").count();
    let before = jumps(&play.log_text());
    oscsend(PORT, "/somnia/transport/seek", "f", &[&format!("{to_s}")]);
    let rec_s = rec_start.elapsed().as_secs_f64();
    let until = Instant::now() + Duration::from_secs(5);
    while jumps(&play.log_text()) == before {
        assert!(Instant::now() < until, "the jump to {to_s} s never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(900));
    let before_s = show_time_s(PORT);
    let shot = window_shot(&dir.join("shot.png"));
    let show_s = (before_s + show_time_s(PORT)) / 2.0;
    Stop {
        what,
        show_s,
        rec_s,
        live: thumbnail(&shot.rgb, shot.width, shot.height, THUMB.0, THUMB.1),
    }
}

/// Plays `name` through each look and its GO; returns what failed (empty: all well).
fn tour(name: &str, go_by_key: bool) -> Vec<String> {
    let path = repo().join(format!("performances/{name}.toml"));
    let planned = load_timeline(&path).unwrap();
    let mut fr = FrameRenderer::new(&planned, W, H).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let rec_start = Instant::now();
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "320x180",
            "--osc-port",
            &PORT.to_string(),
            "--no-midi",
        ],
        &path,
    );
    play.wait_until_up();
    // Cues and preset changes are kept in score time; loops repeat stretches of it.
    let show = |tl: &Timeline, score_s: f64| loops::show_time(&tl.loops, score_s);
    let manual = planned.cues.iter().position(|c| c.manual);
    let go_at = manual.and_then(|m| planned.cues[m].planned_s.map(|p| show(&planned, p)));
    // The looks of the show: each preset change, in order (the first at 0).
    let looks: Vec<f64> = planned
        .switches
        .iter()
        .map(|s| show(&planned, s.time_s))
        .collect();
    let mut stops: Vec<(Stop, Timeline)> = Vec::new();
    let mut live = planned.clone();
    let mut failures = Vec::new();
    for (k, &t) in looks.iter().enumerate() {
        if let (Some(m), Some(p)) = (manual, go_at) {
            if t >= p && stops.iter().all(|(s, _)| !s.what.starts_with("GO")) {
                // The GO: stand just before it, then fire it as a performer would.
                let before = visit(
                    &play,
                    dir.path(),
                    "before the GO".into(),
                    p - 1.5,
                    rec_start,
                );
                stops.push((before, live.clone()));
                if go_by_key {
                    press("space");
                } else {
                    oscsend(PORT, "/somnia/go", "", &[]);
                }
                let label = planned.cues[m].label.clone().unwrap_or_default();
                assert!(
                    play.wait_for_log(&format!("GO cue {} ", m + 1), Duration::from_secs(5)),
                    "{name}: the GO did not fire:\n{}",
                    play.log_text()
                );
                let log = play.log_text();
                let go_s: f64 = log
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("somnia: GO cue {} ", m + 1)))
                    .and_then(|l| l.rsplit(" at ").next()?.strip_suffix(" s")?.parse().ok())
                    .unwrap_or_else(|| panic!("{name}: no GO time in the log:\n{log}"));
                let gos = [(planned.cues[m].key.clone(), go_s)].into_iter().collect();
                live = load_timeline_with(
                    &path,
                    &GoPlan::Live(LiveInput {
                        gos,
                        ..LiveInput::default()
                    }),
                )
                .unwrap();
                std::thread::sleep(Duration::from_millis(1200));
                let shot = window_shot(&dir.path().join("go.png"));
                let show_s = show_time_s(PORT);
                stops.push((
                    Stop {
                        what: format!("GO {label}"),
                        show_s,
                        rec_s: rec_start.elapsed().as_secs_f64() - 1.2,
                        live: thumbnail(&shot.rgb, shot.width, shot.height, THUMB.0, THUMB.1),
                    },
                    live.clone(),
                ));
            }
        }
        // Where this look comes in the live show (an act after the GO moved with it).
        let live_t = live.switches.get(k).map_or(t, |s| show(&live, s.time_s));
        if stops.last().is_some_and(|(s, _)| s.show_s > live_t + 0.5) {
            continue; // the GO's own look, just visited
        }
        let stop = visit(
            &play,
            dir.path(),
            format!("look {k} at {live_t:.1} s"),
            live_t + 0.6,
            rec_start,
        );
        stops.push((stop, live.clone()));
    }
    let log = play.stop();
    std::thread::sleep(Duration::from_millis(200));
    stop_with_sigint(&mut parec);
    let mono = read_wav(&rec).mono();

    for (i, (stop, tl)) in stops.iter().enumerate() {
        // The picture: closer to the offline frame of this moment than to the look the show
        // stood at before it (where the two looks differ enough to tell apart).
        let own = offline(&mut fr, tl, stop.show_s);
        let d_own = thumb_distance(&stop.live, &own);
        if let Some((prev, prev_tl)) = i.checked_sub(1).map(|j| &stops[j]) {
            let other = offline(&mut fr, prev_tl, prev.show_s);
            let d_other = thumb_distance(&stop.live, &other);
            let apart = thumb_distance(&own, &other);
            eprintln!(
                "{name} {}: at {:.2} s, {d_own:.1} from its own look, {d_other:.1} from the one before ({apart:.1} apart)",
                stop.what, stop.show_s
            );
            if apart > 12.0 && d_own >= d_other {
                failures.push(format!(
                    "{name} {}: the picture is {d_own:.1} from its look and {d_other:.1} from the one before",
                    stop.what
                ));
            }
        }
        if d_own > 50.0 {
            failures.push(format!(
                "{name} {}: the picture is {d_own:.1} (of 255) from the offline frame of {:.2} s",
                stop.what, stop.show_s
            ));
        }
        // The sound: playing at every stop (and never past the limiter's ceiling).
        let db = level_db(&mono, stop.rec_s + 0.3, stop.rec_s + 0.9);
        eprintln!("{name} {}: the sound at {db:.1} dBFS", stop.what);
        if !(-55.0..-0.5).contains(&db) {
            failures.push(format!(
                "{name} {}: the sound was at {db:.1} dBFS",
                stop.what
            ));
        }
    }
    assert!(!log.contains("did not reload"), "{name}:\n{log}");
    assert!(
        manual.is_none() || stops.iter().any(|(s, _)| s.what.starts_with("GO")),
        "{name}: its GO was never given"
    );
    failures
}

#[test]
fn every_shipped_performance_plays_live_through_each_look_and_its_go() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let names = shipped_performances();
    assert!(names.len() >= 7, "the shipped performances: {names:?}");
    let failures: Vec<String> = names
        .iter()
        .enumerate()
        .flat_map(|(i, n)| tour(n, i % 2 == 0))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
