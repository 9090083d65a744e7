//! `somnia render --journal FILE`: a live show made again from its journal alone, no project
//! files needed. The sound is the engine's live output, bit for bit (what `play --record`
//! wrote), from the journal's engine entries; the picture is drawn again at any size and rate
//! (`journal_picture.rs`); `--from`/`--to` cut a stretch out (the engine still runs from the
//! start, as the show did, and only the stretch is written).

use std::path::{Path, PathBuf};

use super::journal_picture::{FramesWanted, draw_frames, frame_count};
use super::{EXIT_BAD_INPUT, EXIT_OUTPUT_FAILED};
use crate::offline::replay::replay_blocks;
use crate::render::offscreen::write_png;
use crate::show::journal::Journal;

/// What `render --journal` was asked.
#[derive(Debug, Clone)]
pub struct JournalRender {
    pub journal: PathBuf,
    pub out: PathBuf,
    /// Seconds of the show (as it was heard, pauses included) to start and end at.
    pub from_s: Option<f64>,
    pub to_s: Option<f64>,
    pub loudness_lufs: Option<f64>,
    /// The frames' size (default: the live window's) and rate.
    pub size: Option<(u32, u32)>,
    pub fps: u32,
    pub no_frames: bool,
    pub no_mp4: bool,
}

pub fn run(args: &JournalRender) -> i32 {
    const WHO: &str = "somnia render";
    let journal = match Journal::read(&args.journal) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("{WHO}: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let Some(start) = journal.start() else {
        return EXIT_BAD_INPUT;
    };
    if start.somnia != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "{WHO}: warning: the show ran Somnia {}, this is {}: the sound may differ",
            start.somnia,
            env!("CARGO_PKG_VERSION")
        );
    }
    if !journal.ended() {
        eprintln!(
            "{WHO}: {} was cut off (the show did not end cleanly{}): rendering the {:.1} s it holds",
            args.journal.display(),
            if journal.torn_bytes > 0 {
                format!("; {} bytes of a last record left aside", journal.torn_bytes)
            } else {
                String::new()
            },
            journal.frames() as f64 / f64::from(start.sample_rate_hz)
        );
    }
    if journal.dropped() > 0 {
        eprintln!(
            "{WHO}: warning: the show's engine lost {} of its journal entries (its ring was \
             full): the sound may differ from the first of them",
            journal.dropped()
        );
    }
    let picture = !(args.no_frames && args.no_mp4);
    let performance = super::journal_picture::drawable(&journal);
    if picture && performance.is_none() {
        eprintln!(
            "{WHO}: the journal does not say what its show played (a performance, a preset or \
             a kiosk); writing the sound only"
        );
    }
    let rate = start.sample_rate_hz;
    let latency = u64::from(start.latency_frames);
    let heard_frames = journal.frames().saturating_sub(latency);
    let at = |s: Option<f64>, or: u64| {
        s.map_or(or, |s| {
            crate::clock::seconds_to_samples(s.max(0.0), rate).min(heard_frames)
        })
    };
    let (from, to) = (at(args.from_s, 0), at(args.to_s, heard_frames));
    if from >= to {
        eprintln!(
            "{WHO}: nothing to render: --from {:.3} s is not before --to {:.3} s (the show holds {:.3} s)",
            from as f64 / f64::from(rate),
            to as f64 / f64::from(rate),
            heard_frames as f64 / f64::from(rate)
        );
        return EXIT_BAD_INPUT;
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("{WHO}: cannot make {}: {e}", args.out.display());
        return EXIT_OUTPUT_FAILED;
    }
    let stem = args
        .journal
        .file_stem()
        .map_or_else(|| "journal".into(), |s| s.to_string_lossy().into_owned());
    let wav_path = args.out.join(format!("{stem}.wav"));
    // The sound's analysis is kept for the frames only, and only from where they start.
    let analysis_from = (picture && performance.is_some()).then_some(from + latency);
    let replayed = match write_wav(&journal, &wav_path, from, to, analysis_from) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{WHO}: cannot write {}: {e}", wav_path.display());
            return EXIT_OUTPUT_FAILED;
        }
    };
    if let Some(target) = args.loudness_lufs {
        let ceiling_dbtp = if start.master.limiter_enabled {
            f64::from(start.master.limiter_ceiling_db)
        } else {
            -1.0
        };
        match crate::offline::loudness::normalise_wav(&wav_path, target, ceiling_dbtp) {
            Ok(n) => eprintln!(
                "{WHO}: loudness {:.1} LUFS as played; {:+.2} dB makes it {:.1} LUFS",
                n.measured_lufs, n.gain_db, n.result_lufs
            ),
            Err(e) => eprintln!("{WHO}: warning: {e}; left as it is"),
        }
    }
    let mut made = vec![wav_path.display().to_string()];
    let mut status = 0;
    if let (true, Some(performance)) = (picture, performance) {
        // The live window's size, where the journal's is one a render can make (as
        // `--size` checks it).
        let live = (start.width, start.height);
        let (width, height) = args
            .size
            .or([live.0, live.1]
                .iter()
                .all(|n| (16..=8192).contains(n))
                .then_some(live))
            .unwrap_or((1280, 720));
        let wanted = FramesWanted {
            width,
            height,
            fps: args.fps.max(1),
            from,
            to,
        };
        match draw(
            args,
            &journal,
            &replayed,
            performance,
            wanted,
            &wav_path,
            &stem,
        ) {
            Ok(mut m) => made.append(&mut m),
            Err(code) => status = code,
        }
    }
    println!(
        "{WHO}: wrote {} ({:.2} s of `{}` from its journal)",
        made.join(", "),
        (to - from) as f64 / f64::from(rate),
        start.title
    );
    status
}

