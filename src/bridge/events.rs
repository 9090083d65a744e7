//! Timestamped events for the audio thread, carried by an `rtrb` single-producer,
//! single-consumer ring buffer. Every event is `Copy` and fixed-size, so pushing and
//! popping never allocates.

use crate::audio::synth::Patch;

/// A continuous synth parameter that a cue or controller can set or ramp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AudioParam {
    /// Filter cutoff in Hz.
    CutoffHz,
    /// Filter resonance, 0 (none) to 1 (edge of self-oscillation).
    Resonance,
    /// Master gain in dB.
    GainDb,
    /// Detune between the two oscillators, in cents.
    DetuneCents,
}

impl AudioParam {
    pub const ALL: [AudioParam; 4] = [
        AudioParam::CutoffHz,
        AudioParam::Resonance,
        AudioParam::GainDb,
        AudioParam::DetuneCents,
    ];

    /// The name used in cue files and (later) OSC addresses.
    pub fn name(self) -> &'static str {
        match self {
            AudioParam::CutoffHz => "cutoff_hz",
            AudioParam::Resonance => "resonance",
            AudioParam::GainDb => "gain_db",
            AudioParam::DetuneCents => "detune_cents",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The legal range; values outside it are clamped where they enter the engine.
    pub fn range(self) -> (f32, f32) {
        match self {
            AudioParam::CutoffHz => (20.0, 20_000.0),
            AudioParam::Resonance => (0.0, 1.0),
            AudioParam::GainDb => (-60.0, 6.0),
            AudioParam::DetuneCents => (0.0, 100.0),
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What an event does when its sample arrives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EventKind {
    NoteOn {
        note: u8,
        velocity: f32,
    },
    NoteOff {
        note: u8,
    },
    /// Move `param` to `value` linearly over `ramp_samples` (0 still gets the engine's
    /// anti-click smoothing).
    SetParam {
        param: AudioParam,
        value: f32,
        ramp_samples: u32,
    },
    /// Replace the patch used by new notes; sounding voices keep theirs until released.
    SetPatch(Patch),
    /// Release every voice (end of show, stop).
    AllNotesOff,
}

/// An event stamped with the absolute sample at which it takes effect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    pub at_sample: u64,
    pub kind: EventKind,
}

/// The two ends of the control → audio event FIFO.
pub type EventQueue = (rtrb::Producer<Event>, rtrb::Consumer<Event>);

/// Makes a bounded event FIFO. `capacity` is fixed for the life of the stream.
pub fn event_queue(capacity: usize) -> EventQueue {
    rtrb::RingBuffer::new(capacity)
}
