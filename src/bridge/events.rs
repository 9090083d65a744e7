//! Timestamped events for the audio thread, carried by an `rtrb` single-producer,
//! single-consumer ring buffer. Every event is `Copy` and fixed-size, so pushing and
//! popping never allocates.

use super::patch::Patch;

/// A continuous engine parameter that a cue or controller can set or ramp. Every one is
/// smoothed on the audio side: a jump is spread over at least 10 ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AudioParam {
    /// Filter cutoff in Hz (the patch's own cutoff when it is switched to).
    CutoffHz,
    /// Filter resonance, 0..1 (the patch's own when it is switched to).
    Resonance,
    /// Master gain in dB (the patch's own when it is switched to).
    GainDb,
    /// Extra detune of oscillator 2, in cents.
    DetuneCents,
    /// Pitch bend, -1..1 of the patch's bend range.
    PitchBend,
    DelayMix,
    DelayFeedback,
    /// Delay time in beats of the current tempo.
    DelayBeats,
    ReverbMix,
    ReverbDecayS,
    /// High-frequency loss in the reverb, 0..0.95.
    ReverbDamping,
    /// Bitcrush amount, 0..1.
    Crush,
    /// Beat repeat: 0 off, else 1/4, 1/8, 1/16 beat as it rises.
    Stutter,
    /// Tape speed: 1 normal, 0 stopped.
    TapeSpeed,
    TempoBpm,
}

impl AudioParam {
    pub const ALL: [AudioParam; 15] = [
        AudioParam::CutoffHz,
        AudioParam::Resonance,
        AudioParam::GainDb,
        AudioParam::DetuneCents,
        AudioParam::PitchBend,
        AudioParam::DelayMix,
        AudioParam::DelayFeedback,
        AudioParam::DelayBeats,
        AudioParam::ReverbMix,
        AudioParam::ReverbDecayS,
        AudioParam::ReverbDamping,
        AudioParam::Crush,
        AudioParam::Stutter,
        AudioParam::TapeSpeed,
        AudioParam::TempoBpm,
    ];

    /// The name used in cue files and (later) OSC addresses.
    pub fn name(self) -> &'static str {
        match self {
            AudioParam::CutoffHz => "cutoff_hz",
            AudioParam::Resonance => "resonance",
            AudioParam::GainDb => "gain_db",
            AudioParam::DetuneCents => "detune_cents",
            AudioParam::PitchBend => "pitch_bend",
            AudioParam::DelayMix => "delay_mix",
            AudioParam::DelayFeedback => "delay_feedback",
            AudioParam::DelayBeats => "delay_beats",
            AudioParam::ReverbMix => "reverb_mix",
            AudioParam::ReverbDecayS => "reverb_decay_s",
            AudioParam::ReverbDamping => "reverb_damping",
            AudioParam::Crush => "crush",
            AudioParam::Stutter => "stutter",
            AudioParam::TapeSpeed => "tape_speed",
            AudioParam::TempoBpm => "tempo_bpm",
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
            AudioParam::DetuneCents => (-100.0, 100.0),
            AudioParam::PitchBend => (-1.0, 1.0),
            AudioParam::DelayMix
            | AudioParam::ReverbMix
            | AudioParam::Crush
            | AudioParam::Stutter
            | AudioParam::TapeSpeed => (0.0, 1.0),
            AudioParam::DelayFeedback | AudioParam::ReverbDamping => (0.0, 0.95),
            AudioParam::DelayBeats => (0.0625, 4.0),
            AudioParam::ReverbDecayS => (0.1, 30.0),
            AudioParam::TempoBpm => (10.0, 400.0),
        }
    }

    /// The value before anything sets it; the patch-derived ones follow patch swaps.
    pub fn default_value(self, patch: &Patch) -> f32 {
        match self {
            AudioParam::CutoffHz => patch.filter.cutoff_hz,
            AudioParam::Resonance => patch.filter.resonance,
            AudioParam::GainDb => patch.gain_db,
            AudioParam::DetuneCents | AudioParam::PitchBend | AudioParam::DelayMix => 0.0,
            AudioParam::DelayFeedback => 0.4,
            AudioParam::DelayBeats => 0.75,
            AudioParam::ReverbMix => 0.2,
            AudioParam::ReverbDecayS => 2.5,
            AudioParam::ReverbDamping => 0.4,
            AudioParam::Crush | AudioParam::Stutter => 0.0,
            AudioParam::TapeSpeed => 1.0,
            AudioParam::TempoBpm => 120.0,
        }
    }

    /// Parameters a patch swap moves to the new patch's values.
    pub fn follows_patch(self) -> bool {
        matches!(
            self,
            AudioParam::CutoffHz | AudioParam::Resonance | AudioParam::GainDb
        )
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The shortest ramp any parameter change gets, so a jump never clicks: a `SetParam` with a
/// shorter ramp (or none) is spread over this long.
pub const MIN_RAMP_S: f64 = 0.01;

/// What an event does when its sample arrives.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum EventKind {
    NoteOn {
        note: u8,
        velocity: f32,
    },
    NoteOff {
        note: u8,
    },
    /// Move `param` to `value` over `ramp_samples` along `curve` (0 still gets the
    /// engine's anti-click smoothing).
    SetParam {
        param: AudioParam,
        value: f32,
        ramp_samples: u32,
        curve: Curve,
    },
    /// Replace the patch used by new notes; sounding voices keep theirs until released.
    SetPatch(Patch),
    /// The sustain pedal: while down, note-offs hold their voices until it comes up.
    Sustain {
        down: bool,
    },
    /// Release every voice (end of show, stop).
    AllNotesOff,
    /// Every sounding voice fades to silence over `over_samples`, straight from its level, and
    /// the pedal comes up: the sound of a kiosk item going out while the next comes in.
    FadeOut {
        over_samples: u32,
    },
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

/// The shape of a ramp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Curve {
    #[default]
    Linear,
    /// Equal ratios in equal times (frequencies, levels); between values of opposite sign or
    /// zero, which no ratio joins, a quadratic ease-in.
    Exponential,
    /// Gentle at both ends.
    SCurve,
}