/// The frames (DIR/frames/*.png unless --no-frames) and the MP4 (with ffmpeg, unless
/// --no-mp4); what was made, or the exit status.
fn draw(
    args: &JournalRender,
    journal: &Journal,
    replayed: &crate::offline::replay::Replayed,
    drawn: super::journal_picture::Drawn<'_>,
    wanted: FramesWanted,
    wav_path: &Path,
    stem: &str,
) -> Result<Vec<String>, i32> {
    use super::render::{
        NOWHERE_FOR_FRAMES, feed, finish_mp4, prepare_frames_dir, remove_old, start_ffmpeg,
    };
    const WHO: &str = "somnia render";
    let frames_dir = args.out.join("frames");
    if let Err(e) = prepare_frames_dir(&frames_dir, args.no_frames) {
        eprintln!("{WHO}: cannot prepare {}: {e}", frames_dir.display());
        return Err(EXIT_BAD_INPUT);
    }
    let (mp4, partial) = (
        args.out.join(format!("{stem}.mp4")),
        args.out.join(format!("{stem}.partial.mp4")),
    );
    if !remove_old(&[&mp4, &partial]) {
        return Err(EXIT_BAD_INPUT);
    }
    let video = crate::render::capture::VideoSettings {
        flash_guard: journal.start().is_none_or(|s| s.flash_guard),
        width: wanted.width,
        height: wanted.height,
        fps: wanted.fps,
    };
    let mut ffmpeg = if args.no_mp4 {
        None
    } else {
        start_ffmpeg(video, wav_path, &partial)
    };
    if args.no_frames && ffmpeg.is_none() {
        eprintln!("{NOWHERE_FOR_FRAMES}");
        return Err(super::EXIT_MISSING);
    }
    let rate = journal
        .start()
        .map_or(48_000.0, |s| f64::from(s.sample_rate_hz));
    let pb = super::render::bar(frame_count(&wanted, rate), "frames");
    let drawn = draw_frames(journal, replayed, drawn, wanted, |i, rgba| {
        if !args.no_frames {
            write_png(
                &frames_dir.join(format!("{i:06}.png")),
                wanted.width,
                wanted.height,
                rgba,
            )
            .map_err(|e| format!("cannot write frames into {}: {e}", frames_dir.display()))?;
        }
        feed(&mut ffmpeg, rgba, !args.no_frames);
        pb.set_position(i + 1);
        Ok(())
    });
    pb.finish();
    let n = match drawn {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{WHO}: {e}");
            return Err(EXIT_BAD_INPUT);
        }
    };
    let mut made = Vec::new();
    if !args.no_frames {
        made.push(format!("{} ({n} frames)", frames_dir.display()));
    }
    if let Some(child) = ffmpeg {
        if !finish_mp4(child, &partial, &mp4) {
            return Err(EXIT_OUTPUT_FAILED);
        }
        made.push(mp4.display().to_string());
    }
    Ok(made)
}

/// Writes heard frames `from..to` of the journal's show to a WAV at `path`, in the offline
/// render's format (and `play --record`'s).
fn write_wav(
    journal: &Journal,
    path: &Path,
    from: u64,
    to: u64,
    analysis_from: Option<u64>,
) -> Result<crate::offline::replay::Replayed, String> {
    let Some(start) = journal.start() else {
        return Err("no start record".into());
    };
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: start.sample_rate_hz,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(|e| e.to_string())?;
    let latency = u64::from(start.latency_frames);
    // Heard frame n is engine frame n + the lookahead, which the replay leaves out.
    let mut heard = 0u64;
    let pb = super::render::bar(to, "audio");
    let replayed = replay_blocks(
        start,
        journal.entries(),
        to + latency,
        analysis_from,
        |block| {
            let frames = (block.len() / 2) as u64;
            let skip = from.saturating_sub(heard).min(frames) as usize;
            for s in &block[2 * skip..] {
                writer.write_sample(*s).map_err(std::io::Error::other)?;
            }
            heard += frames;
            Ok(())
        },
        |done| pb.set_position(done.saturating_sub(latency)),
    )
    .map_err(|e| e.to_string())?;
    pb.finish();
    writer.finalize().map_err(|e| e.to_string())?;
    Ok(replayed)
}
