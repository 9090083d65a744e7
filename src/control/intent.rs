//! The one vocabulary of live control. Every controller (the keyboard, OSC, MIDI, and those to
//! come: the kiosk, the web console, other machines) turns what it receives into [`Intent`]s,
//! and [`Steering::carry_out`] is the one place they are carried out: onto the engine's live
//! queue, the live show's commands, the picture's changes, MIDI learn and the external clock,
//! all bounded, dropped and counted when full. A controller is then only its own wire format.

use std::time::{Instant, SystemTime};

use super::midi::learn::LearnTarget;
use crate::bridge::{
    AudioParam, Curve, Event, EventKind, LiveSink, LookCommand, ShowCommand, Transport, WakeSender,
    glitch_sound,
};

/// Most seconds a controller may ask a note to hold or a parameter to ramp.
pub const MAX_INTENT_S: f64 = 600.0;

/// One thing a controller asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    /// A synth event, at once or at the moment `at` (an OSC bundle's time tag).
    Engine {
        kind: EventKind,
        at: Option<SystemTime>,
    },
    /// A note that stops by itself after `length_s`.
    Note {
        note: u8,
        velocity: f32,
        length_s: f64,
        at: Option<SystemTime>,
    },
    /// An audio parameter to `value`, over `ramp_s` seconds (0: the engine's smoothed jump).
    Param {
        param: AudioParam,
        value: f32,
        ramp_s: f64,
        at: Option<SystemTime>,
    },
    Show(ShowCommand),
    /// A live change to the picture.
    Look(LookCommand),
    /// The glitch at an intensity 0..1, on picture and sound at once.
    Glitch(f32),
    /// Arm MIDI learn for a target (`None`: disarm).
    Learn(Option<LearnTarget>),
    /// An external clock's beat and tempo, as of when its tick was received.
    Clock {
        beats: f64,
        bpm: f64,
    },
    /// The external clock stopped: the show's own tempo again.
    ClockStopped,
    /// Timecode heard (frames since 00:00:00:00), as of when it was received: for the chase.
    Timecode {
        source: crate::bridge::TimecodeSource,
        frames: f64,
        rate: crate::clock::timecode::FrameRate,
        running: bool,
    },
}

impl Intent {
    /// A parameter jump at once.
    pub fn set(param: AudioParam, value: f32) -> Self {
        Self::Param {
            param,
            value,
            ramp_s: 0.0,
            at: None,
        }
    }
}

/// What carrying out an intent came to, for the controller's own counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Carried {
    /// Parts dropped because a queue was full (or nobody listens: MIDI learn without MIDI).
    pub dropped: u64,
    /// Time-tagged for a moment already past: carried out at once.
    pub late: u64,
}

/// Everything live control steers, shared by every controller.
#[derive(Clone)]
pub struct Steering {
    pub sink: LiveSink,
    /// MIDI learn, when MIDI input runs.
    pub learn: Option<WakeSender<Option<LearnTarget>>>,
}

impl Steering {
    /// Carries out `intent` from `from` (an OSC sender, a MIDI port, the console, the keyboard),
    /// received at `received` (an external clock's tick is timed by it), and tells the show's
    /// journal who asked for what. Never blocks: a full queue drops and counts.
    pub fn carry_out_from(
        &self,
        from: impl std::fmt::Display,
        intent: Intent,
        received: Instant,
    ) -> Carried {
        // An external clock's ticks and timecode's frames come tens of times a second: what
        // they change (a tempo, a locate) is in the engine's own entries.
        if !matches!(
            intent,
            Intent::Clock { .. } | Intent::ClockStopped | Intent::Timecode { .. }
        ) {
            self.sink.journal.input(from, &intent);
        }
        self.carry_out(intent, received)
    }

