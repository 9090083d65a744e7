//! The engine's output made again from a show's journal: a new engine with the settings the
//! show's started with, given each entry on the output frame the live engine applied it
//! (an event, a pause, a seek, a rate), as fast as the machine allows. The engine's output does
//! not depend on how it is cut into blocks, so this is the live output, bit for bit: what
//! `somnia play --record` wrote.

use crate::audio::Engine;
use crate::bridge::journal_tap::{Applied, Entry};
use crate::bridge::{AnalysisTrack, Event, event_queue};
use crate::show::journal::Start;

/// The most events the engine applied on one frame that a replay can give it (a seek's chase
/// is a few dozen).
const EVENTS_AT_ONCE: usize = 1 << 14;
/// Frames per block between entries.
const BLOCK_FRAMES: u64 = 256;

/// Why a journal's sound cannot be made again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error("more than {EVENTS_AT_ONCE} events on frame {frame}: the journal is damaged")]
    TooManyAtOnce { frame: u64 },
    #[error("writing the sound: {0}")]
    Io(#[from] std::io::Error),
}

/// What a replay learnt besides the sound: where the show's clock stood at every output frame,
/// and the sound's analysis, which the picture is drawn from.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Each stretch rendered: its first output frame and the show's clock there, its end and
    /// the show's clock there (samples). A pause stands still; a seek starts a new stretch.
    pub clock: Vec<(u64, u64, u64, u64)>,
    /// The analysis every [`BLOCK_FRAMES`] output frames, from block `track_from_block` on
    /// (only what the picture asked for is kept: an hour of it is half a gigabyte).
    pub track: AnalysisTrack,
    pub track_from_block: u64,
}

impl Replayed {
    /// The show's clock (samples) at output frame `frame`.
    pub fn show_sample_at(&self, frame: u64) -> u64 {
        let i = self.clock.partition_point(|c| c.0 <= frame);
        let Some(&(f0, s0, f1, s1)) = i.checked_sub(1).and_then(|i| self.clock.get(i)) else {
            return 0;
        };
        if f1 <= f0 || frame >= f1 {
            return s1;
        }
        let t = (frame - f0) as f64 / (f1 - f0) as f64;
        s0 + ((s1 as f64 - s0 as f64) * t).round() as u64
    }

    /// The sound's analysis as of output frame `frame` (the default before what was kept).
    pub fn analysis_at(&self, frame: u64) -> crate::bridge::Analysis {
        let from = self.track_from_block * BLOCK_FRAMES;
        if frame < from {
            return crate::bridge::Analysis::default();
        }
        self.track
            .at((frame - from) as f64 / f64::from(self.track.sample_rate_hz.max(1)))
    }
}

