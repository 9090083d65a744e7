//! Offline rendering: the show's scheduler and the same [`Engine::process`] the sound card
//! calls, driven by one plain loop on the caller's thread, as fast as the machine allows, into
//! a WAV file (48 kHz stereo 32-bit float, via hound). The same performance and settings
//! always give the same bytes. It sits above `audio/` and `show/` because it is both sides of
//! the queue at once: the control side's feeding and the audio side's processing, taking turns.

use std::path::Path;

pub mod loudness;
pub mod replay;

use crate::audio::Engine;
use crate::bridge::{AnalysisTrack, event_queue};
use crate::show::Timeline;
use crate::show::scheduler::Scheduler;

/// Frames per block in offline renders.
pub const OFFLINE_BLOCK_FRAMES: usize = 256;

/// Renders `seconds` of `timeline`, handing each block (interleaved stereo) to `sink`.
/// `progress` is told the frames done so far after every block.
pub fn render_blocks(
    timeline: &Timeline,
    seconds: f64,
    sample_rate_hz: u32,
    block_frames: usize,
    mut sink: impl FnMut(&[f32]) -> std::io::Result<()>,
    mut progress: impl FnMut(u64),
) -> std::io::Result<AnalysisTrack> {
    let total = crate::clock::seconds_to_samples(seconds, sample_rate_hz);
    let (mut tx, rx) = event_queue(1024);
    let mut scheduler = Scheduler::new(timeline, sample_rate_hz);
    let mut engine = Engine::new(sample_rate_hz, timeline.initial_patch, rx);
    engine.apply_master(&timeline.master);
    // The limiter looks ahead, so the output trails the clock by a few samples. Offline we can
    // remove that: skip the first `latency` output frames and render as many more at the end,
    // so a note cued at sample n starts at sample n of the file.
    let mut skip = engine.latency_samples();
    let total_out = total;
    let total = total + skip as u64;
    let mut buf = vec![0.0f32; 2 * block_frames];
    let mut track = AnalysisTrack {
        sample_rate_hz,
        block_frames,
        blocks: Vec::with_capacity((total as usize) / block_frames + 1),
        shapes: Vec::new(),
    };
    let mut done = 0u64;
    while done < total {
        let frames = (total - done).min(block_frames as u64) as usize;
        let block = &mut buf[..2 * frames];
        // Everything due before the end of this block; events that do not fit wait for the next.
        scheduler.feed(done + frames as u64, &mut tx);
        engine.process(block, false);
        let dropped = skip.min(frames);
        skip -= dropped;
        if dropped < frames {
            sink(&block[2 * dropped..])?;
        }
        track.push(engine.analysis());
        done += frames as u64;
        progress(done.min(total_out));
    }
    Ok(track)
}

/// Renders `seconds` of `timeline` to a WAV file at `path`.
pub fn render_wav(
    timeline: &Timeline,
    seconds: f64,
    path: &Path,
    progress: impl FnMut(u64),
) -> std::io::Result<AnalysisTrack> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: crate::SAMPLE_RATE_HZ,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(std::io::Error::other)?;
    let track = render_blocks(
        timeline,
        seconds,
        crate::SAMPLE_RATE_HZ,
        OFFLINE_BLOCK_FRAMES,
        |block| {
            for s in block {
                writer.write_sample(*s).map_err(std::io::Error::other)?;
            }
            Ok(())
        },
        progress,
    )?;
    writer.finalize().map_err(std::io::Error::other)?;
    Ok(track)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::compile::load_timeline;
    use std::path::Path;

    fn render(perf: &str, seconds: f64, block: usize) -> Vec<f32> {
        let tl = load_timeline(&Path::new(env!("CARGO_MANIFEST_DIR")).join(perf)).unwrap();
        let mut out = Vec::new();
        render_blocks(
            &tl,
            seconds,
            48_000,
            block,
            |b| {
                out.extend_from_slice(b);
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        out
    }

    #[test]
    fn a_whole_render_is_identical_at_every_block_size() {
        let a = render("performances/first-light.toml", 3.0, 64);
        assert_eq!(a.len(), 2 * 3 * 48_000);
        let rms = (a.iter().map(|s| s * s).sum::<f32>() / a.len() as f32).sqrt();
        assert!(rms > 0.01, "silent: rms {rms}");
        for block in [256, 1000] {
            let b = render("performances/first-light.toml", 3.0, block);
            assert!(a == b, "block size {block} changed the render");
        }
    }

    #[test]
    fn a_cued_note_starts_at_its_exact_sample_in_the_file() {
        // tests/fixtures/performances/switch.toml cues A4 at 0.25 s = sample 12000 and nothing
        // before it; the limiter's lookahead delay is taken out of offline renders.
        let out = render("tests/fixtures/performances/switch.toml", 0.5, 256);
        let first = out.chunks(2).position(|f| f[0] != 0.0 || f[1] != 0.0);
        assert_eq!(first, Some(12_000));
    }
}
