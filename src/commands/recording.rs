//! `--record FILE` for `play` and `kiosk`: the engine's own output, before the sound card, to a
//! WAV file (the reference a journal's re-render equals). A file that cannot be made is
//! refused before the show, with exit status 3.

use std::path::Path;

use crate::audio::recorder::Recorder;
use crate::bridge::RecordTap;

/// The recorder (finished when dropped, after the sound) and the tap the audio callback
/// hands its blocks to; both `None` without `--record`.
pub type Recording = (Option<Recorder>, Option<RecordTap>);

/// Starts recording into `path`, if given; `Err` is the exit status.
pub fn start(
    path: Option<&Path>,
    rate: u32,
    latency_frames: usize,
    who: &'static str,
) -> Result<Recording, i32> {
    let Some(path) = path else {
        return Ok((None, None));
    };
    let said = move |r: crate::audio::recorder::Recorded| {
        let lost = if r.dropped_frames > 0 {
            format!(
                "; {} frame(s) were lost, the disk falling behind",
                r.dropped_frames
            )
        } else {
            String::new()
        };
        tracing::info!(
            "{who}: recorded {:.1} s of the engine's output to {}{lost}",
            r.frames as f64 / f64::from(crate::SAMPLE_RATE_HZ),
            r.path.display()
        );
    };
    match Recorder::start(path, rate, latency_frames, said) {
        Ok((recorder, tap)) => Ok((Some(recorder), Some(tap))),
        Err(e) => {
            tracing::error!("{who}: {e}");
            Err(super::EXIT_OUTPUT_FAILED)
        }
    }
}
