use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::sync_channel;

use indicatif::{ProgressBar, ProgressStyle};

use super::{EXIT_BAD_INPUT, EXIT_MISSING, EXIT_OUTPUT_FAILED, print_diagnostics};
use crate::offline::render_wav;
use crate::render::capture::{CaptureError, VideoSettings, frame_count, render_frames};
use crate::render::offscreen::write_png;

pub struct RenderArgs {
    pub source: super::Source,
    pub out: PathBuf,
    pub seconds: Option<f64>,
    pub video: VideoSettings,
    /// Skip the MP4 even when ffmpeg is available.
    pub no_mp4: bool,
    /// Write no PNG frames: the pictures go only into the MP4 (with `no_mp4` too, only the
    /// WAV is written and nothing is drawn).
    pub no_frames: bool,
    pub limiter: super::LimiterArgs,
    /// Bring the render to this integrated loudness (LUFS), under the limiter's ceiling.
    pub loudness_lufs: Option<f64>,
    /// An output map: every output's frames, as its projector would show them.
    pub outputs: Option<crate::show::outputs::OutputMap>,
}

pub(super) fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix:>6} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// `somnia render PERFORMANCE --out DIR`.
pub fn run(args: &RenderArgs) -> i32 {
    let (mut timeline, name) = match args.source.load() {
        Ok(t) => t,
        Err(d) => {
            print_diagnostics(&d);
            return EXIT_BAD_INPUT;
        }
    };
    args.limiter.apply(&mut timeline.master);
    let seconds = args.seconds.unwrap_or(timeline.duration_s);
    if !(seconds > 0.0 && seconds.is_finite()) {
        eprintln!("somnia render: --seconds must be more than zero");
        return EXIT_BAD_INPUT;
    }
    let frames_dir = args.out.join("frames");
    if let Err(e) = prepare_frames_dir(&frames_dir, args.no_frames) {
        eprintln!("somnia render: cannot prepare {}: {e}", args.out.display());
        return EXIT_BAD_INPUT;
    }

    let wav_path = args.out.join(format!("{name}.wav"));
    let total_samples = crate::clock::seconds_to_samples(seconds, crate::SAMPLE_RATE_HZ);
    // Every path gives the same bytes; which one ran is worth knowing when timing a render.
    eprintln!(
        "somnia render: voices on the {} path",
        crate::audio::SimdPath::from_env().name()
    );
    let pb = bar(total_samples, "audio");
    let track = match render_wav(&timeline, seconds, &wav_path, |done| pb.set_position(done)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("somnia render: cannot write {}: {e}", wav_path.display());
            return EXIT_BAD_INPUT;
        }
    };
    pb.finish();
    if let Some(target) = args.loudness_lufs {
        // Under the limiter's own ceiling; without the limiter, under the usual -1 dBTP.
        let ceiling_dbtp = if timeline.master.limiter_enabled {
            f64::from(timeline.master.limiter_ceiling_db)
        } else {
            -1.0
        };
        use crate::offline::loudness::{LoudnessError, normalise_wav};
        match normalise_wav(&wav_path, target, ceiling_dbtp) {
            Ok(n) => eprintln!(
                "somnia render: loudness {:.1} LUFS, true peak {:.1} dBTP as rendered; {:+.2} dB makes it {:.1} LUFS{}",
                n.measured_lufs,
                n.true_peak_dbtp,
                n.gain_db,
                n.result_lufs,
                if n.held_by_ceiling {
                    format!(
                        ", held under the {ceiling_dbtp:.1} dBTP ceiling (the target was {target:.1})"
                    )
                } else {
                    String::new()
                }
            ),
            Err(e @ LoudnessError::Silent { .. }) => {
                eprintln!("somnia render: warning: {e}; left as it is");
            }
            Err(e) => {
                eprintln!("somnia render: {e}");
                return EXIT_OUTPUT_FAILED;
            }
        }
    }

    if args.no_frames && args.no_mp4 {
        println!("somnia render: wrote {}", wav_path.display());
        return 0;
    }
    if let Some(map) = &args.outputs {
        return render_outputs(&timeline, &track, map, args, seconds, &wav_path);
    }
    let video = args.video;
    let n_frames = frame_count(seconds, video.fps);
    let mp4_path = args.out.join(format!("{name}.mp4"));
    // The encoder writes beside it and the file is renamed when it is complete: a failed or
    // interrupted encode never leaves a broken MP4, and an older render's never stays beside
    // these frames.
    let partial_mp4 = args.out.join(format!("{name}.partial.mp4"));
    if !remove_old(&[&mp4_path, &partial_mp4]) {
        return EXIT_BAD_INPUT;
    }
    let ffmpeg = if args.no_mp4 {
        None
    } else {
        start_ffmpeg(video, &wav_path, &partial_mp4)
    };
    if args.no_frames && ffmpeg.is_none() {
        eprintln!("{NOWHERE_FOR_FRAMES}");
        return EXIT_MISSING;
    }
    let pb = bar(n_frames, "frames");

    // PNG encoding and the ffmpeg pipe run on their own thread while the GPU draws the next frame.
    let (tx, rx) = sync_channel::<(u64, Vec<u8>)>(3);
    let writer_dir = (!args.no_frames).then(|| frames_dir.clone());
    let writer = std::thread::spawn(move || -> std::io::Result<Option<Child>> {
        let mut ffmpeg = ffmpeg;
        for (i, rgba) in rx {
            if let Some(dir) = &writer_dir {
                write_png(
                    &dir.join(format!("{i:06}.png")),
                    video.width,
                    video.height,
                    &rgba,
                )?;
            }
            feed(&mut ffmpeg, &rgba, writer_dir.is_some());
        }
        Ok(ffmpeg)
    });
    let mut first_frame = None;
    let result = render_frames(&timeline, &track, video, seconds, |i, rgba| {
        first_frame.get_or_insert_with(std::time::Instant::now);
        pb.set_position(i + 1);
        tx.send((i, rgba))
            .map_err(|_| std::io::Error::other("the frame writer stopped"))
    });
    drop(tx);
    pb.finish();
    say_first_frame(first_frame);
    let ffmpeg = match writer.join() {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => {
            eprintln!(
                "somnia render: cannot write frames into {}: {e}",
                frames_dir.display()
            );
            return EXIT_BAD_INPUT;
        }
        Err(_) => {
            eprintln!("somnia render: the frame writer crashed");
            return EXIT_BAD_INPUT;
        }
    };
    if let Err(e) = result {
        eprintln!("somnia render: {e}");
        return match e {
            CaptureError::Shaders(_) => EXIT_BAD_INPUT,
            _ => EXIT_MISSING,
        };
    }
    let mut made = vec![wav_path.display().to_string()];
    if !args.no_frames {
        made.push(format!("{} ({} frames)", frames_dir.display(), n_frames));
    }
    let mut status = 0;
    if let Some(child) = ffmpeg {
        if finish_mp4(child, &partial_mp4, &mp4_path) {
            made.push(mp4_path.display().to_string());
        } else {
            status = EXIT_OUTPUT_FAILED;
        }
    }
    println!("somnia render: wrote {}", made.join(", "));
    status
}