impl Curve {
    pub const NAMES: [&str; 3] = ["linear", "exponential", "s-curve"];

    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "linear" => Self::Linear,
            "exponential" => Self::Exponential,
            "s-curve" => Self::SCurve,
            _ => return None,
        })
    }

    /// The value `x` (0..1) of the way from `from` to `to`.
    pub fn between(self, from: f64, to: f64, x: f64) -> f64 {
        let x = x.clamp(0.0, 1.0);
        match self {
            Curve::Linear => from + (to - from) * x,
            Curve::SCurve => from + (to - from) * x * x * (3.0 - 2.0 * x),
            Curve::Exponential if from * to > 0.0 => from * (to / from).powf(x),
            Curve::Exponential => from + (to - from) * x * x,
        }
    }
}

/// The glitch's sound at intensity `g` (0..1), as a `glitch` cue and every controller make
/// it: the parameters to jump, bitcrush in proportion and, from half intensity, beat repeat.
/// The one place the rule is written.
pub fn glitch_sound(g: f64) -> [(AudioParam, f32); 2] {
    let stutter = if g >= 0.5 { g } else { 0.0 };
    [
        (AudioParam::Crush, (0.6 * g) as f32),
        (AudioParam::Stutter, stutter as f32),
    ]
}

/// How an event reads in a show's journal (`somnia journal --engine`).
impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            EventKind::NoteOn { note, velocity } => write!(f, "note on {note} at {velocity:.2}"),
            EventKind::NoteOff { note } => write!(f, "note off {note}"),
            EventKind::SetParam {
                param,
                value,
                ramp_samples,
                ..
            } if ramp_samples > 0 => {
                write!(f, "{} to {value} over {ramp_samples} samples", param.name())
            }
            EventKind::SetParam { param, value, .. } => write!(f, "{} to {value}", param.name()),
            EventKind::SetPatch(p) => write!(
                f,
                "patch ({:?}/{:?}, cutoff {} Hz, {} voices)",
                p.osc[0].waveform, p.osc[1].waveform, p.filter.cutoff_hz, p.voices
            ),
            EventKind::Sustain { down } => {
                write!(f, "sustain {}", if down { "down" } else { "up" })
            }
            EventKind::AllNotesOff => write!(f, "all notes off"),
            EventKind::FadeOut { over_samples } => {
                write!(f, "fade out over {over_samples} samples")
            }
        }
    }
}