/// Makes output frames `latency..frames` of the show `start` describes with `entries` (the
/// limiter's lookahead at the start left out, as the live recording leaves it out), handing
/// each block (interleaved stereo) to `sink`; `progress` hears the frames done. The analysis
/// is kept from output frame `analysis_from` on (`None`: not at all).
pub fn replay_blocks<'a>(
    start: &Start,
    entries: impl IntoIterator<Item = &'a Entry>,
    frames: u64,
    analysis_from: Option<u64>,
    mut sink: impl FnMut(&[f32]) -> std::io::Result<()>,
    mut progress: impl FnMut(u64),
) -> Result<Replayed, ReplayError> {
    let track_from_block = analysis_from.map_or(u64::MAX, |f| f / BLOCK_FRAMES);
    let mut replayed = Replayed {
        track_from_block,
        clock: Vec::new(),
        track: AnalysisTrack {
            sample_rate_hz: start.sample_rate_hz,
            block_frames: BLOCK_FRAMES as usize,
            blocks: Vec::new(),
            shapes: Vec::new(),
        },
    };
    let (mut tx, rx) = event_queue(EVENTS_AT_ONCE);
    let mut engine = Engine::new(start.sample_rate_hz, start.patch, rx);
    engine.apply_master(&start.master);
    let mut skip = engine.latency_samples();
    let mut entries = entries.into_iter().peekable();
    let mut buf = vec![0.0f32; 2 * BLOCK_FRAMES as usize];
    let mut paused = false;
    let mut done = 0u64;
    while done < frames {
        // What the live engine did before rendering this frame, in the order it did it.
        while let Some(e) = entries.next_if(|e| e.frame <= done) {
            match e.what {
                Applied::Event(kind) => {
                    let at_sample = engine.show_position_samples();
                    if tx.push(Event { at_sample, kind }).is_err() {
                        return Err(ReplayError::TooManyAtOnce { frame: e.frame });
                    }
                }
                Applied::Pause(p) => paused = p,
                // A damaged journal's locate is held to what a show can reach.
                Applied::Seek(sample) => {
                    engine.seek(sample.min(crate::show::journal::record::MAX_FRAMES))
                }
                Applied::Rate(rate) => engine.set_show_rate(rate),
            }
        }
        let until = entries.peek().map_or(frames, |e| e.frame.min(frames));
        // Stretches end on whole blocks too, where the analysis is taken.
        let n = (until - done).min(BLOCK_FRAMES - done % BLOCK_FRAMES) as usize;
        let block = &mut buf[..2 * n];
        let clock_from = engine.show_position_samples();
        engine.process(block, paused);
        let end = done + n as u64;
        let clock_to = engine.show_position_samples();
        match replayed.clock.last_mut() {
            // One stretch for as long as the clock runs on at one rate (or stands).
            Some(last)
                if last.2 == done && last.3 == clock_from && {
                    let (f, s) = (last.2 - last.0, last.3 - last.1);
                    s * n as u64 == (clock_to - clock_from) * f
                } =>
            {
                last.2 = end;
                last.3 = clock_to;
            }
            _ => replayed.clock.push((done, clock_from, end, clock_to)),
        }
        if end % BLOCK_FRAMES == 0 && end / BLOCK_FRAMES > track_from_block {
            replayed.track.push(engine.analysis());
        }
        let left_out = skip.min(n);
        skip -= left_out;
        if left_out < n {
            sink(&block[2 * left_out..])?;
        }
        done += n as u64;
        progress(done);
    }
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::journal_tap::journal_channel;
    use crate::bridge::{AudioParam, Curve, EventKind, MasterSettings, Patch};

    fn start() -> Start {
        Start::default()
    }

    /// A live engine as a device drives it: blocks of an odd size, a scheduled note, live
    /// notes and a ramp arriving mid-show, a pause, a seek and a change of the show's rate.
    /// Returns its output (less the lookahead) and what its journal tap heard.
    fn live_show() -> (Vec<f32>, Vec<Entry>, u64) {
        let (mut tx, rx) = event_queue(64);
        let (mut live_tx, live_rx) = event_queue(64);
        let mut engine = Engine::new(48_000, Patch::default(), rx);
        engine.apply_master(&MasterSettings::default());
        engine.attach_live_queue(live_rx);
        let (tap, mut drain) = journal_channel(1 << 12);
        engine.attach_journal(tap);
        let skip = engine.latency_samples();
        tx.push(Event {
            at_sample: 1000,
            kind: EventKind::NoteOn {
                note: 57,
                velocity: 0.9,
            },
        })
        .unwrap();
        let mut out = Vec::new();
        let mut block = vec![0.0f32; 2 * 173];
        for b in 0..400u64 {
            match b {
                40 => live_tx
                    .push(Event {
                        at_sample: 0,
                        kind: EventKind::NoteOn {
                            note: 64,
                            velocity: 0.7,
                        },
                    })
                    .unwrap(),
                60 => live_tx
                    .push(Event {
                        at_sample: engine.show_position_samples() + 77,
                        kind: EventKind::SetParam {
                            param: AudioParam::CutoffHz,
                            value: 600.0,
                            ramp_samples: 9000,
                            curve: Curve::Linear,
                        },
                    })
                    .unwrap(),
                150 => engine.set_show_rate(1.013),
                200 => engine.seek(5 * 48_000 + 11),
                210 => live_tx
                    .push(Event {
                        at_sample: 0,
                        kind: EventKind::NoteOn {
                            note: 69,
                            velocity: 1.0,
                        },
                    })
                    .unwrap(),
                _ => {}
            }
            let paused = (260..300).contains(&b);
            engine.process(&mut block, paused);
            out.extend_from_slice(&block);
        }
        let mut entries = Vec::new();
        drain.drain(|e| entries.push(e));
        let frames = drain.frames();
        (out.split_off(2 * skip), entries, frames)
    }

    #[test]
    fn a_replayed_journal_gives_the_live_engines_output_bit_for_bit() {
        let (live, entries, frames) = live_show();
        assert_eq!(frames, 400 * 173);
        // Every kind of entry was heard: events, the rate, the seek and the pause both ways.
        let kinds = |f: fn(&Applied) -> bool| entries.iter().filter(|e| f(&e.what)).count();
        assert_eq!(kinds(|a| matches!(a, Applied::Event(_))), 4);
        assert_eq!(kinds(|a| matches!(a, Applied::Rate(_))), 1);
        assert_eq!(kinds(|a| matches!(a, Applied::Seek(_))), 1);
        assert_eq!(kinds(|a| matches!(a, Applied::Pause(_))), 2);
        let mut again = Vec::new();
        replay_blocks(
            &start(),
            &entries,
            frames,
            None,
            |b| {
                again.extend_from_slice(b);
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        assert_eq!(again.len(), live.len());
        let rms = (live.iter().map(|s| s * s).sum::<f32>() / live.len() as f32).sqrt();
        assert!(rms > 0.01, "the show was silent: {rms}");
        let first_difference = live
            .iter()
            .zip(&again)
            .position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(first_difference, None);
    }

    #[test]
    fn a_journal_cut_short_replays_up_to_its_last_frame() {
        let (live, entries, _) = live_show();
        let cut = 123 * 173;
        let mut again = Vec::new();
        let kept = entries.iter().filter(|e| e.frame <= cut);
        replay_blocks(
            &start(),
            kept,
            cut,
            None,
            |b| {
                again.extend_from_slice(b);
                Ok(())
            },
            |_| {},
        )
        .unwrap();
        assert!(again[..] == live[..again.len()]);
    }
}