/// Start-up in a figure: when the first frame was drawn and read back, from the launch.
fn say_first_frame(at: Option<std::time::Instant>) {
    if let Some(at) = at {
        eprintln!(
            "somnia render: the first frame was drawn {:.2} s after launch",
            crate::bridge::launch::since_launch_s(at)
        );
    }
}

/// What `--no-frames` says when there is no ffmpeg to take the pictures.
pub(super) const NOWHERE_FOR_FRAMES: &str = "somnia render: with --no-frames the pictures go only into the MP4, and there is no ffmpeg to make it (install ffmpeg, or render without --no-frames)";

/// Hands one frame to ffmpeg, if it still runs; one that stopped early is said once and let go
/// (the render goes on: the WAV, and the PNG frames when `frames`, are still written).
pub(super) fn feed(ffmpeg: &mut Option<Child>, rgba: &[u8], frames: bool) {
    if let Some(stdin) = ffmpeg.as_mut().and_then(|c| c.stdin.as_mut()) {
        if stdin.write_all(rgba).is_err() {
            eprintln!(
                "somnia render: ffmpeg stopped early{}",
                if frames {
                    "; the PNG frames are still written"
                } else {
                    ""
                }
            );
            *ffmpeg = None;
        }
    }
}

/// Closes ffmpeg's input and waits for it; the MP4 it wrote beside `mp4` is renamed into place
/// when it is complete, else removed (and said). True when the MP4 is there.
pub(super) fn finish_mp4(mut child: Child, partial: &Path, mp4: &Path) -> bool {
    drop(child.stdin.take());
    let encoded = matches!(child.wait(), Ok(s) if s.success());
    if encoded && std::fs::rename(partial, mp4).is_ok() {
        return true;
    }
    let _ = remove_if_there(partial);
    eprintln!(
        "somnia render: ffmpeg could not make {} (its error is above); the WAV and PNG frames are complete",
        mp4.display()
    );
    false
}

