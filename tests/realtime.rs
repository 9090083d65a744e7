//! The audio callback's contract: `Engine::process` never allocates or frees. This test
//! binary installs an allocator that aborts the process if anything allocates inside
//! `assert_no_alloc`, then drives the engine through note storms beyond the voice limit,
//! patch swaps and parameter sweeps.

use assert_no_alloc::{AllocDisabler, assert_no_alloc};
use somnia::audio::Engine;
use somnia::audio::synth::{MAX_VOICES, Patch, Waveform};
use somnia::bridge::{AudioParam, Event, EventKind, event_queue};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

#[test]
fn process_never_allocates_under_note_storms_patch_swaps_and_sweeps() {
    let (mut tx, rx) = event_queue(8192);
    let mut engine = Engine::new(48_000, Patch::default(), rx);
    let mut buf = vec![0.0f32; 2 * 256];
    let mut sample = 0u64;
    let waveforms = [
        Waveform::Saw,
        Waveform::Square,
        Waveform::Triangle,
        Waveform::Sine,
    ];
    for block in 0..400u64 {
        // Events are made outside the real-time section, as the control thread would.
        for k in 0..12u64 {
            let at = sample + k * 20;
            let note = ((block * 7 + k * 5) % 88 + 21) as u8;
            let kind = match k % 4 {
                0 | 1 => EventKind::NoteOn {
                    note,
                    velocity: 0.9,
                },
                2 => EventKind::NoteOff {
                    note: note.wrapping_sub(10),
                },
                _ => EventKind::SetParam {
                    param: AudioParam::ALL[(block % 4) as usize],
                    value: (block as f32 * 37.0) % 5000.0,
                    ramp_samples: 300,
                },
            };
            let _ = tx.push(Event {
                at_sample: at,
                kind,
            });
        }
        if block % 50 == 0 {
            let patch = Patch {
                waveform: waveforms[(block / 50 % 4) as usize],
                voices: MAX_VOICES as u8,
                ..Patch::default()
            };
            let _ = tx.push(Event {
                at_sample: sample + 100,
                kind: EventKind::SetPatch(patch),
            });
        }
        assert_no_alloc(|| engine.process(&mut buf, block % 97 == 0));
        sample = engine.position_samples();
    }
    assert!(engine.active_voices() <= MAX_VOICES);
    assert!(buf.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
}
