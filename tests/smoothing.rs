//! Jumping a parameter whose jump would click (a level, a mix, the feedback, the cutoff) from
//! its low to its high end mid-note makes no click.
//!
//! Click definition: a sample-to-sample step larger than 1.5 times the largest step the
//! signal makes on its own in steady state (the 100 ms before the jump, or the 100 ms after it
//! has settled), over windows as long as the one checked. A sustained sine chord (A2, E3, A3) gives
//! the baseline: its own steps are small, so a click stands out. An unsmoothed gain jump from
//! -60 dB to 0 dB would step by about the signal's whole amplitude, many times that threshold
//! (checked below).
//!
//! The other parameters are smoothed too, but a click is not how a missing glide shows there:
//! the oscillators keep their phase through a pitch bend or detune, the delay crossfades its
//! taps when its time (delay beats, tempo) changes, the tape speed's effect fades in, and the
//! reverb's decay, damping and the filter's resonance reshape what follows rather than the
//! current sample. Jumped instantly, none of them steps past the threshold, so their glide is
//! checked on the parameter itself, for every parameter, in `src/audio/engine.rs`:
//! `a_jump_of_any_parameter_glides_over_the_minimum_ramp_instead_of_stepping`.
//! Crush and stutter make hard steps by design (quantisation, a loop seam); they ramp like the
//! rest, and fade in over 5 ms.

use somnia::audio::Engine;
use somnia::bridge::patch::{Patch, Waveform};
use somnia::bridge::{AudioParam, Event, EventKind, event_queue};

const SR: u32 = 48_000;
const JUMP_AT: u64 = 48_000;

/// Largest |x[n] - x[n-1]| over `range` of the left channel of interleaved `out`.
fn max_step(out: &[f32], range: std::ops::Range<usize>) -> f32 {
    range
        .map(|n| (out[2 * n] - out[2 * n - 2]).abs())
        .fold(0.0, f32::max)
}

/// Renders 2.5 s: a chord from the start, `param` at `from` and jumped to `to` at 1 s.
fn render_jump(param: AudioParam, from: f32, to: f32) -> Vec<f32> {
    let mut patch = Patch::default();
    patch.osc[0].waveform = Waveform::Sine;
    patch.osc[1].waveform = Waveform::Sine;
    patch.amp_env.sustain = 1.0;
    let (mut tx, rx) = event_queue(64);
    let mut e = Engine::new(SR, patch, rx);
    e.disable_limiter();
    let set = |at, value| Event {
        at_sample: at,
        kind: EventKind::SetParam {
            param,
            value,
            ramp_samples: 0,
            curve: Default::default(),
        },
    };
    // The delay and reverb params only matter with some of each in the mix.
    for (p, v) in [(AudioParam::DelayMix, 0.3), (AudioParam::ReverbMix, 0.3)] {
        if p != param {
            tx.push(Event {
                at_sample: 0,
                kind: EventKind::SetParam {
                    param: p,
                    value: v,
                    ramp_samples: 0,
                    curve: Default::default(),
                },
            })
            .unwrap();
        }
    }
    tx.push(set(0, from)).unwrap();
    for note in [45u8, 52, 57] {
        tx.push(Event {
            at_sample: 0,
            kind: EventKind::NoteOn {
                note,
                velocity: 0.8,
            },
        })
        .unwrap();
    }
    tx.push(set(JUMP_AT, to)).unwrap();
    let mut out = vec![0.0f32; 2 * 160_000];
    for block in out.chunks_mut(2 * 256) {
        e.process(block, false);
    }
    out
}

#[test]
fn jumping_a_level_a_mix_the_feedback_or_the_cutoff_makes_no_click() {
    let j = JUMP_AT as usize;
    for param in AudioParam::ALL {
        // No wildcard: a new parameter must be put on one side or the other.
        let clicks_when_jumped = match param {
            AudioParam::GainDb
            | AudioParam::CutoffHz
            | AudioParam::DelayMix
            | AudioParam::DelayFeedback
            | AudioParam::ReverbMix => true,
            // Glide checked in src/audio/engine.rs (see the top of this file).
            AudioParam::Resonance
            | AudioParam::DetuneCents
            | AudioParam::PitchBend
            | AudioParam::DelayBeats
            | AudioParam::ReverbDecayS
            | AudioParam::ReverbDamping
            | AudioParam::TapeSpeed
            | AudioParam::TempoBpm
            | AudioParam::Crush
            | AudioParam::Stutter => false,
        };
        if !clicks_when_jumped {
            continue;
        }
        let (lo, hi) = param.range();
        // Gain from near silence; everything else across most of its range.
        let (from, to) = match param {
            AudioParam::GainDb => (-60.0, 0.0),
            AudioParam::CutoffHz => (200.0, 8_000.0),
            _ => (lo, hi),
        };
        let out = render_jump(param, from, to);
        let before = max_step(&out, j - 24_000..j);
        let after = max_step(&out, j + 84_000..j + 108_000);
        let threshold = 1.5 * before.max(after);
        let during = max_step(&out, j..j + 24_000);
        assert!(
            during <= threshold,
            "{}: {from} → {to} stepped {during:.4}, over the threshold {threshold:.4} (steady steps {before:.4} / {after:.4})",
            param.name()
        );
        if param == AudioParam::GainDb {
            let amplitude = out[2 * (j + 84_000)..2 * (j + 108_000)]
                .iter()
                .fold(0.0f32, |m, s| m.max(s.abs()));
            assert!(
                amplitude > 3.0 * threshold,
                "an instant jump ({amplitude}) would click past {threshold}"
            );
        }
    }
}
