//! Offline render speed in × real time, on whatever machine runs it (CPU-only lavapipe here).
//! `cargo bench --bench render_speed` prints a table:
//!   - audio alone: the engine rendering the shipped performance to a WAV file;
//!   - audio + video: the whole `somnia render` path at 1280×720, 30 fps (GPU draw, readback,
//!     PNG encoding on a second thread), without and with the ffmpeg MP4, and the MP4 alone
//!     (`--no-frames`: no PNG encoding).
//!
//! Speed targets live here, never in tests.

use std::path::PathBuf;
use std::time::Instant;

use somnia::bridge::AnalysisTrack;
use somnia::commands::render::{RenderArgs, run};
use somnia::offline::render_wav;
use somnia::render::capture::{FrameRenderer, VideoSettings};
use somnia::show::compile::load_timeline;

fn main() {
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: single-threaded here. Same reason as in src/main.rs: quiet Mesa's layer.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    let perf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("performances/first-light.toml");
    let timeline = load_timeline(&perf).expect("shipped performance loads");
    let dir = tempfile::tempdir().unwrap();
    // (label, media s, wall s, CPU s: this process and the ffmpeg it waited for)
    let mut rows: Vec<(String, f64, f64, f64)> = Vec::new();

    // Audio alone: best of three full renders.
    let secs = timeline.duration_s;
    let best = (0..3)
        .map(|_| {
            let (t0, c0) = (Instant::now(), cpu_s());
            render_wav(&timeline, secs, &dir.path().join("a.wav"), |_| {}).unwrap();
            (t0.elapsed().as_secs_f64(), cpu_s() - c0)
        })
        .fold((f64::INFINITY, 0.0), |a, b| if b.0 < a.0 { b } else { a });
    rows.push(("audio only (WAV)".into(), secs, best.0, best.1));

    // Frames alone: GPU draw + readback at 1280x720 of the same frames the renders below make
    // (their first 4 s at 30 fps), no encoding: the reference the whole render is held to. The
    // first frame, which compiles the pipelines, is drawn before the clock starts.
    let video_s = 4.0;
    let mut fr = FrameRenderer::new(&timeline, 1280, 720).expect("renderer");
    let track = AnalysisTrack::default();
    fr.frame_at(&timeline, &track, 0.0).unwrap();
    let n = (video_s * 30.0) as u32;
    let (t0, c0) = (Instant::now(), cpu_s());
    for i in 0..n {
        fr.frame_at(&timeline, &track, f64::from(i) / 30.0).unwrap();
    }
    let wall = t0.elapsed().as_secs_f64();
    rows.push((
        "1280x720@30 draw + readback only".into(),
        video_s,
        wall,
        cpu_s() - c0,
    ));
    drop(fr);

    // Audio + 1280x720 video at 30 fps through the real command path.
    for (label, no_mp4, no_frames) in [
        ("audio + 1280x720@30 PNG frames", true, false),
        ("audio + 1280x720@30 PNG + MP4", false, false),
        ("audio + 1280x720@30 MP4 (--no-frames)", false, true),
    ] {
        let args = RenderArgs {
            source: somnia::commands::Source::Performance(perf.clone()),
            out: dir.path().join("v"),
            seconds: Some(video_s),
            video: VideoSettings {
                flash_guard: true,
                width: 1280,
                height: 720,
                fps: 30,
            },
            no_mp4,
            no_frames,
            limiter: Default::default(),
            loudness_lufs: None,
            outputs: None,
        };
        let (t0, c0) = (Instant::now(), cpu_s());
        assert_eq!(run(&args), 0, "render failed");
        rows.push((
            label.into(),
            video_s,
            t0.elapsed().as_secs_f64(),
            cpu_s() - c0,
        ));
    }

    println!();
    println!(
        "| {:<38} | {:>10} | {:>8} | {:>12} | {:>18} | {:>10} |",
        "offline render", "media s", "wall s", "× real time", "against draw alone", "cores busy"
    );
    println!(
        "|{:-<40}|{:->12}|{:->10}|{:->14}|{:->20}|{:->12}|",
        "", "", "", "", "", ""
    );
    // Each video render against the draw and readback of the same frames alone (target: at
    // most 1.1x).
    let draw_s = wall;
    for (label, media, wall, cpu) in rows {
        let against = if label.starts_with("audio +") {
            format!("{:.2}x", wall / draw_s)
        } else {
            String::new()
        };
        println!(
            "| {label:<38} | {media:>10.1} | {wall:>8.2} | {:>11.2}× | {against:>18} | {:>10.2} |",
            media / wall,
            cpu / wall
        );
    }
    println!(
        "\ncores busy: CPU time (this process, its threads and the ffmpeg it waited for) over wall time, of {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

/// CPU seconds so far: this process's threads (Mesa's rasterizer threads included) and the
/// children it has waited for (ffmpeg), from `/proc/self/stat`.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime, stime, cutime, cstime are fields 14..=17; here 0-based after the name: 11..=14.
    let ticks: u64 = f.get(11..15).map_or(0, |t| t.iter().sum());
    ticks as f64 / 100.0
}