/// The frames of every output of `map`: DIR/frames/OUTPUT/*.png, and with ffmpeg
/// DIR/NAME-OUTPUT.mp4 each.
fn render_outputs(
    timeline: &crate::show::Timeline,
    track: &crate::bridge::AnalysisTrack,
    map: &crate::show::outputs::OutputMap,
    args: &RenderArgs,
    seconds: f64,
    wav_path: &Path,
) -> i32 {
    let fps = args.video.fps;
    let n_frames = frame_count(seconds, fps);
    let name = wav_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("render")
        .to_string();
    let mut sinks = Vec::new();
    for o in &map.outputs {
        let dir = args.out.join("frames").join(&o.name);
        if let Err(e) = prepare_frames_dir(&dir, args.no_frames) {
            eprintln!("somnia render: cannot prepare {}: {e}", dir.display());
            return EXIT_BAD_INPUT;
        }
        let mp4 = args.out.join(format!("{name}-{}.mp4", o.name));
        let partial = args.out.join(format!("{name}-{}.partial.mp4", o.name));
        if !remove_old(&[&mp4, &partial]) {
            return EXIT_BAD_INPUT;
        }
        let video = VideoSettings {
            width: o.size.0,
            height: o.size.1,
            ..args.video
        };
        let ffmpeg = if args.no_mp4 {
            None
        } else {
            start_ffmpeg(video, wav_path, &partial)
        };
        if args.no_frames && ffmpeg.is_none() {
            eprintln!("{NOWHERE_FOR_FRAMES}");
            return EXIT_MISSING;
        }
        sinks.push((dir, video, ffmpeg, partial, mp4));
    }
    let mut frames =
        match crate::render::capture::MappedFrames::new(timeline, map, args.video.flash_guard) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("somnia render: {e}");
                return match e {
                    CaptureError::Shaders(_) => EXIT_BAD_INPUT,
                    _ => EXIT_MISSING,
                };
            }
        };
    frames.set_frame_interval(1.0 / fps as f32);
    let pb = bar(n_frames, "frames");
    let mut first_frame = None;
    for i in 0..n_frames {
        let t = i as f64 / f64::from(fps);
        let pictures = match frames.frames_at(timeline, track, t) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("somnia render: {e}");
                return EXIT_MISSING;
            }
        };
        first_frame.get_or_insert_with(std::time::Instant::now);
        for ((dir, video, ffmpeg, _, _), rgba) in sinks.iter_mut().zip(pictures) {
            if !args.no_frames {
                if let Err(e) = write_png(
                    &dir.join(format!("{i:06}.png")),
                    video.width,
                    video.height,
                    &rgba,
                ) {
                    eprintln!(
                        "somnia render: cannot write frames into {}: {e}",
                        dir.display()
                    );
                    return EXIT_BAD_INPUT;
                }
            }
            feed(ffmpeg, &rgba, !args.no_frames);
        }
        pb.set_position(i + 1);
    }
    pb.finish();
    say_first_frame(first_frame);
    if args.no_frames {
        // Each output's folder went as it was cleared; theirs too, when nothing else is in it.
        let _ = std::fs::remove_dir(args.out.join("frames"));
    }
    let mut made = vec![wav_path.display().to_string()];
    let mut status = 0;
    for (dir, _, ffmpeg, partial, mp4) in sinks {
        if !args.no_frames {
            made.push(format!("{} ({n_frames} frames)", dir.display()));
        }
        if let Some(child) = ffmpeg {
            if finish_mp4(child, &partial, &mp4) {
                made.push(mp4.display().to_string());
            } else {
                status = EXIT_OUTPUT_FAILED;
            }
        }
    }
    println!("somnia render: wrote {}", made.join(", "));
    status
}

/// Removes an older render's files, saying which one could not be (then false).
pub(super) fn remove_old(paths: &[&Path]) -> bool {
    for stale in paths {
        if let Err(e) = remove_if_there(stale) {
            eprintln!(
                "somnia render: cannot remove the old {}: {e}",
                stale.display()
            );
            return false;
        }
    }
    true
}

/// Removes `path` if it exists.
fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Clears an earlier render's PNG frames from `frames` (they would otherwise lie beside ours,
/// or beside an MP4 they are not of); the folder is left for our frames, or removed when
/// `no_frames` and nothing else is in it.
pub(super) fn prepare_frames_dir(frames: &Path, no_frames: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(frames)?;
    for e in std::fs::read_dir(frames)?.flatten() {
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) == Some("png") {
            std::fs::remove_file(p)?;
        }
    }
    if no_frames {
        // Fails, harmlessly, when something else is in it.
        let _ = std::fs::remove_dir(frames);
    }
    Ok(())
}

/// Starts ffmpeg reading raw RGBA frames from stdin and the WAV from disk, if ffmpeg exists.
/// H.264 in 4:2:0 needs even sizes: an odd one is padded by a black line or column (the PNG
/// frames keep the size asked for).
pub(super) fn start_ffmpeg(video: VideoSettings, wav: &Path, mp4: &Path) -> Option<Child> {
    let size = format!("{}x{}", video.width, video.height);
    let fps = video.fps.to_string();
    let even = |n: u32| n + n % 2;
    let (w, h) = (even(video.width), even(video.height));
    if (w, h) != (video.width, video.height) {
        eprintln!(
            "somnia render: the MP4 is {w}x{h}, padded with black (H.264 needs even sizes); the PNG frames are {size}"
        );
    }
    let pad = format!("pad={w}:{h}:0:0:black");
    let child = Command::new("ffmpeg")
        .args([
            "-y",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgba",
            "-s",
            &size,
            "-framerate",
            &fps,
            "-i",
            "-",
        ])
        .arg("-i")
        .arg(wav)
        .args([
            "-vf",
            &pad,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            "-shortest",
            "-f",
            "mp4",
        ])
        .arg(mp4)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn();
    match child {
        Ok(c) => Some(c),
        Err(_) => {
            eprintln!("somnia render: ffmpeg is not on PATH; skipping the MP4");
            None
        }
    }
}
