//! The audio callback's contract: `Engine::process` never allocates or frees. This test
//! binary installs an allocator that aborts the process if anything allocates inside
//! `assert_no_alloc`, then drives the engine through note storms far beyond the 128-voice
//! pool, sustain-pedal churn, patch swaps (unison, FM, noise) and sweeps of every parameter,
//! the glitch effects included, with live events (notes with lengths, bundles tagged ahead)
//! waiting in the engine's live list past its capacity.

use assert_no_alloc::{AllocDisabler, assert_no_alloc};
use somnia::audio::{Engine, SimdPath};
use somnia::bridge::patch::{MAX_VOICES, Patch, Waveform};
use somnia::bridge::{AudioParam, Curve, Event, EventKind, event_queue};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

fn event_for(block: u64, k: u64) -> EventKind {
    let note = ((block * 7 + k * 5) % 88 + 21) as u8;
    match k % 5 {
        0 | 1 => EventKind::NoteOn {
            note,
            velocity: 0.9,
        },
        2 => EventKind::NoteOff {
            note: note.wrapping_sub(10),
        },
        3 => EventKind::Sustain {
            down: block % 3 == 0,
        },
        _ => {
            let n = AudioParam::ALL.len() as u64;
            let param = AudioParam::ALL[((block + k) % n) as usize];
            let (lo, hi) = param.range();
            let value = lo + (hi - lo) * ((block as f32 * 0.37).sin() * 0.5 + 0.5);
            EventKind::SetParam {
                param,
                value,
                ramp_samples: 300,
                curve: [Curve::Linear, Curve::Exponential, Curve::SCurve][(block % 3) as usize],
            }
        }
    }
}

#[test]
fn process_never_allocates_under_note_storms_patch_swaps_sweeps_seeks_and_show_rates() {
    // On every way of rendering the voices this machine has (one at a time, SIMD lanes).
    for path in SimdPath::ALL.into_iter().filter(|p| p.available()) {
        storm_on(path);
    }
}

fn storm_on(path: SimdPath) {
    let (mut tx, rx) = event_queue(8192);
    let mut engine = Engine::new(48_000, Patch::default(), rx);
    engine.set_simd_path(path).unwrap();
    let (mut live_tx, live_rx) = event_queue(8192);
    engine.attach_live_queue(live_rx);
    // The show's journal hears everything applied; its ring is left to fill for a while, so
    // the full ring's drop is under the guard too.
    let (tap, mut journal) = somnia::bridge::journal_channel(4096);
    engine.attach_journal(tap);
    let mut journaled = 0u64;
    let mut buf = vec![0.0f32; 2 * 256];
    let mut sample = 0u64;
    let waveforms = [
        Waveform::Saw,
        Waveform::Square,
        Waveform::Triangle,
        Waveform::Sine,
        Waveform::Noise,
    ];
    for block in 0..400u64 {
        // Events are made outside the real-time section, as the control thread would.
        for k in 0..40u64 {
            let _ = tx.push(Event {
                at_sample: sample + k * 6,
                kind: event_for(block, k),
            });
        }
        // Live: notes now with their release a while ahead, and events tagged further ahead
        // still, which pile up past the waiting list's capacity.
        for k in 0..30u64 {
            let _ = live_tx.push(Event {
                at_sample: if k % 3 == 0 { 0 } else { sample + 40_000 * k },
                kind: event_for(block + 1, k),
            });
        }
        if block % 50 == 0 {
            let mut patch = Patch {
                voices: MAX_VOICES as u8,
                ..Patch::default()
            };
            patch.osc[0].waveform = waveforms[(block / 50) as usize % waveforms.len()];
            patch.osc[0].unison = 7;
            patch.osc[1].waveform = Waveform::Fm;
            let _ = tx.push(Event {
                at_sample: sample + 100,
                kind: EventKind::SetPatch(patch),
            });
        }
        assert_no_alloc(|| {
            // Now and then a seek, as the transport asks for it before a block: voices
            // released, the queue dropped, the clock moved.
            if block % 61 == 60 {
                engine.seek(if block % 2 == 0 {
                    sample / 2
                } else {
                    sample + 48_001
                });
            }
            // The show's clock following another's tempo (Ableton Link), as the device wrapper
            // sets it before each block.
            engine.set_show_rate(1.0 + (block % 7) as f64 * 0.03 - 0.09);
            // Now and then a pause long enough to fade out, halt and play out the limiter's
            // delay (four blocks), then a resume.
            engine.process(&mut buf, block % 97 < 4)
        });
        sample = engine.show_position_samples();
        if !(100..200).contains(&block) {
            journal.drain(|_| journaled += 1);
        }
    }
    assert!(journaled > 10_000, "{journaled} entries journaled");
    assert!(
        journal
            .counters
            .dropped
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "the journal's ring was filled past its capacity"
    );
    assert_eq!(journal.frames(), 400 * 256);
    assert!(engine.active_voices() <= MAX_VOICES);
    assert!(
        engine.take_dropped_live_events() > 0,
        "the live waiting list was filled past its capacity"
    );
    assert!(buf.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
}

#[test]
fn the_midi_callback_parses_queues_and_wakes_without_allocating() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let (mut ring, mut out) = rtrb::RingBuffer::new(4);
    let wake = std::thread::current();
    let dropped = AtomicU64::new(0);
    let messages: [&[u8]; 7] = [
        &[0x90, 60, 100],
        &[0xB0, 7, 127],
        &[0xE0, 0, 0x40],
        &[0xF8],
        &[
            0xF0, 0x7F, 0x7F, 0x06, 0x44, 0x06, 0x01, 0x20, 1, 30, 12, 0, 0xF7,
        ],
        &[0x42, 1, 2],
        &[0xC0, 3],
    ];
    assert_no_alloc(|| {
        for bytes in messages {
            somnia::control::midi::input::on_midi_bytes(bytes, &mut ring, &wake, &dropped);
        }
    });
    // Six parse (the stray data byte does not); four fit, two are dropped and counted.
    assert_eq!(dropped.load(Ordering::Relaxed), 2);
    assert_eq!(std::iter::from_fn(|| out.pop().ok()).count(), 4);
}

