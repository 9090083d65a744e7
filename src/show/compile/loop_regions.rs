//! The `[[loop]]` regions, and the sound with them played out.

use super::compiler::Compiler;
use crate::show::loops::Loop;
use crate::show::timeline::{AudioAction, AudioCue};

impl Compiler<'_> {
    /// The `[[loop]]` regions, checked: each inside the performance, at least one pass, none
    /// overlapping another.
    pub(super) fn loop_regions(&mut self) -> Vec<Loop> {
        let mut out: Vec<(Loop, std::ops::Range<usize>)> = Vec::new();
        let duration_s = self.duration_s;
        for spanned in &self.file.loops {
            let l = spanned.get_ref();
            let (Some(from_s), Some(to_s)) = (self.time(&l.from), self.time(&l.to)) else {
                continue;
            };
            let times = *l.times.get_ref();
            if !(1..=1000).contains(&times) {
                self.report()
                    .error(l.times.span(), "times must be within 1..=1000");
                continue;
            }
            if from_s >= to_s || to_s > duration_s {
                self.report().error_hint(
                    spanned.span(),
                    format!("a loop from {from_s} s to {to_s} s does not fit"),
                    format!(
                        "`from` must come before `to`, both within the performance ({duration_s} s)"
                    ),
                );
                continue;
            }
            out.push((
                Loop {
                    from_s,
                    to_s,
                    times: times as u32,
                },
                spanned.span(),
            ));
        }
        out.sort_by(|a, b| a.0.from_s.total_cmp(&b.0.from_s));
        for pair in out.windows(2) {
            if pair[1].0.from_s < pair[0].0.to_s {
                self.report().error_hint(
                    pair[1].1.clone(),
                    format!(
                        "this loop ({} s to {} s) overlaps the one from {} s to {} s",
                        pair[1].0.from_s, pair[1].0.to_s, pair[0].0.from_s, pair[0].0.to_s
                    ),
                    "loops may follow each other but not overlap",
                );
            }
        }
        out.into_iter().map(|(l, _)| l).collect()
    }
}

/// The sound with the loops played out, in show time.
pub(super) fn unroll(loops: &[Loop], audio: Vec<AudioCue>) -> Vec<AudioCue> {
    let mut out = audio;
    // Innermost first is not a thing (no overlaps); later loops first keeps earlier shifts simple.
    for l in loops.iter().rev() {
        let mut next = Vec::with_capacity(out.len());
        for c in &out {
            if c.time_s < l.from_s {
                next.push(*c);
            } else if c.time_s < l.to_s {
                for k in 0..l.times {
                    next.push(AudioCue {
                        time_s: c.time_s + l.len_s() * f64::from(k),
                        ..*c
                    });
                }
            } else {
                next.push(AudioCue {
                    time_s: c.time_s + l.extra_s(),
                    ..*c
                });
            }
        }
        // Each jump back lets go of what was sounding, as a sequencer's loop does.
        for k in 1..l.times {
            next.push(AudioCue {
                time_s: l.from_s + l.len_s() * f64::from(k),
                action: AudioAction::AllNotesOff,
            });
        }
        out = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOPS: [Loop; 1] = [Loop {
        from_s: 10.0,
        to_s: 14.0,
        times: 3,
    }];

    #[test]
    fn the_sound_repeats_and_releases_at_each_jump_back() {
        let note = |t: f64| AudioCue {
            time_s: t,
            action: AudioAction::NoteOn {
                note: 60,
                velocity: 1.0,
            },
        };
        let out = unroll(&LOOPS, vec![note(1.0), note(12.0), note(16.0)]);
        let ons: Vec<f64> = out
            .iter()
            .filter(|c| matches!(c.action, AudioAction::NoteOn { .. }))
            .map(|c| c.time_s)
            .collect();
        assert_eq!(ons, [1.0, 12.0, 16.0, 20.0, 24.0]);
        let offs: Vec<f64> = out
            .iter()
            .filter(|c| c.action == AudioAction::AllNotesOff)
            .map(|c| c.time_s)
            .collect();
        assert_eq!(offs, [14.0, 18.0]);
    }
}