    /// [`Steering::carry_out_from`] for what is not a performer's input (a sync source's
    /// locate): carried out, not journaled as an input (the engine's journal has its effect).
    pub fn carry_out(&self, intent: Intent, received: Instant) -> Carried {
        let sink = &self.sink;
        let mut late = 0;
        let mut sample_for = |at: Option<SystemTime>| {
            let (sample, was_late) = sample_for(at, &sink.transport);
            late += u64::from(was_late);
            sample
        };
        let dropped = match intent {
            Intent::Engine { kind, at } => sink.engine(&[Event {
                at_sample: sample_for(at),
                kind,
            }]),
            Intent::Note {
                note,
                velocity,
                length_s,
                at,
            } => {
                // Untimed, the note starts at once (sample 0) and its end is counted from the
                // next block, where it starts: stamped with a past sample it would be late.
                let on = sample_for(at);
                let from = match on {
                    0 => sink.transport.next_block_sample(),
                    s => s,
                };
                sink.engine(&[
                    Event {
                        at_sample: on,
                        kind: EventKind::NoteOn { note, velocity },
                    },
                    Event {
                        at_sample: from + self.samples(length_s),
                        kind: EventKind::NoteOff { note },
                    },
                ])
            }
            Intent::Param {
                param,
                value,
                ramp_s,
                at,
            } => {
                if param == AudioParam::TempoBpm {
                    // A tempo set live is the show's tempo: whoever shares it (Link) hears it.
                    sink.transport.request_tempo(f64::from(value));
                }
                sink.engine(&[Event {
                    at_sample: sample_for(at),
                    kind: EventKind::SetParam {
                        param,
                        value,
                        ramp_samples: u32::try_from(self.samples(ramp_s)).unwrap_or(u32::MAX),
                        curve: Curve::Linear,
                    },
                }])
            }
            Intent::Show(command) => u64::from(!sink.show(command)),
            Intent::Look(look) => u64::from(!sink.look(look, received)),
            Intent::Glitch(g) => {
                let sound = glitch_sound(f64::from(g)).map(|(param, value)| Event {
                    at_sample: 0,
                    kind: EventKind::SetParam {
                        param,
                        value,
                        ramp_samples: 0,
                        curve: Curve::Linear,
                    },
                });
                u64::from(!sink.look(LookCommand::Glitch(g), received)) + sink.engine(&sound)
            }
            Intent::Learn(target) => {
                let armed = self.learn.as_ref().is_some_and(|l| l.send(target));
                u64::from(!armed)
            }
            Intent::Clock { beats, bpm } => {
                sink.transport.external_clock().set(beats, bpm, received);
                0
            }
            Intent::ClockStopped => {
                sink.transport.external_clock().clear();
                0
            }
            Intent::Timecode {
                source,
                frames,
                rate,
                running,
            } => {
                // Not counted when dropped: with no chase running nobody wants it, and a
                // chase that is behind has the next reading a quarter frame later.
                sink.timecode(crate::bridge::TimecodeReading {
                    source,
                    frames,
                    rate,
                    running,
                    received,
                });
                0
            }
        };
        Carried { dropped, late }
    }

    /// `seconds` at the engine's own rate, clamped to [`MAX_INTENT_S`] (NaN: 0).
    fn samples(&self, seconds: f64) -> u64 {
        let s = if seconds.is_finite() {
            seconds.clamp(0.0, MAX_INTENT_S)
        } else {
            0.0
        };
        (s * f64::from(self.sink.transport.sample_rate_hz())) as u64
    }
}

/// The sample at which a moment `at` is heard (0: at once), and whether it had already passed.
fn sample_for(at: Option<SystemTime>, transport: &Transport) -> (u64, bool) {
    let Some(at) = at else { return (0, false) };
    let (now_sys, now) = (SystemTime::now(), Instant::now());
    let Ok(ahead) = at.duration_since(now_sys) else {
        return (0, true);
    };
    // The smoothed heard clock: device timestamps jitter by milliseconds, the tag must not.
    (transport.sample_heard_at(now + ahead).unwrap_or(0), false)
}