#[test]
fn ltc_out_and_the_ltc_input_tap_write_their_blocks_without_allocating() {
    use somnia::clock::ltc::LtcEncoder;
    use somnia::clock::timecode::FrameRate;
    let mut encoder = LtcEncoder::new(FrameRate::Fps2997Drop, 48_000, 0.25);
    let (mut tap, mut reader) = somnia::bridge::sample_tap(4_096, 48_000);
    let mut block = [0.0f32; 512];
    let mut heard = 0.0;
    assert_no_alloc(|| {
        for i in 0..400 {
            // What the LTC output callback does each block: follow the show, relocate on a
            // jump, write the samples.
            if i % 100 == 0 {
                encoder.locate(107_892.0 + f64::from(i));
            }
            encoder.set_speed(1.0 + f64::from(i % 5) * 0.001);
            for s in block.iter_mut() {
                *s = encoder.next_sample();
            }
            // What the LTC input callback does: hand the block to the sync thread.
            tap.write(block.iter().copied(), std::time::Instant::now());
            heard += f64::from(block[0]);
        }
    });
    assert!(heard.is_finite());
    assert!(reader.clock.dropped() > 0, "a full tap drops and counts");
    assert_eq!(std::iter::from_fn(|| reader.ring.pop().ok()).count(), 4_096);
}

#[test]
fn ltc_written_beside_the_mix_never_allocates_through_seeks_pauses_and_show_rates() {
    use somnia::audio::ltc_channels::{LtcChannelSettings, LtcChannels};
    use somnia::audio::ltc_streams::LtcOutSettings;
    use somnia::clock::timecode::FrameRate;
    for rate in FrameRate::ALL {
        let mut ltc = LtcChannels::new(
            &LtcChannelSettings {
                channels: vec![2, 3],
                out: LtcOutSettings {
                    rate,
                    offset_s: 3600.0,
                    level_db: -12.0,
                },
            },
            48_000,
        );
        let mut sum = 0.0f32;
        assert_no_alloc(|| {
            let mut sample = 0u64;
            for block in 0..2000u64 {
                let heard = match block % 300 {
                    0..=9 => None,
                    150 => {
                        sample += 48_000 * 3600;
                        Some(sample)
                    }
                    _ => Some(sample),
                };
                ltc.before_block(heard, [1.0, 1.05, 0.95][(block % 3) as usize]);
                for _ in 0..256 {
                    sum += ltc.next_sample().abs();
                }
                sample += 256;
            }
        });
        assert!(sum > 0.0, "{rate:?}: nothing written");
    }
}

#[test]
fn handing_the_engines_output_to_the_recorder_never_allocates_even_with_the_ring_full() {
    let (mut tap, mut drain) = somnia::bridge::record_channel(0.5, 48_000, 64);
    let block = vec![0.25f32; 2 * 256];
    assert_no_alloc(|| {
        // Over a second of blocks into a half-second ring nobody empties: the rest are dropped.
        for _ in 0..200 {
            tap.push(&block);
        }
    });
    let mut got = 0;
    drain.drain(|s| got += s.len());
    assert!(got > 0 && got <= 48_000, "{got}");
    assert!(
        drain
            .counters
            .dropped
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
}
